// GEMM: C (+)= A·B with B packed once into 8-column panels (the recurrent kernel is packed once per
// sequence and reused by all T steps) and A read through two strides, so transposed operands (Hᵀ, Xᵀ)
// need no copy. Micro-kernel: 4 rows × 8 columns, 8 v128 accumulators; K is cut into blocks of 256
// so a panel block stays in L1.
//
// Shapes: A [M, K] (element (i, k) at A + (i·ars + k·aks)·4), B [K, N] packed to [⌈N/8⌉, K, 8],
// C [M, N] row-major with leading dimension ldc.

import { B4, ldn, stn, vfma } from './simd';

/** Floats rounded up to whole 64-byte lines, so every region starts aligned. */
@inline export function pad16(f: i32): i32 {
  return (f + 15) & ~15;
}

/** Floats of B [K, N] packed by packB: ⌈N/8⌉ panels of [K, 8]. */
@inline export function packedFloats(K: i32, N: i32): i32 {
  return pad16(((N + 7) >> 3) * 8 * K);
}

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

/** One row of the micro-tile (w ≤ 8 valid columns) into C, added to the row at ps (C's old values, or the bias) when beta. */
@inline function storeRow(pc: usize, ps: usize, lo: v128, hi: v128, w: i32, beta: bool): void {
  if (w == 8) {
    if (beta) {
      lo = f32x4.add(lo, v128.load(ps));
      hi = f32x4.add(hi, v128.load(ps, 16));
    }
    v128.store(pc, lo);
    v128.store(pc, hi, 16);
  } else if (w > 4) {
    if (beta) {
      lo = f32x4.add(lo, v128.load(ps));
      hi = f32x4.add(hi, ldn(ps + 16, w - 4));
    }
    v128.store(pc, lo);
    stn(pc + 16, hi, w - 4);
  } else {
    if (beta) lo = f32x4.add(lo, ldn(ps, w));
    stn(pc, lo, w);
  }
}

/**
 * C[rows, 8] (+)= A[rows, kc]·Bpanel[kc, 8], rows = 4, or 2–3 for a tail, the panel read once for all of
 * them. `rows` is a constant at every call site, so each inlined copy issues only its own rows' FMAs: a
 * tail costs about rows/4 of a whole block. (A ragged batch has a tail at most steps, since its active
 * rows shrink one by one; a row at a time would read the panel 2–3 times.)
 */
@inline function kernel4x8(pa: usize, ars: usize, aks: usize, pb: usize, kc: i32, pc: usize, ldc: usize, ps: usize, lds: usize, w: i32, beta: bool, rows: i32 = 4): void {
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
    if (rows > 2) {
      const a2 = v128.load32_splat(p2);
      c20 = vfma(a2, b0, c20);
      c21 = vfma(a2, b1, c21);
    }
    if (rows > 3) {
      const a3 = v128.load32_splat(p3);
      c30 = vfma(a3, b0, c30);
      c31 = vfma(a3, b1, c31);
    }
    p0 += aks;
    p1 += aks;
    p2 += aks;
    p3 += aks;
    pb += 32;
  }
  storeRow(pc, ps, c00, c01, w, beta);
  storeRow(pc + ldc, ps + lds, c10, c11, w, beta);
  if (rows > 2) storeRow(pc + 2 * ldc, ps + 2 * lds, c20, c21, w, beta);
  if (rows > 3) storeRow(pc + 3 * ldc, ps + 3 * lds, c30, c31, w, beta);
}

/** C[1, 8] (+)= A[1, kc]·Bpanel[kc, 8], two k at a time into two accumulator pairs. */
@inline function kernel1x8(pa: usize, aks: usize, pb: usize, kc: i32, pc: usize, ps: usize, w: i32, beta: bool): void {
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
  storeRow(pc, ps, f32x4.add(c0, d0), f32x4.add(c1, d1), w, beta);
}

/**
 * C[M×N] (+)= A·B. A(i, k) at A + (i·ars + k·aks)·4 (so Aᵀ is ars=1, aks=ld); B packed by packB;
 * C row-major with leading dimension ldc; beta ≠ 0 accumulates into C.
 */
export function gemm(M: i32, N: i32, K: i32, A: usize, ars: i32, aks: i32, Bp: usize, C: usize, ldc: i32, beta: i32): void {
  gemmWith(M, N, K, A, ars, aks, Bp, 0, C, ldc, beta != 0);
}

/**
 * C[M×N] = bias + A·B, bias [N] added to every row (operands as gemm). The sums are gemm's on a C filled
 * with the bias rows (each tile's A·B, then + bias), bit for bit, without that fill and without reading
 * C back: the input projection X·K + b of all T steps (K = m rows, a few FMAs per element of C) is bound
 * by C's memory traffic.
 */
export function gemmBias(M: i32, N: i32, K: i32, A: usize, ars: i32, aks: i32, Bp: usize, bias: usize, C: usize, ldc: i32): void {
  gemmWith(M, N, K, A, ars, aks, Bp, bias, C, ldc, false);
}

@inline function gemmWith(M: i32, N: i32, K: i32, A: usize, ars: i32, aks: i32, Bp: usize, bias: usize, C: usize, ldc: i32, beta: bool): void {
  if (K == 0) {
    if (bias) for (let i = 0; i < M; i++) memory.copy(C + B4(i * ldc), bias, B4(N));
    else if (!beta) for (let i = 0; i < M; i++) memory.fill(C + B4(i * ldc), 0, B4(N));
    return;
  }
  const KC = 256;
  const arsB = B4(ars), aksB = B4(aks), ldcB = B4(ldc);
  for (let k0 = 0; k0 < K; k0 += KC) {
    const kc = min(KC, K - k0);
    const bt = beta || bias != 0 || k0 > 0;
    // the addend of the first K block: the bias row (stride 0), else C itself
    const fromBias = bias != 0 && k0 == 0;
    const ldsB: usize = fromBias ? 0 : ldcB;
    const aK = A + B4(k0 * aks);
    for (let j0 = 0; j0 < N; j0 += 8) {
      const w = min(8, N - j0);
      const pb = Bp + B4(j0 * K + k0 * 8);
      let i = 0;
      for (; i + 4 <= M; i += 4) {
        const pc = C + <usize>i * ldcB + B4(j0);
        kernel4x8(aK + <usize>i * arsB, arsB, aksB, pb, kc, pc, ldcB, fromBias ? bias + B4(j0) : pc, ldsB, w, bt);
      }
      if (M - i == 3) {
        const pc = C + <usize>i * ldcB + B4(j0);
        kernel4x8(aK + <usize>i * arsB, arsB, aksB, pb, kc, pc, ldcB, fromBias ? bias + B4(j0) : pc, ldsB, w, bt, 3);
        i = M;
      } else if (M - i == 2) {
        const pc = C + <usize>i * ldcB + B4(j0);
        kernel4x8(aK + <usize>i * arsB, arsB, aksB, pb, kc, pc, ldcB, fromBias ? bias + B4(j0) : pc, ldsB, w, bt, 2);
        i = M;
      }
      for (; i < M; i++) {
        const pc = C + <usize>i * ldcB + B4(j0);
        kernel1x8(aK + <usize>i * arsB, aksB, pb, kc, pc, fromBias ? bias + B4(j0) : pc, w, bt);
      }
    }
  }
}

/** Column sums of a [rows, N] matrix with leading dimension ld into out[N] (overwritten). */
export function colSum(src: usize, rows: i32, N: i32, ld: i32, out: usize): void {
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
