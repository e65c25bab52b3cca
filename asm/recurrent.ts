// Fused recurrent layers in WebAssembly (AssemblyScript): a whole sequence of an Elman RNN, LSTM or
// GRU layer, forward over all T steps and the hand-written BPTT backward, with v128 f32x4 SIMD.
// This file is the module's entry: the exports, the workspace sizes, and the time loops that dispatch
// on the cell kind. Each step, forward and backward side by side under its equations: rnn.ts, lstm.ts,
// gru.ts; the GEMM: gemm.ts; vector helpers: simd.ts; kind codes and flags: codes.ts; the copies in and
// out of the time-major layout: layout.ts; the fused training step's optimizer updates: optimizer.ts.
//
// Built by scripts/build/build-wasm.mjs (asc -O3 --enable simd [--enable relaxed-simd]); driven by
// src/fused/index.ts, which owns the memory: every buffer below is a pointer into one linear-memory
// arena that the caller lays out (sizes from the *WorkFloats functions) and reuses across calls.
//
// Layout conventions (all f32, row-major, time-major: row t·b + i is batch row i at step t):
//   X  [T·b, m]       inputs
//   K  [m, G·n]       kernel, gate blocks side by side (LSTM i f o g; GRU r z h; RNN h)
//   U  [n, G·n]       recurrent kernel
//   Bx [G·n]          bias of the input projection;  Bh [G·n] GRU resetAfter's recurrent bias
//   H  [(T+1)·b, n]   H[0] = h0 (written by the caller), H[t] = h_t
//   C  [(T+1)·b, n]   LSTM: C[0] = c0, C[t] = c_t
//   Gs [T·b, G·n]     saved gate activations: LSTM i f o g; GRU r z h̃ (RNN: pre-activations, unused);
//                     with HARD_SIGMOID the σ-gate blocks hold the clip input u = 0.2·a + 0.5 instead,
//                     read through gv() (clip to [0, 1]), so the backward can tell a kink from saturation
//   S  [T·b, n]       LSTM tanh(c_t); GRU reset-before r⊙h_{t-1}; GRU reset-after W_hh h_{t-1} + b_hh (h block)
// Backward:
//   DH [(T+2)·b, n]   DH[t] (t = 1..T) = ∂L/∂h_t from the outputs (in), DH[T+1] = ∂L/∂c_T (LSTM, in),
//                     DH[0] = ∂L/∂h0 (out); DH[1..T] are overwritten with the total gradients.
//   dX [T·b, m], dK [m, G·n], dU [n, G·n], dB [G·n], dBh [G·n], dC0 [b, n] (out)
// Ragged batches (forwardLengths, backwardLengths; per-sequence lengths Ls, rows sorted longest first):
// the same buffers in PyTorch's packed-sequence layout (layout.ts), N = Σ L_i rows in place of T·b, so
// each step, the input projection and the weight-gradient GEMMs touch only real steps.
// Recurrent dropout (Gal & Ghahramani 2016; every entry point's M, MS): M [b, n] is one mask per row,
// reused at every step; the recurrent matmuls read h_{t-1} ⊙ M (written to the scratch MS [b, n]), the
// state update keeps h_{t-1}; the backward multiplies the gradient through those matmuls by M and takes
// dU from h_{t-1} ⊙ M. M = 0: no dropout, the code path without it.

import { GRU, HARD_SIGMOID, LSTM, RESET_AFTER, RNN, Z_TAKES_NEW, gatesOf } from './codes';
import { colSum, gemm, gemmBias, packB, packedFloats, pad16 } from './gemm';
import { gruBackwardStep, gruForwardStepResetAfter, gruForwardStepResetBefore } from './gru';
import { lstmBackwardStep, lstmForwardStep } from './lstm';
import { activeRows, packedRows } from './layout';
import { rnnBackwardStep, rnnForwardStep } from './rnn';
import { B4, maskRows } from './simd';

