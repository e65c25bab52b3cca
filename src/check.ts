/**
 * Automatic checks for the homework notebooks (homework/*.ipynb): `check.rnnStepForward(fn)` runs a
 * student's function and the library's reference on several random inputs with a seed, compares
 * values (and gradients) with stated tolerances, and prints either a pass line with the points or what
 * is wrong — the largest difference, where, expected vs got, and a hint when the answer matches a
 * known mistake (e.g. "the forget gate looks like tanh, not σ").
 *
 * A check never throws because a student's function is wrong or throws (a throw would abort the
 * notebook's following cells); it throws only when it is misused (e.g. given something that is not a
 * function). Every check returns `{ exercise, points, maxPoints, passed, message }`.
 *
 * `{ hidden: true, seed }` selects the hidden test inputs (other shapes and values than the ones the
 * students see) — the grader (`npm run grade`) uses it. With RNN_LAB_GRADING=1 in the environment every
 * check also prints one machine-readable line: `RNN_LAB_RESULT {"exercise":…,"points":…,…}`.
 *
 * Conventions of the homework: the lecture's column vectors. A batch of B inputs is a matrix whose
 * columns are the examples: x_t [m, B], h_t [n, B], and h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h) with
 * W_xh [n, m], W_hh [n, n], b_h [n, 1]. (The library's layers use tf.js's row batches, x·W; the checks
 * transpose at the edges.)
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions as checkOptionKeys } from './options';
import { describe } from './describe';
import { Rng } from './random';
import { RNN_FAMILY } from './rnn';
import { LSTM_FAMILY } from './lstm';
import { cellDefaults } from './family';
import { rnnLayer, lstmLayer, RecurrentLayer } from './layers';
import { setLectureWeights } from './weights';
import { softmax, charCrossEntropy, perplexity as libPerplexity } from './text';
import { clipByGlobalNorm as libClipByGlobalNorm, computeGradients, globalNorm, gradientStep } from './train';
import { lossFunction } from './losses';
import { buildRNN } from './builders';
import { resetEngineTape } from './internals';

/** Options of every check. */
export interface CheckOptions {
  /** Use the hidden test inputs (other shapes and seeds than the visible ones). Default false. */
  hidden?: boolean;
  /** Seed of the test inputs. Default: a fixed seed per exercise (visible) or 4242 (hidden). */
  seed?: number;
  /** Print nothing (the result is still returned; RNN_LAB_RESULT lines are still printed when grading). */
  quiet?: boolean;
}

/** What a check returns. */
export interface CheckResult {
  exercise: string;
  points: number;
  maxPoints: number;
  passed: boolean;
  message: string;
}

/** The exercises: which homework each belongs to, the function the student writes, and its points. */
export const EXERCISES = Object.freeze({
  rnnStepForward: { homework: 'hw1-rnn-step', fn: 'rnnStepForward', maxPoints: 2, title: 'vanilla RNN step, forward' },
  rnnStepBackward: { homework: 'hw1-rnn-step', fn: 'rnnStepBackward', maxPoints: 4, title: 'vanilla RNN step, backward' },
  bptt: { homework: 'hw1-rnn-step', fn: 'bptt', maxPoints: 4, title: 'backpropagation through time' },
  lstmStepForward: { homework: 'hw2-lstm-step', fn: 'lstmStepForward', maxPoints: 4, title: 'LSTM step, forward' },
  lstmGradCheck: { homework: 'hw2-lstm-step', fn: 'gradCheck', maxPoints: 4, title: 'gradient check by central differences' },
  lstmParamCount: { homework: 'hw2-lstm-step', fn: 'lstmParamCount', maxPoints: 2, title: 'LSTM parameter count' },
  clipByGlobalNorm: { homework: 'hw3-char-lm', fn: 'clipByGlobalNorm', maxPoints: 2, title: 'clipping by global norm' },
  sampleWithTemperature: { homework: 'hw3-char-lm', fn: 'sampleWithTemperature', maxPoints: 3, title: 'sampling with temperature' },
  perplexity: { homework: 'hw3-char-lm', fn: 'perplexity', maxPoints: 2, title: 'perplexity' },
  trainingLoop: { homework: 'hw3-char-lm', fn: 'trainLoop', maxPoints: 3, title: 'training loop with clipping' },
} as const);

/** Exercise names (the keys of {@link check}). */
export type ExerciseName = keyof typeof EXERCISES;

/** Seeds of the hidden inputs when the grader gives none. */
const HIDDEN_SEED = 4242;
const VISIBLE_SEED: Record<ExerciseName, number> = {
  rnnStepForward: 101, rnnStepBackward: 102, bptt: 103, lstmStepForward: 201, lstmGradCheck: 202, lstmParamCount: 203,
  clipByGlobalNorm: 301, sampleWithTemperature: 302, perplexity: 303, trainingLoop: 304,
};

// Student functions have whatever signature they were given; the checks validate at run time so
// that a type difference never becomes a compile error in a check cell (which would stop Run All).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type StudentFn = (...args: any[]) => any;

/** A failed test: its message is what the student sees. */
class CheckFailure extends Error {
  /** Whether the message stands alone (no "test k of N" prefix), e.g. "not implemented yet". */
  bare = false;
}

function fail(message: string, bare = false): never {
  const e = new CheckFailure(message);
  e.bare = bare;
  throw e;
}

/** Problems found in one test, and the hints for them (each hint once). */
function failWith(problems: string[], hints: string[]): never {
  const unique = [...new Set(hints.filter((h) => h))];
  fail(problems.join(' — ') + (unique.length ? ` Hint: ${unique.join(' ')}` : ''));
}


/** A number for a message: 4 decimals, or exponent notation when small or large. */
function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
  return x.toFixed(4).replace(/\.?0+$/, '') || '0';
}

function fmtList(xs: ArrayLike<number>, max = 6): string {
  const parts = Array.from(xs).slice(0, max).map((x) => fmt(x));
  return `[${parts.join(', ')}${xs.length > max ? ', …' : ''}]`;
}

function isTensor(v: unknown): v is tf.Tensor {
  return v instanceof tf.Tensor ||
    (v != null && typeof v === 'object' && typeof (v as tf.Tensor).dataSync === 'function' && Array.isArray((v as tf.Tensor).shape));
}

// ---------------------------------------------------------------------------------------------
// Reading and comparing what a student returned
// ---------------------------------------------------------------------------------------------

/** Values and shape of a tensor or (nested) number array, as float64. */
interface Arr {
  data: Float64Array;
  shape: number[];
}

