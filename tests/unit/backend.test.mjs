import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, lib, tf } from '../helpers.mjs';

const { initBackend, backendInfo } = lib();

function captureLog(fn) {
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  return Promise.resolve(fn()).finally(() => { console.log = orig; }).then((r) => ({ r, lines }));
}

test('forcing cpu and wasm selects them and prints one line saying why', async () => {
  for (const name of ['cpu', 'wasm']) {
    const { r, lines } = await captureLog(() => initBackend({ backend: name }));
    assert.equal(r.name, name);
    assert.equal(tf().getBackend(), name);
    assert.equal(lines.length, 1, `expected one line, got ${JSON.stringify(lines)}`);
    assert.match(lines[0], new RegExp(`^rnn-lab backend: ${name} \\(forced by the backend option`));
    assert.deepEqual(backendInfo(), r);
  }
});

test('automatic choice prefers tfjs-node, else wasm, and says why', async () => {
  const { r } = await captureLog(() => initBackend({ backend: 'auto' }));
  let nodeInstalled = true;
  try { require.resolve('@tensorflow/tfjs-node', { paths: [ROOT] }); } catch { nodeInstalled = false; }
  if (!nodeInstalled) {
    assert.equal(r.name, 'wasm');
    assert.match(r.reason, /tfjs-node is not installed/);
    assert.match(r.reason, /SIMD (on|off)/);
  } else {
    assert.ok(['tensorflow', 'wasm'].includes(r.name), r.line);
  }
});

test('RNN_LAB_BACKEND forces a backend, and the CPU banner stays off stderr', () => {
  const code = `require(${JSON.stringify(ROOT + '/dist/index.js')}).initBackend().then(() => {
    const tf = require(${JSON.stringify(ROOT + '/node_modules/@tensorflow/tfjs')});
    tf.tensor([1, 2, 3]).square().dataSync();
    console.log('backend=' + tf.getBackend());
  });`;
  const r = spawnSync(process.execPath, ['-e', code], { env: { ...process.env, RNN_LAB_BACKEND: 'cpu' }, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /forced by RNN_LAB_BACKEND/);
  assert.match(r.stdout, /backend=cpu/);
  assert.equal(r.stderr.trim(), '', `stderr should be empty, got: ${r.stderr}`);
});

test('an unknown backend name is a clear error naming the option and the value', async () => {
  await assert.rejects(() => initBackend({ backend: 'gpu' }), /backend \(or RNN_LAB_BACKEND\) must be one of tensorflow, node, wasm, cpu, auto; got 'gpu'/);
});

test('initBackend rejects an unknown option key, naming the nearest valid one', async () => {
  await assert.rejects(() => initBackend({ backnd: 'cpu' }), /initBackend: unknown options key 'backnd' — did you mean 'backend'\?/);
  await assert.rejects(() => initBackend({ quite: true }), /initBackend: unknown options key 'quite' — did you mean 'quiet'\?/);
});

// --- Kernels registered for the WASM backend (src/internals.ts) ---------------------------------

const internals = () => require(ROOT + '/dist/internals.js');
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);

/** Run fn on a backend and return plain arrays (tensors made inside are disposed). */
async function on(name, fn) {
  await initBackend({ backend: name, quiet: true });
  const T = tf();
  return T.tidy(() => fn(T));
}

/** Max relative difference of two flat arrays, and where. */
function maxRel(a, b) {
  let worst = 0, at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]) / Math.max(1e-6, Math.abs(b[i]));
    if (d > worst) { worst = d; at = i; }
  }
  return { worst, at };
}

