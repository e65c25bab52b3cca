// GRU: one step forward and its BPTT step backward, reset before or after the recurrent matmul.
// Gate blocks r, z, h (candidate h̃).
//
// Forward (lecture; row-vector batch, x_t [b, m], h_t [b, n], a_t [b, 3n]; x_t·W_x + b precomputed for
// all t in recurrent.ts; U = [U_rz U_h], U_rz [n, 2n], U_h [n, n]):
//   r = σ(a_r),  z = σ(a_z),  [a_r a_z] = x_t·W_rz + h_{t-1}·U_rz + b_rz
//   reset before:  h̃ = tanh(a_h),  a_h = x_t·W_h + (r ⊙ h_{t-1})·U_h + b_h             (S: r ⊙ h_{t-1})
//   reset after:   q = h_{t-1}·U + b_hh = [q_r q_z q_h],  [a_r a_z] = x_t·W_rz + b_rz + [q_r q_z],
//                  h̃ = tanh(a_h),  a_h = x_t·W_h + b_h + r ⊙ q_h                        (S: q_h)
//   h_t = keep ⊙ h_{t-1} + (1 − keep) ⊙ h̃,  keep = z ('z-keeps-old') or 1 − z ('z-takes-new')
//
// Backward, given dh_t = ∂L/∂h_t in total (from the output at t and from step t+1):
//   dh_{t-1} += dh_t ⊙ keep                                           direct path
//   da_h      = dh_t ⊙ (1 − keep) ⊙ (1 − h̃²)
//   da_z      = ±dh_t ⊙ (h_{t-1} − h̃) ⊙ σ′(a_z)                     + for z-keeps-old, − for z-takes-new
//   reset before:  d(r⊙h) = da_h·U_hᵀ
//                  da_r   = d(r⊙h) ⊙ h_{t-1} ⊙ σ′(a_r)
//                  dh_{t-1} += d(r⊙h) ⊙ r + [da_r da_z]·U_rzᵀ
//                  after the loop: dU_rz = Σ_t h_{t-1}ᵀ·[da_r da_z],  dU_h = Σ_t (r ⊙ h_{t-1})ᵀ·da_h
//   reset after:   da_r   = da_h ⊙ q_h ⊙ σ′(a_r)
//                  dq     = [da_r  da_z  da_h ⊙ r]
//                  dh_{t-1} += dq·Uᵀ
//                  after the loop: dU = Σ_t h_{t-1}ᵀ·dq,  db_hh = Σ_t dq
//   σ′ = σ(1 − σ), or for hard σ 0.2 where 0 ≤ 0.2·a + 0.5 ≤ 1 and 0 outside (simd.ts gd)
//   recurrent dropout (mask M [b, n], Keras's GRUCell): h_{t-1} ⊙ M in place of h_{t-1} in every recurrent
//   matmul and in r ⊙ h_{t-1}, not in the update; the gradients through them reach dh_{t-1} ⊙ M
//   after the loop, both: dW_x = Σ_t x_tᵀ·da_t, db = Σ_t da_t, dx_t = da_t·W_xᵀ, da_t = [da_r da_z da_h]
//
// References: K. Cho et al., "Learning Phrase Representations using RNN Encoder–Decoder for Statistical
// Machine Translation", EMNLP 2014, https://arxiv.org/abs/1406.1078 (reset before, z keeps the old state);
// J. Chung et al., "Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling", 2014,
// https://arxiv.org/abs/1412.3555 (z takes the new state); reset after is cuDNN's and PyTorch's form
// (https://pytorch.org/docs/stable/generated/torch.nn.GRU.html).
// The library's tf.js-ops step, which the tests hold this against: src/gru.ts.

import { gemm } from './gemm';
import { B4, addMaskedRows, gateRow, gd, gv, kt, ldn, stn, tanhRow, vfma } from './simd';

/**
 * One GRU step, reset before.
 *   A    [b, 3n]  in: x_t·W_x + b; out: what Gs keeps, r z (σ values, or hard σ's clip input) and h̃
 *   Hp   [b, n]   h_{t-1};  Hc [b, n] out: h_t
 *   Hm   [b, n]   h_{t-1} as the recurrent matmuls read it: Hp, or h_{t-1} ⊙ M with recurrent dropout
 *   St   [b, n]   out: r ⊙ Hm, kept for the backward
 *   Urz  U_rz [n, 2n] and Uh U_h [n, n], packed by packB
 */
