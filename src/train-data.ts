/**
 * train's data for variable-length sequences: `{ x, y }` tensors, `{ x, y, lengths }` (or `mask`)
 * padded at the end, or ragged arrays padded per batch — one source of batches, each with its mask
 * and its number of loss terms. Also the check that a model can take a mask at all.
 */
import * as tf from '@tensorflow/tfjs';
import { checkLengths, lengthsFromMask, maskOf, refusePrePaddedInput } from './lengths';
import { readRows } from './padding';
import { shapeText } from './inputs';
import { describe } from './describe';

/**
 * The fewest steps a batch cut or padded per batch gets. tf.js 4.22's recurrent layers with
 * `returnSequences` cannot differentiate a one-step input (the gradient of their unstack receives a
 * null and tf.stack throws), so a batch of one-step sequences gets one extra padded step: it is masked,
 * so it changes neither the loss nor the gradient.
 */
export const MIN_STEPS = 2;

/** One batch, ready for the model and the loss. */
export interface SeqBatch {
  x: tf.Tensor | tf.Tensor[];
  y: tf.Tensor;
  /** Float 1/0 `[batch, T_b]` for the loss (null: every step is real). */
  mask: tf.Tensor2D | null;
  /**
   * The same mask as booleans, for `model.apply(x, { mask })` (tf.layers' own masks are boolean); for a
   * seq2seq model one per input, `[source mask, target mask]` (null: every step of that input is real).
   */
  modelMask: tf.Tensor | (tf.Tensor | null)[] | null;
  /** Loss terms of the batch (real steps × entries per step, or y's entries), for weighted means. */
  terms: number;
  /** Everything made for this batch (the caller disposes it). */
  tensors: tf.Tensor[];
}

/** Where a train call's batches come from. */
export interface BatchSource {
  /** Sequences. */
  N: number;
  /** Real steps per sequence; null when there are no lengths (every step real). */
  lengths: Int32Array | null;
  /** Rows `rows` as one batch: gathered (and cut to the batch's longest sequence when the model's time axis is free) or padded. */
  batch(rows: number[]): SeqBatch;
  /** Ragged data's targets of a many-to-one model, as one tensor (for train's target checks). */
  y?: tf.Tensor;
  /** Tensors the source made once (ragged data's many-to-one targets). */
  dispose(): void;
  /**
   * The same batch as {@link batch} makes it, as plain arrays (no tensors): x [b, T_b(, F)] and y
   * ([b(, T_b)(, O)]), for the fused training step. One-input sources only.
   */
  arrays?(rows: number[]): ArrayBatch;
}

/** A batch as plain arrays (see {@link BatchSource.arrays}). */
export interface ArrayBatch {
  x: Float32Array | Int32Array;
  y: Float32Array | Int32Array;
  b: number;
  /** Time steps of the batch (cut or padded as {@link BatchSource.batch} does). */
  T: number;
  /** Loss terms, as {@link SeqBatch.terms}. */
  terms: number;
}

/** Floats a tensor source may copy out of tf.js once per train call for its array batches (64 MiB); larger data is gathered per batch. */
let ARRAY_CACHE_FLOATS = 2 ** 24;

/** Set {@link ARRAY_CACHE_FLOATS} (tests: the per-batch gather path on small data). Returns the old value. Internal. */
export function setArrayCacheFloats(floats: number): number {
  const old = ARRAY_CACHE_FLOATS;
  ARRAY_CACHE_FLOATS = floats;
  return old;
}

/** The first `T` steps of rows `rows` of a batch-major array with `per` values per step and `full` steps per row. */
function rowsPrefix(src: ArrayLike<number>, rows: number[], full: number, T: number, per: number, out: Float32Array | Int32Array): Float32Array | Int32Array {
  rows.forEach((r, i) => {
    const from = r * full * per;
    for (let k = 0; k < T * per; k++) out[i * T * per + k] = src[from + k];
  });
  return out;
}

/** A ragged list of sequences (`number[][]` or `number[][][]`), as opposed to a tensor. */
export function isRagged(v: unknown): v is unknown[] {
  return Array.isArray(v) && v.length > 0 && !(v[0] instanceof tf.Tensor);
}