test('tf.js internals rnn-lab relies on still exist (fails when a tf.js upgrade changes them)', async () => {
  const T = tf();
  const { gradientDepth, isTapeOn, resetEngineTape, WASM_EXTRA_KERNELS } = internals();
  const state = T.engine().state;
  for (const f of ['gradientDepth', 'kernelDepth', 'numDataMovesStack']) assert.ok(f in state, `tf.engine().state.${f} is gone`);
  assert.equal(typeof T.engine().isTapeOn, 'function', 'tf.engine().isTapeOn is gone');
  // The reads must see a tape opened by tf.grad: depth 1 and tape on inside, 0 and off outside.
  let inside;
  T.grad((x) => {
    const y = x.square();
    // dropAbandonedTape frees each tape node's `saved` tensors (what its gradient needs).
    inside = [gradientDepth(), isTapeOn(), Array.isArray(state.activeTape), state.activeTape.every((node) => Array.isArray(node.saved))];
    return y;
  })(T.scalar(2)).dispose();
  assert.deepEqual(inside, [1, true, true, true], 'inside tf.grad: [gradientDepth, isTapeOn, state.activeTape is the tape array, its nodes have saved]');
  assert.deepEqual([gradientDepth(), isTapeOn(), resetEngineTape()], [0, false, false]);
  // silenceCpuBanner: the CPU backend's private `firstUse` (true until its first kernel runs) exists and is
  // what it resets; a field that vanished would make the assignment a silent no-op.
  const cpu = T.findBackend('cpu');
  assert.ok(cpu && 'firstUse' in cpu, "the CPU backend's firstUse field is gone (silenceCpuBanner)");
  assert.equal(cpu.firstUse, false, 'silenceCpuBanner (run at import) left firstUse on');
  assert.equal(typeof T.engine().registryFactory?.cpu?.factory, 'function', "tf.js's engine no longer keeps backend factories in registryFactory (silenceCpuBanner wraps the CPU's)");
  // disposeLearningRateScalar: SGD-based optimizers keep the learning rate as a tensor `c`, and
  // MomentumOptimizer.dispose() still leaks it (when tf.js fixes that, the helper can go).
  const { disposeLearningRateScalar, bidirectionalLayers, replaceOptimizerSteps, OPTIMIZER_CLASSES } = internals();
  for (const make of [() => T.train.sgd(0.1), () => T.train.momentum(0.1, 0.9)]) {
    const n0 = T.memory().numTensors;
    const opt = make();
    assert.ok(opt.c instanceof T.Tensor, `${opt.getClassName()}.c (the learning-rate scalar) is gone`);
    opt.dispose();
    const leaked = T.memory().numTensors - n0;
    disposeLearningRateScalar(opt);
    assert.equal(T.memory().numTensors, n0, `${opt.getClassName()}: disposeLearningRateScalar left ${T.memory().numTensors - n0} tensors (dispose() alone left ${leaked})`);
  }
  // bidirectionalLayers: Bidirectional's private forwardLayer/backwardLayer are the wrapped layers.
  const bi = T.layers.bidirectional({ layer: T.layers.lstm({ units: 2 }), mergeMode: 'concat' });
  const { forward, backward } = bidirectionalLayers(bi);
  assert.ok(forward instanceof T.layers.Layer && backward instanceof T.layers.Layer && forward !== backward, 'Bidirectional.forwardLayer/backwardLayer are gone');
  assert.equal(forward.getClassName(), 'LSTM');
  assert.equal(backward.getConfig().goBackwards, true, 'backwardLayer is not the reversed copy');
  // replaceOptimizerSteps (RNN_LAB_NO_TRAINING): every class named is a tf.js optimizer with its own step.
  for (const name of OPTIMIZER_CLASSES) {
    assert.equal(typeof T[name]?.prototype?.applyGradients, 'function', `tf.${name}.prototype.applyGradients is gone`);
    assert.ok(Object.prototype.hasOwnProperty.call(T[name].prototype, 'applyGradients'), `tf.${name} no longer has its own applyGradients`);
  }
  assert.throws(() => replaceOptimizerSteps('probe', () => {}, ['NoSuchOptimizer']), /probe: tf\.NoSuchOptimizer\.prototype\.applyGradients is missing/);
  // The WASM backend's private data API the kernels use.
  await initBackend({ backend: 'wasm', quiet: true });
  const b = T.backend();
  assert.equal(typeof b.readSync, 'function');
  assert.equal(typeof b.makeOutput, 'function');
  // wasmHasSimd reads a flag tfjs-backend-wasm registers (reading an unregistered flag throws).
  assert.equal(typeof internals().wasmHasSimd(), 'boolean', 'WASM_HAS_SIMD_SUPPORT is no longer registered');
  // Each extra kernel is registered for wasm, and still missing from tf.js's own wasm kernels
  // (when tf.js adds one, this says so: ours is then skipped and WASM_EXTRA_KERNELS should shrink).
  const wasmDir = ROOT + '/node_modules/@tensorflow/tfjs-backend-wasm/dist/kernels/';
  const fs = await import('node:fs');
  for (const k of WASM_EXTRA_KERNELS) {
    assert.ok(T.getKernel(k, 'wasm'), `${k} is not registered for wasm`);
    assert.ok(!fs.existsSync(wasmDir + k + '.js'), `tf.js's wasm backend now has ${k}: drop it from WASM_EXTRA_KERNELS`);
  }
});

