/**
 * Training a builder's seq2seq (encoder–decoder) model on sources and targets of different lengths.
 *
 * tf.js's `model.apply(x, { mask })` hands one mask to every layer, but the encoder and the decoder
 * need one each: the source's and the target's. Keras takes a list of masks, one per model input;
 * tf.js's executor does not. So a masked batch runs the model's pieces by hand, as decode does:
 * embeddings, the encoder layers with the source mask (each row's final state is its state after its
 * last real source step), the decoder layers from those states with the target mask, the head. The
 * weights are the model's own, so the gradient reaches them as through `model.apply`.
 */
import * as tf from '@tensorflow/tfjs';
import { recurrentLayers, specOf } from './build';
import { checkLengths, lengthsFromMask, maskOf, Lengths } from './lengths';
import { describe } from './describe';
import { BatchSource, SeqBatch, MIN_STEPS, checkRaggedIds, padBatch } from './train-data';
import { readRows } from './padding';
import { attentionLayerOf } from './attention';

/** Lengths of a seq2seq batch: each source's real steps and each target's (the loss counts only those). */
export interface Seq2seqLengths {
  /** Real source steps per pair (1 ≤ L ≤ Ts). Default: from the padding (padId models), else Ts. */
  source?: Lengths;
  /** Real target steps per pair, the same for target_in and target (1 ≤ L ≤ Tt). Default: from target_in's padding (padId models), else Tt. */
  target?: Lengths;
}

/** Whether `model` is a builder's seq2seq model (two inputs, [source, target_in]). */
export function isSeq2seq(model: tf.LayersModel): boolean {
  try { return specOf(model).topology === 'seq2seq'; } catch { return false; }
}

/**
 * Run a builder's seq2seq model on `[source, targetIn]` with one mask per input (bool or float
 * `[batch, Ts]` and `[batch, Tt]`, 1s then 0s; null: every step real). The decoder output at padded
 * target steps is 0 and the head's output there is whatever the head makes of that (with attention, of
 * h̃ = tanh(Wc [c_t; 0])): the loss must be masked with the target mask.
 *
 * @returns the head's output [batch, Tt, outputSize]
 */
export function applySeq2seq(model: tf.LayersModel, x: tf.Tensor[], masks: (tf.Tensor | null)[], training: boolean): tf.Tensor {
  return runSeq2seq(model, x, masks, training).output;
}

/**
 * {@link applySeq2seq} with the attention weights `[batch, Tt, Ts]` of a model built with
 * `spec.attention` (null without). With attention the top encoder layer returns its sequence (the keys
 * h̄_s, 0 at padded source steps) and the `attention` layer runs on the top decoder layer's outputs with
 * the source mask, so padded source steps get weight 0 (see attention.ts).
 */
export function runSeq2seq(model: tf.LayersModel, x: tf.Tensor[], masks: (tf.Tensor | null)[], training: boolean): { output: tf.Tensor; weights: tf.Tensor3D | null } {
  const [source, targetIn] = x;
  const [sourceMask, targetMask] = masks;
  const layers = recurrentLayers(model);
  const tokens = specOf(model).vocabSize !== undefined;
  // Eager apply on one tensor: the embedding's own padding mask is not made (see LabEmbedding.computeMask).
  let h: tf.Tensor = tokens ? (model.getLayer('embedding').apply(source) as tf.Tensor) : source;            // [batch, Ts, E]
  const states: tf.Tensor[][] = [];
  for (const layer of layers.filter((l) => l.name.startsWith('encoder_'))) {
    const out = layer.apply(h, { training, ...(sourceMask ? { mask: sourceMask } : {}) }) as tf.Tensor[];   // [output, h_L (, c_L)]
    h = out[0];
    states.push(out.slice(1));                                                                               // each [batch, n]
  }
  let y: tf.Tensor = tokens ? (model.getLayer('decoder_embedding').apply(targetIn) as tf.Tensor) : targetIn;  // [batch, Tt, E]
  layers.filter((l) => l.name.startsWith('decoder_')).forEach((layer, l) => {
    y = layer.apply([y, ...states[l]], { training, ...(targetMask ? { mask: targetMask } : {}) }) as tf.Tensor;  // [batch, Tt, n]
  });
  let weights: tf.Tensor3D | null = null;
  const attention = attentionLayerOf(model);
  if (attention) {
    const r = attention.attendAll(y as tf.Tensor3D, h as tf.Tensor3D, sourceMask ?? null);   // h: the keys [batch, Ts, n]
    y = r.output;                                                                            // [batch, Tt, n] h̃_t
    weights = r.weights;                                                                     // [batch, Tt, Ts]
  }
  // spec.dropout's layer before the head (Zaremba et al.): drops in training calls only.
  const dropout = model.layers.find((l) => l.name === 'dropout');
  if (dropout) y = dropout.apply(y, { training }) as tf.Tensor;                              // [batch, Tt, n]
  return { output: model.getLayer('head').apply(y) as tf.Tensor, weights };                  // [batch, Tt, k]
}