function read(value: unknown, what: string): Arr {
  if (isTensor(value)) {
    let data: ArrayLike<number>;
    try {
      data = value.dataSync() as ArrayLike<number>;
    } catch (e) {
      fail(`${what} is a tensor that cannot be read (${errorText(e)}); was it disposed (by tf.tidy or .dispose()) before it was returned?`);
    }
    return { data: Float64Array.from(data), shape: value.shape.slice() };
  }
  if (typeof value === 'number') return { data: Float64Array.of(value), shape: [] };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = value as unknown as ArrayLike<number>;
    return { data: Float64Array.from(arr), shape: [arr.length] };
  }
  if (Array.isArray(value)) {
    const shape: number[] = [];
    let cur: unknown = value;
    while (Array.isArray(cur)) {
      shape.push(cur.length);
      cur = cur[0];
    }
    const flat = (value as unknown[]).flat(Infinity) as unknown[];
    if (flat.length !== shape.reduce((a, b) => a * b, 1)) fail(`${what} is a ragged nested array (rows of different lengths); return a tf.Tensor or a rectangular array`);
    if (flat.some((x) => typeof x !== 'number')) fail(`${what} must hold numbers; found ${describe(flat.find((x) => typeof x !== 'number'))}`);
    return { data: Float64Array.from(flat as number[]), shape };
  }
  fail(`${what} must be a tf.Tensor (or an array of numbers); got ${describe(value)}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function squeezeShape(s: readonly number[]): number[] {
  return s.filter((d) => d !== 1);
}

/** Fail unless `a` has `shape` (size-1 axes may differ: [n] is accepted for [n, 1]). */
function expectShape(a: Arr, shape: number[], what: string, dims: string): void {
  if (sameShape(a.shape, shape)) return;
  if (a.data.length === shape.reduce((x, y) => x * y, 1) && sameShape(squeezeShape(a.shape), squeezeShape(shape))) return;
  let hint = '';
  if (a.shape.length === 2 && shape.length === 2 && a.shape[0] === shape[1] && a.shape[1] === shape[0]) hint = ' — it looks transposed';
  fail(`${what} has shape [${a.shape.join(', ')}] but should have shape [${shape.join(', ')}] (${dims})${hint}`);
}

/** Tolerance: |got − expected| ≤ atol + rtol·|expected|. */
interface Tol {
  atol: number;
  rtol: number;
}
const TOL_F32: Tol = { atol: 1e-4, rtol: 1e-3 };

function fmtTol(x: number): string {
  return x.toExponential().replace(/\.?0*e/, 'e').replace('e+0', '');
}

function tolText(t: Tol): string {
  return `tolerance ${fmtTol(t.atol)} + ${fmtTol(t.rtol)}·|expected|`;
}

interface Mismatch {
  index: number;
  count: number;
  diff: number;
}

function mismatch(got: ArrayLike<number>, exp: ArrayLike<number>, tol: Tol): Mismatch | null {
  let count = 0;
  let index = -1;
  let worst = -1;
  for (let i = 0; i < exp.length; i++) {
    const d = Math.abs(got[i] - exp[i]);
    if (d <= tol.atol + tol.rtol * Math.abs(exp[i])) continue;   // NaN fails here too
    count++;
    const score = Number.isNaN(d) ? Infinity : d;
    if (score > worst) {
      worst = score;
      index = i;
    }
  }
  return count === 0 ? null : { index, count, diff: Math.abs(got[index] - exp[index]) };
}

function close(got: ArrayLike<number> | null | undefined, exp: ArrayLike<number>, tol: Tol): boolean {
  return got != null && got.length === exp.length && mismatch(got, exp, tol) === null;
}

function indexText(i: number, shape: readonly number[]): string {
  if (shape.length <= 1) return `[${i}]`;
  const idx: number[] = [];
  let r = i;
  for (let k = shape.length - 1; k >= 0; k--) {
    idx.unshift(r % shape[k]);
    r = Math.floor(r / shape[k]);
  }
  return `[${idx.join(', ')}]`;
}

function mismatchText(what: string, got: Arr, exp: ArrayLike<number>, m: Mismatch, tol: Tol): string {
  const g = got.data[m.index];
  const e = exp[m.index];
  if (Number.isNaN(g)) return `${what} contains NaN (first at ${indexText(m.index, got.shape)}; expected ${fmt(e)})`;
  if (!Number.isFinite(g)) return `${what} contains ${g} (at ${indexText(m.index, got.shape)}; expected ${fmt(e)})`;
  return `${what} is wrong in ${m.count} of ${exp.length} entries: the largest difference is ${fmt(m.diff)} at ${indexText(m.index, got.shape)} ` +
    `(expected ${fmt(e)}, got ${fmt(g)}; ${tolText(tol)})`;
}

/** A known mistake: if the student's values match `value()`, the hint explains it. */
interface Variant {
  hint: string;
  value: () => ArrayLike<number> | null;
}

function hintFor(got: ArrayLike<number>, variants: Variant[], tol: Tol): string {
  for (const v of variants) {
    let val: ArrayLike<number> | null = null;
    try {
      val = v.value();
    } catch {
      val = null;   // a variant that does not apply to these shapes
    }
    if (val && close(got, val, tol)) return v.hint;
  }
  return '';
}

function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
  return String(e);
}

// ---------------------------------------------------------------------------------------------
// The runner shared by every check
// ---------------------------------------------------------------------------------------------

interface Ctx {
  rng: Rng;
  hidden: boolean;
  seed: number;
  /** Label of the current test, prefixed to failure messages. */
  label: string;
  /** Call the student's function: its exceptions become a failure that says so. */
  call<T>(thunk: () => T): T;
}

function makeCtx(rng: Rng, hidden: boolean, seed: number): Ctx {
  const ctx: Ctx = {
    rng, hidden, seed, label: '',
    call<T>(thunk: () => T): T {
      let out: T;
      try {
        out = thunk();
      } catch (e) {
        if (e instanceof CheckFailure) throw e;
        const text = errorText(e);
        if (/not implemented/i.test(text)) {
          fail('not implemented yet — the function still throws "not implemented". Replace the TODO with your code.', true);
        }
        fail(`your function threw ${text}`);
      }
      if (out != null && typeof (out as { then?: unknown }).then === 'function') {
        fail('your function returned a Promise; it must be synchronous (no async/await)');
      }
      return out;
    },
  };
  return ctx;
}

function checkOptions(exercise: string, options: unknown): { hidden: boolean; seed?: number; quiet: boolean } {
  if (options === undefined) return { hidden: false, quiet: false };
  checkOptionKeys(`check.${exercise}`, options, ['hidden', 'seed', 'quiet']);
  const o = options as CheckOptions;
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed))) {
    throw new TypeError(`check.${exercise}: options.seed must be an integer; got ${describe(o.seed)}`);
  }
  return { hidden: o.hidden === true, seed: o.seed, quiet: o.quiet === true };
}

function finish(exercise: ExerciseName, passed: boolean, message: string, hidden: boolean, quiet: boolean): CheckResult {
  const maxPoints = EXERCISES[exercise].maxPoints;
  const points = passed ? maxPoints : 0;
  const result: CheckResult = { exercise, points, maxPoints, passed, message };
  // In a notebook the returned object is displayed after the check's lines: keep that to one short line.
  Object.defineProperty(result, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `${exercise} → ${points}/${maxPoints} points`,
    enumerable: false,
  });
  if (!quiet) {
    const mark = passed ? '✔' : '✘';
    console.log(`${mark} ${exercise}${hidden ? ' (hidden tests)' : ''}: ${points}/${maxPoints} points — ${message}`);
  }
  if (process.env.RNN_LAB_GRADING === '1') {
    console.log(`RNN_LAB_RESULT ${JSON.stringify({ exercise, points, maxPoints, passed, hidden, message })}`);
  }
  return result;
}

/**
 * Undo what an interrupted computation left in tf.js's engine. Interrupting a cell (Jupyter's stop
 * button, or the grader's time limit) stops JavaScript without running `finally` blocks, so a training
 * step cut off inside tf.variableGrads leaves the gradient tape open (or the tape switched off), and
 * every later gradient computation fails. A check never runs inside a gradient computation, so an
 * open tape at its start can only be such a leftover.
 */
export function recoverEngine(): boolean {
  return resetEngineTape();
}

function runCheck(exercise: ExerciseName, fn: unknown, options: unknown, body: (fn: StudentFn, ctx: Ctx) => string): CheckResult {
  const o = checkOptions(exercise, options);
  if (typeof fn !== 'function') {
    throw new TypeError(`check.${exercise}: pass your function itself, e.g. check.${exercise}(${EXERCISES[exercise].fn}); got ${describe(fn)}`);
  }
  if (recoverEngine() && !o.quiet) {
    console.log('(an interrupted cell had left tf.js in the middle of a gradient computation; the check reset it)');
  }
  const seed = o.seed ?? (o.hidden ? HIDDEN_SEED : VISIBLE_SEED[exercise]);
  const ctx = makeCtx(new Rng(seed), o.hidden, seed);
  let passed = false;
  let message: string;
  try {
    message = tf.tidy(() => body(fn as StudentFn, ctx));
    passed = true;
  } catch (e) {
    const prefix = ctx.label ? `${ctx.label}: ` : '';
    if (e instanceof CheckFailure) message = (e.bare ? '' : prefix) + e.message;
    // Anything else is a student function returning something so odd that the check tripped over it.
    else message = `${prefix}could not check your function's result (${errorText(e)})`;
  }
  return finish(exercise, passed, message, o.hidden, o.quiet);
}

