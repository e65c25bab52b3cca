// The cell registry, proven by a cell the library does not have: the minimal gated unit (MGU; Zhou,
// Wu, Zhang & Zhou, "Minimal Gated Unit for Recurrent Neural Networks", 2016), registered here in the
// test file alone, then run through the layer (forward and gradients against a plain float64 JS
// implementation of the same equations and its central finite differences), the builder,
// countParams (against the formula worked by hand), save/load, and the fused dispatch (no kernel:
// the reference path, and an error when fused is asked for).
//
//   f_t = σ(W_xf x_t + W_hf h_{t-1} + b_f)
//   h̃_t = tanh(W_xh x_t + W_hh (f_t ⊙ h_{t-1}) + b_h)
//   h_t = (1 − f_t) ⊙ h_{t-1} + f_t ⊙ h̃_t
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { lib, tf as getTf, ROOT } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();
const require = createRequire(import.meta.url);

/** The MGU as a CellFamily: the descriptor plus its reference step (tf.js ops, row-vector batches). */
const MGU_FAMILY = {
  kind: 'mgu',
  gates: ['f', 'h'],
  hasCell: false,
  activations: { f: 'gate', h: 'tanh' },
  options: ['recurrentActivation'],
  // f multiplies h before the candidate's matmul (as the GRU's reset before), so W_hh is split once per sequence.
  prepare(w, n) {
    return { ...w, recurrentF: tf.slice(w.recurrentKernel, [0, 0], [n, n]), recurrentH: tf.slice(w.recurrentKernel, [0, n], [n, n]) };
  },
  step(xp, prev, w, o) {
    const gate = (a) => (o.recurrentActivation === 'hardSigmoid' ? tf.clipByValue(tf.add(0.5, tf.mul(0.2, a)), 0, 1) : tf.sigmoid(a));
    const [xf, xh] = tf.split(xp, 2, 1);                                              // [batch, n] each
    const f = gate(tf.add(xf, tf.matMul(prev.h, w.recurrentF)));                       // [batch, n]
    const hTilde = tf.tanh(tf.add(xh, tf.matMul(tf.mul(f, prev.h), w.recurrentH)));   // [batch, n]
    const h = tf.add(tf.mul(tf.sub(1, f), prev.h), tf.mul(f, hTilde));                 // [batch, n]
    return { h, gates: { f, hTilde } };
  },
};

// ---- plain float64 JS, from the equations above (column vectors; weights in the lecture's names) ----
const sig = (a) => 1 / (1 + Math.exp(-a));
const mv = (M, v) => M.map((row) => row.reduce((s, w, j) => s + w * v[j], 0));

/** h_1..h_T of one sequence xs (T × [m]) from h0 = 0. */
function mguJs(W, xs, n) {
  let h = new Array(n).fill(0);
  const hs = [];
  for (const x of xs) {
    const ax = mv(W.Wxf, x);
    const ah = mv(W.Whf, h);
    const f = ax.map((a, j) => sig(a + ah[j] + W.bf[j]));
    const fh = f.map((fj, j) => fj * h[j]);
    const cx = mv(W.Wxh, x);
    const ch = mv(W.Whh, fh);
    const ht = cx.map((a, j) => Math.tanh(a + ch[j] + W.bh[j]));
    h = h.map((hj, j) => (1 - f[j]) * hj + f[j] * ht[j]);
    hs.push(h);
  }
  return hs;
}

/** L = Σ_b Σ_t Σ_j R[b][t][j] · h_t[j] of a batch X [B][T][m]. */
function lossJs(W, X, R, n) {
  let s = 0;
  X.forEach((xs, b) => mguJs(W, xs, n).forEach((h, t) => h.forEach((hj, j) => { s += R[b][t][j] * hj; })));
  return s;
}

/** Central differences of lossJs with respect to every entry of W[name] (and of X when name is 'X'). */
function centralDiff(W, X, R, n, name, eps = 1e-6) {
  const target = name === 'X' ? X : W[name];
  const walk = (arr) => arr.map((v, i) => {
    if (Array.isArray(v)) return walk(v);
    const old = arr[i];
    arr[i] = old + eps;
    const up = lossJs(W, X, R, n);
    arr[i] = old - eps;
    const down = lossJs(W, X, R, n);
    arr[i] = old;
    return (up - down) / (2 * eps);
  });
  return walk(target);
}

