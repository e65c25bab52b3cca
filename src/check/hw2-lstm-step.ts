/**
 * Homework 2 (homework/hw2-lstm-step.ipynb): the LSTM step forward, a gradient check by central
 * differences, and the LSTM parameter count. References: the library's LSTM cell (lstmLayer /
 * LSTM_FAMILY), a plain float64 LSTM for the gradient check (its W_xf gradient by hand, checked against
 * autodiff in tests/unit/check.test.mjs), and lstmLayer.countParams().
 *
 * Lecture: i, f, o = σ(W_x· x_t + W_h· h_{t−1} + b_·), g = tanh(…), c_t = f ⊙ c_{t−1} + i ⊙ g, h_t = o ⊙ tanh(c_t).
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { Rng } from '../random';
import { LSTM_FAMILY } from '../lstm';
import { cellDefaults } from '../family';
import { gruLayer, lstmLayer } from '../layers';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { trustedHelper } from './library-answers';
import { Tol, Variant, TOL_F32, expectShape, fmt, hintFor, isTensor, mismatch, mismatchText, read, tolText } from './compare';
import { T, builtLayer, disposeLayer, rnnCases, withLectureLayer } from './column';

const LSTM_GATES = ['i', 'f', 'o', 'g'] as const;

/** LSTM weights in the lecture's names: Wx· [n, m], Wh· [n, n], b· [n, 1]. */
export type LstmWeights = Record<'Wxi' | 'Wxf' | 'Wxo' | 'Wxg' | 'Whi' | 'Whf' | 'Who' | 'Whg' | 'bi' | 'bf' | 'bo' | 'bg', tf.Tensor2D>;

function randomLstmWeights(rng: Rng, n: number, m: number): LstmWeights {
  const W: Record<string, tf.Tensor2D> = {};
  for (const g of LSTM_GATES) W[`Wx${g}`] = randn(rng, [n, m], 0.6);
  for (const g of LSTM_GATES) W[`Wh${g}`] = randn(rng, [n, n], 0.5);
  for (const g of LSTM_GATES) W[`b${g}`] = randn(rng, [n, 1], 0.4);
  return W as LstmWeights;
}

/** One LSTM step of the library's cell (lstmLayer + setLectureWeights + layer.step), column form. */
export function lstmStepLayer(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const [n, m] = W.Wxi.shape;
  return withLectureLayer(lstmLayer({ units: n, checkInput: false }), m, W, (layer) => {
    const r = layer.step(T(x), { h: T(h), c: T(c) });
    return { h: T(r.h), c: T(r.c!) };
  });
}

/** The library's LSTM cell as a pure function of the weights (differentiable), column form. */
export function lstmStepRef(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const kernel = tf.concat(LSTM_GATES.map((g) => T(W[`Wx${g}`])), 1);            // [m, 4n]
  const rec = tf.concat(LSTM_GATES.map((g) => T(W[`Wh${g}`])), 1) as tf.Tensor2D;  // [n, 4n]
  const bias = tf.concat(LSTM_GATES.map((g) => tf.reshape(W[`b${g}`], [-1])), 0); // [4n]
  const xp = tf.add(tf.matMul(T(x), kernel), bias) as tf.Tensor2D;
  const r = LSTM_FAMILY.step(xp, { h: T(h), c: T(c) }, { recurrentKernel: rec }, cellDefaults());
  return { h: T(r.h), c: T(r.c!) };
}

/** A hand LSTM with switchable mistakes, for hints only (the reference is the library's cell). */
function lstmVariant(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights,
  v: { f?: 'tanh'; i?: 'tanh'; o?: 'tanh'; g?: 'sigmoid'; noTanhC?: boolean; noInput?: boolean; swapIF?: boolean; oldC?: boolean }): { h: tf.Tensor2D; c: tf.Tensor2D } {
  const pre = (g: string) => tf.add(tf.add(tf.matMul(W[`Wx${g}` as keyof LstmWeights], x), tf.matMul(W[`Wh${g}` as keyof LstmWeights], h)), W[`b${g}` as keyof LstmWeights]);
  const act = (a: tf.Tensor, kind: 'sigmoid' | 'tanh') => (kind === 'sigmoid' ? tf.sigmoid(a) : tf.tanh(a));
  let i = act(pre('i'), v.i ?? 'sigmoid');
  let f = act(pre('f'), v.f ?? 'sigmoid');
  const o = act(pre('o'), v.o ?? 'sigmoid');
  const g = act(pre('g'), v.g ?? 'tanh');
  if (v.swapIF) [i, f] = [f, i];
  const cNew = tf.add(tf.mul(f, c), v.noInput ? g : tf.mul(i, g)) as tf.Tensor2D;
  const hNew = tf.mul(o, v.noTanhC ? (v.oldC ? c : cNew) : tf.tanh(v.oldC ? c : cNew)) as tf.Tensor2D;
  return { h: hNew, c: cNew };
}

