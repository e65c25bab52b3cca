/**
 * The course's training loop. It owns the gradient step, because tf.js optimizers have no
 * clipnorm and the lessons need to see (and plot) the gradient norm before and after clipping:
 *
 *   g ← ∇_θ L;   if ‖g‖ > c:  g ← g · c/‖g‖         (clipping by global norm, Pascanu et al. 2013)
 *   θ ← optimizer(θ, g)
 *
 * Full BPTT differentiates through the whole sequence; truncated BPTT (`tbptt: k`) cuts it into chunks
 * of k steps, carries the state forward as a constant (no gradient flows past a chunk), takes one optimizer
 * step per chunk and, with variable lengths, scores each chunk's real steps only.
 */
import * as tf from '@tensorflow/tfjs';
import { backendInfo } from './backend';
import { recurrentLayers, specOf } from './builders';
import { checkForwardModel, runModel } from './forward';
import { applyUnchecked, predictUnchecked } from './guard';
import { LossFn, LossSpec, checkLossFitsHead, lossFunction } from './losses';
import { Rng } from './random';
import { ownedLiveFigure } from './display';
import { Interruptible, interruptible } from './interrupt';
import { checkOptions } from './options';
import { describe } from './describe';
import { DATASET_METADATA_KEYS } from './data';
import { disposeLearningRateScalar } from './internals';
import { FusedTrainStep } from './fused/train-step';
import { checkAlive, checkFinite, checkInputShape, firstNonFinite, InputSpec, layoutOf, unravel, checkPositiveInt, shapeText } from './inputs';
import { Lengths, allFull, lengthsFromMask, maskOf } from './lengths';
import { bucketOrder } from './padding';
import { BatchSource, SeqBatch, checkMaskSupport, tokenVocab, dataLengths, isRagged, perStepOutput, raggedSource, tensorSource } from './train-data';
import { Seq2seqLengths, applySeq2seq, isSeq2seq, raggedSeq2seqSource, seq2seqLengths, seq2seqSource } from './train-seq2seq';

/** Sequences of different lengths, unpadded: `number[][]` (token ids, or one number per step) or `number[][][]` (feature vectors). */
export type RaggedSequences = readonly (readonly number[])[] | readonly (readonly (readonly number[])[])[];

/**
 * Inputs and targets; `x` is a list for seq2seq models ([source, target_in]).
 *
 * Variable-length sequences, padded at the end (see `src/lengths.ts`): give `lengths` (`[batch]`,
 * 1 ≤ L_b ≤ T) or `mask` (`[batch, T]`, 1s then 0s) with tensor data, or give `x` (and, for per-step
 * outputs, `y`) as ragged arrays, which train pads per batch. A per-step loss then averages over the
 * real steps only; a many-to-one model's loss reads its output, which is each sequence's last real step.
 */
export interface TrainData {
  /** Inputs `[batch, time, features]` (or token ids `[batch, time]`); a list for seq2seq models. */
  x: tf.Tensor | tf.Tensor[];
  /** Targets. */
  y: tf.Tensor;
  /**
   * Real steps per sequence. A seq2seq model (`x: [source, targetIn]`) takes `{ source, target }`: each
   * source's real steps and each target's (target_in and target share them); a model built with padId
   * reads both from the padding of the token ids when they are not given.
   */
  lengths?: Lengths | Seq2seqLengths;
  /** `[batch, T]`, 1 at real steps then 0; with lengths, both must agree. Not for seq2seq models (two inputs): use lengths. */
  mask?: tf.Tensor;
  /** Where the batch was padded, as padSequences reports it: only 'post' (the end) goes with lengths. */
  padding?: 'post' | 'pre';
}

/**
 * Ragged training data: sequences of different lengths as arrays, which train pads per batch (a type of
 * its own, so that code reading `data.x` of a {@link TrainData} keeps getting a tensor). No `lengths` or
 * `mask`: each row's length is its own.
 *
 * A builder's seq2seq model takes the pair `x: [sources, targetsIn]` and `y: targets`, all three ragged
 * (token ids `number[][]` for a token model, else feature vectors `number[][][]`), with
 * `targetsIn[b].length === targets[b].length` (the decoder's teacher-forced input, ⟨start⟩ then the target
 * without its last step: train does not derive it from `y`, there is no start token in train's
 * options; `reverseDigitsRagged` shows the convention). Each batch pads the sources to its longest source
 * and the targets to its longest target (token ids with the model's padId, or 0 without one; features
 * with 0), and trains as tensor data with `lengths: { source, target }` does.
 *
 * @example
 * ```ts
 * await train(model, { x: [[1, 2], [3, 4, 5]], y: [0, 1] }, { epochs: 5 });    // many-to-one, two token sequences
 * await train(s2s, { x: [[[3, 4], [5, 6, 7]], [[1, 4, 3], [1, 7, 6, 5]]], y: [[4, 3, 2], [7, 6, 5, 2]] }, { epochs: 5 });   // seq2seq pairs
 * ```
 */
export interface RaggedTrainData {
  /** The sequences; for a seq2seq model the pair `[sources, targetsIn]` (row b of each belongs to pair b). */
  x: RaggedSequences | readonly [RaggedSequences, RaggedSequences];
  /** Ragged per-step targets (one per x step; seq2seq: one per targetsIn step), or one target per sequence (number[] class ids, number[][] rows). */
  y: RaggedSequences | readonly number[];
}

/**
 * What {@link train} accepts: tensors (with optional lengths or mask, {@link TrainData}) or ragged arrays
 * ({@link RaggedTrainData}; for a seq2seq model `{ x: [sources, targetsIn], y: targets }`).
 */
export type TrainInput = TrainData | RaggedTrainData;

/** Either form, as train's checks read it (every field possibly present, checked before use). */
type AnyTrainData = { x: TrainData['x'] | RaggedTrainData['x']; y: TrainData['y'] | RaggedTrainData['y']; lengths?: Lengths | Seq2seqLengths; mask?: tf.Tensor };

/** Options of {@link train}. */
export interface TrainOptions {
  /** Passes over the data. */
  epochs: number;
  /** Sequences per optimizer step. Default 32. */
  batchSize?: number;
  /** 'sgd', 'momentum' (0.9), 'rmsprop' or 'adam'. Default 'adam'. */
  optimizer?: OptimizerName;
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
  /**
   * Truncated BPTT (Williams & Peng 1990; Keras' stateful RNNs, PyTorch's detached hidden state): each
   * batch is cut into chunks of k time steps, one optimizer step per chunk, the states carried from chunk
   * to chunk as constants (no gradient flows past a chunk's start). Many-to-many, unidirectional models.
   *
   * With lengths, a mask or ragged data, chunk [s, s + k) holds clamp(L_b − s, 0, k) real steps of
   * sequence b: the chunk's loss is the mean over those real steps; a sequence that ended before the
   * chunk keeps its state (the one after its step L_b) and adds nothing to the loss or the gradient,
   * whatever its padded x and y hold; a chunk past every sequence's end is skipped. The epoch loss weights
   * each chunk's mean by its real steps (× outputs per step), so it is the mean over all real steps of
   * the epoch, never an unweighted mean of chunk means.
   */
  tbptt?: number;
  /** Shuffle the sequences each epoch (seeded). Default true (false with tbptt is not required). */
  shuffle?: boolean;
  /** Seed of the shuffling. Default 1. */
  seed?: number;
  /**
   * Batches of similar lengths (needs lengths, a mask or ragged data): rows sorted by length with ties
   * shuffled, cut into batches, the batches' order shuffled, a new draw each epoch (seeded; see
   * `bucketBatches`). Fewer padded steps per batch; batches less random. Default false.
   */
  bucketByLength?: boolean;
  /** With bucketByLength: lengths L and L' share a bucket when ⌈L/w⌉ = ⌈L'/w⌉. Default 1. */
  bucketWidth?: number;
  /** Validation data, evaluated after each epoch. */
  validation?: TrainInput;
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
  /**
   * Run each optimizer step as one fused call (src/fused/train-step.ts): forward through every layer,
   * the head and the loss, BPTT, clipping and the optimizer update on plain arrays, the weights written
   * back to the model's variables after every step. Default (undefined): wherever it covers the model
   * and the options — builder models with feature or token inputs, many-to-one or many-to-many, zero
   * initial states, layers on the fused kernels, with or without dropout, the built-in losses, no tbptt; `false`: the tf.js ops path
   * (layers still run their fused kernels); `true`: required, an error saying why when it cannot run.
   * {@link TrainResult.stepPath} says which ran. Both compute the same step (to float32 rounding).
   */
  fusedStep?: boolean;
}

