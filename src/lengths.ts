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

/** The layout named in length errors when the caller does not say (feature inputs). */
const FEATURES = '[batch, time, features]';

/**
 * Lengths of a batch that padSequences padded at the front ('pre'): rnn-lab's lengths mean "the first
 * L_b steps are real", so they must never be passed on. A WeakSet, so the mark goes with the object.
 */
const prePadded = new WeakSet<object>();

/** Mark the lengths (and x) of a front-padded batch (padSequences with `padding: 'pre'`). */
export function markPrePadded(...objects: object[]): void {
  for (const o of objects) prePadded.add(o);
}

/** Whether `o` came from padSequences with `padding: 'pre'` (see {@link markPrePadded}). */
export function isPrePadded(o: unknown): boolean {
  return typeof o === 'object' && o !== null && prePadded.has(o);
}

/** Refuse lengths or a mask given with an x that padSequences padded at the front. */
export function refusePrePaddedInput(where: string, name: string, x: unknown): void {
  if (isPrePadded(x)) {
    throw new RangeError(`${where}: ${name} was padded at the front (padSequences(…, { padding: 'pre' })) and comes with lengths or a mask, ` +
      'which mean the first L_b steps are real (padding at the end): ' + "pad with padSequences(seqs, { padding: 'post' }) (the default)");
  }
}

function refusePrePadded(where: string, name: string, o: unknown): void {
  if (isPrePadded(o)) {
    throw new RangeError(`${where}: ${name} come from padSequences(…, { padding: 'pre' }), which puts the padding before each sequence; ` +
      'lengths and masks mean the first L_b steps are real (padding at the end, as PyTorch\'s packed sequences): ' +
      "pad with padSequences(seqs, { padding: 'post' }) (the default)");
  }
}

/**
 * Check per-sequence lengths against a batch of `batch` sequences of `T` steps and return them as
 * integers. Each must be an integer with 1 ≤ L_b ≤ T; the count must equal the batch size. Lengths
 * from `padSequences(…, { padding: 'pre' })` are refused (they count real steps at the end of a row).
 *
 * @param layout the input's layout named in errors: '[batch, time, features]' (default) or '[batch, time]' for token ids
 * @throws RangeError naming `where`, `name`, the row (sequence) and what was expected
 */
export function checkLengths(where: string, name: string, lengths: unknown, batch: number, T: number, layout = FEATURES): Int32Array {
  let values: ArrayLike<number>;
  refusePrePadded(where, name, lengths);
  if (lengths instanceof tf.Tensor) {
    if (lengths.rank !== 1) throw new RangeError(`${where}: ${name} must be a [batch] list of sequence lengths; got a tensor of shape ${shapeText(lengths.shape)}`);
    values = lengths.dataSync() as ArrayLike<number>;
  } else if (Array.isArray(lengths) || ArrayBuffer.isView(lengths)) {
    values = lengths as ArrayLike<number>;
  } else {
    throw new TypeError(`${where}: ${name} must be a list of sequence lengths (number[] or a [batch] tensor); got ${describe(lengths)}`);
  }
  if (values.length !== batch) {
    throw new RangeError(`${where}: ${name} has ${values.length} lengths but the batch ${layout} has ${batch} sequences`);
  }
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) {
    const L = values[b];
    if (!Number.isInteger(L) || L < 1 || L > T) {
      throw new RangeError(`${where}: ${name}[${b}] must be an integer from 1 to T = ${T} (the time axis of ${layout}); got ${describe(L)}`);
    }
    out[b] = L;
  }
  return out;
}

/** Where a mask came from, for its errors: given by the caller, or made from token ids and padId. */
export interface MaskSource {
  /** The input's layout named in errors (default '[batch, time, features]'). */
  layout?: string;
  /** The mask was made as `ids != padId`: errors talk about tokens and padId, not 1s and 0s. */
  padId?: number;
}

/**
 * The lengths a mask `[batch, T]` describes. Each row must be ones followed by zeros (`true`/`false`,
 * or the numbers 1 and 0: a mask marks real steps, it is not a weight), with at least one real step.
 *
 * Two forms: `lengthsFromMask(mask)` (the lengths of a `[batch, T]` mask, e.g. one made by
 * `tf.layers.masking`) and the checking form `lengthsFromMask(where, name, mask, batch, T, source?)`
 * that the library's functions use.
 *
 * @example
 * ```ts
 * lengthsFromMask(tf.tensor2d([[1, 1, 0], [1, 1, 1]]));   // Int32Array [2, 3]
 * ```
 * @throws RangeError naming `where`, `name`, the row and the first step that breaks the pattern
 */
