// Copies between the caller's batch-major tensors and the kernels' time-major buffers (recurrent.ts
// gives the layouts). Whole rows of n (or w) floats move with memory.copy.

import { B4, ldn, stn } from './simd';

/** Copy rows: src [A, B, w] → dst [B, A, w] (swap the two leading axes). */
export function swapAxes(src: usize, dst: usize, A: i32, Bn: i32, w: i32): void {
  const bytes = B4(w);
  for (let a = 0; a < A; a++) {
    for (let b = 0; b < Bn; b++) {
      memory.copy(dst + B4((b * A + a) * w), src + B4((a * Bn + b) * w), bytes);
    }
  }
}

/** The output [b, T(+1), n]: h_1..h_T per batch row, then c_T for the LSTM (C ≠ 0). H, C [(T+1)·b, n]. */
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

/** The output gradient [b, T(+1), n] into DH [(T+2)·b, n]: DH[1..T] (and DH[T+1] = ∂L/∂c_T); DH[0] is zeroed. */
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

// ---- ragged batches (per-sequence lengths), in PyTorch's packed-sequence layout
//
// The rows come sorted by length, longest first: Ls [b] i32 with T ≥ L_0 ≥ L_1 ≥ … ≥ L_{b-1} ≥ 1 (the
// caller sorts and scatters back). Step t (1-based) then has a_t = #{i : L_i ≥ t} active rows, and they
// are the prefix 0..a_t−1, so every step works on a contiguous block and padded steps cost nothing.
// Packed time-major layout: step t's rows i < a_t sit at rows off_t + i, off_t = a_1 + … + a_{t−1}, in
// X, Gs, S, dA, dX ([N, ·], N = Σ L_i); H and C (and DH) hold h0 first, so h_t's block starts at b + off_t
// (h0's at 0). With every L_i = T this is exactly the full layout (off_t = (t−1)·b).

/** a_t: how many rows (sorted longest first) have step t; b for Ls = 0 (no lengths). */
@inline export function activeRows(Ls: usize, b: i32, t: i32): i32 {
  if (Ls == 0) return b;
  let a = 0;
  while (a < b && load<i32>(Ls + (<usize>a << 2)) >= t) a++;
  return a;
}

/** N = Σ L_i (T·b for Ls = 0): the rows of the packed layout. */
export function packedRows(Ls: usize, b: i32, T: i32): i32 {
  if (Ls == 0) return T * b;
  let N = 0;
  for (let i = 0; i < b; i++) N += load<i32>(Ls + (<usize>i << 2));
  return N;
}

/** 0 when Ls is sorted longest first with 1 ≤ L_i ≤ T, else 4. */
export function checkLengths(Ls: usize, b: i32, T: i32): i32 {
  let prev = T;
  for (let i = 0; i < b; i++) {
    const L = load<i32>(Ls + (<usize>i << 2));
    if (L < 1 || L > prev) return 4;
    prev = L;
  }
  return 0;
}

/** x [b, T, w] batch-major → the packed time-major X [N, w] (padded steps are not read). */
export function packInput(src: usize, dst: usize, T: i32, b: i32, w: i32, Ls: usize): void {
  const bytes = B4(w);
  let r = 0;
  for (let t = 1; t <= T; t++) {
    const a = activeRows(Ls, b, t);
    for (let i = 0; i < a; i++) memory.copy(dst + B4((r + i) * w), src + B4((i * T + t - 1) * w), bytes);
    r += a;
  }
}

/** The packed dX [N, w] → dx [b, T, w] batch-major, 0 at the padded steps. */
export function unpackInputGrad(src: usize, dst: usize, T: i32, b: i32, w: i32, Ls: usize): void {
  const bytes = B4(w);
  memory.fill(dst, 0, B4(b * T * w));
  let r = 0;
  for (let t = 1; t <= T; t++) {
    const a = activeRows(Ls, b, t);
    for (let i = 0; i < a; i++) memory.copy(dst + B4((i * T + t - 1) * w), src + B4((r + i) * w), bytes);
    r += a;
  }
}

/**
 * The output [b, R, n] of a ragged call from the packed H (and C): returns 0 'all' = h_1..h_T (0 at
 * padded steps), then h_{L_i}, then c_{L_i} when C ≠ 0 (R = T + 1 (+1)); 1 'sequence' = h_1..h_T (R = T);
 * 2 'last' = h_{L_i} (then c_{L_i}) (R = 1 (+1)).
 */
export function packOutputLengths(H: usize, C: usize, T: i32, b: i32, n: i32, Ls: usize, returns: i32, dst: usize): void {
  const bytes = B4(n);
  const seq = returns != 2;
  const fin = returns != 1;
  const at = seq ? T : 0;                                     // the row of h_{L_i} in each batch entry
  const R = at + (fin ? (C != 0 ? 2 : 1) : 0);
  memory.fill(dst, 0, B4(b * R * n));
  let hr = b;                                                 // first row of h_t's block
  let a = activeRows(Ls, b, 1);
  for (let t = 1; t <= T && a > 0; t++) {
    const next = activeRows(Ls, b, t + 1);
    if (seq) for (let i = 0; i < a; i++) memory.copy(dst + B4((i * R + t - 1) * n), H + B4((hr + i) * n), bytes);
    if (fin) {
      for (let i = next; i < a; i++) {                          // the rows whose last step is t
        memory.copy(dst + B4((i * R + at) * n), H + B4((hr + i) * n), bytes);
        if (C != 0) memory.copy(dst + B4((i * R + at + 1) * n), C + B4((hr + i) * n), bytes);
      }
    }
    hr += a;
    a = next;
  }
}

/**
 * The output gradient [b, R, n] (R as packOutputLengths) into the packed DH: ∂L/∂h_t at the real steps
 * (padded steps' outputs are constants: their gradient is dropped), plus ∂L/∂h_{L_i} at each row's last
 * step; ∂L/∂c_{L_i} (hasC) into the block at (T+1)·b·n, where backward starts each row's dc. Everything
 * else is zeroed.
 */
export function unpackGradLengths(src: usize, hasC: i32, T: i32, b: i32, n: i32, Ls: usize, returns: i32, DH: usize): void {
  const seq = returns != 2;
  const fin = returns != 1;
  const at = seq ? T : 0;
  const R = at + (fin ? (hasC ? 2 : 1) : 0);
  memory.fill(DH, 0, B4((T + 2) * b * n));
  let hr = b;
  let a = activeRows(Ls, b, 1);
  for (let t = 1; t <= T && a > 0; t++) {
    const next = activeRows(Ls, b, t + 1);
    if (seq) for (let i = 0; i < a; i++) memory.copy(DH + B4((hr + i) * n), src + B4((i * R + t - 1) * n), B4(n));
    if (fin) {
      for (let i = next; i < a; i++) {
        const d = DH + B4((hr + i) * n), s = src + B4((i * R + at) * n);
        for (let j = 0; j < n; j += 4) {
          const cnt = n - j;
          const o = B4(j);
          stn(d + o, f32x4.add(ldn(d + o, cnt), ldn(s + o, cnt)), cnt);
        }
        if (hasC) memory.copy(DH + B4(((T + 1) * b + i) * n), src + B4((i * R + at + 1) * n), B4(n));
      }
    }
    hr += a;
    a = next;
  }
}
