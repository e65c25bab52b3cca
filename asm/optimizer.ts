// The optimizers' updates of the fused training step (src/fused/train-step.ts), on flat float32 arrays of
// all the weights: θ (the weights), g (their gradient) and each optimizer's slots.
//
// Each update is tf.js 4.22's (tfjs-core/src/optimizers/*_optimizer.ts), op for op in float32, so θ and
// the slots come out bit for bit as tf.train's do: no fused multiply-add (tf.js runs mul then add), and
// every constant is the float32 scalar tf.js makes of it (the caller passes Math.fround values).
//   sgd       θ ← c·g + θ                                           c = −lr
//   momentum  a ← m·a + g;  θ ← c·a + θ                             m = 0.9 (tf.train.momentum's momentum)
//   rmsprop   s ← s·ρ + g²·(1 − ρ);  θ ← θ − (g·lr) / √(s + ε)     ρ = 0.9, ε = 1e-7, momentum 0
//   adam      m ← m·β1 + g·(1 − β1);  v ← v·β2 + g²·(1 − β2)
//             θ ← ((m / c1) / (√(v / c2) + ε))·(−lr) + θ           c1 = 1 − β1^t, c2 = 1 − β2^t
// Reference: D. P. Kingma, J. Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015,
// https://arxiv.org/abs/1412.6980 (Algorithm 1, with ε outside the square root as tf.js has it);
// T. Tieleman, G. Hinton, RMSProp, Coursera NN lecture 6.5 (2012).
// Pointers are byte addresses of float32 arrays of n elements; the vector loops take 4 at a time and a
// scalar loop the rest.

/** θ ← c·g + θ. */
export function sgdUpdate(n: i32, th: usize, g: usize, c: f32): void {
  const cv = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    v128.store(th + o, f32x4.add(f32x4.mul(cv, v128.load(g + o)), v128.load(th + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    store<f32>(th + o, c * load<f32>(g + o) + load<f32>(th + o));
  }
}

/** a ← m·a + g;  θ ← c·a + θ. */
export function momentumUpdate(n: i32, th: usize, g: usize, acc: usize, m: f32, c: f32): void {
  const mv = f32x4.splat(m), cv = f32x4.splat(c);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const a = f32x4.add(f32x4.mul(mv, v128.load(acc + o)), v128.load(g + o));
    v128.store(acc + o, a);
    v128.store(th + o, f32x4.add(f32x4.mul(cv, a), v128.load(th + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const a = m * load<f32>(acc + o) + load<f32>(g + o);
    store<f32>(acc + o, a);
    store<f32>(th + o, c * a + load<f32>(th + o));
  }
}

/** s ← s·ρ + g²·(1 − ρ);  θ ← θ − (g·lr) / √(s + ε). `omr` = 1 − ρ as tf.js's float32 scalar. */
export function rmspropUpdate(n: i32, th: usize, g: usize, ms: usize, rho: f32, omr: f32, lr: f32, eps: f32): void {
  const rv = f32x4.splat(rho), ov = f32x4.splat(omr), lv = f32x4.splat(lr), ev = f32x4.splat(eps);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const s = f32x4.add(f32x4.mul(v128.load(ms + o), rv), f32x4.mul(f32x4.mul(gi, gi), ov));
    v128.store(ms + o, s);
    v128.store(th + o, f32x4.sub(v128.load(th + o), f32x4.div(f32x4.mul(gi, lv), f32x4.sqrt(f32x4.add(s, ev)))));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const s = load<f32>(ms + o) * rho + gi * gi * omr;
    store<f32>(ms + o, s);
    store<f32>(th + o, load<f32>(th + o) - (gi * lr) / Mathf.sqrt(s + eps));
  }
}

/**
 * m ← m·β1 + g·(1 − β1);  v ← v·β2 + g²·(1 − β2);  θ ← ((m / c1) / (√(v / c2) + ε))·nlr + θ.
 * `omb1`, `omb2` = 1 − β as tf.js's float32 scalars; c1, c2 = 1 − β^t; nlr = −lr.
 */
export function adamUpdate(n: i32, th: usize, g: usize, m1: usize, m2: usize, b1: f32, omb1: f32, b2: f32, omb2: f32,
  c1: f32, c2: f32, eps: f32, nlr: f32): void {
  const b1v = f32x4.splat(b1), o1v = f32x4.splat(omb1), b2v = f32x4.splat(b2), o2v = f32x4.splat(omb2);
  const c1v = f32x4.splat(c1), c2v = f32x4.splat(c2), ev = f32x4.splat(eps), lv = f32x4.splat(nlr);
  let i = 0;
  for (; i + 4 <= n; i += 4) {
    const o = <usize>i << 2;
    const gi = v128.load(g + o);
    const m = f32x4.add(f32x4.mul(v128.load(m1 + o), b1v), f32x4.mul(gi, o1v));
    const v = f32x4.add(f32x4.mul(v128.load(m2 + o), b2v), f32x4.mul(f32x4.mul(gi, gi), o2v));
    v128.store(m1 + o, m);
    v128.store(m2 + o, v);
    const step = f32x4.div(f32x4.div(m, c1v), f32x4.add(f32x4.sqrt(f32x4.div(v, c2v)), ev));
    v128.store(th + o, f32x4.add(f32x4.mul(step, lv), v128.load(th + o)));
  }
  for (; i < n; i++) {
    const o = <usize>i << 2;
    const gi = load<f32>(g + o);
    const m = load<f32>(m1 + o) * b1 + gi * omb1;
    const v = load<f32>(m2 + o) * b2 + gi * gi * omb2;
    store<f32>(m1 + o, m);
    store<f32>(m2 + o, v);
    store<f32>(th + o, ((m / c1) / (Mathf.sqrt(v / c2) + eps)) * nlr + load<f32>(th + o));
  }
}
