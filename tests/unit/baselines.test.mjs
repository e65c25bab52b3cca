// ridgeRegression against independent references: NumPy's solve of the normal equations (when python3 with
// numpy is installed) and a float64 plain-JS check of the optimality conditions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lib } from '../helpers.mjs';

const { ridgeRegression, Rng } = lib();

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
