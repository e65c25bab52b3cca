import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Rng, tfSeed } = require('../../dist/random.js');

// An independent copy of the published mulberry32 (bryc/code, jshash/PRNGs.md) to check against.
function referenceMulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function draws(rng, n, f = (r) => r.next()) {
  return Array.from({ length: n }, () => f(rng));
}

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
function chiSquareUniform(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

// 99.9% quantiles of the chi-square distribution (standard tables).
const CHI2_999 = { 3: 16.266, 5: 20.515, 9: 27.877 };

test('Rng matches the reference mulberry32 for a small non-negative seed', () => {
  for (const seed of [0, 1, 42, 123456789]) {
    const ref = referenceMulberry32(seed);
    const rng = new Rng(seed);
    const a = draws(rng, 1000);
    const b = Array.from({ length: 1000 }, ref);
    assert.deepEqual(a, b, `seed ${seed}`);
  }
});

test('same seed gives the same sequence; different seeds give different sequences', () => {
  assert.deepEqual(draws(new Rng(7), 100), draws(new Rng(7), 100));
  assert.notDeepEqual(draws(new Rng(7), 100), draws(new Rng(8), 100));
  // The high bits of the seed matter too.
  assert.notDeepEqual(draws(new Rng(1), 20), draws(new Rng(2 ** 32 + 1), 20));
  // Negative seeds are accepted and deterministic.
  assert.deepEqual(draws(new Rng(-5), 20), draws(new Rng(-5), 20));
  assert.notDeepEqual(draws(new Rng(-5), 20), draws(new Rng(5), 20));
});

test('next is in [0, 1) and its mean is near 1/2', () => {
  const xs = draws(new Rng(1), 10000);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  // SE of the mean of U(0,1) over 10,000 draws is 0.0029; allow ~4 SE.
  console.log(`next: mean ${mean.toFixed(4)}, |mean - 0.5| = ${Math.abs(mean - 0.5).toExponential(2)} (tolerance 0.012)`);
  assert.ok(Math.abs(mean - 0.5) < 0.012);
});

test('int stays within [0, n) and is uniform by a chi-square test', () => {
  const rng = new Rng(2);
  assert.ok(draws(rng, 100, (r) => r.int(1)).every((x) => x === 0));
  const big = draws(rng, 1000, (r) => r.int(2 ** 32));
  assert.ok(big.every((x) => Number.isInteger(x) && x >= 0 && x < 2 ** 32));
  assert.ok(draws(rng, 1000, (r) => r.int(7)).every((x) => Number.isInteger(x) && x >= 0 && x < 7));

  const counts = new Array(10).fill(0);
  for (const x of draws(new Rng(3), 10000, (r) => r.int(10))) counts[x]++;
  const chi2 = chiSquareUniform(counts);
  console.log(`int(10): counts ${counts.join(' ')}; chi-square ${chi2.toFixed(2)} (tolerance: < ${CHI2_999[9]}, the 99.9% quantile for 9 dof)`);
  assert.ok(chi2 < CHI2_999[9], `chi-square ${chi2}`);

  // The same statistic rejects a clearly non-uniform generator, so the check can fail.
  const biased = new Array(10).fill(0);
  for (const u of draws(new Rng(3), 10000)) biased[Math.floor(u * u * 10)]++;
  assert.ok(chiSquareUniform(biased) > CHI2_999[9]);
});

test('normal has the requested mean and standard deviation', () => {
  for (const [mean, std] of [[0, 1], [5, 2]]) {
    const xs = draws(new Rng(4), 20000, (r) => r.normal(mean, std));
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    const s = Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
    // SE of the mean is std/141 ≈ 0.0071·std; SE of the sd is std/200 = 0.005·std. Allow ~4 SE.
    console.log(`normal(${mean}, ${std}): sample mean ${m.toFixed(4)} (|diff| ${Math.abs(m - mean).toExponential(2)}, tol ${0.03 * std}), sample std ${s.toFixed(4)} (|diff| ${Math.abs(s - std).toExponential(2)}, tol ${0.02 * std})`);
    assert.ok(Math.abs(m - mean) < 0.03 * std);
    assert.ok(Math.abs(s - std) < 0.02 * std);
    assert.ok(xs.every(Number.isFinite));
  }
  assert.ok(draws(new Rng(4), 10, (r) => r.normal(3, 0)).every((x) => x === 3));
  // Defaults are the standard normal.
  assert.deepEqual(draws(new Rng(9), 5, (r) => r.normal()), draws(new Rng(9), 5, (r) => r.normal(0, 1)));
});

test('shuffle returns the same array holding a permutation, and all orders are equally likely', () => {
  const arr = Array.from({ length: 20 }, (_, i) => i);
  const out = new Rng(5).shuffle(arr);
  assert.equal(out, arr);
  assert.deepEqual([...out].sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i));
  assert.notDeepEqual(out, Array.from({ length: 20 }, (_, i) => i));
  assert.deepEqual(new Rng(5).shuffle([]), []);

  const rng = new Rng(6);
  const counts = new Map();
  for (let i = 0; i < 6000; i++) {
    const key = rng.shuffle(['a', 'b', 'c']).join('');
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  assert.equal(counts.size, 6);
  const chi2 = chiSquareUniform([...counts.values()]);
  console.log(`shuffle of 3 items: ${JSON.stringify(Object.fromEntries(counts))}; chi-square ${chi2.toFixed(2)} (tolerance < ${CHI2_999[5]})`);
  assert.ok(chi2 < CHI2_999[5]);

  const p = new Rng(7).permutation(50);
  assert.deepEqual([...p].sort((a, b) => a - b), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(new Rng(7).permutation(0), []);
  assert.deepEqual(new Rng(7).permutation(50), p);
});

test('choice samples indices in proportion to unnormalised weights and never a zero weight', () => {
  const weights = [1, 2, 3, 0, 4];
  const total = 10;
  const rng = new Rng(8);
  const counts = new Array(weights.length).fill(0);
  const n = 50000;
  for (let i = 0; i < n; i++) counts[rng.choice(weights)]++;
  const diffs = counts.map((c, i) => Math.abs(c / n - weights[i] / total));
  // Largest SE is sqrt(0.4·0.6/50000) ≈ 0.0022; allow ~4.5 SE.
  console.log(`choice: frequencies ${counts.map((c) => (c / n).toFixed(4)).join(' ')} vs ${weights.map((w) => w / total).join(' ')}; max |diff| ${Math.max(...diffs).toExponential(2)} (tolerance 0.01)`);
  assert.equal(counts[3], 0);
  assert.ok(Math.max(...diffs) < 0.01);
  // Goodness of fit over the 4 positive-weight indices (3 dof) catches smaller skews than the per-index tolerance.
  const chi2 = weights.reduce((s, w, i) => (w > 0 ? s + (counts[i] - (n * w) / total) ** 2 / ((n * w) / total) : s), 0);
  console.log(`choice: chi-square ${chi2.toFixed(2)} (tolerance < ${CHI2_999[3]}, the 99.9% quantile for 3 dof)`);
  assert.ok(chi2 < CHI2_999[3]);
  // Typed arrays work, and a single positive weight is always chosen.
  assert.ok(draws(new Rng(9), 100, (r) => r.choice(new Float64Array([0, 0, 1e-300, 0]))).every((i) => i === 2));
});

test('fork gives a deterministic child stream that differs from the parent and from siblings', () => {
  const parent = new Rng(10);
  const child = parent.fork();
  const sibling = parent.fork();
  const p = draws(parent, 50);
  const c = draws(child, 50);
  const s = draws(sibling, 50);
  assert.notDeepEqual(c, p);
  assert.notDeepEqual(c, s);
  // The child is not just the parent's stream shifted by a few draws.
  const parentAgain = draws(new Rng(10), 200);
  for (let k = 0; k < 150; k++) assert.notDeepEqual(c.slice(0, 10), parentAgain.slice(k, k + 10));
  // Forking is reproducible.
  const again = new Rng(10);
  assert.deepEqual(draws(again.fork(), 50), c);
  assert.deepEqual(draws(again.fork(), 50), s);
  assert.deepEqual(draws(again, 50), p);
});

test('tfSeed gives a reproducible positive integer that makes tf.js random ops reproducible', async () => {
  const seeds = draws(new Rng(11), 1000, (r) => tfSeed(r));
  assert.ok(seeds.every((s) => Number.isInteger(s) && s >= 1 && s < 2 ** 31 - 1));
  assert.deepEqual(draws(new Rng(11), 10, (r) => tfSeed(r)), seeds.slice(0, 10));

  const tf = require('@tensorflow/tfjs');
  const seed = tfSeed(new Rng(12));
  const a = tf.randomNormal([5], 0, 1, 'float32', seed).arraySync();
  const b = tf.randomNormal([5], 0, 1, 'float32', seed).arraySync();
  assert.deepEqual(a, b);
});

test('bad inputs are rejected with messages naming the argument and the value', () => {
  assert.throws(() => new Rng(1.5), (e) => e instanceof TypeError && /seed/.test(e.message) && /integer/.test(e.message) && /got 1\.5/.test(e.message));
  assert.throws(() => new Rng(NaN), /seed must be a safe integer, got NaN/);
  assert.throws(() => new Rng('3'), /seed must be a safe integer, got "3"/);
  assert.throws(() => new Rng(), /seed must be a safe integer, got undefined/);
  assert.throws(() => new Rng(2 ** 60), /seed must be a safe integer, got 1152921504606847000/);

  const rng = new Rng(0);
  assert.throws(() => rng.int(0), /Rng\.int: n must be a positive integer.*got 0/);
  assert.throws(() => rng.int(2.5), /n must be a positive integer.*got 2\.5/);
  assert.throws(() => rng.int(-3), /n must be a positive integer.*got -3/);
  assert.throws(() => rng.int(2 ** 32 + 1), /no larger than 2\^32, got 4294967297/);
  assert.throws(() => rng.normal(NaN), /mean must be a finite number, got NaN/);
  assert.throws(() => rng.normal(0, -1), /std must be a finite number >= 0, got -1/);
  assert.throws(() => rng.shuffle('abc'), /array must be an array, got "abc"/);
  assert.throws(() => rng.permutation(-1), /n must be a non-negative integer, got -1/);
  assert.throws(() => rng.permutation(1.5), /n must be a non-negative integer, got 1\.5/);
  assert.throws(() => rng.choice([]), /probs must not be empty, got 0 weights/);
  assert.throws(() => rng.choice([0.5, -0.1]), /probs must be finite and non-negative, got probs\[1\] = -0\.1/);
  assert.throws(() => rng.choice([NaN, 1]), /probs\[0\] = NaN/);
  assert.throws(() => rng.choice([1, Infinity]), /probs\[1\] = Infinity/);
  assert.throws(() => rng.choice([0, 0, 0]), /probs must have a positive sum, got all 3 weights equal to 0/);
  assert.throws(() => rng.choice(undefined), /probs must be an array of weights, got undefined/);
  assert.throws(() => tfSeed({}), /tfSeed: rng must be an Rng, got an object/);
});
