// src/baselines.ts against independent references: ridgeRegression against NumPy's solve of the normal
// equations (when python3 with numpy is installed) and a float64 plain-JS check of the optimality
// conditions; the best constant predictor and a least-squares AR(p) against references computed here in
// plain float64 JS (or in closed form).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const { ridgeRegression, Rng } = L;

function data(n, d, seed) {
  const rng = new Rng(seed);
  const x = Array.from({ length: n }, () => Array.from({ length: d }, () => rng.normal()));
  const w = Array.from({ length: d }, (_, j) => (j % 3) - 1 + 0.25 * j);
  const y = x.map((r) => 2.5 + r.reduce((s, v, j) => s + v * w[j], 0) + 0.1 * rng.normal());
  return { x, y };
}

function numpyRidge(x, y, lambda) {
  const code = `
import json, sys, numpy as np
a = json.load(sys.stdin); X = np.array(a['x'], float); y = np.array(a['y'], float); lam = a['lambda']
xm = X.mean(0); ym = y.mean(); Xc = X - xm
w = np.linalg.solve(Xc.T @ Xc + lam * np.eye(X.shape[1]), Xc.T @ (y - ym))
print(json.dumps({'w': w.tolist(), 'b': float(ym - w @ xm)}))`;
  try {
    return JSON.parse(execFileSync('python3', ['-c', code], { input: JSON.stringify({ x, y, lambda }), encoding: 'utf8' }));
  } catch {
    return null;
  }
}

test('ridgeRegression matches NumPy on the normal equations (tolerance 1e-9)', (t) => {
  const { x, y } = data(80, 7, 3);
  for (const lambda of [0, 0.5, 10]) {
    const fit = ridgeRegression(x, y, { lambda });
    const ref = numpyRidge(x, y, lambda);
    if (!ref) { t.skip('python3 with numpy is not available'); return; }
    const diff = Math.max(...fit.weights.map((w, j) => Math.abs(w - ref.w[j])), Math.abs(fit.bias - ref.b));
    assert.ok(diff < 1e-9, `λ = ${lambda}: max |difference| to NumPy ${diff}`);
  }
});

test('ridgeRegression satisfies its optimality conditions (float64 JS, tolerance 1e-8)', () => {
  const { x, y } = data(50, 5, 4);
  const lambda = 2;
  const fit = ridgeRegression(x, y, { lambda });
  const resid = y.map((v, i) => v - fit.bias - x[i].reduce((s, xv, j) => s + xv * fit.weights[j], 0));
  // ∂/∂b: Σ r = 0;  ∂/∂w_j: −Σ r x_j + λ w_j = 0.
  const gb = resid.reduce((s, r) => s + r, 0);
  const gw = fit.weights.map((w, j) => -resid.reduce((s, r, i) => s + r * x[i][j], 0) + lambda * w);
  const worst = Math.max(Math.abs(gb), ...gw.map(Math.abs));
  assert.ok(worst < 1e-8, `max |gradient| at the solution ${worst}`);
  const pred = fit.predict(x.slice(0, 3));
  const diff = Math.max(...pred.map((p, i) => Math.abs(p - (y[i] - resid[i]))));
  assert.ok(diff < 1e-12, `predict differs from bias + w·x by ${diff}`);
  // A larger penalty shrinks the weights.
  const norm = (w) => Math.hypot(...w);
  assert.ok(norm(ridgeRegression(x, y, { lambda: 100 }).weights) < norm(fit.weights), 'λ = 100 must shrink ‖w‖ below λ = 2');
});

test('ridgeRegression rejects bad input, naming the function and the layout', () => {
  assert.throws(() => ridgeRegression([[1, 2], [3]], [1, 2]), /ridgeRegression: x must be rows \[samples, features\].*row 1/);
  assert.throws(() => ridgeRegression([[1], [2]], [1]), /ridgeRegression: y must be an array \[samples\].*\(2\)/);
  assert.throws(() => ridgeRegression([[1], [NaN]], [1, 2]), /ridgeRegression: x\[1\]\[0\] is NaN/);
  assert.throws(() => ridgeRegression([[1], [2]], [1, 2], { lambda: -1 }), /options.lambda must be a finite number ≥ 0/);
  assert.throws(() => ridgeRegression([[1], [2]], [1, 2], { lamda: 1 }), /lambda/);
  assert.throws(() => ridgeRegression([[1, 2], [2, 4], [3, 6]], [1, 2, 3], { lambda: 0 }), /singular/);
  const fit = ridgeRegression([[1], [2], [3]], [1, 2, 3]);
  assert.throws(() => fit.predict([[1, 2]]), /predict: rows must be rows \[samples, features\] of 1 numbers/);
});

function uniform(n, seed) {
  const rng = new L.Rng(seed);
  return Array.from({ length: n }, () => 2 * rng.next() - 1);
}