function maxAbsDiff(a, b) {
  const fa = [a].flat(Infinity);
  const fb = [b].flat(Infinity);
  assert.equal(fa.length, fb.length, `sizes differ: ${fa.length} vs ${fb.length}`);
  return fa.reduce((m, v, i) => Math.max(m, Math.abs(v - fb[i])), 0);
}

const transpose = (M) => M[0].map((_, j) => M.map((row) => row[j]));

before(() => {
  L.registerCell(MGU_FAMILY);
});

/** A copy of the MGU under another kind, for descriptors that must be refused. */
const other0 = () => ({ ...MGU_FAMILY, kind: 'mgu3' });

describe('registerCell', () => {
  test('adds the kind; unknown kinds and inconsistent descriptors are errors naming what is wrong', () => {
    assert.deepEqual(L.cellKinds(), ['rnn', 'lstm', 'gru', 'mgu']);
    assert.equal(L.cellFamily('mgu'), MGU_FAMILY);
    assert.equal(L.layerClass('mgu').name, 'LabMGU');
    assert.throws(() => L.cellFamily('mgv'), /unknown cell kind "mgv"; registered: 'rnn', 'lstm', 'gru', 'mgu'/);
    assert.throws(() => L.buildModel('mgv', { inputSize: 1, hiddenSize: 2, outputSize: 1 }), /buildModel: unknown cell kind "mgv"/);
    assert.throws(() => L.countParams('mgv', { inputSize: 1, hiddenSize: 2, outputSize: 1 }), /countParams: unknown cell kind "mgv"/);
    // Registering a kind again replaces it (a notebook cell run twice); the library's own cells stay.
    assert.equal(L.registerCell(MGU_FAMILY), MGU_FAMILY);
    assert.throws(() => L.registerCell({ ...L.cellFamily('lstm') }), /registerCell\(lstm\): 'lstm' is a built-in cell of the library and cannot be replaced/);
    // A step that returns the wrong width, or no c for a cell with a cell state, is refused at registration.
    assert.throws(() => L.registerCell({ ...other0(), step: (xp, prev) => ({ h: tf.concat([prev.h, prev.h], 1), gates: {} }) }),
      /registerCell\(mgu3\): family\.step must return h of shape \[batch, n\] \(\[2, 3\] for a batch of 2, n = 3\); got \[2, 6\]/);
    assert.throws(() => L.registerCell({ ...other0(), hasCell: true }), /registerCell\(mgu3\): family\.hasCell is true, so family\.step must return c of shape \[batch, n\] \(\[2, 3\]\); got undefined/);
    assert.throws(() => L.registerCell({ ...other0(), step: () => { throw new Error('boom'); } }), /registerCell\(mgu3\): family\.prepare\/step threw on a batch of 2 with n = 3 .*: boom/);
    const other = { ...MGU_FAMILY, kind: 'mgu2' };
    assert.throws(() => L.registerCell({ ...other, keras: { className: 'MGU', order: ['f', 'f'] } }), /family\.keras\.order must list the gates f, h once each/);
    assert.throws(() => L.registerCell({ ...other, fused: { code: 1, flags: () => 0 } }), /family\.fused\.code 1 is not this cell's kernel \(the fused kernels implement 0 = rnn, 1 = lstm, 2 = gru\)/);
    assert.throws(() => L.registerCell({ ...other, options: [] }), /must include 'recurrentActivation' exactly when a gate's activation is 'gate'/);
    assert.throws(() => L.registerCell({ ...other, gatse: ['f', 'h'] }), /registerCell: unknown family key 'gatse' — did you mean 'gates'?/);
    assert.deepEqual(L.cellKinds(), ['rnn', 'lstm', 'gru', 'mgu'], 'a refused descriptor is not registered');
  });

  test('the built-in descriptors agree with the fused kernels\' ABI and with the layouts the libraries document', () => {
    const kernels = require(path.join(ROOT, 'dist', 'fused', 'kernels.js'));
    // Orders as tf.layers (Keras: LSTM i, f, c, o; GRU z, r, h) and PyTorch (LSTM i, f, g, o; GRU r, z, n) document them, in lecture letters.
    const documented = {
      rnn: { lecture: ['h'], keras: ['h'], pytorch: ['h'], cls: 'SimpleRNN' },
      lstm: { lecture: ['i', 'f', 'o', 'g'], keras: ['i', 'f', 'g', 'o'], pytorch: ['i', 'f', 'g', 'o'], cls: 'LSTM' },
      gru: { lecture: ['r', 'z', 'h'], keras: ['z', 'r', 'h'], pytorch: ['r', 'z', 'h'], cls: 'GRU' },
    };
    for (const [kind, d] of Object.entries(documented)) {
      const f = L.cellFamily(kind);
      assert.equal(f, L.FAMILIES[kind], `${kind}: FAMILIES and the registry hold one object`);
      assert.deepEqual([...f.gates], d.lecture, `${kind}: lecture order`);
      assert.deepEqual([...f.keras.order], d.keras, `${kind}: Keras order`);
      assert.deepEqual([...f.pytorch.order], d.pytorch, `${kind}: PyTorch order`);
      assert.equal(f.keras.className, d.cls, `${kind}: Keras class`);
      assert.equal(kernels.KIND_CODE[kind], f.fused.code, `${kind}: fused code`);
      assert.equal(kernels.GATES[kind], f.gates.length, `${kind}: the kernel's gate count`);
    }
  });
});

describe('an MGU layer (registered in this file)', () => {
  const B = 2, T = 4, m = 3, n = 3;
  const rand = ref.seeded(15);
  const W = {};
  for (const name of ['Wxf', 'Wxh']) W[name] = ref.randArray(rand, [n, m], 0.8);
  for (const name of ['Whf', 'Whh']) W[name] = ref.randArray(rand, [n, n], 0.8);
  for (const name of ['bf', 'bh']) W[name] = ref.randArray(rand, [n], 0.5);
  const X = ref.randArray(rand, [B, T, m], 1);
  const R = ref.randArray(rand, [B, T, n], 1);

  function makeLayer(extra = {}) {
    const Layer = L.layerClass('mgu');
    const layer = new Layer({ units: n, returnSequences: true, seed: 3, ...extra });
    layer.build([null, null, m]);
    L.setLectureWeights(layer, W);
    return layer;
  }

  test('runs the reference path: fused is not the default, and asking for it is an error naming the cell', () => {
    const layer = makeLayer();
    assert.equal(layer.impl, 'reference', 'a cell without a fused kernel runs the reference loop');
    assert.equal(layer.kind, 'mgu');
    assert.equal(layer.gateCount, 2);
    assert.deepEqual(L.lectureNames(layer), ['Wxf', 'Wxh', 'Whf', 'Whh', 'bf', 'bh']);
    assert.throws(() => makeLayer({ impl: 'fused' }), /LabMGU: impl 'fused' asks for the fused WebAssembly kernel, but the 'mgu' cell has none/);
    assert.match(L.fusedSupport('mgu'), /the 'mgu' cell has no fused kernel/);
    tf.tidy(() => {
      const x = tf.tensor3d(X);
      assert.throws(() => L.fusedSequence('mgu', x, tf.zeros([m, 2 * n]), tf.zeros([n, 2 * n]), tf.zeros([2 * n])),
        (e) => e instanceof L.FusedUnsupportedError && /'mgu' cell has no fused kernel/.test(e.message));
      layer.impl = 'fused';   // set after construction
      assert.throws(() => layer.apply(x), /impl 'fused' asks for the fused WebAssembly kernel, but the 'mgu' cell has none/);
    });
    // Keras and PyTorch interchange: the MGU has neither, and the errors say so.
    assert.throws(() => L.toKerasWeights(layer), /toKerasWeights: the 'mgu' cell has no Keras\/tf.layers equivalent/);
    const model = L.buildModel('mgu', { inputSize: m, hiddenSize: n, outputSize: 1 });
    assert.throws(() => L.torchWeights(model), /rnn_l0: a MGU layer has no PyTorch equivalent: PyTorch has no such recurrent module/);
    model.dispose();
  });

  test('forward equals the float64 equations; gradients equal their central differences', () => {
    const layer = makeLayer();
    const expected = X.map((xs) => mguJs(W, xs, n));                                       // [B][T][n]
    const before = tf.memory().numTensors;
    const got = tf.tidy(() => layer.apply(tf.tensor3d(X)).arraySync());
    const dForward = maxAbsDiff(got, expected);
    assert.ok(dForward < 1e-5, `forward: max |layer − float64| = ${dForward.toExponential(2)} (tolerance 1e-5)`);

    // Gradients of L = Σ R ⊙ h through the layer's variables (kernel [m, 2n], recurrent_kernel [n, 2n], bias [2n]) and x.
    const v = layer.variablesOf(0);
    const vars = [v.kernel, v.recurrent_kernel, v.bias].map((lv) => lv.read());
    const grads = tf.tidy(() => {
      const x = tf.tensor3d(X);
      const r = tf.tensor3d(R);
      const g = tf.grads((k, u, b, xx) => {
        // The same step loop the layer runs, with the weights as arguments so tf.grads sees them.
        const fam = L.cellFamily('mgu');
        const w = fam.prepare({ recurrentKernel: u }, n);
        let h = tf.zeros([B, n]);
        let loss = tf.scalar(0);
        for (let t = 0; t < T; t++) {
          const xt = tf.reshape(tf.slice(xx, [0, t, 0], [B, 1, m]), [B, m]);
          h = fam.step(tf.add(tf.matMul(xt, k), b), { h }, w, { recurrentActivation: 'sigmoid' }).h;
          loss = tf.add(loss, tf.sum(tf.mul(h, tf.reshape(tf.slice(r, [0, t, 0], [B, 1, n]), [B, n]))));
        }
        return loss;
      })([...vars, x]);
      // …and through the layer itself (its autodiff over the variables), which must agree.
      const { grads: viaLayer } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x), r)), vars);
      return { k: g[0].arraySync(), u: g[1].arraySync(), b: g[2].arraySync(), x: g[3].arraySync(),
        layerK: viaLayer[vars[0].name].arraySync(), layerU: viaLayer[vars[1].name].arraySync(), layerB: viaLayer[vars[2].name].arraySync() };
    });
    // Central differences of the float64 loss, laid out as the layer stores them (row-vector blocks f | h).
    const fd = {};
    for (const name of ['Wxf', 'Wxh', 'Whf', 'Whh', 'bf', 'bh', 'X']) fd[name] = centralDiff(W, X, R, n, name);
    const kernelFd = transpose(fd.Wxf).map((row, i) => [...row, ...transpose(fd.Wxh)[i]]);   // [m, 2n]
    const recFd = transpose(fd.Whf).map((row, i) => [...row, ...transpose(fd.Whh)[i]]);      // [n, 2n]
    const biasFd = [...fd.bf, ...fd.bh];                                                      // [2n]
    const diffs = {
      kernel: maxAbsDiff(grads.layerK, kernelFd), recurrent_kernel: maxAbsDiff(grads.layerU, recFd), bias: maxAbsDiff(grads.layerB, biasFd),
      x: maxAbsDiff(grads.x, fd.X),
      'loop vs layer': Math.max(maxAbsDiff(grads.k, grads.layerK), maxAbsDiff(grads.u, grads.layerU), maxAbsDiff(grads.b, grads.layerB)),
    };
    const text = Object.entries(diffs).map(([k, d]) => `${k} ${d.toExponential(2)}`).join(', ');
    console.log(`# MGU forward max |Δ| ${dForward.toExponential(2)}; gradients vs central differences: ${text}`);
    for (const [k, d] of Object.entries(diffs)) assert.ok(d < 1e-5, `∂L/∂${k}: max |autodiff − central difference| = ${d.toExponential(2)} (tolerance 1e-5; all: ${text})`);
    assert.equal(tf.memory().numTensors, before, 'no tensors leak from forward and gradients');
  });
});

