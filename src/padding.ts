/**
 * Variable-length data: pad a list of sequences into one batch with its lengths (Keras's
 * `pad_sequences`), and group sequences of similar length into batches (length bucketing), so a
 * padded batch wastes few steps.
 *
 * rnn-lab's batches are padded at the END of the time axis (PyTorch's packed sequences; see
 * `src/lengths.ts`): the lengths L_b then say "the first L_b steps are real", which is what the
 * layers, the masked losses and `train` read.
 */
import * as tf from '@tensorflow/tfjs';
import { markPrePadded } from './lengths';
import { describe } from './describe';
import { checkOptions } from './options';
import { checkPositiveInt } from './inputs';
import { Rng } from './random';
import { isFrame, isSeries } from './data';

/** Options of {@link padSequences}. */
export interface PadSequencesOptions {
  /** Steps per padded row. Default: the longest sequence. Longer sequences are cut (see `truncating`). */
  maxLength?: number;
  /**
   * Where the padding goes: 'post' (after the real steps) or 'pre' (before them, Keras's default).
   * Default 'post', because rnn-lab's lengths and masks describe padding at the end.
   */
  padding?: 'post' | 'pre';
  /** Which steps a sequence longer than maxLength loses: 'pre' (the first ones, keeping the end; Keras's default) or 'post' (the last ones). Default 'pre'. */
  truncating?: 'post' | 'pre';
  /** The padding value, a finite number. Default 0. */
  value?: number;
  /** The batch's dtype: 'float32' (default) or 'int32' (token ids; every value must then be an integer). */
  dtype?: 'float32' | 'int32';
}

/** What {@link padSequences} returns. */
export interface PaddedBatch {
  /** `[batch, maxLength]` for sequences of numbers, `[batch, maxLength, features]` for sequences of feature vectors. */
  x: tf.Tensor;
  /** Real steps per row after truncation, each 1 ≤ L_b ≤ maxLength. */
  lengths: number[];
  /** Where the padding is: with 'post' the lengths can go to layers, losses and `train`; with 'pre' they cannot (the real steps are at the end of each row). */
  padding: 'post' | 'pre';
}

/**
 * One sequence as {@link padSequences} takes it: numbers (one per step), feature vectors (one per
 * step), a danfo Series (one number per step) or a danfo DataFrame (one row per step, one column per
 * feature).
 */
export type SequenceInput = ArrayLike<number> | readonly ArrayLike<number>[] | { values: readonly unknown[]; index: readonly unknown[] };

const PAD_KEYS = ['maxLength', 'padding', 'truncating', 'value', 'dtype'] as const;

/**
 * Pad sequences of different lengths into one batch, with Keras's `pad_sequences` semantics
 * (`keras.utils.pad_sequences(sequences, maxlen, padding, truncating, value)`): every row has
 * `maxLength` steps (default: the longest sequence); a shorter sequence is filled with `value` after
 * (`padding: 'post'`) or before (`'pre'`) its steps; a longer one loses its first steps
 * (`truncating: 'pre'`, keeping the most recent ones) or its last ones (`'post'`).
 *
 * Defaults: `padding: 'post'` — unlike Keras's 'pre' — because rnn-lab's lengths and masks mean
 * "the first L_b steps are real" (PyTorch's `pack_padded_sequence`), so only post-padded batches
 * can be passed on with their lengths; `truncating: 'pre'` as in Keras. Two other deviations, both
 * to keep errors from passing silently: an empty sequence is an error (Keras pads it to a row of
 * `value`; here a length of 0 cannot be masked: every sequence needs L_b ≥ 1), and a value that is
 * not a finite number is an error (Keras's default dtype int32 would truncate 0.7 to 0; NaN would
 * reach the model).
 *
 * @param seqs sequences of numbers (`number[][]`, e.g. token ids or one feature per step), or of
 *   feature vectors (`number[][][]`, every vector of the same width); typed arrays are accepted as rows;
 *   a danfo Series is a sequence of numbers, a danfo DataFrame one of feature vectors (its rows are the
 *   steps, its columns the features; every DataFrame must have the same columns in the same order). A
 *   missing value (danfo reads an empty CSV cell as null) is an error naming the row and column. A whole
 *   table of events (one row per step of many sequences) is grouped with `sequencesFromTable` instead.
 * @returns `{ x, lengths, padding }`: x `[batch, maxLength]` or `[batch, maxLength, features]` (the
 *   caller disposes it), lengths after truncation
 * @throws TypeError/RangeError naming `padSequences`, the argument and the row: not a list, an
 *   empty sequence, a step that is not a finite number (or not an integer with dtype 'int32'), feature
 *   vectors of different widths, a mix of numbers and vectors; bad options
 * @example
 * ```ts
 * const { x, lengths } = padSequences([[1], [2, 3], [4, 5, 6]]);
 * x.arraySync();   // [[1, 0, 0], [2, 3, 0], [4, 5, 6]]; lengths [1, 2, 3]
 * padSequences([[1], [2, 3], [4, 5, 6]], { maxLength: 2, padding: 'pre' }).x.arraySync();   // [[0, 1], [2, 3], [5, 6]] (Keras's defaults)
 * padSequences([df.iloc({ rows: ['0:19'] }), df.iloc({ rows: ['19:25'] })]);   // two DataFrames: x [2, 19, columns], lengths [19, 6]
 * ```
 */
