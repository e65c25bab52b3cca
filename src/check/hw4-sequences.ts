/**
 * Homework 4 (homework/hw4-sequences.ipynb): sequences and words — the vanilla RNN over a whole
 * sequence forward and backward (the student writes the step and the loop), a word embedding forward
 * and backward, the masked temporal softmax loss, and a seeded generation loop with an end token.
 *
 * Layouts (the lecture's column vectors, time as a plain array):
 * - a sequence of inputs is an array of T tensors xs[t] [m, B]; hidden states hs[t] = h_{t+1} [n, B];
 * - token ids are number[][] ids[t][b] (time first); W (embedding) is [m, V], column v = the vector of id v;
 * - logits are an array of T tensors [V, B]; targets and mask are number[][] [T][B];
 * - the temporal loss is averaged over the real steps: L = Σ_{t,b} m_tb·(−log softmax(z_tb)[y_tb]) / Σ m_tb
 *   (the library's lossFunction('crossEntropy', true) with a mask; CS231n divides by the batch size instead).
 *
 * References: the library's Elman cell unrolled (RNN_FAMILY via rnnStepRef) and automatic differentiation
 * of it; the library's LabEmbedding and autodiff of one-hot(ids)·E; the library's masked cross-entropy and
 * its autodiff; the library's softmax with inverse-CDF sampling (Rng.choice's rule) for generation. The
 * hand-written variants exist only to recognise known mistakes.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { shapeText } from '../inputs';
import { LabEmbedding } from '../embedding';
import { lossFunction } from '../losses';
import { softmax } from '../text';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { Arr, Tol, TOL_F32, Variant, expectShape, fmt, fmtList, hintFor, isTensor, mismatch, mismatchText, read, tolText } from './compare';
import { rnnStepRef } from './hw1-rnn-step';

// ---------------------------------------------------------------------------------------------
// Reading sequences (arrays of T tensors)
// ---------------------------------------------------------------------------------------------

/** An array of T tensors (or nested arrays) of `shape` each, read as one Arr of shape [T, ...shape]. */
function readSeq(value: unknown, T: number, shape: number[], what: string, dims: string): Arr {
  if (!Array.isArray(value)) {
    const one = isTensor(value) && value.rank === shape.length + 1 ? ` (you returned one tensor ${shapeText(value.shape)}: tf.unstack splits it into T tensors)` : '';
    fail(`${what} must be an array of T = ${T} tensors ${shapeText(shape)} (${dims}), one per time step; got ${describe(value)}${one}`);
  }
  if (value.length !== T) {
    const extra = value.length === T + 1 ? ' — one too many: is h_0 (or the start) included?' : value.length === T - 1 ? ' — one too few' : '';
    fail(`${what} has ${value.length} entries but should have T = ${T}, one per time step${extra}`);
  }
  const size = shape.reduce((a, b) => a * b, 1);
  const data = new Float64Array(T * size);
  value.forEach((v, t) => {
    const a = read(v, `${what}[${t}]`);
    expectShape(a, shape, `${what}[${t}]`, dims);
    data.set(a.data, t * size);
  });
  return { data, shape: [T, ...shape] };
}

/** Values of an array of tensors, concatenated. */
function flat(ts: tf.Tensor[]): Float64Array {
  const size = ts.reduce((s, t) => s + t.size, 0);
  const out = new Float64Array(size);
  let k = 0;
  for (const t of ts) {
    out.set(t.dataSync(), k);
    k += t.size;
  }
  return out;
}

/** The object a function returned, with the named fields present (or a failure saying which are missing). */
function fields(out: unknown, names: readonly string[], what: string): Record<string, unknown> {
  if (out == null || typeof out !== 'object' || Array.isArray(out) || isTensor(out)) fail(`return an object ${what}; got ${describe(out)}`);
  const o = out as Record<string, unknown>;
  const missing = names.filter((q) => !(q in o) || o[q] == null);
  if (missing.length) fail(`the result has no ${missing.join(', ')}: return ${what}`);
  return o;
}

// ---------------------------------------------------------------------------------------------
// Exercise 1 · rnnForward
// ---------------------------------------------------------------------------------------------

interface SeqCase { B: number; m: number; n: number; T: number }

function seqCases(ctx: Ctx, visible: SeqCase[]): SeqCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return [
    { B: 1, m: 2, n: 3, T: 2 },
    ...Array.from({ length: 3 }, () => ({ B: randint(r, 1, 4), m: randint(r, 1, 5), n: randint(r, 2, 6), T: randint(r, 3, 7) })),
  ];
}

function seqInputs(ctx: Ctx, cs: SeqCase) {
  const rng = ctx.rng;
  return {
    xs: Array.from({ length: cs.T }, () => randn(rng, [cs.m, cs.B], 1)),
    h0: randn(rng, [cs.n, cs.B], 0.8),
    Wxh: randn(rng, [cs.n, cs.m], 0.7),
    Whh: randn(rng, [cs.n, cs.n], 0.5),
    bh: randn(rng, [cs.n, 1], 0.3),
  };
}

/** h_1 … h_T of the library's Elman cell, unrolled. */
function rnnSeqRef(xs: tf.Tensor2D[], h0: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor): tf.Tensor2D[] {
  const hs: tf.Tensor2D[] = [];
  let h = h0;
  for (const x of xs) {
    h = rnnStepRef(x, h, Wxh, Whh, bh);
    hs.push(h);
  }
  return hs;
}

/** The forward loop by hand with switchable mistakes (hints only). */
function rnnSeqVariant(xs: tf.Tensor2D[], h0: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D,
  v: { noTanh?: boolean; noBias?: boolean; stuck?: boolean; shifted?: boolean; whhT?: boolean }): tf.Tensor[] {
  const hs: tf.Tensor[] = [];
  let h: tf.Tensor = h0;
  for (const x of xs) {
    const prev = v.stuck ? h0 : h;
    let a = tf.add(tf.matMul(Wxh, x), tf.matMul(Whh, prev as tf.Tensor2D, v.whhT));
    if (!v.noBias) a = tf.add(a, bh);
    h = v.noTanh ? a : tf.tanh(a);
    hs.push(h);
  }
  return v.shifted ? [h0, ...hs.slice(0, -1)] : hs;
}

