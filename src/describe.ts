/** Shared by the modules whose errors say what they were given. */

/** Describe a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Object && 'shape' in value && Array.isArray((value as { shape: unknown }).shape)) return `a tensor of shape [${(value as { shape: number[] }).shape.join(', ')}]`;
  if (typeof value === 'function') return 'a function';
  if (typeof (value as { then?: unknown }).then === 'function') return 'a Promise';
  if (typeof value === 'object') {
    const keys = Object.keys(value as object);
    return keys.length === 0 ? 'an object' : `an object with keys {${keys.slice(0, 8).join(', ')}${keys.length > 8 ? ', …' : ''}}`;
  }
  const t = typeof value;
  return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
}