/**
 * Run an exercise's check for the grader: a missing or non-function `fn` is reported as 0 points
 * (never thrown), and anything unexpected is caught, so a grading cell never fails.
 *
 * @example
 * ```ts
 * gradeExercise('bptt', typeof bptt === 'undefined' ? undefined : bptt, { hidden: true, seed: 7 });
 * ```
 */
export function gradeExercise(exercise: string, fn: unknown, options: CheckOptions = {}): CheckResult {
  const name = exercise as ExerciseName;
  const meta = EXERCISES[name];
  if (!meta) throw new TypeError(`gradeExercise: unknown exercise '${exercise}'; expected one of ${Object.keys(EXERCISES).join(', ')}`);
  const o = checkOptions(exercise, options);
  if (typeof fn !== 'function') {
    const msg = fn === undefined
      ? `no function named ${meta.fn} is defined (was its cell deleted, renamed, or did it fail to compile?)`
      : `${meta.fn} is not a function (got ${describe(fn)})`;
    return finish(name, false, msg, o.hidden, o.quiet);
  }
  try {
    return (check[name] as (f: StudentFn, opt?: CheckOptions) => CheckResult)(fn as StudentFn, options);
  } catch (e) {
    return finish(name, false, `the check could not run: ${errorText(e)}`, o.hidden, o.quiet);
  }
}

// ---------------------------------------------------------------------------------------------
// Random inputs
// ---------------------------------------------------------------------------------------------

function randn(rng: Rng, shape: number[], std = 1): tf.Tensor2D {
  const size = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng.normal(0, std);
  const t: tf.Tensor = tf.tensor(v, shape);
  return t as tf.Tensor2D;
}

