// descendPaths / pathStats (lesson 07's bookkeeping) against closed forms computed here in float64.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const { descendPaths, pathStats } = lib();
const T = tf();

// L_r(θ) = ½ a (θ₁² + θ₂²): g = a θ, so plain descent is θ_s = (1 − ηa)^s θ_0 and clipping at c moves
// θ by exactly ηc towards 0 while a‖θ‖ > c.
const a = 3;
const grad = T.grads((u, v) => T.sum(T.mul(0.5 * a, T.add(T.square(u), T.square(v)))));

test('descendPaths: plain descent follows (1 − ηa)^s θ0 for every run (float32 vs float64, rel 1e-5)', () => {
  const starts = [[1, 2], [-0.5, 0.25], [4, -3]];
  const eta = 0.1, steps = 20;
  const before = T.memory().numTensors;
  const { points, norms } = descendPaths(grad, starts, { steps, learningRate: eta });
  assert.equal(T.memory().numTensors, before, 'no tensors left behind');
  assert.equal(points.length, steps + 1);
  assert.equal(norms.length, steps);
  let worst = 0;
  for (let s = 0; s <= steps; s++) {
    starts.forEach((p0, r) => p0.forEach((v, p) => {
      const want = (1 - eta * a) ** s * v;
      worst = Math.max(worst, Math.abs(points[s][r][p] - want) / Math.max(1e-6, Math.abs(want)));
    }));
  }
  assert.ok(worst < 1e-5, `max relative difference ${worst}`);
  const n0 = a * Math.hypot(4, -3);                       // ‖g‖ of run 2 at step 1 = 15
  assert.ok(Math.abs(norms[0][2] - n0) < 1e-5 * n0, `norm ${norms[0][2]} vs ${n0}`);
});

test('descendPaths: norm clipping moves each run by exactly ηc while ‖g‖ > c (abs 1e-5)', () => {
  const c = 1, eta = 0.05;
  const { points } = descendPaths(grad, [[3, 4]], { steps: 10, learningRate: eta, scale: (n) => T.minimum(1, T.div(c, n)) });
  // ‖θ‖ starts at 5 and a‖θ‖ ≥ 15 − … > c throughout, so ‖θ_s‖ = 5 − s·ηc along the same ray.
  let worst = 0;
  for (let s = 0; s <= 10; s++) {
    const want = 5 - s * eta * c;
    worst = Math.max(worst, Math.abs(points[s][0][0] - 0.6 * want), Math.abs(points[s][0][1] - 0.8 * want));
  }
  assert.ok(worst < 1e-5, `max difference ${worst}`);
});

test('descendPaths: bad input is an error naming the argument', () => {
  assert.throws(() => descendPaths(grad, [[1, 2], [3]], { steps: 2, learningRate: 0.1 }), /descendPaths: starts.*starts\[1\]/);
  assert.throws(() => descendPaths(grad, [[1, NaN]], { steps: 2, learningRate: 0.1 }), /starts\[0\]\[1\] must be a finite number/);
  assert.throws(() => descendPaths(grad, [[1, 2]], { steps: 0, learningRate: 0.1 }), /options\.steps must be a positive integer/);
  assert.throws(() => descendPaths(grad, [[1, 2]], { steps: 2, learningRate: 0.1, step: 3 }), /step.*steps/);
  assert.throws(() => descendPaths((ps) => grad(ps.slice(0, 2)), [[1, 2, 3]], { steps: 2, learningRate: 0.1 }), /grad must return 3 tensors/);
  assert.throws(() => descendPaths(grad, [[1, 2]], { steps: 2, learningRate: 0.1, scale: () => T.ones([2]) }), /scale must return one factor per run/);
});

test('pathStats: longest step, losses around it, final loss, leaving the region, non-finite points', () => {
  // Two runs of three steps, hand-made: run 0 steps 0.1, 5, 0.1; run 1 overflows at step 2.
  const points = [
    [[0, 0], [1, 1]],
    [[0.1, 0], [1, 1]],
    [[0.1, 5], [Infinity, NaN]],
    [[0.2, 5], [NaN, NaN]],
  ];
  const loss = ([x, y]) => x * x + y * y;
  const stats = pathStats(points, { lossAt: (ps) => ps.map(loss), inside: ([x, y]) => Math.abs(x) <= 2 && Math.abs(y) <= 2 });
  assert.equal(stats[0].longestAt, 2);
  assert.ok(Math.abs(stats[0].longest - 5) < 1e-12, `longest ${stats[0].longest}`);
  assert.ok(Math.abs(stats[0].lossBefore - 0.01) < 1e-12 && Math.abs(stats[0].lossAfter - 25.01) < 1e-12, JSON.stringify(stats[0]));
  assert.ok(Math.abs(stats[0].final - 25.04) < 1e-12 && stats[0].left === true, JSON.stringify(stats[0]));
  assert.deepEqual({ ...stats[1] }, { longest: Infinity, longestAt: 2, left: true, lossBefore: 2, lossAfter: Infinity, final: Infinity });
  assert.throws(() => pathStats([[[0, 0]]], { lossAt: (ps) => ps.map(loss) }), /pathStats: points must be/);
  assert.throws(() => pathStats(points, { lossAt: () => [1] }), /lossAt must return 2 losses/);
  assert.throws(() => pathStats(points, { lossAt: (ps) => ps.map(loss), insid: () => true }), /insid.*inside/);
});
