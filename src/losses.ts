/**
 * Losses, averaged over batch and time as in the lecture (the character model's loss is the mean
 * per-character cross-entropy, whose exponential is the perplexity).
 */
import * as tf from '@tensorflow/tfjs';

/** A loss by name, or a function (yTrue, yPred) → scalar. */
export type LossSpec = 'mse' | 'crossEntropy' | 'binaryCrossEntropy' | ((yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar);

/**
 * The loss function for a spec. 'crossEntropy' takes integer class ids as targets ([b] or [b, T])
 * and probabilities (softmax outputs) as predictions, or logits when `fromLogits`.
 */
export function lossFunction(spec: LossSpec, fromLogits = false): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Scalar {
  if (typeof spec === 'function') return spec;
  switch (spec) {
    case 'mse':
      return (y, p) => {
        if (y.shape.join() !== p.shape.join()) throw new Error(`loss 'mse': targets must have the model's output shape [${p.shape.join(', ')}]; got [${y.shape.join(', ')}]`);
        return tf.mean(tf.square(tf.sub(p, y))) as tf.Scalar;
      };
    case 'binaryCrossEntropy':
      return (y, p) => {
        const q = fromLogits ? tf.sigmoid(p) : tf.clipByValue(p, 1e-7, 1 - 1e-7);
        return tf.neg(tf.mean(tf.add(tf.mul(y, tf.log(q)), tf.mul(tf.sub(1, y), tf.log(tf.sub(1, q)))))) as tf.Scalar;
      };
    case 'crossEntropy':
      return (y, p) => {
        const V = p.shape[p.rank - 1];
        if (y.rank !== p.rank - 1 || y.shape.join() !== p.shape.slice(0, -1).join()) {
          throw new Error(`loss 'crossEntropy': targets must be class ids of shape [${p.shape.slice(0, -1).join(', ')}] for predictions [${p.shape.join(', ')}]; got [${y.shape.join(', ')}]`);
        }
        const logp = fromLogits ? tf.logSoftmax(p) : tf.log(tf.clipByValue(p, 1e-12, 1));    // [..., V]
        const onehot = tf.oneHot(tf.cast(tf.reshape(y, [-1]), 'int32'), V);                      // [N, V]
        return tf.neg(tf.mean(tf.sum(tf.mul(tf.reshape(logp, [-1, V]), onehot), 1))) as tf.Scalar;
      };
    default:
      throw new RangeError(`loss must be 'mse', 'crossEntropy', 'binaryCrossEntropy' or a function (yTrue, yPred) => scalar; got '${spec}'`);
  }
}