export function padSequences(seqs: readonly SequenceInput[], options: PadSequencesOptions = {}): PaddedBatch {
  const where = 'padSequences';
  checkOptions(where, options, PAD_KEYS);
  const o = options ?? {};
  const padding = o.padding ?? 'post';
  const truncating = o.truncating ?? 'pre';
  if (padding !== 'post' && padding !== 'pre') throw new RangeError(`${where}: options.padding must be 'post' or 'pre'; got ${describe(padding)}`);
  if (truncating !== 'post' && truncating !== 'pre') throw new RangeError(`${where}: options.truncating must be 'post' or 'pre'; got ${describe(truncating)}`);
  const value = o.value ?? 0;
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new RangeError(`${where}: options.value (the padding value) must be a finite number; got ${describe(value)}`);
  const dtype = o.dtype ?? 'float32';
  if (dtype !== 'float32' && dtype !== 'int32') throw new RangeError(`${where}: options.dtype must be 'float32' or 'int32'; got ${describe(dtype)}`);
  if (dtype === 'int32' && !Number.isInteger(value)) throw new RangeError(`${where}: options.value must be an integer with dtype 'int32'; got ${value}`);
  const rows = readRows(where, 'seqs', seqs, dtype);
  const longest = Math.max(...rows.lengths);
  const T = o.maxLength === undefined ? longest : checkPositiveInt(where, 'options.maxLength', o.maxLength);
  const F = rows.features;
  const N = rows.lengths.length;
  const out = dtype === 'int32' ? new Int32Array(N * T * (F ?? 1)) : new Float32Array(N * T * (F ?? 1));
  out.fill(value);
  const w = F ?? 1;                                                   // numbers per step
  const lengths: number[] = [];
  for (let b = 0; b < N; b++) {
    const L = rows.lengths[b];
    const kept = Math.min(L, T);
    const from = truncating === 'pre' ? L - kept : 0;                 // first step kept
    const to = padding === 'post' ? 0 : T - kept;                     // its place in the row
    out.set(rows.values[b].subarray(from * w, (from + kept) * w), (b * T + to) * w);
    lengths.push(kept);
  }
  const x = F === undefined ? tf.tensor2d(out, [N, T], dtype) : tf.tensor3d(out, [N, T, F], dtype);   // [batch, T] or [batch, T, features]
  // Front padding puts a row's real steps last: its lengths must not reach a layer, loss or train
  // (they would read the first L_b steps, the padding); marked so each of them refuses them by name.
  if (padding === 'pre' && lengths.some((L) => L < T)) markPrePadded(lengths, x);
  return { x, lengths, padding };
}

/** Each sequence's values, flat (steps × features), after every check. */
interface Rows { values: (Float32Array | Int32Array)[]; lengths: number[]; features: number | undefined }

/**
 * The checked rows of a ragged list: all sequences of numbers (features undefined) or all of feature
 * vectors of one width. Shared by padSequences and train's per-batch padding.
 */
