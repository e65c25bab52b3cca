// The fused recurrent kernels (asm/recurrent.ts via src/fused) against the library's tf.js-ops
// reference path (RecurrentLayer.forwardSequence with the same weights): outputs to 1e-5, gradients
// of every weight, the input and the initial states to 1e-4 relative, for every cell and variant,
// losses on all h_t and on h_T only, odd sizes; determinism; flat memory over 200 calls; the
// eviction path (several fused calls before one backward); unsupported configurations reported.
// Runs on both the WASM and the CPU backend.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();

// The .wasm is built by `npm run build:wasm`; build it here if it is missing (offline, a few seconds).
if (!['dist', 'src'].some((d) => fs.existsSync(path.join(ROOT, d, 'fused', 'recurrent.wasm')))) {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build', 'build-wasm.mjs'), '--quiet'], { stdio: 'inherit' });
}
const F = require(path.join(ROOT, 'dist', 'fused', 'index.js'));

// The suite runs once more in a child process on the other SIMD build (relaxed-SIMD FMA where this
// process has plain SIMD, and vice versa), CPU backend only.
const CHILD = process.env.RNN_LAB_FUSED_CHILD === '1';
const BACKENDS = CHILD ? ['cpu'] : ['wasm', 'cpu'];

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;
const makeLayer = { rnn: L.rnnLayer, lstm: L.lstmLayer, gru: L.gruLayer };

const CASES = [
  ['rnn', {}], ['rnn', { activation: 'relu' }], ['rnn', { activation: 'sigmoid' }], ['rnn', { activation: 'linear' }],
  ['lstm', {}],
  ['gru', {}], ['gru', { resetAfter: true }], ['gru', { update: 'z-takes-new' }], ['gru', { resetAfter: true, update: 'z-takes-new' }],
  // tf.js's hard-σ gates (flag bit 4): saturated gates (|a| > 2.5) occur at these weight scales.
  ['lstm', { recurrentActivation: 'hardSigmoid' }], ['gru', { recurrentActivation: 'hardSigmoid' }],
  ['gru', { resetAfter: true, update: 'z-takes-new', recurrentActivation: 'hardSigmoid' }],
];
const SHAPES = [
  { name: 'b3 T5 m4 H6', b: 3, T: 5, m: 4, n: 6 },
  { name: 'H=1', b: 2, T: 4, m: 3, n: 1 },
  { name: 'H=33', b: 3, T: 4, m: 5, n: 33 },
  { name: 'batch 1', b: 1, T: 6, m: 2, n: 7 },
  { name: 'T=1', b: 4, T: 1, m: 3, n: 5 },
];

/** A built layer whose weights are all random (scale s), so gate mix-ups show. */
function randomLayer(kind, opts, m, n, seed) {
  const layer = makeLayer[kind]({ units: n, returnSequences: true, checkInput: false, ...opts, seed });
  layer.build([null, null, m]);
  const v = layer.variablesOf(0);
  let k = seed;
  for (const w of Object.values(v)) {
    const scale = w.shape.length === 1 ? 0.3 : 0.9 / Math.sqrt(w.shape[0]);
    w.write(tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', k++), scale));
  }
  return layer;
}

/** Free a layer's weights (the layer was built, never applied, so Layer.dispose refuses). */
function disposeLayer(layer) {
  for (const w of layer.weights) w.dispose();
}

function inputs(kind, { b, T, m, n }, seed) {
  return {
    x: tf.randomNormal([b, T, m], 0, 1, 'float32', seed),
    h0: tf.mul(tf.randomNormal([b, n], 0, 1, 'float32', seed + 1), 0.5),
    c0: kind === 'lstm' ? tf.mul(tf.randomNormal([b, n], 0, 1, 'float32', seed + 2), 0.5) : null,
  };
}

/** Both paths as functions of the same tensors: { hs, hT, cT }. */
function paths(kind, opts, layer) {
  const v = layer.variablesOf(0);
  return {
    reference: (x, h0, c0) => {
      const { directions } = layer.forwardSequence(x, { initialState: c0 ? [h0, c0] : [h0] });
      const d = directions[0];
      const T = d.h.length;
      return { hs: tf.stack(d.h, 1), hT: d.h[T - 1], cT: d.c ? d.c[T - 1] : undefined };
    },
    fused: (x, h0, c0) => F.fusedSequence(kind, x, v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), h0, c0,
      { ...opts, recurrentBias: v.recurrent_bias?.read() }),
  };
}