/** One optimizer step. */
export interface StepLog {
  /** The epoch, counted from 1. */
  epoch: number;
  /** The step's index in the whole run, counted from 0. */
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
  /**
   * Wall-clock seconds of the step: gathering its batch, forward, backward, clipping and the update
   * (with truncated BPTT, the batch's gathering counts toward its first chunk's step). What comes between
   * steps (the yield to the kernel, the epoch's bookkeeping and validation) is in no step's time but in
   * the epoch's `seconds`.
   */
  seconds: number;
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
  /** How each step ran: 'fused' (one call per step, {@link TrainOptions.fusedStep}) or 'tf.js' (tf.js ops around the layers). */
  stepPath: 'fused' | 'tf.js';
  /** Why that path: what the fused step does not cover, `options.fusedStep: false`, or that it covers this run. */
  stepPathReason: string;
  /** The history as a danfo DataFrame (per epoch, or per step). */
  frame(which?: 'epochs' | 'steps'): unknown;
}

/** options.optimizer's names. */
const OPTIMIZERS = ['sgd', 'momentum', 'rmsprop', 'adam'] as const;
type OptimizerName = typeof OPTIMIZERS[number];

/** A name of {@link OPTIMIZERS}; anything else (null included) is an error naming the option and what was given. */
function checkOptimizerName(name: unknown): void {
  if ((OPTIMIZERS as readonly unknown[]).includes(name)) return;
  const want = `train: options.optimizer must be ${OPTIMIZERS.slice(0, -1).map((o) => `'${o}'`).join(', ')} or '${OPTIMIZERS.at(-1)}'`;
  // (tf.Optimizer's instanceof reads .minimize off the value: objects only.)
  if (typeof name === 'object' && name !== null && name instanceof tf.Optimizer) throw new TypeError(`${want} (train makes the optimizer, with options.learningRate); got a tf.train optimizer object`);
  if (typeof name !== 'string') throw new TypeError(`${want}; got ${describe(name)}`);
  throw new RangeError(`${want}; got '${name}'`);
}

