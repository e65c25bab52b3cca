// Copies between the caller's batch-major tensors and the kernels' time-major buffers (recurrent.ts
// gives the layouts). Whole rows of n (or w) floats move with memory.copy.

import { B4 } from './simd';

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