test('constantBaseline mse: per-position training mean, scored on the test targets (float64 reference)', () => {
  const B = 20, T = 3, K = 2, Bt = 7;
  const tr = uniform(B * T * K, 1).map((v, i) => v + (i % (T * K)));   // different means per position
  const te = uniform(Bt * T * K, 2).map((v, i) => v + (i % (T * K)));
  const before = tf.memory().numTensors;
  const trainY = tf.tensor3d(tr, [B, T, K]), testY = tf.tensor3d(te, [Bt, T, K]);
  const base = L.constantBaseline(trainY, testY, 'mse');
  const f32 = (a) => Array.from(new Float32Array(a));
  const trf = f32(tr), tef = f32(te);
  const mean = Array.from({ length: T * K }, (_, j) => trf.filter((_, i) => i % (T * K) === j).reduce((s, v) => s + v, 0) / B);
  const ref = tef.reduce((s, v, i) => s + (v - mean[i % (T * K)]) ** 2, 0) / tef.length;
  const dMean = Math.max(...mean.map((m, j) => Math.abs(m - base.prediction[j])));
  assert.ok(dMean < 1e-12, `per-position means: max |difference| ${dMean}`);
  assert.ok(Math.abs(base.loss - ref) < 1e-12, `loss ${base.loss} vs reference ${ref}`);
  assert.equal(base.kind, 'mean');
  // The same number as the library's mse loss on a constant prediction (float32: 1e-6 relative).
  const lossT = tf.tidy(() => L.lossFunction('mse')(testY, tf.tile(tf.tensor3d(base.prediction, [1, T, K]), [Bt, 1, 1])).dataSync()[0]);
  assert.ok(Math.abs(lossT - base.loss) < 1e-6 * ref, `lossFunction('mse') ${lossT} vs ${base.loss}`);
  // The mean minimises the squared error: scored on its own training targets, any shift is worse.
  const self = L.constantBaseline(trainY, trainY, 'mse').loss;
  const shifted = trf.reduce((s, v, i) => s + (v - mean[i % (T * K)] - 0.01) ** 2, 0) / trf.length;
  assert.ok(self < shifted, `mean ${self} should beat mean + 0.01: ${shifted}`);
  tf.dispose([trainY, testY]);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
});

test('constantBaseline mse on the adding problem ≈ 1/6 (the chance level of Hochreiter & Schmidhuber 1997)', () => {
  const a = L.addingProblem(2000, 10, 3), b = L.addingProblem(2000, 10, 4);
  const base = L.constantBaseline(a.y, b.y, 'mse');
  console.log(`  adding problem, T = 10: baseline MSE ${base.loss.toFixed(4)}, constant ${base.prediction[0].toFixed(4)} (1/6 = 0.1667, 1)`);
  assert.ok(Math.abs(base.loss - 1 / 6) < 0.015, `baseline ${base.loss} vs 1/6`);
  assert.ok(Math.abs(base.prediction[0] - 1) < 0.03, `constant ${base.prediction[0]} vs 1`);
  tf.dispose([a.x, a.y, b.x, b.y]);
});

test('constantBaseline crossEntropy: add-one class frequencies per position, by hand', () => {
  // Position 0: train ids 0, 0, 1 → counts+1 = [3, 2, 1] / 6; position 1: ids 2, 2, 2 → [1, 1, 4] / 6.
  const trainY = tf.tensor2d([[0, 2], [0, 2], [1, 2]]), testY = tf.tensor2d([[0, 2], [2, 1]]);
  const base = L.constantBaseline(trainY, testY, 'crossEntropy', { classes: 3 });
  const ref = -(Math.log(3 / 6) + Math.log(4 / 6) + Math.log(1 / 6) + Math.log(1 / 6)) / 4;
  assert.ok(Math.abs(base.loss - ref) < 1e-12, `loss ${base.loss} vs ${ref}`);
  assert.deepEqual(base.prediction.map((p) => Math.round(p * 6)), [3, 2, 1, 1, 1, 4]);
  assert.equal(base.kind, 'class frequencies');
  // Uniform digits: the baseline approaches ln 10.
  const rng = new L.Rng(5);
  const ids = (n) => tf.tensor2d(Array.from({ length: n }, () => rng.int(10)), [n, 1]);
  const a = ids(5000), b = ids(5000);
  const u = L.constantBaseline(a, b, 'crossEntropy', { classes: 10 });
  assert.ok(Math.abs(u.loss - Math.log(10)) < 0.01, `uniform digits: ${u.loss} vs ln 10 = ${Math.log(10)}`);
  tf.dispose([trainY, testY, a, b]);
});