/** First byte of the arena the caller may use (64-byte aligned, after AssemblyScript's static data). */
export function arenaBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** 1 when this build uses relaxed-SIMD fused multiply-add. */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

export { packB, gemm, gemmBias } from './gemm';
export { swapAxes, packOutput, unpackGrad } from './layout';
export { checkLengths, packInput, unpackInputGrad, packOutputLengths, unpackGradLengths } from './layout';
export { sgdUpdate, momentumUpdate, rmspropUpdate, adamUpdate } from './optimizer';

// ---- workspace sizes (floats)

/** 0 when kind/flags/sizes are supported, else a reason code (1 kind, 2 flags, 3 sizes). */
export function check(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32): i32 {
  if (kind < 0 || kind > 2) return 1;
  if (flags < 0 || flags > 31) return 2;
  if (kind != RNN && (flags & 3) != 0) return 2;
  if (kind == RNN && (flags & HARD_SIGMOID) != 0) return 2;
  if (kind != GRU && (flags & (RESET_AFTER | Z_TAKES_NEW)) != 0) return 2;
  if (T < 1 || b < 1 || m < 1 || n < 1) return 3;
  return 0;
}

export function forwardWorkFloats(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32): i32 {
  const Gn = gatesOf(kind) * n;
  let f = packedFloats(m, Gn);                                         // K packed
  if (kind == GRU && !(flags & RESET_AFTER)) f += packedFloats(n, 2 * n) + packedFloats(n, n);  // U_rz, U_h
  else f += packedFloats(n, Gn);                                       // U packed
  if (kind == GRU && (flags & RESET_AFTER)) f += pad16(b * Gn);        // q [b, 3n]
  return f;
}

export function backwardWorkFloats(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32): i32 {
  const Gn = gatesOf(kind) * n;
  const rows = T * b;
  let f = pad16(rows * Gn);                                  // dA
  f += packedFloats(Gn, m);                                  // Kᵀ packed
  if (kind == GRU && !(flags & RESET_AFTER)) {
    f += packedFloats(2 * n, n) + packedFloats(n, n);        // U_rzᵀ, U_hᵀ
    f += pad16(b * n);                                       // ∂L/∂(r⊙h)
    f += packedFloats(rows, 2 * n) + packedFloats(rows, n);  // dA packed (rz, h)
  } else {
    f += packedFloats(Gn, n);                                // Uᵀ
    f += packedFloats(rows, Gn);                             // dA packed
    if (kind == GRU) f += pad16(rows * Gn) + packedFloats(rows, Gn);  // dHP and packed
  }
  return f;
}

// ---- forward: the input projection of all steps, then the steps t = 1..T

export function forward(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, Bx: usize, Bh: usize, H: usize, C: usize, Gs: usize, S: usize, W: usize, M: usize, MS: usize): void {
  forwardLengths(kind, flags, T, b, m, n, 0, X, K, U, Bx, Bh, H, C, Gs, S, W, M, MS);   // Ls = 0: the full layout
}

/**
 * forward for a ragged batch: Ls [b] i32, the rows' lengths sorted longest first (layout.ts); X, H, C,
 * Gs, S in the packed layout. Step t runs on its a_t active rows only; padded steps are never computed.
 */
export function forwardLengths(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32, Ls: usize,
  X: usize, K: usize, U: usize, Bx: usize, Bh: usize, H: usize, C: usize, Gs: usize, S: usize, W: usize, M: usize, MS: usize): void {
  if (flags & HARD_SIGMOID) forwardWith(kind, flags, T, b, m, n, Ls, X, K, U, Bx, Bh, H, C, Gs, S, W, M, MS, true);
  else forwardWith(kind, flags, T, b, m, n, Ls, X, K, U, Bx, Bh, H, C, Gs, S, W, M, MS, false);
}

