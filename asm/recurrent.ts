// Fused recurrent layers in WebAssembly (AssemblyScript): a whole sequence of an Elman RNN, LSTM or
// GRU layer, forward over all T steps and the hand-written BPTT backward, with v128 f32x4 SIMD.
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
//
// The GEMMs: C (+)= A·B with B packed once into 8-column panels (the recurrent kernel is packed once
// per sequence and reused by all T steps) and A read through two strides, so transposed operands
// (Hᵀ, Xᵀ) need no copy. Micro-kernel: 4 rows × 8 columns, 8 v128 accumulators.

// ---- cell kinds and option flags (mirrored in src/fused/index.ts)
const RNN: i32 = 0;
const LSTM: i32 = 1;
const GRU: i32 = 2;
// flags: bits 0-1 activation (0 tanh, 1 relu, 2 sigmoid, 3 linear); bit 2 resetAfter; bit 3 'z-takes-new';
// bit 4 LSTM/GRU gates use tf.js's hard sigmoid clip(0.2·a + 0.5, 0, 1) instead of σ
const ACT_TANH: i32 = 0;
const ACT_RELU: i32 = 1;
const ACT_SIGMOID: i32 = 2;
const RESET_AFTER: i32 = 4;
const Z_TAKES_NEW: i32 = 8;
const HARD_SIGMOID: i32 = 16;

/** First byte of the arena the caller may use (64-byte aligned, after AssemblyScript's static data). */
export function arenaBase(): usize {
  return (__heap_base + 63) & ~(<usize>63);
}

/** 1 when this build uses relaxed-SIMD fused multiply-add. */
export function relaxedSimd(): i32 {
  return ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
}

// ---- helpers

@inline function B4(i: i32): usize {          // float count → bytes
  return (<usize>i) << 2;
}

@inline function gatesOf(kind: i32): i32 {
  return kind == LSTM ? 4 : kind == GRU ? 3 : 1;
}

/** Floats rounded up to whole 64-byte lines, so every region starts aligned. */
@inline function pad16(f: i32): i32 {
  return (f + 15) & ~15;
}

@inline function packedFloats(K: i32, N: i32): i32 {
  return pad16(((N + 7) >> 3) * 8 * K);
}

@inline function vfma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Load cnt (1..4, more counts as 4) floats; missing lanes are 0. */
@inline function ldn(p: usize, cnt: i32): v128 {
  if (cnt >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = v128.load32_lane(p, v, 0);
  if (cnt > 1) v = v128.load32_lane(p + 4, v, 1);
  if (cnt > 2) v = v128.load32_lane(p + 8, v, 2);
  return v;
}

/** Store the first cnt (1..4) lanes. */
@inline function stn(p: usize, v: v128, cnt: i32): void {
  if (cnt >= 4) {
    v128.store(p, v);
    return;
  }
  v128.store32_lane(p, v, 0);
  if (cnt > 1) v128.store32_lane(p + 4, v, 1);
  if (cnt > 2) v128.store32_lane(p + 8, v, 2);
}

// ---- vector tanh and sigmoid
// tanh: the odd rational minimax approximation p(x)/q(x) on [-7.905, 7.905] that Eigen uses (|error| ≤ 3.4e-7,
// exact 0 at 0, ±1 − 3e-7 past the clamp); σ(x) = ½ + ½·tanh(x/2). One division each and no exp: about
// twice as fast as exp-based forms. The constants are read from static memory (a broadcast load is one
// instruction; V8 materialises each non-trivial v128 constant with several).

const KT = memory.data<f32>([
  -7.90531110763549805, 7.90531110763549805,                                              // 0-1 clamp
  -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,  // 2-5 p
  1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03,                       // 6-8 p
  1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03, // 9-12 q
  0.5, 1.0, 0.0,                                                                           // 13-15
  0.2,                                                                                     // 16 hard σ slope
]);

@inline function kt(i: i32): v128 {
  return v128.load32_splat(KT + ((<usize>i) << 2));
}

@inline function vtanh(x0: v128): v128 {
  const x = f32x4.min(f32x4.max(x0, kt(0)), kt(1));
  const x2 = f32x4.mul(x, x);
  let p = f32x4.add(f32x4.mul(x2, kt(2)), kt(3));
  p = f32x4.add(f32x4.mul(x2, p), kt(4));
  p = f32x4.add(f32x4.mul(x2, p), kt(5));
  p = f32x4.add(f32x4.mul(x2, p), kt(6));
  p = f32x4.add(f32x4.mul(x2, p), kt(7));
  p = f32x4.add(f32x4.mul(x2, p), kt(8));
  p = f32x4.mul(x, p);
  let q = f32x4.add(f32x4.mul(x2, kt(9)), kt(10));
  q = f32x4.add(f32x4.mul(x2, q), kt(11));
  q = f32x4.add(f32x4.mul(x2, q), kt(12));
  return f32x4.div(p, q);
}

@inline function vsigmoid(x: v128): v128 {
  const h = kt(13);
  return f32x4.add(h, f32x4.mul(h, vtanh(f32x4.mul(h, x))));
}

function sigmoidRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, vsigmoid(ldn(p + o, len - j)), len - j);
  }
}

function tanhRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, vtanh(ldn(p + o, len - j)), len - j);
  }
}

// ---- gate activations. `hard` is a literal at every call (forward/backward are instantiated once per
// value), so the σ path carries no test of it.

/** Hard-σ gates: store the clip input u = 0.2·a + 0.5 (mul then add, as tf.js: no FMA rounding). */
function hardRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, f32x4.add(f32x4.mul(ldn(p + o, len - j), kt(16)), kt(13)), len - j);
  }
}

@inline function gateRow(p: usize, len: i32, hard: bool): void {
  if (hard) hardRow(p, len);
  else sigmoidRow(p, len);
}

/** A gate's value from what Gs holds: σ(a) itself, or clip(u, 0, 1). */
@inline function gv(u: v128, hard: bool): v128 {
  if (hard) return f32x4.min(f32x4.max(u, kt(15)), kt(14));
  return u;
}

/**
 * A gate's derivative from what Gs holds: σ(1 − σ), or 0.2 where 0 ≤ u ≤ 1 (kinks included: tf.js
 * differentiates clipByValue with x ≥ min && x ≤ max) and 0 outside.
 */
@inline function gd(u: v128, hard: bool): v128 {
  if (hard) return v128.and(v128.and(f32x4.ge(u, kt(15)), f32x4.le(u, kt(14))), kt(16));
  return f32x4.mul(u, f32x4.sub(kt(14), u));
}

@inline function vact(a: v128, act: i32): v128 {
  if (act == ACT_TANH) return vtanh(a);
  if (act == ACT_RELU) return f32x4.max(a, kt(15));
  if (act == ACT_SIGMOID) return vsigmoid(a);
  return a;
}

/** The activation's derivative from its output h. */
@inline function vactGrad(h: v128, act: i32): v128 {
  const one = kt(14);
  if (act == ACT_TANH) return f32x4.sub(one, f32x4.mul(h, h));
  if (act == ACT_RELU) return v128.and(f32x4.gt(h, kt(15)), one);
  if (act == ACT_SIGMOID) return f32x4.mul(h, f32x4.sub(one, h));
  return one;
}

// ---- packing and GEMM

/**
 * Pack B (K×N; element (k, j) at src + (k·ks + j·js)·4) into 8-column panels, panel p holding
 * B[k, 8p..8p+8] for k = 0..K-1 contiguously, zero-padded past N.
 */
export function packB(src: usize, ks: i32, js: i32, K: i32, N: i32, dst: usize): void {
  let d = dst;
  for (let j0 = 0; j0 < N; j0 += 8) {
    const w = min(8, N - j0);
    if (w == 8 && js == 1) {
      let s = src + B4(j0);
      const step = B4(ks);
      for (let k = 0; k < K; k++) {
        v128.store(d, v128.load(s));
        v128.store(d, v128.load(s, 16), 16);
        s += step;
        d += 32;
      }
    } else if (ks == 1) {
      // transposed source: column j of B is contiguous
      for (let c = 0; c < 8; c++) {
        let dd = d + B4(c);
        if (c < w) {
          let s = src + B4((j0 + c) * js);
          for (let k = 0; k < K; k++) {
            store<f32>(dd, load<f32>(s));
            s += 4;
            dd += 32;
          }
        } else {
          for (let k = 0; k < K; k++) {
            store<f32>(dd, 0);
            dd += 32;
          }
        }
      }
      d += B4(8 * K);
    } else {
      for (let k = 0; k < K; k++) {
        for (let c = 0; c < 8; c++) {
          store<f32>(d + B4(c), c < w ? load<f32>(src + B4(k * ks + (j0 + c) * js)) : <f32>0);
        }
        d += 32;
      }
    }
  }
}

