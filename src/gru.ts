/**
 * The GRU cell, gates r (reset) and z (update), candidate h̃:
 *
 *   r_t = σ(W_xr x_t + W_hr h_{t-1} + b_r)          (σ: options.recurrentActivation)
 *   z_t = σ(W_xz x_t + W_hz h_{t-1} + b_z)
 *   h̃_t = tanh(W_xh x_t + W_hh (r_t ⊙ h_{t-1}) + b_h)              reset before (lecture seed 000)
 *   h̃_t = tanh(W_xh x_t + r_t ⊙ (W_hh h_{t-1} + b_hh) + b_h)       reset after (seed 002, PyTorch, cuDNN)
 *   h_t = z_t ⊙ h_{t-1} + (1 − z_t) ⊙ h̃_t                         'z-keeps-old' (seed 000, PyTorch, Keras)
 *   h_t = (1 − z_t) ⊙ h_{t-1} + z_t ⊙ h̃_t                         'z-takes-new' (seed 002)
 *
 * References: Cho et al., "Learning Phrase Representations using RNN Encoder–Decoder", EMNLP 2014
 * (the z-keeps-old form); Chung et al., "Empirical Evaluation of Gated Recurrent Neural Networks on
 * Sequence Modeling", 2014 (the z-takes-new form).
 * Storage order of the gate blocks: r, z, h (Keras stores z, r, h; PyTorch r, z, n).
 */
import * as tf from '@tensorflow/tfjs';
import { CellFamily, State, StepResult, StepWeights, gateActivate, gateFlags } from './family';
import { RESET_AFTER, Z_TAKES_NEW } from './fused/kernels';

export const GRU_FAMILY: CellFamily = {
  kind: 'gru',
  gates: ['r', 'z', 'h'],
  hasCell: false,
  activations: { r: 'gate', z: 'gate', h: 'tanh' },
  options: ['recurrentActivation', 'resetAfter', 'update'],
  recurrentBias: (o) => o.resetAfter,
  keras: { className: 'GRU', order: ['z', 'r', 'h'] },
  // PyTorch's GRU applies r after its recurrent matmul (b_hh inside), i.e. resetAfter.
  pytorch: { order: ['r', 'z', 'h'], needsRecurrentBias: true },
  fused: {
    code: 2,
    flags(o) {
      const gates = gateFlags(o);
      if (gates < 0) return gates;
      return gates | (o.resetAfter ? RESET_AFTER : 0) | ((o.update ?? 'z-keeps-old') === 'z-takes-new' ? Z_TAKES_NEW : 0);
    },
  },
  recurrentMask: true,
  prepare(w: StepWeights, n: number): StepWeights {
    if (w.recurrentBias) return w;  // reset after: one matmul for all three blocks
    // Reset before: r must multiply h before the candidate's matmul, so split W_hh once per sequence.
    const recurrentRZ = tf.slice(w.recurrentKernel, [0, 0], [n, 2 * n]) as tf.Tensor2D;  // [n, 2n]
    const recurrentH = tf.slice(w.recurrentKernel, [0, 2 * n], [n, n]) as tf.Tensor2D;   // [n, n]
    return { ...w, recurrentRZ, recurrentH };
  },
  step(xp: tf.Tensor2D, prev: State, w: StepWeights, o, _cProbe?: tf.Tensor, hMask?: tf.Tensor): StepResult {
    // Recurrent dropout masks h_{t-1} where it enters the recurrent matmuls only; the update below keeps
    // the unmasked h_{t-1} (Keras's GRUCell).
    const h0 = (hMask ? tf.mul(prev.h, hMask) : prev.h) as tf.Tensor2D;       // [batch, n]  h_{t-1} ⊙ m
    const [xr, xz, xh] = tf.split(xp, 3, 1) as tf.Tensor2D[];                   // [batch, n] each
    let r: tf.Tensor2D, z: tf.Tensor2D, hTilde: tf.Tensor2D;
    if (w.recurrentBias) {
      const hp = tf.add(tf.matMul(h0, w.recurrentKernel), w.recurrentBias);      // [batch, 3n]  W_hh h + b_hh
      const [hr, hz, hh] = tf.split(hp, 3, 1) as tf.Tensor2D[];                 // [batch, n] each
      r = gateActivate(tf.add(xr, hr) as tf.Tensor2D, o.recurrentActivation);  // [batch, n]
      z = gateActivate(tf.add(xz, hz) as tf.Tensor2D, o.recurrentActivation);  // [batch, n]
      hTilde = tf.tanh(tf.add(xh, tf.mul(r, hh))) as tf.Tensor2D;                               // [batch, n]
    } else {
      const [hr, hz] = tf.split(tf.matMul(h0, w.recurrentRZ!), 2, 1) as tf.Tensor2D[];  // [batch, n] each
      r = gateActivate(tf.add(xr, hr) as tf.Tensor2D, o.recurrentActivation);  // [batch, n]
      z = gateActivate(tf.add(xz, hz) as tf.Tensor2D, o.recurrentActivation);  // [batch, n]
      hTilde = tf.tanh(tf.add(xh, tf.matMul(tf.mul(r, h0), w.recurrentH!))) as tf.Tensor2D;    // [batch, n]
    }
    const keep = o.update === 'z-keeps-old' ? z : tf.sub(1, z);                  // [batch, n]  share of h_{t-1}
    const h = tf.add(tf.mul(keep, prev.h), tf.mul(tf.sub(1, keep), hTilde)) as tf.Tensor2D;  // [batch, n]
    return { h, gates: { r, z, hTilde } };
  },
};