function checkRnnForward(fn: StudentFn, ctx: Ctx): string {
  const cases = seqCases(ctx, [{ B: 2, m: 3, n: 4, T: 4 }, { B: 1, m: 2, n: 3, T: 5 }, { B: 3, m: 4, n: 2, T: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n}, T=${cs.T})`;
    const { xs, h0, Wxh, Whh, bh } = seqInputs(ctx, cs);
    const expected = flat(rnnSeqRef(xs, h0, Wxh, Whh, bh));
    const out = fields(ctx.call(() => fn(xs.slice(), h0, Wxh, Whh, bh)), ['hs', 'cache'], '{ hs, cache }');
    const got = readSeq(out.hs, cs.T, [cs.n, cs.B], 'hs', 'n × B: hs[t] = h_{t+1}, one column per example');
    const m = mismatch(got.data, expected, TOL_F32);
    if (m) {
      const variants: Variant[] = ([
        [{ shifted: true }, 'hs looks shifted by one step: hs[0] is h_0. Return the T new states h_1 … h_T (hs[t] is the state after reading xs[t]).'],
        [{ stuck: true }, 'every step seems to start from h_0: feed each step the state the previous step returned.'],
        [{ noTanh: true }, 'the states look like pre-activations: apply tanh at every step.'],
        [{ noBias: true }, 'the bias b_h seems to be missing.'],
        [{ whhT: true }, 'W_hh looks transposed: use W_hh h_{t−1}, not W_hhᵀ h_{t−1}.'],
      ] as const).map(([v, hint]) => ({ hint, value: () => flat(rnnSeqVariant(xs, h0, Wxh, Whh, bh, v)) }));
      failWith([mismatchText('hs', got, expected, m, TOL_F32) + ' (index [t, unit, example]).'], [hintFor(got.data, variants, TOL_F32)]);
    }
    // The cache: what rnnBackward gets (the stated fields; the check builds its own for rnnBackward).
    const cache = fields(out.cache, ['xs', 'h0', 'hs', 'Wxh', 'Whh'], 'cache = { xs, h0, hs, Wxh, Whh }');
    const same = (a: unknown, ref: Float64Array | ArrayLike<number>, what: string, shape: number[], T?: number) => {
      const arr = T === undefined ? read(a, what) : readSeq(a, T, shape, what, 'as in the forward pass');
      if (T === undefined) expectShape(arr, shape, what, 'as given to rnnForward');
      if (mismatch(arr.data, ref, TOL_F32)) fail(`${what} is not what rnnForward ${what === 'cache.hs' ? 'returned as hs' : 'was given'}: the cache must hold the forward pass's own values.`);
    };
    same(cache.xs, flat(xs), 'cache.xs', [cs.m, cs.B], cs.T);
    same(cache.h0, h0.dataSync(), 'cache.h0', [cs.n, cs.B]);
    same(cache.hs, expected, 'cache.hs', [cs.n, cs.B], cs.T);
    same(cache.Wxh, Wxh.dataSync(), 'cache.Wxh', [cs.n, cs.m]);
    same(cache.Whh, Whh.dataSync(), 'cache.Whh', [cs.n, cs.n]);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: hs matches the library's RNN cell unrolled over the sequence (${tolText(TOL_F32)}), and the cache holds { xs, h0, hs, Wxh, Whh }.`;
}

// ---------------------------------------------------------------------------------------------
// Exercise 2 · rnnBackward
// ---------------------------------------------------------------------------------------------

type BackV = { noCarry?: boolean; hNotPrev?: boolean; forward?: boolean; meanB?: boolean; overwrite?: boolean; noDeriv?: boolean; reversed?: boolean; whhNoT?: boolean };

/** BPTT by hand over the stated cache, with switchable mistakes (hints only). */
function rnnBackwardVariant(dhs: tf.Tensor2D[], xs: tf.Tensor2D[], h0: tf.Tensor2D, hs: tf.Tensor2D[], Wxh: tf.Tensor2D, Whh: tf.Tensor2D, v: BackV): Record<string, tf.Tensor | tf.Tensor[]> {
  const T = xs.length;
  const B = h0.shape[1];
  let dWxh: tf.Tensor = tf.zerosLike(Wxh);
  let dWhh: tf.Tensor = tf.zerosLike(Whh);
  let dbh: tf.Tensor = tf.zeros([Wxh.shape[0], 1]);
  let carry: tf.Tensor = tf.zerosLike(h0);
  const dxs: tf.Tensor[] = new Array(T);
  const pushed: tf.Tensor[] = [];
  const order = Array.from({ length: T }, (_, i) => (v.forward ? i : T - 1 - i));
  for (const t of order) {
    const hPrev = t > 0 ? hs[t - 1] : h0;
    const h = hs[t];
    const dh = v.noCarry ? dhs[t] : tf.add(dhs[t], carry);
    const da = v.noDeriv ? dh : tf.mul(dh, tf.sub(1, tf.square(h)));
    const dx = tf.matMul(Wxh, da as tf.Tensor2D, true);
    dxs[t] = dx;
    pushed.push(dx);
    const gWxh = tf.matMul(da as tf.Tensor2D, xs[t], false, true);
    const gWhh = tf.matMul(da as tf.Tensor2D, v.hNotPrev ? h : hPrev, false, true);
    const gbh = tf.div(tf.sum(da, 1, true), v.meanB ? B : 1);
    dWxh = v.overwrite ? gWxh : tf.add(dWxh, gWxh);
    dWhh = v.overwrite ? gWhh : tf.add(dWhh, gWhh);
    dbh = v.overwrite ? gbh : tf.add(dbh, gbh);
    carry = v.whhNoT ? tf.matMul(Whh, da as tf.Tensor2D) : tf.matMul(Whh, da as tf.Tensor2D, true);
  }
  return { dxs: v.reversed ? pushed : dxs, dh0: carry, dWxh, dWhh, dbh };
}

