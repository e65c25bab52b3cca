/**
 * Dropout for recurrent networks: the checks of the rates, the seeded masks, and {@link LabDropout},
 * the builders' dropout layer between the top recurrent layer and the head.
 *
 * - Input dropout (`dropout`): each unit of a layer's input x_t is zeroed with probability p, a fresh
 *   mask per (row, step, unit): the non-recurrent connections of W. Zaremba, I. Sutskever, O. Vinyals,
 *   "Recurrent Neural Network Regularization", 2014, https://arxiv.org/abs/1409.2329 (PyTorch's dropout
 *   between stacked layers).
 * - Recurrent dropout (`recurrentDropout`): h_{t−1} ⊙ m feeds the recurrent matmul, one mask m per
 *   (row, unit) drawn once per sequence and reused at every step: Y. Gal, Z. Ghahramani, "A Theoretically
 *   Grounded Application of Dropout in Recurrent Neural Networks", NeurIPS 2016,
 *   https://arxiv.org/abs/1512.05287, as Keras's LSTMCell/GRUCell apply it (the state update keeps h_{t−1}).
 *
 * Inverted dropout: a kept unit is scaled by 1/(1 − p), so inference (predict, decode, forward) uses the
 * weights as they are and draws nothing. Masks are drawn in JavaScript from the library's seeded
 * generator (random.ts), from the layer's seed and its count of training calls ({@link dropoutStream}):
 * the same seed and the same sequence of calls give the same masks, run to run, on every backend and
 * on both the fused and the reference path.
 */
import * as tf from '@tensorflow/tfjs';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { Rng } from './random';
import { describe } from './describe';
import { checkOptions, TFJS_CONFIG_KEYS } from './options';

/**
 * Check a dropout rate: a number in [0, 1) (undefined → 0).
 *
 * @throws RangeError naming `who`, the option, the range and the value given
 */
export function checkRate(who: string, option: string, p: unknown): number {
  if (p === undefined) return 0;
  if (typeof p !== 'number' || !Number.isFinite(p) || p < 0 || p >= 1) {
    throw new RangeError(`${who}: ${option} must be a number in [0, 1) (the fraction of units zeroed in training); got ${describe(p)}`);
  }
  return p;
}

/** Training calls a layer's masks cycle through before its streams repeat (keeps the seed a safe integer). */
const CALL_PERIOD = 2 ** 21;

/**
 * The generator of a layer's masks for its `call`-th training call (from 0): seeded from the layer's
 * seed hashed (so it is not the stream that initialized the weights) and the call count in the high
 * bits, which Rng mixes into its state by an odd multiplier, so distinct calls get distinct streams.
 */
export function dropoutStream(seed: number, call: number): Rng {
  const base = Math.floor(new Rng(seed).fork().next() * 2 ** 32);   // [0, 2^32)
  return new Rng(base + (call % CALL_PERIOD) * 2 ** 32);
}

/** An inverted-dropout mask of `size` units: 0 with probability p, else 1/(1 − p). */
export function drawMask(rng: Rng, size: number, p: number): Float32Array {
  const out = new Float32Array(size);
  const keep = 1 / (1 - p);
  for (let i = 0; i < size; i++) out[i] = rng.next() < p ? 0 : keep;
  return out;
}

/** Layers that draw dropout masks: their count of training calls, which {@link resetDropout} sets back to 0. */
export interface DropoutCounter {
  dropoutCalls: number;
}

/**
 * Set every dropout counter of a model back to 0 (its recurrent layers' and its dropout layers'), so
 * that the next training run draws the same masks as a freshly built model with the same seed: with the
 * same initial weights and data order it then gives the same losses. A model built again with the same
 * seed starts at 0 anyway.
 *
 * @example
 * ```ts
 * model.setWeights(initial); resetDropout(model);
 * await train(model, data, options);   // the same losses as the first run
 * ```
 */
export function resetDropout(model: tf.LayersModel): void {
  for (const l of model.layers) {
    if (typeof (l as unknown as Partial<DropoutCounter>).dropoutCalls === 'number') (l as unknown as DropoutCounter).dropoutCalls = 0;
  }
}

/** Options of {@link LabDropout}. */
export interface LabDropoutOptions {
  /** Fraction of units zeroed in training, in [0, 1). */
  rate: number;
  /** Seed of the masks' stream. Default 1. */
  seed?: number;
  name?: string;
  inputShape?: (number | null)[];
  trainable?: boolean;
  batchInputShape?: (number | null)[];
  batchSize?: number;
  dtype?: tf.DataType;
  inputDType?: tf.DataType;
}
const DROPOUT_KEYS = ['rate', 'seed', 'name', 'inputShape', 'trainable', 'batchInputShape', 'batchSize', 'dtype', 'inputDType', 'weights', 'customObjects'];

/**
 * Inverted dropout on every unit of its input (any shape, e.g. `[batch, time, n]`: a fresh mask per
 * row, step and unit), in training calls only, with masks from the seeded stream of ({@link dropoutStream})
 * its seed and its training-call count, so runs repeat. The builders put it between the top recurrent
 * layer and the head when `spec.dropout > 0` (Zaremba et al. 2014). Passes a sequence mask through.
 * Serialized as 'LabDropout'.
 */
export class LabDropout extends tf.layers.Layer implements DropoutCounter {
  static className = 'LabDropout';
  readonly rate: number;
  readonly seed: number;
  /** Training calls made so far (the masks' stream position); {@link resetDropout} sets it to 0. */
  dropoutCalls = 0;

  constructor(args: LabDropoutOptions) {
    super(args);
    checkOptions('LabDropout', args, DROPOUT_KEYS, 'options', TFJS_CONFIG_KEYS);
    this.rate = checkRate('LabDropout', 'rate', args?.rate);
    const seed = args.seed ?? 1;
    if (!Number.isSafeInteger(seed)) throw new RangeError(`LabDropout: seed must be a safe integer; got ${describe(args.seed)}`);
    this.seed = seed;
    this.supportsMasking = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (kwargs?.training !== true || this.rate === 0) return x.clone();
    const mask = this.nextMask(x.size);
    return tf.tidy(() => tf.mul(x, tf.tensor(mask, x.shape)));   // [batch, …] as x
  }

  /**
   * The mask of the next training call on an input of `size` units (row-major as the input), drawn from
   * the stream of (seed, dropoutCalls), which advances by one: what {@link call} multiplies by, and what
   * the fused training step (src/fused/train-step.ts) draws in its place, so both paths drop the same units.
   */
  nextMask(size: number): Float32Array {
    return drawMask(dropoutStream(this.seed, this.dropoutCalls++), size, this.rate);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), rate: this.rate, seed: this.seed };
  }
}
tf.serialization.registerClass(LabDropout);