function checkLstmStepForward(fn: StudentFn, ctx: Ctx): string {
  const cases = rnnCases(ctx, [{ B: 2, m: 3, n: 4 }, { B: 1, m: 2, n: 3 }, { B: 3, m: 5, n: 2 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n})`;
    const x = randn(ctx.rng, [cs.m, cs.B], 1);
    const h = randn(ctx.rng, [cs.n, cs.B], 0.8);
    const c = randn(ctx.rng, [cs.n, cs.B], 1.2);
    const W = randomLstmWeights(ctx.rng, cs.n, cs.m);
    const ref = lstmStepLayer(x, h, c, W);
    const out = ctx.call(() => fn(x, h, c, { ...W }));
    if (out == null || typeof out !== 'object' || isTensor(out)) fail(`return an object { h, c } with the new hidden and cell states; got ${describe(out)}`);
    if (out.h == null || out.c == null) fail(`the result needs both h and c: return { h, c }; got ${describe(out)}`);
    const got = { h: read(out.h, 'h_t'), c: read(out.c, 'c_t') };
    expectShape(got.c, [cs.n, cs.B], 'c_t', 'n × B');
    expectShape(got.h, [cs.n, cs.B], 'h_t', 'n × B');
    const variants: { hint: string; v: Parameters<typeof lstmVariant>[4] }[] = [
      { v: { f: 'tanh' }, hint: 'the forget gate looks like tanh, not σ: the gates i, f and o use the logistic sigmoid σ (values in (0, 1)); only the candidate g uses tanh.' },
      { v: { i: 'tanh' }, hint: 'the input gate looks like tanh, not σ: i, f and o are σ gates; only g uses tanh.' },
      { v: { o: 'tanh' }, hint: 'the output gate looks like tanh, not σ: i, f and o are σ gates; only g uses tanh.' },
      { v: { g: 'sigmoid' }, hint: 'the candidate g looks like σ: g = tanh(W_xg x + W_hg h + b_g) proposes values in (−1, 1).' },
      { v: { swapIF: true }, hint: 'i and f look swapped: c_t = f ⊙ c_{t−1} + i ⊙ g (the forget gate scales the old cell).' },
      { v: { noInput: true }, hint: 'the input gate is missing: c_t = f ⊙ c_{t−1} + i ⊙ g.' },
      { v: { noTanhC: true }, hint: 'h_t = o ⊙ tanh(c_t): the tanh of the cell state is missing.' },
      { v: { oldC: true }, hint: 'h_t must use the new cell state c_t, not c_{t−1}.' },
    ];
    const problems: string[] = [];
    const hints: string[] = [];
    for (const q of ['c', 'h'] as const) {
      const exp = ref[q].dataSync();
      const m = mismatch(got[q].data, exp, TOL_F32);
      if (!m) continue;
      const vs: Variant[] = variants.map((vv) => ({ hint: vv.hint, value: () => lstmVariant(x, h, c, W, vv.v)[q].dataSync() }));
      problems.push(mismatchText(`${q}_t`, got[q], exp, m, TOL_F32) + '.'); hints.push(hintFor(got[q].data, vs, TOL_F32));
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: h_t and c_t match the library's lstmLayer step (${tolText(TOL_F32)}).`;
}

/** Plain float64 LSTM pieces for the gradient-check exercise. */
export interface Lstm64 {
  n: number;
  m: number;
  B: number;
  x: number[][];
  h: number[][];
  c: number[][];
  W: Record<string, number[][]>;
  r: number[][];
}

const sig = (a: number) => 1 / (1 + Math.exp(-a));

export function lstm64Forward(p: Lstm64, Wxf: ArrayLike<number>): { h: number[][]; c: number[][]; f: number[][]; o: number[][] } {
  const { n, m, B } = p;
  const pre = (g: string, j: number, b: number) => {
    let s = p.W[`b${g}`][j][0];
    for (let k = 0; k < m; k++) s += (g === 'f' ? Wxf[j * m + k] : p.W[`Wx${g}`][j][k]) * p.x[k][b];
    for (let k = 0; k < n; k++) s += p.W[`Wh${g}`][j][k] * p.h[k][b];
    return s;
  };
  const h: number[][] = [], c: number[][] = [], f: number[][] = [], o: number[][] = [];
  for (let j = 0; j < n; j++) {
    h.push([]); c.push([]); f.push([]); o.push([]);
    for (let b = 0; b < B; b++) {
      const ig = sig(pre('i', j, b)), fg = sig(pre('f', j, b)), og = sig(pre('o', j, b)), gg = Math.tanh(pre('g', j, b));
      const cc = fg * p.c[j][b] + ig * gg;
      c[j].push(cc); f[j].push(fg); o[j].push(og);
      h[j].push(og * Math.tanh(cc));
    }
  }
  return { h, c, f, o };
}

/** L(W_xf) = Σ r ⊙ h_t for the float64 LSTM; its gradient by hand (or with the tanh' slip, for the wrong case). */
export function lstm64Loss(p: Lstm64) {
  return (theta: number[]): number => {
    const { h } = lstm64Forward(p, theta);
    let s = 0;
    for (let j = 0; j < p.n; j++) for (let b = 0; b < p.B; b++) s += p.r[j][b] * h[j][b];
    return s;
  };
}

export function lstm64GradWxf(p: Lstm64, theta: number[], slip = false): number[] {
  const { c, f, o } = lstm64Forward(p, theta);
  const g = new Array(p.n * p.m).fill(0);
  for (let j = 0; j < p.n; j++) {
    for (let b = 0; b < p.B; b++) {
      const dc = p.r[j][b] * o[j][b] * (1 - Math.tanh(c[j][b]) ** 2);
      const fd = slip ? 1 - f[j][b] ** 2 : f[j][b] * (1 - f[j][b]);   // σ' = σ(1 − σ); the slip uses tanh'
      const daf = dc * p.c[j][b] * fd;
      for (let k = 0; k < p.m; k++) g[j * p.m + k] += daf * p.x[k][b];
    }
  }
  return g;
}

function randMat(rng: Rng, r: number, c: number, std: number): number[][] {
  return Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal(0, std)));
}

export function randomLstm64(rng: Rng, n: number, m: number, B: number): Lstm64 {
  const W: Record<string, number[][]> = {};
  for (const g of LSTM_GATES) {
    W[`Wx${g}`] = randMat(rng, n, m, 0.6);
    W[`Wh${g}`] = randMat(rng, n, n, 0.5);
    W[`b${g}`] = randMat(rng, n, 1, 0.4);
  }
  return { n, m, B, x: randMat(rng, m, B, 1), h: randMat(rng, n, B, 0.8), c: randMat(rng, n, B, 1.2), W, r: randMat(rng, n, B, 1) };
}

function centralDiff(f: (x: number[]) => number, x: number[], eps: number, kind: 'central' | 'forward' | 'backward' = 'central', div = 2): number[] {
  const out: number[] = [];
  for (let k = 0; k < x.length; k++) {
    const xp = x.slice(); xp[k] += eps;
    const xm = x.slice(); xm[k] -= eps;
    if (kind === 'central') out.push((f(xp) - f(xm)) / (div * eps));
    else if (kind === 'forward') out.push((f(xp) - f(x)) / eps);
    else out.push((f(x) - f(xm)) / eps);
  }
  return out;
}

function maxRelError(a: ArrayLike<number>, n: ArrayLike<number>): number {
  let worst = 0;
  for (let k = 0; k < a.length; k++) worst = Math.max(worst, Math.abs(a[k] - n[k]) / Math.max(Math.abs(a[k]) + Math.abs(n[k]), 1e-12));
  return worst;
}