function randint(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

// ---------------------------------------------------------------------------------------------
// References built on the library's cells (column form in, column form out)
// ---------------------------------------------------------------------------------------------

const T = (t: tf.Tensor): tf.Tensor2D => tf.transpose(t) as tf.Tensor2D;

/** h_t of the library's Elman cell for column batches: x [m, B], hPrev [n, B] → [n, B]. */
function rnnStepRef(x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor): tf.Tensor2D {
  const xp = tf.add(tf.matMul(x, Wxh, true, true), tf.reshape(bh, [1, -1])) as tf.Tensor2D;   // [B, n] = xᵀ W_xhᵀ + b_hᵀ
  const r = RNN_FAMILY.step(xp, { h: T(hPrev) }, { recurrentKernel: T(Whh) }, cellDefaults());
  return T(r.h);
}

/** Build a library layer on m inputs without running it. */
function builtLayer<L extends RecurrentLayer>(layer: L, m: number): L {
  layer.build([null, 1, m]);
  return layer;
}

function disposeLayer(layer: RecurrentLayer): void {
  for (const w of layer.weights) w.dispose();
}

/** h_t through the library's rnnLayer: setLectureWeights + layer.step. */
function rnnStepLayer(x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor): tf.Tensor2D {
  const [n, m] = Wxh.shape;
  const layer = builtLayer(rnnLayer({ units: n, checkInput: false }), m);
  try {
    setLectureWeights(layer, { Wxh, Whh, bh: tf.reshape(bh, [n]) });
    return T(layer.step(T(x), { h: T(hPrev) }).h);
  } finally {
    disposeLayer(layer);
  }
}

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
function lstmStepLayer(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights): { h: tf.Tensor2D; c: tf.Tensor2D } {
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
function lstmStepRef(x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights): { h: tf.Tensor2D; c: tf.Tensor2D } {
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

// ---------------------------------------------------------------------------------------------
// Homework 1: vanilla RNN
// ---------------------------------------------------------------------------------------------

interface RnnCase {
  B: number;
  m: number;
  n: number;
}

function rnnCases(ctx: Ctx, visible: RnnCase[]): RnnCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return [
    { B: 1, m: 2, n: 1 },
    ...Array.from({ length: 4 }, () => ({ B: randint(r, 1, 5), m: randint(r, 1, 6), n: randint(r, 2, 7) })),
  ];
}

function rnnInputs(rng: Rng, { B, m, n }: RnnCase) {
  return {
    x: randn(rng, [m, B], 1),
    hPrev: randn(rng, [n, B], 0.8),
    Wxh: randn(rng, [n, m], 0.7),
    Whh: randn(rng, [n, n], 0.5),
    bh: randn(rng, [n, 1], 0.3),
  };
}

function checkRnnStepForward(fn: StudentFn, ctx: Ctx): string {
  const cases = rnnCases(ctx, [{ B: 2, m: 3, n: 4 }, { B: 1, m: 5, n: 2 }, { B: 3, m: 2, n: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n})`;
    const { x, hPrev, Wxh, Whh, bh } = rnnInputs(ctx.rng, cs);
    const expected = rnnStepLayer(x, hPrev, Wxh, Whh, bh).dataSync();
    const got = read(ctx.call(() => fn(x, hPrev, Wxh, Whh, bh)), 'the returned h_t');
    expectShape(got, [cs.n, cs.B], 'h_t', 'n × B: one column per example');
    const m = mismatch(got.data, expected, TOL_F32);
    if (!m) return;
    const a = () => tf.add(tf.add(tf.matMul(Wxh, x), tf.matMul(Whh, hPrev)), bh);
    const variants: Variant[] = [
      { hint: 'h_t looks like the pre-activation: apply tanh to W_hh h_{t−1} + W_xh x_t + b_h.', value: () => a().dataSync() },
      { hint: 'h_t looks like σ(…): the vanilla RNN uses tanh.', value: () => tf.sigmoid(a()).dataSync() },
      { hint: 'h_t looks like relu(…): the vanilla RNN of the lecture uses tanh.', value: () => tf.relu(a()).dataSync() },
      { hint: 'the bias b_h seems to be missing.', value: () => tf.tanh(tf.add(tf.matMul(Wxh, x), tf.matMul(Whh, hPrev))).dataSync() },
      { hint: 'h_{t−1} seems to be ignored: add W_hh h_{t−1}.', value: () => tf.tanh(tf.add(tf.matMul(Wxh, x), bh)).dataSync() },
      { hint: 'W_hh looks transposed: use W_hh h_{t−1}, not W_hhᵀ h_{t−1}.', value: () => tf.tanh(tf.add(tf.add(tf.matMul(Wxh, x), tf.matMul(Whh, hPrev, true)), bh)).dataSync() },
    ];
    failWith([mismatchText('h_t', got, expected, m, TOL_F32) + '.'], [hintFor(got.data, variants, TOL_F32)]);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: h_t matches the library's rnnLayer step (${tolText(TOL_F32)}).`;
}

const RNN_GRADS = ['dx', 'dhPrev', 'dWxh', 'dWhh', 'dbh'] as const;

/** The reference gradients of L = Σ dh ⊙ h_t, by automatic differentiation of the library's cell. */
function rnnStepGradsRef(dh: tf.Tensor2D, x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D): Record<string, tf.Tensor> {
  const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor, e: tf.Tensor) =>
    tf.sum(tf.mul(dh, rnnStepRef(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, d as tf.Tensor2D, e))))([x, hPrev, Wxh, Whh, bh]);
  return { dx: g[0], dhPrev: g[1], dWxh: g[2], dWhh: g[3], dbh: g[4] };
}

/** Hand-written step backward with switchable mistakes (hints only). */
function rnnStepGradsVariant(dh: tf.Tensor2D, x: tf.Tensor2D, hPrev: tf.Tensor2D, h: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D,
  v: { noDeriv?: boolean; tanhAgain?: boolean; whhNoT?: boolean; wxhNoT?: boolean; dWhhT?: boolean; dWxhT?: boolean; meanB?: boolean }): Record<string, tf.Tensor> {
  const B = x.shape[1];
  const deriv = v.noDeriv ? tf.onesLike(h) : tf.sub(1, tf.square(v.tanhAgain ? tf.tanh(h) : h));
  const da = tf.mul(dh, deriv) as tf.Tensor2D;                             // δ [n, B]
  return {
    dx: v.wxhNoT ? tf.matMul(Wxh, da) : tf.matMul(Wxh, da, true),
    dhPrev: v.whhNoT ? tf.matMul(Whh, da) : tf.matMul(Whh, da, true),
    dWxh: v.dWxhT ? tf.matMul(x, da, false, true) : tf.matMul(da, x, false, true),
    dWhh: v.dWhhT ? tf.matMul(hPrev, da, false, true) : tf.matMul(da, hPrev, false, true),
    dbh: tf.div(tf.sum(da, 1, true), v.meanB ? B : 1),
  };
}

const RNN_BACKWARD_HINTS: { v: Parameters<typeof rnnStepGradsVariant>[6]; hint: string; only?: string }[] = [
  { v: { whhNoT: true }, only: 'dhPrev', hint: 'dhPrev matches W_hh δ: a transpose is missing — ∂L/∂h_{t−1} = W_hhᵀ δ with δ = dh ⊙ (1 − h_t²).' },
  { v: { wxhNoT: true }, only: 'dx', hint: 'dx matches W_xh δ: a transpose is missing — ∂L/∂x_t = W_xhᵀ δ.' },
  { v: { dWhhT: true }, only: 'dWhh', hint: 'dWhh is transposed: ∂L/∂W_hh = δ h_{t−1}ᵀ (row j of W_hh feeds unit j).' },
  { v: { dWxhT: true }, only: 'dWxh', hint: 'dWxh is transposed: ∂L/∂W_xh = δ x_tᵀ.' },
  { v: { meanB: true }, only: 'dbh', hint: 'dbh is the mean over the batch; the loss is a sum over examples, so sum δ over the columns.' },
  { v: { noDeriv: true }, hint: "tanh' seems to be missing: first δ = dh ⊙ (1 − h_t²), then every gradient uses δ." },
  { v: { tanhAgain: true }, hint: "tanh'(a) = 1 − tanh²(a) = 1 − h_t²: h_t is already tanh(a), so don't apply tanh to it again." },
];

function checkRnnStepBackward(fn: StudentFn, ctx: Ctx): string {
  const cases = rnnCases(ctx, [{ B: 2, m: 3, n: 4 }, { B: 3, m: 4, n: 4 }, { B: 1, m: 2, n: 3 }]);
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n})`;
    const { x, hPrev, Wxh, Whh, bh } = rnnInputs(ctx.rng, cs);
    const dh = randn(ctx.rng, [cs.n, cs.B], 1);
    const h = rnnStepRef(x, hPrev, Wxh, Whh, bh);
    const ref = rnnStepGradsRef(dh, x, hPrev, Wxh, Whh, bh);
    const out = ctx.call(() => fn(dh, x, hPrev, h, Wxh, Whh));
    if (out == null || typeof out !== 'object') fail(`return an object { dx, dhPrev, dWxh, dWhh, dbh }; got ${describe(out)}`);
    const missing = RNN_GRADS.filter((q) => !(q in out) || out[q] == null);
    if (missing.length) fail(`the result has no ${missing.join(', ')}: return { dx, dhPrev, dWxh, dWhh, dbh }`);
    const shapes: Record<string, [number[], string]> = {
      dx: [[cs.m, cs.B], 'm × B, like x_t'], dhPrev: [[cs.n, cs.B], 'n × B, like h_{t−1}'], dWxh: [[cs.n, cs.m], 'n × m, like W_xh'],
      dWhh: [[cs.n, cs.n], 'n × n, like W_hh'], dbh: [[cs.n, 1], 'n × 1, like b_h'],
    };
    const problems: string[] = [];
    const hints: string[] = [];
    for (const q of RNN_GRADS) {
      const got = read(out[q], q);
      expectShape(got, shapes[q][0], q, shapes[q][1]);
      const exp = ref[q].dataSync();
      const m = mismatch(got.data, exp, TOL_F32);
      if (!m) continue;
      const variants: Variant[] = RNN_BACKWARD_HINTS.filter((h2) => !h2.only || h2.only === q).map((h2) => ({
        hint: h2.hint, value: () => rnnStepGradsVariant(dh, x, hPrev, h, Wxh, Whh, h2.v)[q].dataSync(),
      }));
      problems.push(mismatchText(q, got, exp, m, TOL_F32) + '.'); hints.push(hintFor(got.data, variants, TOL_F32));
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: dx, dhPrev, dWxh, dWhh and dbh match automatic differentiation of the library's cell (${tolText(TOL_F32)}).`;
}

/** The reference step functions handed to a student's bptt, so bptt is graded on its own. */
const REFERENCE_RNN_CELL = Object.freeze({
  forward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D) => rnnStepRef(x, hPrev, Wxh, Whh, bh),
  backward: (dh: tf.Tensor2D, x: tf.Tensor2D, hPrev: tf.Tensor2D, h: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D) => {
    // δ = dh ⊙ (1 − h²) and the five products; checked against autodiff in the unit tests.
    const r = rnnStepGradsVariant(dh, x, hPrev, h, Wxh, Whh, {});
    return { dx: r.dx, dhPrev: r.dhPrev, dWxh: r.dWxh, dWhh: r.dWhh, dbh: r.dbh };
  },
});

/** BPTT by hand with switchable mistakes (hints only). */
function bpttVariant(xs: tf.Tensor2D[], h0: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D, dhs: tf.Tensor2D[],
  v: { noCarry?: boolean; overwrite?: boolean; lastOnly?: boolean }): Record<string, tf.Tensor> {
  const hs = [h0];
  for (const x of xs) hs.push(rnnStepRef(x, hs[hs.length - 1], Wxh, Whh, bh));
  let dWxh: tf.Tensor = tf.zerosLike(Wxh);
  let dWhh: tf.Tensor = tf.zerosLike(Whh);
  let dbh: tf.Tensor = tf.zerosLike(bh);
  let carry: tf.Tensor = tf.zerosLike(h0);
  for (let t = xs.length - 1; t >= 0; t--) {
    const direct = v.lastOnly && t !== xs.length - 1 ? tf.zerosLike(dhs[t]) : dhs[t];
    const dh = tf.add(direct, v.noCarry ? tf.zerosLike(carry) : carry) as tf.Tensor2D;
    const g = REFERENCE_RNN_CELL.backward(dh, xs[t], hs[t], hs[t + 1], Wxh, Whh);
    dWxh = v.overwrite ? g.dWxh : tf.add(dWxh, g.dWxh);
    dWhh = v.overwrite ? g.dWhh : tf.add(dWhh, g.dWhh);
    dbh = v.overwrite ? g.dbh : tf.add(dbh, g.dbh);
    carry = g.dhPrev;
  }
  return { dWxh, dWhh, dbh, dh0: carry };
}