@inline function storeRow(pc: usize, lo: v128, hi: v128, w: i32, beta: bool): void {
  if (w == 8) {
    if (beta) {
      lo = f32x4.add(lo, v128.load(pc));
      hi = f32x4.add(hi, v128.load(pc, 16));
    }
    v128.store(pc, lo);
    v128.store(pc, hi, 16);
  } else if (w > 4) {
    if (beta) {
      lo = f32x4.add(lo, v128.load(pc));
      hi = f32x4.add(hi, ldn(pc + 16, w - 4));
    }
    v128.store(pc, lo);
    stn(pc + 16, hi, w - 4);
  } else {
    if (beta) lo = f32x4.add(lo, ldn(pc, w));
    stn(pc, lo, w);
  }
}

@inline function kernel4x8(pa: usize, ars: usize, aks: usize, pb: usize, kc: i32, pc: usize, ldc: usize, w: i32, beta: bool): void {
  let c00 = f32x4.splat(0), c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0), c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0), c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0), c31 = f32x4.splat(0);
  let p0 = pa;
  let p1 = pa + ars;
  let p2 = p1 + ars;
  let p3 = p2 + ars;
  for (let k = 0; k < kc; k++) {
    const b0 = v128.load(pb);
    const b1 = v128.load(pb, 16);
    const a0 = v128.load32_splat(p0);
    c00 = vfma(a0, b0, c00);
    c01 = vfma(a0, b1, c01);
    const a1 = v128.load32_splat(p1);
    c10 = vfma(a1, b0, c10);
    c11 = vfma(a1, b1, c11);
    const a2 = v128.load32_splat(p2);
    c20 = vfma(a2, b0, c20);
    c21 = vfma(a2, b1, c21);
    const a3 = v128.load32_splat(p3);
    c30 = vfma(a3, b0, c30);
    c31 = vfma(a3, b1, c31);
    p0 += aks;
    p1 += aks;
    p2 += aks;
    p3 += aks;
    pb += 32;
  }
  storeRow(pc, c00, c01, w, beta);
  storeRow(pc + ldc, c10, c11, w, beta);
  storeRow(pc + 2 * ldc, c20, c21, w, beta);
  storeRow(pc + 3 * ldc, c30, c31, w, beta);
}

@inline function kernel1x8(pa: usize, aks: usize, pb: usize, kc: i32, pc: usize, w: i32, beta: bool): void {
  let c0 = f32x4.splat(0), c1 = f32x4.splat(0);
  let d0 = f32x4.splat(0), d1 = f32x4.splat(0);
  let k = 0;
  for (; k + 2 <= kc; k += 2) {
    const a0 = v128.load32_splat(pa);
    const a1 = v128.load32_splat(pa + aks);
    c0 = vfma(a0, v128.load(pb), c0);
    c1 = vfma(a0, v128.load(pb, 16), c1);
    d0 = vfma(a1, v128.load(pb, 32), d0);
    d1 = vfma(a1, v128.load(pb, 48), d1);
    pa += 2 * aks;
    pb += 64;
  }
  if (k < kc) {
    const a0 = v128.load32_splat(pa);
    c0 = vfma(a0, v128.load(pb), c0);
    c1 = vfma(a0, v128.load(pb, 16), c1);
  }
  storeRow(pc, f32x4.add(c0, d0), f32x4.add(c1, d1), w, beta);
}

/**
 * C[M×N] (+)= A·B. A(i, k) at A + (i·ars + k·aks)·4 (so Aᵀ is ars=1, aks=ld); B packed by packB;
 * C row-major with leading dimension ldc; beta ≠ 0 accumulates into C.
 */
