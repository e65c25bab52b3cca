/**
 * Homework 3 (homework/hw3-char-lm.ipynb): a character language model — clipping by the global
 * norm, sampling with temperature, perplexity, and a training loop with clipping. References: the
 * library's clipByGlobalNorm, softmax, charCrossEntropy/perplexity, and a reference loop
 * (computeGradients + clipByGlobalNorm + SGD) on a buildRNN model.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { Rng } from '../random';
import { softmax, charCrossEntropy, perplexity as libPerplexity } from '../text';
import { clipByGlobalNorm as libClipByGlobalNorm, computeGradients, globalNorm, gradientStep } from '../train';
import { lossFunction } from '../losses';
import { buildRNN } from '../builders';
import { Ctx, StudentFn, defineHomework, fail, failWith, randint, randn } from './exercise';
import { libraryCall } from './library-answers';
import { Tol, Variant, close, expectShape, fmt, fmtList, hintFor, isTensor, mismatch, mismatchText, read } from './compare';

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
  // The library's clipping, handed to the student's loop: its calls are the check's, not the student's.
  const clip: ClipFn = (g, mx) => {
    clipCalls++;
    const r = libraryCall(() => libClipByGlobalNorm(g, mx));
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
  if (problems.length) failWith(problems, []);   // the hints are already in each problem's text
  ctx.label = '';
  return `the losses, the gradient norms and the trained weights match the reference loop (computeGradients + clipByGlobalNorm + SGD) over ${steps} steps.`;
}


/** The exercises of homework 3. */
export const HW3_CHAR_LM = defineHomework({
  clipByGlobalNorm: { homework: 'hw3-char-lm', fn: 'clipByGlobalNorm', maxPoints: 2, title: 'clipping by global norm', visibleSeed: 301, run: checkClipByGlobalNorm, libraryAnswers: ['clipByGlobalNorm', 'globalNorm'] },
  sampleWithTemperature: { homework: 'hw3-char-lm', fn: 'sampleWithTemperature', maxPoints: 3, title: 'sampling with temperature', visibleSeed: 302, run: checkSampleWithTemperature, libraryAnswers: ['softmax', 'sampleText', 'Rng.prototype.choice'] },
  perplexity: { homework: 'hw3-char-lm', fn: 'perplexity', maxPoints: 2, title: 'perplexity', visibleSeed: 303, run: checkPerplexity, libraryAnswers: ['perplexity', 'charCrossEntropy'] },
  trainingLoop: { homework: 'hw3-char-lm', fn: 'trainLoop', maxPoints: 3, title: 'training loop with clipping', visibleSeed: 304, run: checkTrainingLoop, libraryAnswers: ['train', 'gradientStep', 'computeGradients'] },
} as const);