export function lengthsFromMask(mask: tf.Tensor): Int32Array;
export function lengthsFromMask(where: string, name: string, mask: unknown, batch: number, T: number, source?: MaskSource): Int32Array;
export function lengthsFromMask(...args: unknown[]): Int32Array {
  if (typeof args[0] !== 'string') {
    const mask = args[0];
    if (args.length > 1) throw new TypeError(`lengthsFromMask(mask): one argument, a [batch, time] mask; got ${args.length} arguments`);
    if (!(mask instanceof tf.Tensor) || mask.rank !== 2) {
      throw new TypeError(`lengthsFromMask: mask must be a [batch, time] tensor of 1s then 0s; got ${describe(mask)}`);
    }
    return maskLengths('lengthsFromMask', 'mask', mask, mask.shape[0], mask.shape[1], {});
  }
  const [where, name, mask, batch, T, source] = args as [string, string, unknown, number, number, MaskSource | undefined];
  return maskLengths(where, name, mask, batch, T, source ?? {});
}

function maskLengths(where: string, name: string, mask: unknown, batch: number, T: number, source: MaskSource): Int32Array {
  const layout = source.layout ?? FEATURES;
  const tokens = source.padId !== undefined;
  if (!(mask instanceof tf.Tensor)) throw new TypeError(`${where}: ${name} must be a [batch, time] tensor of 1s then 0s; got ${describe(mask)}`);
  refusePrePadded(where, name, mask);
  if (mask.rank !== 2 || mask.shape[0] !== batch || mask.shape[1] !== T) {
    throw new RangeError(`${where}: ${name} must have shape [batch, time] = ${shapeText([batch, T])} (the first two axes of ${layout}); got ${shapeText(mask.shape)}`);
  }
  const m = mask.dataSync();
  const out = new Int32Array(batch);
  const value = (i: number) => Number(m[i]);
  for (let b = 0; b < batch; b++) {
    let L = 0;
    while (L < T && value(b * T + L) !== 0) L++;
    for (let t = 0; t < T; t++) {
      const v = value(b * T + t);
      if (v !== 0 && v !== 1) {
        throw new RangeError(`${where}: ${name} row ${b} step ${t} is ${v}: a mask holds 1 (or true) at real steps and 0 (or false) at padding; ` +
          'it marks steps, it does not weight them (to weight the loss, scale the targets or write a loss)');
      }
      if (t > L && v !== 0) {
        if (tokens) {
          throw new RangeError(`${where}: ${name} row ${b} has a token at step ${t} after padId ${source.padId} at step ${L}: ` +
            `padding (padId ${source.padId}) must come only at the end of a row; if ${source.padId} is also a real token, build the model with another padId`);
        }
        throw new RangeError(`${where}: ${name} row ${b} must be 1s followed by 0s (padding at the end); step ${t} is 1 after a 0 at step ${L}` +
          ' (if the mask came from tf.layers.masking or an embedding with maskZero, a real step equal to maskValue — e.g. an all-zero feature vector, or token 0 — was taken for padding: use another maskValue or pass lengths)');
      }
    }
    if (L === 0) {
      throw new RangeError(tokens
        ? `${where}: ${name} row ${b} is all padId ${source.padId}: every sequence needs at least one real token`
        : `${where}: ${name} row ${b} has no real step (all 0s); every sequence needs length ≥ 1`);
    }
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
export function resolveLengths(where: string, given: { lengths?: unknown; mask?: unknown }, batch: number, T: number, layout = FEATURES): Int32Array | null {
  const fromLengths = given.lengths == null ? null : checkLengths(where, 'lengths', given.lengths, batch, T, layout);
  const fromMask = given.mask == null ? null : lengthsFromMask(where, 'mask', given.mask, batch, T, { layout });
  if (fromLengths && fromMask) {
    const b = fromLengths.findIndex((L, i) => L !== fromMask[i]);
    if (b >= 0) {
      throw new RangeError(`${where}: lengths and mask disagree at row ${b}: lengths[${b}] = ${fromLengths[b]}, the mask has ${fromMask[b]} real steps ` +
        '(a mask reaches a layer from the call, or from a masking layer or an embedding with maskZero / a padId model before it)');
    }
  }
  return fromLengths ?? fromMask;
}

/**
 * The mask `[batch, T]` of the lengths: 1 at steps t < L_b, 0 after (float32, ready to multiply).
 *
 * @param lengths `[batch]` integers 1 ≤ L_b ≤ T (a number array, typed array or `[batch]` tensor)
 * @throws RangeError naming the row when a length is not an integer from 1 to T
 * @example
 * ```ts
 * sequenceMask([2, 3], 4).arraySync();   // [[1, 1, 0, 0], [1, 1, 1, 0]]
 * ```
 */
export function sequenceMask(lengths: Lengths, T: number): tf.Tensor2D {
  if (!Number.isInteger(T) || T < 1) throw new RangeError(`sequenceMask: T (the number of time steps) must be an integer ≥ 1; got ${describe(T)}`);
  const batch = lengths instanceof tf.Tensor ? lengths.shape[0] ?? 0 : (lengths as ArrayLike<number>).length;
  return maskOf(checkLengths('sequenceMask', 'lengths', lengths, batch, T), T);
}

/**
 * {@link sequenceMask} without the checks, for lengths the library has checked already; a length of 0
 * (a row with no step in a chunk) gives a row of 0s.
 */
export function maskOf(lengths: ArrayLike<number>, T: number): tf.Tensor2D {
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