describe('an MGU model (buildModel, countParams, save/load)', () => {
  test('the builder builds it; countParams equals the hand formula and model.countParams()', () => {
    // Per layer and direction G(n·m + n² + n) with G = 2 blocks (f, h) and one bias per block; + n with a learned h0.
    const spec = { inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, bidirectional: true };
    const byHand = 2 * 2 * (4 * 3 + 16 + 4)     // layer 0: 2 directions, m = 3
      + 2 * 2 * (4 * 8 + 16 + 4)                 // layer 1: 2 directions, m = 2n = 8
      + 8 * 2 + 2;                               // head: [2n → k] + bias
    assert.equal(byHand, 354);
    const model = L.buildModel('mgu', spec);
    assert.equal(L.countParams('mgu', spec), byHand, 'countParams vs the hand formula');
    assert.equal(model.countParams(), byHand, 'model.countParams() vs the hand formula');
    const learned = { ...spec, numLayers: 1, initialState: 'learned' };
    const byHandLearned = 2 * (2 * (4 * 3 + 16 + 4) + 4) + 8 * 2 + 2;
    const m2 = L.buildModel('mgu', learned);
    assert.equal(L.countParams('mgu', learned), byHandLearned);
    assert.equal(m2.countParams(), byHandLearned);
    assert.equal(L.specOf(model).cell, 'mgu');
    const layers = L.recurrentLayers(model);
    assert.deepEqual(layers.map((l) => [l.getClassName(), l.impl]), [['LabMGU', 'reference'], ['LabMGU', 'reference']]);
    assert.throws(() => L.buildModel('mgu', { ...spec, impl: 'fused' }), /'mgu' cell has none/);
    // The built-in kinds through buildModel: the same weights as their own builders, byte for byte.
    for (const [kind, b] of [['rnn', L.buildRNN], ['lstm', L.buildLSTM], ['gru', L.buildGRU]]) {
      const s = { inputSize: 3, hiddenSize: 4, outputSize: 2, seed: 7 };
      const [a, c] = [L.buildModel(kind, s), b(s)];
      const wa = a.getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('hex'));
      const wc = c.getWeights().map((w) => Buffer.from(w.dataSync().buffer).toString('hex'));
      assert.deepEqual(wa, wc, `buildModel('${kind}') and its builder give the same weights`);
      a.dispose(); c.dispose();
    }
    const x = tf.tensor3d(ref.randArray(ref.seeded(4), [2, 5, 3], 1));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose(model.predict(x));
    assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
    x.dispose();
    model.dispose();
    m2.dispose();
  });

  test('save/load round trip: the same weights and predictions', async () => {
    const model = L.buildModel('mgu', { inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, topology: 'many-to-many', seed: 9 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-mgu-'));
    try {
      await L.saveModel(model, dir);
      const loaded = await L.loadModel(dir);
      assert.deepEqual(L.recurrentLayers(loaded).map((l) => l.getClassName()), ['LabMGU', 'LabMGU']);
      const wa = model.getWeights().map((w) => Array.from(w.dataSync()));
      const wb = loaded.getWeights().map((w) => Array.from(w.dataSync()));
      const dW = maxAbsDiff(wa, wb);
      assert.equal(dW, 0, `weights after save/load: max |Δ| = ${dW}`);
      const x = tf.tensor3d(ref.randArray(ref.seeded(5), [2, 6, 3], 1));
      const before = tf.memory().numTensors;
      const [ya, yb] = [model, loaded].map((mm) => tf.tidy(() => mm.predict(x).arraySync()));
      const dY = maxAbsDiff(ya, yb);
      assert.equal(dY, 0, `predictions after save/load: max |Δ| = ${dY}`);
      assert.equal(tf.memory().numTensors, before, 'predict leaks no tensors');
      console.log(`# MGU save/load: weights max |Δ| ${dW}, predictions max |Δ| ${dY}`);
      x.dispose();
      loaded.dispose();
      // The same file in a process that has not registered the cell (its class renamed to one nobody registered).
      const file = path.join(dir, 'model.json');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replaceAll('LabMGU', 'LabNOPE'));
      await assert.rejects(L.loadModel(dir), /loadModel: .*model\.json has a layer of class LabNOPE, the layer of a cell registered with registerCell \(kind 'nope'\), which this process has not registered: run the cell that calls registerCell\(\{ kind: 'nope', … \}\)/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      model.dispose();
    }
  });
});

// gateActivate is public (a registered cell's step uses it): both activations against their formulas in
// float64, and anything else refused instead of quietly becoming σ.
test('gateActivate: σ and tf.js hard σ against their formulas; an unknown activation is an error; no tensor left', () => {
  const xs = [-6, -2.5, -1, 0, 0.3, 2.5, 7];
  const a = tf.tensor2d([xs]);
  const before = tf.memory().numTensors;
  const sig = tf.tidy(() => L.gateActivate(a, 'sigmoid').arraySync()[0]);
  const hard = tf.tidy(() => L.gateActivate(a, 'hardSigmoid').arraySync()[0]);
  const dSig = Math.max(...xs.map((x, i) => Math.abs(sig[i] - 1 / (1 + Math.exp(-x)))));
  const dHard = Math.max(...xs.map((x, i) => Math.abs(hard[i] - Math.min(1, Math.max(0, 0.2 * x + 0.5)))));
  assert.ok(dSig < 1e-6 && dHard < 1e-6, `max |Δ| σ ${dSig}, hard σ ${dHard} (tol 1e-6)`);
  assert.throws(() => L.gateActivate(a, 'relu'), /^RangeError: gateActivate: act must be 'sigmoid' or 'hardSigmoid' .*got "relu"/);
  assert.equal(tf.memory().numTensors, before, 'tensors left');
  a.dispose();
});