export function gemm(M: i32, N: i32, K: i32, A: usize, ars: i32, aks: i32, Bp: usize, C: usize, ldc: i32, beta: i32): void {
  if (K == 0) {
    if (!beta) for (let i = 0; i < M; i++) memory.fill(C + B4(i * ldc), 0, B4(N));
    return;
  }
  const KC = 256;
  const arsB = B4(ars), aksB = B4(aks), ldcB = B4(ldc);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const bt = beta != 0 || k0 > 0;
    const aK = A + B4(k0 * aks);
    for (let j0 = 0; j0 < N; j0 += 8) {
      const w = min(8, N - j0);
      const pb = Bp + B4(j0 * K + k0 * 8);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        kernel4x8(aK + <usize>i * arsB, arsB, aksB, pb, kc, C + <usize>i * ldcB + B4(j0), ldcB, w, bt);
      }
      for (; i < M; i++) {
        kernel1x8(aK + <usize>i * arsB, aksB, pb, kc, C + <usize>i * ldcB + B4(j0), w, bt);
      }
    }
  }
}

/** Column sums of a [rows, N] matrix with leading dimension ld into out[N] (overwritten). */
function colSum(src: usize, rows: i32, N: i32, ld: i32, out: usize): void {
  memory.fill(out, 0, B4(N));
  for (let r = 0; r < rows; r++) {
    const row = src + B4(r * ld);
    for (let j = 0; j < N; j += 4) {
      const cnt = N - j;
      const o = B4(j);
      stn(out + o, f32x4.add(ldn(out + o, cnt), ldn(row + o, cnt)), cnt);
    }
  }
}

/** Copy rows: src [A, B, w] → dst [B, A, w] (swap the two leading axes). */
export function swapAxes(src: usize, dst: usize, A: i32, Bn: i32, w: i32): void {
  const bytes = B4(w);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < Bn; b++) {
      memory.copy(dst + B4((b * A + a) * w), src + B4((a * Bn + b) * w), bytes);
    }
  }
}

/** The output [b, T(+1), n]: h_1..h_T per batch row, then c_T for the LSTM (C ≠ 0). */
export function packOutput(H: usize, C: usize, T: i32, b: i32, n: i32, dst: usize): void {
  const bytes = B4(n);
  const rowsOut = T + (C != 0 ? 1 : 0);
  for (let i = 0; i < b; i++) {
    for (let t = 1; t <= T; t++) {
      memory.copy(dst + B4((i * rowsOut + t - 1) * n), H + B4((t * b + i) * n), bytes);
    }
    if (C != 0) memory.copy(dst + B4((i * rowsOut + T) * n), C + B4((T * b + i) * n), bytes);
  }
}

/** The output gradient [b, T(+1), n] into DH[1..T] (and DH[T+1] = ∂L/∂c_T); DH[0] is zeroed. */
export function unpackGrad(src: usize, hasC: i32, T: i32, b: i32, n: i32, DH: usize): void {
  const bytes = B4(n);
  const rowsIn = T + (hasC ? 1 : 0);
  memory.fill(DH, 0, B4(b * n));
  if (!hasC) memory.fill(DH + B4((T + 1) * b * n), 0, B4(b * n));
  for (let i = 0; i < b; i++) {
    for (let t = 0; t < rowsIn; t++) {
      memory.copy(DH + B4(((t + 1) * b + i) * n), src + B4((i * rowsIn + t) * n), bytes);
    }
  }
}

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
  let f = packedFloats(m, Gn);
  if (kind == GRU && !(flags & RESET_AFTER)) f += packedFloats(n, 2 * n) + packedFloats(n, n);
  else f += packedFloats(n, Gn);
  if (kind == GRU && (flags & RESET_AFTER)) f += pad16(b * Gn);
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

// ---- forward

export function forward(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, Bx: usize, Bh: usize, H: usize, C: usize, Gs: usize, S: usize, W: usize): void {
  if (flags & HARD_SIGMOID) forwardWith(kind, flags, T, b, m, n, X, K, U, Bx, Bh, H, C, Gs, S, W, true);
  else forwardWith(kind, flags, T, b, m, n, X, K, U, Bx, Bh, H, C, Gs, S, W, false);
}