function checkBptt(fn: StudentFn, ctx: Ctx): string {
  const visible = [{ B: 2, m: 3, n: 4, T: 4 }, { B: 1, m: 2, n: 3, T: 6 }];
  const cases = ctx.hidden
    ? Array.from({ length: 3 }, () => ({ B: randint(ctx.rng, 1, 4), m: randint(ctx.rng, 1, 5), n: randint(ctx.rng, 2, 6), T: randint(ctx.rng, 3, 7) }))
    : visible;
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (B=${cs.B}, m=${cs.m}, n=${cs.n}, T=${cs.T})`;
    const { hPrev: h0, Wxh, Whh, bh } = rnnInputs(ctx.rng, cs);
    const xs = Array.from({ length: cs.T }, () => randn(ctx.rng, [cs.m, cs.B], 1));
    const dhs = Array.from({ length: cs.T }, () => randn(ctx.rng, [cs.n, cs.B], 1));
    // Reference: autodiff of L = Σ_t ⟨dhs[t], h_t⟩ through the library's cell, unrolled.
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) => {
      let h = d as tf.Tensor2D;
      let L: tf.Tensor = tf.scalar(0);
      xs.forEach((x, t) => {
        h = rnnStepRef(x, h, a as tf.Tensor2D, b as tf.Tensor2D, c);
        L = tf.add(L, tf.sum(tf.mul(dhs[t], h)));
      });
      return L as tf.Scalar;
    })([Wxh, Whh, bh, h0]);
    const ref: Record<string, tf.Tensor> = { dWxh: g[0], dWhh: g[1], dbh: g[2], dh0: g[3] };
    const out = ctx.call(() => fn(xs.slice(), h0, Wxh, Whh, bh, dhs.slice(), REFERENCE_RNN_CELL));
    if (out == null || typeof out !== 'object') fail(`return an object { dWxh, dWhh, dbh, dh0 }; got ${describe(out)}`);
    const names = ['dWxh', 'dWhh', 'dbh', 'dh0'] as const;
    const missing = names.filter((q) => !(q in out) || out[q] == null);
    if (missing.length) fail(`the result has no ${missing.join(', ')}: return { dWxh, dWhh, dbh, dh0 }`);
    const shapes: Record<string, number[]> = { dWxh: [cs.n, cs.m], dWhh: [cs.n, cs.n], dbh: [cs.n, 1], dh0: [cs.n, cs.B] };
    const problems: string[] = [];
    const hints: string[] = [];
    for (const q of names) {
      const got = read(out[q], q);
      expectShape(got, shapes[q], q, `like ${q.slice(1)}`);
      const exp = ref[q].dataSync();
      const m = mismatch(got.data, exp, TOL_F32);
      if (!m) continue;
      const variants: Variant[] = [
        { hint: 'the gradient is not carried back in time: at each step dh = dhs[t] + (dhPrev from step t+1).', value: () => bpttVariant(xs, h0, Wxh, Whh, bh, dhs, { noCarry: true })[q].dataSync() },
        { hint: 'the weight gradients must be added up over all time steps (+=), not overwritten.', value: () => bpttVariant(xs, h0, Wxh, Whh, bh, dhs, { overwrite: true })[q].dataSync() },
        { hint: 'every step has its own dhs[t]: add it at each step, not only at the last one.', value: () => bpttVariant(xs, h0, Wxh, Whh, bh, dhs, { lastOnly: true })[q].dataSync() },
      ];
      problems.push(mismatchText(q, got, exp, m, TOL_F32) + '.'); hints.push(hintFor(got.data, variants, TOL_F32));
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: dWxh, dWhh, dbh and dh0 match automatic differentiation through the unrolled library cell (${tolText(TOL_F32)}).`;
}

