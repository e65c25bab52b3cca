/**
 * The course's training loop. It owns the gradient step, because tf.js optimizers have no
 * clipnorm and the lessons need to see (and plot) the gradient norm before and after clipping:
 *
 *   g ← ∇_θ L;   if ‖g‖ > c:  g ← g · c/‖g‖         (clipping by global norm, Pascanu et al. 2013)
 *   θ ← optimizer(θ, g)
 *
 * Full BPTT differentiates through the whole sequence; truncated BPTT (`tbptt: k`) cuts a long
 * sequence into chunks of k steps, carries the state forward between chunks as a constant
 * (no gradient flows past a chunk) and takes one optimizer step per chunk.
 */
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from './backend';
import { recurrentLayers, specOf } from './builders';
import { forwardModel, runModel } from './forward';
import { applyUnchecked, predictUnchecked } from './guard';
import { LossSpec, checkLossFitsHead, lossFunction } from './losses';
import { Rng } from './random';
import { ownedLiveFigure } from './display';
import { interruptible } from './interrupt';
import { checkOptions } from './options';
import { describe } from './describe';
import { DATASET_METADATA_KEYS } from './data';
import { checkAlive, checkFinite, checkInputShape, InputSpec, layoutOf, unravel } from './inputs';

/** Inputs and targets; `x` is a list for seq2seq models ([source, target_in]). */
export interface TrainData {
  x: tf.Tensor | tf.Tensor[];
  y: tf.Tensor;
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Passes over the data. */
  epochs: number;
  /** Sequences per optimizer step. Default 32. */
  batchSize?: number;
  /** 'sgd', 'momentum' (0.9), 'rmsprop' or 'adam'. Default 'adam'. */
  optimizer?: 'sgd' | 'momentum' | 'rmsprop' | 'adam';
  /** Learning rate. Default 0.01 (adam, rmsprop: 0.001·10 works well for these small nets). */
  learningRate?: number;
  /**
   * Loss. Default 'mse', or 'crossEntropy' for models with a softmax head. A custom function is taken
   * to return the mean over the entries of its targets: epoch and validation losses weight each
   * batch's value by the number of target entries.
   */
  loss?: LossSpec;
  /** Rescale the gradient to this global norm when it is larger. */
  clipNorm?: number;
  /** Clip every gradient entry to [−clipValue, clipValue]. */
  clipValue?: number;
  /** Truncated BPTT: chunks of k time steps, state carried forward (many-to-many models). */
  tbptt?: number;
  /** Shuffle the sequences each epoch (seeded). Default true (false with tbptt is not required). */
  shuffle?: boolean;
  /** Seed of the shuffling. Default 1. */
  seed?: number;
  /** Validation data, evaluated after each epoch. */
  validation?: TrainData;
  /** Stop when the validation loss (else the training loss) has not improved by minDelta for `patience` epochs, and restore the best weights. */
  earlyStopping?: { patience: number; minDelta?: number };
  /**
   * Abort between batches; the weights of the last finished step are kept (`stopped: 'aborted'`).
   * The course kernel's Interrupt (■) stops training the same way, whichever comes first (`stopped: 'interrupted'`).
   */
  signal?: AbortSignal;
  /** Print one line per epoch (epoch, loss, samples/s, backend). Default true. */
  verbose?: boolean;
  /** Draw the loss curves live in the notebook. Default false. */
  live?: boolean;
  /** Record each parameter's gradient norm at every step. Default true. */
  recordParamNorms?: boolean;
  /** Called after each epoch with its log. */
  onEpoch?: (log: EpochLog) => void;
}

/** One optimizer step. */
export interface StepLog {
  epoch: number;
  step: number;
  loss: number;
  /** Global gradient norm before clipping. */
  gradNorm: number;
  /** Global gradient norm after clipping. */
  clippedNorm: number;
  clipped: boolean;
  learningRate: number;
  /** Per-parameter gradient norms (before clipping). */
  paramNorms?: Record<string, number>;
}

/** One epoch. */
export interface EpochLog {
  epoch: number;
  /**
   * Training loss of the epoch: each step's batch mean weighted by its number of loss terms (the
   * entries of its targets: samples × real time steps for per-step targets and truncated-BPTT
   * chunks), so it equals the full-data loss when the weights do not move.
   */
  loss: number;
  /** Validation loss after the epoch, over all validation samples (and time steps), weighted the same way. */
  valLoss?: number;
  /** Mean over the epoch's optimizer steps of the global gradient norm before clipping. */
  gradNorm: number;
  /** Fraction of the epoch's optimizer steps that were clipped. */
  clipFraction: number;
  learningRate: number;
  samplesPerSecond: number;
  tensors: number;
  seconds: number;
}