export function readRows(where: string, name: string, seqs: unknown, dtype: 'float32' | 'int32' = 'float32'): Rows {
  if (!Array.isArray(seqs)) {
    // A whole table is one row per event, not one sequence: grouping it is sequencesFromTable's job.
    const hint = isFrame(seqs) ? `; a table with one row per step of many sequences is grouped by sequencesFromTable(df, { id, features, … })` : '';
    throw new TypeError(`${where}: ${name} must be a list of sequences (number[][] or number[][][] feature vectors, or danfo Series / DataFrames, one per sequence); got ${describe(seqs)}${hint}`);
  }
  if (seqs.length === 0) throw new RangeError(`${where}: ${name} is an empty list; give at least one sequence`);
  const isRow = (r: unknown): r is ArrayLike<unknown> => Array.isArray(r) || (ArrayBuffer.isView(r) && !(r instanceof DataView));
  let features: number | undefined | null = null;                   // null: not yet known
  const values: (Float32Array | Int32Array)[] = [];
  const lengths: number[] = [];
  const checkValue = (v: unknown, at: string) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new RangeError(`${where}: ${name}${at} must be a finite number; got ${describe(v)} (missing values are not filled in: clean or drop them first)`);
    }
    if (dtype === 'int32' && !Number.isInteger(v)) throw new RangeError(`${where}: ${name}${at} must be an integer with dtype 'int32'; got ${v}`);
  };
  let frameColumns: { b: number; columns: string[] } | null = null;    // the first DataFrame's columns: every other must match
  for (let b = 0; b < seqs.length; b++) {
    let s: unknown = seqs[b];
    let columns: string[] | null = null;
    // danfo: a DataFrame is a sequence of feature vectors (one row per step), a Series one of numbers.
    if (isFrame(s)) {
      columns = s.columns.map(String);
      if (frameColumns === null) frameColumns = { b, columns };
      else if (columns.join('\u0000') !== frameColumns.columns.join('\u0000')) {
        throw new RangeError(`${where}: ${name}[${b}] has columns [${columns.join(', ')}], but ${name}[${frameColumns.b}] has [${frameColumns.columns.join(', ')}]; every DataFrame needs the same feature columns in the same order (layout [batch, time, features])`);
      }
      s = s.values;
    } else if (isSeries(s)) {
      s = s.values;
    }
    const at = (t: number, f?: number) => `[${b}][${t}]${f === undefined ? '' : `[${f}]`}${columns ? ` (DataFrame row ${t}${f === undefined ? '' : `, column '${columns[f]}'`})` : ''}`;
    if (!isRow(s)) throw new TypeError(`${where}: ${name}[${b}] must be a sequence (an array of numbers or of feature vectors); got ${describe(s)}`);
    if (s.length === 0) {
      throw new RangeError(`${where}: ${name}[${b}] is empty: a sequence of length 0 cannot be masked (every sequence needs at least 1 real step, as in PyTorch's pack_padded_sequence); drop it first`);
    }
    const vec = isRow(s[0]);
    const F = vec ? (s[0] as ArrayLike<unknown>).length : undefined;
    if (features === null) {
      if (F === 0) throw new RangeError(`${where}: ${name}[${b}][0] is an empty feature vector`);
      features = F;
    }
    const want = features === undefined ? 'numbers' : `feature vectors of width ${features}`;
    const row = dtype === 'int32' ? new Int32Array(s.length * (features ?? 1)) : new Float32Array(s.length * (features ?? 1));
    for (let t = 0; t < s.length; t++) {
      const step: unknown = s[t];
      if (features === undefined) {
        if (isRow(step)) throw new RangeError(`${where}: ${name}[${b}][${t}] is a vector, but ${name}[0] is a sequence of ${want}; all sequences must be one kind (layout [batch, time] or [batch, time, features])`);
        checkValue(step, at(t));
        row[t] = step as number;
      } else {
        if (!isRow(step)) throw new RangeError(`${where}: ${name}[${b}][${t}] must be a feature vector of width ${features} (layout [batch, time, features]); got ${describe(step)}`);
        if (step.length !== features) {
          throw new RangeError(`${where}: ${name}[${b}][${t}] has ${step.length} features, but ${name}[0][0] has ${features}; every step needs the same features (layout [batch, time, features])`);
        }
        for (let f = 0; f < features; f++) {
          checkValue(step[f], at(t, f));
          row[t * features + f] = step[f] as number;
        }
      }
    }
    values.push(row);
    lengths.push(s.length);
  }
  return { values, lengths, features: features ?? undefined };
}

