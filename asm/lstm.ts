// LSTM: one step forward and its BPTT step backward. Gate blocks in the lecture's order i, f, o, g.
//
// Forward (lecture; row-vector batch, x_t [b, m], h_t and c_t [b, n], a_t [b, 4n]):
//   a_t = x_t·W_x + h_{t-1}·U + b = [a_i a_f a_o a_g]     x_t·W_x + b precomputed for all t (recurrent.ts)
//   i = σ(a_i)   f = σ(a_f)   o = σ(a_o)   g = tanh(a_g)    σ: logistic, or hard σ clip(0.2·a + 0.5, 0, 1)
//   c_t = f ⊙ c_{t-1} + i ⊙ g
//   h_t = o ⊙ tanh(c_t)
//
// Backward, given dh_t = ∂L/∂h_t in total (from the output at t and from step t+1) and dc_t⁺ = the part of
// ∂L/∂c_t from step t+1 (= f_{t+1} ⊙ dc_{t+1}; at t = T, ∂L/∂c_T from the output):
//   dc_t      = dh_t ⊙ o ⊙ (1 − tanh²(c_t)) + dc_t⁺
//   do        = dh_t ⊙ tanh(c_t) ⊙ σ′(a_o)
//   di        = dc_t ⊙ g ⊙ σ′(a_i)
//   df        = dc_t ⊙ c_{t-1} ⊙ σ′(a_f)
//   dg        = dc_t ⊙ i ⊙ (1 − g²)
//   dc_{t-1}⁺ = dc_t ⊙ f
//   dh_{t-1} += [di df do dg]·Uᵀ                  (⊙ M with recurrent dropout: the forward read h_{t-1} ⊙ M)
//   σ′ = σ(1 − σ), or for hard σ 0.2 where 0 ≤ 0.2·a + 0.5 ≤ 1 and 0 outside (simd.ts gd)
//   after the time loop (recurrent.ts): dW_x = Σ_t x_tᵀ·da_t, dU = Σ_t h_{t-1}ᵀ·da_t, db = Σ_t da_t,
//   dx_t = da_t·W_xᵀ, with da_t = [di df do dg]
//
// Reference: S. Hochreiter, J. Schmidhuber, "Long Short-Term Memory", Neural Computation 9 (1997),
// https://doi.org/10.1162/neco.1997.9.8.1735 (the forget gate: F. A. Gers, J. Schmidhuber, F. Cummins,
// 2000, https://doi.org/10.1162/089976600300015015); the backward written out as here: K. Greff et al.,
// "LSTM: A Search Space Odyssey", 2015, https://arxiv.org/abs/1503.04069 (its BPTT deltas, peephole terms dropped).
// The library's tf.js-ops step, which the tests hold this against: src/lstm.ts.

import { gemm } from './gemm';
import { B4, addMaskedRows, gateRow, gd, gv, kt, ldn, stn, tanhRow, vfma, vtanh } from './simd';

/**
 * One LSTM step.
 *   A   [b, 4n]  in: x_t·W_x + b; out: what Gs keeps, i f o (σ values, or hard σ's clip input) and g
 *   Hp  [b, n]   h_{t-1};  Hc [b, n] out: h_t
 *   Cp  [b, n]   c_{t-1};  Cc [b, n] out: c_t
 *   St  [b, n]   out: tanh(c_t), kept for the backward
 *   Up  U [n, 4n] packed by packB
 */
