/**
 * Homework 5 (homework/hw5-attention.ipynb): attention and beam search — the additive attention of
 * Bahdanau et al. (2015) over a padded batch of encoder states (the masked softmax of its scores, then
 * the context vector), and beam search over a given step function.
 *
 * Layouts (the lecture's column vectors, time as a plain array, as in homework 4):
 * - the decoder state s is [n, B]; the encoder states are an array of T tensors hs[j] [m, B];
 * - W_a [d, n], U_a [d, m], v_a [d, 1]: e_jb = v_aᵀ tanh(W_a s_b + U_a h_jb);
 * - lengths[b] is the source length of example b: positions j ≥ lengths[b] are padding;
 * - the attention weights are one tensor alphas [T, B]: column b is example b's distribution over the
 *   source positions (softmax over j, i.e. over the rows), exactly 0 at the padded positions;
 * - the context is c [m, B], c_b = Σ_j α_jb h_jb.
 * - beam search: step(token, state) → { logProbs (number[V]), state }; a hypothesis is { tokens, score }
 *   with tokens excluding the start token and including the end token when chosen, and score the sum of
 *   the log-probabilities of its tokens. Finished hypotheses stay in the beam and compete with the
 *   extensions of the unfinished ones (see beamRef).
 *
 * References: float64 arithmetic written from the equations (attention), and the check's own beam search
 * in float64 (which, with a beam as wide as the number of sequences, is the exhaustive search: tested in
 * tests/unit/check.test.mjs). The variants exist only to recognise known mistakes.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { Arr, Tol, TOL_F32, Variant, expectShape, fmt, fmtList, hintFor, isTensor, mismatch, mismatchText, read, tolText } from './compare';

// ---------------------------------------------------------------------------------------------
// Attention in float64
// ---------------------------------------------------------------------------------------------

interface AttCase { B: number; T: number; n: number; m: number; d: number; lengths: number[] }

/** A [r, c] float32 tensor's values as float64 rows. */
function rows(t: tf.Tensor): number[][] {
  const [r, c] = t.shape;
  const v = t.dataSync();
  return Array.from({ length: r }, (_, i) => Array.from({ length: c }, (_, j) => v[i * c + j]));
}

/** The scores e[j][b] = v_aᵀ tanh(W_a s_b + U_a h_jb) in float64 (noTanh: without the tanh). */
export function attentionScores64(s: tf.Tensor2D, hs: tf.Tensor2D[], Wa: tf.Tensor2D, Ua: tf.Tensor2D, va: tf.Tensor2D, noTanh = false): number[][] {
  const S = rows(s), W = rows(Wa), U = rows(Ua), v = rows(va).map((r) => r[0]);
  const [d, n] = Wa.shape;
  const m = Ua.shape[1];
  const B = s.shape[1];
  const ws = Array.from({ length: d }, (_, i) => Array.from({ length: B }, (_, b) => {
    let a = 0;
    for (let k = 0; k < n; k++) a += W[i][k] * S[k][b];
    return a;
  }));
  return hs.map((h) => {
    const H = rows(h);
    return Array.from({ length: B }, (_, b) => {
      let e = 0;
      for (let i = 0; i < d; i++) {
        let a = ws[i][b];
        for (let k = 0; k < m; k++) a += U[i][k] * H[k][b];
        e += v[i] * (noTanh ? a : Math.tanh(a));
      }
      return e;
    });
  });
}

/** Softmax of xs (max subtracted); −Infinity entries get exactly 0. */
function softmax64(xs: number[]): number[] {
  const max = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - max));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

type AttMode = 'ok' | 'maskAfter' | 'noMask' | 'maskMul' | 'axis' | 'axisNoMask' | 'axisMaskAfter' | 'scores' | 'maskedScores';