/** The lengths padId padding describes in token ids `[N, T]` (null without padId or for feature inputs). */
function paddingLengths(where: string, name: string, ids: tf.Tensor, padId: number | undefined): Int32Array | null {
  if (padId === undefined || ids.rank !== 2) return null;
  const [N, T] = ids.shape as [number, number];
  return tf.tidy(() => lengthsFromMask(where, name, tf.notEqual(ids, padId), N, T, { layout: '[batch, time]', padId }));
}

/**
 * The source and target lengths of seq2seq data `{ x: [source, targetIn], y, lengths? }`: given
 * (`lengths.source`, `lengths.target`), read from the padding of a padId model's token ids, or both
 * (they must agree). Null for a side whose every row is full.
 *
 * @param where  the function, for messages (train, forwardSeq2seq); `xName` the inputs' name (`data.x`, `x`)
 * @throws TypeError for lengths that are not `{ source?, target? }` or for a mask; RangeError for bad
 *   lengths or lengths that disagree with the padding (row named)
 */
export function seq2seqLengths(model: tf.LayersModel, what: string, data: { x: tf.Tensor[]; lengths?: unknown; mask?: unknown }, where = 'train', xName = `${what}.x`):
  { source: Int32Array | null; target: Int32Array | null } {
  if (data.mask != null) {
    throw new TypeError(`${where}: ${what}.mask is one mask, but a seq2seq model has two inputs (source and target_in) with lengths of their own; give ${what}.lengths = { source, target } (each a [batch] list of real steps)`);
  }
  const given = data.lengths;
  if (given != null && (typeof given !== 'object' || Array.isArray(given) || ArrayBuffer.isView(given) || given instanceof tf.Tensor)) {
    throw new TypeError(`${where}: ${what}.lengths of a seq2seq model must be { source?, target? } (real steps of each source [batch, Ts] and each target [batch, Tt]); got ${describe(given)}`);
  }
  const g = (given ?? {}) as Record<string, unknown>;
  const extra = Object.keys(g).find((k) => k !== 'source' && k !== 'target');
  if (extra !== undefined) throw new TypeError(`${where}: ${what}.lengths has an unknown key '${extra}'; a seq2seq model takes { source, target }`);
  const padId = specOf(model).padId;
  const [source, targetIn] = data.x;
  const side = (key: 'source' | 'target', ids: tf.Tensor, input: string): Int32Array | null => {
    const [N, T] = ids.shape as [number, number];
    const fromGiven = g[key] == null ? null : checkLengths(where, `${what}.lengths.${key}`, g[key], N, T, ids.rank === 2 ? '[batch, time]' : '[batch, time, features]');
    const fromPad = paddingLengths(where, `${xName}[${input === 'source' ? 0 : 1}] (${input})`, ids, padId);
    if (fromGiven && fromPad) {
      const b = fromGiven.findIndex((L, i) => L !== fromPad[i]);
      if (b >= 0) throw new RangeError(`${where}: ${what}.lengths.${key}[${b}] = ${fromGiven[b]} but ${input} row ${b} has ${fromPad[b]} tokens before padId ${padId}`);
    }
    const L = fromGiven ?? fromPad;
    return L && L.some((l) => l < T) ? L : null;
  };
  return { source: side('source', source, 'source'), target: side('target', targetIn, 'target_in') };
}

