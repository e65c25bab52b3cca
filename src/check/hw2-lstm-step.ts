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
import { lstmLayer } from '../layers';
import { setLectureWeights } from '../weights';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { Tol, Variant, TOL_F32, expectShape, fmt, hintFor, isTensor, mismatch, mismatchText, read, tolText } from './compare';
import { T, builtLayer, disposeLayer, rnnCases } from './column';

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
  const layer = builtLayer(lstmLayer({ units: n, checkInput: false }), m);
  try {
    const lw: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(W)) lw[k] = k.startsWith('b') ? tf.reshape(v, [n]) : v;
    setLectureWeights(layer, lw);
    const r = layer.step(T(x), { h: T(h), c: T(c) });
    return { h: T(r.h), c: T(r.c!) };
  } finally {
    disposeLayer(layer);
  }
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


/** The exercises of homework 2. */
export const HW2_LSTM_STEP = defineHomework({
  lstmStepForward: { homework: 'hw2-lstm-step', fn: 'lstmStepForward', maxPoints: 4, title: 'LSTM step, forward', visibleSeed: 201, run: checkLstmStepForward },
  lstmGradCheck: { homework: 'hw2-lstm-step', fn: 'gradCheck', maxPoints: 4, title: 'gradient check by central differences', visibleSeed: 202, run: checkGradCheck },
  lstmParamCount: { homework: 'hw2-lstm-step', fn: 'lstmParamCount', maxPoints: 2, title: 'LSTM parameter count', visibleSeed: 203, run: checkLstmParamCount },
} as const);