// Ls = 0: every row has T steps, and the offsets below reduce to the full layout's (row (t−1)·b + i).
@inline function forwardWith(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32, Ls: usize,
  X: usize, K: usize, U: usize, Bx: usize, Bh: usize, H: usize, C: usize, Gs: usize, S: usize, W: usize, M: usize, MS: usize, hard: bool): void {
  const G = gatesOf(kind);
  const Gn = G * n;
  const rows = packedRows(Ls, b, T);
  const resetAfter = kind == GRU && (flags & RESET_AFTER) != 0;
  // Input projection of all steps: Gs = X·K + Bx.                   // [T·b, G·n]
  const Kp = W;
  let w = W + B4(packedFloats(m, Gn));
  packB(K, Gn, 1, m, Gn, Kp);
  gemmBias(rows, Gn, m, X, m, 1, Kp, Bx, Gs, Gn);
  // The recurrent kernel, packed once for all steps.
  let Up: usize = w, Urz: usize = 0, Uh: usize = 0, HP: usize = 0;
  if (kind == GRU && !resetAfter) {
    Urz = w;                                                          // U_rz [n, 2n]
    w += B4(packedFloats(n, 2 * n));
    Uh = w;                                                           // U_h [n, n]
    w += B4(packedFloats(n, n));
    packB(U, Gn, 1, n, 2 * n, Urz);
    packB(U + B4(2 * n), Gn, 1, n, n, Uh);
  } else {
    w += B4(packedFloats(n, Gn));                                     // U [n, G·n]
    packB(U, Gn, 1, n, Gn, Up);
    if (resetAfter) HP = w;                                           // q [b, 3n]
  }
  const act = flags & 3;
  const takesNew = (flags & Z_TAKES_NEW) != 0;
  let xr = 0;                  // first row of step t in X, Gs, S
  let hr = 0;                  // first row of h_{t-1} in H, C
  let hb = b;                  // rows of h_{t-1}'s block
  for (let t = 1; t <= T; t++) {
    const a = activeRows(Ls, b, t);                                   // the first a rows have step t
    if (a == 0) break;
    const Hp = H + B4(hr * n);                                        // [a, n]  h_{t-1}
    const Hc = H + B4((hr + hb) * n);                                 // [a, n]  h_t
    const A = Gs + B4(xr * Gn);                                       // [a, G·n]
    const St = S + B4(xr * n);                                        // [a, n]
    let Hm = Hp;                                                      // [a, n]  what the recurrent matmuls read
    if (M != 0) {
      maskRows(MS, Hp, M, a, n);                                      // h_{t-1} ⊙ M
      Hm = MS;
    }
    if (kind == RNN) {
      rnnForwardStep(A, Hm, Hc, Up, a, n, act);
    } else if (kind == LSTM) {
      const Cp = C + B4(hr * n), Cc = C + B4((hr + hb) * n);          // [a, n]  c_{t-1}, c_t
      lstmForwardStep(A, Hm, Hc, Cp, Cc, St, Up, a, n, hard);
    } else if (!resetAfter) {
      gruForwardStepResetBefore(A, Hp, Hm, Hc, St, Urz, Uh, a, n, takesNew, hard);
    } else {
      gruForwardStepResetAfter(A, Hp, Hm, Hc, St, HP, Up, Bh, a, n, takesNew, hard);
    }
    hr += hb;
    hb = a;
    xr += a;
  }
}

// ---- backward (BPTT): the steps t = T..1, then the weight gradients as single GEMMs over all T·b (or N) rows

export function backward(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, H: usize, C: usize, Gs: usize, S: usize,
  DH: usize, dX: usize, dK: usize, dU: usize, dB: usize, dBh: usize, dC0: usize, W: usize, M: usize, MS: usize): void {
  backwardLengths(kind, flags, T, b, m, n, 0, X, K, U, H, C, Gs, S, DH, dX, dK, dU, dB, dBh, dC0, W, M, MS);   // Ls = 0: the full layout
}

/**
 * backward for a ragged batch (Ls and the packed layout as forwardLengths; DH packed like H, filled by
 * unpackGradLengths, with ∂L/∂c_{L_i} at (T+1)·b·n). Step t runs on its a_t active rows: a row's
 * gradient enters at its own last step, and its dx at padded steps is 0 (unpackInputGrad).
 */
