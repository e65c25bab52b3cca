/**
 * Losses, averaged over batch and time as in the lecture (the character model's loss is the mean
 * per-character cross-entropy, whose exponential is the perplexity). Every built-in loss is the
 * plain mean over all its terms — batch × time steps (× outputs for 'mse' and 'binaryCrossEntropy')
 * — so a batch's value times its number of target entries sums to the full-data total; `train`
 * relies on this to weight short batches and chunks correctly.
 */
import * as tf from '@tensorflow/tfjs';
import { shapeText } from './inputs';
import { describe } from './describe';

/**
 * A loss function: the mean loss of a batch. `mask` `[batch, T]` (1 or true at real steps, 0 or false
 * at padding), when given, restricts a per-step loss to the real steps.
 */
export type LossFn = (yTrue: tf.Tensor, yPred: tf.Tensor, mask?: tf.Tensor) => tf.Scalar;

/**
 * A loss by name, or a function (yTrue, yPred) → scalar. A custom function that `train` is to use
 * with lengths or a mask must declare the third argument, `(yTrue, yPred, mask) => scalar`.
 */
export type LossSpec = 'mse' | 'crossEntropy' | 'binaryCrossEntropy' | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar) | LossFn;

/**
 * The loss function for a spec.
 *
 * - 'mse': mean of (p − y)² over all entries; y has the prediction's shape.
 * - 'crossEntropy' (Keras' sparse categorical cross-entropy): integer class ids as targets ([b] or
 *   [b, T]) and probabilities [b, V] or [b, T, V] (softmax outputs) as predictions; the mean over
 *   b·T of −log p[target]. Probabilities below 1e-12 count as 1e-12 (at most 27.6 nats per term, as
 *   Keras clips at its epsilon); with `fromLogits` the predictions are logits and log-softmax is exact.
 * - 'binaryCrossEntropy': targets in [0, 1] of the prediction's shape; probabilities are clipped to
 *   [1e-7, 1 − 1e-7]; with `fromLogits` it is computed as max(z, 0) − z·y + log(1 + e^−|z|)
 *   (the form of tf.nn.sigmoid_cross_entropy_with_logits), finite for any finite logit.
 *
 *
 * Masked (variable-length sequences): the returned function takes an optional third argument `mask`
 * `[batch, T]` for per-step predictions (`[batch, T, outputs]`, `[batch, T, V]`): nonzero or true at
 * the real steps, 0 or false at the padding. The loss is then the mean over the real steps only,
 *
 *   L = Σ_{b,t} m_bt ℓ_bt / Σ_{b,t} m_bt          (ℓ_bt: the step's loss, averaged over its outputs)
 *
 * — each sequence weighted by its number of real steps, not the mean of per-sequence means. This is
 * the loss of all real steps pooled, so a batch gives the same value and gradient as its sequences
 * run one by one, unpadded, each weighted by its length, and a character or token counts the same in a
 * short sequence as in a long one (PyTorch's `CrossEntropyLoss(ignore_index=…)` with its default mean
 * reduction divides by the number of scored targets the same way). A padded step is never scored:
 * its target is replaced before use (any value, even NaN or an out-of-range class id, changes
 * nothing) and its term is selected away, so neither the value nor the gradient depends on it.
 * Without a mask every function is exactly the unmasked loss above.
 *
 * Errors: targets whose shape does not fit the predictions; `fromLogits` with 'mse' or a function
 * (where it would have no effect); a mask with predictions that have no time axis (a many-to-one
 * model's output is already each sequence's last real step: pass no mask), a mask whose shape is not
 * the predictions' `[batch, T]`, or a mask with no real step (0/0).
 *
 * @example
 * ```ts
 * const ce = lossFunction('crossEntropy', true);
 * ce(tf.tensor2d([[2, 0]]), logits);                 // logits [1, 2, V]: mean over the 2 steps
 * ce(tf.tensor2d([[2, 0]]), logits, tf.tensor2d([[1, 0]]));   // the first step only
 * ```
 */
