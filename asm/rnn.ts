// Elman RNN: one step forward and its BPTT step backward.
//
// Forward (lecture; row-vector batch, x_t [b, m], h_t [b, n]):
//   a_t = x_t·W_x + h_{t-1}·U + b                 x_t·W_x + b precomputed for all t (recurrent.ts)
//   h_t = φ(a_t)                                   φ = tanh | relu | σ | linear (flags bits 0-1)
//
// Backward, given dh_t = ∂L/∂h_t in total (from the output at t and from step t+1):
//   da_t      = dh_t ⊙ φ′(a_t)                     φ′ from h_t: 1 − h², [h > 0], h(1 − h), 1
//   dh_{t-1} += da_t·Uᵀ                           (⊙ M with recurrent dropout: the forward read h_{t-1} ⊙ M)
//   after the time loop (recurrent.ts, one GEMM each over all T·b rows):
//   dW_x = Σ_t x_tᵀ·da_t,  dU = Σ_t h_{t-1}ᵀ·da_t,  db = Σ_t da_t,  dx_t = da_t·W_xᵀ
//
// Reference: J. L. Elman, "Finding Structure in Time", Cognitive Science 14 (1990),
// https://doi.org/10.1207/s15516709cog1402_1; BPTT: P. J. Werbos, "Backpropagation Through Time: What It
// Does and How to Do It", Proc. IEEE 78 (1990), https://doi.org/10.1109/5.58337.
// The library's tf.js-ops step, which the tests hold this against: src/rnn.ts.

import { gemm } from './gemm';
import { B4, addMaskedRows, ldn, stn, vact, vactGrad } from './simd';

/**
 * h_t = φ(a_t).
 *   A   [b, n]  in: x_t·W_x + b; out: a_t
 *   Hp  [b, n]  h_{t-1}
 *   Hc  [b, n]  out: h_t
 *   Up  U [n, n] packed by packB
 */
@inline export function rnnForwardStep(A: usize, Hp: usize, Hc: usize, Up: usize, b: i32, n: i32, act: i32): void {
  gemm(b, n, n, Hp, n, 1, Up, A, n, 1);                  // a_t += h_{t-1}·U
  for (let i = 0; i < b; i++) {
    const a = A + B4(i * n), h = Hc + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const o = B4(j);
      stn(h + o, vact(ldn(a + o, n - j), act), n - j);  // h_t = φ(a_t)
    }
  }
}

/**
 * da_t = dh_t ⊙ φ′; dh_{t-1} += da_t·Uᵀ.
 *   dh   [b, n]  ∂L/∂h_t (total)
 *   dhp  [b, n]  ∂L/∂h_{t-1}: in, the output's part; out, plus the path through U
 *   Hc   [b, n]  h_t
 *   d    [b, n]  out: da_t
 *   Utp  Uᵀ [n, n] packed by packB
 */
@inline export function rnnBackwardStep(dh: usize, dhp: usize, Hc: usize, d: usize, Utp: usize,
  b: i32, n: i32, act: i32, M: usize, MS: usize): void {
  for (let i = 0; i < b; i++) {
    const dh_i = dh + B4(i * n), h = Hc + B4(i * n), da = d + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      stn(da + o, f32x4.mul(ldn(dh_i + o, cnt), vactGrad(ldn(h + o, cnt), act)), cnt);
    }
  }
  if (M == 0) gemm(b, n, n, d, n, 1, Utp, dhp, n, 1);    // dh_{t-1} += da_t·Uᵀ
  else {
    // Recurrent dropout: the matmul read h_{t-1} ⊙ M, so dh_{t-1} += (da_t·Uᵀ) ⊙ M.
    gemm(b, n, n, d, n, 1, Utp, MS, n, 0);
    addMaskedRows(dhp, MS, M, b, n);
  }
}
