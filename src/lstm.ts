/**
 * The LSTM cell, gates in the lecture's order i, f, o, g:
 *
 *   (i, f, o, g) = (σ, σ, σ, tanh)(W_x x_t + W_h h_{t-1} + b)     (σ: options.recurrentActivation)
 *   c_t = f ⊙ c_{t-1} + i ⊙ g
 *   h_t = o ⊙ tanh(c_t)
 *
 * Reference: Hochreiter & Schmidhuber, "Long Short-Term Memory", Neural Computation 1997; lecture
 * seeds 000, 002. The cell state's path c_{t-1} → c_t is an elementwise product with f: no matrix
 * multiply, which is why its gradient decays far slower than a vanilla RNN's.
 * Gate orders elsewhere: PyTorch i, f, g, o; Keras/tf.js i, f, c(=g), o (see weights.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { CellFamily, State, StepResult, StepWeights, gateActivate, gateFlags } from './family';

export const LSTM_FAMILY: CellFamily = {
  kind: 'lstm',
  gates: ['i', 'f', 'o', 'g'],
  hasCell: true,
  activations: { i: 'gate', f: 'gate', o: 'gate', g: 'tanh' },
  options: ['recurrentActivation'],
  forgetGate: 'f',
  keras: { className: 'LSTM', order: ['i', 'f', 'g', 'o'] },   // Keras calls g c
  pytorch: { order: ['i', 'f', 'g', 'o'] },
  fused: { code: 1, flags: gateFlags },
  recurrentMask: true,
  prepare: (w: StepWeights) => w,
  step(xp: tf.Tensor2D, prev: State, w: StepWeights, opt, cProbe?: tf.Tensor, hMask?: tf.Tensor): StepResult {
    const hIn = hMask ? tf.mul(prev.h, hMask) : prev.h;                          // [batch, n]  h_{t-1} ⊙ m (recurrent dropout)
    const a = tf.add(xp, tf.matMul(hIn, w.recurrentKernel)) as tf.Tensor2D;      // [batch, 4n]  all gates
    const [ai, af, ao, ag] = tf.split(a, 4, 1) as tf.Tensor2D[];               // [batch, n] each
    const i = gateActivate(ai, opt.recurrentActivation);  // [batch, n]  input gate
    const f = gateActivate(af, opt.recurrentActivation);  // [batch, n]  forget gate
    const o = gateActivate(ao, opt.recurrentActivation);  // [batch, n]  output gate
    const g = tf.tanh(ag);                                                       // [batch, n]  candidate
    let c = tf.add(tf.mul(f, prev.c!), tf.mul(i, g)) as tf.Tensor2D;            // [batch, n]  c_t
    if (cProbe) c = tf.add(c, cProbe) as tf.Tensor2D;                           // diagnostics only
    const h = tf.mul(o, tf.tanh(c)) as tf.Tensor2D;                             // [batch, n]  h_t
    return { h, c, gates: { i, f, o, g } };
  },
};
