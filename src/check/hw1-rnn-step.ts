/**
 * Homework 1 (homework/hw1-rnn-step.ipynb): the vanilla RNN step forward and backward, and
 * backpropagation through time. References: the library's Elman cell (rnnLayer / RNN_FAMILY) and
 * automatic differentiation of it; the hand-written variants exist only to recognise known mistakes.
 *
 * Lecture: h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h), x_t [m, B], h_t [n, B], W_xh [n, m], W_hh [n, n], b_h [n, 1].
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { Rng } from '../random';
import { RNN_FAMILY } from '../rnn';
import { cellDefaults } from '../family';
import { rnnLayer } from '../layers';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { Variant, TOL_F32, expectShape, hintFor, mismatch, mismatchText, read, tolText } from './compare';
import { RnnCase, T, rnnCases, withLectureLayer } from './column';
import { trustedHelper } from './library-answers';

/** What implements the step in the library (calling it skips exercises 1–3). */
const STEP_ANSWERS = ['RNN_FAMILY.step', 'rnnLayer'] as const;

/** h_t of the library's Elman cell for column batches: x [m, B], hPrev [n, B] → [n, B]. */
export function rnnStepRef(x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor): tf.Tensor2D {
  const xp = tf.add(tf.matMul(x, Wxh, true, true), tf.reshape(bh, [1, -1])) as tf.Tensor2D;   // [B, n] = xᵀ W_xhᵀ + b_hᵀ
  const r = RNN_FAMILY.step(xp, { h: T(hPrev) }, { recurrentKernel: T(Whh) }, cellDefaults());
  return T(r.h);
}

/** h_t through the library's rnnLayer: setLectureWeights + layer.step. */
export function rnnStepLayer(x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor): tf.Tensor2D {
  const [n, m] = Wxh.shape;
  return withLectureLayer(rnnLayer({ units: n, checkInput: false }), m, { Wxh, Whh, bh }, (layer) => T(layer.step(T(x), { h: T(hPrev) }).h));
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
export const REFERENCE_RNN_CELL = trustedHelper({
  forward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D) => rnnStepRef(x, hPrev, Wxh, Whh, bh),
  backward: (dh: tf.Tensor2D, x: tf.Tensor2D, hPrev: tf.Tensor2D, h: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D) => {
    // δ = dh ⊙ (1 − h²) and the five products; checked against autodiff in the unit tests.
    const r = rnnStepGradsVariant(dh, x, hPrev, h, Wxh, Whh, {});
    return { dx: r.dx, dhPrev: r.dhPrev, dWxh: r.dWxh, dWhh: r.dWhh, dbh: r.dbh };
  },
});   // trustedHelper: the library's steps, called by the student's bptt, do not count as the student's calls

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


/** The exercises of homework 1. */
export const HW1_RNN_STEP = defineHomework({
  rnnStepForward: { homework: 'hw1-rnn-step', fn: 'rnnStepForward', maxPoints: 2, title: 'vanilla RNN step, forward', visibleSeed: 101, run: checkRnnStepForward, libraryAnswers: STEP_ANSWERS },
  rnnStepBackward: { homework: 'hw1-rnn-step', fn: 'rnnStepBackward', maxPoints: 4, title: 'vanilla RNN step, backward', visibleSeed: 102, run: checkRnnStepBackward, libraryAnswers: STEP_ANSWERS },
  bptt: { homework: 'hw1-rnn-step', fn: 'bptt', maxPoints: 4, title: 'backpropagation through time', visibleSeed: 103, run: checkBptt, libraryAnswers: [...STEP_ANSWERS, 'computeGradients'] },
} as const);
