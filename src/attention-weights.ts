/**
 * The attention weights of a builder seq2seq model built with `spec.attention`, by teacher forcing
 * (decodeSequences and beam search return the weights of the steps they decode).
 */
import * as tf from '@tensorflow/tfjs';
import { specOf } from './build';
import { checkModelInputs } from './guard';
import { checkOptions } from './options';
import { Lengths, allFull, maskOf } from './lengths';
import { sourceLengthsOf } from './decode';
import { runSeq2seq } from './train-seq2seq';
import { attentionLayerOf } from './attention';
import { describe } from './describe';

/** Options of {@link attentionWeights}. */
export interface AttentionWeightsOptions {
  /** Real source steps per row (1 ≤ L_b ≤ Ts), sources padded at the end; as in `decode`. A padId model reads them from its padding. */
  sourceLengths?: Lengths;
  /** The same as a mask `[batch, Ts]` of 1s then 0s. */
  sourceMask?: tf.Tensor;
}

/**
 * The attention weights a_t(s) `[batch, Tt, Ts]` of a seq2seq model built with `spec.attention`, run
 * on `[source, targetIn]` by teacher forcing (the decoder reads targetIn, as in training): row t is the
 * decoder's attention at target step t over the source steps, 0 at a row's padded source steps and
 * summing to 1 over its real ones. Rows at padded target steps (if targetIn is padded) are not
 * meaningful: the decoder output there is 0. The weights of greedy decoding are those of teacher
 * forcing on [source, start + the decoded tokens but the last] (the decoder is causal).
 *
 * @example
 * ```ts
 * const w = attentionWeights(s2s, [src, tgtIn], { sourceLengths: [5, 3] });   // [2, Tt, Ts]
 * show(attentionFigure(w.arraySync()[0], ['3', '1', '4', '1', '5'], ['5', '1', '4', '1', '3', '⟨end⟩']));
 * ```
 * @throws Error for a model without attention; TypeError for an unknown option; RangeError for bad inputs or lengths
 */
export function attentionWeights(model: tf.LayersModel, x: tf.Tensor[], options: AttentionWeightsOptions = {}): tf.Tensor3D {
  const where = 'attentionWeights';
  const spec = specOf(model);
  if (spec.topology !== 'seq2seq' || !attentionLayerOf(model)) {
    throw new Error(`${where}: the model must be a seq2seq model built with spec.attention ('additive', 'dot' or 'general'); got topology '${spec.topology ?? 'many-to-one'}'${spec.topology === 'seq2seq' ? ' without attention' : ''}`);
  }
  if (options == null || typeof options !== 'object') throw new TypeError(`${where}: options must be { sourceLengths?, sourceMask? }; got ${describe(options)}`);
  checkOptions(where, options, ['sourceLengths', 'sourceMask']);
  if (!Array.isArray(x) || x.length !== 2) throw new TypeError(`${where}: x must be [source, targetIn]; got ${describe(x)}`);
  checkModelInputs(where, spec, x);
  const [source] = x;
  const Ts = source.shape[1]!;
  const lengths = sourceLengthsOf(where, model, source, options, source.shape[0], Ts);
  return tf.tidy(() => {
    const mask = allFull(lengths, Ts) ? null : tf.cast(maskOf(lengths!, Ts), 'bool');     // [batch, Ts]
    return runSeq2seq(model, x, [mask, null], false).weights!;                          // [batch, Tt, Ts]
  });
}