export function lossFunction(spec: LossSpec, fromLogits = false): LossFn {
  if (typeof fromLogits !== 'boolean') throw new TypeError(`lossFunction: fromLogits must be true or false; got ${typeof fromLogits}`);
  if (fromLogits && (typeof spec === 'function' || spec === 'mse')) {
    throw new RangeError(`lossFunction: fromLogits applies to 'crossEntropy' and 'binaryCrossEntropy' only; got ${typeof spec === 'function' ? 'a function' : `'${spec}'`} with fromLogits = true`);
  }
  if (typeof spec === 'function') return spec as LossFn;
  const fn = namedLoss(spec, fromLogits);
  // Tagged, so that train can tell lossFunction('mse') from a custom function (the fused step runs the built-ins).
  Object.defineProperty(fn, BUILTIN_LOSS, { value: { name: spec, fromLogits } });
  return fn;
}

const BUILTIN_LOSS = Symbol.for('rnn-lab.builtinLoss');

/** The built-in loss a function returned by {@link lossFunction} computes, or undefined for any other function. */
export function builtinLossOf(f: unknown): { name: 'mse' | 'crossEntropy' | 'binaryCrossEntropy'; fromLogits: boolean } | undefined {
  return typeof f === 'function' ? (f as unknown as Record<symbol, { name: 'mse' | 'crossEntropy' | 'binaryCrossEntropy'; fromLogits: boolean }>)[BUILTIN_LOSS] : undefined;
}

function namedLoss(spec: 'mse' | 'crossEntropy' | 'binaryCrossEntropy', fromLogits: boolean): LossFn {
  const sameShape = (name: string, y: tf.Tensor, p: tf.Tensor) => {
    if (y.shape.join() !== p.shape.join()) throw new Error(`loss '${name}': targets must have the model's output shape ${shapeText(p.shape)}; got ${shapeText(y.shape)}`);
  };
  switch (spec) {
    case 'mse':
      return (y, p, mask) => {
        sameShape('mse', y, p);
        if (mask == null) return tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar;
        return maskedMean(p, y, checkMask('mse', p, mask), (yr) => tf.square(tf.sub(p, yr)));
      };
    case 'binaryCrossEntropy':
      return (y, p, mask) => {
        sameShape('binaryCrossEntropy', y, p);
        const terms = (yr: tf.Tensor) => {
          if (fromLogits) {
            // log σ(z) = −log(1 + e^−z) overflows e^−z for z ≪ 0 and σ(z) rounds to 1 for z ≫ 0 (log(1 − 1) = −∞);
            // this form keeps every exponent ≤ 0.
            return tf.add(tf.sub(tf.relu(p), tf.mul(p, yr)), tf.log1p(tf.exp(tf.neg(tf.abs(p)))));
          }
          const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
          return tf.neg(tf.add(tf.mul(yr, tf.log(q)), tf.mul(tf.sub(1, yr), tf.log(tf.sub(1, q)))));
        };
        if (mask == null) return tf.mean(terms(y)) as tf.Scalar;
        return maskedMean(p, y, checkMask('binaryCrossEntropy', p, mask), terms);
      };
    case 'crossEntropy':
      return (y, p, mask) => {
        const V = p.shape[p.rank - 1];
        if (y.rank !== p.rank - 1 || y.shape.join() !== p.shape.slice(0, -1).join()) {
          throw new Error(`loss 'crossEntropy': targets must be class ids of shape ${shapeText(p.shape.slice(0, -1))} for predictions ${shapeText(p.shape)}; got ${shapeText(y.shape)}`);
        }
        const checked = mask == null ? undefined : checkMask('crossEntropy', p, mask);     // before any tensor is made
        const logp = fromLogits ? tf.logSoftmax(p) : tf.log(tf.clipByValue(p, 1e-12, 1));    // [..., V]
        if (mask == null) {
          const onehot = tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), V);                      // [N, V], N = b·T
          return tf.neg(tf.mean(tf.sum(tf.mul(tf.reshape(logp, [-1, V]), onehot), 1))) as tf.Scalar;
        }
        return maskedMean(p, y, checked!, (yr) => {
          const onehot = tf.oneHot(tf.cast(yr, 'int32'), V);                                       // [batch, T, V]
          return tf.neg(tf.sum(tf.mul(logp, onehot), -1));                                         // [batch, T]
        });
      };
    default:
      throw new RangeError(`loss must be 'mse', 'crossEntropy', 'binaryCrossEntropy' or a function (yTrue, yPred) => scalar; got '${spec}'`);
  }
}