// ---------------------------------------------------------------------------------------------
// Homework 2: LSTM
// ---------------------------------------------------------------------------------------------

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
interface Lstm64 {
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

function lstm64Forward(p: Lstm64, Wxf: ArrayLike<number>): { h: number[][]; c: number[][]; f: number[][]; o: number[][]; cNew: number[][] } {
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
  return { h, c, f, o, cNew: c };
}

/** L(W_xf) = Σ r ⊙ h_t for the float64 LSTM; its gradient by hand (or with the tanh' slip, for the wrong case). */
function lstm64Loss(p: Lstm64) {
  return (theta: number[]): number => {
    const { h } = lstm64Forward(p, theta);
    let s = 0;
    for (let j = 0; j < p.n; j++) for (let b = 0; b < p.B; b++) s += p.r[j][b] * h[j][b];
    return s;
  };
}

function lstm64GradWxf(p: Lstm64, theta: number[], slip = false): number[] {
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

function randomLstm64(rng: Rng, n: number, m: number, B: number): Lstm64 {
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
// Homework 3: character language model
// ---------------------------------------------------------------------------------------------

function flatNorm(arrs: Float64Array[]): number {
  let s = 0;
  for (const a of arrs) for (const v of a) s += v * v;
  return Math.sqrt(s);
}

function checkClipByGlobalNorm(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  type Case = { shapes: Record<string, number[]>; norm: number; maxNorm: number };
  const visible: Case[] = [
    { shapes: { W: [2, 3], b: [4] }, norm: 0.5, maxNorm: 1 },
    { shapes: { W: [2, 3], b: [4] }, norm: 3, maxNorm: 1 },
    { shapes: { Wxh: [3, 2], Whh: [3, 3], bh: [3, 1] }, norm: 3, maxNorm: 5 },
    { shapes: { Wxh: [3, 2], Whh: [3, 3], bh: [3, 1] }, norm: 0.6, maxNorm: 0.5 },
  ];
  const hidden = (): Case[] => {
    const shapes = () => {
      const s: Record<string, number[]> = {};
      const count = randint(rng, 2, 4);
      for (let i = 0; i < count; i++) s[`p${i}`] = i % 2 ? [randint(rng, 1, 5)] : [randint(rng, 1, 4), randint(rng, 1, 4)];
      return s;
    };
    const u = () => 0.8 + 0.4 * rng.next();
    return [
      { shapes: shapes(), norm: 0.4 * u(), maxNorm: 1 * u() },
      { shapes: shapes(), norm: 8 * u(), maxNorm: 2 * u() },
      { shapes: shapes(), norm: 2.5 * u(), maxNorm: 4.5 },       // ‖g‖ < max < ‖g‖²
      { shapes: shapes(), norm: 0.7, maxNorm: 0.6 * u() },       // ‖g‖² < max < ‖g‖
    ];
  };
  const cases = ctx.hidden ? hidden() : visible;
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (‖g‖ = ${fmt(cs.norm)}, maxNorm = ${fmt(cs.maxNorm)})`;
    const raw: Record<string, tf.Tensor> = {};
    for (const [name, shape] of Object.entries(cs.shapes)) raw[name] = randn(rng, shape, 1);
    const n0 = globalNorm(Object.values(raw)).dataSync()[0];
    const grads: tf.NamedTensorMap = {};
    for (const [name, t] of Object.entries(raw)) grads[name] = tf.mul(t, cs.norm / n0);
    const names = Object.keys(grads);
    const inputs = names.map((nm) => Float64Array.from(grads[nm].dataSync()));
    const ref = libClipByGlobalNorm(grads, cs.maxNorm);
    const out = ctx.call(() => fn({ ...grads }, cs.maxNorm));
    if (out == null || typeof out !== 'object' || !('grads' in out) || !('norm' in out)) fail(`return an object { grads, norm }; got ${describe(out)}`);
    const norm = isTensor(out.norm) ? read(out.norm, 'norm').data[0] : out.norm;
    if (typeof norm !== 'number') fail(`norm must be a number (the global norm before clipping); got ${describe(out.norm)}`);
    const trueNorm = ref.norm;
    const sumSq = trueNorm * trueNorm;
    const scaleOf = (mode: string): number[] => names.map((_, i) => {
      const own = flatNorm([inputs[i]]);
      switch (mode) {
        case 'squaredCompare': return sumSq > cs.maxNorm ? cs.maxNorm / trueNorm : 1;
        case 'squaredNorm': return sumSq > cs.maxNorm ? cs.maxNorm / sumSq : 1;
        case 'perTensor': return own > cs.maxNorm ? cs.maxNorm / own : 1;
        case 'always': return cs.maxNorm / trueNorm;
        case 'inverted': return trueNorm > cs.maxNorm ? trueNorm / cs.maxNorm : 1;
        default: return 1;
      }
    });
    const modeHints: [string, string][] = [
      ['squaredNorm', 'this clips with the sum of squares Σ g² in place of the norm ‖g‖ = √(Σ g²) (the slide\'s slip): take the square root.'],
      ['squaredCompare', 'this compares the sum of squares Σ g² with the threshold (the slide\'s slip), which clips at √maxNorm: compare ‖g‖ = √(Σ g²).'],
      ['perTensor', 'each tensor was clipped by its own norm; clip by the GLOBAL norm: one factor maxNorm/‖g‖ for all tensors, so the direction is kept.'],
      ['always', 'the gradients were rescaled although ‖g‖ ≤ maxNorm: only rescale when ‖g‖ > maxNorm.'],
      ['inverted', 'the scale factor is upside down: multiply by maxNorm/‖g‖ (< 1).'],
      ['none', 'the gradients were not rescaled although ‖g‖ > maxNorm: multiply every tensor by maxNorm/‖g‖.'],
    ];
    const tol: Tol = { atol: 1e-5, rtol: 1e-4 };
    const problems: string[] = [];
    const hints: string[] = [];
    if (!(Math.abs(norm - trueNorm) <= 1e-4 * trueNorm + 1e-6)) {
      if (Math.abs(norm - sumSq) <= 1e-4 * sumSq) hints.push('norm is Σ g², the squared norm: take the square root, ‖g‖ = √(Σ g²) — comparing Σ g² with the threshold is the slide\'s slip.');
      problems.push(`norm should be the global norm before clipping, ‖g‖ = ${fmt(trueNorm)}; got ${fmt(norm)}.`);
    }
    const gotGrads = out.grads;
    if (gotGrads == null || typeof gotGrads !== 'object') fail(`grads must be an object with one tensor per name (${names.join(', ')}); got ${describe(gotGrads)}`);
    const missing = names.filter((nm) => gotGrads[nm] == null);
    if (missing.length) fail(`grads has no ${missing.join(', ')}: return a clipped gradient for every name of the input`);
    for (let i = 0; i < names.length; i++) {
      const nm = names[i];
      const got = read(gotGrads[nm], `grads.${nm}`);
      expectShape(got, cs.shapes[nm], `grads.${nm}`, `the shape of the input grads.${nm}`);
      const exp = ref.grads[nm].dataSync();
      const m = mismatch(got.data, exp, tol);
      if (!m) continue;
      const variants: Variant[] = modeHints.map(([mode, hint]) => ({ hint, value: () => inputs[i].map((v) => v * scaleOf(mode)[i]) }));
      problems.push(mismatchText(`grads.${nm}`, got, exp, m, tol) + ` (${ref.clipped ? 'this case must be clipped' : 'this case must NOT be clipped'}).`);
      hints.push(hintFor(got.data, variants, tol));
      break;
    }
    if (problems.length) failWith(problems, hints);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: the norm and the clipped gradients match the library's clipByGlobalNorm.`;
}

function totalVariation(p: ArrayLike<number>, q: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < p.length; i++) s += Math.abs(p[i] - q[i]);
  return s / 2;
}

/** The distribution of "cumulative sum of weights w vs one uniform u" sampling when w does not sum to 1. */
function unnormalisedCumulative(w: ArrayLike<number>): number[] {
  const out = new Array(w.length).fill(0);
  let cum = 0;
  for (let i = 0; i < w.length; i++) {
    const lo = Math.min(cum, 1);
    cum += w[i];
    out[i] = Math.max(0, Math.min(cum, 1) - lo);
  }
  out[w.length - 1] += Math.max(0, 1 - cum);
  return out;
}

function checkSampleWithTemperature(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  type Case = { logits: number[]; temperature: number };
  const base = [2.0, 1.0, 0.2, -1.0];
  const visible: Case[] = [
    { logits: base, temperature: 1 }, { logits: base, temperature: 0.5 }, { logits: base, temperature: 2 },
    { logits: [0.3, -0.2, 0.8], temperature: 0.7 }, { logits: [12, 11, 9], temperature: 0.01 },
  ];
  const hidden = (): Case[] => {
    const rand = () => Array.from({ length: randint(rng, 3, 6) }, () => Math.round(rng.normal(0, 1.5) * 100) / 100);
    const l1 = rand();
    return [
      { logits: l1, temperature: 1 }, { logits: l1, temperature: 0.4 }, { logits: l1, temperature: 2.5 },
      { logits: rand(), temperature: 0.8 }, { logits: [20, 19.5, 15, 14], temperature: 0.005 },
    ];
  };
  const cases = ctx.hidden ? hidden() : visible;
  const N = 2000;
  const maxTV = 0.06;
  // Reproducibility: the same seed must give the same samples (the rng argument is the only randomness).
  ctx.label = 'reproducibility';
  const draw = (seed: number, cs: Case, count: number) => {
    const r = new Rng(seed);
    const out: number[] = [];
    for (let i = 0; i < count; i++) out.push(ctx.call(() => fn(cs.logits.slice(), cs.temperature, r)));
    return out;
  };
  const a = draw(ctx.seed + 1, cases[0], 40);
  const b = draw(ctx.seed + 1, cases[0], 40);
  if (a.some((v, i) => v !== b[i])) fail('two runs with the same seed gave different samples: draw your random numbers from the rng argument (rng.next()), not Math.random().');
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (logits ${fmtList(cs.logits)}, T = ${cs.temperature})`;
    const V = cs.logits.length;
    const counts = new Array(V).fill(0);
    const samples = draw(ctx.seed + 100 + k, cs, N);
    for (const s of samples) {
      if (typeof s !== 'number' || !Number.isInteger(s) || s < 0 || s >= V) fail(`return the index of the sampled character, an integer in [0, ${V}); got ${describe(s)}`);
      counts[s]++;
    }
    const freq = counts.map((c) => c / N);
    const expected = softmax(cs.logits, cs.temperature);
    const tv = totalVariation(freq, expected);
    if (tv <= maxTV) return;
    const plain = softmax(cs.logits, 1);
    const variants: [ArrayLike<number>, string][] = [
      [softmax(cs.logits, 1), 'these look like samples from softmax(logits): the temperature has no effect. Divide the LOGITS by T before the softmax (scaling the probabilities afterwards is undone by the normalisation).'],
      [softmax(cs.logits, 1 / cs.temperature), 'the logits seem to be multiplied by T; divide them by T.'],
      [unnormalisedCumulative(Array.from(plain, (p) => p / cs.temperature)), 'the probabilities were divided by T after the softmax, so they no longer sum to 1: divide the logits by T before the softmax.'],
      [Array.from({ length: V }, () => 1 / V), 'the samples are uniform: the logits are ignored.'],
      [Array.from({ length: V }, (_, i) => (i === cs.logits.indexOf(Math.max(...cs.logits)) ? 1 : 0)), 'always the most likely character: sample from the distribution, don\'t take the argmax.'],
    ];
    let hint = '';
    const v = variants.find(([dist]) => totalVariation(freq, dist) <= maxTV && totalVariation(dist, expected) > maxTV);
    if (v) hint = ` Hint: ${v[1]}`;
    else if (cs.logits.some((l) => Math.abs(l / cs.temperature) > 700)) hint = ' Hint: here logits / T exceed 700, so exp overflows to Infinity: subtract the largest scaled logit before exponentiating (softmax does not change).';
    fail(`the frequencies of ${N} samples, ${fmtList(freq)}, are far from softmax(logits / T) = ${fmtList(expected)} (total variation ${fmt(tv)} > ${maxTV}).${hint}`);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: ${N} samples per test follow softmax(logits / T) (total variation ≤ ${maxTV}), reproducibly from the seed.`;
}

function checkPerplexity(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  type Case = { logits: number[][]; targets: number[]; name: string };
  const random = (Tn: number, V: number, scale: number): Case => ({
    logits: Array.from({ length: Tn }, () => Array.from({ length: V }, () => rng.normal(0, scale))),
    targets: Array.from({ length: Tn }, () => rng.int(V)),
    name: `${Tn} steps, ${V} characters`,
  });
  const cases: Case[] = ctx.hidden
    ? [random(randint(rng, 3, 9), randint(rng, 3, 8), 2), { logits: Array.from({ length: 3 }, () => new Array(11).fill(0.5)), targets: [1, 4, 10], name: 'uniform over 11' },
      { logits: [[900, 0, -900, 3], [5, 880, 870, 0]], targets: [0, 2], name: 'large logits' }, random(6, 5, 4)]
    : [random(5, 4, 1.5), { logits: Array.from({ length: 4 }, () => new Array(7).fill(0)), targets: [0, 3, 6, 2], name: 'uniform over 7' },
      { logits: [[1000, 0, -1000], [800, 790, 0]], targets: [0, 1], name: 'large logits' }];
  cases.forEach((cs, k) => {
    ctx.label = `test ${k + 1} of ${cases.length} (${cs.name})`;
    const expected = libPerplexity(charCrossEntropy(cs.logits, cs.targets));
    const got = ctx.call(() => fn(cs.logits.map((r) => r.slice()), cs.targets.slice()));
    const value = isTensor(got) ? read(got, 'the perplexity').data[0] : got;
    if (typeof value !== 'number') fail(`return a number; got ${describe(got)}`);
    if (Math.abs(value - expected) <= 1e-6 * Math.abs(expected)) return;
    const ce = charCrossEntropy(cs.logits, cs.targets);
    const variants: [number, string][] = [
      [ce, 'that is the mean cross-entropy; the perplexity is its exponential, exp(CE).'],
      [Math.exp(ce * cs.targets.length), 'average the cross-entropy over the time steps before the exponential (this is exp of the sum).'],
      [2 ** ce, 'the cross-entropy is in nats (natural log), so perplexity = e^CE, not 2^CE.'],
      [Math.exp(cs.logits.reduce((s, row, t) => s - row[cs.targets[t]], 0) / cs.targets.length), 'the logits must be normalised first: −log p = log Σ_j exp(z_j) − z_target.'],
    ];
    const v = variants.find(([val]) => Math.abs(val - value) <= 1e-6 * Math.abs(val));
    let hint = v ? ` Hint: ${v[1]}` : '';
    if (!v && !Number.isFinite(value) && cs.name === 'large logits') hint = ' Hint: exp(1000) overflows to Infinity; compute log Σ exp(z) as max + log Σ exp(z − max) (logsumexp).';
    fail(`expected perplexity ${fmt(expected)}, got ${fmt(value)} (relative tolerance 1e-6).${hint}`);
  });
  ctx.label = '';
  return `all ${cases.length} tests pass: the perplexity equals exp(mean cross-entropy) from the library, also for logits as large as 1000.`;
}

type ClipFn = (g: tf.NamedTensorMap, maxNorm: number) => { grads: tf.NamedTensorMap; norm: number };

function checkTrainingLoop(fn: StudentFn, ctx: Ctx): string {
  const rng = ctx.rng;
  const cs = ctx.hidden
    ? { V: randint(rng, 4, 7), n: randint(rng, 5, 9), T: randint(rng, 4, 7), B: randint(rng, 2, 4), batches: 3, epochs: 2 }
    : { V: 5, n: 8, T: 6, B: 4, batches: 3, epochs: 2 };
  ctx.label = `a character model (V=${cs.V}, n=${cs.n}) on ${cs.batches} batches of [${cs.B}, ${cs.T}] ids, ${cs.epochs} epochs`;
  const modelSeed = 1 + rng.int(1000);
  const ids = () => tf.tensor2d(Array.from({ length: cs.B * cs.T }, () => rng.int(cs.V)), [cs.B, cs.T], 'float32');
  const batches = Array.from({ length: cs.batches }, () => ({ x: ids(), y: ids() }));
  const loss = lossFunction('crossEntropy', true);
  const lr = 0.5;
  const make = () => buildRNN({ vocabSize: cs.V, hiddenSize: cs.n, outputSize: cs.V, topology: 'many-to-many', sequenceLength: cs.T, seed: modelSeed });
  // Clip at half the first step's gradient norm, so the first steps are clipped.
  const probe = make();
  const g0 = computeGradients(probe, batches[0].x, batches[0].y, { loss });
  const maxNorm = 0.5 * globalNorm(Object.values(g0.grads)).dataSync()[0];
  probe.dispose();
  const reference = (v: { clip?: boolean; normAfter?: boolean; epochs?: number } = {}) => {
    const model = make();
    const opt = tf.train.sgd(lr);
    const losses: number[] = [];
    const norms: number[] = [];
    for (let e = 0; e < (v.epochs ?? cs.epochs); e++) {
      for (const b of batches) {
        tf.tidy(() => {
          const r = computeGradients(model, b.x, b.y, { loss });
          // The library's one gradient step (train's too): the same clipping the student's loop must do.
          const s = gradientStep(opt, r.grads, v.clip === false ? {} : { clipNorm: maxNorm });
          losses.push(r.loss.dataSync()[0]);
          norms.push(v.normAfter ? Math.min(s.norm, maxNorm) : s.norm);
        });
      }
    }
    const weights = model.getWeights().map((w) => Float64Array.from(w.dataSync()));
    model.dispose();
    opt.dispose();
    return { losses, norms, weights };
  };
  const ref = reference();
  const model = make();
  const optimizer = tf.train.sgd(lr);
  let clipCalls = 0;
  const clip: ClipFn = (g, mx) => {
    clipCalls++;
    const r = libClipByGlobalNorm(g, mx);
    return { grads: r.grads, norm: r.norm };
  };
  let out: unknown;
  try {
    out = ctx.call(() => fn(model, batches.map((b) => ({ ...b })), { optimizer, maxNorm, epochs: cs.epochs, clip, loss }));
  } catch (e) {
    model.dispose();
    throw e;
  }
  const weights = model.getWeights().map((w) => Float64Array.from(w.dataSync()));
  model.dispose();
  optimizer.dispose();
  if (out == null || typeof out !== 'object' || !('losses' in out) || !('norms' in out)) fail(`return an object { losses, norms } with one entry per step; got ${describe(out)}`);
  const o = out as { losses: unknown; norms: unknown };
  const toNums = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v)) fail(`${what} must be an array of numbers (one per step); got ${describe(v)}`);
    return v.map((x, i) => (isTensor(x) ? read(x, `${what}[${i}]`).data[0] : typeof x === 'number' ? x : fail(`${what}[${i}] must be a number; got ${describe(x)}`)));
  };
  const losses = toNums(o.losses, 'losses');
  const norms = toNums(o.norms, 'norms');
  const steps = cs.epochs * cs.batches;
  const tol: Tol = { atol: 1e-4, rtol: 1e-3 };
  const lazy = <T>(f: () => T) => { let v: T | undefined; return () => (v ??= f()); };
  const noClip = lazy(() => reference({ clip: false }));
  const oneEpoch = lazy(() => reference({ epochs: 1 }));
  const after = lazy(() => reference({ normAfter: true }));
  if (clipCalls === 0) fail(`opts.clip was never called: clip the gradients with opts.clip(grads, opts.maxNorm) before applying them at every step.`);
  if (losses.length !== steps || norms.length !== steps) {
    const hint = losses.length === cs.batches ? ' Hint: loop over the epochs too (opts.epochs passes over the batches).' : '';
    fail(`expected ${steps} losses and norms (${cs.epochs} epochs × ${cs.batches} batches); got ${losses.length} and ${norms.length}.${hint}`);
  }
  const problems: string[] = [];
    const hints: string[] = [];
  const lm = mismatch(losses, ref.losses, tol);
  if (lm) {
    const hint = close(losses, noClip().losses, tol) ? ' Hint: these are the losses of training without clipping: apply the clipped gradients, not the raw ones.' : '';
    problems.push(`losses differ from the reference run: step ${lm.index + 1} expected ${fmt(ref.losses[lm.index])}, got ${fmt(losses[lm.index])}.${hint}`);
  }
  const nm = mismatch(norms, ref.norms, tol);
  if (nm) {
    const hint = close(norms, after().norms, tol) ? ' Hint: record the norm BEFORE clipping (the clip function returns it); after clipping it is never above maxNorm.' : '';
    problems.push(`norms differ from the reference run: step ${nm.index + 1} expected ${fmt(ref.norms[nm.index])}, got ${fmt(norms[nm.index])}.${hint}`);
  }
  const flat = (ws: Float64Array[]) => Float64Array.from(ws.flatMap((w) => Array.from(w)));
  const wm = mismatch(flat(weights), flat(ref.weights), tol);
  if (wm) {
    const w = flat(weights);
    let hint = '';
    if (close(w, flat(noClip().weights), tol)) hint = ' Hint: the weights moved as without clipping: pass the CLIPPED gradients to optimizer.applyGradients.';
    else if (close(w, flat(oneEpoch().weights), tol)) hint = ' Hint: the weights are those after one epoch: loop over opts.epochs.';
    else if (close(w, flat(reference({ epochs: 0 }).weights), tol)) hint = ' Hint: the weights did not change: apply the gradients with opts.optimizer.applyGradients(clipped.grads).';
    problems.push(`after training, the weights differ from the reference run's by up to ${fmt(wm.diff)}.${hint}`);
  }
  if (problems.length) failWith(problems, hints);
  ctx.label = '';
  return `the losses, the gradient norms and the trained weights match the reference loop (computeGradients + clipByGlobalNorm + SGD) over ${steps} steps.`;
}

