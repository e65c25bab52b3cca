// The lecture's equations in plain JavaScript (float64, column vectors), independent of tf.js and of
// the library's code: what the cells are checked against.
export const sigma = (a) => 1 / (1 + Math.exp(-a));
export const matVec = (W, v) => W.map((row) => row.reduce((s, w, j) => s + w * v[j], 0));
export const add = (...vs) => vs[0].map((_, i) => vs.reduce((s, v) => s + v[i], 0));
export const mul = (a, b) => a.map((x, i) => x * b[i]);
export const map = (v, f) => v.map(f);

/** h_t = act(Whh h + Wxh x + bh) */
export function rnnStep(W, x, h, act = Math.tanh) {
  return map(add(matVec(W.Whh, h), matVec(W.Wxh, x), W.bh), act);
}

/** (i, f, o, g) = (σ, σ, σ, tanh)(Wx x + Wh h + b); c = f⊙c + i⊙g; h = o⊙tanh(c) */
export function lstmStep(W, x, h, c) {
  const gate = (k, f) => map(add(matVec(W[`Wx${k}`], x), matVec(W[`Wh${k}`], h), W[`b${k}`]), f);
  const i = gate('i', sigma), f = gate('f', sigma), o = gate('o', sigma), g = gate('g', Math.tanh);
  const c2 = add(mul(f, c), mul(i, g));
  return { h: mul(o, map(c2, Math.tanh)), c: c2, gates: { i, f, o, g } };
}

/** GRU, lecture seed 000 (reset before) or reset after; update 'z-keeps-old' or 'z-takes-new'. */
export function gruStep(W, x, h, { resetAfter = false, update = 'z-keeps-old' } = {}) {
  const r = map(add(matVec(W.Wxr, x), matVec(W.Whr, h), W.br, resetAfter ? W.bhr : h.map(() => 0)), sigma);
  const z = map(add(matVec(W.Wxz, x), matVec(W.Whz, h), W.bz, resetAfter ? W.bhz : h.map(() => 0)), sigma);
  const rec = resetAfter ? mul(r, add(matVec(W.Whh, h), W.bhh)) : matVec(W.Whh, mul(r, h));
  const hTilde = map(add(matVec(W.Wxh, x), rec, W.bh), Math.tanh);
  const keep = update === 'z-keeps-old' ? z : z.map((v) => 1 - v);
  return { h: add(mul(keep, h), mul(keep.map((k) => 1 - k), hTilde)), gates: { r, z, hTilde } };
}

/** Max |a − b| over nested arrays of the same shape. */
export function maxDiff(a, b) {
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) throw new Error(`shape mismatch: ${a.length} vs ${b?.length}`);
    return a.reduce((m, x, i) => Math.max(m, maxDiff(x, b[i])), 0);
  }
  return Math.abs(a - b);
}

/** A seeded uniform generator for test data (mulberry32), independent of the library's Rng. */
export function seeded(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nested array [d0][d1]… of uniform values in [-s, s). */
export function randArray(rand, shape, s = 1) {
  if (shape.length === 0) return (2 * rand() - 1) * s;
  return Array.from({ length: shape[0] }, () => randArray(rand, shape.slice(1), s));
}