/** The tf.js optimizer of a name train has checked (checkTrainArgs). */
function makeOptimizer(name: OptimizerName, lr: number): tf.Optimizer {
  switch (name) {
    case 'sgd': return tf.train.sgd(lr);
    case 'momentum': return tf.train.momentum(lr, 0.9);
    case 'rmsprop': return tf.train.rmsprop(lr);
    case 'adam': return tf.train.adam(lr);
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
 * It is {@link gradientStep}'s clipping with `{ clipNorm: maxNorm }`, without the optimizer step.
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
  const norm = normValue(Object.values(grads));
  const c = clipWith(grads, { clipNorm: maxNorm }, norm, false);
  // The caller owns what comes back: unclipped gradients are returned as copies.
  return { grads: c.grads === grads ? mapValues(grads, (g) => g.clone()) : c.grads, norm, clipped: c.clipped };
}

/** Clip every gradient entry to [−c, c]. */
export function clipByValue(grads: tf.NamedTensorMap, c: number): tf.NamedTensorMap {
  if (!(c > 0)) throw new RangeError(`clipByValue: c must be > 0; got ${c}`);
  return mapValues(grads, (g) => tf.clipByValue(g, -c, c));
}

/** How a gradient step clips (the same keys as {@link TrainOptions}): by value first, then by global norm. */
export interface ClipOptions {
  /** Rescale the gradient to this global norm when it is larger (after value clipping, if any). */
  clipNorm?: number;
  /** Clip every gradient entry to [−clipValue, clipValue]. */
  clipValue?: number;
}

/** What {@link gradientStep} did. */
export interface GradientStepResult {
  /** False when `beforeApply` refused the step: the weights were not touched. */
  applied: boolean;
  /** Global gradient norm before clipping (overflow-safe, {@link globalNorm}). */
  norm: number;
  /** Global gradient norm of what was applied (equals `norm` when nothing was clipped). */
  clippedNorm: number;
  /** Whether clipping changed the gradient (its norm went down). */
  clipped: boolean;
}

/**
 * One gradient step, the only clipping path of the library (train, the homework reference and
 * clipByGlobalNorm all go through it):
 *
 *   ‖g‖ = sqrt(Σ_i ‖g_i‖²)  (overflow-safe);   g ← clip(g, ±clipValue);   if ‖g‖ > clipNorm: g ← g · clipNorm/‖g‖;   θ ← optimizer(θ, g)
 *
 * Value clipping runs first and clipNorm compares the norm after it, as Keras' `clipvalue` +
 * `global_clipnorm`; norm clipping follows Pascanu et al. 2013 (PyTorch `clip_grad_norm_`).
 * `beforeApply(norm)` may refuse the step (return false), e.g. on a non-finite norm; train uses it
 * to keep the last good weights. The gradients given are not disposed (the caller owns them).
 *
 * @param optimizer a tf.js optimizer (e.g. tf.train.sgd(0.1))
 * @param grads `{ variable name: gradient }` as {@link computeGradients} returns, each the shape of its variable
 * @param clip `{ clipNorm?, clipValue? }`, each > 0; unknown keys are errors
 * @throws RangeError when clipNorm or clipValue is not > 0
 * @example
 * ```ts
 * const { loss, grads } = computeGradients(model, x, y, { loss: lossFunction('mse') });
 * const { norm, clipped } = gradientStep(tf.train.sgd(0.1), grads, { clipNorm: 1 });
 * tf.dispose([loss, ...Object.values(grads)]);
 * ```
 */
export function gradientStep(optimizer: tf.Optimizer, grads: tf.NamedTensorMap, clip: ClipOptions = {},
  beforeApply?: (norm: number) => boolean): GradientStepResult {
  checkOptions('gradientStep', clip, ['clipNorm', 'clipValue'], 'clip');
  for (const key of ['clipNorm', 'clipValue'] as const) {
    if (clip[key] !== undefined && !(clip[key]! > 0)) throw new RangeError(`gradientStep: clip.${key} must be > 0; got ${clip[key]}`);
  }
  const norm = normValue(Object.values(grads));
  if (beforeApply && !beforeApply(norm)) return { applied: false, norm, clippedNorm: norm, clipped: false };
  const c = clipWith(grads, clip, norm, true);
  optimizer.applyGradients(c.grads);
  if (c.grads !== grads) tf.dispose(Object.values(c.grads));
  return { applied: true, norm, clippedNorm: c.clippedNorm, clipped: c.clipped };
}

/** The global norm as a number. */
function normValue(grads: tf.Tensor[]): number {
  const t = globalNorm(grads);
  const n = t.dataSync()[0];
  t.dispose();
  return n;
}

/**
 * The clipping itself, given the norm before clipping. Returns `grads` itself when nothing changed,
 * else new tensors. `measure`: also compute the norm after clipping (and call a value clipping that
 * lowered it "clipped"); clipByGlobalNorm does not report it, so it skips the extra pass.
 */
function clipWith(grads: tf.NamedTensorMap, clip: ClipOptions, norm: number, measure: boolean):
  { grads: tf.NamedTensorMap; clippedNorm: number; clipped: boolean } {
  let g = grads;
  let clipped = false;
  let normBefore = norm;                                         // the norm clipNorm compares: after value clipping, if any
  if (clip.clipValue !== undefined) {
    g = clipByValue(g, clip.clipValue);
    normBefore = normValue(Object.values(g));
  }
  if (clip.clipNorm !== undefined && normBefore > clip.clipNorm) {
    const scale = clip.clipNorm / normBefore;
    const scaled = mapValues(g, (t) => tf.mul(t, scale));
    if (g !== grads) tf.dispose(Object.values(g));
    g = scaled;
    clipped = true;
  }
  let clippedNorm = norm;
  if (measure && (clip.clipValue !== undefined || clipped)) {
    clippedNorm = normValue(Object.values(g));
    clipped = clipped || clippedNorm < norm;
  }
  return { grads: g, clippedNorm, clipped };
}

function mapValues(m: tf.NamedTensorMap, f: (t: tf.Tensor) => tf.Tensor): tf.NamedTensorMap {
  const out: tf.NamedTensorMap = {};
  for (const [k, v] of Object.entries(m)) out[k] = f(v);
  return out;
}

function firstOf(t: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(t) ? t[0] : t;
}

/** Options of {@link computeGradients}. */
export interface GradientOptions {
  loss: (yTrue: tf.Tensor, yPred: tf.Tensor, mask?: tf.Tensor) => tf.Scalar;
  /** Initial states per recurrent layer (for truncated BPTT's chunks); with `mask`, the chunk's mask. */
  initialStates?: (tf.Tensor[] | undefined)[];
  /**
   * `[batch, T]`, 1s then 0s: the model is called as `model.apply(x, { mask })` and, when its output
   * has a time axis, the loss is called as `loss(y, output, mask)` (the mean over real steps). For a
   * builder's seq2seq model, one mask per input, `[sourceMask [batch, Ts], targetMask [batch, Tt]]`
   * (null for an input without padding): the encoder reads the first, the decoder and the loss the second.
   */
  mask?: tf.Tensor | (tf.Tensor | null)[];
}

/**
 * The loss and its gradient with respect to every trainable weight, for one batch — the core of a
 * training step, exposed so that tests and lessons can inspect it. With `initialStates` the model
 * is run by hand from those states (they are constants: no gradient flows into them), and the final
 * states are returned for the next chunk. With `mask` (variable-length sequences) the model gets the
 * mask and a per-step loss counts the real steps only; with `initialStates` too (a chunk of padded
 * sequences), each row's final state is its state after its last real step of the chunk. Unknown option
 * keys, a missing `loss`, a mask that is not 1s then 0s `[batch, T]` (every row needs a real step: a
 * sequence that ended before the chunk belongs out of it, or see train's `tbptt`), `initialStates` for a
 * seq2seq model, and a mask for a model with a layer that does not support masking are errors.
 *
 * @example
 * ```ts
 * const { loss, grads } = computeGradients(model, x, y, { loss: lossFunction('mse') });   // grads: { [variable name]: tensor }
 * ```
 */
export function computeGradients(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: GradientOptions):
  { loss: tf.Scalar; grads: tf.NamedTensorMap; finalStates?: tf.Tensor[][] } {
  checkOptions('computeGradients', options, ['loss', 'initialStates', 'mask']);
  if (typeof options?.loss !== 'function') throw new TypeError(`computeGradients: options.loss must be a function (yTrue, yPred) => scalar, e.g. lossFunction('mse'); got ${typeof options?.loss}`);
  if (options.mask == null) return gradientsOf(model, x, y, options, false);
  if (options.initialStates && isSeq2seq(model)) throw new Error('computeGradients: options.initialStates (truncated BPTT) is for many-to-one, many-to-many and one-to-many builder models; a seq2seq model passes its states from encoder to decoder itself');
  if (isSeq2seq(model)) return seq2seqGradients(model, x, y, options);
  if (Array.isArray(options.mask)) throw new TypeError('computeGradients: options.mask is a list (one mask per input), which only a builder\'s seq2seq model takes; this model takes one [batch, T] mask');
  checkMaskSupport('computeGradients', model, 'options.mask');
  const first = firstOf(x);
  lengthsFromMask('computeGradients', 'options.mask', options.mask, first.shape[0], first.shape[1] as number);
  const modelMask = tf.cast(options.mask, 'bool');
  try {
    return gradientsOf(model, x, y, options, false, { modelMask, lossMask: perStepOutput(model) ? options.mask : null });
  } finally {
    modelMask.dispose();
  }
}

/** computeGradients for a builder's seq2seq model: `options.mask` is `[sourceMask, targetMask]`. */
function seq2seqGradients(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: GradientOptions):
  { loss: tf.Scalar; grads: tf.NamedTensorMap } {
  const masks = options.mask;
  if (!Array.isArray(masks) || masks.length !== 2) {
    throw new TypeError(`computeGradients: options.mask of a seq2seq model must be [sourceMask [batch, Ts], targetMask [batch, Tt]] (one per input, null for one without padding); got ${describe(masks)}`);
  }
  if (!Array.isArray(x) || x.length !== 2) throw new TypeError(`computeGradients: x of a seq2seq model must be [source, targetIn]; got ${describe(x)}`);
  const names = ['options.mask[0] (source)', 'options.mask[1] (target)'];
  masks.forEach((m, i) => { if (m != null) lengthsFromMask('computeGradients', names[i], m, x[i].shape[0], x[i].shape[1] as number); });
  const modelMask = masks.map((m) => (m == null ? null : tf.cast(m, 'bool')));
  const lossMask = masks[1] == null ? null : tf.cast(masks[1], 'float32');
  try {
    return gradientsOf(model, x, y, options, false, { modelMask, lossMask });
  } finally {
    tf.dispose([...modelMask.filter((m): m is tf.Tensor => m !== null), ...(lossMask ? [lossMask] : [])]);
  }
}

/**
 * The masks of one masked batch: booleans for the model (one per input for a seq2seq model), 1/0 for a
 * per-step loss (null for a many-to-one output).
 */
interface BatchMasks { modelMask: tf.Tensor | (tf.Tensor | null)[]; lossMask: tf.Tensor | null }

/**
 * computeGradients' work. `checked`: train checked all of x once before its loop, so each batch skips
 * the model's boundary check (a read-back per step otherwise). `window`: a truncated-BPTT chunk of a
 * batch with lengths, run from `options.initialStates` with these per-row step counts (runModel's window).
 */
function gradientsOf(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, options: GradientOptions, checked: boolean, masks?: BatchMasks,
  window?: { lengths: Int32Array | null }):
  { loss: tf.Scalar; grads: tf.NamedTensorMap; finalStates?: tf.Tensor[][] } {
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let finalStates: tf.Tensor[][] | undefined;
  const { value, grads } = tf.variableGrads(() => {
    if (options.initialStates) {
      // Run by hand from the given states: train's chunks as a window (their lengths checked), a caller's
      // masked chunk with its mask (checked by forwardModel against x's padding).
      const initialStates = options.initialStates;
      const given = { initialStates, ...(masks ? { mask: masks.modelMask as tf.Tensor } : {}) };
      if (!window && !checked) checkForwardModel(model, firstOf(x), given);   // forwardModel's checks (inside the tape it runs runModel)
      const r = runModel(model, firstOf(x), window ? { initialStates, window, training: true } : { ...given, training: true });
      finalStates = r.finalStates.map((s) => s.map((t) => tf.keep(t)));
      return masks?.lossMask ? options.loss(y, r.output, masks.lossMask) : options.loss(y, r.output);
    }
    const out = Array.isArray(masks?.modelMask) ? applySeq2seq(model, x as tf.Tensor[], masks!.modelMask, true) : applyMasked(model, x, masks?.modelMask, true, checked);
    return masks?.lossMask ? options.loss(y, out, masks.lossMask) : options.loss(y, out);
  }, vars);
  return { loss: value, grads, finalStates };
}

/** `model.apply(x, { training, mask })` (without the boundary check when `checked`). */
function applyMasked(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], mask: tf.Tensor | undefined, training: boolean, checked: boolean): tf.Tensor {
  const kwargs = mask ? { training, mask } : { training };
  return (checked ? applyUnchecked(model, x, kwargs as unknown as tf.serialization.ConfigDict) : model.apply(x, kwargs)) as tf.Tensor;
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

/** Train data whose x and y are tensors. */
interface TensorData { x: tf.Tensor | tf.Tensor[]; y: tf.Tensor; lengths?: Lengths | Seq2seqLengths; mask?: tf.Tensor }

/** `{ x, y }`'s form and keys (before its contents are checked as tensors or as ragged arrays). */
function checkDataKeys(data: AnyTrainData, what: string): void {
  if (!data || typeof data !== 'object' || Array.isArray(data) || !('x' in data) || !('y' in data)) {
    throw new TypeError(`train: ${what} must be { x, y } with tensors; got ${data === null ? 'null' : Array.isArray(data) ? 'an array' : typeof data}`);
  }
  checkOptions('train', data, ['x', 'y', 'lengths', 'mask', 'padding', ...DATASET_METADATA_KEYS], what);
  // padSequences says where it padded ({ x, lengths, padding }): lengths mean "the first L_b steps are real",
  // which a pre-padded batch contradicts; refused rather than trained on the padding.
  const padding = (data as { padding?: unknown }).padding;
  if (padding !== undefined && padding !== 'post') {
    throw new RangeError(`train: ${what}.padding is ${describe(padding)}: lengths and masks describe batches padded at the end ('post'); ` +
      `pad with padSequences(seqs, { padding: 'post' }) (its default)`);
  }
}

/**
 * Check `{ x, y }` before anything runs: the keys, tensors, one x per model input with the model's
 * layout, one batch size, and no NaN or Infinity in x (y's values are checked with its layout by
 * {@link checkTargetValues}). Returns the number of sequences.
 */
function checkData(model: tf.LayersModel, data: TensorData, what: string, tokens: boolean): number {
  const xs = Array.isArray(data.x) ? data.x : [data.x];
  if (xs.some((t) => !(t instanceof tf.Tensor)) || !(data.y instanceof tf.Tensor)) {
    const bad = xs.find((t) => !(t instanceof tf.Tensor));
    const batchObject = bad !== undefined && typeof bad === 'object' && bad !== null && 'x' in bad && 'lengths' in bad;
    throw new TypeError(`train: ${what}.x and ${what}.y must be tf.Tensors (x [batch, time, features] or token ids [batch, time], with optional lengths), ` +
      `or both ragged arrays (sequences of different lengths, padded per batch); got ${what}.x ${describe(bad ?? xs[0])} and ${what}.y ${describe(data.y)}` +
      (batchObject ? `. ${what}.x looks like padSequences' result: pass its parts, { x: padded.x, lengths: padded.lengths, y } (or { ...padded, y })` : ''));
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
    checkFiniteX(name, t, layoutOf(spec), xs.length === 1 ? data.lengths : undefined);
    // A seq2seq model's inputs: their padding is checked with their lengths (naming source and target_in).
    if (spec.tokens) checkTokenData(xs.length === 1 ? name : `${name} (${model.inputs[i].name.replace(/[_:]\d*$/, '')})`, t, tokenVocab(model), xs.length === 1);
  });
  return n;
}