/** Attention weights [T, B] (flat, row-major) from the scores, the right way (ok) or with a known mistake. */
export function attentionWeights64(e: number[][], lengths: number[], mode: AttMode = 'ok'): Float64Array {
  const T = e.length;
  const B = lengths.length;
  const real = (j: number, b: number) => j < lengths[b];
  const out = new Float64Array(T * B);
  const set = (j: number, b: number, x: number) => { out[j * B + b] = x; };
  if (mode === 'scores' || mode === 'maskedScores') {
    for (let j = 0; j < T; j++) for (let b = 0; b < B; b++) set(j, b, mode === 'scores' || real(j, b) ? e[j][b] : 0);
    return out;
  }
  if (mode.startsWith('axis')) {
    for (let j = 0; j < T; j++) {
      const row = e[j].map((x, b) => (mode === 'axis' && !real(j, b) ? x - 1e9 : x));
      softmax64(row).forEach((p, b) => set(j, b, mode === 'axisMaskAfter' && !real(j, b) ? 0 : p));
    }
    return out;
  }
  for (let b = 0; b < B; b++) {
    const col = e.map((r, j) => {
      const x = r[b];
      if (mode === 'ok') return real(j, b) ? x : -Infinity;
      if (mode === 'maskMul') return real(j, b) ? x : 0;
      return x;
    });
    softmax64(col).forEach((p, j) => set(j, b, mode === 'maskAfter' && !real(j, b) ? 0 : p));
  }
  return out;
}

function attCases(ctx: Ctx, visible: AttCase[]): AttCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return Array.from({ length: 4 }, (_, k) => {
    const T = randint(r, 3, 7);
    let B = randint(r, 1, 4);
    if (B === T) B++;                                   // a transposed result must show in the shape
    const lengths = Array.from({ length: B }, () => randint(r, 1, T));
    if (k < 3) {
      lengths[r.int(B)] = T;                            // the batch is as long as its longest source
      if (B > 1 && lengths.every((l) => l === T)) lengths[(lengths.indexOf(T) + 1) % B] = randint(r, 1, T - 1);
      if (B === 1) lengths[0] = randint(r, 1, T - 1);   // padding even with one example
    } else lengths.fill(T);                             // and a batch without padding
    return { B, T, n: randint(r, 2, 5), m: randint(r, 2, 6), d: randint(r, 2, 5), lengths };
  });
}

const ATT_VISIBLE: AttCase[] = [
  { B: 3, T: 5, n: 4, m: 3, d: 4, lengths: [5, 2, 4] },
  { B: 1, T: 4, n: 3, m: 5, d: 2, lengths: [4] },
  { B: 2, T: 3, n: 2, m: 2, d: 3, lengths: [1, 3] },
];

function attInputs(ctx: Ctx, cs: AttCase) {
  const rng = ctx.rng;
  return {
    s: randn(rng, [cs.n, cs.B], 1),
    hs: Array.from({ length: cs.T }, () => randn(rng, [cs.m, cs.B], 1)),
    Wa: randn(rng, [cs.d, cs.n], 0.8),
    Ua: randn(rng, [cs.d, cs.m], 0.8),
    va: randn(rng, [cs.d, 1], 1.2),
  };
}

const caseText = (cs: AttCase) => `B=${cs.B}, T=${cs.T}, n=${cs.n}, m=${cs.m}, d=${cs.d}, lengths ${fmtList(cs.lengths)}`;

/** The padded positions (j ≥ lengths[b]) where `a` [T, B] is not exactly 0, as text, or ''. */
function nonZeroPadding(a: Arr, lengths: number[]): string {
  const B = lengths.length;
  const bad: string[] = [];
  for (let j = 0; j < a.data.length / B; j++) for (let b = 0; b < B; b++) if (j >= lengths[b] && a.data[j * B + b] !== 0) bad.push(`[${j}, ${b}] = ${fmt(a.data[j * B + b])}`);
  return bad.slice(0, 3).join(', ') + (bad.length > 3 ? ', …' : '');
}