/** Whether the model's output has a time axis (many-to-many, seq2seq): then the loss is masked. */
export function perStepOutput(model: tf.LayersModel): boolean {
  return model.outputs[0].shape.length === 3;
}

/** Entries per step of a target (1 for class ids [batch, T], O for [batch, T, O]). */
function entriesPerStep(y: tf.Tensor): number {
  return y.shape.slice(2).reduce((a, d) => a * d, 1);
}

/**
 * The steps a batch of sequences with lengths L keeps: its longest sequence (at least MIN_STEPS), at
 * most T; T itself for a model with a fixed T (`free` false) or a batch without lengths. The padded tail
 * past every row's end is masked anyway, so cutting it saves those steps (bucketing makes this large).
 */
function batchSteps(L: number[] | null, T: number, free: boolean): number {
  return L && free ? Math.min(T, Math.max(MIN_STEPS, ...L)) : T;
}

/**
 * The loss's terms in a batch, which its mean divides by: with per-step targets and lengths, the
 * targets at real steps (Σ_b L_b · entries per step); otherwise every target (`all`).
 */
function lossTerms(L: number[] | null, perStepEntries: number | null, all: number): number {
  return L && perStepEntries !== null ? L.reduce((a, l) => a + l, 0) * perStepEntries : all;
}

/**
 * The batches of tensor data with lengths (or a mask): rows gathered, the time axis cut to the batch's
 * longest sequence when the model accepts any length (`[batch, null, …]` inputs), the mask built from
 * the lengths. Without lengths: the plain rows, as before.
 */
export function tensorSource(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], y: tf.Tensor, lengths: Int32Array | null): BatchSource {
  const first = Array.isArray(x) ? x[0] : x;
  const free = model.inputs[0].shape[1] === null;
  const perStep = perStepOutput(model);
  // The data read out of tf.js once (small data), else per batch.
  let cache: { x: ArrayLike<number>; y: ArrayLike<number> } | undefined;
  const T = first.shape[1] as number;
  const N = first.shape[0];
  const arrayOf = (t: tf.Tensor) => (t.dtype === 'int32' ? Int32Array : Float32Array);
  return {
    N: first.shape[0],
    lengths,
    arrays: Array.isArray(x) ? undefined : (rows) => {
      const L = lengths ? rows.map((r) => lengths[r]) : null;
      const Tb = batchSteps(L, T, free);
      const xPer = first.size / (N * T);                                             // values per step (1 for token ids)
      const yPer = perStep ? y.size / (N * T) : y.size / N;
      let xs: ArrayLike<number>, ys: ArrayLike<number>, sel = rows;
      if (cache || first.size + y.size <= ARRAY_CACHE_FLOATS) {
        cache ??= { x: first.dataSync() as Float32Array, y: y.dataSync() as Float32Array };
        xs = cache.x; ys = cache.y;
      } else {
        [xs, ys] = tf.tidy(() => {
          const idx = tf.tensor1d(rows, 'int32');
          return [tf.gather(first, idx).dataSync(), tf.gather(y, idx).dataSync()] as [Float32Array, Float32Array];
        });
        sel = rows.map((_, i) => i);
      }
      const xb = rowsPrefix(xs, sel, T, Tb, xPer, new (arrayOf(first))(rows.length * Tb * xPer));                      // [b, T_b(, F)]
      const yb = perStep ? rowsPrefix(ys, sel, T, Tb, yPer, new (arrayOf(y))(rows.length * Tb * yPer))               // [b, T_b(, O)]
        : rowsPrefix(ys, sel, 1, 1, yPer, new (arrayOf(y))(rows.length * yPer));                                       // [b(, O)]
      return { x: xb, y: yb, b: rows.length, T: Tb, terms: lossTerms(L, perStep ? yPer : null, yb.length) };
    },
    batch(rows) {
      const idx = tf.tensor1d(rows, 'int32');
      let xb = Array.isArray(x) ? x.map((u) => tf.gather(u, idx)) : tf.gather(x, idx);
      let yb = tf.gather(y, idx);
      const tensors: tf.Tensor[] = [idx, ...(Array.isArray(xb) ? xb : [xb]), yb];
      if (!lengths) return { x: xb, y: yb, mask: null, modelMask: null, terms: yb.size, tensors };
      const L = rows.map((r) => lengths[r]);
      const Tb = batchSteps(L, T, free);
      if (Tb < T) {
        xb = tf.slice(xb as tf.Tensor, [0, 0], [-1, Tb]);                             // [batch, T_b, …]
        tensors.push(xb);
        if (perStep) { yb = tf.slice(yb, [0, 0], [-1, Tb]); tensors.push(yb); }      // [batch, T_b(, O)]
      }
      const mask = maskOf(L, Tb);                                               // [batch, T_b] float
      const modelMask = tf.cast(mask, 'bool');
      tensors.push(mask, modelMask);
      return { x: xb, y: yb, mask: perStep ? mask : null, modelMask, terms: lossTerms(L, perStep ? entriesPerStep(yb) : null, yb.size), tensors };
    },
    dispose() {},
  };
}