@inline export function gruForwardStepResetBefore(A: usize, Hp: usize, Hm: usize, Hc: usize, St: usize, Urz: usize, Uh: usize,
  b: i32, n: i32, takesNew: bool, hard: bool): void {
  const Gn = 3 * n;
  const nB = B4(n);
  gemm(b, 2 * n, n, Hm, n, 1, Urz, A, Gn, 1);              // [a_r a_z] += h_{t-1}·U_rz
  for (let i = 0; i < b; i++) {
    const a = A + B4(i * Gn), hp = Hm + B4(i * n), s = St + B4(i * n);
    gateRow(a, 2 * n, hard);                                // r, z
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      stn(s + o, f32x4.mul(gv(ldn(a + o, cnt), hard), ldn(hp + o, cnt)), cnt);   // r ⊙ h_{t-1}
    }
  }
  gemm(b, n, n, St, n, 1, Uh, A + 2 * nB, Gn, 1);          // a_h += (r ⊙ h_{t-1})·U_h
  gruUpdate(A, Hp, Hc, b, n, takesNew, hard);
}

/**
 * One GRU step, reset after.
 *   A    [b, 3n]  in: x_t·W_x + b; out: what Gs keeps, r z (σ values, or hard σ's clip input) and h̃
 *   Hp   [b, n]   h_{t-1};  Hc [b, n] out: h_t
 *   Hm   [b, n]   h_{t-1} as the recurrent matmul reads it: Hp, or h_{t-1} ⊙ M with recurrent dropout
 *   St   [b, n]   out: q_h = (h_{t-1}·U + b_hh)'s h block, kept for the backward
 *   HP   [b, 3n]  scratch: q = h_{t-1}·U + b_hh
 *   Up   U [n, 3n] packed by packB;  Bh b_hh [3n]
 */
@inline export function gruForwardStepResetAfter(A: usize, Hp: usize, Hm: usize, Hc: usize, St: usize, HP: usize, Up: usize,
  Bh: usize, b: i32, n: i32, takesNew: bool, hard: bool): void {
  const Gn = 3 * n;
  const nB = B4(n);
  for (let i = 0; i < b; i++) memory.copy(HP + B4(i * Gn), Bh, B4(Gn));
  gemm(b, Gn, n, Hm, n, 1, Up, HP, Gn, 1);                 // q = h_{t-1}·U + b_hh
  for (let i = 0; i < b; i++) {
    const a = A + B4(i * Gn), q = HP + B4(i * Gn), s = St + B4(i * n);
    for (let j = 0; j < 2 * n; j += 4) {
      const cnt = 2 * n - j;
      const o = B4(j);
      stn(a + o, f32x4.add(ldn(a + o, cnt), ldn(q + o, cnt)), cnt);               // [a_r a_z] += [q_r q_z]
    }
    gateRow(a, 2 * n, hard);                                // r, z
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      const hh = ldn(q + 2 * nB + o, cnt);
      stn(a + 2 * nB + o, vfma(gv(ldn(a + o, cnt), hard), hh, ldn(a + 2 * nB + o, cnt)), cnt);   // a_h += r ⊙ q_h
      stn(s + o, hh, cnt);
    }
  }
  gruUpdate(A, Hp, Hc, b, n, takesNew, hard);
}

/** h̃ = tanh(pre-activation in A's h block), saved there; h_t = keep⊙h_{t-1} + (1−keep)⊙h̃. */
@inline function gruUpdate(A: usize, Hp: usize, Hc: usize, b: i32, n: i32, takesNew: bool, hard: bool): void {
  const Gn = 3 * n;
  const nB = B4(n);
  const one = kt(14);
  for (let i = 0; i < b; i++) {
    const a = A + B4(i * Gn), hp = Hp + B4(i * n), h = Hc + B4(i * n);
    tanhRow(a + 2 * nB, n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      const ht = ldn(a + 2 * nB + o, cnt);
      const z = gv(ldn(a + nB + o, cnt), hard);
      const keep = takesNew ? f32x4.sub(one, z) : z;
      // keep·h_{t-1} + (1−keep)·h̃ = h̃ + keep·(h_{t-1} − h̃)
      stn(h + o, vfma(keep, f32x4.sub(ldn(hp + o, cnt), ht), ht), cnt);
    }
  }
}

/**
 * One GRU BPTT step (equations above), either form.
 *   dh    [b, n]   ∂L/∂h_t (total)
 *   dhp   [b, n]   ∂L/∂h_{t-1}: in, the output's part; out, plus every path through step t
 *   Hp    [b, n]   h_{t-1}
 *   g     [b, 3n]  Gs at t: r z (as the forward stored them) and h̃
 *   d     [b, 3n]  out: da_t = [da_r da_z da_h]
 *   St    [b, n]   r ⊙ h_{t-1} (reset before) or q_h (reset after)
 *   e     [b, 3n]  reset after, out: dq;  DRH [b, n] reset before, scratch: d(r⊙h)
 *   Utp   Uᵀ [3n, n] (reset after);  Uth U_hᵀ [n, n], Utrz U_rzᵀ [2n, n] (reset before); packed by packB
 *   M     [b, n]   recurrent dropout's mask, or 0 for none;  MS [b, n] scratch (with M)
 */