/**
 * A seq2seq batch padded at the end (`sb` [batch, Ts_b(, m)], `tb` [batch, Tt_b(, k)], `yb` [batch, Tt_b(, k)])
 * with its masks: the source's and the target's for the model (bool, null for a side with no padded
 * step), the target's for the loss (float), and the loss terms (real target steps × entries per step).
 * Shared by tensor and ragged data, so both train the same way.
 */
function maskedPairBatch(sb: tf.Tensor, tb: tf.Tensor, yb: tf.Tensor, Lsb: number[], Ltb: number[], tensors: tf.Tensor[]): SeqBatch {
  const Tsb = sb.shape[1] as number, Ttb = tb.shape[1] as number;
  const sMask = Lsb.some((L) => L < Tsb) ? tf.tidy(() => tf.cast(maskOf(Lsb, Tsb), 'bool')) : null;   // [batch, Ts_b]
  const tMask = maskOf(Ltb, Ttb);                                                          // [batch, Tt_b] float, for the loss
  const tModel = Ltb.some((L) => L < Ttb) ? tf.cast(tMask, 'bool') : null;
  tensors.push(...([sMask, tMask, tModel] as (tf.Tensor | null)[]).filter((t): t is tf.Tensor => t !== null));
  const perStep = yb.shape.slice(2).reduce((a, d) => a * d, 1);
  return { x: [sb, tb], y: yb, mask: tMask, modelMask: [sMask, tModel], terms: Ltb.reduce((a, l) => a + l, 0) * perStep, tensors };
}

/**
 * The batches of seq2seq tensor data: rows gathered; each side cut to its batch's longest sequence when
 * the model's time axis of that input is free; one mask per input for {@link applySeq2seq} and the
 * target mask for the loss. Bucketing (`lengths`) sorts by source + target length, the steps a pair costs.
 */
export function seq2seqSource(model: tf.LayersModel, x: tf.Tensor[], y: tf.Tensor,
  lengths: { source: Int32Array | null; target: Int32Array | null }): BatchSource {
  const [source, targetIn] = x;
  const N = source.shape[0];
  const Ts = source.shape[1] as number, Tt = targetIn.shape[1] as number;
  const free = model.inputs.map((i) => i.shape[1] === null);
  const Ls = lengths.source, Lt = lengths.target;
  const any = Ls !== null || Lt !== null;
  return {
    N,
    lengths: any ? Int32Array.from({ length: N }, (_, i) => (Ls ? Ls[i] : Ts) + (Lt ? Lt[i] : Tt)) : null,
    batch(rows): SeqBatch {
      const idx = tf.tensor1d(rows, 'int32');
      let sb = tf.gather(source, idx), tb = tf.gather(targetIn, idx), yb = tf.gather(y, idx);
      const tensors: tf.Tensor[] = [idx, sb, tb, yb];
      if (!any) return { x: [sb, tb], y: yb, mask: null, modelMask: null, terms: yb.size, tensors };
      const cut = (t: tf.Tensor, T: number) => { const c = tf.slice(t, [0, 0], [-1, T]); tensors.push(c); return c; };
      const Lsb = rows.map((r) => (Ls ? Ls[r] : Ts)), Ltb = rows.map((r) => (Lt ? Lt[r] : Tt));
      const Tsb = free[0] ? Math.min(Ts, Math.max(MIN_STEPS, ...Lsb)) : Ts;
      const Ttb = free[1] ? Math.min(Tt, Math.max(MIN_STEPS, ...Ltb)) : Tt;
      if (Tsb < Ts) sb = cut(sb, Tsb);                                                 // [batch, Ts_b(, m)]
      if (Ttb < Tt) { tb = cut(tb, Ttb); yb = cut(yb, Ttb); }                         // [batch, Tt_b(, k)]
      return maskedPairBatch(sb, tb, yb, Lsb, Ltb, tensors);
    },
    dispose() {},
  };
}