/**
 * checkFinite for x, saying so when the first bad value sits at a padded step (t ≥ lengths[b]): padded
 * steps are never computed, but x is checked whole, so a NaN-padded batch needs padding with 0 (padSequences'
 * default) — refusing it is deliberate (a NaN is never silently taken as padding), and the message says why.
 */
function checkFiniteX(name: string, x: tf.Tensor, layout: string, lengths: unknown): void {
  try {
    checkFinite('train', name, x, layout);
  } catch (e) {
    const bad = firstNonFinite(x);
    const L = Array.isArray(lengths) || ArrayBuffer.isView(lengths) ? (lengths as ArrayLike<number>) : undefined;
    if (bad && L && bad.index.length >= 2 && bad.index[1] >= Number(L[bad.index[0]])) {
      (e as Error).message += `. That is a padded step (lengths[${bad.index[0]}] = ${L[bad.index[0]]}: row ${bad.index[0]}'s real steps end before it): padded steps are never read, ` +
        'but x must be finite everywhere so that a missing value is never taken for padding; pad with 0 (the default value of padSequences)';
    }
    throw e;
  }
}

/**
 * Token ids `[batch, time]` before anything runs, naming the data's row and step (the embedding checks
 * each batch again, but only when it reaches it, after earlier steps moved the weights, and by the
 * batch's row): integers in [0, vocabSize); with a padId, padding only at the end of a row and a real
 * token in every row (PyTorch's packed sequences need lengths ≥ 1).
 */
function checkTokenData(name: string, ids: tf.Tensor, vocab: { vocabSize?: number; padId?: number }, padding: boolean): void {
  if (ids.rank !== 2 || vocab.vocabSize === undefined) return;
  const [N, T] = ids.shape as [number, number];
  const v = ids.dataSync();
  const V = vocab.vocabSize, pad = padding ? vocab.padId : undefined;
  const at = (b: number, t: number) => (padding ? `${name}[${b}][${t}]` : `${name} row ${b}, step ${t},`);
  for (let b = 0; b < N; b++) {
    let L = T;                                                   // the row's length: up to its first padId
    for (let t = 0; t < T; t++) {
      const id = v[b * T + t];
      if (!Number.isInteger(id) || id < 0 || id >= V) {
        throw new RangeError(`train: ${at(b, t)} must be a token id, an integer in [0, ${V}) (the model's vocabSize); got ${id} (layout [batch, time] token ids)`);
      }
      if (pad === undefined) continue;
      if (id === pad && L === T) L = t;
      else if (id !== pad && L < T) {
        throw new RangeError(`train: ${name}[${b}] has the padId ${pad} at step ${L} and then token ${id} at step ${t}; padding goes at the end of a row (pads only after the last real token)`);
      }
    }
    if (pad !== undefined && L === 0) throw new RangeError(`train: ${name}[${b}] is all padding (padId ${pad}); every sequence needs at least one real token`);
  }
}

/** crossEntropy's targets are class ids: an id outside [0, V) would make a one-hot row of zeros, a loss term of 0. */
/**
 * Targets the loss can score: class ids in [0, V) for 'crossEntropy', probabilities in [0, 1] for
 * 'binaryCrossEntropy' (a label 2 would give a negative loss term, silently).
 */
function checkTargetValues(model: tf.LayersModel, y: tf.Tensor, what: string, loss: LossSpec): void {
  if (loss === 'crossEntropy') checkClassIds(model, y, what);
  if (loss !== 'binaryCrossEntropy') return;
  const v = y.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!(v[i] >= 0 && v[i] <= 1)) {
      throw new RangeError(`train: ${what}.y holds targets for loss 'binaryCrossEntropy' and must be probabilities in [0, 1] (labels 0 and 1); got ${v[i]} at [${unravel(i, y.shape).join(', ')}] (shape ${shapeText(y.shape)})`);
    }
  }
}

function checkClassIds(model: tf.LayersModel, y: tf.Tensor, what: string): void {
  const V = model.outputs[0].shape.at(-1) as number;
  const v = y.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= V) {
      const idx = unravel(i, y.shape);
      throw new RangeError(`train: ${what}.y holds class ids for loss 'crossEntropy' and must be integers in [0, ${V}); got ${v[i]} at [${idx.join(', ')}] (shape ${shapeText(y.shape)}, layout ${y.rank === 2 ? '[batch, time]' : '[batch]'} class ids)`);
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
    throw new Error(`train: ${what}.y must have shape ${fmt(want)} for loss '${loss}' (the model outputs ${fmt(out.slice(1))}${loss === 'crossEntropy' ? ': targets are class ids' : ''}); got ${shapeText(y.shape)}`);
  }
}

const TRAIN_KEYS = ['epochs', 'batchSize', 'optimizer', 'learningRate', 'loss', 'clipNorm', 'clipValue', 'tbptt', 'shuffle', 'seed',
  'validation', 'earlyStopping', 'signal', 'verbose', 'live', 'recordParamNorms', 'onEpoch', 'bucketByLength', 'bucketWidth', 'fusedStep'] as const;

/** What {@link checkTrainArgs} settles before anything runs. */
interface TrainSetup {
  batchSize: number;
  /** Sequences in `data`. */
  N: number;
  loss: LossFn;
  /** The loss as given (or its default), for the fused step. */
  lossName: LossSpec;
  lr: number;
  /** Truncated-BPTT chunk length, if any. */
  k?: number;
  /** The training batches, and the validation batches. */
  source: BatchSource;
  valSource?: BatchSource;
  /** Bucketing by length: the bucket width (undefined: random batches). */
  bucketWidth?: number;
}