// ---------------------------------------------------------------------------------------------
// The check object
// ---------------------------------------------------------------------------------------------

type Check = (fn: StudentFn, options?: CheckOptions) => CheckResult;

/**
 * The homework checks, one per exercise. Each runs your function on random inputs (seeded) against
 * the library's reference, prints a pass line with the points or what is wrong, and returns
 * `{ exercise, points, maxPoints, passed, message }`. It never throws because your function is wrong
 * or throws; only misuse (e.g. passing something that is not a function) throws.
 *
 * Signatures expected (column vectors: x [m, B], h [n, B], W_xh [n, m], W_hh [n, n], b_h [n, 1]):
 * - `rnnStepForward(x, hPrev, Wxh, Whh, bh) → h`
 * - `rnnStepBackward(dh, x, hPrev, h, Wxh, Whh) → { dx, dhPrev, dWxh, dWhh, dbh }`
 * - `bptt(xs, h0, Wxh, Whh, bh, dhs, cell) → { dWxh, dWhh, dbh, dh0 }` (cell: { forward, backward })
 * - `lstmStepForward(x, hPrev, cPrev, W) → { h, c }` (W: Wxi … Whg, bi … bg)
 * - `gradCheck(f, x, analytic, eps) → { numeric, maxRelError }` (plain number arrays)
 * - `lstmParamCount(m, n) → number`
 * - `clipByGlobalNorm(grads, maxNorm) → { grads, norm }`
 * - `sampleWithTemperature(logits, temperature, rng) → index`
 * - `perplexity(logits, targets) → number`
 * - `trainLoop(model, batches, { optimizer, maxNorm, epochs, clip, loss }) → { losses, norms }`
 *
 * @example
 * ```ts
 * check.rnnStepForward(rnnStepForward);                       // visible tests
 * check.rnnStepForward(rnnStepForward, { hidden: true, seed: 7 });  // the grader's hidden tests
 * ```
 */