/** What {@link train} returns. */
export interface TrainResult {
  steps: StepLog[];
  epochs: EpochLog[];
  /**
   * Why training ended:
   * - `'completed'`: every epoch ran;
   * - `'early-stopping'`: no improvement for `earlyStopping.patience` epochs; the best weights were restored;
   * - `'aborted'`: `options.signal` was aborted; the weights of the last finished step are kept;
   * - `'interrupted'`: the course kernel's Interrupt (■) was pressed; training stopped at the next batch
   *   (or truncated-BPTT chunk) boundary, the weights of the last finished step are kept, the epoch it
   *   stopped in is not logged (no validation, no `onEpoch`), and the kernel reports the cell as interrupted;
   * - `'non-finite'`: the loss or gradient norm became NaN or infinite; the last good weights were restored.
   */
  stopped: 'completed' | 'early-stopping' | 'aborted' | 'interrupted' | 'non-finite';
  /** A sentence saying so, with numbers. */
  message: string;
  /** The history as a danfo DataFrame (per epoch, or per step). */
  frame(which?: 'epochs' | 'steps'): unknown;
}

function makeOptimizer(name: string, lr: number): tf.Optimizer {
  switch (name) {
    case 'sgd': return tf.train.sgd(lr);
    case 'momentum': return tf.train.momentum(lr, 0.9);
    case 'rmsprop': return tf.train.rmsprop(lr);
    case 'adam': return tf.train.adam(lr);
    default: throw new RangeError(`train: options.optimizer must be 'sgd', 'momentum', 'rmsprop' or 'adam'; got '${name}'`);
  }
}

/**
 * Global L2 norm of a set of gradients, sqrt(Σ_i ‖g_i‖²), computed as m·sqrt(Σ (g/m)²) with
 * m = max |entry| (as `diagnostics` does): squaring float32 entries directly overflows above ~1.8e19
 * and underflows below ~1e−19, the very ranges exploding and vanishing gradients reach. An infinite
 * entry gives Infinity, a NaN entry NaN.
 *
 * @param given gradients of any shapes, as a list or as computeGradients' `{ name: tensor }`
 * @returns a scalar tensor (the caller disposes it)
 * @example
 * ```ts
 * globalNorm([tf.tensor1d([3e19]), tf.tensor1d([4e19])]).dataSync()[0];   // 5e19 (not Infinity)
 * ```
 */
export function globalNorm(given: tf.Tensor[] | tf.NamedTensorMap): tf.Scalar {
  // The same value computeGradients returns (and clipByGlobalNorm takes) works here too.
  const isMap = given !== null && typeof given === 'object' && !Array.isArray(given) && !(given instanceof tf.Tensor);
  const grads: unknown = isMap ? Object.values(given) : given;
  if (!Array.isArray(grads) || grads.some((g) => !(g instanceof tf.Tensor))) {
    throw new TypeError(`globalNorm: grads must be an array of tf.Tensors or an object { name: tf.Tensor } (as computeGradients returns); got ${Array.isArray(grads) ? 'an array with a non-tensor entry' : describe(given)}`);
  }
  const names = isMap ? Object.keys(given) : undefined;
  (grads as tf.Tensor[]).forEach((g, i) => checkAlive('globalNorm', names ? `grads['${names[i]}']` : `grads[${i}]`, g));
  return normOf(grads as tf.Tensor[]);
}

function normOf(grads: tf.Tensor[]): tf.Scalar {
  return tf.tidy(() => {
    if (grads.length === 0) return tf.scalar(0);
    const m = tf.max(tf.stack(grads.map((g) => tf.max(tf.abs(g)))));              // scalar: the largest |entry|
    const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));                   // all-zero gradients: divide by 1
    const scaled = tf.mul(tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(tf.div(g, safe)))))), m);
    // Inf/Inf would be NaN: for non-finite entries the direct sum gives the right Infinity (or NaN).
    const direct = tf.sqrt(tf.addN(grads.map((g) => tf.sum(tf.square(g)))));
    return tf.where(tf.isFinite(m), scaled, direct) as tf.Scalar;
  });
}

