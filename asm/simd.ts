// SIMD helpers shared by the cells and the GEMM: partial-vector loads and stores for row tails, the
// optional fused multiply-add, vector tanh and σ, and the gate activations with their derivatives.
// Every vector is v128 f32x4; a row of len floats is processed 4 lanes at a time, the last vector
// holding len − j (1..3) valid lanes (ldn/stn), so no row needs padding.

import { ACT_RELU, ACT_SIGMOID, ACT_TANH } from './codes';

@inline export function B4(i: i32): usize {          // float count → bytes
  return (<usize>i) << 2;
}

/** a·b + c: one relaxed-SIMD fused multiply-add in the relaxed build, mul then add in the plain one. */
@inline export function vfma(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) {
    return f32x4.relaxed_madd(a, b, c);
  } else {
    return f32x4.add(f32x4.mul(a, b), c);
  }
}

/** Load cnt (1..4, more counts as 4) floats; missing lanes are 0. */
@inline export function ldn(p: usize, cnt: i32): v128 {
  if (cnt >= 4) return v128.load(p);
  let v = f32x4.splat(0);
  v = v128.load32_lane(p, v, 0);
  if (cnt > 1) v = v128.load32_lane(p + 4, v, 1);
  if (cnt > 2) v = v128.load32_lane(p + 8, v, 2);
  return v;
}

/** Store the first cnt (1..4) lanes. */
@inline export function stn(p: usize, v: v128, cnt: i32): void {
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

/** Constant i of KT broadcast to 4 lanes: kt(13) ½, kt(14) 1, kt(15) 0, kt(16) 0.2. */
@inline export function kt(i: i32): v128 {
  return v128.load32_splat(KT + ((<usize>i) << 2));
}

@inline export function vtanh(x0: v128): v128 {
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

@inline export function vsigmoid(x: v128): v128 {
  const h = kt(13);
  return f32x4.add(h, f32x4.mul(h, vtanh(f32x4.mul(h, x))));
}

/** σ in place over p[0..len). */
export function sigmoidRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, vsigmoid(ldn(p + o, len - j)), len - j);
  }
}

/** tanh in place over p[0..len). */
export function tanhRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, vtanh(ldn(p + o, len - j)), len - j);
  }
}

// ---- gate activations. `hard` is a literal at every call (the forward and backward are instantiated
// once per value, and every function between them and here is @inline), so the σ path carries no test of it.

/** Hard-σ gates: store the clip input u = 0.2·a + 0.5 (mul then add, as tf.js: no FMA rounding). */
function hardRow(p: usize, len: i32): void {
  for (let j = 0; j < len; j += 4) {
    const o = B4(j);
    stn(p + o, f32x4.add(f32x4.mul(ldn(p + o, len - j), kt(16)), kt(13)), len - j);
  }
}

/** A row of σ-gate pre-activations in place → what Gs holds for them (σ(a), or u for hard σ). */
@inline export function gateRow(p: usize, len: i32, hard: bool): void {
  if (hard) hardRow(p, len);
  else sigmoidRow(p, len);
}

/** A gate's value from what Gs holds: σ(a) itself, or clip(u, 0, 1). */
@inline export function gv(u: v128, hard: bool): v128 {
  if (hard) return f32x4.min(f32x4.max(u, kt(15)), kt(14));
  return u;
}

/**
 * A gate's derivative from what Gs holds: σ(1 − σ), or 0.2 where 0 ≤ u ≤ 1 (kinks included: tf.js
 * differentiates clipByValue with x ≥ min && x ≤ max) and 0 outside.
 */
@inline export function gd(u: v128, hard: bool): v128 {
  if (hard) return v128.and(v128.and(f32x4.ge(u, kt(15)), f32x4.le(u, kt(14))), kt(16));
  return f32x4.mul(u, f32x4.sub(kt(14), u));
}

/** The Elman activation φ (code act: tanh, relu, sigmoid, linear). */
@inline export function vact(a: v128, act: i32): v128 {
  if (act == ACT_TANH) return vtanh(a);
  if (act == ACT_RELU) return f32x4.max(a, kt(15));
  if (act == ACT_SIGMOID) return vsigmoid(a);
  return a;
}

/** φ′ from φ's output h. */
@inline export function vactGrad(h: v128, act: i32): v128 {
  const one = kt(14);
  if (act == ACT_TANH) return f32x4.sub(one, f32x4.mul(h, h));
  if (act == ACT_RELU) return v128.and(f32x4.gt(h, kt(15)), one);
  if (act == ACT_SIGMOID) return f32x4.mul(h, f32x4.sub(one, h));
  return one;
}

/**
 * Recurrent dropout (Gal & Ghahramani 2016): dst[i, :] = src[i, :] ⊙ M[i, :] for rows i < b, n floats
 * each ([b, n], M the per-sequence mask); dst may not alias src.
 */
export function maskRows(dst: usize, src: usize, M: usize, b: i32, n: i32): void {
  for (let i = 0; i < b; i++) {
    const s = src + B4(i * n), d = dst + B4(i * n), m = M + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      stn(d + o, f32x4.mul(ldn(s + o, cnt), ldn(m + o, cnt)), cnt);
    }
  }
}

/** dst[i, :] += src[i, :] ⊙ M[i, :] for rows i < b ([b, n]): a gradient through h_{t-1} ⊙ M back to h_{t-1}. */
export function addMaskedRows(dst: usize, src: usize, M: usize, b: i32, n: i32): void {
  for (let i = 0; i < b; i++) {
    const s = src + B4(i * n), d = dst + B4(i * n), m = M + B4(i * n);
    for (let j = 0; j < n; j += 4) {
      const cnt = n - j;
      const o = B4(j);
      stn(d + o, vfma(ldn(s + o, cnt), ldn(m + o, cnt), ldn(d + o, cnt)), cnt);
    }
  }
}