/**
 * Σ m·ℓ / (Σ m · outputs per step) for per-step predictions p `[batch, T, …]`: `terms(yReal)` gives the
 * loss terms for targets whose padded entries were replaced by 0 (a valid target for every loss, so a
 * NaN or out-of-range padded target reaches neither the value nor, through 0·NaN, the gradient); the
 * padded terms are then selected away (tf.where: their gradient is exactly 0).
 */
function maskedMean(p: tf.Tensor, y: tf.Tensor, { mask, count }: { mask: tf.Tensor; count: number }, terms: (yReal: tf.Tensor) => tf.Tensor): tf.Scalar {
  const real = tf.notEqual(mask, 0);                                                 // [batch, T] bool
  const perStep = y.rank === 2 ? 1 : y.shape.slice(2).reduce((a, d) => a * d, 1);    // outputs averaged per step (1 for class ids)
  const ry = y.rank === 2 ? real : tf.reshape(real, [...real.shape, ...y.shape.slice(2).map(() => 1)]);   // [batch, T(, 1…)]
  const realY = tf.broadcastTo(ry, y.shape);
  const yr = tf.where(realY, y, tf.zerosLike(y));                                    // padded targets → 0
  const t = terms(yr);                                                               // y's shape ([batch, T] for class ids)
  const realT = t.shape.join() === y.shape.join() ? realY : tf.broadcastTo(real, t.shape as [number, number]);
  const kept = tf.where(realT, t, tf.zerosLike(t));
  return tf.div(tf.sum(kept), count * perStep) as tf.Scalar;
}

/**
 * A loss mask's checks, before any tensor is made (so an error leaves nothing behind): a tensor
 * `[batch, T]` matching per-step predictions, with at least one real step. Returns it with its count.
 */
function checkMask(name: string, p: tf.Tensor, mask: tf.Tensor): { mask: tf.Tensor; count: number } {
  if (!(mask instanceof tf.Tensor)) throw new TypeError(`loss '${name}': mask must be a [batch, time] tensor (1 at real steps, 0 at padding); got ${describe(mask)}`);
  if (p.rank < 3) {
    throw new Error(`loss '${name}': a mask applies to per-step predictions [batch, time, …]; got predictions ${shapeText(p.shape)} with no time axis ` +
      '(a many-to-one model already outputs each sequence\'s last real step: pass no mask)');
  }
  if (mask.rank !== 2 || mask.shape[0] !== p.shape[0] || mask.shape[1] !== p.shape[1]) {
    throw new Error(`loss '${name}': mask must have shape [batch, time] = ${shapeText(p.shape.slice(0, 2))} for predictions ${shapeText(p.shape)}; got ${shapeText(mask.shape)}`);
  }
  const m = mask.dataSync();
  let count = 0;
  for (let i = 0; i < m.length; i++) if (Number(m[i]) !== 0) count++;
  if (count === 0) throw new RangeError(`loss '${name}': the mask has no real step (all 0s): the mean over real steps would be 0/0`);
  return { mask, count };
}

/**
 * The activation of a model's output layer ('linear', 'softmax', 'sigmoid', …), read from its config;
 * undefined when the last layer has none (a custom layer).
 */
export function headActivation(model: tf.LayersModel): string | undefined {
  const act = (model.layers.at(-1)?.getConfig() as { activation?: unknown } | undefined)?.activation;
  return typeof act === 'string' ? act : undefined;
}

/**
 * A named loss must fit the model's head: 'crossEntropy' reads its outputs as probabilities (a softmax
 * head) and 'binaryCrossEntropy' as sigmoid probabilities. On logits they would clip every negative
 * output to ~1e-7 and report (and minimise) the wrong loss, so this is an error that says both fixes.
 */
export function checkLossFitsHead(where: string, loss: LossSpec, model: tf.LayersModel): void {
  if (typeof loss === 'function') return;
  const want = loss === 'crossEntropy' ? 'softmax' : loss === 'binaryCrossEntropy' ? 'sigmoid' : undefined;
  const act = headActivation(model);
  if (!want || act === undefined || act === want) return;
  throw new Error(`${where}: loss '${loss}' takes ${want} probabilities, but the model's output layer has activation '${act}'. ` +
    `Build the model with outputActivation: '${want}', or, to treat the outputs as logits, pass loss: lossFunction('${loss}', true)`);
}