export const check: Readonly<Record<ExerciseName, Check>> = Object.freeze({
  rnnStepForward: (fn: StudentFn, options?: CheckOptions) => runCheck('rnnStepForward', fn, options, checkRnnStepForward),
  rnnStepBackward: (fn: StudentFn, options?: CheckOptions) => runCheck('rnnStepBackward', fn, options, checkRnnStepBackward),
  bptt: (fn: StudentFn, options?: CheckOptions) => runCheck('bptt', fn, options, checkBptt),
  lstmStepForward: (fn: StudentFn, options?: CheckOptions) => runCheck('lstmStepForward', fn, options, checkLstmStepForward),
  lstmGradCheck: (fn: StudentFn, options?: CheckOptions) => runCheck('lstmGradCheck', fn, options, checkGradCheck),
  lstmParamCount: (fn: StudentFn, options?: CheckOptions) => runCheck('lstmParamCount', fn, options, checkLstmParamCount),
  clipByGlobalNorm: (fn: StudentFn, options?: CheckOptions) => runCheck('clipByGlobalNorm', fn, options, checkClipByGlobalNorm),
  sampleWithTemperature: (fn: StudentFn, options?: CheckOptions) => runCheck('sampleWithTemperature', fn, options, checkSampleWithTemperature),
  perplexity: (fn: StudentFn, options?: CheckOptions) => runCheck('perplexity', fn, options, checkPerplexity),
  trainingLoop: (fn: StudentFn, options?: CheckOptions) => runCheck('trainingLoop', fn, options, checkTrainingLoop),
});

/**
 * The library's reference implementations used by the checks, for tests and for teachers (not for
 * students' notebooks: using them would skip the exercise).
 */
export const checkReference = Object.freeze({
  rnnStepForward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D) => rnnStepLayer(x, hPrev, Wxh, Whh, bh),
  rnnStepBackward: REFERENCE_RNN_CELL.backward,
  rnnStepRef,
  lstmStepForward: (x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights) => lstmStepLayer(x, h, c, W),
  lstmStepRef,
  lstm64: { random: randomLstm64, loss: lstm64Loss, gradWxf: lstm64GradWxf, forward: lstm64Forward },
});