test('recoverEngine closes the tf.tidy scopes and the tape a stopped cell left open, freeing their tensors', () => {
  const T = tf();
  const { recoverEngine } = internals();
  assert.equal(recoverEngine(), undefined, 'nothing to repair in a healthy engine');
  const state = T.engine().state;
  assert.ok(Array.isArray(state.scopeStack), 'tf.engine().state.scopeStack is gone');
  const before = T.memory().numTensors;
  const kept = T.scalar(1);                                 // made outside: must survive
  // What a cell stopped in the middle of tf.tidy(() => … tf.tidy(() => …)) leaves behind.
  T.engine().startScope('outer');
  T.ones([3]);
  T.engine().startScope('inner');
  T.zeros([2]); T.zeros([4]);
  state.gradientDepth = 1;                                  // and a tape that was recording
  const msg = recoverEngine();
  assert.equal(state.scopeStack.length, 0);
  assert.equal(state.gradientDepth, 0);
  assert.equal(T.memory().numTensors, before + 1, 'the three tensors of the open scopes freed, the outside one kept');
  assert.match(msg, /2 tf\.tidy scopes and a gradient tape open, now closed \(3 tensors of the unfinished step freed\)/);
  // tf.js works as before: a gradient and a tidy.
  const g = T.grad((x) => x.square())(T.scalar(3));
  assert.equal(g.dataSync()[0], 6);
  tf().dispose([g, kept]);
});

test('UnsortedSegmentSum on wasm equals the cpu backend on random cases, incl. negative and out-of-range ids (ignored)', async () => {
  const cases = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 16807) % 2147483647) / 2147483647);
  for (let c = 0; c < 6; c++) {
    const n = 1 + Math.floor(rnd() * 9);
    const inner = c % 3 === 0 ? [] : c % 3 === 1 ? [1 + Math.floor(rnd() * 4)] : [2, 3];
    const numSegments = 1 + Math.floor(rnd() * 5);
    const size = n * inner.reduce((a, b) => a * b, 1);
    cases.push({
      x: Array.from({ length: size }, () => rnd() * 4 - 2), shape: [n, ...inner], numSegments,
      ids: Array.from({ length: n }, () => Math.floor(rnd() * (numSegments + 4)) - 2),   // some < 0, some ≥ numSegments
    });
  }
  assert.ok(cases.some((c) => c.ids.some((i) => i < 0)) && cases.some((c) => c.ids.some((i) => i >= c.numSegments)), 'cases must include bad ids');
  const run = (T) => cases.map((c) => {
    const r = T.unsortedSegmentSum(T.tensor(c.x, c.shape), T.tensor1d(c.ids, 'int32'), c.numSegments);
    return { shape: r.shape, v: Array.from(r.dataSync()) };
  });
  const cpu = await on('cpu', run);
  const wasm = await on('wasm', run);
  cases.forEach((c, i) => {
    assert.deepEqual(wasm[i].shape, cpu[i].shape);
    const { worst } = maxRel(wasm[i].v, cpu[i].v);
    assert.ok(worst < 1e-6, `case ${i} (ids ${c.ids}): max rel. difference ${worst} > 1e-6`);
  });
  // An independent float64 reference for the first case with bad ids.
  const c = cases.find((k) => k.ids.some((i) => i < 0 || i >= k.numSegments));
  const i = cases.indexOf(c);
  const inner = c.x.length / c.ids.length;
  const ref = new Array(c.numSegments * inner).fill(0);
  c.ids.forEach((s, r) => { if (s >= 0 && s < c.numSegments) for (let k = 0; k < inner; k++) ref[s * inner + k] += c.x[r * inner + k]; });
  assert.ok(maxRel(wasm[i].v, ref).worst < 1e-5, `float64 reference: ${maxRel(wasm[i].v, ref).worst}`);
});