const BACKWARD_HINTS: { v: BackV; hint: string; only?: string[] }[] = [
  { v: { noCarry: true }, hint: 'the gradient is not carried back in time: the full dL/dh_t is dhs[t] PLUS what step t+1 sends back to h_t (W_hhᵀ δ_{t+1}).' },
  { v: { forward: true }, hint: 'the backward loop seems to run forward in time: walk from t = T−1 down to 0, so that step t+1\'s contribution to dh_t exists when step t needs it.' },
  { v: { hNotPrev: true }, only: ['dWhh'], hint: 'dWhh uses h_t where it needs h_{t−1}: step t computes W_hh h_{t−1}, so its share of dWhh is δ_t h_{t−1}ᵀ (h_{t−1} = hs[t−1], or h0 at t = 0).' },
  { v: { meanB: true }, only: ['dbh'], hint: 'dbh is averaged over the batch: b_h is added to every column and the loss sums over the examples, so sum δ over the columns (and over time).' },
  { v: { overwrite: true }, only: ['dWxh', 'dWhh', 'dbh'], hint: 'the parameter gradients must be added up over all time steps (the weights are shared), not overwritten at each step.' },
  { v: { reversed: true }, only: ['dxs'], hint: 'dxs is in reverse order: dxs[t] must be the gradient for xs[t] (you probably pushed the gradients as the backward loop produced them; fill dxs[t] instead, or reverse at the end).' },
  { v: { whhNoT: true }, hint: 'a transpose is missing in what is sent back to h_{t−1}: W_hhᵀ δ, not W_hh δ.' },
  { v: { noDeriv: true }, hint: "tanh' seems to be missing: δ_t = dh_t ⊙ (1 − h_t²) before any product." },
];