/** Whether `v` is a list of sequences (an array whose first entry is itself a sequence), not one sequence. */
function isSequenceList(v: unknown): v is unknown[] {
  const isRow = (r: unknown) => Array.isArray(r) || (ArrayBuffer.isView(r) && !(r instanceof DataView));
  return Array.isArray(v) && v.length > 0 && isRow(v[0]);
}

/**
 * Ragged seq2seq data `{ x: [sources, targetsIn], y: targets }`: three lists of sequences (token ids
 * `number[][]` for a token model; feature vectors `number[][][]`, or one number per step for width 1,
 * otherwise), row b of targetsIn as long as row b of targets. Each batch is padded at the end, the
 * sources to the batch's longest source and the targets to its longest target (or to a fixed time axis
 * of the model), token ids with the model's padId (0 without one: the masks mark the padding either
 * way), features with 0; then it is masked as tensor data with `lengths: { source, target }` is
 * ({@link maskedPairBatch}). `targetsIn` is not derived from `targets`: train has no start token (the
 * data makes it, as reverseDigitsRagged does; decode takes `start`).
 *
 * Bucketing (`lengths` of the source) sorts by source + target length, as for tensor data.
 *
 * @throws TypeError when x is not a pair of lists of sequences or y is not ragged; RangeError naming
 *   the argument and row for counts that differ, an empty row, a row longer than a fixed time axis, a
 *   feature width the model does not take, a targetsIn row not as long as its target, a token id
 *   outside [0, vocabSize) or equal to padId, a class id outside [0, outputs) for 'crossEntropy'
 */