const maxAbs = (t) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
const maxDiff = (a, b) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

function assertClose(a, b, tol, what) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const d = maxDiff(a, b);
  assert.ok(d <= tol, `${what}: max |fused − reference| = ${d.toExponential(2)} > ${tol}`);
}

function assertGradClose(ref, fused, what) {
  assert.deepEqual(fused.shape, ref.shape, `${what}: shape`);
  const scale = Math.max(maxAbs(ref), 1e-6);
  const rel = maxDiff(ref, fused) / scale;
  assert.ok(rel <= GRAD_TOL, `${what}: max |fused − reference| / max |reference| = ${rel.toExponential(2)} > ${GRAD_TOL}`);
}

/** Gradients of a loss on all h_t ('sequence') or on h_T only ('last'), plus c_T for the LSTM. */
function gradsOf(run, kind, layer, x, h0, c0, mode, seed) {
  const v = layer.variablesOf(0);
  const xv = tf.variable(x), h0v = tf.variable(h0), c0v = c0 ? tf.variable(c0) : null;
  const targets = { x: xv, h0: h0v, ...(c0v ? { c0: c0v } : {}) };
  for (const [name, w] of Object.entries(v)) targets[name] = w.read();
  const [b, T] = x.shape;
  const n = h0.shape[1];
  const R = tf.randomNormal([b, T, n], 0, 1, 'float32', seed);
  const Rl = tf.randomNormal([b, n], 0, 1, 'float32', seed + 1);
  const Rc = tf.randomNormal([b, n], 0, 1, 'float32', seed + 2);
  const { value, grads } = tf.variableGrads(() => {
    const o = run(xv, h0v, c0v);
    let loss = mode === 'sequence' ? tf.sum(tf.mul(o.hs, R)) : tf.sum(tf.mul(o.hT, Rl));
    if (kind === 'lstm') loss = tf.add(loss, tf.sum(tf.mul(o.cT, Rc)));
    return loss;
  }, Object.values(targets));
  const byName = {};
  for (const [name, t] of Object.entries(targets)) byName[name] = grads[t.name];
  const loss = value.dataSync()[0];
  tf.dispose([value, R, Rl, Rc, xv, h0v, ...(c0v ? [c0v] : [])]);
  return { loss, grads: byName };
}

/**
 * 200 forward+backward calls of `run` (a loss on its hT, gradients of `vars`), after 3 warm-up
 * calls, then `more()`: the wasm memory of every arena and the tensor count stay where they were.
 */
function assertFlat(run, vars, more) {
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.sum(run().hT), vars);
    value.dataSync();
    tf.dispose(Object.values(grads));
  });
  for (let i = 0; i < 3; i++) step();
  const bytes = F.fusedInfo().memoryBytes;
  const tensors = tf.memory().numTensors;
  for (let i = 0; i < 200; i++) step();
  more();
  assert.equal(F.fusedInfo().memoryBytes, bytes, 'wasm memory grew');
  assert.equal(tf.memory().numTensors, tensors, 'tensors leaked');
}