/** Every check of train's arguments, before an optimizer (which holds tensors) exists. */
function checkTrainArgs(model: tf.LayersModel, data: AnyTrainData, options: TrainOptions): TrainSetup {
  if (!(model instanceof tf.LayersModel)) throw new TypeError(`train: model must be a tf.LayersModel (e.g. from buildLSTM); got ${typeof model}`);
  checkOptions('train', options, TRAIN_KEYS);
  checkPositiveInt('train', 'options.epochs', options?.epochs);
  const batchSize = options.batchSize ?? 32;
  checkPositiveInt('train', 'options.batchSize', batchSize);
  if (options.clipNorm !== undefined && !(options.clipNorm > 0)) throw new RangeError(`train: options.clipNorm must be > 0; got ${options.clipNorm}`);
  if (options.clipValue !== undefined && !(options.clipValue > 0)) throw new RangeError(`train: options.clipValue must be > 0; got ${options.clipValue}`);
  if (options.optimizer !== undefined) checkOptimizerName(options.optimizer);
  if (options.fusedStep !== undefined && typeof options.fusedStep !== 'boolean') throw new TypeError(`train: options.fusedStep must be true or false; got ${describe(options.fusedStep)}`);
  const es = options.earlyStopping;
  if (es !== undefined && es !== null && typeof es === 'object') checkOptions('train', es, ['patience', 'minDelta'], 'options.earlyStopping');
  if (es !== undefined && (!Number.isInteger(es?.patience) || es.patience < 0 || !((es.minDelta ?? 0) >= 0))) {
    throw new RangeError(`train: options.earlyStopping must be { patience: an integer >= 0, minDelta?: a number >= 0 }; got ${es !== null && Object.getPrototypeOf(es) === Object.prototype ? JSON.stringify(es) : describe(es)}`);
  }
  let spec: ReturnType<typeof specOf> | undefined;
  try { spec = specOf(model); } catch { spec = undefined; }
  const tokens = spec?.vocabSize !== undefined;
  const validation = options.validation;
  checkDataKeys(data, 'data');
  if (validation !== undefined) checkDataKeys(validation, 'validation');
  if (!isRagged(data.x)) checkData(model, data as TensorData, 'data', tokens);
  if (validation !== undefined && !isRagged(validation.x)) checkData(model, validation as TensorData, 'validation', tokens);
  const lossName = options.loss ?? (spec?.outputActivation === 'softmax' ? 'crossEntropy' : 'mse');
  checkLossFitsHead('train', lossName, model);
  const loss = lossFunction(lossName);
  const lr = options.learningRate ?? 0.01;
  if (!(lr > 0)) throw new RangeError(`train: options.learningRate must be > 0; got ${lr}`);
  const k = options.tbptt;
  if (k !== undefined) {
    checkPositiveInt('train', 'options.tbptt (chunk length k)', k);
    if (!spec || spec.topology !== 'many-to-many') throw new Error(`train: options.tbptt (truncated BPTT) needs a many-to-many builder model (targets at every step); got ${spec ? `topology '${spec.topology ?? 'many-to-one'}'` : 'a model without builder metadata'}`);
    if (spec.bidirectional) throw new Error('train: truncated BPTT cannot carry a backward direction\'s state forward; use bidirectional: false');
  }
  if (options.bucketByLength !== undefined && typeof options.bucketByLength !== 'boolean') throw new TypeError(`train: options.bucketByLength must be true or false; got ${describe(options.bucketByLength)}`);
  if (options.bucketWidth !== undefined) {
    if (!options.bucketByLength) throw new Error('train: options.bucketWidth is given without options.bucketByLength: true, so it would have no effect');
    checkPositiveInt('train', 'options.bucketWidth', options.bucketWidth);
  }
  const sources: BatchSource[] = [];
  try {
    const source = makeSource(model, data, 'data', lossName);
    sources.push(source);
    const valSource = validation === undefined ? undefined : makeSource(model, validation, 'validation', lossName);
    if (valSource) sources.push(valSource);
    // Padded training data and a validation set without lengths: validation would score its padding
    // as real steps (a padId token model masks its own padding, and a seq2seq model's padding is read
    // the same way for both sets).
    if (valSource && source.lengths !== null && valSource.lengths === null && !isSeq2seq(model) && spec?.padId === undefined) {
      throw new Error('train: data has sequence lengths (data.lengths, data.mask or ragged data.x) but validation has none, so its padded steps would be scored as real ones; ' +
        'give validation.lengths (or validation.mask), or ragged validation.x — lengths of T if every validation sequence has all T steps');
    }
    const masked = sources.some((src) => src.lengths !== null);
    if (masked) {
      if (!isSeq2seq(model)) checkMaskSupport('train', model);
      if (typeof lossName === 'function' && perStepOutput(model) && lossName.length < 3) {
        throw new TypeError('train: with lengths, a mask or ragged data, a custom loss must take the mask of real steps as its third argument, (yTrue, yPred, mask) => scalar (see lossFunction); this one declares fewer arguments, so it would score the padding');
      }
    }
    if (options.bucketByLength && source.lengths === null) {
      throw new Error('train: options.bucketByLength needs sequence lengths: give data.lengths (or data.mask), or ragged data.x');
    }
    const bucketWidth = options.bucketByLength ? options.bucketWidth ?? 1 : undefined;
    return { batchSize, N: source.N, loss, lossName, lr, k, source, valSource, bucketWidth };
  } catch (e) {
    sources.forEach((src) => src.dispose());
    throw e;
  }
}

/**
 * The batches of `d` after every check of its targets: tensors (with lengths or a mask, or without),
 * or ragged arrays. With lengths, only the real steps of per-step targets are checked (a padded target
 * is never scored, so any value there is allowed).
 */
function makeSource(model: tf.LayersModel, d: AnyTrainData, what: string, lossName: LossSpec): BatchSource {
  const name = typeof lossName === 'string' ? lossName : undefined;
  if (isRagged(d.x)) {
    const s2s = isSeq2seq(model);
    if (model.inputs.length !== 1 && !s2s) throw new Error(`train: ragged ${what}.x needs a model with one input, or a builder's seq2seq model ([sources, targetsIn]); this one has ${model.inputs.length} inputs`);
    if (d.lengths != null || d.mask != null) {
      throw new Error(`train: ${what}.${d.lengths != null ? 'lengths' : 'mask'} is given with ragged ${what}.x, whose rows carry their own lengths; pass tensors with lengths, or ragged arrays without`);
    }
    if (d.y instanceof tf.Tensor) {
      throw new TypeError(`train: ${what}.x and ${what}.y must be tf.Tensors, or both arrays (ragged sequences, padded per batch); got ragged ${what}.x with a tensor ${what}.y: pass y as an array (y.arraySync())`);
    }
    if (s2s) return raggedSeq2seqSource(model, what, d.x, d.y, name);
    const src = raggedSource(model, what, d.x, d.y, name);
    if (src.y) {
      try {
        checkTargets(model, src.y, lossName, what);
        checkFinite('train', `${what}.y`, src.y, targetLayout(model, lossName));
        checkTargetValues(model, src.y, what, lossName);
      } catch (e) { src.dispose(); throw e; }
    }
    return src;
  }
  const td = d as TensorData;
  if (!(td.y instanceof tf.Tensor)) throw new TypeError(`train: ${what}.y must be a tf.Tensor when ${what}.x is one (ragged y goes with ragged x)`);
  if (isSeq2seq(model)) return seq2seqTensorSource(model, td, what, lossName);
  const first = firstOf(td.x);
  const lengths = dataLengths(what, td, first.shape[0], first.shape[1] as number, first.rank === 2 ? '[batch, time]' : '[batch, time, features]');
  checkTargets(model, td.y, lossName, what);
  if (lengths && perStepOutput(model)) {
    if (td.y.shape[1] !== first.shape[1]) throw new Error(`train: ${what}.y has ${td.y.shape[1]} steps but ${what}.x has ${first.shape[1]}; with lengths, per-step targets share x's time axis`);
    checkRealTargets(model, td.y, lengths, what, lossName);
  } else {
    checkFinite('train', `${what}.y`, td.y, targetLayout(model, lossName));
    checkTargetValues(model, td.y, what, lossName);
  }
  return tensorSource(model, td.x, td.y, lengths);
}

/** Check the real steps of per-step targets only (a padded target is never scored: any value may stand there). */
function checkRealTargets(model: tf.LayersModel, y: tf.Tensor, lengths: Int32Array, what: string, lossName: LossSpec): void {
  const real = maskOf(lengths, y.shape[1] as number);                              // [N, T]
  const yReal = tf.tidy(() => {
    const m = tf.reshape(real, [...real.shape, ...y.shape.slice(2).map(() => 1)]);      // [N, T(, 1)]
    return tf.where(tf.broadcastTo(tf.cast(m, 'bool'), y.shape), y, tf.zerosLike(y));
  });
  try {
    checkFinite('train', `${what}.y (real steps)`, yReal, targetLayout(model, lossName));
    checkTargetValues(model, yReal, what, lossName);
  } finally { tf.dispose([real, yReal]); }
}

/**
 * Seq2seq data `{ x: [source, targetIn], y: target, lengths?: { source, target } }`: the lengths
 * (given, or from a padId model's padding), the targets checked at real target steps, and batches
 * with one mask per input (see train-seq2seq.ts).
 */
function seq2seqTensorSource(model: tf.LayersModel, td: TensorData, what: string, lossName: LossSpec): BatchSource {
  const x = td.x as tf.Tensor[];                                                          // checkData: two inputs
  const lengths = seq2seqLengths(model, what, { x, lengths: td.lengths, mask: td.mask });
  checkTargets(model, td.y, lossName, what);
  if (td.y.shape[1] !== x[1].shape[1]) {
    throw new Error(`train: ${what}.y (target) has ${td.y.shape[1]} steps but ${what}.x[1] (target_in) has ${x[1].shape[1]}; the decoder predicts one target per target_in step`);
  }
  if (lengths.target) {
    checkRealTargets(model, td.y, lengths.target, what, lossName);
  } else {
    checkFinite('train', `${what}.y`, td.y, targetLayout(model, lossName));
    checkTargetValues(model, td.y, what, lossName);
  }
  return seq2seqSource(model, x, td.y, lengths);
}

/**
 * One optimizer step's data: a batch, or one truncated-BPTT chunk of it. A chunk of a batch with
 * lengths has `window` (each row's steps to run, see batchChunks), its loss mask in `masks`, and
 * `held` `[batch, 1]` bool (true for rows whose sequence ended before the chunk: their states are held).
 */
interface Chunk { x: tf.Tensor | tf.Tensor[]; y: tf.Tensor; masks?: BatchMasks; terms: number; window?: { lengths: Int32Array | null }; held?: tf.Tensor }

/**
 * The states to carry past a truncated-BPTT chunk: each layer's final states, but the carried ones
 * `before` for the rows `held` `[batch, 1]` marks (their sequences had ended: they keep the state after
 * their last real step). Disposes `after`; `before` stays the caller's.
 */