export function raggedSeq2seqSource(model: tf.LayersModel, what: string, x: unknown, y: unknown, lossName: string | undefined): BatchSource {
  const spec = specOf(model);
  const tokens = spec.vocabSize !== undefined;
  const want = tokens ? 'token ids, number[][]' : 'feature vectors, number[][][]';
  // A list of sequences of feature vectors is one level deeper than one sequence (unless width 1, one number per step).
  const listOf = (v: unknown, i: number) => isSequenceList(v) && (tokens || model.inputs[i].shape[2] === 1 || isSequenceList(v[0]));
  if (!Array.isArray(x) || x.length !== 2 || !listOf(x[0], 0) || !listOf(x[1], 1)) {
    const got = !Array.isArray(x) ? describe(x)
      : x.length !== 2 ? `a list of ${x.length} items`
      : [0, 1].map((i) => (listOf(x[i], i) ? null : `${what}.x[${i}] is ${Array.isArray(x[i]) && x[i].length > 0 ? 'one sequence, not a list of sequences' : describe(x[i])}`)).filter(Boolean).join('; ');
    throw new TypeError(`train: ragged ${what}.x of a seq2seq model must be the pair [sources, targetsIn], each a list of sequences (${want}), ` +
      `with ${what}.y the targets (targetsIn[b] is ⟨start⟩ then targets[b] without its last step); got ${got}`);
  }
  if (!isSequenceList(y)) {
    throw new TypeError(`train: ${what}.y of a seq2seq model with ragged ${what}.x must be the targets, a list of sequences (${lossName === 'crossEntropy' ? 'class ids, number[][]' : 'number[][] or number[][][]'}), one per pair; got ${y instanceof tf.Tensor ? 'a tf.Tensor' : describe(y)}`);
  }
  const names = [`${what}.x[0]`, `${what}.x[1]`];
  const roles = ['sources', 'targetsIn'];
  const rows = [readRows('train', names[0], x[0]), readRows('train', names[1], x[1])];
  const yr = readRows('train', `${what}.y`, y);
  const N = rows[0].lengths.length;
  if (rows[1].lengths.length !== N) throw new RangeError(`train: ${what}.x[1] (targetsIn) has ${rows[1].lengths.length} sequences but ${what}.x[0] (sources) has ${N}; one targetIn per source`);
  if (yr.lengths.length !== N) throw new RangeError(`train: ${what}.y (targets) has ${yr.lengths.length} sequences but ${what}.x[0] (sources) has ${N}; one target per source`);
  const b0 = yr.lengths.findIndex((L, b) => L !== rows[1].lengths[b]);
  if (b0 >= 0) {
    throw new RangeError(`train: ${what}.y[${b0}] (target) has ${yr.lengths[b0]} steps but ${what}.x[1][${b0}] (targetIn) has ${rows[1].lengths[b0]}; ` +
      'the decoder predicts one target per targetIn step (targetIn: ⟨start⟩ then the target without its last step)');
  }
  // Each input: its width (tokens: one id per step) and fixed time axis, if the model has one.
  const fixedT = model.inputs.map((inp) => inp.shape[1]);
  rows.forEach((r, i) => {
    const shape = model.inputs[i].shape;                                             // [null, T] ids or [null, T, F]
    const layout = tokens ? '[batch, time] token ids' : `[batch, time, features=${shape[2]}]`;
    if (tokens && r.features !== undefined) {
      throw new RangeError(`train: ${names[i]} (${roles[i]}) must be sequences of token ids (number[][]) for the model's input ${layout}; got sequences of feature vectors of width ${r.features}`);
    }
    if (!tokens && (r.features ?? 1) !== shape[2]) {
      throw new RangeError(`train: ${names[i]} (${roles[i]}) has ${r.features === undefined ? 'one number per step' : `${r.features} features per step`} but the model's input ${i} is ${layout}`);
    }
    const T = fixedT[i];
    const long = T == null ? -1 : r.lengths.findIndex((L) => L > T);
    if (long >= 0) throw new RangeError(`train: ${names[i]}[${long}] (${roles[i]}) has ${r.lengths[long]} steps but the model takes at most T = ${T} (input ${layout})`);
    if (tokens) checkRaggedIds(names[i], r.values, spec, ` (${roles[i]})`);
  });
  const O = model.outputs[0].shape[2] as number;                                      // [null, Tt, O]
  if (lossName === 'crossEntropy' ? yr.features !== undefined : (yr.features ?? 1) !== O) {
    throw new RangeError(`train: ${what}.y (targets) has ${yr.features === undefined ? 'one number per step' : `${yr.features} numbers per step`}; the model outputs ${O} per step${lossName === 'crossEntropy' ? ' and crossEntropy takes one class id per step' : ''}`);
  }
  if (lossName === 'crossEntropy') {
    // An id outside [0, O) would make a one-hot row of zeros: a loss term of 0, silently.
    yr.values.forEach((row, b) => row.forEach((v, t) => {
      if (!Number.isInteger(v) || v < 0 || v >= O) throw new RangeError(`train: ${what}.y[${b}][${t}] (target) must be a class id, an integer in [0, ${O}) for loss 'crossEntropy'; got ${v}`);
    }));
  }
  const padValue = tokens ? spec.padId ?? 0 : 0;
  const [Ls, Lt] = [rows[0].lengths, rows[1].lengths];
  return {
    N,
    lengths: Int32Array.from({ length: N }, (_, b) => Ls[b] + Lt[b]),
    batch(sel): SeqBatch {
      const Lsb = sel.map((r) => Ls[r]), Ltb = sel.map((r) => Lt[r]);
      const Tsb = fixedT[0] ?? Math.max(MIN_STEPS, ...Lsb);
      const Ttb = fixedT[1] ?? Math.max(MIN_STEPS, ...Ltb);
      const sb = padBatch(sel, rows[0], Tsb, padValue, !tokens);                          // [batch, Ts_b(, m)]
      const tb = padBatch(sel, rows[1], Ttb, padValue, !tokens);                          // [batch, Tt_b(, k)]
      const yb = padBatch(sel, yr, Ttb, 0, lossName !== 'crossEntropy');                  // [batch, Tt_b] ids or [batch, Tt_b, O]
      return maskedPairBatch(sb, tb, yb, Lsb, Ltb, [sb, tb, yb]);
    },
    dispose() {},
  };
}