test('autoregressiveBaseline AR(2) recovers a pure sine: x_{t+1} = 2cos(ω) x_t − x_{t−1}', () => {
  const T = 400, omega = 2 * Math.PI * 0.05, phase = 0.3;
  const s = (t) => Math.sin(omega * t + phase);
  const x = tf.tensor3d(Array.from({ length: T }, (_, t) => s(t)), [1, T, 1]);
  const y = tf.tensor3d(Array.from({ length: T }, (_, t) => s(t + 1)), [1, T, 1]);
  const before = tf.memory().numTensors;
  const ar = L.autoregressiveBaseline({ x, y }, { x, y }, 2);
  assert.equal(tf.memory().numTensors, before, 'no tensors left behind');
  const a1 = 2 * Math.cos(omega);
  const d = Math.max(Math.abs(ar.coefficients[0] - a1), Math.abs(ar.coefficients[1] + 1), Math.abs(ar.intercept));
  assert.ok(d < 1e-4, `coefficients ${ar.coefficients} + ${ar.intercept} vs [${a1}, −1] + 0: max |difference| ${d}`);
  assert.equal(ar.fitted, T - 1);
  // Only step 0 errs (x_{−1} is taken as 0): its error is the missing −(−1)·x_{−1} term, s(−1).
  const f = (v) => Math.fround(v);
  const ref = (a1 * f(s(0)) - f(s(1))) ** 2 / T;
  assert.ok(Math.abs(ar.mse - ref) < 1e-6, `MSE ${ar.mse} vs step-0-only reference ${ref}`);
  tf.dispose([x, y]);
});

test('autoregressiveBaseline AR(1) equals the closed-form simple regression (float64)', () => {
  const B = 3, T = 50;
  const xs = uniform(B * T, 7), ys = xs.map((v, i) => 0.6 * v + 0.2 + 0.1 * uniform(1, 100 + i)[0]);
  const x = tf.tensor3d(xs, [B, T, 1]), y = tf.tensor3d(ys, [B, T, 1]);
  const ar = L.autoregressiveBaseline({ x, y }, { x, y }, 1);
  const xf = Array.from(new Float32Array(xs)), yf = Array.from(new Float32Array(ys));
  const mx = xf.reduce((s, v) => s + v, 0) / xf.length, my = yf.reduce((s, v) => s + v, 0) / yf.length;
  const slope = xf.reduce((s, v, i) => s + (v - mx) * (yf[i] - my), 0) / xf.reduce((s, v) => s + (v - mx) ** 2, 0);
  const icpt = my - slope * mx;
  const mse = xf.reduce((s, v, i) => s + (icpt + slope * v - yf[i]) ** 2, 0) / xf.length;
  const d = Math.max(Math.abs(ar.coefficients[0] - slope), Math.abs(ar.intercept - icpt), Math.abs(ar.mse - mse));
  assert.ok(d < 1e-10, `slope ${ar.coefficients[0]} vs ${slope}, intercept ${ar.intercept} vs ${icpt}, MSE ${ar.mse} vs ${mse}: max |difference| ${d}`);
  tf.dispose([x, y]);
});

test('baselines reject bad input naming the function, argument and layout', () => {
  const a = tf.zeros([4, 3, 1]), b = tf.zeros([4, 2, 1]), c = tf.tensor2d([[0], [1]]);
  assert.throws(() => L.constantBaseline(a, b, 'mse'), /constantBaseline: trainY and testY must agree after the batch axis; got \[4, 3, 1\] and \[4, 2, 1\]/);
  assert.throws(() => L.constantBaseline(c, c, 'crossEntropy'), /constantBaseline: options\.classes .* must be an integer ≥ 2/);
  assert.throws(() => L.constantBaseline(c, c, 'crossEntropy', { clases: 2 }), /clases.*classes/);
  assert.throws(() => L.constantBaseline(c, c, 'crossEntropy', { classes: 1 + 0 }), /classes/);
  assert.throws(() => L.constantBaseline(tf.tensor2d([[0], [5]]), c, 'crossEntropy', { classes: 3 }), /trainY must hold class ids in \[0, 3\); got 5/);
  assert.throws(() => L.constantBaseline(c, c, 'mse', { classes: 3 }), /classes applies to loss 'crossEntropy' only/);
  assert.throws(() => L.constantBaseline(c, c, 'mae'), /loss must be 'mse' or 'crossEntropy'/);
  assert.throws(() => L.constantBaseline(tf.tensor2d([[NaN], [1]]), c, 'mse'), /constantBaseline: trainY has NaN at \[0, 0\]/);
  assert.throws(() => L.autoregressiveBaseline({ x: c, y: c }, { x: c, y: c }, 2), /autoregressiveBaseline: train\.x must have layout \[batch, time, 1\].*got shape \[2, 1\]/);
  assert.throws(() => L.autoregressiveBaseline({ x: a, y: a }, { x: a, y: a }, 0), /order must be a positive integer; got 0/);
  assert.throws(() => L.autoregressiveBaseline({ x: a, y: a }, { x: a, y: a }, 2), /singular normal equations/);
  tf.dispose([a, b, c]);
});