/**
 * Clip gradients by global norm: when ‖g‖ > maxNorm, every gradient is multiplied by maxNorm/‖g‖,
 * so the direction is kept and the norm becomes maxNorm. (Comparing the *sum of squares* with the
 * threshold instead, as one slide's pseudo-code does, clips at √threshold — far too early.)
 * The norm is the overflow-safe {@link globalNorm}, so gradients above ~1.8e19 are rescaled, not lost.
 *
 * @example
 * ```ts
 * const { grads, norm, clipped } = clipByGlobalNorm(computeGradients(model, x, y, { loss }).grads, 1);
 * ```
 */
export function clipByGlobalNorm(grads: tf.NamedTensorMap, maxNorm: number): { grads: tf.NamedTensorMap; norm: number; clipped: boolean } {
  if (grads === null || typeof grads !== 'object' || Array.isArray(grads) || Object.values(grads).some((g) => !(g instanceof tf.Tensor))) {
    throw new TypeError('clipByGlobalNorm: grads must be an object { name: tf.Tensor } (as computeGradients returns)');
  }
  if (!(maxNorm > 0)) throw new RangeError(`clipByGlobalNorm: maxNorm must be > 0; got ${maxNorm}`);
  const norm = globalNorm(Object.values(grads));
  const n = norm.dataSync()[0];
  norm.dispose();
  if (!(n > maxNorm)) return { grads: mapValues(grads, (g) => g.clone()), norm: n, clipped: false };
  const scale = maxNorm / n;
  return { grads: mapValues(grads, (g) => tf.mul(g, scale)), norm: n, clipped: true };
}

/** Clip every gradient entry to [−c, c]. */
export function clipByValue(grads: tf.NamedTensorMap, c: number): tf.NamedTensorMap {
  if (!(c > 0)) throw new RangeError(`clipByValue: c must be > 0; got ${c}`);
  return mapValues(grads, (g) => tf.clipByValue(g, -c, c));
}

function mapValues(m: tf.NamedTensorMap, f: (t: tf.Tensor) => tf.Tensor): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(m)) out[k] = f(v);
  return out;
}

function takeRows(t: tf.Tensor | tf.Tensor[], idx: tf.Tensor1D): tf.Tensor | tf.Tensor[] {
  return Array.isArray(t) ? t.map((u) => tf.gather(u, idx)) : tf.gather(t, idx);
}

function firstOf(t: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(t) ? t[0] : t;
}

/** Options of {@link computeGradients}. */
export interface GradientOptions {
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar;
  /** Initial states per recurrent layer (for truncated BPTT's chunks). */
  initialStates?: (tf.Tensor[] | undefined)[];
}

/**
 * The loss and its gradient with respect to every trainable weight, for one batch — the core of a
 * training step, exposed so that tests and lessons can inspect it. With `initialStates` the model
 * is run by hand from those states (they are constants: no gradient flows into them), and the final
 * states are returned for the next chunk. Unknown option keys and a missing `loss` are errors.
 *
 * @example
 * ```ts
 * const { loss, grads } = computeGradients(model, x, y, { loss: lossFunction('mse') });   // grads: { [variable name]: tensor }
 * ```
 */
export function computeGradients(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: GradientOptions):
  { loss: tf.Scalar; grads: tf.NamedTensorMap; finalStates?: tf.Tensor[][] } {
  checkOptions('computeGradients', options, ['loss', 'initialStates']);
  if (typeof options?.loss !== 'function') throw new TypeError(`computeGradients: options.loss must be a function (yTrue, yPred) => scalar, e.g. lossFunction('mse'); got ${typeof options?.loss}`);
  return gradientsOf(model, x, y, options, false);
}

/**
 * computeGradients' work. `checked`: train checked all of x once before its loop, so each batch skips
 * the model's boundary check (a read-back per step otherwise).
 */
function gradientsOf(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: GradientOptions, checked: boolean):
  { loss: tf.Scalar; grads: tf.NamedTensorMap; finalStates?: tf.Tensor[][] } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let finalStates: tf.Tensor[][] | undefined;
  const { value, grads } = tf.variableGrads(() => {
    if (options.initialStates) {
      const r = (checked ? runModel : forwardModel)(model, firstOf(x), { initialStates: options.initialStates });
      finalStates = r.finalStates.map((s) => s.map((t) => tf.keep(t)));
      return options.loss(y, r.output);
    }
    const out = checked ? applyUnchecked(model, x, { training: true }) : model.apply(x, { training: true });
    return options.loss(y, out as tf.Tensor);
  }, vars);
  return { loss: value, grads, finalStates };
}