@inline export function gruBackwardStep(dh: usize, dhp: usize, Hp: usize, g: usize, d: usize, St: usize, e: usize,
  DRH: usize, Utp: usize, Uth: usize, Utrz: usize, b: i32, n: i32, resetAfter: bool, takesNew: bool, hard: bool, M: usize, MS: usize): void {
  const Gn = 3 * n;
  const nB = B4(n);
  const one = kt(14);
  for (let i = 0; i < b; i++) {
    const dh_i = dh + B4(i * n), gi = g + B4(i * Gn), da = d + B4(i * Gn), hp = Hp + B4(i * n);
    const dhp_i = dhp + B4(i * n), s = St + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      const ur = ldn(gi + o, cnt), uz = ldn(gi + nB + o, cnt), ht = ldn(gi + 2 * nB + o, cnt);
      const r = gv(ur, hard), z = gv(uz, hard);
      const dhv = ldn(dh_i + o, cnt);
      const hpv = ldn(hp + o, cnt);
      const keep = takesNew ? f32x4.sub(one, z) : z;
      // direct path into h_{t-1}
      stn(dhp_i + o, vfma(dhv, keep, ldn(dhp_i + o, cnt)), cnt);
      const daH = f32x4.mul(f32x4.mul(dhv, f32x4.sub(one, keep)), f32x4.sub(one, f32x4.mul(ht, ht)));
      let dz = f32x4.mul(dhv, f32x4.sub(hpv, ht));        // ∂L/∂keep
      if (takesNew) dz = f32x4.neg(dz);
      const daZ = f32x4.mul(dz, gd(uz, hard));
      stn(da + nB + o, daZ, cnt);
      stn(da + 2 * nB + o, daH, cnt);
      if (resetAfter) {
        const e_i = e + B4(i * Gn);
        const daR = f32x4.mul(f32x4.mul(daH, ldn(s + o, cnt)), gd(ur, hard));
        stn(da + o, daR, cnt);
        stn(e_i + o, daR, cnt);
        stn(e_i + nB + o, daZ, cnt);
        stn(e_i + 2 * nB + o, f32x4.mul(daH, r), cnt);
      }
    }
  }
  if (resetAfter && M == 0) {
    gemm(b, n, Gn, e, Gn, 1, Utp, dhp, n, 1);              // dh_{t-1} += dq·Uᵀ
  } else if (resetAfter) {
    // Recurrent dropout: q read h_{t-1} ⊙ M, so dh_{t-1} += (dq·Uᵀ) ⊙ M.
    gemm(b, n, Gn, e, Gn, 1, Utp, MS, n, 0);
    addMaskedRows(dhp, MS, M, b, n);
  } else if (M != 0) {
    // Recurrent dropout: r ⊙ (h_{t-1} ⊙ M) and (h_{t-1} ⊙ M)·U_rz, so both paths' sum is masked on its way to dh_{t-1}.
    gemm(b, n, n, d + 2 * nB, Gn, 1, Uth, DRH, n, 0);
    for (let i = 0; i < b; i++) {
      const drh = DRH + B4(i * n), gi = g + B4(i * Gn), da = d + B4(i * Gn), hp = Hp + B4(i * n), ms = MS + B4(i * n), m = M + B4(i * n);
      for (let j = 0; j < n; j += 4) {
        const cnt = n - j;
        const o = B4(j);
        const ur = ldn(gi + o, cnt);
        const dq = ldn(drh + o, cnt);
        stn(ms + o, f32x4.mul(dq, gv(ur, hard)), cnt);
        stn(da + o, f32x4.mul(f32x4.mul(dq, f32x4.mul(ldn(hp + o, cnt), ldn(m + o, cnt))), gd(ur, hard)), cnt);
      }
    }
    gemm(b, n, 2 * n, d, Gn, 1, Utrz, MS, n, 1);           // + [da_r da_z]·U_rzᵀ
    addMaskedRows(dhp, MS, M, b, n);
  } else {
    // ∂L/∂(r⊙h_{t-1}) = daH·U_hᵀ; then r's gradient and the path through r⊙h_{t-1}
    gemm(b, n, n, d + 2 * nB, Gn, 1, Uth, DRH, n, 0);
    for (let i = 0; i < b; i++) {
      const drh = DRH + B4(i * n), gi = g + B4(i * Gn), da = d + B4(i * Gn), hp = Hp + B4(i * n), dhp_i = dhp + B4(i * n);
      for (let j = 0; j < n; j += 4) {
        const cnt = n - j;
        const o = B4(j);
        const ur = ldn(gi + o, cnt);
        const dq = ldn(drh + o, cnt);
        stn(dhp_i + o, vfma(dq, gv(ur, hard), ldn(dhp_i + o, cnt)), cnt);
        stn(da + o, f32x4.mul(f32x4.mul(dq, ldn(hp + o, cnt)), gd(ur, hard)), cnt);
      }
    }
    gemm(b, n, 2 * n, d, Gn, 1, Utrz, dhp, n, 1);          // dh_{t-1} += [da_r da_z]·U_rzᵀ
  }
}
