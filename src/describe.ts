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
  const tf = tfText(value);
  if (tf) return tf;
  if (typeof value === 'function') return 'a function';
  if (typeof (value as { then?: unknown }).then === 'function') return 'a Promise';
  if (value instanceof Map) return `a Map of ${value.size} entr${value.size === 1 ? 'y' : 'ies'}`;
  if (value instanceof Set) return `a Set of ${value.size} value${value.size === 1 ? '' : 's'}`;
  if (ArrayBuffer.isView(value)) {
    const name = value.constructor?.name ?? 'typed array';
    return value instanceof DataView ? `a DataView of ${value.byteLength} bytes` : `${/^[AEIOU]/.test(name) ? 'an' : 'a'} ${name} of length ${(value as unknown as { length: number }).length}`;
  }
  if (value instanceof ArrayBuffer) return `an ArrayBuffer of ${value.byteLength} bytes`;
  if (typeof value === 'object') {
    // A class instance's own keys are its internals (a tensor's kept, isDisposedInternal, …): name its class.
    const ctor = (Object.getPrototypeOf(value) as { constructor?: { name?: string } } | null)?.constructor?.name;
    if (ctor && ctor !== 'Object') return `${/^[AEIOU]/.test(ctor) ? 'an' : 'a'} ${ctor} object`;
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

/**
 * tf.js objects by what they are, never by their fields: "a float32 tensor of shape [4, 3]", "a
 * symbolic tensor of shape [null, 10, 3]", "a tf.js LayersModel 'seq2seq' (5 layers)", "a tf.js layer
 * 'head' (Dense)"; null for anything else. Recognized by their members (describe.ts imports no tf.js).
 */
function tfText(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return null;
  const v = value as { shape?: unknown; dtype?: unknown; dataSync?: unknown; isDisposed?: unknown; layers?: unknown; predict?: unknown; apply?: unknown; getConfig?: unknown; name?: unknown; getClassName?: unknown };
  if (Array.isArray(v.shape)) {
    const shape = `[${(v.shape as unknown[]).map((d) => (d == null ? 'null' : String(d))).join(', ')}]`;
    const dtype = typeof v.dtype === 'string' ? `${v.dtype} ` : '';
    if (typeof v.dataSync !== 'function') return `a symbolic ${dtype}tensor of shape ${shape}`;
    return `${v.isDisposed === true ? 'a disposed' : /^[aeiou]/.test(dtype) ? 'an' : 'a'} ${dtype}tensor of shape ${shape}`;
  }
  const name = typeof v.name === 'string' ? ` '${v.name}'` : '';
  if (Array.isArray(v.layers) && typeof v.predict === 'function') {
    const cls = typeof v.getClassName === 'function' ? (v.getClassName as () => string)() : 'Model';
    return `a tf.js ${cls === 'Model' ? 'LayersModel' : cls}${name} (${v.layers.length} layers)`;
  }
  if (typeof v.apply === 'function' && typeof v.getConfig === 'function') {
    const cls = typeof v.getClassName === 'function' ? ` (${(v.getClassName as () => string)()})` : '';
    return `a tf.js layer${name}${cls}`;
  }
  return null;
}