@inline function forwardWith(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, Bx: usize, Bh: usize, H: usize, C: usize, Gs: usize, S: usize, W: usize, hard: bool): void {
  const G = gatesOf(kind);
  const Gn = G * n;
  const rows = T * b;
  const resetAfter = kind == GRU && (flags & RESET_AFTER) != 0;
  // Input projection of all steps: Gs = X·K + Bx.
  const Kp = W;
  let w = W + B4(packedFloats(m, Gn));
  packB(K, Gn, 1, m, Gn, Kp);
  for (let r = 0; r < rows; r++) memory.copy(Gs + B4(r * Gn), Bx, B4(Gn));
  gemm(rows, Gn, m, X, m, 1, Kp, Gs, Gn, 1);
  // The recurrent kernel, packed once for all steps.
  let Up: usize = w, Urz: usize = 0, Uh: usize = 0, HP: usize = 0;
  if (kind == GRU && !resetAfter) {
    Urz = w;
    w += B4(packedFloats(n, 2 * n));
    Uh = w;
    w += B4(packedFloats(n, n));
    packB(U, Gn, 1, n, 2 * n, Urz);
    packB(U + B4(2 * n), Gn, 1, n, n, Uh);
  } else {
    w += B4(packedFloats(n, Gn));
    packB(U, Gn, 1, n, Gn, Up);
    if (resetAfter) HP = w;
  }
  const act = flags & 3;
  const takesNew = (flags & Z_TAKES_NEW) != 0;
  const nB = B4(n);
  for (let t = 1; t <= T; t++) {
    const Hp = H + B4((t - 1) * b * n);
    const Hc = H + B4(t * b * n);
    const A = Gs + B4((t - 1) * b * Gn);
    const St = S + B4((t - 1) * b * n);
    if (kind == RNN) {
      gemm(b, n, n, Hp, n, 1, Up, A, Gn, 1);
      for (let i = 0; i < b; i++) {
        const a = A + B4(i * Gn), h = Hc + B4(i * n);
        for (let j = 0; j < n; j += 4) {
          const o = B4(j);
          stn(h + o, vact(ldn(a + o, n - j), act), n - j);
        }
      }
    } else if (kind == LSTM) {
      gemm(b, Gn, n, Hp, n, 1, Up, A, Gn, 1);
      const Cp = C + B4((t - 1) * b * n), Cc = C + B4(t * b * n);
      for (let i = 0; i < b; i++) {
        const a = A + B4(i * Gn), cp = Cp + B4(i * n), cc = Cc + B4(i * n), h = Hc + B4(i * n), s = St + B4(i * n);
        // Two tight passes (one transcendental per vector each) pipeline better than one fused pass.
        gateRow(a, 3 * n, hard);                                // i, f, o
        tanhRow(a + 3 * nB, n);
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          const c = vfma(gv(ldn(a + nB + o, cnt), hard), ldn(cp + o, cnt), f32x4.mul(gv(ldn(a + o, cnt), hard), ldn(a + 3 * nB + o, cnt)));
          stn(cc + o, c, cnt);
        }
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          const tc = vtanh(ldn(cc + o, cnt));
          stn(s + o, tc, cnt);
          stn(h + o, f32x4.mul(gv(ldn(a + 2 * nB + o, cnt), hard), tc), cnt);
        }
      }
    } else if (!resetAfter) {
      // GRU, reset before: r, z from h_{t-1}; then h̃ from r⊙h_{t-1}
      gemm(b, 2 * n, n, Hp, n, 1, Urz, A, Gn, 1);
      for (let i = 0; i < b; i++) {
        const a = A + B4(i * Gn), hp = Hp + B4(i * n), s = St + B4(i * n);
        gateRow(a, 2 * n, hard);                                // r, z
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          stn(s + o, f32x4.mul(gv(ldn(a + o, cnt), hard), ldn(hp + o, cnt)), cnt);
        }
      }
      gemm(b, n, n, St, n, 1, Uh, A + 2 * nB, Gn, 1);
      gruUpdate(A, Hp, Hc, b, n, takesNew, hard);
    } else {
      // GRU, reset after: hp = h_{t-1}·U + b_hh; h̃ = tanh(xh + r⊙hp_h)
      for (let i = 0; i < b; i++) memory.copy(HP + B4(i * Gn), Bh, B4(Gn));
      gemm(b, Gn, n, Hp, n, 1, Up, HP, Gn, 1);
      for (let i = 0; i < b; i++) {
        const a = A + B4(i * Gn), q = HP + B4(i * Gn), s = St + B4(i * n);
        for (let j = 0; j < 2 * n; j += 4) {
          const cnt = 2 * n - j;
          const o = B4(j);
          stn(a + o, f32x4.add(ldn(a + o, cnt), ldn(q + o, cnt)), cnt);
        }
        gateRow(a, 2 * n, hard);                                // r, z
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          const hh = ldn(q + 2 * nB + o, cnt);
          stn(a + 2 * nB + o, vfma(gv(ldn(a + o, cnt), hard), hh, ldn(a + 2 * nB + o, cnt)), cnt);
          stn(s + o, hh, cnt);
        }
      }
      gruUpdate(A, Hp, Hc, b, n, takesNew, hard);
    }
  }
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