function holdStates(held: tf.Tensor, before: (tf.Tensor[] | undefined)[] | undefined, after: tf.Tensor[][]): tf.Tensor[][] {
  // A row can only have ended after a first chunk, whose final states are carried: `before` is set.
  const out = after.map((states, l) => states.map((t, i) => {
    const kept = before?.[l]?.[i];
    if (!kept) throw new Error(`train: internal error: truncated BPTT holds a row's state but layer ${l} carries none`);
    return tf.where(held, kept, t);                                                             // [batch, n]
  }));
  tf.dispose(after.flat());
  return out;
}

/** One epoch's running sums, for its {@link EpochLog}. */
interface EpochTotals { lossSum: number; lossTerms: number; normSum: number; clips: number; steps: number }

/** Early stopping: remembers the best monitored loss and its weights. */
class EarlyStopping {
  private best = Infinity;
  private bestWeights: tf.Tensor[] | undefined;
  private sinceBest = 0;
  constructor(private readonly rule: { patience: number; minDelta?: number }) {}

  /** After an epoch: a message when training must stop (the best weights are then restored), else undefined. */
  update(model: tf.LayersModel, log: EpochLog): string | undefined {
    const monitored = log.valLoss ?? log.loss;                   // the validation loss when there is one
    if (monitored < this.best - (this.rule.minDelta ?? 0)) {
      this.best = monitored; this.sinceBest = 0;
      tf.dispose(this.bestWeights ?? []);
      this.bestWeights = snapshot(model);
      return undefined;
    }
    if (++this.sinceBest < this.rule.patience) return undefined;
    restore(model, this.bestWeights!);
    return `early stopping after epoch ${log.epoch}: no improvement for ${this.rule.patience} epochs; best ${log.valLoss !== undefined ? 'validation ' : ''}loss ${this.best.toFixed(4)} restored`;
  }

  dispose(): void { tf.dispose(this.bestWeights ?? []); }
}

/**
 * The state of one train call: the optimizer, the logs, the last good weights, and the tensors of
 * the batch being worked on (freed by {@link release} however the call ends).
 */
class TrainingRun {
  readonly optimizer: tf.Optimizer;
  readonly rng: Rng;
  readonly steps: StepLog[] = [];
  readonly epochs: EpochLog[] = [];
  readonly stopper: EarlyStopping | undefined;
  stopped: TrainResult['stopped'] = 'completed';
  message = '';
  step = 0;
  private lastGood: tf.Tensor[];
  private badNorm = NaN;                                         // the gradient norm of a refused step
  /** When the step under way began (performance.now(), ms). */
  private stepStart = 0;
  /** The batch being worked on and its carried truncated-BPTT states: freed by release if a step is cut short. */
  private batchTensors: tf.Tensor[] = [];
  private states: (tf.Tensor[] | undefined)[] | undefined;
  private readonly varNames: string[];
  private readonly shortName: Map<string, string>;
  /** The fused step when it runs this call (see {@link TrainOptions.fusedStep}). */
  readonly fused: FusedTrainStep | undefined;
  readonly stepPathReason: string;

  constructor(readonly model: tf.LayersModel, readonly options: TrainOptions, readonly setup: TrainSetup, made: FusedTrainStep | string) {
    this.rng = new Rng(options.seed ?? 1);
    this.stopper = options.earlyStopping ? new EarlyStopping(options.earlyStopping) : undefined;
    this.varNames = model.trainableWeights.map((w) => (w.read() as tf.Variable).name);
    this.shortName = new Map(model.trainableWeights.map((w) => [(w.read() as tf.Variable).name, w.originalName ?? w.name]));
    // Last, what holds tensors (nothing above may throw and leave them behind).
    this.optimizer = makeOptimizer(options.optimizer ?? 'adam', setup.lr);
    this.lastGood = snapshot(model);
    this.fused = typeof made === 'string' ? undefined : made;
    this.stepPathReason = typeof made === 'string' ? made : 'the fused step covers this model and these options: each step is one call';
  }

  interruptedIn(epoch: number): void {
    this.stopped = 'interrupted';
    this.message = `train interrupted in epoch ${epoch}/${this.options.epochs} after ${this.step} steps; the weights of the last finished step are kept`;
  }

  /** One epoch's batches. Sets `stopped` (and returns early) on abort, interrupt or a non-finite step. */
  async runEpoch(epoch: number, op: Interruptible): Promise<EpochTotals> {
    const { N, batchSize, source, bucketWidth } = this.setup;
    const shuffle = this.options.shuffle !== false;
    let batches: number[][];
    if (bucketWidth !== undefined) {
      batches = bucketOrder(source.lengths!, batchSize, bucketWidth, shuffle ? this.rng : undefined);   // a new draw each epoch
    } else {
      const order = shuffle ? this.rng.permutation(N) : Array.from({ length: N }, (_, i) => i);
      batches = [];
      for (let b = 0; b < N; b += batchSize) batches.push(order.slice(b, b + batchSize));
    }
    const totals: EpochTotals = { lossSum: 0, lossTerms: 0, normSum: 0, clips: 0, steps: 0 };
    for (const rows of batches) {
      const why = op.reason;                                     // interrupt or signal, whichever came
      if (why === 'interrupt') { this.interruptedIn(epoch); return totals; }
      if (why === 'signal') {
        this.stopped = 'aborted';
        this.message = `training aborted in epoch ${epoch}/${this.options.epochs} after ${this.step} steps; the weights of the last finished step are kept`;
        return totals;
      }
      this.runBatch(rows, epoch, op, totals);
      if (this.stopped !== 'completed') return totals;
      // Let an abort, the kernel's SIGINT handler and its messages get a word in: keep this yield.
      await new Promise((r) => setImmediate(r));
    }
    return totals;
  }

  /** One batch: one optimizer step, or one per truncated-BPTT chunk with the states carried between them. */
  private runBatch(rows: number[], epoch: number, op: Interruptible, totals: EpochTotals): void {
    this.stepStart = performance.now();
    if (this.fused) { this.fusedBatch(this.fused, rows, epoch, totals); return; }
    const chunks = this.batchChunks(rows);
    this.states = this.setup.k === undefined ? undefined : recurrentLayers(this.model).map(() => undefined);
    for (const [c, { x: xc, y: yc, masks, terms, window, held }] of chunks.entries()) {
      // Each truncated-BPTT chunk is a step of its own: a long batch stops between them.
      if (c > 0 && op.reason === 'interrupt') { this.interruptedIn(epoch); break; }
      const r = gradientsOf(this.model, xc, yc, { loss: this.setup.loss, initialStates: this.states }, true, masks, window);   // x, y checked once in checkTrainArgs
      const lv = r.loss.dataSync()[0];
      const ok = this.takeStep(r.grads, lv, epoch);
      tf.dispose([r.loss, ...Object.values(r.grads)]);
      const next = held ? holdStates(held, this.states, r.finalStates!) : r.finalStates;
      this.disposeStates();
      this.states = next;                                        // constants for the next chunk: truncated
      if (!ok) { this.refuse(epoch, lv); break; }
      totals.lossSum += lv * terms; totals.lossTerms += terms;   // weighted: a short batch or chunk counts for its (real) terms only
      totals.normSum += this.steps[this.steps.length - 1].gradNorm;
      totals.clips += this.steps[this.steps.length - 1].clipped ? 1 : 0;
      totals.steps++;
    }
    this.disposeStates();
    tf.dispose(this.batchTensors);                               // the batch, and its truncated-BPTT chunks
    this.batchTensors = [];
  }

  /** One batch as one fused step; the model's variables hold its weights afterwards. */
  private fusedBatch(fused: FusedTrainStep, rows: number[], epoch: number, totals: EpochTotals): void {
    // The batch as arrays, no tensors (fusedStepFor runs the fused step only for sources that have them).
    const source = this.setup.source;
    const batch = source.arrays!(rows);
    const { b, T } = batch;
    const all = source.lengths;
    let lengths = all ? Int32Array.from(rows, (r) => all[r]) : null;
    if (lengths && allFull(lengths, T)) lengths = null;
    const r = fused.step({ x: batch.x, y: batch.y, b, T, lengths });
    if (!r.applied) {
      // The step put θ back to the weights of the last finite loss: the variables get them.
      this.badNorm = r.gradNorm;
      fused.sync();
      this.refuse(epoch, r.loss, false);
      return;
    }
    fused.sync();
    const paramNorms = this.options.recordParamNorms ?? true ? r.paramNorms : undefined;
    this.steps.push({ epoch, step: this.step++, loss: r.loss, gradNorm: r.gradNorm, clippedNorm: r.clippedNorm, clipped: r.clipped, learningRate: this.setup.lr, paramNorms, seconds: this.stepSeconds() });
    totals.lossSum += r.loss * batch.terms; totals.lossTerms += batch.terms;
    totals.normSum += r.gradNorm;
    totals.clips += r.clipped ? 1 : 0;
    totals.steps++;
  }