test('Conv2DBackpropFilter on wasm equals the cpu backend (strides, same/valid padding, conv1d)', async () => {
  const run = (T) => {
    const out = [];
    for (const [strides, pad, xs, fs] of [[1, 'valid', [2, 5, 4, 3], [2, 3, 3, 2]], [2, 'same', [3, 6, 5, 2], [3, 2, 2, 4]], [[1, 2], 'same', [1, 4, 7, 1], [1, 3, 1, 2]]]) {
      const x = T.randomNormal(xs, 0, 1, 'float32', 3);
      const f = T.randomNormal(fs, 0, 1, 'float32', 4);
      const g = T.grad((w) => T.conv2d(x, w, strides, pad).square().sum())(f);
      out.push(Array.from(g.dataSync()));
    }
    const x1 = T.randomNormal([2, 9, 3], 0, 1, 'float32', 5);
    const f1 = T.randomNormal([3, 3, 4], 0, 1, 'float32', 6);
    out.push(Array.from(T.grad((w) => T.conv1d(x1, w, 2, 'same').sin().sum())(f1).dataSync()));
    return out;
  };
  const cpu = await on('cpu', run);
  const wasm = await on('wasm', run);
  cpu.forEach((c, i) => {
    const { worst, at } = maxRel(wasm[i], c);
    assert.ok(worst < 1e-4, `case ${i}: max rel. difference ${worst} at ${at} (tol 1e-4)`);
  });
});

test('a tf.sequential embedding → lstm → dense trains on wasm with the losses it has on cpu (rel. tol 1e-4)', async () => {
  const fit = async (name, weights) => {
    await initBackend({ backend: name, quiet: true });
    const T = tf();
    const model = T.sequential({ layers: [
      T.layers.embedding({ inputDim: 6, outputDim: 4, inputLength: 5 }),
      T.layers.lstm({ units: 5 }),
      T.layers.dense({ units: 3, activation: 'softmax' }),
    ] });
    if (weights) model.setWeights(weights.map(([v, s]) => T.tensor(v, s)));
    model.compile({ optimizer: T.train.adam(0.05), loss: 'sparseCategoricalCrossentropy' });
    const x = T.tensor2d([[0, 1, 2, 3, 4], [5, 4, 3, 2, 1], [1, 1, 2, 2, 3], [0, 5, 0, 5, 0]]);
    const y = T.tensor2d([[0], [1], [2], [1]]);
    const h = await model.fit(x, y, { epochs: 5, batchSize: 4, shuffle: false, verbose: 0 });
    const w = model.getWeights().map((t) => [Array.from(t.dataSync()), t.shape]);
    // The optimizer's moments are made in the first fit; a further fit must add nothing.
    const before = T.memory().numTensors;
    await model.fit(x, y, { epochs: 1, batchSize: 4, verbose: 0 });
    const leaked = T.memory().numTensors - before;
    T.dispose([x, y]);
    model.dispose();
    return { loss: h.history.loss, w, leaked };
  };
  // Same initial weights on both backends: a throwaway cpu run's weights start both runs.
  const start = (await fit('cpu')).w;
  const cpu = await fit('cpu', start);
  const wasm = await fit('wasm', start);
  const { worst, at } = maxRel(wasm.loss, cpu.loss);
  assert.ok(worst < 1e-4, `losses cpu ${cpu.loss} vs wasm ${wasm.loss}: max rel. difference ${worst} at epoch ${at}`);
  assert.ok(cpu.loss[4] < cpu.loss[0], `the loss must fall: ${cpu.loss}`);
  assert.equal(wasm.leaked, 0, 'fit left tensors behind on wasm');
});

// The reported case (fresh-user trial): a script that imports rnn-lab and computes on the CPU backend
// without initBackend printed tf.js's "install tfjs-node" banner on stderr; a second case: tf.js imported
// before rnn-lab.
test('no "install tfjs-node" banner on stderr when rnn-lab is loaded, whichever is imported first and without initBackend', () => {
  const lib = JSON.stringify(path.join(ROOT, 'dist', 'index.js'));
  const tfjs = JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'));
  for (const order of [[`require(${lib})`, `require(${tfjs})`], [`require(${tfjs})`, `require(${lib})`]]) {
    const code = `${order.join(';')}; const tf = require(${tfjs}); tf.add(tf.tensor([1]), 2).dataSync(); console.log(tf.getBackend());`;
    const r = spawnSync(process.execPath, ['-e', code], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), 'cpu');
    assert.doesNotMatch(r.stderr, /tfjs-node/, `stderr (${order[0]} first): ${r.stderr}`);
  }
});