/** Stacked and two-direction fused calls before one backward: the arena is claimed by each in turn. */
function evictionCheck() {
  const [b, T, m, n1, n2] = [3, 6, 4, 7, 5];
  const l1 = randomLayer('lstm', {}, m, n1, 31);
  const l2 = randomLayer('gru', { resetAfter: true }, n1, n2, 32);
  const l3 = randomLayer('rnn', {}, m, n2, 33);   // a second direction over the reversed input
  const x = tf.variable(tf.randomNormal([b, T, m], 0, 1, 'float32', 4));
  const zeros = (n) => tf.zeros([b, n]);
  const R = tf.randomNormal([b, T, n2], 0, 1, 'float32', 5);
  const model = (fused) => () => {
    const p1 = paths('lstm', {}, l1), p2 = paths('gru', { resetAfter: true }, l2), p3 = paths('rnn', {}, l3);
    const run = (p, xx, n, c) => (fused ? p.fused : p.reference)(xx, zeros(n), c ? zeros(n) : null);
    const h1 = run(p1, x, n1, true).hs;
    const h2 = run(p2, h1, n2, false).hs;
    const h3 = run(p3, tf.reverse(x, 1), n2, false).hs;
    return tf.sum(tf.mul(tf.add(h2, tf.reverse(h3, 1)), R));
  };
  const vars = [x, ...[l1, l2, l3].flatMap((l) => Object.values(l.variablesOf(0)).map((w) => w.read()))];
  const ref = tf.variableGrads(model(false), vars);
  const fus = tf.variableGrads(model(true), vars);
  assert.ok(Math.abs(ref.value.dataSync()[0] - fus.value.dataSync()[0]) <= 1e-4 * Math.max(1, Math.abs(ref.value.dataSync()[0])));
  for (const w of vars) assertGradClose(ref.grads[w.name], fus.grads[w.name], `∂L/∂${w.name}`);
  tf.dispose([x, R, ref.value, fus.value, ...Object.values(ref.grads), ...Object.values(fus.grads)]);
  [l1, l2, l3].forEach(disposeLayer);
}

/**
 * The fused path with each `returns` against the reference: outputs to 1e-5 and, for a loss on what
 * was returned, the gradients of every weight, x and the initial states to 1e-4 relative.
 */
function returnsCheck(kind, opts, shape, seed) {
  const layer = randomLayer(kind, opts, shape.m, shape.n, seed);
  const { x, h0, c0 } = inputs(kind, shape, seed + 10);
  const p = paths(kind, opts, layer);
  const v = layer.variablesOf(0);
  for (const returns of ['all', 'sequence', 'last']) {
    const fused = (xx, hh, cc) => F.fusedSequence(kind, xx, v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), hh, cc,
      { ...opts, recurrentBias: v.recurrent_bias?.read(), returns });
    const ref = p.reference(x, h0, c0);
    const fus = fused(x, h0, c0);
    const what = `${returns} ${shape.b}×${shape.T}×${shape.n}`;
    if (returns !== 'last') assertClose(fus.hs, ref.hs, FWD_TOL, `${what} hs`);
    else assert.equal(fus.hs, undefined, `${what}: hs not asked for`);
    if (returns !== 'sequence') {
      assertClose(fus.hT, ref.hT, FWD_TOL, `${what} hT`);
      if (kind === 'lstm') assertClose(fus.cT, ref.cT, FWD_TOL, `${what} cT`);
    } else assert.equal(fus.hT, undefined, `${what}: hT not asked for`);
    const mode = returns === 'last' ? 'last' : 'sequence';
    // 'sequence' returns no c_T, so its loss leaves c_T out (gradsOf adds it for kind 'lstm').
    const lossKind = returns === 'sequence' ? 'without c_T' : kind;
    const gr = gradsOf(p.reference, lossKind, layer, x, h0, c0, mode, seed + 20);
    const gf = gradsOf(fused, lossKind, layer, x, h0, c0, mode, seed + 20);
    for (const name of Object.keys(gr.grads)) assertGradClose(gr.grads[name], gf.grads[name], `${what} ∂L/∂${name}`);
    tf.dispose([ref.hs, ref.hT, ref.cT, fus.hs, fus.hT, fus.cT, ...Object.values(gr.grads), ...Object.values(gf.grads)].filter(Boolean));
  }
  tf.dispose([x, h0, c0].filter(Boolean));
  disposeLayer(layer);
}