/**
 * The lengths of tensor data given `lengths` or `mask` (both: they must agree); null when neither.
 * @throws as checkLengths / lengthsFromMask, naming `<what>.lengths` / `<what>.mask` and the row
 */
export function dataLengths(what: string, data: { x?: unknown; lengths?: unknown; mask?: unknown }, N: number, T: number, layout = '[batch, time, features]'): Int32Array | null {
  const x = Array.isArray(data.x) ? data.x[0] : data.x;
  if (data.lengths != null || data.mask != null) refusePrePaddedInput('train', `${what}.x`, x);
  const a = data.lengths == null ? null : checkLengths('train', `${what}.lengths`, data.lengths, N, T, layout);
  const b = data.mask == null ? null : lengthsFromMask('train', `${what}.mask`, data.mask, N, T, { layout });
  if (a && b) {
    const r = a.findIndex((L, i) => L !== b[i]);
    if (r >= 0) throw new RangeError(`train: ${what}.lengths and ${what}.mask disagree at row ${r}: lengths[${r}] = ${a[r]}, the mask has ${b[r]} real steps`);
  }
  return a ?? b;
}

/**
 * One target per sequence, as given in ragged data: numbers (`[N]`) or equal-width vectors of numbers
 * (`[N, outputs]`). Anything else — null (an empty cell), a boolean, a string label — is an error naming
 * the row: tf.tensor would turn null into 0 and true into 1, silently.
 */
function sequenceTargets(what: string, y: unknown[]): number[] | number[][] {
  const bad = (at: string, v: unknown, want: string) =>
    new TypeError(`train: ${what}.y${at} must be ${want}; got ${describe(v)} (missing values are not filled in, and labels must be numbers: map them to class ids first)`);
  const vec = Array.isArray(y[0]) || ArrayBuffer.isView(y[0]);
  const width = vec ? (y[0] as ArrayLike<unknown>).length : 0;
  y.forEach((v, b) => {
    if (!vec) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(`[${b}]`, v, 'a finite number (one target per sequence, layout [batch] or [batch, outputs])');
      return;
    }
    if (!(Array.isArray(v) || ArrayBuffer.isView(v)) || (v as ArrayLike<unknown>).length !== width) {
      throw bad(`[${b}]`, v, `a vector of ${width} numbers, like ${what}.y[0] (layout [batch, outputs])`);
    }
    Array.from(v as ArrayLike<unknown>).forEach((e, o) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) throw bad(`[${b}][${o}]`, e, 'a finite number');
    });
  });
  return y as number[] | number[][];
}

/**
 * Rows `sel` of ragged `r` as one batch padded at the end to T steps with `value`: `[B, T]` (one number
 * per step, e.g. token ids) or, with `perStepShape`, `[B, T, w]` (w numbers per step).
 */
export function padBatch(sel: number[], r: ReturnType<typeof readRows>, T: number, value: number, perStepShape: boolean): tf.Tensor {
  const w = r.features ?? 1;
  const out = padRows(sel, r, T, value);
  return perStepShape ? tf.tensor3d(out, [sel.length, T, w]) : tf.tensor2d(out, [sel.length, T]);
}