function snapshot(model: tf.LayersModel): tf.Tensor[] {
  return model.getWeights().map((w) => w.clone());
}

function restore(model: tf.LayersModel, weights: tf.Tensor[]): void {
  model.setWeights(weights);
}

/** What model input `i` expects: `[batch, time, features]`, token ids `[batch, time]`, or `[batch, features]` (one-to-many). */
function inputSpecOf(model: tf.LayersModel, i: number, tokens: boolean): InputSpec {
  const shape = model.inputs[i].shape.slice(1);                                  // without the batch axis
  return { shape, tokens: tokens && shape.length === 1 };            // builders refuse tokens for one-to-many
}

/**
 * Check `{ x, y }` before anything runs: the keys, tensors, one x per model input with the model's
 * layout, one batch size, and no NaN or Infinity in x (y's values are checked with its layout by
 * {@link checkTargetValues}). Returns the number of sequences.
 */
function checkData(model: tf.LayersModel, data: TrainData, what: string, tokens: boolean): number {
  if (!data || typeof data !== 'object' || Array.isArray(data) || !('x' in data) || !('y' in data)) {
    throw new TypeError(`train: ${what} must be { x, y } with tensors; got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  checkOptions('train', data, ['x', 'y', ...DATASET_METADATA_KEYS], what);
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  if (xs.some((t) => !(t instanceof tf.Tensor)) || !(data.y instanceof tf.Tensor)) {
    throw new TypeError(`train: ${what}.x and ${what}.y must be tf.Tensors`);
  }
  xs.forEach((t, i) => checkAlive('train', xs.length === 1 ? `${what}.x` : `${what}.x[${i}]`, t));
  checkAlive('train', `${what}.y`, data.y);
  const n = xs[0].shape[0];
  for (const [i, t] of [...xs, data.y].entries()) {
    if (t.shape[0] !== n) throw new Error(`train: ${what} tensors must share the batch size: ${what}.x has ${n} sequences but ${i < xs.length ? `${what}.x[${i}]` : `${what}.y`} has ${t.shape[0]}`);
  }
  const expected = model.inputs.length;
  if (xs.length !== expected) throw new Error(`train: ${what}.x must be ${expected === 1 ? 'one tensor' : `a list of ${expected} tensors`}; got ${xs.length}`);
  xs.forEach((t, i) => {
    const name = Array.isArray(data.x) ? `${what}.x[${i}]` : `${what}.x`;
    const spec = inputSpecOf(model, i, tokens);
    checkInputShape('train', name, t, spec);
    checkFinite('train', name, t, layoutOf(spec));
  });
  return n;
}

/** crossEntropy's targets are class ids: an id outside [0, V) would make a one-hot row of zeros, a loss term of 0. */
function checkClassIds(model: tf.LayersModel, y: tf.Tensor, what: string): void {
  const V = model.outputs[0].shape.at(-1) as number;
  const v = y.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= V) {
      const idx = unravel(i, y.shape);
      throw new RangeError(`train: ${what}.y holds class ids for loss 'crossEntropy' and must be integers in [0, ${V}); got ${v[i]} at [${idx.join(', ')}] (shape [${y.shape.join(', ')}], layout ${y.rank === 2 ? '[batch, time]' : '[batch]'} class ids)`);
    }
  }
}

/** The layout of the targets in words, from the model's output and the loss. */
function targetLayout(model: tf.LayersModel, loss: LossSpec): string {
  const out = model.outputs[0].shape;                                   // [null, …]
  if (loss === 'crossEntropy') return out.length === 3 ? '[batch, time] class ids' : '[batch] class ids';
  return out.length === 3 ? '[batch, time, outputs]' : '[batch, outputs]';
}

/**
 * Check targets against the model's output shape before training starts: a mismatch found inside
 * the gradient tape would leave tf.js's intermediate tensors behind.
 */
function checkTargets(model: tf.LayersModel, y: tf.Tensor, loss: LossSpec, what: string): void {
  if (typeof loss === 'function') return;
  const out = model.outputs[0].shape;                                   // [null, …]
  const want = loss === 'crossEntropy' ? out.slice(1, -1) : out.slice(1);
  const got = y.shape.slice(1);
  const fits = want.length === got.length && want.every((d, i) => d === null || d === got[i]);
  if (!fits) {
    const names = ['time', 'outputs'];
    const fmt = (a: (number | null)[]) => `[batch, ${a.map((d, i) => (d === null ? names[i] ?? 'any' : d)).join(', ')}]`.replace(', ]', ']');
    throw new Error(`train: ${what}.y must have shape ${fmt(want)} for loss '${loss}' (the model outputs ${fmt(out.slice(1))}${loss === 'crossEntropy' ? ': targets are class ids' : ''}); got [${y.shape.join(', ')}]`);
  }
}

const TRAIN_KEYS = ['epochs', 'batchSize', 'optimizer', 'learningRate', 'loss', 'clipNorm', 'clipValue', 'tbptt', 'shuffle', 'seed',
  'validation', 'earlyStopping', 'signal', 'verbose', 'live', 'recordParamNorms', 'onEpoch'] as const;

/**
 * Train a builder model (or any tf.LayersModel) with full or truncated BPTT, gradient clipping,
 * validation, early stopping and abort; keep the last good weights if the loss turns NaN.
 *
 * Interrupt (the course kernel's ■) stops it cleanly: it returns with `stopped: 'interrupted'` and
 * the weights of the last finished step, prints its message (when `verbose`) and tells the kernel,
 * which reports the cell as interrupted. Between batches it yields to the event loop, so the kernel
 * (and an `AbortSignal`) can get a word in.
 *
 * @example
 * ```ts
 * const result = await train(model, { x, y }, { epochs: 30, optimizer: 'adam', learningRate: 0.01, clipNorm: 1 });
 * table(result.frame());               // per-epoch history as a danfo DataFrame
 * ```
 */
export async function train(model: tf.LayersModel, data: TrainData, options: TrainOptions): Promise<TrainResult> {
  if (!(model instanceof tf.LayersModel)) throw new TypeError(`train: model must be a tf.LayersModel (e.g. from buildLSTM); got ${typeof model}`);
  checkOptions('train', options, TRAIN_KEYS);
  if (!Number.isInteger(options?.epochs) || options.epochs < 1) throw new RangeError(`train: options.epochs must be a positive integer; got ${options?.epochs}`);
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`train: options.batchSize must be a positive integer; got ${batchSize}`);
  if (options.clipNorm !== undefined && !(options.clipNorm > 0)) throw new RangeError(`train: options.clipNorm must be > 0; got ${options.clipNorm}`);
  if (options.clipValue !== undefined && !(options.clipValue > 0)) throw new RangeError(`train: options.clipValue must be > 0; got ${options.clipValue}`);
  const es = options.earlyStopping;
  if (es !== undefined && es !== null && typeof es === 'object') checkOptions('train', es, ['patience', 'minDelta'], 'options.earlyStopping');
  if (es !== undefined && (!Number.isInteger(es?.patience) || es.patience < 0 || !((es.minDelta ?? 0) >= 0))) {
    throw new RangeError(`train: options.earlyStopping must be { patience: an integer >= 0, minDelta?: a number >= 0 }; got ${JSON.stringify(es)}`);
  }
  let spec: ReturnType<typeof specOf> | undefined;
  try { spec = specOf(model); } catch { spec = undefined; }
  const tokens = spec?.vocabSize !== undefined;
  const N = checkData(model, data, 'data', tokens);
  if (options.validation !== undefined) checkData(model, options.validation, 'validation', tokens);
  const lossName = options.loss ?? (spec?.outputActivation === 'softmax' ? 'crossEntropy' : 'mse');
  checkLossFitsHead('train', lossName, model);
  checkTargets(model, data.y, lossName, 'data');
  checkFinite('train', 'data.y', data.y, targetLayout(model, lossName));
  if (lossName === 'crossEntropy') checkClassIds(model, data.y, 'data');
  if (options.validation !== undefined) {
    checkTargets(model, options.validation.y, lossName, 'validation');
    checkFinite('train', 'validation.y', options.validation.y, targetLayout(model, lossName));
    if (lossName === 'crossEntropy') checkClassIds(model, options.validation.y, 'validation');
  }
  const loss = lossFunction(lossName);
  const lr = options.learningRate ?? 0.01;
  if (!(lr > 0)) throw new RangeError(`train: options.learningRate must be > 0; got ${lr}`);
  const k = options.tbptt;
  if (k !== undefined) {
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`train: options.tbptt (chunk length k) must be a positive integer; got ${k}`);
    if (!spec || spec.topology !== 'many-to-many') throw new Error(`train: options.tbptt (truncated BPTT) needs a many-to-many builder model (targets at every step); got ${spec ? `topology '${spec.topology ?? 'many-to-one'}'` : 'a model without builder metadata'}`);
    if (spec.bidirectional) throw new Error('train: truncated BPTT cannot carry a backward direction\'s state forward; use bidirectional: false');
  }
  const optimizer = makeOptimizer(options.optimizer ?? 'adam', lr);   // after every check: an optimizer holds tensors
  const rng = new Rng(options.seed ?? 1);
  const verbose = options.verbose ?? true;
  const recordNorms = options.recordParamNorms ?? true;
  const steps: StepLog[] = [];
  const epochs: EpochLog[] = [];
  const live = options.live ? ownedLiveFigure() : undefined;     // closed below, also after an interrupt
  const varNames = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
  const shortName = new Map(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.originalName ?? w.name]));
  let stopped: TrainResult['stopped'] = 'completed';
  let message = '';
  let best = Infinity;
  let bestWeights: tf.Tensor[] | undefined;
  let sinceBest = 0;
  let lastGood = snapshot(model);
  let step = 0;
  let badNorm = NaN;                                             // the gradient norm of a refused step

  const applyStep = (grads: tf.NamedTensorMap, lossValue: number, epoch: number): boolean => {
    const values = varNames.map((n) => grads[n]);
    const normT = globalNorm(values);
    const gradNorm = normT.dataSync()[0];
    normT.dispose();
    if (!Number.isFinite(lossValue) || !Number.isFinite(gradNorm)) { badNorm = gradNorm; return false; }
    let paramNorms: Record<string, number> | undefined;
    if (recordNorms) {
      paramNorms = {};
      const norms = tf.tidy(() => tf.stack(values.map((g) => globalNorm([g]))).dataSync());   // overflow-safe per parameter
      varNames.forEach((n, i) => { paramNorms![shortName.get(n) ?? n] = norms[i]; });
    }
    let g = grads;
    let clipped = false;
    let clippedNorm = gradNorm;
    let normBefore = gradNorm;                                   // the norm clipNorm compares: after value clipping, if any
    if (options.clipValue !== undefined) {
      g = clipByValue(g, options.clipValue);
      const nv = globalNorm(Object.values(g));
      normBefore = nv.dataSync()[0];
      nv.dispose();
    }
    if (options.clipNorm !== undefined && normBefore > options.clipNorm) {
      const scale = options.clipNorm / normBefore;
      const scaled = mapValues(g, (t) => tf.mul(t, scale));
      if (g !== grads) tf.dispose(Object.values(g));
      g = scaled;
      clipped = true;
    }
    if (options.clipValue !== undefined || clipped) {
      const n2 = globalNorm(Object.values(g));
      clippedNorm = n2.dataSync()[0];
      n2.dispose();
      clipped = clipped || clippedNorm < gradNorm;
    }
    tf.dispose(lastGood);
    lastGood = snapshot(model);
    optimizer.applyGradients(g);
    if (g !== grads) tf.dispose(Object.values(g));
    steps.push({ epoch, step: step++, loss: lossValue, gradNorm, clippedNorm, clipped, learningRate: lr, paramNorms });
    return true;
  };

  const evaluate = (d: TrainData): number => tf.tidy(() => {
    const n = firstOf(d.x).shape[0];
    let total = 0, terms = 0;
    for (let i = 0; i < n; i += batchSize) {
      const idx = tf.range(i, Math.min(n, i + batchSize), 1, 'int32') as tf.Tensor1D;
      const xb = takeRows(d.x, idx);
      const yb = tf.gather(d.y, idx);
      total += loss(yb, predictUnchecked(model, xb) as tf.Tensor).dataSync()[0] * yb.size;   // batch mean × its loss terms
      terms += yb.size;
    }
    return total / terms;
  });

  const op = interruptible('train', options.signal);
  /** The batch being worked on and its carried truncated-BPTT states: freed by release if a step is cut short. */
  let batchTensors: tf.Tensor[] = [];
  let states: (tf.Tensor[] | undefined)[] | undefined;
  // Also when a step throws (e.g. a custom loss failing), and when the kernel stopped JavaScript in the
  // middle of a step (no `finally` runs then; the kernel calls this): nothing this call made may outlive it.
  const release = () => {
    tf.dispose(batchTensors);
    if (states) tf.dispose(states.flat().filter((t): t is tf.Tensor => !!t));
    tf.dispose(lastGood);
    tf.dispose(bestWeights ?? []);
    optimizer.dispose();
    // tf.js 4.22: MomentumOptimizer.dispose() forgets the learning-rate scalar `c` of its SGD base class
    // (one tensor leaked per train call); disposing it again is harmless for the other optimizers.
    tf.dispose((optimizer as unknown as { c?: tf.Tensor }).c ?? []);
  };
  op.onAbandon(release, 'the model may hold a partly applied step');
  const interruptedIn = (epoch: number) => {
    stopped = 'interrupted';
    message = `train interrupted in epoch ${epoch}/${options.epochs} after ${step} steps; the weights of the last finished step are kept`;
  };
  try {
  // Interrupt already pressed in this cell (a loop of train calls whose first one stopped): start
  // nothing, and end the cell, rather than return an untrained result the loop would go on with.
  if (op.reason === 'interrupt') op.throwIfStopped('0 steps: Interrupt was pressed earlier in this cell, so it did not start');
  outer:
  for (let epoch = 1; epoch <= options.epochs; epoch++) {
    const t0 = performance.now();
    const order = options.shuffle === false ? Array.from({ length: N }, (_, i) => i) : rng.permutation(N);
    let lossSum = 0, lossTerms = 0, normSum = 0, clips = 0, stepsThisEpoch = 0;
    for (let b = 0; b < N; b += batchSize) {
      const why = op.reason;                                     // interrupt or signal, whichever came
      if (why === 'interrupt') { interruptedIn(epoch); break outer; }
      if (why === 'signal') {
        stopped = 'aborted';
        message = `training aborted in epoch ${epoch} after ${step} steps; the weights of the last finished step are kept`;
        break outer;
      }
      const idx = tf.tensor1d(order.slice(b, b + batchSize), 'int32');
      const xb = takeRows(data.x, idx);
      const yb = tf.gather(data.y, idx);
      const chunks: [tf.Tensor | tf.Tensor[], tf.Tensor][] = [];
      if (k === undefined) {
        chunks.push([xb, yb]);
      } else {
        const T = firstOf(xb).shape[1] as number;
        for (let s = 0; s < T; s += k) {
          const len = Math.min(k, T - s);
          const xc = tf.slice(firstOf(xb), [0, s], [-1, len]);
          const yc = tf.slice(yb, [0, s], [-1, len]);
          chunks.push([xc, yc]);
        }
      }
      states = k === undefined ? undefined : recurrentLayers(model).map(() => undefined);
      batchTensors = [idx, ...(Array.isArray(xb) ? xb : [xb]), yb,
        ...chunks.flatMap(([xc, yc]) => (xc === xb ? [] : [...(Array.isArray(xc) ? xc : [xc]), yc]))];
      let ok = true;
      let interrupted = false;
      for (const [c, [xc, yc]] of chunks.entries()) {
        // Each truncated-BPTT chunk is a step of its own: a long batch stops between them.
        if (c > 0 && op.reason === 'interrupt') { interrupted = true; break; }
        const r = gradientsOf(model, xc, yc, { loss, initialStates: states }, true);   // x, y checked once above
        const lv = r.loss.dataSync()[0];
        ok = applyStep(r.grads, lv, epoch);
        tf.dispose([r.loss, ...Object.values(r.grads)]);
        if (states) tf.dispose(states.flat().filter((t): t is tf.Tensor => !!t));
        states = r.finalStates;                                  // constants for the next chunk: truncated
        if (!ok) {
          restore(model, lastGood);
          stopped = 'non-finite';
          const what = Number.isFinite(lv) ? `gradient norm became ${Number.isNaN(badNorm) ? 'NaN' : 'infinite'}` : `loss became ${Number.isNaN(lv) ? 'NaN' : 'infinite'}`;
          message = `training stopped in epoch ${epoch} at step ${step}: the ${what} (loss ${lv}, ‖g‖ ${badNorm}); the last good weights were restored. Try a smaller learning rate or clipNorm.`;
          break;
        }
        lossSum += lv * yc.size; lossTerms += yc.size;             // weighted: a short batch or chunk counts for its terms only
        normSum += steps[steps.length - 1].gradNorm;
        clips += steps[steps.length - 1].clipped ? 1 : 0;
        stepsThisEpoch++;
      }
      if (states) tf.dispose(states.flat().filter((t): t is tf.Tensor => !!t));
      states = undefined;
      tf.dispose(batchTensors);                                  // the batch, and its truncated-BPTT chunks
      batchTensors = [];
      if (!ok) break outer;
      if (interrupted) { interruptedIn(epoch); break outer; }
      // Let an abort, the kernel's SIGINT handler and its messages get a word in: keep this yield.
      await new Promise((r) => setImmediate(r));
    }
    // Interrupted during the epoch's last batch: nothing more runs or prints (no validation, no onEpoch).
    if (op.reason === 'interrupt') { interruptedIn(epoch); break; }
    const seconds = (performance.now() - t0) / 1000;
    const log: EpochLog = {
      epoch, loss: lossTerms > 0 ? lossSum / lossTerms : NaN, gradNorm: normSum / Math.max(1, stepsThisEpoch),
      clipFraction: clips / Math.max(1, stepsThisEpoch), learningRate: lr, samplesPerSecond: N / seconds,
      tensors: tf.memory().numTensors, seconds,
    };
    if (options.validation) log.valLoss = evaluate(options.validation);
    epochs.push(log);
    options.onEpoch?.(log);
    if (verbose) {
      console.log(`epoch ${String(epoch).padStart(String(options.epochs).length)}/${options.epochs}  loss ${log.loss.toFixed(4)}` +
        `${log.valLoss !== undefined ? `  val ${log.valLoss.toFixed(4)}` : ''}  ‖g‖ ${log.gradNorm.toFixed(3)}` +
        `${options.clipNorm !== undefined ? `  clipped ${(100 * log.clipFraction).toFixed(0)}%` : ''}  ${Math.round(log.samplesPerSecond)} samples/s  ${backendInfo()?.name ?? tf.getBackend()}`);
    }
    live?.update(curvesFigure(epochs));
    if (options.earlyStopping) {
      const monitored = log.valLoss ?? log.loss;
      if (monitored < best - (options.earlyStopping.minDelta ?? 0)) {
        best = monitored; sinceBest = 0;
        tf.dispose(bestWeights ?? []);
        bestWeights = snapshot(model);
      } else if (++sinceBest >= options.earlyStopping.patience) {
        stopped = 'early-stopping';
        message = `early stopping after epoch ${epoch}: no improvement for ${options.earlyStopping.patience} epochs; best ${log.valLoss !== undefined ? 'validation ' : ''}loss ${best.toFixed(4)} restored`;
        restore(model, bestWeights!);
        break;
      }
    }
  }
  // Interrupted during the last epoch's validation or onEpoch: still an interrupted run for the kernel.
  if (stopped === 'completed' && op.reason === 'interrupt') interruptedIn(options.epochs);
  live?.close(curvesFigure(epochs));
  if ((stopped as TrainResult['stopped']) === 'interrupted') {     // set inside interruptedIn: TS does not see it
    if (verbose) console.log(message);
    op.reportReturned(message);                                  // before op.end(): told once, as interrupted
  }
  } finally {
    op.end();
    release();
  }
  if (stopped === 'completed') message = `trained ${epochs.length} epochs, ${step} steps; final loss ${epochs.at(-1)?.loss.toFixed(4)}`;
  if (stopped !== 'completed' && (stopped as TrainResult['stopped']) !== 'interrupted' && verbose) console.log(message);
  return {
    steps, epochs, stopped, message,
    frame(which: 'epochs' | 'steps' = 'epochs') {
      // danfo is loaded only when a table is wanted: it is large and most scripts never need it.
      const dfd = require('danfojs-node') as { DataFrame: new (rows: object[]) => unknown };
      const rows = which === 'epochs' ? epochs : steps.map(({ paramNorms, ...s }) => ({ ...s, ...(paramNorms ? Object.fromEntries(Object.entries(paramNorms).map(([n, v]) => [`‖g‖ ${n}`, v])) : {}) }));
      return new dfd.DataFrame(rows.map((r) => ({ ...r })));
    },
  };
}

/** The live figure of {@link train}: loss and validation loss per epoch. */
function curvesFigure(epochs: EpochLog[]) {
  const x = epochs.map((e) => e.epoch);
  const data: Record<string, unknown>[] = [{ x, y: epochs.map((e) => e.loss), type: 'scatter', mode: 'lines', name: 'loss' }];
  if (epochs.some((e) => e.valLoss !== undefined)) data.push({ x, y: epochs.map((e) => e.valLoss ?? null), type: 'scatter', mode: 'lines', name: 'validation' });
  return { data, layout: { title: { text: 'training' }, xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: 'loss' }, type: 'log' }, height: 320 } };
}
