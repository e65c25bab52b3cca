/**
 * Sequence lengths and masks: the one description of a padded batch that layers, fused kernels,
 * losses, training and decoding share.
 *
 * Semantics (PyTorch's packed sequences, `torch.nn.utils.rnn.pack_padded_sequence`): a batch
 * `[batch, T, …]` is padded at the end; sequence b has `L_b` real steps, 1 ≤ L_b ≤ T. The equivalent
 * mask `[batch, T]` holds 1 at the real steps and 0 at the padding: ones, then zeros. Keras's masks
 * (`tf.layers.masking`, `embedding({ maskZero: true })`) are booleans of the same layout.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from './describe';
import { shapeText } from './inputs';

/** Per-sequence lengths: a plain array, a typed array or a `[batch]` tensor of integers. */
export type Lengths = readonly number[] | Int32Array | Float32Array | tf.Tensor1D;

/**
 * Check per-sequence lengths against a batch of `batch` sequences of `T` steps and return them as
 * integers. Each must be an integer with 1 ≤ L_b ≤ T; the count must equal the batch size.
 *
 * @throws RangeError naming `where`, `name`, the row (sequence) and what was expected
 */
export function checkLengths(where: string, name: string, lengths: unknown, batch: number, T: number): Int32Array {
  let values: ArrayLike<number>;
  if (lengths instanceof tf.Tensor) {
    if (lengths.rank !== 1) throw new RangeError(`${where}: ${name} must be a [batch] list of sequence lengths; got a tensor of shape ${shapeText(lengths.shape)}`);
    values = lengths.dataSync() as ArrayLike<number>;
  } else if (Array.isArray(lengths) || ArrayBuffer.isView(lengths)) {
    values = lengths as ArrayLike<number>;
  } else {
    throw new TypeError(`${where}: ${name} must be a list of sequence lengths (number[] or a [batch] tensor); got ${describe(lengths)}`);
  }
  if (values.length !== batch) {
    throw new RangeError(`${where}: ${name} has ${values.length} lengths but the batch [batch, time, features] has ${batch} sequences`);
  }
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const L = values[b];
    if (!Number.isInteger(L) || L < 1 || L > T) {
      throw new RangeError(`${where}: ${name}[${b}] must be an integer from 1 to T = ${T} (the time axis of [batch, time, features]); got ${describe(L)}`);
    }
    out[b] = L;
  }
  return out;
}

/**
 * The lengths a mask `[batch, T]` describes. Each row must be ones followed by zeros (any nonzero or
 * `true` counts as one), with at least one real step.
 *
 * @throws RangeError naming `where`, `name`, the row and the first step that breaks the pattern
 */
export function lengthsFromMask(where: string, name: string, mask: unknown, batch: number, T: number): Int32Array {
  if (!(mask instanceof tf.Tensor)) throw new TypeError(`${where}: ${name} must be a [batch, time] tensor of 1s then 0s; got ${describe(mask)}`);
  if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== T) {
    throw new RangeError(`${where}: ${name} must have shape [batch, time] = ${shapeText([batch, T])} (the first two axes of [batch, time, features]); got ${shapeText(mask.shape)}`);
  }
  const m = mask.dataSync();
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    let L = 0;
    while (L < T && Number(m[b * T + L]) !== 0) L++;
    for (let t = L; t < T; t++) {
      if (Number(m[b * T + t]) !== 0) {
        throw new RangeError(`${where}: ${name} row ${b} must be 1s followed by 0s (padding at the end); step ${t} is ${Number(m[b * T + t])} after a 0 at step ${L}`);
      }
    }
    if (L === 0) throw new RangeError(`${where}: ${name} row ${b} has no real step (all 0s); every sequence needs length ≥ 1`);
    out[b] = L;
  }
  return out;
}

/**
 * The lengths of a batch given either `lengths` or `mask` (or both, which must agree); null when
 * neither is given (every sequence has T steps).
 *
 * @throws as {@link checkLengths} and {@link lengthsFromMask}; RangeError when both are given and differ
 */
export function resolveLengths(where: string, given: { lengths?: unknown; mask?: unknown }, batch: number, T: number): Int32Array | null {
  const fromLengths = given.lengths == null ? null : checkLengths(where, 'lengths', given.lengths, batch, T);
  const fromMask = given.mask == null ? null : lengthsFromMask(where, 'mask', given.mask, batch, T);
  if (fromLengths && fromMask) {
    const b = fromLengths.findIndex((L, i) => L !== fromMask[i]);
    if (b >= 0) throw new RangeError(`${where}: lengths and mask disagree at row ${b}: lengths[${b}] = ${fromLengths[b]}, the mask has ${fromMask[b]} real steps`);
  }
  return fromLengths ?? fromMask;
}

/**
 * The mask `[batch, T]` of the lengths: 1 at steps t < L_b, 0 after (float32, ready to multiply).
 * @example
 * ```ts
 * sequenceMask([2, 3], 4).arraySync();   // [[1, 1, 0, 0], [1, 1, 1, 0]]
 * ```
 */
export function sequenceMask(lengths: ArrayLike<number>, T: number): tf.Tensor2D {
  const batch = lengths.length;
  const m = new Float32Array(batch * T);
  for (let b = 0; b < batch; b++) m.fill(1, b * T, b * T + Math.min(lengths[b], T));
  return tf.tensor2d(m, [batch, T]);
}

/** Whether every sequence has all T steps (then a layer may take its unmasked path). */
export function allFull(lengths: ArrayLike<number> | null, T: number): boolean {
  if (!lengths) return true;
  for (let b = 0; b < lengths.length; b++) if (lengths[b] !== T) return false;
  return true;
}