/** {@link padBatch}'s values: rows `sel` padded at the end to T steps with `value`, [B, T(, w)] batch-major. */
function padRows(sel: number[], r: ReturnType<typeof readRows>, T: number, value: number): Float32Array {
  const w = r.features ?? 1;
  const out = new Float32Array(sel.length * T * w).fill(value);
  sel.forEach((row, b) => out.set(r.values[row], b * T * w));
  return out;
}

/** A token model's vocabulary size and padId, from its embedding (a builder's LabEmbedding or tf.layers.embedding). */
export function tokenVocab(model: tf.LayersModel): { vocabSize?: number; padId?: number } {
  const emb = model.layers.find((l) => l.getClassName() === 'LabEmbedding' || l.getClassName() === 'Embedding') as unknown as { padId?: number; vocabSize?: number; inputDim?: number } | undefined;
  return { vocabSize: emb?.vocabSize ?? emb?.inputDim, padId: emb?.padId };
}

/**
 * Ragged token ids must be ids of the model's vocabulary, and none may be its padId: train pads a
 * ragged row itself, and a padId inside a row would be masked as padding (cutting the row short, or
 * breaking the 1s-then-0s rule), an id outside [0, V) would look up no embedding row. `role` follows
 * the row in messages (' (sources)' for a seq2seq input).
 */
export function checkRaggedIds(name: string, rows: ArrayLike<number>[], vocab: { vocabSize?: number; padId?: number }, role = ''): void {
  const V = vocab.vocabSize;
  for (let b = 0; b < rows.length; b++) {
    const row = rows[b];
    for (let t = 0; t < row.length; t++) {
      const v = row[t];
      if (!Number.isInteger(v) || v < 0 || (V !== undefined && v >= V)) {
        throw new RangeError(`train: ${name}[${b}][${t}]${role} must be a token id, an integer in [0, ${V === undefined ? 'vocabSize' : `vocabSize = ${V}`}); got ${v} (layout [batch, time] token ids)`);
      }
      if (v === vocab.padId) {
        throw new RangeError(`train: ${name}[${b}][${t}]${role} is the model's padId ${v}, which marks padding; a ragged row holds only real tokens (train pads it), so drop the padding or rebuild the model with a spare padId`);
      }
    }
  }
}

/**
 * Ragged arrays: `x` a list of sequences (`number[][]` token ids or one feature per step, or
 * `number[][][]` feature vectors); `y` ragged the same way for per-step outputs (each row as long as
 * its x row), else an array of one target per sequence. Each batch is padded at the end to its
 * longest sequence (or to the model's fixed T).
 */
