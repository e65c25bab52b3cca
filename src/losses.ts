/**
 * Losses, averaged over batch and time as in the lecture (the character model's loss is the mean
 * per-character cross-entropy, whose exponential is the perplexity). Every built-in loss is the
 * plain mean over all its terms — batch × time steps (× outputs for 'mse' and 'binaryCrossEntropy')
 * — so a batch's value times its number of target entries sums to the full-data total; `train`
 * relies on this to weight short batches and chunks correctly.
 */
import * as tf from '@tensorflow/tfjs';
import { shapeText } from './inputs';

/** A loss by name, or a function (yTrue, yPred) → scalar. */
export type LossSpec = 'mse' | 'crossEntropy' | 'binaryCrossEntropy' | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar);

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
 * Errors: targets whose shape does not fit the predictions; `fromLogits` with 'mse' or a function
 * (where it would have no effect).
 *
 * @example
 * ```ts
 * const ce = lossFunction('crossEntropy', true);
 * ce(tf.tensor2d([[2, 0]]), logits);                 // logits [1, 2, V]: mean over the 2 steps
 * ```
 */
export function lossFunction(spec: LossSpec, fromLogits = false): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  if (typeof fromLogits !== 'boolean') throw new TypeError(`lossFunction: fromLogits must be true or false; got ${typeof fromLogits}`);
  if (fromLogits && (typeof spec === 'function' || spec === 'mse')) {
    throw new RangeError(`lossFunction: fromLogits applies to 'crossEntropy' and 'binaryCrossEntropy' only; got ${typeof spec === 'function' ? 'a function' : `'${spec}'`} with fromLogits = true`);
  }
  if (typeof spec === 'function') return spec;
  const sameShape = (name: string, y: tf.Tensor, p: tf.Tensor) => {
    if (y.shape.join() !== p.shape.join()) throw new Error(`loss '${name}': targets must have the model's output shape ${shapeText(p.shape)}; got ${shapeText(y.shape)}`);
  };
  switch (spec) {
    case 'mse':
      return (y, p) => {
        sameShape('mse', y, p);
        return tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar;
      };
    case 'binaryCrossEntropy':
      return (y, p) => {
        sameShape('binaryCrossEntropy', y, p);
        if (fromLogits) {
          // log σ(z) = −log(1 + e^−z) overflows e^−z for z ≪ 0 and σ(z) rounds to 1 for z ≫ 0 (log(1 − 1) = −∞);
          // this form keeps every exponent ≤ 0.
          return tf.mean(tf.add(tf.sub(tf.relu(p), tf.mul(p, y)), tf.log1p(tf.exp(tf.neg(tf.abs(p)))))) as tf.Scalar;
        }
        const q = tf.clipByValue(p, 1e-7, 1 - 1e-7);
        return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q)))))) as tf.Scalar;
      };
    case 'crossEntropy':
      return (y, p) => {
        const V = p.shape[p.rank - 1];
        if (y.rank !== p.rank - 1 || y.shape.join() !== p.shape.slice(0, -1).join()) {
          throw new Error(`loss 'crossEntropy': targets must be class ids of shape ${shapeText(p.shape.slice(0, -1))} for predictions ${shapeText(p.shape)}; got ${shapeText(y.shape)}`);
        }
        const logp = fromLogits ? tf.logSoftmax(p) : tf.log(tf.clipByValue(p, 1e-12, 1));    // [..., V]
        const onehot = tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), V);                      // [N, V], N = b·T
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.reshape(logp, [-1, V]), onehot), 1))) as tf.Scalar;
      };
    default:
      throw new RangeError(`loss must be 'mse', 'crossEntropy', 'binaryCrossEntropy' or a function (yTrue, yPred) => scalar; got '${spec}'`);
  }
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
