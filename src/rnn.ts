/**
 * The vanilla (Elman) RNN cell:  h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h).
 *
 * Reference: Elman, "Finding structure in time", Cognitive Science 1990; lecture seed 000.
 * In tf.js's row-vector layout the same step reads h_t = tanh(x_t·Wxᵀ… ), i.e. xp + h·U below.
 */
import * as tf from '@tensorflow/tfjs';
import { CellFamily, RnnActivation, State, StepResult, StepWeights } from './family';
import { ACT_CODE } from './fused/kernels';

/** Apply the Elman cell's activation. */
export function activate(a: tf.Tensor2D, activation: RnnActivation): tf.Tensor2D {
  switch (activation) {
    case 'tanh': return tf.tanh(a);
    case 'relu': return tf.relu(a);
    case 'sigmoid': return tf.sigmoid(a);
    case 'linear': return a;
  }
}

export const RNN_FAMILY: CellFamily = {
  kind: 'rnn',
  gates: ['h'],
  hasCell: false,
  activations: { h: 'activation' },
  options: ['activation'],
  keras: { className: 'SimpleRNN', order: ['h'] },
  pytorch: { order: ['h'], activations: ['tanh', 'relu'] },
  fused: {
    code: 0,
    // The kernel's flags word is the activation's code; the Elman cell has no gates to take a σ.
    flags: (o) => (o.recurrentActivation !== undefined ? -1 : ACT_CODE[o.activation ?? 'tanh'] ?? -1),
  },
  recurrentMask: true,
  prepare: (w: StepWeights) => w,
  step(xp: tf.Tensor2D, prev: State, w: StepWeights, o, _cProbe?: tf.Tensor, hMask?: tf.Tensor): StepResult {
    // xp = x_t W_xhᵀ + b_h was computed for all steps at once by the layer.
    const hIn = hMask ? tf.mul(prev.h, hMask) : prev.h;                           // [batch, n]  h_{t-1} ⊙ m (recurrent dropout)
    const a = tf.add(xp, tf.matMul(hIn, w.recurrentKernel)) as tf.Tensor2D;       // [batch, n]  pre-activation
    const h = activate(a, o.activation);                                          // [batch, n]
    return { h, gates: {} };
  },
};