export function backwardLengths(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32, Ls: usize,
  X: usize, K: usize, U: usize, H: usize, C: usize, Gs: usize, S: usize,
  DH: usize, dX: usize, dK: usize, dU: usize, dB: usize, dBh: usize, dC0: usize, W: usize, M: usize, MS: usize): void {
  if (flags & HARD_SIGMOID) backwardWith(kind, flags, T, b, m, n, Ls, X, K, U, H, C, Gs, S, DH, dX, dK, dU, dB, dBh, dC0, W, M, MS, true);
  else backwardWith(kind, flags, T, b, m, n, Ls, X, K, U, H, C, Gs, S, DH, dX, dK, dU, dB, dBh, dC0, W, M, MS, false);
}

@inline function backwardWith(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32, Ls: usize,
  X: usize, K: usize, U: usize, H: usize, C: usize, Gs: usize, S: usize,
  DH: usize, dX: usize, dK: usize, dU: usize, dB: usize, dBh: usize, dC0: usize, W: usize, M: usize, MS: usize, hard: bool): void {
  const G = gatesOf(kind);
  const Gn = G * n;
  const rows = packedRows(Ls, b, T);
  const bn = b * n;
  const resetAfter = kind == GRU && (flags & RESET_AFTER) != 0;
  const resetBefore = kind == GRU && !resetAfter;
  const act = flags & 3;
  const takesNew = (flags & Z_TAKES_NEW) != 0;

  let w = W;
  const dA = w;                                                       // [T·b, G·n]  da_t of every step
  w += B4(pad16(rows * Gn));
  const Ktp = w;                                                      // Kᵀ [G·n, m] packed
  w += B4(packedFloats(Gn, m));
  packB(K, 1, Gn, Gn, m, Ktp);
  let Utp: usize = 0, Utrz: usize = 0, Uth: usize = 0, DRH: usize = 0, dHP: usize = 0;
  if (resetBefore) {
    Utrz = w;                                                         // U_rzᵀ [2n, n] packed
    w += B4(packedFloats(2 * n, n));
    Uth = w;                                                          // U_hᵀ [n, n] packed
    w += B4(packedFloats(n, n));
    DRH = w;                                                          // [b, n]  ∂L/∂(r⊙h_{t-1})
    w += B4(pad16(bn));
    packB(U, 1, Gn, 2 * n, n, Utrz);
    packB(U + B4(2 * n), 1, Gn, n, n, Uth);
  } else {
    Utp = w;                                                          // Uᵀ [G·n, n] packed
    w += B4(packedFloats(Gn, n));
    packB(U, 1, Gn, Gn, n, Utp);
  }
  const dAp = w;     // packed dA (after the loop)
  if (resetBefore) w += B4(packedFloats(rows, 2 * n) + packedFloats(rows, n));
  else w += B4(packedFloats(rows, Gn));
  if (resetAfter) {
    dHP = w;                                                          // [T·b, 3n]  dq of every step
    w += B4(pad16(rows * Gn));
  }
  const dHPp = w;

  // DH[0] accumulates ∂L/∂h0; dC0 carries ∂L/∂c_t backwards, starting from ∂L/∂c_T.
  memory.fill(DH, 0, B4(bn));
  if (kind == LSTM) memory.copy(dC0, DH + B4((T + 1) * bn), B4(bn));

  // Rows of the packed layout (forwardWith), walked backwards: step t at xr, h_t at b + xr, h_{t-1} at hp.
  let xr = rows;
  for (let t = T; t >= 1; t--) {
    const a = activeRows(Ls, b, t);                                   // the first a rows have step t
    if (a == 0) continue;
    xr -= a;
    const hc = b + xr;
    const hp = t == 1 ? 0 : hc - activeRows(Ls, b, t - 1);
    const dh = DH + B4(hc * n);       // [a, n]  total ∂L/∂h_t (step t+1 has added its part)
    const dhp = DH + B4(hp * n);                                      // [a, n]  ∂L/∂h_{t-1}
    const Hp = H + B4(hp * n);                                        // [a, n]  h_{t-1}
    const Hc = H + B4(hc * n);                                        // [a, n]  h_t
    const g = Gs + B4(xr * Gn);                                       // [a, G·n]
    const d = dA + B4(xr * Gn);                                       // [a, G·n]
    const St = S + B4(xr * n);                                        // [a, n]
    if (kind == RNN) {
      rnnBackwardStep(dh, dhp, Hc, d, Utp, a, n, act, M, MS);
    } else if (kind == LSTM) {
      const Cp = C + B4(hp * n);                                      // [a, n]  c_{t-1}
      lstmBackwardStep(dh, dhp, g, d, Cp, St, dC0, Utp, a, n, hard, M, MS);
    } else {
      const e = resetAfter ? dHP + B4(xr * Gn) : 0;                   // [a, 3n]
      gruBackwardStep(dh, dhp, Hp, g, d, St, e, DRH, Utp, Uth, Utrz, a, n, resetAfter, takesNew, hard, M, MS);
    }
  }

  // h_{t-1} row by row beside da_t, for dU = Σ_t h_{t-1}ᵀ·da_t as one GEMM: the full layout's H[0..T−1]
  // is that already; a ragged one is gathered (step t: the first a_t rows of h_{t-1}'s block) into DH
  // past ∂L/∂h0, which the loop above has finished with.
  // With recurrent dropout the rows are h_{t-1} ⊙ M, what the matmuls read, gathered the same way.
  let Hg = H;
  if (Ls != 0 || M != 0) {
    Hg = DH + B4(bn);
    let r = 0, hr = 0, hb = b;
    for (let t = 1; t <= T; t++) {
      const a = activeRows(Ls, b, t);
      if (a == 0) break;
      if (M != 0) maskRows(Hg + B4(r * n), H + B4(hr * n), M, a, n);
      else memory.copy(Hg + B4(r * n), H + B4(hr * n), B4(a * n));
      r += a;
      hr += hb;
      hb = a;
    }
  }

  // Weight gradients and dX: single GEMMs over all T·b (ragged: N) rows.
  colSum(dA, rows, Gn, Gn, dB);                                   // dB = Σ_t da_t
  gemm(rows, m, Gn, dA, Gn, 1, Ktp, dX, m, 0);                    // dX = dA·Kᵀ
  if (resetBefore) {
    const pRZ = dAp, pH = dAp + B4(packedFloats(rows, 2 * n));
    packB(dA, Gn, 1, rows, 2 * n, pRZ);
    packB(dA + B4(2 * n), Gn, 1, rows, n, pH);
    gemm(m, 2 * n, rows, X, 1, m, pRZ, dK, Gn, 0);                 // dK = Xᵀ·dA
    gemm(m, n, rows, X, 1, m, pH, dK + B4(2 * n), Gn, 0);
    gemm(n, 2 * n, rows, Hg, 1, n, pRZ, dU, Gn, 0);                // dU_rz = H_{t-1}ᵀ·dA_rz
    gemm(n, n, rows, S, 1, n, pH, dU + B4(2 * n), Gn, 0);          // dU_h = (r⊙h_{t-1})ᵀ·dA_h
  } else {
    packB(dA, Gn, 1, rows, Gn, dAp);
    gemm(m, Gn, rows, X, 1, m, dAp, dK, Gn, 0);                    // dK = Xᵀ·dA
    if (resetAfter) {
      packB(dHP, Gn, 1, rows, Gn, dHPp);
      gemm(n, Gn, rows, Hg, 1, n, dHPp, dU, Gn, 0);                // dU = H_{t-1}ᵀ·dq
      colSum(dHP, rows, Gn, Gn, dBh);                              // dBh = Σ_t dq
    } else {
      gemm(n, Gn, rows, Hg, 1, n, dAp, dU, Gn, 0);                 // dU = H_{t-1}ᵀ·dA
    }
  }
}