function checkRnnBackward(fn: StudentFn, ctx: Ctx): string {
  const cases = seqCases(ctx, [{ B: 2, m: 3, n: 4, T: 4 }, { B: 3, m: 2, n: 3, T: 5 }, { B: 1, m: 4, n: 3, T: 3 }]);
  const names = ['dxs', 'dh0', 'dWxh', 'dWhh', 'dbh'] as const;
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n}, T=${cs.T})`;
    const { xs, h0, Wxh, Whh, bh } = seqInputs(ctx, cs);
    const dhs = Array.from({ length: cs.T }, () => randn(ctx.rng, [cs.n, cs.B], 1));
    const hs = rnnSeqRef(xs, h0, Wxh, Whh, bh);
    // Reference: autodiff of L = Σ_t ⟨dhs[t], h_{t+1}⟩ through the library's cell, unrolled.
    const g = tf.grads((...args: tf.Tensor[]) => {
      const [wxh, whh, b, h, ...xx] = args;
      const states = rnnSeqRef(xx as tf.Tensor2D[], h as tf.Tensor2D, wxh as tf.Tensor2D, whh as tf.Tensor2D, b);
      return states.reduce((L: tf.Tensor, s, t) => tf.add(L, tf.sum(tf.mul(dhs[t], s))), tf.scalar(0)) as tf.Scalar;
    })([Wxh, Whh, bh, h0, ...xs]);
    const ref: Record<string, Float64Array> = { dWxh: flat([g[0]]), dWhh: flat([g[1]]), dbh: flat([g[2]]), dh0: flat([g[3]]), dxs: flat(g.slice(4)) };
    const cache = { xs: xs.slice(), h0, hs: hs.slice(), Wxh, Whh };
    const out = fields(ctx.call(() => fn(dhs.slice(), cache)), names, '{ dxs, dh0, dWxh, dWhh, dbh }');
    const shapes: Record<string, [number[], string]> = {
      dh0: [[cs.n, cs.B], 'n × B, like h0'], dWxh: [[cs.n, cs.m], 'n × m, like W_xh'], dWhh: [[cs.n, cs.n], 'n × n, like W_hh'], dbh: [[cs.n, 1], 'n × 1, like b_h'],
    };
    const problems: string[] = [];
    const hints: string[] = [];
    for (const q of names) {
      let got: Arr;
      if (q === 'dxs') got = readSeq(out.dxs, cs.T, [cs.m, cs.B], 'dxs', 'm × B, like xs[t]');
      else {
        got = read(out[q], q);
        if (q === 'dbh' && cs.B > 1 && got.shape.length === 2 && got.shape[0] === cs.n && got.shape[1] === cs.B) {
          fail(`dbh has shape [${cs.n}, ${cs.B}] but should have shape [${cs.n}, 1] (n × 1, like b_h). Hint: dbh is not summed over the batch: b_h is added to every column, so sum δ over the columns (tf.sum(δ, 1, true)) and over time.`);
        }
        expectShape(got, shapes[q][0], q, shapes[q][1]);
      }
      const exp = ref[q];
      const m = mismatch(got.data, exp, TOL_F32);
      if (!m) continue;
      const variants: Variant[] = BACKWARD_HINTS.filter((h) => !h.only || h.only.includes(q)).map((h) => ({
        hint: h.hint,
        value: () => {
          const r = rnnBackwardVariant(dhs, xs, h0, hs, Wxh, Whh, h.v)[q];
          return Array.isArray(r) ? flat(r) : r.dataSync();
        },
      }));
      problems.push(mismatchText(q, got, exp, m, TOL_F32) + (q === 'dxs' ? ' (index [t, input, example])' : '') + '.');
      hints.push(hintFor(got.data, variants, TOL_F32));
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: dxs, dh0, dWxh, dWhh and dbh match automatic differentiation through the library's cell unrolled over the sequence (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// Exercises 3 and 4 · embeddingForward, embeddingBackward
// ---------------------------------------------------------------------------------------------

interface EmbCase { T: number; B: number; m: number; V: number }

/** Token ids [T][B] in [0, V) with at least one id repeated and (when T·B < 2V) one id absent. */
function randomIds(ctx: Ctx, { T, B, V }: EmbCase): number[][] {
  const ids = Array.from({ length: T }, () => Array.from({ length: B }, () => ctx.rng.int(V)));
  const all = ids.flat();
  if (new Set(all).size === all.length) ids[T - 1][B - 1] = ids[0][0];   // a repeated id, always
  return ids;
}

function embCases(ctx: Ctx, visible: EmbCase[]): EmbCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return Array.from({ length: 4 }, () => {
    const V = randint(r, 3, 9);
    let m = randint(r, 2, 6);
    if (m === V) m++;                          // a transposed layout must show in the shape
    const T = randint(r, 2, 6);
    let B = randint(r, 1, 4);
    if (B === T) B++;                          // ids[b][t] instead of ids[t][b] must show too
    return { T, B, m, V };
  });
}

const EMB_VISIBLE: EmbCase[] = [{ T: 4, B: 3, m: 5, V: 6 }, { T: 6, B: 2, m: 3, V: 4 }, { T: 3, B: 1, m: 4, V: 7 }];

/** The library's embedding layer with table Wᵀ (its rows are W's columns) applied to ids [B, T]: T tensors [m, B]. */
function embeddingRef(ids: number[][], W: tf.Tensor2D): tf.Tensor2D[] {
  const [m, V] = W.shape;
  const T = ids.length;
  const B = ids[0].length;
  const layer = new LabEmbedding({ vocabSize: V, embeddingSize: m });
  layer.build();
  try {
    layer.setWeights([tf.transpose(W)]);
    const rows = tf.tensor2d(Array.from({ length: B }, (_, b) => Array.from({ length: T }, (_, t) => ids[t][b])), [B, T], 'float32');
    const e = layer.apply(rows) as tf.Tensor3D;                                                // [B, T, m]
    return tf.unstack(tf.transpose(e, [1, 2, 0])) as tf.Tensor2D[];                          // T × [m, B]
  } finally {
    for (const w of layer.weights) w.dispose();
  }
}

function checkEmbeddingForward(fn: StudentFn, ctx: Ctx): string {
  const cases = embCases(ctx, EMB_VISIBLE);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (T=${cs.T}, B=${cs.B}, m=${cs.m}, V=${cs.V})`;
    const ids = randomIds(ctx, cs);
    const W = randn(ctx.rng, [cs.m, cs.V], 1);
    const expected = flat(embeddingRef(ids, W));
    const out = ctx.call(() => fn(ids.map((r) => r.slice()), W));
    if (Array.isArray(out) && out.length === cs.B && cs.B !== cs.T) fail(`the result has ${cs.B} entries (B) but should have T = ${cs.T}. Hint: ids[t][b] is time first: loop over ids[t], one tensor [m, B] per step.`);
    if (Array.isArray(out) && out.length === cs.T) {
      const first = isTensor(out[0]) ? out[0].shape : null;
      if (first && first.length === 2 && first[0] === cs.B && first[1] === cs.V) {
        fail(`xs[0] has shape [${cs.B}, ${cs.V}] but should have shape [${cs.m}, ${cs.B}]. Hint: these look like rows of W; here W is [m, V] and the vector of id v is its COLUMN v, W[:, v].`);
      }
    }
    const got = readSeq(out, cs.T, [cs.m, cs.B], 'the result', 'm × B: column b is the vector of ids[t][b]');
    const m = mismatch(got.data, expected, TOL_F32);
    if (m) failWith([mismatchText('the result', got, expected, m, TOL_F32) + ' (index [t, component, example]).'], ['xs[t][:, b] must be column ids[t][b] of W.']);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: the vectors match the library's LabEmbedding with the same table (W's columns are its rows; ${tolText(TOL_F32)}).`;
}

/** dW [m, V] by hand in float64 with switchable mistakes (hints only): accumulate, assign (last write wins), or average. */
function embeddingBackwardVariant(dxs: Float64Array[], ids: number[][], m: number, V: number, mode: 'sum' | 'assignTB' | 'assignBT' | 'mean'): Float64Array {
  const T = ids.length;
  const B = ids[0].length;
  const dW = new Float64Array(m * V);
  const count = new Array(V).fill(0);
  const visit = (t: number, b: number) => {
    const v = ids[t][b];
    count[v]++;
    for (let i = 0; i < m; i++) {
      const g = dxs[t][i * B + b];
      dW[i * V + v] = mode === 'assignTB' || mode === 'assignBT' ? g : dW[i * V + v] + g;
    }
  };
  if (mode === 'assignBT') { for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) visit(t, b); }
  else for (let t = 0; t < T; t++) for (let b = 0; b < B; b++) visit(t, b);
  if (mode === 'mean') for (let i = 0; i < m; i++) for (let v = 0; v < V; v++) if (count[v]) dW[i * V + v] /= count[v];
  return dW;
}

function checkEmbeddingBackward(fn: StudentFn, ctx: Ctx): string {
  const cases = embCases(ctx, EMB_VISIBLE);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (T=${cs.T}, B=${cs.B}, m=${cs.m}, V=${cs.V})`;
    const ids = randomIds(ctx, cs);
    const dxs = Array.from({ length: cs.T }, () => randn(ctx.rng, [cs.m, cs.B], 1));
    // Reference: autodiff of L = Σ_t ⟨dxs[t], W·onehot(ids[t])ᵀ⟩ with respect to W (the library's embedding is one-hot·table).
    const dW = tf.grad((w: tf.Tensor) => ids.reduce((L: tf.Tensor, row, t) => {
      const onehot = tf.oneHot(tf.tensor1d(row, 'int32'), cs.V);                                   // [B, V]
      return tf.add(L, tf.sum(tf.mul(dxs[t], tf.matMul(w as tf.Tensor2D, onehot, false, true))));
    }, tf.scalar(0)) as tf.Scalar)(tf.zeros([cs.m, cs.V]));
    const expected = dW.dataSync();
    const got = read(ctx.call(() => fn(dxs.slice(), ids.map((r) => r.slice()), cs.V)), 'dW');
    expectShape(got, [cs.m, cs.V], 'dW', 'm × V, like W: column v collects the gradients of every occurrence of id v');
    const m = mismatch(got.data, expected, TOL_F32);
    if (!m) return;
    const d64 = dxs.map((t) => Float64Array.from(t.dataSync()));
    const assign = 'each occurrence of an id seems to OVERWRITE its column (the last one wins): an id that appears several times gets the SUM of the gradients of all its occurrences — accumulate (+=).';
    const variants: Variant[] = [
      { hint: assign, value: () => embeddingBackwardVariant(d64, ids, cs.m, cs.V, 'assignTB') },
      { hint: assign, value: () => embeddingBackwardVariant(d64, ids, cs.m, cs.V, 'assignBT') },
      { hint: 'the gradients of a repeated id are averaged; the loss adds up every occurrence, so add them up.', value: () => embeddingBackwardVariant(d64, ids, cs.m, cs.V, 'mean') },
    ];
    failWith([mismatchText('dW', got, expected, m, TOL_F32) + ` (ids ${JSON.stringify(ids)}).`], [hintFor(got.data, variants, TOL_F32)]);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass (each with a repeated id): dW matches automatic differentiation of one-hot(ids)·table (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// Exercise 5 · temporalSoftmaxLoss
// ---------------------------------------------------------------------------------------------

interface LossCase { T: number; B: number; V: number; lengths: number[]; offset: number; name: string }

/** ℓ_tb = −log softmax(z_tb)[y_tb] and p_tb in float64 (max subtracted). */
function stepLosses(z: Float64Array[], targets: number[][], V: number, B: number): { nll: number[][]; p: Float64Array[] } {
  const nll: number[][] = [];
  const p: Float64Array[] = [];
  z.forEach((zt, t) => {
    const pt = new Float64Array(V * B);
    nll.push([]);
    for (let b = 0; b < B; b++) {
      let max = -Infinity;
      for (let v = 0; v < V; v++) max = Math.max(max, zt[v * B + b]);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(zt[v * B + b] - max);
      for (let v = 0; v < V; v++) pt[v * B + b] = Math.exp(zt[v * B + b] - max) / s;
      nll[t].push(max + Math.log(s) - zt[targets[t][b] * B + b]);
    }
    p.push(pt);
  });
  return { nll, p };
}

function checkTemporalSoftmaxLoss(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  const visible: LossCase[] = [
    { T: 4, B: 3, V: 5, lengths: [4, 2, 3], offset: 0, name: 'padded' },
    { T: 3, B: 2, V: 4, lengths: [3, 3], offset: 0, name: 'no padding' },
    { T: 5, B: 2, V: 6, lengths: [5, 1], offset: 0, name: 'padded' },
    { T: 3, B: 3, V: 4, lengths: [3, 1, 2], offset: 1000, name: 'large logits, about ±1000' },
  ];
  const hidden = (): LossCase[] => {
    const c = (offset: number, name: string): LossCase => {
      const T = randint(rng, 2, 6);
      const B = randint(rng, 2, 4);
      const lengths = Array.from({ length: B }, () => randint(rng, 1, T));
      lengths[rng.int(B)] = T;                // the batch is as long as its longest sequence
      if (lengths.every((l) => l === T)) lengths[(lengths.indexOf(T) + 1) % B] = randint(rng, 1, T - 1);   // some padding
      return { T, B, V: randint(rng, 3, 8), lengths, offset, name };
    };
    return [c(0, 'padded'), c(0, 'padded'), { ...c(0, 'no padding'), lengths: [] }, c(950 + randint(rng, 0, 100), 'large logits, about ±1000')];
  };
  const cases = (ctx.hidden ? hidden() : visible).map((cs) => (cs.lengths.length ? cs : { ...cs, lengths: new Array(cs.B).fill(cs.T) }));
  const tolLoss: Tol = { atol: 1e-4, rtol: 1e-4 };
  const ce = lossFunction('crossEntropy', true);
  cases.forEach((cs, k) => {
    const { T, B, V } = cs;
    ctx.label = `test ${k + 1} of ${cases.length} (T=${T}, B=${B}, V=${V}, lengths ${fmtList(cs.lengths)}, ${cs.name})`;
    const mask: number[][] = Array.from({ length: T }, (_, t) => cs.lengths.map((L) => (t < L ? 1 : 0)));
    const targets = Array.from({ length: T }, (_, t) => cs.lengths.map((L) => (t < L ? rng.int(V) : 0)));   // pad id 0 at padded steps
    const logitsOf = () => Array.from({ length: T }, (_, t) => {
      const v = new Float32Array(V * B);
      for (let i = 0; i < V * B; i++) v[i] = rng.normal(0, cs.offset ? 4 : 1.5) + (cs.offset ? (rng.next() < 0.5 ? cs.offset : -cs.offset) * (t % 2 ? 1 : -1) : 0);
      return v;
    });
    const raw = logitsOf();
    const logits = raw.map((v) => tf.tensor2d(v, [V, B]));
    // The same real steps with other values at the padded steps (and other padded targets).
    const other = logitsOf().map((v, t) => tf.tensor2d(v.map((x, i) => (mask[t][i % B] ? raw[t][i] : x)), [V, B]));
    const otherTargets = targets.map((row, t) => row.map((y, b) => (mask[t][b] ? y : rng.int(V))));
    // Reference: the library's masked cross-entropy (mean over real steps) on [B, T, V], and its gradient by autodiff.
    const yBT = tf.tensor2d(Array.from({ length: B }, (_, b) => targets.map((r) => r[b])), [B, T], 'float32');
    const mBT = tf.tensor2d(Array.from({ length: B }, (_, b) => mask.map((r) => r[b])), [B, T], 'float32');
    const { value, grad } = tf.valueAndGrad((z: tf.Tensor) => ce(yBT, tf.transpose(z, [2, 0, 1]), mBT))(tf.stack(logits));
    const expLoss = value.dataSync()[0];
    const expGrad = grad.dataSync();
    const real = mask.flat().reduce((a: number, b) => a + b, 0);
    const run = (z: tf.Tensor2D[], y: number[][]) => {
      const out = fields(ctx.call(() => fn(z.slice(), y.map((r) => r.slice()), mask.map((r) => r.slice()))), ['loss', 'dlogits'], '{ loss, dlogits }');
      const loss = isTensor(out.loss) ? read(out.loss, 'loss') : typeof out.loss === 'number' ? { data: Float64Array.of(out.loss), shape: [] } : fail(`loss must be a number (or a scalar tensor); got ${describe(out.loss)}`);
      if (loss.data.length !== 1) fail(`loss must be one number (a scalar); got shape ${shapeText(loss.shape)}`);
      return { loss: loss.data[0], dlogits: readSeq(out.dlogits, T, [V, B], 'dlogits', 'V × B, like logits[t]') };
    };
    const a = run(logits, targets);
    const z64 = logits.map((t) => Float64Array.from(t.dataSync()));
    const { nll, p } = stepLosses(z64, targets, V, B);
    const sumOf = (w: (t: number, b: number) => number) => nll.reduce((s, row, t) => s + row.reduce((s2, l, b) => s2 + w(t, b) * l, 0), 0);
    const len = (b: number) => cs.lengths[b];
    const normalisers: [string, (t: number, b: number) => number, string][] = [
      ['TB', (t, b) => mask[t][b] / (T * B), `the loss is divided by T·B = ${T * B} (every step, padded ones included); this homework divides by the number of REAL steps, Σ mask = ${real}.`],
      ['B', (t, b) => mask[t][b] / B, `the loss is divided by the batch size B (CS231n's convention); this homework, like the library, divides by the number of real steps, Σ mask = ${real}.`],
      ['sum', (t, b) => mask[t][b], `this is the sum over the real steps; divide it by their number, Σ mask = ${real}.`],
      ['seq', (t, b) => mask[t][b] / (B * len(b)), 'this is the mean of per-sequence means; the loss pools all real steps: Σ m·ℓ / Σ m, so a long sequence weighs as many steps as it has.'],
    ];
    const problems: string[] = [];
    const hints: string[] = [];
    const nonFinite = !Number.isFinite(a.loss) || a.dlogits.data.some((x) => !Number.isFinite(x));
    const unstable = cs.offset ? 'with logits near ±1000, exp overflows to Infinity (or every exp underflows to 0): subtract each column\'s max logit before exponentiating — softmax(z) = softmax(z − max z), and log Σ exp(z) = max + log Σ exp(z − max).' : '';
    if (Math.abs(a.loss - expLoss) > tolLoss.atol + tolLoss.rtol * Math.abs(expLoss)) {
      problems.push(`loss should be ${fmt(expLoss)} (Σ over the real steps of −log p(target), divided by the number of real steps Σ mask = ${real}); got ${fmt(a.loss)} (tolerance 1e-4 + 1e-4·|expected|).`);
      if (nonFinite) hints.push(unstable);
      hints.push(...normalisers.filter(([, w]) => Math.abs(sumOf(w) - a.loss) <= 1e-4 * (1 + Math.abs(a.loss))).map(([, , h]) => h));
      if (real < T * B && [sumOf(() => 1 / real), sumOf(() => 1 / (T * B))].some((v) => Math.abs(v - a.loss) <= 1e-4 * (1 + Math.abs(a.loss)))) {
        hints.push('the padded steps are in your loss: multiply each step\'s −log p by its mask BEFORE summing. A mask applied after the mean (or only to the gradient) cannot take a padded step\'s term out again.');
      }
    }
    const gm = mismatch(a.dlogits.data, expGrad, TOL_F32);
    if (gm) {
      problems.push(mismatchText('dlogits', a.dlogits, expGrad, gm, TOL_F32) + ' (index [t, class, example]).');
      if (nonFinite) hints.push(unstable);
      const Vb = V * B;
      const gradOf = (w: (t: number, b: number) => number, sign = 1) => {
        const g = new Float64Array(T * Vb);
        for (let t = 0; t < T; t++) for (let v = 0; v < V; v++) for (let b = 0; b < B; b++) {
          g[t * Vb + v * B + b] = sign * w(t, b) * (p[t][v * B + b] - (targets[t][b] === v ? 1 : 0));
        }
        return g;
      };
      const paddedNonZero = mask.some((row, t) => row.some((mm, b) => !mm && Array.from({ length: V }, (_, v) => a.dlogits.data[t * Vb + v * B + b]).some((x) => Math.abs(x) > 1e-6)));
      const variants: Variant[] = [
        ...normalisers.map(([, w, h]) => ({ hint: h, value: () => gradOf(w) })),
        { hint: 'dlogits has the wrong sign: ∂ℓ/∂z = p − onehot(y), not onehot(y) − p.', value: () => gradOf((t, b) => -mask[t][b] / real) },
      ];
      const h = hintFor(a.dlogits.data, variants, TOL_F32);
      hints.push(h || (paddedNonZero ? 'dlogits must be exactly 0 at the padded steps (mask 0): a padded step contributes nothing to the loss, so nothing to its gradient.' : ''));
    }
    if (!problems.length && real < T * B) {
      // The padded steps must not matter: other logits and targets there leave the loss and the real steps' gradient unchanged.
      const b2 = run(other, otherTargets);
      if (Math.abs(b2.loss - expLoss) > tolLoss.atol + tolLoss.rtol * Math.abs(expLoss) || mismatch(b2.dlogits.data, expGrad, TOL_F32)) {
        problems.push(`with other logits and targets at the padded steps (mask 0), your loss or dlogits changed (loss ${fmt(expLoss)} → ${fmt(b2.loss)}); padded steps must contribute nothing.`);
        hints.push('use only the real steps: multiply each step\'s −log p by its mask before summing, and make dlogits 0 where the mask is 0.');
      }
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: loss and dlogits match the library's masked cross-entropy (the mean over real steps, Σ m·ℓ / Σ m) and its automatic differentiation (loss 1e-4 + 1e-4·|expected|, dlogits ${tolText(TOL_F32)}), padded steps contribute nothing, and logits near ±1000 stay finite.`;
}

// ---------------------------------------------------------------------------------------------
// Exercise 6 · generate
// ---------------------------------------------------------------------------------------------

/** Inverse-CDF sampling: the smallest k with u < p_0 + … + p_k (the last index if rounding leaves u above the sum): Rng.choice's rule. */
function inverseCdf(p: ArrayLike<number>, u: number): number {
  let cum = 0;
  for (let k = 0; k < p.length; k++) {
    cum += p[k];
    if (u < cum) return k;
  }
  return p.length - 1;
}

/** Distance from u to the nearest boundary of the cumulative sums of p (0 and 1 excluded from the concern at 0). */
function margin(p: ArrayLike<number>, u: number): number {
  let cum = 0;
  let best = Infinity;
  for (let k = 0; k < p.length; k++) {
    cum += p[k];
    best = Math.min(best, Math.abs(u - cum));
  }
  return best;
}

function argmaxOf(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

interface GenModel { V: number; n: number; E: tf.Tensor2D; Whh: tf.Tensor2D; bh: tf.Tensor2D; Why: tf.Tensor2D; by: tf.Tensor2D }

/** One step of the check's word model: h' = tanh(E[:, id] + W_hh h + b_h), logits = W_hy h' + b_y. */
function modelStep(M: GenModel, id: number, h: tf.Tensor2D): { logits: number[]; h: tf.Tensor2D } {
  const h2 = tf.tidy(() => tf.tanh(tf.add(tf.add(tf.slice(M.E, [0, id], [M.n, 1]), tf.matMul(M.Whh, h)), M.bh)) as tf.Tensor2D);
  const logits = tf.tidy(() => tf.add(tf.matMul(M.Why, h2), M.by));
  const out = Array.from(logits.dataSync());
  logits.dispose();
  return { logits: out, h: h2 };
}

type GenV = { argmaxFeed?: boolean; noStop?: boolean; greedy?: boolean; stuck?: boolean; dropEnd?: boolean; withStart?: boolean };

/** The generation loop by hand (the reference when v = {}), with switchable mistakes (hints only). */
function generateRef(M: GenModel, h0: tf.Tensor2D, start: number, end: number, maxLength: number, us: number[], v: GenV = {}): number[] {
  const out: number[] = [];
  let id = start;
  let h = h0;
  for (let k = 0; k < maxLength; k++) {
    const r = modelStep(M, id, h);
    const p = softmax(r.logits);
    const s = v.greedy ? argmaxOf(p) : inverseCdf(p, us[k]);
    out.push(s);
    id = v.argmaxFeed ? argmaxOf(p) : s;
    if (!v.stuck) h = r.h;
    if (s === end && !v.noStop) break;
  }
  if (v.dropEnd && out[out.length - 1] === end) out.pop();
  return v.withStart ? [start, ...out] : out;
}

interface GenRun { h0: tf.Tensor2D; us: number[]; expected: number[] }

function checkGenerate(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  const specs = ctx.hidden
    ? [{ V: randint(rng, 5, 8), n: randint(rng, 3, 6), maxLength: randint(rng, 6, 10) }, { V: randint(rng, 4, 7), n: randint(rng, 3, 6), maxLength: randint(rng, 5, 9) }]
    : [{ V: 6, n: 5, maxLength: 8 }];
  let total = 0;
  specs.forEach((sp, j) => {
    const { V, n, maxLength } = sp;
    const M: GenModel = { V, n, E: randn(rng, [n, V], 1), Whh: randn(rng, [n, n], 0.5), bh: randn(rng, [n, 1], 0.2), Why: randn(rng, [V, n], 1.2), by: randn(rng, [V, 1], 0.3) };
    const start = rng.int(V);
    const end = (start + 1 + rng.int(V - 1)) % V;
    // Runs: seeded states and uniform streams, each u at least 1e-4 away from a boundary of the cumulative
    // sums along the run (so float32 vs float64 rounding cannot change a sample); kept until the set has a
    // run that ends with the end token, one cut at maxLength, and one whose sample differs from the argmax.
    const runs: GenRun[] = [];
    let ended = 0, cut = 0, notArgmax = 0;
    for (let attempt = 0; attempt < 60 && (runs.length < 4 || !ended || !cut || !notArgmax); attempt++) {
      const h0 = randn(rng, [n, 1], 0.7);
      const us: number[] = [];
      let id = start;
      let h = h0;
      let diff = false;
      let stopped = false;
      for (let k = 0; k < maxLength; k++) {
        const r = modelStep(M, id, h);
        const p = softmax(r.logits);
        let u = rng.next();
        for (let tries = 0; tries < 100 && margin(p, u) < 1e-4; tries++) u = rng.next();
        us.push(u);
        id = inverseCdf(p, u);
        if (!stopped && id !== argmaxOf(p)) diff = true;
        h = r.h;
        if (id === end) stopped = true;       // continue past the end: the stream also serves a loop that does not stop
      }
      const expected = generateRef(M, h0, start, end, maxLength, us);
      const isEnded = expected[expected.length - 1] === end;
      const useful = (isEnded && !ended) || (!isEnded && !cut) || (diff && !notArgmax) || runs.length < 3;
      if (!useful || runs.length >= 7) continue;
      runs.push({ h0, us, expected });
      if (isEnded) ended++; else cut++;
      if (diff) notArgmax++;
    }
    runs.forEach((run, k) => {
      ctx.label = `model ${j + 1} of ${specs.length} (V=${V}, n=${n}, start ${start}, end ${end}, maxLength ${maxLength}), run ${k + 1} of ${runs.length}`;
      let calls = 0;
      let draws = 0;
      const fed: number[] = [];
      const step = (id: unknown, h: unknown) => {
        calls++;
        if (calls > 10 * maxLength + 10) fail(`step was called more than ${10 * maxLength + 10} times for maxLength = ${maxLength}: stop after maxLength ids.`);
        if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= V) fail(`step was called with id = ${describe(id)}; feed it a token id, an integer in [0, ${V}).`);
        if (!isTensor(h) || h.shape.length !== 2 || h.shape[0] !== n || h.shape[1] !== 1) fail(`step was called with h = ${describe(h)}; pass h0 first, then the h that step returned (a tensor [${n}, 1]).`);
        fed.push(id);
        return modelStep(M, id, h as tf.Tensor2D);
      };
      const uniform = () => {
        const u = draws < run.us.length ? run.us[draws] : rng.next();
        draws++;
        return u;
      };
      const out = ctx.call(() => fn(step, run.h0, start, end, maxLength, uniform));
      const got = read(out, 'the result');
      if (got.shape.length > 1 && got.data.length !== got.shape[0]) fail(`return the generated ids as a flat array of numbers; got shape ${shapeText(got.shape)}`);
      const ids = Array.from(got.data);
      if (ids.some((x) => !Number.isInteger(x) || x < 0 || x >= V)) fail(`return token ids, integers in [0, ${V}); got ${fmtList(ids, 12)}`);
      const exp = run.expected;
      if (ids.length === exp.length && ids.every((x, i) => x === exp[i])) {
        if (draws !== exp.length) fail(`the ids are right but uniform() was called ${draws} times for ${exp.length} ids: draw exactly one number per generated id.`);
        total++;
        return;
      }
      const same = (v: GenV) => {
        const r = generateRef(M, run.h0, start, end, maxLength, run.us, v);
        return r.length === ids.length && r.every((x, i) => x === ids[i]);
      };
      let hint = '';
      if (draws === 0) hint = 'uniform() was never called: draw every random number with the uniform argument (not Math.random), one per generated id.';
      else if (same({ dropEnd: true })) hint = 'the end token is missing: when endId is drawn, append it and then stop (it is the last id of the result).';
      else if (same({ noStop: true })) hint = `the result goes on after endId (${end}) was drawn: stop as soon as endId is drawn, keeping it as the last id.`;
      else if (same({ withStart: true }) || same({ withStart: true, dropEnd: true })) hint = 'the result starts with startId: return only the generated ids (startId is the first input, not an output).';
      else if (same({ greedy: true })) hint = 'these are the argmax ids: SAMPLE each id from softmax(logits) with uniform() (inverse CDF).';
      else if (same({ argmaxFeed: true })) hint = 'the id fed back is the argmax, not the sampled id: feed the id you just drew (and appended) as the next input.';
      else if (same({ stuck: true })) hint = 'every step starts from h0: pass the h that step returned to the next call.';
      else if (fed.length > 1 && fed.slice(1).some((x, i) => x !== ids[i])) hint = `the ids fed to step ${fmtList(fed, 12)} are not startId followed by your own samples: feed back the id you just drew.`;
      else if (fed[0] !== start) hint = `the first input must be startId = ${start}; step was first called with ${fed[0]}.`;
      fail(`expected the ids ${fmtList(exp, 12)}, got ${fmtList(ids, 12)} (uniform() called ${draws} times).${hint ? ` Hint: ${hint}` : ''}`);
    });
  });
  ctx.label = '';
  return `all ${total} runs pass: the ids match the check's own loop (softmax, inverse-CDF sampling with one uniform() per id, the sampled id fed back, stop after endId, which is kept).`;
}

/** The exercises of homework 4. */
// libraryAnswers: the library's functions that are an exercise's answer score it 0 when the student's
// function calls them (src/check/library-answers.ts). The embedding exercises have none: the library's
// embedding is a layer class (LabEmbedding), which a student's column-form function cannot simply call.
export const HW4_SEQUENCES = defineHomework({
  rnnForward: { homework: 'hw4-sequences', fn: 'rnnForward', maxPoints: 1, title: 'vanilla RNN over a sequence, forward', visibleSeed: 401, run: checkRnnForward, libraryAnswers: ['RNN_FAMILY.step', 'rnnLayer'] },
  rnnBackward: { homework: 'hw4-sequences', fn: 'rnnBackward', maxPoints: 3, title: 'vanilla RNN over a sequence, backward', visibleSeed: 402, run: checkRnnBackward, libraryAnswers: ['RNN_FAMILY.step', 'rnnLayer', 'computeGradients'] },
  embeddingForward: { homework: 'hw4-sequences', fn: 'embeddingForward', maxPoints: 1, title: 'word embedding, forward', visibleSeed: 403, run: checkEmbeddingForward },
  embeddingBackward: { homework: 'hw4-sequences', fn: 'embeddingBackward', maxPoints: 1, title: 'word embedding, backward', visibleSeed: 404, run: checkEmbeddingBackward },
  temporalSoftmaxLoss: { homework: 'hw4-sequences', fn: 'temporalSoftmaxLoss', maxPoints: 3, title: 'masked temporal softmax loss', visibleSeed: 405, run: checkTemporalSoftmaxLoss, libraryAnswers: ['lossFunction', 'charCrossEntropy'] },
  generate: { homework: 'hw4-sequences', fn: 'generate', maxPoints: 2, title: 'generation with an end token', visibleSeed: 406, run: checkGenerate, libraryAnswers: ['decodeSequences', 'sampleText', 'Rng.prototype.choice'] },
} as const);
