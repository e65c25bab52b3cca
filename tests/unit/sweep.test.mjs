// learningRateSweep / seedStats: the rate chosen per contender is the one with the lowest mean final
// validation loss, each run's validation loss is the model's real loss on the validation data
// (recomputed here with tf ops), and nothing is left behind when the models are disposed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();
await L.initBackend({ backend: 'cpu', quiet: true });

test('seedStats: mean, sample std, range against a plain computation; bad values are errors', () => {
  const v = [0.0018, 0.0044, 0.0067];
  const s = L.seedStats(v);
  const mean = (0.0018 + 0.0044 + 0.0067) / 3;
  const std = Math.sqrt(((0.0018 - mean) ** 2 + (0.0044 - mean) ** 2 + (0.0067 - mean) ** 2) / 2);
  assert.ok(Math.abs(s.mean - mean) < 1e-15 && Math.abs(s.std - std) < 1e-15, `mean ${s.mean} vs ${mean}, std ${s.std} vs ${std}`);
  assert.deepEqual([s.min, s.max, s.n], [0.0018, 0.0067, 3]);
  assert.equal(L.seedStats([5]).std, 0);
  assert.equal(L.formatSeedStats(L.seedStats([1, 2, 4]), { digits: 2 }), '2.33 [1.00, 4.00]');
  assert.equal(L.formatSeedStats(L.seedStats([1, 3]), { digits: 1, style: 'std' }), '2.0 ± 1.4');
  assert.throws(() => L.seedStats([]), /non-empty array of numbers, one per seed/);
  assert.throws(() => L.seedStats([1, NaN]), /values\[1\] is NaN; a non-finite result \(a diverged run\) must be reported/);
  assert.throws(() => L.formatSeedStats(L.seedStats([1]), { digit: 2 }), /did you mean 'digits'/);
});

test('learningRateSweep: every contender × rate × seed trained; the chosen rate minimises the mean validation loss; tensors freed', async () => {
  const train = L.addingProblem(64, 8, 1), val = L.addingProblem(32, 8, 2);
  const before = T.memory().numTensors;
  const contenders = [
    { name: 'RNN', build: (seed) => L.buildRNN({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed }) },
    { name: 'GRU', build: (seed) => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed }) },
  ];
  const sw = await L.learningRateSweep(contenders, train, val, { learningRates: [0.001, 0.05], seeds: [1, 2], epochs: 2, batchSize: 16, optimizer: 'adam' });
  assert.equal(sw.runs.length, 2 * 2 * 2);
  let maxDiff = 0;
  for (const r of sw.runs) {
    const mse = T.tidy(() => T.losses.meanSquaredError(val.y, r.net.predict(val.x)).dataSync()[0]);
    maxDiff = Math.max(maxDiff, Math.abs(mse - r.val));
    assert.equal(r.valCurve.length, 2);
  }
  console.log(`validation loss recomputed: max |difference| ${maxDiff.toExponential(2)} (tolerance 1e-5); chosen ${JSON.stringify(sw.chosen)}`);
  assert.ok(maxDiff < 1e-5);
  for (const c of contenders) {
    const means = [0.001, 0.05].map((lr) => { const v = sw.runs.filter((r) => r.model === c.name && r.learningRate === lr).map((r) => r.val); return (v[0] + v[1]) / 2; });
    assert.equal(sw.chosen[c.name], means[0] <= means[1] ? 0.001 : 0.05, `${c.name}: means ${means}`);
  }
  assert.equal(sw.chosenRuns.length, 4);
  assert.ok(sw.chosenRuns.every((r) => r.learningRate === sw.chosen[r.model]));
  assert.equal(sw.rows.length, 4);
  assert.equal(sw.rows.filter((r) => r.chosen === '✔').length, 2);
  sw.disposeExcept([]);
  assert.equal(T.memory().numTensors, before, 'every model and optimizer state freed');
  T.dispose([train.x, train.y, val.x, val.y]);
});

test('learningRateSweep: bad arguments are named', async () => {
  const d = L.addingProblem(8, 4, 1);
  const c = [{ name: 'A', build: (seed) => L.buildRNN({ inputSize: 2, hiddenSize: 2, outputSize: 1, seed }) }];
  await assert.rejects(() => L.learningRateSweep([], d, d, { learningRates: [0.1], seeds: [1] }), /a non-empty array of \{ name, build\(seed\) \}/);
  await assert.rejects(() => L.learningRateSweep([...c, ...c], d, d, { learningRates: [0.1], seeds: [1] }), /the name 'A' is used twice/);
  await assert.rejects(() => L.learningRateSweep(c, d, undefined, { learningRates: [0.1], seeds: [1] }), /held-out data \{ x, y \} is required/);
  await assert.rejects(() => L.learningRateSweep(c, d, d, { learningRates: [], seeds: [1] }), /options\.learningRates must be a non-empty array/);
  await assert.rejects(() => L.learningRateSweep(c, d, d, { learningRates: [0.1], seeds: [1], epoch: 1 }), /did you mean 'epochs'/);
  T.dispose([d.x, d.y]);
});