export function raggedSource(model: tf.LayersModel, what: string, x: unknown, y: unknown, lossName: string | undefined): BatchSource {
  const xr = readRows('train', `${what}.x`, x);
  const inShape = model.inputs[0].shape;                                              // [null, T] tokens, [null, T, F]
  const fixedT = inShape[1];
  const layout = inShape.length === 2 ? '[batch, time] token ids' : `[batch, time, features=${inShape[2]}]`;
  if (inShape.length === 2 && xr.features !== undefined) {
    throw new RangeError(`train: ${what}.x must be sequences of token ids (number[][]) for the model's input ${layout}; got sequences of feature vectors of width ${xr.features}`);
  }
  if (inShape.length === 3 && (xr.features ?? 1) !== inShape[2]) {
    throw new RangeError(`train: ${what}.x has ${xr.features === undefined ? 'one number per step' : `${xr.features} features per step`} but the model's input is ${layout}`);
  }
  if (inShape.length !== 2 && inShape.length !== 3) throw new Error(`train: ragged ${what}.x needs a sequence model (input [batch, time] or [batch, time, features]); the model's input is ${shapeText(inShape)}`);
  if (fixedT != null) {
    const b = xr.lengths.findIndex((L) => L > fixedT);
    if (b >= 0) throw new RangeError(`train: ${what}.x[${b}] has ${xr.lengths[b]} steps but the model takes at most T = ${fixedT} (input ${layout}); cut it first, e.g. padSequences(seqs, { maxLength: ${fixedT} })`);
  }
  const vocab = inShape.length === 2 ? tokenVocab(model) : {};
  if (inShape.length === 2) checkRaggedIds(`${what}.x`, xr.values, vocab);
  const perStep = perStepOutput(model);
  const outShape = model.outputs[0].shape;                                            // [null, T, O] or [null, O]
  let yr: ReturnType<typeof readRows> | undefined;
  let yAll: tf.Tensor | undefined;
  if (perStep) {
    if (!isRagged(y)) throw new TypeError(`train: ${what}.y must be ragged like ${what}.x (one target per step: number[][] or number[][][]) for a model with per-step outputs ${shapeText(outShape)}; got ${describe(y)}`);
    yr = readRows('train', `${what}.y`, y);
    if (yr.lengths.length !== xr.lengths.length) throw new RangeError(`train: ${what}.y has ${yr.lengths.length} sequences but ${what}.x has ${xr.lengths.length}`);
    const b = yr.lengths.findIndex((L, i) => L !== xr.lengths[i]);
    if (b >= 0) throw new RangeError(`train: ${what}.y[${b}] has ${yr.lengths[b]} steps but ${what}.x[${b}] has ${xr.lengths[b]}; per-step targets need one per input step`);
    const O = outShape[2] as number;
    if (lossName === 'crossEntropy' ? yr.features !== undefined : (yr.features ?? 1) !== O) {
      throw new RangeError(`train: ${what}.y has ${yr.features === undefined ? 'one number per step' : `${yr.features} numbers per step`}; the model outputs ${O} per step${lossName === 'crossEntropy' ? ' and crossEntropy takes one class id per step' : ''}`);
    }
    if (lossName === 'crossEntropy') {
      // An id outside [0, V) would make a one-hot row of zeros: a loss term of 0, silently.
      yr.values.forEach((row, b) => row.forEach((v, t) => {
        if (!Number.isInteger(v) || v < 0 || v >= O) throw new RangeError(`train: ${what}.y[${b}][${t}] must be a class id, an integer in [0, ${O}) for loss 'crossEntropy'; got ${v}`);
      }));
    }
  } else {
    if (!Array.isArray(y)) throw new TypeError(`train: ${what}.y must be an array of targets, one per sequence of the ragged ${what}.x; got ${describe(y)}`);
    if (y.length !== xr.lengths.length) throw new RangeError(`train: ${what}.y has ${y.length} targets but ${what}.x has ${xr.lengths.length} sequences`);
    yAll = tf.tensor(sequenceTargets(what, y), undefined, 'float32');                  // [N] class ids or [N, outputs]
    // One number per sequence for a one-output head (sigmoid, linear): the head's [N, 1].
    if (yAll.rank === 1 && lossName !== 'crossEntropy' && outShape.length === 2 && outShape[1] === 1) {
      const flat = yAll;
      yAll = tf.reshape(flat, [-1, 1]);
      flat.dispose();
    }
  }
  const owned = yAll;
  // Token ids are padded with the model's padId (its embedding masks exactly those); features with 0.
  const padValue = vocab.padId ?? 0;
  let yFlat: Float32Array | undefined;
  return {
    N: xr.lengths.length,
    lengths: Int32Array.from(xr.lengths),
    arrays(rows) {
      const L = rows.map((r) => xr.lengths[r]);
      const Tb = batchSteps(L, fixedT ?? Infinity, fixedT == null);
      const xb = padRows(rows, xr, Tb, padValue);                                    // [b, T_b(, F)]
      let yb: Float32Array;
      if (yr) yb = padRows(rows, yr, Tb, 0);                                         // [b, T_b(, O)]
      else {
        yFlat ??= yAll!.dataSync() as Float32Array;
        const per = yFlat.length / xr.lengths.length;
        yb = new Float32Array(rows.length * per);
        rows.forEach((r, i) => yb.set(yFlat!.subarray(r * per, (r + 1) * per), i * per));   // [b(, O)]
      }
      return { x: xb, y: yb, b: rows.length, T: Tb, terms: lossTerms(L, yr ? yr.features ?? 1 : null, yb.length) };
    },
    batch(rows) {
      const L = rows.map((r) => xr.lengths[r]);
      const Tb = batchSteps(L, fixedT ?? Infinity, fixedT == null);
      const xb = padBatch(rows, xr, Tb, padValue, inShape.length === 3);               // [batch, T_b(, F)]
      let yb: tf.Tensor;
      let idx: tf.Tensor | undefined;
      if (yr) {
        yb = padBatch(rows, yr, Tb, 0, lossName !== 'crossEntropy');                   // [batch, T_b] ids or [batch, T_b, O]
      } else {
        idx = tf.tensor1d(rows, 'int32');
        yb = tf.gather(yAll!, idx);
      }
      const mask = maskOf(L, Tb);                                               // [batch, T_b] float
      const modelMask = tf.cast(mask, 'bool');
      return { x: xb, y: yb, mask: yr ? mask : null, modelMask, terms: lossTerms(L, yr ? entriesPerStep(yb) : null, yb.size), tensors: [xb, yb, mask, modelMask, ...(idx ? [idx] : [])] };
    },
    y: yAll,
    dispose() { owned?.dispose(); },
  };
}