function checkGradCheck(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  type Case = { name: string; f: (x: number[]) => number; x: number[]; analytic: number[]; eps: number; wrong: boolean };
  const smooth = (len: number, eps: number): Case => {
    const x = Array.from({ length: len }, () => rng.normal(0, 1));
    const f = (v: number[]) => { let s = 0.5 * v[0] ** 3; for (let k = 0; k + 1 < v.length; k++) s += Math.sin(v[k]) * v[k + 1]; return s; };
    const g = x.map((_, k) => (k === 0 ? 1.5 * x[0] ** 2 : 0) + (k + 1 < len ? Math.cos(x[k]) * x[k + 1] : 0) + (k > 0 ? Math.sin(x[k - 1]) : 0));
    return { name: `f(x) = ½x₀³ + Σ sin(x_k)·x_{k+1}, ${len} inputs`, f, x, analytic: g, eps, wrong: false };
  };
  const lstm = (n: number, m: number, B: number, eps: number, wrong: boolean): Case => {
    const p = randomLstm64(rng, n, m, B);
    const theta = p.W.Wxf.flat();
    return {
      name: `LSTM loss Σ r⊙h_t as a function of W_xf (n=${n}, m=${m}, B=${B})${wrong ? ', with a deliberately WRONG analytic gradient' : ''}`,
      f: lstm64Loss(p), x: theta, analytic: lstm64GradWxf(p, theta, wrong), eps, wrong,
    };
  };
  const cases: Case[] = ctx.hidden
    ? [smooth(randint(rng, 3, 7), 1e-4), lstm(randint(rng, 2, 4), randint(rng, 1, 3), randint(rng, 1, 3), 1e-5, false), lstm(randint(rng, 2, 4), randint(rng, 2, 3), 2, 1e-5, true), smooth(4, 1e-5)]
    : [smooth(5, 1e-5), lstm(3, 2, 2, 1e-5, false), lstm(2, 3, 2, 1e-5, true)];
  const numTol: Tol = { atol: 1e-7, rtol: 1e-6 };
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (${cs.name}, eps=${cs.eps})`;
    const x = cs.x.slice();
    let calls = 0;
    const f = (v: number[]) => { calls++; return cs.f(Array.from(v)); };
    const out = ctx.call(() => fn(f, x, cs.analytic.slice(), cs.eps));
    if (out == null || typeof out !== 'object' || !('numeric' in out) || !('maxRelError' in out)) {
      fail(`return an object { numeric, maxRelError }; got ${describe(out)}`);
    }
    if (x.some((v, i) => v !== cs.x[i])) fail('x was changed by your function: after nudging x[k] by ±eps, put it back (or work on a copy).');
    const got = read(out.numeric, 'numeric');
    const ref = centralDiff(cs.f, cs.x, cs.eps);
    if (got.data.length !== ref.length) fail(`numeric has ${got.data.length} entries; it needs one per entry of x (${ref.length})`);
    const m = mismatch(got.data, ref, numTol);
    if (m) {
      const variants: Variant[] = [
        { hint: 'this is a one-sided difference (f(x + ε) − f(x)) / ε; the central difference (f(x + ε) − f(x − ε)) / 2ε is far more accurate (error O(ε²), not O(ε)).', value: () => centralDiff(cs.f, cs.x, cs.eps, 'forward') },
        { hint: 'this is a one-sided difference (f(x) − f(x − ε)) / ε; use the central one, (f(x + ε) − f(x − ε)) / 2ε.', value: () => centralDiff(cs.f, cs.x, cs.eps, 'backward') },
        { hint: 'numeric is twice too large: divide by 2ε — the two points x ± ε are 2ε apart.', value: () => centralDiff(cs.f, cs.x, cs.eps, 'central', 1) },
      ];
      failWith([mismatchText('numeric', got, ref, m, numTol) + '.'], [hintFor(got.data, variants, { atol: 1e-9, rtol: 1e-5 })]);
    }
    if (calls < 2 * ref.length) fail(`f was called only ${calls} times; a central difference needs two evaluations per entry of x (${2 * ref.length})`);
    const err = out.maxRelError;
    if (typeof err !== 'number' || Number.isNaN(err)) fail(`maxRelError must be a number; got ${describe(err)}`);
    const refErr = maxRelError(cs.analytic, ref);
    const formula = 'maxRelError = max over k of |a_k − n_k| / max(|a_k| + |n_k|, 1e-12)';
    if (refErr < 1e-6) {
      if (!(err < 1e-5)) fail(`the analytic gradient here is right (the true max relative error is ${fmt(refErr)}), but your maxRelError is ${fmt(err)}: ${formula}.`);
    } else if (!(err >= refErr / 2.5 && err <= refErr * 2.5)) {
      fail(`${cs.wrong ? 'the analytic gradient in this test is deliberately wrong' : 'the gradients differ'}: the max relative error is ${fmt(refErr)}, but your maxRelError is ${fmt(err)}: ${formula}.`);
    }
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: the central differences match to 1e-6 and maxRelError separates right from wrong gradients.`;
}