@inline export function lstmForwardStep(A: usize, Hp: usize, Hc: usize, Cp: usize, Cc: usize, St: usize, Up: usize,
  b: i32, n: i32, hard: bool): void {
  const Gn = 4 * n;
  const nB = B4(n);
  gemm(b, Gn, n, Hp, n, 1, Up, A, Gn, 1);                   // a_t += h_{t-1}·U
  for (let i = 0; i < b; i++) {
    const a = A + B4(i * Gn), cp = Cp + B4(i * n), cc = Cc + B4(i * n), h = Hc + B4(i * n), s = St + B4(i * n);
    // Two tight passes (one transcendental per vector each) pipeline better than one fused pass.
    gateRow(a, 3 * n, hard);                                // i, f, o
    tanhRow(a + 3 * nB, n);                                 // g
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      // c_t = f ⊙ c_{t-1} + i ⊙ g
      const c = vfma(gv(ldn(a + nB + o, cnt), hard), ldn(cp + o, cnt), f32x4.mul(gv(ldn(a + o, cnt), hard), ldn(a + 3 * nB + o, cnt)));
      stn(cc + o, c, cnt);
    }
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      const tc = vtanh(ldn(cc + o, cnt));
      stn(s + o, tc, cnt);
      stn(h + o, f32x4.mul(gv(ldn(a + 2 * nB + o, cnt), hard), tc), cnt);   // h_t = o ⊙ tanh(c_t)
    }
  }
}

/**
 * One LSTM BPTT step (equations above).
 *   dh   [b, n]   ∂L/∂h_t (total)
 *   dhp  [b, n]   ∂L/∂h_{t-1}: in, the output's part; out, plus [di df do dg]·Uᵀ
 *   g    [b, 4n]  Gs at t: i f o (as the forward stored them) and g
 *   d    [b, 4n]  out: da_t = [di df do dg]
 *   Cp   [b, n]   c_{t-1}
 *   St   [b, n]   tanh(c_t)
 *   dc   [b, n]   in: dc_t⁺; out: dc_{t-1}⁺ = dc_t ⊙ f
 *   Utp  Uᵀ [4n, n] packed by packB
 */
@inline export function lstmBackwardStep(dh: usize, dhp: usize, g: usize, d: usize, Cp: usize, St: usize, dc: usize,
  Utp: usize, b: i32, n: i32, hard: bool, M: usize, MS: usize): void {
  const Gn = 4 * n;
  const nB = B4(n);
  const one = kt(14);
  for (let i = 0; i < b; i++) {
    const dh_i = dh + B4(i * n), gi = g + B4(i * Gn), da = d + B4(i * Gn);
    const cp = Cp + B4(i * n), s = St + B4(i * n), dc_i = dc + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      const ui = ldn(gi + o, cnt), uf = ldn(gi + nB + o, cnt), uo = ldn(gi + 2 * nB + o, cnt);  // Gs's gate blocks
      const ig = gv(ui, hard), fg = gv(uf, hard), og = gv(uo, hard), gg = ldn(gi + 3 * nB + o, cnt);
      const tc = ldn(s + o, cnt);
      const dhv = ldn(dh_i + o, cnt);
      const dc_t = vfma(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc)), ldn(dc_i + o, cnt));
      stn(dc_i + o, f32x4.mul(dc_t, fg), cnt);                                        // dc_{t-1}⁺ (direct path)
      const dao = f32x4.mul(f32x4.mul(dhv, tc), gd(uo, hard));
      const dai = f32x4.mul(f32x4.mul(dc_t, gg), gd(ui, hard));
      const daf = f32x4.mul(f32x4.mul(dc_t, ldn(cp + o, cnt)), gd(uf, hard));
      const dag = f32x4.mul(f32x4.mul(dc_t, ig), f32x4.sub(one, f32x4.mul(gg, gg)));
      stn(da + o, dai, cnt);
      stn(da + nB + o, daf, cnt);
      stn(da + 2 * nB + o, dao, cnt);
      stn(da + 3 * nB + o, dag, cnt);
    }
  }
  if (M == 0) gemm(b, n, Gn, d, Gn, 1, Utp, dhp, n, 1);    // dh_{t-1} += da_t·Uᵀ
  else {
    // Recurrent dropout: the matmul read h_{t-1} ⊙ M, so dh_{t-1} += (da_t·Uᵀ) ⊙ M.
    gemm(b, n, Gn, d, Gn, 1, Utp, MS, n, 0);
    addMaskedRows(dhp, MS, M, b, n);
  }
}