// ---- backward (BPTT)

export function backward(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, H: usize, C: usize, Gs: usize, S: usize,
  DH: usize, dX: usize, dK: usize, dU: usize, dB: usize, dBh: usize, dC0: usize, W: usize): void {
  if (flags & HARD_SIGMOID) backwardWith(kind, flags, T, b, m, n, X, K, U, H, C, Gs, S, DH, dX, dK, dU, dB, dBh, dC0, W, true);
  else backwardWith(kind, flags, T, b, m, n, X, K, U, H, C, Gs, S, DH, dX, dK, dU, dB, dBh, dC0, W, false);
}

@inline function backwardWith(kind: i32, flags: i32, T: i32, b: i32, m: i32, n: i32,
  X: usize, K: usize, U: usize, H: usize, C: usize, Gs: usize, S: usize,
  DH: usize, dX: usize, dK: usize, dU: usize, dB: usize, dBh: usize, dC0: usize, W: usize, hard: bool): void {
  const G = gatesOf(kind);
  const Gn = G * n;
  const rows = T * b;
  const bn = b * n;
  const nB = B4(n);
  const resetAfter = kind == GRU && (flags & RESET_AFTER) != 0;
  const resetBefore = kind == GRU && !resetAfter;
  const act = flags & 3;
  const takesNew = (flags & Z_TAKES_NEW) != 0;
  const one = kt(14);

  let w = W;
  const dA = w;
  w += B4(pad16(rows * Gn));
  const Ktp = w;
  w += B4(packedFloats(Gn, m));
  packB(K, 1, Gn, Gn, m, Ktp);
  let Utp: usize = 0, Utrz: usize = 0, Uth: usize = 0, DRH: usize = 0, dHP: usize = 0;
  if (resetBefore) {
    Utrz = w;
    w += B4(packedFloats(2 * n, n));
    Uth = w;
    w += B4(packedFloats(n, n));
    DRH = w;
    w += B4(pad16(bn));
    packB(U, 1, Gn, 2 * n, n, Utrz);
    packB(U + B4(2 * n), 1, Gn, n, n, Uth);
  } else {
    Utp = w;
    w += B4(packedFloats(Gn, n));
    packB(U, 1, Gn, Gn, n, Utp);
  }
  const dAp = w;     // packed dA (after the loop)
  if (resetBefore) w += B4(packedFloats(rows, 2 * n) + packedFloats(rows, n));
  else w += B4(packedFloats(rows, Gn));
  if (resetAfter) {
    dHP = w;
    w += B4(pad16(rows * Gn));
  }
  const dHPp = w;

  // DH[0] accumulates ∂L/∂h0; dC0 carries ∂L/∂c_t backwards, starting from ∂L/∂c_T.
  memory.fill(DH, 0, B4(bn));
  if (kind == LSTM) memory.copy(dC0, DH + B4((T + 1) * bn), B4(bn));

  for (let t = T; t >= 1; t--) {
    const dh = DH + B4(t * bn);       // total ∂L/∂h_t (step t+1 has added its part)
    const dhp = DH + B4((t - 1) * bn);
    const Hp = H + B4((t - 1) * bn);
    const Hc = H + B4(t * bn);
    const g = Gs + B4((t - 1) * b * Gn);
    const d = dA + B4((t - 1) * b * Gn);
    const St = S + B4((t - 1) * bn);
    if (kind == RNN) {
      for (let i = 0; i < b; i++) {
        const dh_i = dh + B4(i * n), h = Hc + B4(i * n), da = d + B4(i * Gn);
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          stn(da + o, f32x4.mul(ldn(dh_i + o, cnt), vactGrad(ldn(h + o, cnt), act)), cnt);
        }
      }
      gemm(b, n, Gn, d, Gn, 1, Utp, dhp, n, 1);
    } else if (kind == LSTM) {
      const Cp = C + B4((t - 1) * bn);
      for (let i = 0; i < b; i++) {
        const dh_i = dh + B4(i * n), gi = g + B4(i * Gn), da = d + B4(i * Gn);
        const cp = Cp + B4(i * n), s = St + B4(i * n), dc = dC0 + B4(i * n);
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          const ui = ldn(gi + o, cnt), uf = ldn(gi + nB + o, cnt), uo = ldn(gi + 2 * nB + o, cnt);  // Gs's gate blocks
          const ig = gv(ui, hard), fg = gv(uf, hard), og = gv(uo, hard), gg = ldn(gi + 3 * nB + o, cnt);
          const tc = ldn(s + o, cnt);
          const dhv = ldn(dh_i + o, cnt);
          const dc_t = vfma(f32x4.mul(dhv, og), f32x4.sub(one, f32x4.mul(tc, tc)), ldn(dc + o, cnt));
          stn(dc + o, f32x4.mul(dc_t, fg), cnt);                                          // ∂L/∂c_{t-1} (direct path)
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
      gemm(b, n, Gn, d, Gn, 1, Utp, dhp, n, 1);
    } else {
      // GRU: the update h_t = keep⊙h_{t-1} + (1−keep)⊙h̃ and the candidate's pre-activation
      const ePtr = resetAfter ? dHP + B4((t - 1) * b * Gn) : 0;
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
            const e = ePtr + B4(i * Gn);
            const daR = f32x4.mul(f32x4.mul(daH, ldn(s + o, cnt)), gd(ur, hard));
            stn(da + o, daR, cnt);
            stn(e + o, daR, cnt);
            stn(e + nB + o, daZ, cnt);
            stn(e + 2 * nB + o, f32x4.mul(daH, r), cnt);
          }
        }
      }
      if (resetAfter) {
        gemm(b, n, Gn, ePtr, Gn, 1, Utp, dhp, n, 1);
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
        gemm(b, n, 2 * n, d, Gn, 1, Utrz, dhp, n, 1);
      }
    }
  }

  // Weight gradients and dX: single GEMMs over all T·b rows.
  colSum(dA, rows, Gn, Gn, dB);
  gemm(rows, m, Gn, dA, Gn, 1, Ktp, dX, m, 0);                    // dX = dA·Kᵀ
  if (resetBefore) {
    const pRZ = dAp, pH = dAp + B4(packedFloats(rows, 2 * n));
    packB(dA, Gn, 1, rows, 2 * n, pRZ);
    packB(dA + B4(2 * n), Gn, 1, rows, n, pH);
    gemm(m, 2 * n, rows, X, 1, m, pRZ, dK, Gn, 0);                 // dK = Xᵀ·dA
    gemm(m, n, rows, X, 1, m, pH, dK + B4(2 * n), Gn, 0);
    gemm(n, 2 * n, rows, H, 1, n, pRZ, dU, Gn, 0);                 // dU_rz = H_{t-1}ᵀ·dA_rz
    gemm(n, n, rows, S, 1, n, pH, dU + B4(2 * n), Gn, 0);          // dU_h = (r⊙h_{t-1})ᵀ·dA_h
  } else {
    packB(dA, Gn, 1, rows, Gn, dAp);
    gemm(m, Gn, rows, X, 1, m, dAp, dK, Gn, 0);
    if (resetAfter) {
      packB(dHP, Gn, 1, rows, Gn, dHPp);
      gemm(n, Gn, rows, H, 1, n, dHPp, dU, Gn, 0);
      colSum(dHP, rows, Gn, Gn, dBh);
    } else {
      gemm(n, Gn, rows, H, 1, n, dAp, dU, Gn, 0);
    }
  }
}