function checkLstmParamCount(fn: StudentFn, ctx: Ctx): string {
  const cases: [number, number][] = ctx.hidden
    ? [[1, 1], ...Array.from({ length: 4 }, () => [randint(ctx.rng, 1, 100), randint(ctx.rng, 1, 128)] as [number, number])]
    : [[3, 4], [10, 32], [1, 1], [100, 50]];
  cases.forEach(([m, n], k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (m=${m}, n=${n})`;
    const layer = builtLayer(lstmLayer({ units: n }), m);
    const expected = layer.countParams();
    disposeLayer(layer);
    const got = ctx.call(() => fn(m, n));
    const value = isTensor(got) ? read(got, 'the count').data[0] : got;
    if (typeof value !== 'number') fail(`return a number; got ${describe(got)}`);
    if (value === expected) return;
    const variants: [number, string][] = [
      [4 * (n * m + n * n), 'each of the four gates also has a bias vector b of n entries.'],
      [n * m + n * n + n, 'that is one block (a vanilla RNN); the LSTM has four: i, f, o and g.'],
      [4 * (n * m + n * n + 2 * n), 'two bias vectors per gate is PyTorch\'s convention (b_ih and b_hh); the lecture\'s LSTM has one.'],
      [4 * (n * m + n * n) + n, 'each of the four gates has its own bias vector.'],
      [3 * (n * m + n * n + n), 'three blocks is the GRU; the LSTM has four gates (i, f, o, g).'],
      [4 * (n * m + m * m + n), 'W_h· acts on h_{t−1}, which has n entries: it is n × n.'],
      [4 * (n * m + n * n + m), 'the biases have one entry per hidden unit: n, not m.'],
    ];
    const v = variants.find(([val]) => val === value);
    fail(`expected ${expected} parameters, got ${value}.${v ? ` Hint: ${v[1]}` : ''}`);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: the count equals the library's lstmLayer.countParams().`;
}

// ---------------------------------------------------------------------------------------------
// The LSTM step backward
// ---------------------------------------------------------------------------------------------

const LSTM_WEIGHT_NAMES = ['Wxi', 'Wxf', 'Wxo', 'Wxg', 'Whi', 'Whf', 'Who', 'Whg', 'bi', 'bf', 'bo', 'bg'] as const;
type LstmWeightName = (typeof LSTM_WEIGHT_NAMES)[number];

/** What lstmStepBackward returns: the gradients of the loss w.r.t. the step's inputs and weights. */
export interface LstmStepGrads {
  dx: tf.Tensor2D;
  dhPrev: tf.Tensor2D;
  dcPrev: tf.Tensor2D;
  /** One gradient per weight, named and shaped like the weight. */
  dW: LstmWeights;
}

/** The reference gradients of L = Σ dh ⊙ h_t + Σ dc ⊙ c_t, by automatic differentiation of the library's cell. */
export function lstmStepGradsRef(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights, dh: tf.Tensor2D, dc: tf.Tensor2D): LstmStepGrads {
  const g = tf.grads((...a: tf.Tensor[]) => {
    const w = Object.fromEntries(LSTM_WEIGHT_NAMES.map((k, j) => [k, a[3 + j]])) as LstmWeights;
    const r = lstmStepRef(a[0] as tf.Tensor2D, a[1] as tf.Tensor2D, a[2] as tf.Tensor2D, w);
    return tf.add(tf.sum(tf.mul(dh, r.h)), tf.sum(tf.mul(dc, r.c))) as tf.Scalar;
  })([x, h, c, ...LSTM_WEIGHT_NAMES.map((k) => W[k])]) as tf.Tensor2D[];
  return { dx: g[0], dhPrev: g[1], dcPrev: g[2], dW: Object.fromEntries(LSTM_WEIGHT_NAMES.map((k, j) => [k, g[3 + j]])) as LstmWeights };
}

/** Mistakes a hand-written LSTM step backward makes (each switch one mistake). */
interface LstmBackSlip {
  /** dc_t without the path through h_t = o ⊙ tanh(c_t): only the upstream dc. */
  dcOnly?: boolean;
  /** σ' taken as 1 − σ² (tanh's derivative) for the σ gates. */
  sigmaAsTanh?: boolean;
  /** tanh'(c_t) taken as 1 − c_t² (as if c_t were a tanh output). */
  dtanhOfC?: boolean;
  /** dW_h· = δ h_tᵀ instead of δ h_{t−1}ᵀ. */
  dWhWithHt?: boolean;
  /** dhPrev = Σ W_h· δ (transpose missing). */
  whNoT?: boolean;
  /** dx = Σ W_x· δ (transpose missing; only defined when m = n). */
  wxNoT?: boolean;
  /** dW transposed: x δᵀ and h δᵀ. */
  dWT?: boolean;
  /** db the mean over the batch. */
  meanB?: boolean;
}

/** A hand-written LSTM step backward (column form) with switchable mistakes; with no switch it is exact. */
export function lstmStepBackwardByHand(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights, dh: tf.Tensor2D, dc: tf.Tensor2D, s: LstmBackSlip = {}): LstmStepGrads {
  const pre = (g: string) => tf.add(tf.add(tf.matMul(W[`Wx${g}` as LstmWeightName], x), tf.matMul(W[`Wh${g}` as LstmWeightName], h)), W[`b${g}` as LstmWeightName]);
  const i = tf.sigmoid(pre('i')), f = tf.sigmoid(pre('f')), o = tf.sigmoid(pre('o')), g = tf.tanh(pre('g'));
  const cNew = tf.add(tf.mul(f, c), tf.mul(i, g));
  const tc = tf.tanh(cNew);
  const hNew = tf.mul(o, tc);
  const dTanhC = s.dtanhOfC ? tf.sub(1, tf.square(cNew)) : tf.sub(1, tf.square(tc));
  const dcT = s.dcOnly ? dc : tf.add(dc, tf.mul(tf.mul(dh, o), dTanhC));             // ∂L/∂c_t, both paths
  const sd = (q: tf.Tensor) => (s.sigmaAsTanh ? tf.sub(1, tf.square(q)) : tf.mul(q, tf.sub(1, q)));
  const da: Record<string, tf.Tensor2D> = {
    i: tf.mul(tf.mul(dcT, g), sd(i)) as tf.Tensor2D,
    f: tf.mul(tf.mul(dcT, c), sd(f)) as tf.Tensor2D,
    o: tf.mul(tf.mul(dh, tc), sd(o)) as tf.Tensor2D,
    g: tf.mul(tf.mul(dcT, i), tf.sub(1, tf.square(g))) as tf.Tensor2D,
  };
  const B = x.shape[1];
  const dW: Record<string, tf.Tensor2D> = {};
  let dx: tf.Tensor = tf.zerosLike(x), dhPrev: tf.Tensor = tf.zerosLike(h);
  for (const k of LSTM_GATES) {
    const Wx = W[`Wx${k}` as LstmWeightName], Wh = W[`Wh${k}` as LstmWeightName];
    const hUsed = s.dWhWithHt ? hNew : h;
    dW[`Wx${k}`] = (s.dWT ? tf.matMul(x, da[k], false, true) : tf.matMul(da[k], x, false, true)) as tf.Tensor2D;
    dW[`Wh${k}`] = (s.dWT ? tf.matMul(hUsed, da[k], false, true) : tf.matMul(da[k], hUsed, false, true)) as tf.Tensor2D;
    dW[`b${k}`] = tf.div(tf.sum(da[k], 1, true), s.meanB ? B : 1) as tf.Tensor2D;
    dx = tf.add(dx, s.wxNoT ? tf.matMul(Wx, da[k]) : tf.matMul(Wx, da[k], true));
    dhPrev = tf.add(dhPrev, s.whNoT ? tf.matMul(Wh, da[k]) : tf.matMul(Wh, da[k], true));
  }
  return { dx: dx as tf.Tensor2D, dhPrev: dhPrev as tf.Tensor2D, dcPrev: tf.mul(dcT, f) as tf.Tensor2D, dW: dW as LstmWeights };
}

const STEP_BACK_HINTS: { s: LstmBackSlip; hint: string; only?: (q: string) => boolean }[] = [
  { s: { dcOnly: true }, hint: 'c_t reaches the loss twice: directly (dc) and through h_t = o ⊙ tanh(c_t). Before anything else, add both: dc_t = dc + dh ⊙ o ⊙ (1 − tanh²(c_t)); dcPrev, and every gate that writes into c_t, use that total.' },
  { s: { sigmaAsTanh: true }, hint: "σ'(a) = σ(a)(1 − σ(a)) = i ⊙ (1 − i) for a σ gate; 1 − σ² is tanh's derivative (only the candidate g uses tanh)." },
  { s: { dtanhOfC: true }, hint: "tanh'(c_t) = 1 − tanh²(c_t): c_t itself is not a tanh output, so 1 − c_t² is wrong (unlike g, whose derivative is 1 − g²)." },
  { s: { dWhWithHt: true }, only: (q) => q.startsWith('dW.Wh'), hint: 'the recurrent weights multiply h_{t−1}, the state the step received: dW_h· = δ h_{t−1}ᵀ, not δ h_tᵀ.' },
  { s: { whNoT: true }, only: (q) => q === 'dhPrev', hint: 'a transpose is missing: dhPrev = Σ over the gates of W_h·ᵀ δ_·, not W_h· δ_·.' },
  { s: { wxNoT: true }, only: (q) => q === 'dx', hint: 'a transpose is missing: dx = Σ over the gates of W_x·ᵀ δ_·, not W_x· δ_·.' },
  { s: { dWT: true }, only: (q) => q.startsWith('dW.W'), hint: 'the weight gradient is transposed: dW_x· = δ x_tᵀ and dW_h· = δ h_{t−1}ᵀ (row j belongs to unit j).' },
  { s: { meanB: true }, only: (q) => q.startsWith('dW.b'), hint: 'db is the mean over the batch; the loss is a sum over the examples, so sum δ over the columns.' },
];

function lstmInputs(rng: Rng, n: number, m: number, B: number) {
  return { x: randn(rng, [m, B], 1), h: randn(rng, [n, B], 0.8), c: randn(rng, [n, B], 1.2), W: randomLstmWeights(rng, n, m) };
}

type GradShapes = Record<string, [number[], string]>;

/** The named gradients of a student's result (dW's entries as dW.Wxi …), in the order given. */
function gradEntries(out: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const dW = out.dW as Record<string, unknown>;
  return Object.fromEntries(names.map((q) => [q, q.startsWith('dW.') ? dW[q.slice(3)] : out[q]]));
}

/**
 * Compare gradients with the reference; fail with the wrong ones (at most three named in full) and the
 * hints of the variants that match. `variant(q)` lists a mistake's value for gradient q.
 */
function compareGrads(got: Record<string, unknown>, names: readonly string[], shapes: GradShapes, ref: Record<string, tf.Tensor>,
  variants: (q: string) => Variant[], batch: number, problems: string[] = [], hints: string[] = []): void {
  const extra: string[] = [];
  for (const q of names) {
    const a = read(got[q], q);
    const [shape, dims] = shapes[q];
    if (q.startsWith('dW.b') && batch > 1 && a.shape.length === 2 && a.shape[0] === shape[0] && a.shape[1] === batch) {
      fail(`${q} has shape [${a.shape.join(', ')}] but should have shape [${shape.join(', ')}] (${dims}). Hint: the bias is shared by the B examples (columns), so its gradient is the sum of their contributions: sum over the columns (axis 1, keepDims).`);
    }
    expectShape(a, shape, q, dims);
    const exp = ref[q].dataSync();
    const m = mismatch(a.data, exp, TOL_F32);
    if (!m) continue;
    if (problems.length < 3) problems.push(mismatchText(q, a, exp, m, TOL_F32) + '.');
    else extra.push(q);
    hints.push(hintFor(a.data, variants(q), TOL_F32));
  }
  if (extra.length) problems.push(`(also wrong: ${extra.join(', ')})`);
  if (problems.length) failWith(problems, hints);
}

/** Memoise a mistake simulator's result per variant (each computes every gradient at once). */
function memo<K, V>(f: (k: K) => V): (k: K) => V {
  const seen = new Map<K, V>();
  return (k) => {
    if (!seen.has(k)) seen.set(k, f(k));
    return seen.get(k)!;
  };
}

const STEP_GRAD_NAMES = ['dx', 'dhPrev', 'dcPrev', ...LSTM_WEIGHT_NAMES.map((k) => `dW.${k}`)] as const;

function weightShapes(n: number, m: number): GradShapes {
  const s: GradShapes = {};
  for (const g of LSTM_GATES) {
    s[`dW.Wx${g}`] = [[n, m], `n × m, like W_x${g}`];
    s[`dW.Wh${g}`] = [[n, n], `n × n, like W_h${g}`];
    s[`dW.b${g}`] = [[n, 1], `n × 1, like b_${g}`];
  }
  return s;
}

function flatGrads(g: { dW: LstmWeights } & Record<string, unknown>): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  for (const [k, v] of Object.entries(g)) if (k !== 'dW') out[k] = v as tf.Tensor;
  for (const k of LSTM_WEIGHT_NAMES) out[`dW.${k}`] = g.dW[k];
  return out;
}

/** Fail unless `out` is an object with the named entries and a dW object with every weight's gradient. */
function expectGradObject(out: unknown, top: readonly string[], shape: string): asserts out is Record<string, unknown> {
  if (out == null || typeof out !== 'object' || isTensor(out) || Array.isArray(out)) fail(`return an object ${shape}; got ${describe(out)}`);
  const o = out as Record<string, unknown>;
  const missing = top.filter((q) => o[q] == null);
  if (missing.length) fail(`the result has no ${missing.join(', ')}: return ${shape}`);
  if (typeof o.dW !== 'object' || isTensor(o.dW)) fail(`dW must be an object with one gradient per weight, { Wxi, …, bg }; got ${describe(o.dW)}`);
  const dW = o.dW as Record<string, unknown>;
  const none = LSTM_WEIGHT_NAMES.filter((k) => dW[k] == null);
  if (none.length) fail(`dW has no ${none.join(', ')}: it needs one gradient per weight, named like the weights (Wxi … Whg, bi … bg)`);
}

function checkLstmStepBackward(fn: StudentFn, ctx: Ctx): string {
  const cases = rnnCases(ctx, [{ B: 2, m: 3, n: 4 }, { B: 3, m: 4, n: 4 }, { B: 1, m: 2, n: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n})`;
    const { x, h, c, W } = lstmInputs(ctx.rng, cs.n, cs.m, cs.B);
    const dh = randn(ctx.rng, [cs.n, cs.B], 1);
    const dc = randn(ctx.rng, [cs.n, cs.B], 1);
    const ref = flatGrads(lstmStepGradsRef(x, h, c, W, dh, dc) as unknown as LstmStepGrads & Record<string, unknown>);
    const out = ctx.call(() => fn(x, h, c, { ...W }, dh, dc));
    const shape = '{ dx, dhPrev, dcPrev, dW: { Wxi, …, bg } }';
    expectGradObject(out, ['dx', 'dhPrev', 'dcPrev', 'dW'], shape);
    const shapes: GradShapes = {
      dx: [[cs.m, cs.B], 'm × B, like x_t'], dhPrev: [[cs.n, cs.B], 'n × B, like h_{t−1}'], dcPrev: [[cs.n, cs.B], 'n × B, like c_{t−1}'],
      ...weightShapes(cs.n, cs.m),
    };
    const slipped = memo((s: LstmBackSlip) => flatGrads(lstmStepBackwardByHand(x, h, c, W, dh, dc, s) as unknown as LstmStepGrads & Record<string, unknown>));
    compareGrads(gradEntries(out, STEP_GRAD_NAMES), STEP_GRAD_NAMES, shapes, ref, (q) => STEP_BACK_HINTS.filter((v) => !v.only || v.only(q)).map((v) => ({
      hint: v.hint, value: () => slipped(v.s)[q].dataSync(),
    })), cs.B);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: dx, dhPrev, dcPrev and the 12 weight gradients match automatic differentiation of the library's LSTM cell (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// The LSTM over a sequence, forward and backward
// ---------------------------------------------------------------------------------------------

/** What lstmForward keeps for lstmBackward: the inputs and every state it computed. */
export interface LstmCache {
  xs: tf.Tensor2D[];
  h0: tf.Tensor2D;
  c0: tf.Tensor2D;
  W: LstmWeights;
  /** h_1 … h_T */
  hs: tf.Tensor2D[];
  /** c_1 … c_T */
  cs: tf.Tensor2D[];
}

/** The step functions handed to a student's lstmForward and lstmBackward, so these are graded on their own. */
export const REFERENCE_LSTM_CELL = trustedHelper({
  forward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D, W: LstmWeights) => lstmStepRef(x, hPrev, cPrev, W),
  backward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, cPrev: tf.Tensor2D, W: LstmWeights, dh: tf.Tensor2D, dc: tf.Tensor2D) => lstmStepBackwardByHand(x, hPrev, cPrev, W, dh, dc),
});

/** h_1 … h_T and c_1 … c_T of the library's LSTM layer run over the whole sequence from (h0, c0). */
function lstmLayerSequence(xs: tf.Tensor2D[], h0: tf.Tensor2D, c0: tf.Tensor2D, W: LstmWeights): { hs: tf.Tensor2D[]; cs: tf.Tensor2D[] } {
  const [n, m] = W.Wxi.shape;
  return withLectureLayer(lstmLayer({ units: n, returnSequences: true, checkInput: false }), m, W, (layer) => {
    const x = tf.stack(xs.map((t) => T(t)), 1);                      // [B, T, m]
    const d = layer.forwardSequence(x, { initialState: [T(h0), T(c0)] }).directions[0];
    return { hs: d.h.map((t) => T(t)), cs: d.c!.map((t) => T(t)) };
  });
}

interface SeqCase { B: number; m: number; n: number; T: number }

function seqCases(ctx: Ctx, visible: SeqCase[]): SeqCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return [{ B: 1, m: 1, n: 2, T: 2 }, ...Array.from({ length: 3 }, () => ({ B: randint(r, 1, 4), m: randint(r, 1, 5), n: randint(r, 2, 5), T: randint(r, 3, 6) }))];
}

function seqInputs(rng: Rng, cs: SeqCase) {
  const W = randomLstmWeights(rng, cs.n, cs.m);
  const xs = Array.from({ length: cs.T }, () => randn(rng, [cs.m, cs.B], 1));
  return { W, xs, h0: randn(rng, [cs.n, cs.B], 0.8), c0: randn(rng, [cs.n, cs.B], 1.0) };
}

/** The sequence forward by hand with switchable mistakes (hints only). */
function lstmForwardVariant(xs: tf.Tensor2D[], h0: tf.Tensor2D, c0: tf.Tensor2D, W: LstmWeights, v: { noCarryC?: boolean; noCarryH?: boolean; zeroC?: boolean }) {
  const hs: tf.Tensor2D[] = [], cs: tf.Tensor2D[] = [];
  let h = h0, c = v.zeroC ? tf.zerosLike(c0) as tf.Tensor2D : c0;
  for (const x of xs) {
    const r = lstmStepRef(x, h, c, W);
    hs.push(r.h); cs.push(r.c);
    if (!v.noCarryH) h = r.h;
    if (!v.noCarryC) c = r.c;
  }
  return { hs, cs };
}

/** Read a list of T tensors [rows, B] as one array (T stacked), failing with what is wrong. */
function readSeq(value: unknown, what: string, Tn: number, shape: number[], dims: string, extra = ''): { data: Float64Array; shape: number[] } {
  if (!Array.isArray(value)) fail(`${what} must be an array of ${Tn} tensors (one per time step)${extra}; got ${describe(value)}`);
  if (value.length !== Tn) fail(`${what} has ${value.length} entries, but the sequence has T = ${Tn} steps${extra}`);
  const parts = value.map((v, t) => {
    const a = read(v, `${what}[${t}]`);
    expectShape(a, shape, `${what}[${t}]`, dims);
    return a.data;
  });
  const data = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) { data.set(p, o); o += p.length; }
  return { data, shape: [Tn, ...shape] };
}

const flatSeq = (ts: tf.Tensor[]) => tf.concat(ts.map((t) => tf.reshape(t, [-1])), 0).dataSync();

function checkLstmForward(fn: StudentFn, ctx: Ctx): string {
  const cases = seqCases(ctx, [{ B: 2, m: 3, n: 4, T: 4 }, { B: 1, m: 2, n: 3, T: 6 }, { B: 3, m: 4, n: 2, T: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n}, T=${cs.T})`;
    const { W, xs, h0, c0 } = seqInputs(ctx.rng, cs);
    const ref = lstmLayerSequence(xs, h0, c0, W);
    const out = ctx.call(() => fn(xs.slice(), h0, c0, { ...W }, REFERENCE_LSTM_CELL));
    const shape = '{ hs, cache } with hs = [h_1, …, h_T] and cache = { xs, h0, c0, W, hs, cs }';
    if (out == null || typeof out !== 'object' || isTensor(out) || Array.isArray(out)) fail(`return an object ${shape}; got ${describe(out)}`);
    const hsNote = Array.isArray(out.hs) && out.hs.length === cs.T + 1 ? ' (it looks like h_0 is included: hs holds the T new states h_1 … h_T)' : '';
    const hs = readSeq(out.hs, 'hs', cs.T, [cs.n, cs.B], 'n × B', hsNote);
    const cache = out.cache;
    if (cache == null || typeof cache !== 'object') fail(`the result needs a cache for lstmBackward: { xs, h0, c0, W, hs, cs }; got ${describe(cache)}`);
    const missing = ['xs', 'h0', 'c0', 'W', 'hs', 'cs'].filter((q) => cache[q] == null);
    if (missing.length) fail(`the cache has no ${missing.join(', ')}: it must be { xs, h0, c0, W, hs, cs } (lstmBackward reads it)`);
    if (!Array.isArray(cache.xs) || cache.xs.length !== cs.T) fail(`cache.xs must be the T = ${cs.T} inputs; got ${describe(cache.xs)}`);
    const cNote = Array.isArray(cache.cs) && cache.cs.length === cs.T + 1 ? ' (it looks like c_0 is included: cs holds c_1 … c_T)' : '';
    const csGot = readSeq(cache.cs, 'cache.cs', cs.T, [cs.n, cs.B], 'n × B', cNote);
    const hsCache = readSeq(cache.hs, 'cache.hs', cs.T, [cs.n, cs.B], 'n × B');
    for (const [what, a] of [['cache.h0', cache.h0], ['cache.c0', cache.c0]] as const) {
      const r = read(a, what);
      const exp = (what === 'cache.h0' ? h0 : c0).dataSync();
      if (mismatch(r.data, exp, { atol: 0, rtol: 0 })) fail(`${what} must be the initial state the function was given`);
    }
    const variants = (q: 'hs' | 'cs'): Variant[] => [
      { hint: 'the cell state is not carried: every step must start from the c_t of the step before (c_0 only at the first step).', value: () => flatSeq(lstmForwardVariant(xs, h0, c0, W, { noCarryC: true })[q]) },
      { hint: 'the hidden state is not carried: every step must start from the h_t of the step before (h_0 only at the first step).', value: () => flatSeq(lstmForwardVariant(xs, h0, c0, W, { noCarryH: true })[q]) },
      { hint: 'the first step must start from the given c0, not from zeros.', value: () => flatSeq(lstmForwardVariant(xs, h0, c0, W, { zeroC: true })[q]) },
    ];
    const problems: string[] = [];
    const hints: string[] = [];
    for (const [q, got, exp] of [['hs', hs, flatSeq(ref.hs)], ['cache.cs', csGot, flatSeq(ref.cs)], ['cache.hs', hsCache, flatSeq(ref.hs)]] as const) {
      const m = mismatch(got.data, exp, TOL_F32);
      if (!m) continue;
      problems.push(mismatchText(q, got, exp, m, TOL_F32) + ` (the index is [t − 1, row, column]).`);
      hints.push(hintFor(got.data, variants(q === 'cache.cs' ? 'cs' : 'hs'), TOL_F32));
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: h_1 … h_T and c_1 … c_T match the library's lstmLayer run over the sequence (${tolText(TOL_F32)}).`;
}

/** The sequence backward by hand with switchable mistakes (hints only). */
function lstmBackwardVariant(cache: LstmCache, dhs: tf.Tensor2D[], v: { noCarryH?: boolean; noCarryC?: boolean; overwrite?: boolean; lastOnly?: boolean }) {
  const { xs, h0, c0, W, hs, cs } = cache;
  const Tn = xs.length;
  let dW: Record<string, tf.Tensor> = Object.fromEntries(LSTM_WEIGHT_NAMES.map((k) => [k, tf.zerosLike(W[k])]));
  let dhNext: tf.Tensor2D = tf.zerosLike(h0);
  let dcNext: tf.Tensor2D = tf.zerosLike(c0);
  const dxs: tf.Tensor2D[] = new Array(Tn);
  for (let t = Tn - 1; t >= 0; t--) {
    const direct = v.lastOnly && t !== Tn - 1 ? tf.zerosLike(dhs[t]) : dhs[t];
    const dh = (v.noCarryH ? direct : tf.add(direct, dhNext)) as tf.Tensor2D;
    const dc = v.noCarryC ? tf.zerosLike(c0) as tf.Tensor2D : dcNext;
    const g = lstmStepBackwardByHand(xs[t], t ? hs[t - 1] : h0, t ? cs[t - 1] : c0, W, dh, dc);
    dW = v.overwrite ? { ...g.dW } : Object.fromEntries(LSTM_WEIGHT_NAMES.map((k) => [k, tf.add(dW[k], g.dW[k])]));
    dxs[t] = g.dx;
    dhNext = g.dhPrev;
    dcNext = g.dcPrev;
  }
  const out: Record<string, tf.Tensor> = { dxs: tf.stack(dxs), dh0: dhNext, dc0: dcNext };
  for (const k of LSTM_WEIGHT_NAMES) out[`dW.${k}`] = dW[k];
  return out;
}

const SEQ_GRAD_NAMES = ['dh0', 'dc0', ...LSTM_WEIGHT_NAMES.map((k) => `dW.${k}`)] as const;

function checkLstmBackward(fn: StudentFn, ctx: Ctx): string {
  const cases = seqCases(ctx, [{ B: 2, m: 3, n: 4, T: 4 }, { B: 1, m: 2, n: 3, T: 5 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n}, T=${cs.T})`;
    const { W, xs, h0, c0 } = seqInputs(ctx.rng, cs);
    const dhs = Array.from({ length: cs.T }, () => randn(ctx.rng, [cs.n, cs.B], 1));
    const fw = lstmForwardVariant(xs, h0, c0, W, {});
    const cache: LstmCache = { xs, h0, c0, W, hs: fw.hs, cs: fw.cs };
    // Reference: autodiff of L = Σ_t ⟨dhs[t], h_t⟩ through the library's cell, unrolled.
    const Tn = cs.T;
    const g = tf.grads((...a: tf.Tensor[]) => {
      const w = Object.fromEntries(LSTM_WEIGHT_NAMES.map((q, j) => [q, a[Tn + 2 + j]])) as LstmWeights;
      let h = a[Tn] as tf.Tensor2D, c = a[Tn + 1] as tf.Tensor2D;
      let L: tf.Tensor = tf.scalar(0);
      for (let t = 0; t < Tn; t++) {
        const r = lstmStepRef(a[t] as tf.Tensor2D, h, c, w);
        h = r.h; c = r.c;
        L = tf.add(L, tf.sum(tf.mul(dhs[t], h)));
      }
      return L as tf.Scalar;
    })([...xs, h0, c0, ...LSTM_WEIGHT_NAMES.map((q) => W[q])]);
    const ref: Record<string, tf.Tensor> = { dh0: g[Tn], dc0: g[Tn + 1] };
    LSTM_WEIGHT_NAMES.forEach((q, j) => { ref[`dW.${q}`] = g[Tn + 2 + j]; });
    const refDxs = tf.stack(g.slice(0, Tn));
    const out = ctx.call(() => fn(dhs.slice(), { ...cache, xs: xs.slice(), hs: fw.hs.slice(), cs: fw.cs.slice(), W: { ...W } }, REFERENCE_LSTM_CELL));
    const shape = '{ dxs, dh0, dc0, dW: { Wxi, …, bg } } with dxs = [dx_1, …, dx_T]';
    expectGradObject(out, ['dxs', 'dh0', 'dc0', 'dW'], shape);
    const mistakes: [Parameters<typeof lstmBackwardVariant>[2], string][] = [
      [{ noCarryH: true }, 'the gradient is not carried back in time through h: at step t the step backward gets dh = dhs[t] + (dhPrev of step t+1).'],
      [{ noCarryC: true }, 'the gradient is not carried back through the cell: at step t the step backward gets dc = dcPrev of step t+1 (0 at the last step).'],
      [{ overwrite: true }, 'the weight gradients must be added up over all time steps (+=), not replaced at each step.'],
      [{ lastOnly: true }, 'every step has its own dhs[t]: add it at each step, not only at the last one.'],
    ];
    const slipped = memo((v: Parameters<typeof lstmBackwardVariant>[2]) => lstmBackwardVariant(cache, dhs, v));
    const variants = (q: string): Variant[] => mistakes.map(([v, hint]) => ({ hint, value: () => slipped(v)[q].dataSync() }));
    const dxs = readSeq(out.dxs, 'dxs', cs.T, [cs.m, cs.B], 'm × B, like x_t');
    const mx = mismatch(dxs.data, refDxs.dataSync(), TOL_F32);
    const problems: string[] = [];
    const hints: string[] = [];
    if (mx) {
      problems.push(mismatchText('dxs', dxs, refDxs.dataSync(), mx, TOL_F32) + ' (the index is [t − 1, row, column]).');
      hints.push(hintFor(dxs.data, variants('dxs'), TOL_F32));
    }
    const shapes: GradShapes = { dh0: [[cs.n, cs.B], 'n × B, like h0'], dc0: [[cs.n, cs.B], 'n × B, like c0'], ...weightShapes(cs.n, cs.m) };
    compareGrads(gradEntries(out, SEQ_GRAD_NAMES), SEQ_GRAD_NAMES, shapes, ref, variants, cs.B, problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: dxs, dh0, dc0 and the 12 weight gradients match automatic differentiation through the unrolled library cell (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// The GRU step forward
// ---------------------------------------------------------------------------------------------

/** GRU weights in the lecture's names: Wx· [n, m], Wh· [n, n], b· [n, 1] for r, z and the candidate h. */
export type GruWeights = Record<'Wxr' | 'Whr' | 'br' | 'Wxz' | 'Whz' | 'bz' | 'Wxh' | 'Whh' | 'bh', tf.Tensor2D>;

/** One GRU step of the library's cell (gruLayer, its defaults: reset before the matmul, z keeps the old state). */
export function gruStepLayer(x: tf.Tensor2D, h: tf.Tensor2D, W: GruWeights): tf.Tensor2D {
  const [n, m] = W.Wxr.shape;
  return withLectureLayer(gruLayer({ units: n, checkInput: false }), m, W, (layer) => T(layer.step(T(x), { h: T(h) }).h));
}

/** A hand GRU step with switchable mistakes, for hints only. */
function gruVariant(x: tf.Tensor2D, h: tf.Tensor2D, W: GruWeights,
  v: { swapZ?: boolean; resetAfter?: boolean; noReset?: boolean; r?: 'tanh'; z?: 'tanh'; cand?: 'sigmoid'; resetOnCandidate?: boolean }): tf.Tensor2D {
  const act = (a: tf.Tensor, k: 'sigmoid' | 'tanh') => (k === 'sigmoid' ? tf.sigmoid(a) : tf.tanh(a));
  const r = act(tf.add(tf.add(tf.matMul(W.Wxr, x), tf.matMul(W.Whr, h)), W.br), v.r ?? 'sigmoid');
  const z = act(tf.add(tf.add(tf.matMul(W.Wxz, x), tf.matMul(W.Whz, h)), W.bz), v.z ?? 'sigmoid');
  const rec = v.noReset ? tf.matMul(W.Whh, h) : v.resetAfter ? tf.mul(r, tf.matMul(W.Whh, h)) : tf.matMul(W.Whh, tf.mul(r, h));
  let hTilde = act(tf.add(tf.add(tf.matMul(W.Wxh, x), rec), W.bh), v.cand ?? 'tanh');
  if (v.resetOnCandidate) hTilde = tf.mul(r, tf.tanh(tf.add(tf.add(tf.matMul(W.Wxh, x), tf.matMul(W.Whh, h)), W.bh)));
  const keep = v.swapZ ? tf.sub(1, z) : z;
  return tf.add(tf.mul(keep, h), tf.mul(tf.sub(1, keep), hTilde)) as tf.Tensor2D;
}

function checkGruStep(fn: StudentFn, ctx: Ctx): string {
  const cases = rnnCases(ctx, [{ B: 2, m: 3, n: 4 }, { B: 1, m: 5, n: 2 }, { B: 3, m: 2, n: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n})`;
    const x = randn(ctx.rng, [cs.m, cs.B], 1);
    const h = randn(ctx.rng, [cs.n, cs.B], 0.8);
    const W: Record<string, tf.Tensor2D> = {};
    for (const g of ['r', 'z', 'h']) {
      W[`Wx${g}`] = randn(ctx.rng, [cs.n, cs.m], 0.7);
      W[`Wh${g}`] = randn(ctx.rng, [cs.n, cs.n], 0.6);
      W[`b${g}`] = randn(ctx.rng, [cs.n, 1], 0.4);
    }
    const Wg = W as GruWeights;
    const expected = gruStepLayer(x, h, Wg).dataSync();
    const got = read(ctx.call(() => fn(x, h, { ...Wg })), 'the returned h_t');
    expectShape(got, [cs.n, cs.B], 'h_t', 'n × B: one column per example');
    const m = mismatch(got.data, expected, TOL_F32);
    if (!m) return;
    const variants: Variant[] = [
      { hint: 'z and 1 − z look swapped: here z is the share of the OLD state, h_t = z ⊙ h_{t−1} + (1 − z) ⊙ h̃ (the other convention, h_t = (1 − z) ⊙ h_{t−1} + z ⊙ h̃, is the same model with z renamed 1 − z, but not the one of this homework).', value: () => gruVariant(x, h, Wg, { swapZ: true }).dataSync() },
      { hint: "the reset gate is applied after the matmul, r ⊙ (W_hh h_{t−1}) — PyTorch's form; this homework resets before it: W_hh (r ⊙ h_{t−1}).", value: () => gruVariant(x, h, Wg, { resetAfter: true }).dataSync() },
      { hint: 'the reset gate is not used: h̃ = tanh(W_xh x_t + W_hh (r ⊙ h_{t−1}) + b_h).', value: () => gruVariant(x, h, Wg, { noReset: true }).dataSync() },
      { hint: 'the reset gate r looks like tanh: r and z are σ gates (between 0 and 1); only the candidate h̃ uses tanh.', value: () => gruVariant(x, h, Wg, { r: 'tanh' }).dataSync() },
      { hint: 'the update gate z looks like tanh: r and z are σ gates (between 0 and 1); only the candidate h̃ uses tanh.', value: () => gruVariant(x, h, Wg, { z: 'tanh' }).dataSync() },
      { hint: 'the candidate h̃ looks like σ: h̃ = tanh(…) proposes values in (−1, 1).', value: () => gruVariant(x, h, Wg, { cand: 'sigmoid' }).dataSync() },
      { hint: 'r multiplies h_{t−1} inside the candidate, before W_hh — not the candidate itself.', value: () => gruVariant(x, h, Wg, { resetOnCandidate: true }).dataSync() },
    ];
    failWith([mismatchText('h_t', got, expected, m, TOL_F32) + '.'], [hintFor(got.data, variants, TOL_F32)]);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: h_t matches the library's gruLayer step (reset before the matmul, z keeps the old state; ${tolText(TOL_F32)}).`;
}

/**
 * The library's LSTM is the answer of the LSTM exercises (their `libraryAnswers`); the step functions
 * handed to a student's lstmForward/lstmBackward (REFERENCE_LSTM_CELL) call it with the spies off.
 */
const LSTM_ANSWERS = ['LSTM_FAMILY.step', 'lstmLayer'] as const;

/** The exercises of homework 2. */
export const HW2_LSTM_STEP = defineHomework({
  lstmStepForward: { homework: 'hw2-lstm-step', fn: 'lstmStepForward', maxPoints: 3, title: 'LSTM step, forward', visibleSeed: 201, run: checkLstmStepForward, libraryAnswers: LSTM_ANSWERS },
  lstmGradCheck: { homework: 'hw2-lstm-step', fn: 'gradCheck', maxPoints: 3, title: 'gradient check by central differences', visibleSeed: 202, run: checkGradCheck },
  // Retired: no longer in the notebook (replaced by lstmStepBackward); still callable as check.lstmParamCount.
  lstmParamCount: { homework: 'hw2-lstm-step', fn: 'lstmParamCount', maxPoints: 2, title: 'LSTM parameter count', visibleSeed: 203, run: checkLstmParamCount, retired: true },
  lstmStepBackward: { homework: 'hw2-lstm-step', fn: 'lstmStepBackward', maxPoints: 5, title: 'LSTM step, backward', visibleSeed: 204, run: checkLstmStepBackward, libraryAnswers: [...LSTM_ANSWERS, 'computeGradients'] },
  lstmForward: { homework: 'hw2-lstm-step', fn: 'lstmForward', maxPoints: 2, title: 'LSTM over a sequence, forward', visibleSeed: 205, run: checkLstmForward, libraryAnswers: LSTM_ANSWERS },
  lstmBackward: { homework: 'hw2-lstm-step', fn: 'lstmBackward', maxPoints: 4, title: 'LSTM over a sequence, backward', visibleSeed: 206, run: checkLstmBackward, libraryAnswers: [...LSTM_ANSWERS, 'computeGradients'] },
  gruStep: { homework: 'hw2-lstm-step', fn: 'gruStepForward', maxPoints: 3, title: 'GRU step, forward', visibleSeed: 207, run: checkGruStep, libraryAnswers: ['GRU_FAMILY.step', 'gruLayer'] },
} as const);
