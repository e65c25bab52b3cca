// Cell kind codes and option flags: the ABI between the kernels and their TypeScript caller, which
// holds the same numbers in src/fused/kernels.ts (KIND_CODE, ACT_CODE, RESET_AFTER, Z_TAKES_NEW,
// HARD_SIGMOID). Change both or neither.

export const RNN: i32 = 0;
export const LSTM: i32 = 1;
export const GRU: i32 = 2;

// flags: bits 0-1 activation (0 tanh, 1 relu, 2 sigmoid, 3 linear; RNN only); bit 2 resetAfter;
// bit 3 'z-takes-new' (GRU only); bit 4 LSTM/GRU gates use tf.js's hard sigmoid clip(0.2·a + 0.5, 0, 1)
// instead of σ
export const ACT_TANH: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_SIGMOID: i32 = 2;
export const RESET_AFTER: i32 = 4;
export const Z_TAKES_NEW: i32 = 8;
export const HARD_SIGMOID: i32 = 16;

/** Gate blocks G per kind: the kernels' matrices are [·, G·n]. */
@inline export function gatesOf(kind: i32): i32 {
  return kind == LSTM ? 4 : kind == GRU ? 3 : 1;
}