// ---------------------------------------------------------------------------------------------
// Exercise 1 · attentionWeights
// ---------------------------------------------------------------------------------------------

const WEIGHT_HINTS: [AttMode | 'noTanh', string][] = [
  ['maskAfter', 'the mask seems to be applied AFTER the softmax: the padded positions took part in the normalisation, so the real weights sum to less than 1. Set the padded scores to −∞ (or a very negative number) BEFORE the softmax; their weights then come out exactly 0 and the real ones sum to 1.'],
  ['noMask', 'the padded positions get weight: positions j ≥ lengths[b] are padding and must get weight exactly 0 (set their scores to −∞ before the softmax).'],
  ['maskMul', 'the scores seem to be multiplied by the mask: a padded score of 0 is not "no weight" (e⁰ = 1 still counts in the softmax). Set the padded scores to −∞ (or a very negative number) before the softmax.'],
  ['axis', 'the softmax runs over the wrong axis: each COLUMN (one example, all source positions j) must sum to 1, not each row. tf.softmax normalises the last axis; transpose to [B, T] and back, or write the softmax with tf.exp and tf.sum(…, 0, true).'],
  ['axisNoMask', 'the softmax runs over the wrong axis (each row sums to 1; each COLUMN must), and the padded positions are not masked.'],
  ['axisMaskAfter', 'the softmax runs over the wrong axis (each row sums to 1; each COLUMN must), and the mask is applied after it.'],
  ['scores', 'these are the scores e_j themselves: turn them into weights with a softmax over the source positions (after masking).'],
  ['maskedScores', 'these are the masked scores: turn them into weights with a softmax over the source positions (the padded scores at −∞, not 0).'],
  ['noTanh', 'the tanh seems to be missing: e_j = v_aᵀ tanh(W_a s + U_a h_j).'],
];

function checkAttentionWeights(fn: StudentFn, ctx: Ctx): string {
  const cases = attCases(ctx, ATT_VISIBLE);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (${caseText(cs)})`;
    const { s, hs, Wa, Ua, va } = attInputs(ctx, cs);
    const e = attentionScores64(s, hs, Wa, Ua, va);
    const expected = attentionWeights64(e, cs.lengths);
    const dims = 'T × B: column b is example b\'s weights over the source positions';
    const run = (hh: tf.Tensor2D[]) => {
      const got = read(ctx.call(() => fn(s, hh.slice(), cs.lengths.slice(), Wa, Ua, va)), 'alphas');
      expectShape(got, [cs.T, cs.B], 'alphas', dims);
      return got;
    };
    const got = run(hs);
    const m = mismatch(got.data, expected, TOL_F32);
    if (m) {
      const variants: Variant[] = WEIGHT_HINTS.map(([mode, hint]) => ({
        hint,
        value: () => (mode === 'noTanh' ? attentionWeights64(attentionScores64(s, hs, Wa, Ua, va, true), cs.lengths) : attentionWeights64(e, cs.lengths, mode)),
      }));
      let hint = hintFor(got.data, variants, TOL_F32);
      if (!hint && nonZeroPadding(got, cs.lengths)) hint = 'the padded positions (j ≥ lengths[b]) must get weight exactly 0: set their scores to −∞ before the softmax.';
      failWith([mismatchText('alphas', got, expected, m, TOL_F32) + ' (index [j, example]).'], [hint]);
    }
    const pad = nonZeroPadding(got, cs.lengths);
    if (pad) fail(`the weights of the padded positions must be exactly 0; got ${pad} (index [j, example]). Hint: set the padded scores to −∞ (or −1e9) before the softmax, so that their exponentials underflow to exactly 0.`);
    if (cs.lengths.some((l) => l < cs.T)) {
      // Other encoder states at the padded positions must change nothing.
      const other = hs.map((h, j) => tf.tidy(() => {
        const keep = tf.tensor2d([cs.lengths.map((l) => (j < l ? 1 : 0))]);
        return tf.add(tf.mul(h, keep), tf.mul(randn(ctx.rng, [cs.m, cs.B], 3), tf.sub(1, keep))) as tf.Tensor2D;
      }));
      const got2 = run(other);
      if (mismatch(got2.data, expected, TOL_F32) || nonZeroPadding(got2, cs.lengths)) {
        fail('with other encoder states at the padded positions, your weights changed: padding must not matter. Hint: mask the scores of positions j ≥ lengths[b] before the softmax.');
      }
    }
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: alphas match the additive attention's masked softmax computed in float64 from the equations (${tolText(TOL_F32)}), padded positions get exactly 0, and other values there change nothing.`;
}

