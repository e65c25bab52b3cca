// The fused training step's optimizer updates (asm/optimizer.ts through src/fused UpdateArrays) against
// tf.train's own optimizers, made as train's tf.js path makes them (sgd, momentum 0.9, rmsprop, adam), at
// fixed learning rates, over 6 steps of gradients spanning 1e-6 to 1e2 (and exact zeros) on 1,003 weights
// (the vector loops and the scalar tail). The constants are passed as src/fused/train-step.ts update()
// passes them. Both compute op for op in float32, so θ after every step and the slots at the end (tf.js's
// getWeights: Adam's m and v, momentum's accumulation, RMSProp's mean square) must agree bit for bit
// (tolerance 0; the largest difference is printed). On the CPU backend too (RNN_LAB_BACKEND=cpu), where
// tf.js rounds float64 results of single ops to float32, which is the same. The second test trains a model
// on both of train's paths: the forward and backward differ by float32 rounding, so 1e-5 relative there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const F = require(path.join(ROOT, 'dist', 'fused', 'index.js'));
await L.initBackend({ backend: process.env.RNN_LAB_BACKEND ?? 'wasm', quiet: true });

const N = 1003;
let seed = 99;
const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
/** A gradient with entries from 1e-6 to 1e2 in size, either sign, and some exact zeros. */
const gradient = () => Float32Array.from({ length: N }, (_, i) => (i % 97 === 0 ? 0 : (rand() < 0.5 ? -1 : 1) * 10 ** (-6 + 8 * rand())));

/** The update `run` makes on UpdateArrays, and tf.train's `make()` on a variable, from the same θ and gradients. */
async function compare(name, make, slots, run, lr) {
  seed = 99;
  const theta0 = Float32Array.from({ length: N }, () => rand() * 2 - 1);
  const grads = Array.from({ length: 6 }, gradient);
  const mem = new F.UpdateArrays(N, 2 + slots);
  const [th, g] = mem.arrays;
  th.set(theta0);
  const v = tf.variable(tf.tensor1d(theta0));
  const opt = make(lr);
  const state = { accBeta1: Math.fround(0.9), accBeta2: Math.fround(0.999) };
  let maxDiff = 0;
  for (const gr of grads) {
    g.set(gr);
    run(mem, lr, state);
    tf.tidy(() => opt.applyGradients({ [v.name]: tf.tensor1d(gr) }));
    const want = v.dataSync();
    // θ after each step (the slots enter it at every later step).
    for (let i = 0; i < N; i++) maxDiff = Math.max(maxDiff, Math.abs(th[i] - want[i]));
  }
  // tf.js's slot variables, in their order (after the iteration count): the ones the fused step keeps.
  const tfSlots = (await opt.getWeights()).filter((w) => w.name !== 'iter');
  let slotDiff = 0;
  for (let j = 0; j < slots; j++) {
    const want = tfSlots[j].tensor.dataSync(), got = mem.arrays[2 + j];
    for (let i = 0; i < N; i++) slotDiff = Math.max(slotDiff, Math.abs(got[i] - want[i]));
  }
  console.log(`${name}: max |θ_fused − θ_tf.train| over 6 steps ${maxDiff}; slots (${tfSlots.slice(0, slots).map((w) => w.name).join(', ') || 'none'}) ${slotDiff}`);
  assert.equal(maxDiff, 0, `${name}: θ differs from tf.train's by up to ${maxDiff}`);
  assert.equal(slotDiff, 0, `${name}: a slot differs from tf.train's by up to ${slotDiff}`);
  opt.dispose();
  v.dispose();
}

const f = Math.fround;
test('optimizer updates equal tf.train bit for bit: sgd, momentum, rmsprop, adam', async () => {
  await compare('sgd', (lr) => tf.train.sgd(lr), 0, (m, lr) => m.sgd(f(-lr)), 0.1);
  await compare('momentum', (lr) => tf.train.momentum(lr, 0.9), 1, (m, lr) => m.momentum(f(0.9), f(-lr)), 0.03);
  await compare('rmsprop', (lr) => tf.train.rmsprop(lr), 1, (m, lr) => m.rmsprop(f(0.9), f(1 - 0.9), f(lr), f(1e-7)), 0.01);
  await compare('adam', (lr) => tf.train.adam(lr), 2, (m, lr, s) => {
    m.adam(f(0.9), f(1 - 0.9), f(0.999), f(1 - 0.999), f(1 - s.accBeta1), f(1 - s.accBeta2), f(1e-7), f(-lr));
    s.accBeta1 = f(s.accBeta1 * f(0.9));
    s.accBeta2 = f(s.accBeta2 * f(0.999));
  }, 0.002);
});

test('the fused step trains with its wasm update as train\'s tf.js path does (adam, 5 steps, weights within 1e-5)', async () => {
  // A whole run: the same model trained 5 steps on each path; the weights agree to float32 rounding of
  // the forward and backward (the kernels' sums differ in order from tf.js ops), which the update must not widen.
  const x = tf.randomNormal([16, 6, 3], 0, 1, 'float32', 3);
  const y = tf.randomNormal([16, 2], 0, 1, 'float32', 4);
  const runs = {};
  for (const fusedStep of [true, false]) {
    const model = L.buildGRU({ inputSize: 3, hiddenSize: 8, outputSize: 2, seed: 5 });
    const r = await L.train(model, { x, y }, { epochs: 5, batchSize: 16, optimizer: 'adam', learningRate: 0.01, verbose: false, shuffle: false, fusedStep });
    assert.equal(r.stepPath, fusedStep ? 'fused' : 'tf.js');
    runs[fusedStep] = model.getWeights().map((w) => w.dataSync().slice());
    model.dispose();
  }
  let maxRel = 0;
  runs.true.forEach((w, i) => w.forEach((v, j) => { maxRel = Math.max(maxRel, Math.abs(v - runs.false[i][j]) / (Math.abs(runs.false[i][j]) + 1e-3)); }));
  console.log(`fused vs tf.js path after 5 adam steps: max relative weight difference ${maxRel.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(maxRel <= 1e-5, `weights differ by ${maxRel}`);
  tf.dispose([x, y]);
});