for (const backend of BACKENDS) {
  describe(`fused recurrent kernels on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('the kernels load (relaxed SIMD only where it validates)', (t) => {
      assert.equal(F.fusedAvailable(), true);
      const info = F.fusedInfo();
      assert.match(info.path, /recurrent(-relaxed)?\.wasm$/);
      assert.equal(typeof info.relaxedSimd, 'boolean');
      assert.equal(F.fusedSupport('lstm', {}), null);
      if (CHILD && process.env.RNN_LAB_FUSED_EXPECT_RELAXED === '1' && !info.relaxedSimd) {
        t.skip('this engine has no relaxed SIMD');
        return;
      }
      if (CHILD) assert.equal(info.relaxedSimd, process.env.RNN_LAB_FUSED_EXPECT_RELAXED === '1');
    });

    for (const [kind, opts] of CASES) {
      for (const shape of SHAPES) {
        test(`${kind} ${JSON.stringify(opts)} ${shape.name}: outputs (1e-5) and gradients (1e-4 rel), all h_t and h_T only`, () => {
          const seed = 17 + shape.n + shape.T;
          const layer = randomLayer(kind, opts, shape.m, shape.n, seed);
          const { x, h0, c0 } = inputs(kind, shape, seed + 10);
          const p = paths(kind, opts, layer);
          const ref = p.reference(x, h0, c0);
          const fus = p.fused(x, h0, c0);
          assertClose(fus.hs, ref.hs, FWD_TOL, 'hs');
          assertClose(fus.hT, ref.hT, FWD_TOL, 'hT');
          if (kind === 'lstm') assertClose(fus.cT, ref.cT, FWD_TOL, 'cT');
          else assert.equal(fus.cT, undefined);
          for (const mode of ['sequence', 'last']) {
            const gr = gradsOf(p.reference, kind, layer, x, h0, c0, mode, seed + 20);
            const gf = gradsOf(p.fused, kind, layer, x, h0, c0, mode, seed + 20);
            assert.ok(Math.abs(gr.loss - gf.loss) <= 1e-4 * Math.max(1, Math.abs(gr.loss)), `${mode} loss ${gf.loss} vs ${gr.loss}`);
            const names = Object.keys(gr.grads);
            assert.deepEqual(Object.keys(gf.grads).sort(), names.slice().sort());
            for (const name of names) assertGradClose(gr.grads[name], gf.grads[name], `${mode} ∂L/∂${name}`);
            tf.dispose([...Object.values(gr.grads), ...Object.values(gf.grads)]);
          }
          tf.dispose([x, h0, c0, ref.hs, fus.hs, fus.hT, fus.cT].filter(Boolean));
          disposeLayer(layer);
        });
      }
    }

    test('same inputs give bit-identical outputs and gradients twice', () => {
      const shape = { b: 5, T: 7, m: 3, n: 9 };
      for (const [kind, opts] of [['lstm', {}], ['gru', { resetAfter: true }], ['rnn', {}]]) {
        const layer = randomLayer(kind, opts, shape.m, shape.n, 5);
        const { x, h0, c0 } = inputs(kind, shape, 6);
        const p = paths(kind, opts, layer);
        const a = p.fused(x, h0, c0), b = p.fused(x, h0, c0);
        assert.deepEqual(a.hs.dataSync(), b.hs.dataSync());
        const g1 = gradsOf(p.fused, kind, layer, x, h0, c0, 'sequence', 3);
        const g2 = gradsOf(p.fused, kind, layer, x, h0, c0, 'sequence', 3);
        for (const name of Object.keys(g1.grads)) assert.deepEqual(g1.grads[name].dataSync(), g2.grads[name].dataSync(), name);
        tf.dispose([x, h0, c0, a.hs, a.hT, a.cT, b.hs, b.hT, b.cT, ...Object.values(g1.grads), ...Object.values(g2.grads)].filter(Boolean));
        disposeLayer(layer);
      }
    });

    test('200 forward+backward calls keep the wasm memory and the tensor count flat', () => {
      const layer = randomLayer('lstm', {}, 4, 12, 9);
      const v = layer.variablesOf(0);
      const x = tf.randomNormal([6, 10, 4], 0, 1, 'float32', 1);
      const vars = [v.kernel.read(), v.recurrent_kernel.read(), v.bias.read()];
      const run = () => F.fusedSequence('lstm', x, vars[0], vars[1], vars[2]);
      // Inference (no tape) afterwards: nothing is kept either.
      assertFlat(run, vars, () => { for (let i = 0; i < 20; i++) tf.dispose(Object.values(run())); });
      tf.dispose(x);
      disposeLayer(layer);
    });

    test('a large call grows the memory once; smaller calls after it reuse it', () => {
      const big = randomLayer('gru', { resetAfter: true }, 8, 40, 2);
      const small = randomLayer('gru', { resetAfter: true }, 3, 5, 3);
      const run = (layer, shape) => tf.tidy(() => {
        const v = layer.variablesOf(0);
        const x = tf.randomNormal(shape);
        const w = [v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), v.recurrent_bias.read()];
        const { grads } = tf.variableGrads(() => tf.sum(F.fusedSequence('gru', x, w[0], w[1], w[2], null, null, { resetAfter: true, recurrentBias: w[3] }).hs), w);
        tf.dispose(Object.values(grads));
      });
      run(big, [16, 30, 8]);
      const bytes = F.fusedInfo().memoryBytes;
      for (let i = 0; i < 10; i++) { run(small, [2, 3, 3]); run(big, [16, 30, 8]); }
      assert.equal(F.fusedInfo().memoryBytes, bytes);
      disposeLayer(big);
      disposeLayer(small);
    });

    test('several fused calls before one backward (stacked and two-direction layers) still give the reference gradients', () => evictionCheck());

    test('unsupported or malformed configurations are reported, not miscomputed', () => {
      assert.match(F.fusedSupport('rnn', { activation: 'softsign' }), /activation/);
      assert.match(F.fusedSupport('gru', { update: 'sideways' }), /update/);
      assert.match(F.fusedSupport('rnn', { recurrentActivation: 'hardSigmoid' }), /recurrentActivation 'hardSigmoid' for rnn/);
      assert.match(F.fusedSupport('lstm', { recurrentActivation: 'relu6' }), /recurrentActivation 'relu6'/);
      assert.equal(F.fusedSupport('gru', { recurrentActivation: 'hardSigmoid' }), null);
      assert.match(F.fusedSupport('lstm', {}, tf.zeros([2, 3, 4], 'int32')), /float32/);
      // Inside a gradient of a gradient the hand-written backward would be taken as a constant.
      tf.grads((x) => tf.sum(tf.grads((y) => {
        assert.match(F.fusedSupport('rnn', {}, y), /higher-order/);
        return tf.sum(tf.square(y));
      })([x])[0]))([tf.ones([1, 2, 3])]);
      assert.throws(() => F.fusedSequence('rnn', tf.zeros([1, 2, 3]), tf.zeros([3, 4]), tf.zeros([4, 4]), tf.zeros([4]), null, null, { activation: 'softsign' }),
        (e) => e instanceof F.FusedUnsupportedError);
      assert.throws(() => F.fusedSequence('lstm', tf.zeros([1, 2, 3]), tf.zeros([3, 8]), tf.zeros([4, 16]), tf.zeros([16])), /kernel must be \[3, 16\]/);
      assert.throws(() => F.fusedSequence('gru', tf.zeros([1, 2, 3]), tf.zeros([3, 12]), tf.zeros([4, 12]), tf.zeros([12]), null, null, { resetAfter: true }), /recurrentBias/);
    });
  });

  // Batch shards on helper threads: every call here is split (minWork 0, shards down to one row).
  describe(`fused kernels on helper threads (batch shards) on ${backend}`, () => {
    let saved;
    before(async () => {
      await L.initBackend({ backend, quiet: true });
      saved = F.fusedInfo();
      F.setFusedThreads(2, { minWork: 0, minRows: 1 });
    });
    after(() => F.setFusedThreads(saved.threads, { minWork: saved.minWork, minRows: saved.minRows }));

    const SHARDED = [
      { name: 'b9 T5 m4 H6', b: 9, T: 5, m: 4, n: 6 },
      { name: 'b2 T1 H33', b: 2, T: 1, m: 3, n: 33 },
      { name: 'b3 T4 H1', b: 3, T: 4, m: 2, n: 1 },
    ];
    for (const [kind, opts] of CASES) {
      test(`${kind} ${JSON.stringify(opts)}: sharded outputs and gradients equal the reference, returns all / sequence / last`, () => {
        for (const shape of SHARDED) returnsCheck(kind, opts, shape, 40 + shape.n);
        const info = F.fusedInfo();
        assert.ok(info.helperThreads >= 1, `no helper thread started: ${info.helperError ?? '?'}`);
      });
    }

    test('stacked and two-direction calls before one backward, sharded', () => evictionCheck());

    test('sharded results are bit-identical run to run', () => {
      const shape = { b: 8, T: 6, m: 3, n: 10 };
      const layer = randomLayer('lstm', {}, shape.m, shape.n, 5);
      const { x, h0, c0 } = inputs('lstm', shape, 6);
      const p = paths('lstm', {}, layer);
      const g1 = gradsOf(p.fused, 'lstm', layer, x, h0, c0, 'sequence', 3);
      const g2 = gradsOf(p.fused, 'lstm', layer, x, h0, c0, 'sequence', 3);
      assert.equal(g1.loss, g2.loss);
      for (const name of Object.keys(g1.grads)) assert.deepEqual(g1.grads[name].dataSync(), g2.grads[name].dataSync(), name);
      tf.dispose([x, h0, c0, ...Object.values(g1.grads), ...Object.values(g2.grads)]);
      disposeLayer(layer);
    });

    test('200 sharded forward+backward calls keep every arena and the tensor count flat', () => {
      const layer = randomLayer('gru', { resetAfter: true }, 4, 12, 9);
      const v = layer.variablesOf(0);
      const x = tf.randomNormal([16, 10, 4], 0, 1, 'float32', 1);
      const w = [v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), v.recurrent_bias.read()];
      const run = (returns) => F.fusedSequence('gru', x, w[0], w[1], w[2], null, null, { resetAfter: true, recurrentBias: w[3], returns });
      // Afterwards, forwards whose backward never comes (their gradient is not asked for): their saved shards are released.
      assertFlat(() => run('last'), w, () => { for (let i = 0; i < 20; i++) tf.tidy(() => { tf.variableGrads(() => tf.sum(run('all').hT), [w[0]]); }); });
      tf.dispose(x);
      disposeLayer(layer);
    });

    test('threading settings are checked', () => {
      assert.throws(() => F.setFusedThreads(0), /threads must be an integer in 1\.\.64; got 0/);
      assert.throws(() => F.setFusedThreads(2, { minRows: 0 }), /minRows must be an integer ≥ 1; got 0/);
      assert.throws(() => F.setFusedThreads(2, { minWork: -1 }), /minWork must be a number ≥ 0; got -1/);
    });
  });

  describe(`fused returns: 'sequence' and 'last' on one thread on ${backend}`, () => {
    let saved;
    before(async () => { await L.initBackend({ backend, quiet: true }); saved = F.fusedInfo(); F.setFusedThreads(1); });
    after(() => F.setFusedThreads(saved.threads, { minWork: saved.minWork, minRows: saved.minRows }));
    for (const [kind, opts] of CASES) {
      test(`${kind} ${JSON.stringify(opts)}: returns all / sequence / last equal the reference`, () => {
        returnsCheck(kind, opts, { b: 4, T: 5, m: 3, n: 7 }, 60);
      });
    }
    test('an unknown returns is an error naming the choices', () => {
      assert.throws(() => F.fusedSequence('rnn', tf.zeros([1, 2, 3]), tf.zeros([3, 4]), tf.zeros([4, 4]), tf.zeros([4]), null, null, { returns: 'first' }),
        /options\.returns must be 'all', 'sequence' or 'last'; got 'first'/);
    });
  });
}

if (!CHILD) {
  test('the other SIMD build (relaxed-SIMD FMA vs plain SIMD) passes the same checks', () => {
    const relaxedHere = F.fusedInfo().relaxedSimd;
    const env = { ...process.env, RNN_LAB_FUSED_CHILD: '1', RNN_LAB_FUSED_RELAXED: relaxedHere ? '0' : 'force', RNN_LAB_FUSED_EXPECT_RELAXED: relaxedHere ? '0' : '1' };
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync(process.execPath, ['--test', fileURLToPath(import.meta.url)], { env, encoding: 'utf8', cwd: ROOT });
    const out = `${r.stdout}${r.stderr}`;
    assert.equal(r.status, 0, `the child run failed:\n${out.slice(-4000)}`);
    assert.match(out, /# fail 0/);
    assert.ok(Number(/# pass (\d+)/.exec(out)?.[1]) > 40, `too few tests ran in the child:\n${out.slice(-2000)}`);
  });
}