  /**
   * The batch's rows as steps: the whole batch (with its masks when it has lengths), or its chunks of k
   * time steps. Kept in batchTensors.
   *
   * A chunk [s, s + len) of a batch with lengths L_b: row b has r_b = clamp(L_b − s, 0, len) real steps
   * there. The loss mask is maskOf(r, len), so the chunk's loss is the mean over its real steps and
   * its weight in the epoch loss (`terms`) is Σ r_b × entries per step. Rows are never dropped (the
   * carried states are by row): a row whose sequence ended (r_b = 0) runs one step, since layers and
   * fused kernels take lengths ≥ 1, but all its loss terms are masked, so it adds nothing to the loss or
   * the gradient, and `held` puts its carried state back after the step (holdStates). Chunks past every
   * row's end are skipped.
   */
  private batchChunks(rows: number[]): Chunk[] {
    const k = this.setup.k;
    const batch: SeqBatch = this.setup.source.batch(rows);
    const { x: xb, y: yb } = batch;
    const chunks: Chunk[] = [];
    const made: tf.Tensor[] = [];
    if (k === undefined) {
      const masks = batch.modelMask ? { modelMask: batch.modelMask, lossMask: batch.mask } : undefined;
      chunks.push({ x: xb, y: yb, masks, terms: batch.terms });
    } else {
      const T = firstOf(xb).shape[1] as number;
      const lengths = this.setup.source.lengths;
      const L = lengths ? rows.map((r) => lengths[r]) : null;
      for (let s = 0; s < T; s += k) {
        const len = Math.min(k, T - s);
        const real = L?.map((Lb) => Math.min(len, Math.max(0, Lb - s)));                      // [batch] real steps in the chunk
        if (real && real.every((r) => r === 0)) break;                                          // past every row's end, and so are the rest
        const xc = tf.slice(firstOf(xb), [0, s], [-1, len]);                                    // [batch, len, …]
        const yc = tf.slice(yb, [0, s], [-1, len]);                                             // [batch, len, …]
        made.push(xc, yc);
        if (!real || real.every((r) => r === len)) {
          chunks.push({ x: xc, y: yc, terms: yc.size, ...(real ? { window: { lengths: null } } : {}) });
          continue;
        }
        const lossMask = maskOf(real, len);                                               // [batch, len] float, 0 for ended rows
        const run = Int32Array.from(real, (r) => Math.max(1, r));                               // layers take L_b ≥ 1
        const ended = real.some((r) => r === 0) ? tf.tensor2d(real.map((r) => (r === 0 ? 1 : 0)), [real.length, 1], 'bool') : undefined;   // [batch, 1]
        made.push(lossMask, ...(ended ? [ended] : []));
        const perStep = yc.size / (real.length * len);                                          // entries per step (1 for class ids)
        chunks.push({
          // (The model reads window.lengths, not modelMask: runModel runs the chunk.)
          x: xc, y: yc, masks: { modelMask: lossMask, lossMask }, terms: real.reduce((a, r) => a + r, 0) * perStep,
          window: { lengths: allFull(run, len) ? null : run }, held: ended,
        });
      }
    }
    this.batchTensors = [...batch.tensors, ...made];
    return chunks;
  }

  /** {@link gradientStep} with train's clipping; refuses a non-finite loss or norm. Logs the step. */
  private takeStep(grads: tf.NamedTensorMap, lossValue: number, epoch: number): boolean {
    let paramNorms: Record<string, number> | undefined;
    const clip = { clipNorm: this.options.clipNorm, clipValue: this.options.clipValue };
    const s = gradientStep(this.optimizer, grads, clip, (norm) => {
      if (!Number.isFinite(lossValue) || !Number.isFinite(norm)) { this.badNorm = norm; return false; }
      if (this.options.recordParamNorms ?? true) paramNorms = this.paramNorms(grads);
      tf.dispose(this.lastGood);
      this.lastGood = snapshot(this.model);
      return true;
    });
    if (!s.applied) return false;
    this.steps.push({ epoch, step: this.step++, loss: lossValue, gradNorm: s.norm, clippedNorm: s.clippedNorm, clipped: s.clipped, learningRate: this.setup.lr, paramNorms, seconds: this.stepSeconds() });
    return true;
  }

  /** Seconds since the step began ({@link StepLog.seconds}); the next step (a truncated-BPTT chunk's) begins now. */
  private stepSeconds(): number {
    const now = performance.now();
    const seconds = (now - this.stepStart) / 1000;
    this.stepStart = now;
    return seconds;
  }

  /** Each parameter's gradient norm (overflow-safe), by its short name. */
  private paramNorms(grads: tf.NamedTensorMap): Record<string, number> {
    const out: Record<string, number> = {};
    const norms = tf.tidy(() => tf.stack(this.varNames.map((n) => globalNorm([grads[n]]))).dataSync());
    this.varNames.forEach((n, i) => { out[this.shortName.get(n) ?? n] = norms[i]; });
    return out;
  }

  /** A refused step: back to the last good weights, and say why. */
  private refuse(epoch: number, lv: number, restoreWeights = true): void {
    if (restoreWeights) restore(this.model, this.lastGood);
    this.stopped = 'non-finite';
    const bad = this.badNorm;
    const what = Number.isFinite(lv) ? `gradient norm became ${Number.isNaN(bad) ? 'NaN' : 'infinite'}` : `loss became ${Number.isNaN(lv) ? 'NaN' : 'infinite'}`;
    // Epochs count from 1; steps, as result.steps[].step, from 0 over the whole run.
    const inEpoch = this.steps.filter((s) => s.epoch === epoch).length + 1;
    this.message = `training stopped in epoch ${epoch} at its step ${inEpoch} (the run's step ${this.step}, counted from 0 as result.steps[].step): the ${what} (loss ${lv}, ‖g‖ ${bad}); the last good weights were restored. Try a smaller learning rate or clipNorm.`;
  }

  /** The epoch's log, with the validation loss when there is validation data. */
  epochLog(epoch: number, t: EpochTotals, t0: number): EpochLog {
    const seconds = (performance.now() - t0) / 1000;
    const log: EpochLog = {
      epoch, loss: t.lossTerms > 0 ? t.lossSum / t.lossTerms : NaN, gradNorm: t.normSum / Math.max(1, t.steps),
      clipFraction: t.clips / Math.max(1, t.steps), learningRate: this.setup.lr, samplesPerSecond: this.setup.N / seconds,
      tensors: tf.memory().numTensors, seconds,
    };
    if (this.setup.valSource) log.valLoss = evaluateLoss(this.model, this.setup.valSource, this.setup.loss, this.setup.batchSize);
    return log;
  }

  private disposeStates(): void {
    if (this.states) tf.dispose(this.states.flat().filter((t): t is tf.Tensor => !!t));
    this.states = undefined;
  }

  /** Free everything this call made (also when a step throws, or the kernel stopped JavaScript mid-step). */
  release(): void {
    tf.dispose(this.batchTensors);
    this.disposeStates();
    tf.dispose(this.lastGood);
    this.stopper?.dispose();
    this.optimizer.dispose();
    this.setup.source.dispose();
    this.setup.valSource?.dispose();
    disposeLearningRateScalar(this.optimizer);   // MomentumOptimizer.dispose() leaks it (tf.js 4.22)
  }
}

/**
 * The loss over all of a source (and its real time steps): each batch's mean weighted by its number
 * of loss terms. Masked batches go through `model.apply(x, { mask })` and the masked loss.
 */
function evaluateLoss(model: tf.LayersModel, src: BatchSource, loss: TrainSetup['loss'], batchSize: number): number {
  return tf.tidy(() => {
    let total = 0, terms = 0;
    for (let i = 0; i < src.N; i += batchSize) {
      const b = src.batch(Array.from({ length: Math.min(src.N, i + batchSize) - i }, (_, j) => i + j));
      const out = Array.isArray(b.modelMask) ? applySeq2seq(model, b.x as tf.Tensor[], b.modelMask, false)
        : (b.modelMask ? applyUnchecked(model, b.x, { mask: b.modelMask } as unknown as tf.serialization.ConfigDict) : predictUnchecked(model, b.x)) as tf.Tensor;
      total += (b.mask ? loss(b.y, out, b.mask) : loss(b.y, out)).dataSync()[0] * b.terms;   // batch mean × its loss terms
      terms += b.terms;
    }
    return total / terms;
  });
}

/** The line train prints per epoch (when verbose). */
function epochLine(log: EpochLog, options: TrainOptions, fused: boolean): string {
  return `epoch ${String(log.epoch).padStart(String(options.epochs).length)}/${options.epochs}  loss ${log.loss.toFixed(4)}` +
    `${log.valLoss !== undefined ? `  val ${log.valLoss.toFixed(4)}` : ''}  ‖g‖ ${log.gradNorm.toFixed(3)}` +
    `${options.clipNorm !== undefined ? `  clipped ${(100 * log.clipFraction).toFixed(0)}%` : ''}  ${Math.round(log.samplesPerSecond)} samples/s  ${backendInfo()?.name ?? tf.getBackend()}` +
    (fused ? ' · fused step' : '');
}

