/** Shared by the modules whose errors say what they were given. */

/** Describe a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (value instanceof Object && 'shape' in value && Array.isArray((value as { shape: unknown }).shape)) return `a tensor of shape [${(value as { shape: number[] }).shape.join(', ')}]`;
  const t = typeof value;
  return `${/^[aeiou]/.test(t) ? 'an' : 'a'} ${t}`;
}
