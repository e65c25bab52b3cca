/**
 * Weight initialisation, seeded. Orthogonal recurrent weights (Saxe et al. 2014) start every
 * singular value of W_hh at 1, so gradients neither vanish nor explode at the start of training;
 * computed here in plain JS because tf.js's orthogonal initializer warns (on stderr) above 2,000
 * entries and a 4n×n LSTM kernel is larger than that for n ≥ 23.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from './random';

/** An n×n orthogonal matrix (Gram–Schmidt on a seeded Gaussian matrix), row-major. */
export function orthogonal(n: number, rng: Rng): Float32Array {
  const q = new Float64Array(n * n);
  for (let i = 0; i < n * n; i++) q[i] = rng.normal();
  // Orthonormalise the columns, twice for numerical safety ("twice is enough", Giraud et al.).
  for (let pass = 0; pass < 2; pass++) {
    for (let j = 0; j < n; j++) {
      for (let k = 0; k < j; k++) {
        let dot = 0;
        for (let i = 0; i < n; i++) dot += q[i * n + j] * q[i * n + k];
        for (let i = 0; i < n; i++) q[i * n + j] -= dot * q[i * n + k];
      }
      let norm = 0;
      for (let i = 0; i < n; i++) norm += q[i * n + j] ** 2;
      norm = Math.sqrt(norm) || 1;
      for (let i = 0; i < n; i++) q[i * n + j] /= norm;
    }
  }
  return Float32Array.from(q);
}

/** Recurrent kernel [n, G·n]: one orthogonal n×n block per gate. */
export function orthogonalBlocks(n: number, gates: number, rng: Rng): tf.Tensor2D {
  const out = new Float32Array(n * gates * n);
  for (let g = 0; g < gates; g++) {
    const block = orthogonal(n, rng);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * gates * n + g * n + j] = block[i * n + j];
  }
  return tf.tensor2d(out, [n, gates * n]);
}

/** Input kernel [m, G·n], Glorot-uniform per gate block (fan_in m, fan_out n). */
export function glorotBlocks(m: number, n: number, gates: number, rng: Rng): tf.Tensor2D {
  const limit = Math.sqrt(6 / (m + n));
  const out = new Float32Array(m * gates * n);
  for (let i = 0; i < out.length; i++) out[i] = (2 * rng.next() - 1) * limit;
  return tf.tensor2d(out, [m, gates * n]);
}