/**
 * Train a builder model (or any tf.LayersModel) with full or truncated BPTT, gradient clipping,
 * validation, early stopping and abort; keep the last good weights if the loss turns NaN.
 *
 * Interrupt (the course kernel's ■) stops it cleanly: it returns with `stopped: 'interrupted'` and
 * the weights of the last finished step, prints its message (when `verbose`) and tells the kernel,
 * which reports the cell as interrupted. Between batches it yields to the event loop, so the kernel
 * (and an `AbortSignal`) can get a word in.
 *
 * Variable-length sequences (PyTorch's packed-sequence semantics, padding at the end): `{ x, y, lengths }`
 * or `{ x, y, mask }` with tensors, or ragged arrays `{ x: number[][] | number[][][], y }` that are
 * padded per batch to the batch's longest sequence (tensor batches are cut to it too when the model's
 * time axis is free). Each batch is run as `model.apply(xb, { mask })`; a per-step loss (many-to-many)
 * is the mean over real steps only (`lossFunction`'s mask), and epoch and validation losses weight each
 * batch by its real steps, so they are means over real steps. A many-to-one model's loss reads its
 * output, which a masked recurrent layer makes each sequence's last real step. `bucketByLength: true`
 * batches similar lengths together (seeded, a new draw each epoch). A builder's seq2seq model takes
 * `{ x: [source, targetIn], y: target, lengths?: { source, target } }` (a padId model reads both from its
 * padding): the source lengths reach the encoder only, the target lengths the decoder and the loss (see
 * train-seq2seq.ts); or ragged `{ x: [sources, targetsIn], y: targets }`, each batch padded to its longest
 * source and its longest target and trained as with lengths (bucketing sorts pairs by source + target
 * length, tensors or ragged). With `tbptt` too, each chunk is scored over its real steps, and a sequence
 * that ended before a chunk holds its state and adds nothing (see {@link TrainOptions.tbptt}). Errors,
 * before any step: lengths with a model that has a layer without mask support (named), with a two-input
 * model that is not a builder's seq2seq model, or with a
 * custom loss that does not take a mask; seq2seq lengths that are not `{ source?, target? }` or disagree
 * with the padding; ragged rows whose feature widths or lengths do not fit the model or their targets, ragged
 * seq2seq x that is not a pair, counts that differ, a targetsIn row not as long as its target, token ids
 * outside the vocabulary or equal to padId (argument and row named).
 *
 * @example
 * ```ts
 * const result = await train(model, { x, y }, { epochs: 30, optimizer: 'adam', learningRate: 0.01, clipNorm: 1 });
 * table(result.frame());               // per-epoch history as a danfo DataFrame
 * await train(model, { x: names, y: labels }, { epochs: 5, bucketByLength: true });   // ragged names, padded per batch
 * await train(lm, { x: texts, y: nextIds }, { epochs: 5, tbptt: 20 });   // ragged, chunks of 20 steps
 * await train(s2s, { x: [source, targetIn], y: target, lengths: { source: [3, 5], target: [4, 6] } }, { epochs: 5 });
 * await train(s2s, { x: [[[3, 4], [5, 6, 7]], [[1, 4, 3], [1, 7, 6, 5]]], y: [[4, 3, 2], [7, 6, 5, 2]] }, { epochs: 5 });   // ragged pairs
 * ```
 */
export async function train(model: tf.LayersModel, data: TrainInput, options: TrainOptions): Promise<TrainResult> {
  const setup = checkTrainArgs(model, data, options);
  let run: TrainingRun;
  try {
    // After every check: an optimizer holds tensors. Whatever fails here, the sources' tensors go.
    run = new TrainingRun(model, options, setup, fusedStepFor(model, options, setup));
  } catch (e) {
    setup.source.dispose();
    setup.valSource?.dispose();
    throw e;
  }
  const verbose = options.verbose ?? true;
  const live = options.live ? ownedLiveFigure() : undefined;     // closed below, also after an interrupt
  const op = interruptible('train', options.signal);
  // Also when a step throws (e.g. a custom loss failing), and when the kernel stopped JavaScript in the
  // middle of a step (no `finally` runs then; the kernel calls this): nothing this call made may outlive it.
  op.onAbandon(() => run.release(), 'the model may hold a partly applied step');
  try {
    // Interrupt already pressed in this cell (a loop of train calls whose first one stopped): start
    // nothing, and end the cell, rather than return an untrained result the loop would go on with.
    if (op.reason === 'interrupt') op.throwIfStopped('0 steps: Interrupt was pressed earlier in this cell, so it did not start');
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const t0 = performance.now();
      const totals = await run.runEpoch(epoch, op);
      if (run.stopped !== 'completed') break;
      // Interrupted during the epoch's last batch: nothing more runs or prints (no validation, no onEpoch).
      if (op.reason === 'interrupt') { run.interruptedIn(epoch); break; }
      const log = run.epochLog(epoch, totals, t0);
      run.epochs.push(log);
      options.onEpoch?.(log);
      if (verbose) console.log(epochLine(log, options, run.fused !== undefined));
      live?.update(curvesFigure(run.epochs));
      const stop = run.stopper?.update(model, log);
      if (stop !== undefined) { run.stopped = 'early-stopping'; run.message = stop; break; }
    }
    // Interrupted during the last epoch's validation or onEpoch: still an interrupted run for the kernel.
    if (run.stopped === 'completed' && op.reason === 'interrupt') run.interruptedIn(options.epochs);
    live?.close(curvesFigure(run.epochs));
    if (run.stopped === 'interrupted') {
      if (verbose) console.log(run.message);
      op.reportReturned(run.message);                            // before op.end(): told once, as interrupted
    }
  } finally {
    op.end();
    run.release();
  }
  const { steps, epochs, stopped } = run;
  const stepPath = run.fused ? 'fused' as const : 'tf.js' as const;
  if (stopped === 'completed') run.message = `trained ${epochs.length} epochs, ${run.step} steps; final loss ${epochs.at(-1)?.loss.toFixed(4)}`;
  if (stopped !== 'completed' && stopped !== 'interrupted' && verbose) console.log(run.message);
  return {
    steps, epochs, stopped, message: run.message, stepPath, stepPathReason: run.stepPathReason,
    frame(which: 'epochs' | 'steps' = 'epochs') {
      // danfo is loaded only when a table is wanted: it is large and most scripts never need it.
      const dfd = require('danfojs-node') as { DataFrame: new (rows: object[]) => unknown };
      const rows = which === 'epochs' ? epochs : steps.map(({ paramNorms, ...s }) => ({ ...s, ...(paramNorms ? Object.fromEntries(Object.entries(paramNorms).map(([n, v]) => [`‖g‖ ${n}`, v])) : {}) }));
      return new dfd.DataFrame(rows.map((r) => ({ ...r })));
    },
  };
}

/**
 * The fused step for this call, or why the tf.js path runs (a sentence). `options.fusedStep: true`
 * where it cannot run is an error saying why.
 */
function fusedStepFor(model: tf.LayersModel, options: TrainOptions, setup: TrainSetup): FusedTrainStep | string {
  if (options.fusedStep === false) return 'options.fusedStep is false';
  const made = isSeq2seq(model) ? 'a seq2seq model (two inputs)'
    : !setup.source.arrays ? 'its data come as tensor batches only'
    : FusedTrainStep.create(model, { optimizer: options.optimizer ?? 'adam', learningRate: setup.lr, loss: setup.lossName, clipNorm: options.clipNorm, clipValue: options.clipValue, tbptt: setup.k });
  if (typeof made === 'string' && options.fusedStep === true) throw new Error(`train: options.fusedStep is true, but the fused step cannot run here: ${made}`);
  return typeof made === 'string' ? `the fused step does not cover this run: ${made}` : made;
}

/** The live figure of {@link train}: loss and validation loss per epoch. */
function curvesFigure(epochs: EpochLog[]) {
  const x = epochs.map((e) => e.epoch);
  const data: Record<string, unknown>[] = [{ x, y: epochs.map((e) => e.loss), type: 'scatter', mode: 'lines', name: 'loss' }];
  if (epochs.some((e) => e.valLoss !== undefined)) data.push({ x, y: epochs.map((e) => e.valLoss ?? null), type: 'scatter', mode: 'lines', name: 'validation' });
  return { data, layout: { title: { text: 'training' }, xaxis: { title: { text: 'epoch' } }, yaxis: { title: { text: 'loss' }, type: 'log' }, height: 320 } };
}