// ---------------------------------------------------------------------------------------------
// Exercise 2 · attentionContext
// ---------------------------------------------------------------------------------------------

type CtxMode = 'ok' | 'sum' | 'mean' | 'first' | 'last';

/** c [m, B] (flat) = Σ_j α_jb h_jb, or a known mistake. */
function context64(alphas: Float64Array, hs: number[][][], T: number, B: number, m: number, mode: CtxMode = 'ok'): Float64Array {
  const c = new Float64Array(m * B);
  for (let b = 0; b < B; b++) for (let i = 0; i < m; i++) {
    let x = 0;
    for (let j = 0; j < T; j++) {
      const w = mode === 'sum' ? 1 : mode === 'mean' ? 1 / T : mode === 'first' ? alphas[j * B] : alphas[j * B + b];
      x += w * hs[j][i][b];
    }
    c[i * B + b] = mode === 'last' ? hs[T - 1][i][b] : x;
  }
  return c;
}

function checkAttentionContext(fn: StudentFn, ctx: Ctx): string {
  const visible: AttCase[] = [
    { B: 3, T: 5, n: 3, m: 4, d: 3, lengths: [5, 2, 4] },
    { B: 2, T: 4, n: 2, m: 3, d: 2, lengths: [4, 1] },
    { B: 1, T: 3, n: 2, m: 2, d: 2, lengths: [3] },
  ];
  const cases = attCases(ctx, visible);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, T=${cs.T}, m=${cs.m}, lengths ${fmtList(cs.lengths)})`;
    const { s, hs, Wa, Ua, va } = attInputs(ctx, cs);
    const a64 = attentionWeights64(attentionScores64(s, hs, Wa, Ua, va), cs.lengths);
    const alphas = tf.tensor2d(Float32Array.from(a64), [cs.T, cs.B], 'float32');
    const a32 = Float64Array.from(alphas.dataSync());
    const H = hs.map(rows);
    const expected = context64(a32, H, cs.T, cs.B, cs.m);
    const got = read(ctx.call(() => fn(alphas, hs.slice())), 'c');
    expectShape(got, [cs.m, cs.B], 'c', 'm × B: column b is example b\'s context vector');
    const m = mismatch(got.data, expected, TOL_F32);
    if (m) {
      const variants: Variant[] = ([
        ['sum', 'this is the plain sum of the encoder states: weight each h_j by its α_j (c = Σ_j α_j h_j).'],
        ['mean', 'this is the plain mean of the encoder states (padding included): weight each h_j by its α_j (c = Σ_j α_j h_j).'],
        ['first', 'every example seems to use the weights of example 0: example b uses column b of alphas.'],
        ['last', 'this is the last encoder state h_{T−1}: the context is the weighted sum over all positions, c = Σ_j α_j h_j.'],
      ] as const).map(([mode, hint]) => ({ hint, value: () => context64(a32, H, cs.T, cs.B, cs.m, mode) }));
      failWith([mismatchText('c', got, expected, m, TOL_F32) + ' (index [component, example]).'], [hintFor(got.data, variants, TOL_F32)]);
    }
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: c matches Σ_j α_j h_j computed in float64 (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// Exercise 3 · beamSearch
// ---------------------------------------------------------------------------------------------

/** A step function's result. */
export interface StepOut<S> { logProbs: number[]; state: S }
export interface Hypothesis { tokens: number[]; score: number }

export interface BeamOptions {
  /** Score = the last token's log-probability only (forgetting to add). */
  lastOnly?: boolean;
  /** Finished hypotheses are dropped from the beam instead of kept. */
  dropFinished?: boolean;
  /** The end token does not finish a hypothesis (it is extended further). */
  ignoreEnd?: boolean;
  /** Finished hypotheses leave the beam for a separate list; the beam is refilled with k unfinished ones. */
  separate?: boolean;
  /** After the first step, every hypothesis is extended by its single best token (k greedy searches). */
  kGreedy?: boolean;
  /** Called with the smallest gap between the k-th and (k+1)-th candidates at every pruning. */
  gap?: (g: number) => void;
}

interface Hyp<S> { tokens: number[]; score: number; state: S; done: boolean }

/**
 * The check's beam search: the beam starts as one empty hypothesis (score 0, state0, input startToken).
 * Each of at most maxLength steps extends every unfinished hypothesis by every token v (score + logProbs[v];
 * choosing endToken finishes it), pools these extensions with the finished hypotheses of the beam, and keeps
 * the k best of the pool. It stops early when every hypothesis of the beam is finished. The result is the
 * beam, best first.
 */
export function beamRef<S>(step: (token: number, state: S) => StepOut<S>, state0: S, startToken: number, endToken: number, k: number, maxLength: number, o: BeamOptions = {}): Hypothesis[] {
  let beam: Hyp<S>[] = [{ tokens: [], score: 0, state: state0, done: false }];
  const finished: Hyp<S>[] = [];
  const byScore = (a: { score: number }, b: { score: number }) => b.score - a.score;
  for (let t = 0; t < maxLength; t++) {
    if (beam.every((h) => h.done)) break;
    const pool: Hyp<S>[] = [];
    for (const h of beam) {
      if (h.done) {
        if (!o.dropFinished) pool.push(h);
        continue;
      }
      const r = step(h.tokens.length ? h.tokens[h.tokens.length - 1] : startToken, h.state);
      const ext = r.logProbs.map((lp, v) => ({ tokens: [...h.tokens, v], score: o.lastOnly ? lp : h.score + lp, state: r.state, done: v === endToken && !o.ignoreEnd }));
      if (o.kGreedy && t > 0) pool.push(ext.sort(byScore)[0]);
      else pool.push(...ext);
    }
    pool.sort(byScore);
    if (o.separate) {
      // The finished candidates among the k best go to the list; the beam keeps the k best unfinished ones.
      finished.push(...pool.slice(0, k).filter((h) => h.done));
      beam = pool.filter((h) => !h.done).slice(0, k);
      if (finished.length >= k) break;
      continue;
    }
    if (o.gap && pool.length > k) o.gap(pool[k - 1].score - pool[k].score);
    beam = pool.slice(0, k);
  }
  const out = o.separate ? [...finished, ...beam].sort(byScore).slice(0, k) : beam;
  if (o.gap) for (let i = 1; i < out.length; i++) o.gap(out[i - 1].score - out[i].score);
  return out.map((h) => ({ tokens: h.tokens, score: h.score }));
}

/** The check's toy decoder: a float64 RNN over V tokens whose state is an opaque object. */
interface ToyState { readonly h: readonly number[] }
interface Toy { V: number; n: number; E: number[][]; W: number[][]; U: number[][]; b: number[]; endBias: number; end: number }

function toyModel(ctx: Ctx, V: number, n: number, end: number): Toy {
  const r = ctx.rng;
  const mat = (a: number, c: number, std: number) => Array.from({ length: a }, () => Array.from({ length: c }, () => r.normal(0, std)));
  return { V, n, E: mat(V, n, 1), W: mat(n, n, 0.6), U: mat(V, n, 1.6), b: Array.from({ length: V }, () => r.normal(0, 0.5)), endBias: 0.3 + r.next(), end };
}

function toyStep(M: Toy, token: number, state: ToyState): StepOut<ToyState> {
  const h = Array.from({ length: M.n }, (_, i) => Math.tanh(M.E[token][i] + M.W[i].reduce((a, w, k) => a + w * state.h[k], 0)));
  const z = M.U.map((row, v) => row.reduce((a, u, i) => a + u * h[i], M.b[v] + (v === M.end ? M.endBias : 0)));
  const max = Math.max(...z);
  const lse = max + Math.log(z.reduce((a, x) => a + Math.exp(x - max), 0));
  return { logProbs: z.map((x) => x - lse), state: Object.freeze({ h: Object.freeze(h) }) };
}

const sameTokens = (a: Hypothesis[], b: number[][]) => a.length === b.length && a.every((h, i) => h.tokens.length === b[i].length && h.tokens.every((x, j) => x === b[i][j]));
const listText = (hs: number[][], max = 4) => hs.slice(0, max).map((t) => `[${t.join(' ')}]`).join(', ') + (hs.length > max ? ', …' : '');

interface BeamRun { M: Toy; start: number; k: number; maxLength: number; state0: ToyState; expected: Hypothesis[] }

function beamRuns(ctx: Ctx): BeamRun[] {
  const r = ctx.rng;
  const specs = ctx.hidden
    ? Array.from({ length: 3 }, () => ({ V: randint(r, 4, 7), k: randint(r, 2, 4), maxLength: randint(r, 4, 7) }))
    : [{ V: 5, k: 2, maxLength: 5 }, { V: 6, k: 3, maxLength: 6 }, { V: 4, k: 3, maxLength: 4 }];
  return specs.map(({ V, k, maxLength }) => {
    let best: BeamRun | null = null;
    for (let attempt = 0; attempt < 200; attempt++) {
      const n = randint(r, 3, 5);
      const start = r.int(V);
      const end = (start + 1 + r.int(V - 1)) % V;
      const M = toyModel(ctx, V, n, end);
      const state0: ToyState = Object.freeze({ h: Object.freeze(Array.from({ length: n }, () => r.normal(0, 0.5))) });
      const step = (t: number, s: ToyState) => toyStep(M, t, s);
      let gap = Infinity;
      const expected = beamRef(step, state0, start, end, k, maxLength, { gap: (g) => { gap = Math.min(gap, g); } });
      if (gap < 1e-4) continue;                                               // no near-ties: the answer is unique
      const run = { M, start, k, maxLength, state0, expected };
      best = best ?? run;
      // Useful runs: a hypothesis finished before maxLength, and each simulated mistake gives other sequences.
      const early = expected.some((h) => h.tokens[h.tokens.length - 1] === end && h.tokens.length < maxLength);
      const sims = (['lastOnly', 'dropFinished', 'ignoreEnd', 'kGreedy'] as const).map((o) => beamRef(step, state0, start, end, k, maxLength, { [o]: true }).map((h) => h.tokens));
      const key = (ts: number[][]) => ts.map((t) => t.join(' ')).sort().join('|');   // the set of sequences, in any order
      const differs = sims.every((ts) => key(ts) !== key(expected.map((h) => h.tokens))) && key(sims[1]) !== key(sims[2]);
      if (early && differs) return run;
    }
    if (!best) throw new Error('beamSearch check: no test model without ties was found');
    return best;
  });
}

function checkBeamSearch(fn: StudentFn, ctx: Ctx): string {
  const runs = beamRuns(ctx);
  const tol: Tol = { atol: 1e-6, rtol: 1e-6 };
  runs.forEach((run, j) => {
    const { M, start, k, maxLength, state0, expected } = run;
    const end = M.end;
    ctx.label = `test ${j + 1} of ${runs.length} (V=${M.V}, start ${start}, end ${end}, k=${k}, maxLength ${maxLength})`;
    const issued = new WeakSet<object>([state0]);
    let calls = 0;
    const limit = 3 * k * maxLength + 10;
    const step = (token: unknown, state: unknown) => {
      calls++;
      if (calls > limit) fail(`step was called more than ${limit} times for k = ${k} and maxLength = ${maxLength}: each of at most maxLength steps needs one call per unfinished hypothesis.`);
      if (typeof token !== 'number' || !Number.isInteger(token) || token < 0 || token >= M.V) fail(`step was called with token = ${describe(token)}; feed it a token id, an integer in [0, ${M.V}).`);
      if (state == null || typeof state !== 'object' || !issued.has(state)) fail(`step was called with state = ${describe(state)}; pass state0 first, then the state that step returned for that hypothesis.`);
      const out = toyStep(M, token, state as ToyState);
      issued.add(out.state);
      return { logProbs: out.logProbs.slice(), state: out.state };
    };
    const out = ctx.call(() => fn(step, state0, start, end, k, maxLength));
    if (!Array.isArray(out)) fail(`return an array of hypotheses { tokens, score }, best first; got ${describe(out)}`);
    const got: Hypothesis[] = out.map((h: unknown, i: number) => {
      if (h == null || typeof h !== 'object' || !Array.isArray((h as Hypothesis).tokens)) fail(`result[${i}] must be an object { tokens: number[], score: number }; got ${describe(h)}`);
      const { tokens, score } = h as { tokens: unknown[]; score: unknown };
      if (tokens.some((x) => typeof x !== 'number' || !Number.isInteger(x) || x < 0 || x >= M.V)) fail(`result[${i}].tokens must hold token ids, integers in [0, ${M.V}); got ${describe(tokens)}`);
      const sc = isTensor(score) && score.size === 1 ? score.dataSync()[0] : score;
      if (typeof sc !== 'number') fail(`result[${i}].score must be a number (the summed log-probability); got ${describe(score)}`);
      return { tokens: tokens as number[], score: sc };
    });
    const expTokens = expected.map((h) => h.tokens);
    const texts = (hs: Hypothesis[]) => hs.map((h) => h.tokens.join(' '));
    if (!sameTokens(got, expTokens)) {
      const sim = (o: BeamOptions, kk = k) => beamRef((t: number, s: ToyState) => toyStep(M, t, s), state0, start, end, kk, maxLength, o).map((h) => h.tokens);
      const gotT = got.map((h) => h.tokens);
      const matches = (ts: number[][]) => gotT.length === ts.length && gotT.every((t, i) => t.length === ts[i].length && t.every((x, q) => x === ts[i][q]));
      let hint = '';
      const sortedGot = [...texts(got)].sort().join('|');
      if (got.length === expected.length && sortedGot === [...texts(expected)].sort().join('|')) hint = 'these are the right sequences in another order: return them sorted by score, best (highest) first.';
      else if (matches(sim({ lastOnly: true }))) hint = 'a hypothesis\'s score seems to be only its last token\'s log-probability: the score of a sequence is the SUM of the log-probabilities of all its tokens (log of the product of their probabilities) — add each new log-probability to the parent\'s score.';
      else if (matches(sim({ ignoreEnd: true })) && matches(sim({ dropFinished: true }))) hint = `finished hypotheses are not kept, or hypotheses go on after the end token (${end}): a hypothesis that chose endToken is finished — it stays in the beam with its score, competes at every later step, and is never extended.`;
      else if (matches(sim({ ignoreEnd: true }))) hint = `hypotheses go on after the end token (${end}): a hypothesis that chose endToken is finished — keep it as it is (same score) and do not extend it.`;
      else if (matches(sim({ dropFinished: true }))) hint = 'finished hypotheses are not kept: a hypothesis that ended with endToken stays in the beam (unchanged, with its score) and competes with the extensions of the unfinished ones at every later step.';
      else if (matches(sim({ separate: true }))) hint = 'finished hypotheses seem to leave the beam for a separate list while the beam is refilled with k unfinished ones (a common variant); in this homework they stay in the beam and compete with the extensions of the unfinished ones.';
      else if (matches(sim({}, 1)) || matches(sim({ kGreedy: true })) || (got.length === 1 && k > 1)) hint = 'this looks like greedy decoding (the single best token at each step): keep the k best partial hypotheses at every step, over ALL extensions of all of them, not the best continuation of each.';
      else if (matches(expTokens.map((t) => [start, ...t]))) hint = 'the tokens start with startToken: return only the chosen tokens (startToken is the first input, not an output).';
      else if (matches(expTokens.map((t) => (t[t.length - 1] === end ? t.slice(0, -1) : t)))) hint = 'the end token is missing: a finished hypothesis keeps endToken as its last token.';
      else if (got.length !== expected.length) hint = `return the k = ${k} best hypotheses (you returned ${got.length}).`;
      fail(`expected the hypotheses ${listText(expTokens)} (best first, scores ${fmtList(expected.map((h) => h.score), 4)}), got ${listText(got.map((h) => h.tokens))}.${hint ? ` Hint: ${hint}` : ''}`);
    }
    const m = mismatch(got.map((h) => h.score), expected.map((h) => h.score), tol);
    if (m) {
      const i = m.index;
      const h = expected[i];
      const last = (() => {
        let s = state0, lp = 0;
        let tok = start;
        for (const t of h.tokens) { const r = toyStep(M, tok, s); lp = r.logProbs[t]; s = r.state; tok = t; }
        return lp;
      })();
      const g = got[i].score;
      const near = (x: number) => Math.abs(g - x) <= 1e-6 * (1 + Math.abs(x));
      let hint = '';
      if (near(Math.exp(h.score))) hint = 'this is the probability of the sequence; return its log-probability, the sum of the tokens\' log-probabilities.';
      else if (near(last)) hint = 'this is only the last token\'s log-probability: the score is the SUM of the log-probabilities of all the tokens of the hypothesis.';
      else if (near(h.score / h.tokens.length)) hint = 'this is the mean log-probability per token; return the sum.';
      else if (near(-h.score)) hint = 'the sign is flipped: the score is the summed log-probability (≤ 0), not the negative log-likelihood.';
      fail(`the sequences are right but result[${i}].score should be ${fmt(h.score)} (the sum of the log-probabilities of [${h.tokens.join(' ')}]); got ${fmt(g)} (${tolText(tol)}).${hint ? ` Hint: ${hint}` : ''}`);
    }
  });
  ctx.label = '';
  return `all ${runs.length} tests pass: the k best hypotheses, in order and with their summed log-probabilities, match the check's own beam search in float64 (scores ${tolText(tol)}).`;
}

/** The exercises of homework 5. The library's attention (attend, attentionScores) and beam search are their answers: a student function that calls them scores 0. */
export const HW5_ATTENTION = defineHomework({
  attentionWeights: { homework: 'hw5-attention', fn: 'attentionWeights', maxPoints: 3, title: 'additive attention weights with a mask', visibleSeed: 501, run: checkAttentionWeights, libraryAnswers: ['attend', 'attentionScores'] },
  attentionContext: { homework: 'hw5-attention', fn: 'attentionContext', maxPoints: 2, title: 'the context vector', visibleSeed: 502, run: checkAttentionContext, libraryAnswers: ['attend'] },
  beamSearch: { homework: 'hw5-attention', fn: 'beamSearch', maxPoints: 5, title: 'beam search', visibleSeed: 503, run: checkBeamSearch, libraryAnswers: ['beamSearch'] },
} as const);
