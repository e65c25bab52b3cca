/**
 * Teacher-forced outputs of a builder's seq2seq model on a padded batch, each side with its own lengths.
 *
 * `model.apply` and `predict` cannot take them: tf.js hands a call's kwargs (one mask) to every layer,
 * so the encoder and the decoder cannot each get their own, and `predict` has no lengths at all (a
 * feature model would run its zero padding as data). This runs the model's pieces by hand as `train`
 * does ({@link runSeq2seq}): the encoder with the source lengths (each row's final state after its last
 * real source step, PyTorch's packed semantics), the decoder from those states with the target lengths,
 * attention (if built) with weight 0 on padded source steps, the head.
 *
 * A separate function rather than `forwardModel` with seq2seq lengths: forwardModel's result is one
 * input's per-layer traces and final states (`layers`, `finalStates`, for truncated BPTT and the
 * diagnostics), which have no meaning split over an encoder and a decoder fed different inputs; a
 * seq2seq run has an output and, with attention, the weights.
 */
import * as tf from '@tensorflow/tfjs';
import { specOf } from './build';
import { checkModelInputs } from './guard';
import { checkOptions } from './options';
import { maskOf } from './lengths';
import { describe } from './describe';
import { Seq2seqLengths, runSeq2seq, seq2seqLengths } from './train-seq2seq';

/** Options of {@link forwardSeq2seq}. */
export interface ForwardSeq2seqOptions {
  /**
   * Real steps per row of each side, both padded at the end: `source` (1 ≤ L ≤ Ts) and `target`
   * (1 ≤ L ≤ Tt, the steps of targetIn), each a `number[]`, typed array or `[batch]` tensor. Default:
   * a padId token model reads them from its padding (given as well, they must agree); else every step real.
   */
  lengths?: Seq2seqLengths;
  /** A training call: dropout (`spec.dropout`, `recurrentDropout`) draws its masks. Default false (no dropout). */
  training?: boolean;
}

/** What {@link forwardSeq2seq} returns (tensors: the caller disposes them). */
export interface ForwardSeq2seqResult {
  /**
   * The head's output `[batch, Tt, k]`. At a row's padded target steps the decoder's output is 0, so this is the head
   * applied to 0 — with attention, to h̃ = tanh(Wc [c_t; 0]), c_t still a weighted mean of the real source states:
   * junk either way, which the loss must mask.
   */
  output: tf.Tensor;
  /** Models built with `spec.attention` only: the weights a_t(s) `[batch, Tt, Ts]`, 0 at padded source steps. */
  attention?: tf.Tensor3D;
}

const FORWARD_SEQ2SEQ_KEYS = ['lengths', 'training'] as const;

/**
 * Run a builder seq2seq model on `[source, targetIn]` by teacher forcing (the decoder reads targetIn,
 * as in training), with per-side lengths: each padded row's output equals the output of that row run
 * alone, unpadded, and no padded step reaches a real one. Use it for predictions and evaluation on a
 * padded seq2seq batch (`model.apply` / `predict` would run the padding as real steps); `decode`
 * generates without targetIn.
 *
 * @param x  `[source, targetIn]`: source `[batch, Ts, m]` (token ids `[batch, Ts]`), targetIn
 *   `[batch, Tt, k]` (token ids `[batch, Tt]`)
 * @example
 * ```ts
 * const { output, attention } = forwardSeq2seq(model, [src, tin], { lengths: { source: [5, 3], target: [6, 4] } });
 * output;      // [2, Tt, k]
 * attention;   // [2, Tt, Ts] (attention models)
 * ```
 * @throws Error for a model that is not a builder seq2seq model; TypeError for an unknown option, a
 *   `mask`, lengths that are not `{ source?, target? }`; RangeError naming `options.lengths.source` /
 *   `.target` for a bad list (count, a length outside [1, T]) or one that disagrees with a padId model's padding
 */
export function forwardSeq2seq(model: tf.LayersModel, x: tf.Tensor[], options: ForwardSeq2seqOptions = {}): ForwardSeq2seqResult {
  const where = 'forwardSeq2seq';
  let spec: ReturnType<typeof specOf>;
  try { spec = specOf(model); } catch { throw new Error(`${where}: model must be a builder's seq2seq model (buildGRU({ topology: 'seq2seq', … })); got ${describe(model)}`); }
  if (spec.topology !== 'seq2seq') {
    throw new Error(`${where}: the model must be a seq2seq model; got topology '${spec.topology ?? 'many-to-one'}' (forwardModel(model, x, { lengths }) runs it)`);
  }
  if (options === null || typeof options !== 'object' || Array.isArray(options)) throw new TypeError(`${where}: options must be { lengths?: { source?, target? }, training? }; got ${describe(options)}`);
  if (!Array.isArray(x) || x.length !== 2) throw new TypeError(`${where}: x must be [source, targetIn]; got ${describe(x)}`);
  checkModelInputs(where, spec, x);
  // A mask, or lengths that are not { source, target }, get seq2seqLengths' own message before the key check.
  const L = seq2seqLengths(model, 'options', { x, lengths: options.lengths, mask: (options as { mask?: unknown }).mask }, where, 'x');
  checkOptions(where, options, FORWARD_SEQ2SEQ_KEYS);
  if (options.training !== undefined && typeof options.training !== 'boolean') throw new TypeError(`${where}: options.training must be true or false; got ${describe(options.training)}`);
  const [source, targetIn] = x;
  return tf.tidy(() => {
    const sMask = L.source ? tf.cast(maskOf(L.source, source.shape[1]!), 'bool') : null;       // [batch, Ts]
    const tMask = L.target ? tf.cast(maskOf(L.target, targetIn.shape[1]!), 'bool') : null;     // [batch, Tt]
    const r = runSeq2seq(model, x, [sMask, tMask], options.training ?? false);
    return r.weights ? { output: r.output, attention: r.weights } : { output: r.output };      // [batch, Tt, k], [batch, Tt, Ts]
  }) as ForwardSeq2seqResult;
}