/** How a layer class is named in messages: `'lstm_1' (LabLSTM)`. */
function layerName(layer: tf.layers.Layer): string {
  return `'${layer.name}' (${layer.getClassName()})`;
}

/**
 * Check that a model can take `model.apply(x, { mask })`, before any step runs. Keras's rule: a
 * layer that receives a mask must support masking (`supportsMasking`), or it would treat the padded
 * steps as real. The mask flows from the input through layers that support it and stops after a
 * recurrent layer without `returnSequences` (its output is each sequence's last real step). tf.js's
 * `model.apply` also hands the input mask to layers past that point, so a recurrent layer there (it
 * would read the wrong mask) is refused too.
 *
 * @throws Error naming `where`, the layer and its class
 */
export function checkMaskSupport(where: string, model: tf.LayersModel, what = 'lengths (or a mask)'): void {
  if (model.inputs.length !== 1) {
    throw new Error(`${where}: ${what} with a model of ${model.inputs.length} inputs is not supported: tf.js's model.apply hands one mask to every layer. ` +
      'A builder\'s seq2seq model takes lengths { source, target } (train) or one mask per input (computeGradients); for other models give each sequence its own model call, or train without lengths');
  }
  const masked = new Set<tf.layers.Layer>();
  for (const layer of model.layers) {
    if (layer.getClassName() === 'InputLayer') continue;
    const inbound = layer.inboundNodes.flatMap((n) => n.inboundLayers);
    // A sequential model's input layer is not among its layers: an inbound InputLayer is the model's input.
    const receives = inbound.length === 0 || inbound.some((l) => l.getClassName() === 'InputLayer' || masked.has(l));
    const recurrent = 'returnSequences' in layer;
    if (receives && !layer.supportsMasking) {
      if (layer.getClassName() === 'LabEmbedding') {
        throw new Error(`${where}: ${what} (or ragged token sequences) given, but the model's embedding has no padId, so it cannot mark padded steps: ` +
          'build the token model with padId, a spare id that no real token uses (e.g. vocabSize: V + 1, padId: V), and pad with it');
      }
      throw new Error(`${where}: ${what} given, but layer ${layerName(layer)} does not support masking: it would run over the padded steps as if they were real. ` +
        'Use layers that honour masks (tf.layers.simpleRNN/lstm/gru, and rnn-lab\'s recurrent layers), or pass no lengths');
    }
    if (!receives && recurrent) {
      throw new Error(`${where}: ${what} given, but recurrent layer ${layerName(layer)} comes after the mask was consumed (by a layer without returnSequences); ` +
        'tf.js\'s model.apply would hand it the input\'s mask anyway, which does not describe its input');
    }
    if (receives && (!recurrent || (layer as unknown as { returnSequences: boolean }).returnSequences)) masked.add(layer);
  }
}
