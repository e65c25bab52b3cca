/** Shared by the modules whose errors say what they were given. */

/** Describe a value for an error message without dumping large objects. */
export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value);
  if (typeof value === 'number' || typeof value === 'bigint' || typeof value === 'boolean') return String(value);
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  // danfo objects carry a shape too: name them before the tensor case, or a DataFrame reads as a tensor.
  const danfo = danfoText(value);
  if (danfo) return danfo;
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

/** "a danfo DataFrame of shape [19, 2] (columns dwell, clicks)" / "a danfo Series of length 19 ('dwell')", or null for anything else. */
function danfoText(value: unknown): string | null {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const v = value as { values?: unknown; index?: unknown; columns?: unknown; column?: unknown; shape?: unknown };
  if (!Array.isArray(v.values) || !Array.isArray(v.index)) return null;
  const cols = Array.isArray(v.columns) ? (v.columns as unknown[]).map(String) : [];
  const list = (c: string[]) => c.slice(0, 8).join(', ') + (c.length > 8 ? ', …' : '');
  if (typeof v.column === 'function') {
    const shape = Array.isArray(v.shape) ? `[${(v.shape as number[]).join(', ')}]` : `[${v.values.length}, ${cols.length}]`;
    return `a danfo DataFrame of shape ${shape} (columns ${list(cols)})`;
  }
  return `a danfo Series of length ${v.values.length}${cols.length === 1 ? ` ('${cols[0]}')` : ''}`;
}