/** Options of {@link bucketBatches}. */
export interface BucketOptions {
  /** Rows per batch (the last batch may be smaller). */
  batchSize: number;
  /** Seed of the shuffling (ties within a bucket, and the order of the batches). Default 1. */
  seed?: number;
  /** Lengths within one bucket count as equal: L and L' share a bucket when ⌈L/w⌉ = ⌈L'/w⌉. Default 1 (sort by exact length). */
  bucketWidth?: number;
  /** Shuffle the batches' order (and the rows within a bucket). Default true; false gives batches in increasing length. */
  shuffle?: boolean;
}

/**
 * Batches of row indices with similar lengths (length bucketing, as tf.data's
 * `bucket_by_sequence_length` and torchtext's `BucketIterator`): rows are shuffled by the seed, sorted
 * by bucket ⌈L/bucketWidth⌉ (a stable sort, so rows of one bucket stay in random order), cut into
 * batches of `batchSize`, and the batches are shuffled. Every row appears exactly once.
 *
 * The trade-off: a batch is padded to its longest sequence, so grouping similar lengths removes most
 * padded steps (time spent on nothing), but a batch is then no longer a random sample of the data —
 * each step's gradient comes from one range of lengths, which makes steps more correlated with
 * length than with random batches. The shuffled batch order (a different one each epoch in `train`)
 * and a wider `bucketWidth` (more mixing, more padding) soften that.
 *
 * @param lengths each row's length (≥ 1)
 * @returns batches of row indices, in the order to use them
 * @throws RangeError naming the argument: a length that is not a positive integer; bad options
 * @example
 * ```ts
 * bucketBatches([5, 2, 9, 3, 8, 2], { batchSize: 2, seed: 1 });   // [[3, 0], [5, 1], [4, 2]]: lengths 3,5 · 2,2 · 8,9
 * ```
 */
export function bucketBatches(lengths: ArrayLike<number> | tf.Tensor1D, options: BucketOptions): number[][] {
  const where = 'bucketBatches';
  checkOptions(where, options, ['batchSize', 'seed', 'bucketWidth', 'shuffle']);
  if (!options) throw new TypeError(`${where}: options { batchSize } is required`);
  const batchSize = checkPositiveInt(where, 'options.batchSize', options.batchSize);
  const width = options.bucketWidth === undefined ? 1 : checkPositiveInt(where, 'options.bucketWidth', options.bucketWidth);
  if (options.shuffle !== undefined && typeof options.shuffle !== 'boolean') throw new TypeError(`${where}: options.shuffle must be true or false; got ${describe(options.shuffle)}`);
  if (lengths instanceof tf.Tensor) {
    if (lengths.rank !== 1) throw new RangeError(`${where}: lengths must be a [batch] list of sequence lengths; got a tensor of shape [${lengths.shape.join(', ')}]`);
    lengths = Array.from(lengths.dataSync());
  }
  if (!Array.isArray(lengths) && !ArrayBuffer.isView(lengths)) throw new TypeError(`${where}: lengths must be a list of sequence lengths (number[] or a [batch] tensor); got ${describe(lengths)}`);
  for (let i = 0; i < lengths.length; i++) {
    if (!Number.isInteger(lengths[i]) || lengths[i] < 1) throw new RangeError(`${where}: lengths[${i}] must be a positive integer; got ${describe(lengths[i])}`);
  }
  return bucketOrder(lengths, batchSize, width, options.shuffle === false ? undefined : new Rng(options.seed ?? 1));
}

/** bucketBatches' work, with a caller's Rng (train draws a new order each epoch); no rng: unshuffled. */
export function bucketOrder(lengths: ArrayLike<number>, batchSize: number, width: number, rng: Rng | undefined): number[][] {
  const n = lengths.length;
  const rows = rng ? rng.permutation(n) : Array.from({ length: n }, (_, i) => i);
  const key = (i: number) => Math.ceil(lengths[i] / width);
  rows.sort((a, b) => key(a) - key(b));                              // stable (ES2019): random order within a bucket
  const batches: number[][] = [];
  for (let s = 0; s < n; s += batchSize) batches.push(rows.slice(s, s + batchSize));
  return rng ? rng.shuffle(batches) : batches;
}
