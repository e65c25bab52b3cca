// RNN_LAB_NO_TRAINING=1: no optimizer takes a step (train, model.fit, optimizer.minimize), so a lesson's
// claim that something was learned can be shown to fail. Each case runs in a child process, since the
// switch is read when the library loads; the same script without the switch must change the weights.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

const SCRIPT = `
const tf = require('@tensorflow/tfjs');
const L = require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
(async () => {
  await L.initBackend({ backend: 'cpu', quiet: true });
  const flat = (m) => m.getWeights().map((w) => Array.from(w.dataSync())).flat();
  const moved = (a, b) => Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  const out = { disabled: L.trainingDisabled() };
  const x = tf.randomNormal([16, 6, 2], 0, 1, 'float32', 1), y = tf.randomNormal([16, 1], 0, 1, 'float32', 2);
  const m = L.buildGRU({ inputSize: 2, hiddenSize: 5, outputSize: 1, seed: 3 });
  let before = flat(m);
  const r = await L.train(m, { x, y }, { epochs: 3, batchSize: 8, learningRate: 0.05, verbose: false, optimizer: 'adam' });
  out.train = moved(before, flat(m));
  out.trainLoss = [r.epochs[0].loss, r.epochs[2].loss];
  const k = L.buildRNN({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 4 });
  k.compile({ optimizer: tf.train.rmsprop(0.05), loss: 'meanSquaredError' });
  before = flat(k);
  await k.fit(x, y, { epochs: 2, batchSize: 8, verbose: 0 });
  out.fit = moved(before, flat(k));
  const w = tf.variable(tf.scalar(0));
  const opt = tf.train.momentum(0.1, 0.9);
  const t0 = tf.memory().numTensors;
  for (let i = 0; i < 5; i++) opt.minimize(() => tf.square(tf.sub(w, 3)));
  out.minimizeTensors = tf.memory().numTensors - t0;
  out.minimize = Math.abs(w.dataSync()[0]);
  console.log(JSON.stringify(out));
})().catch((e) => { console.error(e.message); process.exit(1); });
`;

function run(env) {
  const r = spawnSync(process.execPath, ['-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, RNN_LAB_NO_TRAINING: '', ...env }, timeout: 120000 });
  return r;
}

test('RNN_LAB_NO_TRAINING=1: train, model.fit and optimizer.minimize leave the weights unchanged; unset, they move', () => {
  const on = run({ RNN_LAB_NO_TRAINING: '1' });
  assert.equal(on.status, 0, on.stderr);
  const off = run({});
  assert.equal(off.status, 0, off.stderr);
  const a = JSON.parse(on.stdout.trim().split('\n').pop()), b = JSON.parse(off.stdout.trim().split('\n').pop());
  console.log(`switch on: ${JSON.stringify(a)}\nswitch off: ${JSON.stringify(b)}`);
  assert.equal(a.disabled, true);
  assert.equal(b.disabled, false);
  for (const k of ['train', 'fit', 'minimize']) {
    assert.equal(a[k], 0, `${k}: weights moved by ${a[k]} with training off`);
    assert.ok(b[k] > 1e-3, `${k}: weights moved by only ${b[k]} with training on`);
  }
  assert.equal(a.trainLoss[0], a.trainLoss[1], 'the same loss every epoch with training off');
  assert.equal(a.minimizeTensors, 0, 'no tensor left by the skipped steps');
});

test('RNN_LAB_NO_TRAINING with another value than 1 or 0 is an error when the library loads', () => {
  const r = run({ RNN_LAB_NO_TRAINING: 'yes' });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, /RNN_LAB_NO_TRAINING must be 1 \(optimizer steps off\) or 0\/unset; got 'yes'/);
});
