// Weights and layers from tf.js / Keras (issue 11, item 5): recurrentActivation 'hardSigmoid' exactly as
// tf.js computes it (against tf.layers and against the equations in plain JS float64), on both the
// reference and the fused path; fromKerasWeights refusing a layer whose activations differ;
// fromKerasLayer and importLayersModel giving the same predictions as the source, and refusing what
// they cannot represent; spectrum's gate γ; the fused hard-σ backward against the reference, finite
// differences and tf.js's value at the kinks.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
await tf.setBackend('cpu');

const maxDiff = (a, b) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const IMPLS = ['reference', 'fused'];

function assertClose(a, b, tol, what) {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const d = maxDiff(a, b);
  console.log(`  ${what}: max |Δ| = ${d.toExponential(2)} (tol ${tol})`);
  assert.ok(d <= tol, `${what}: max |Δ| = ${d.toExponential(3)} > ${tol}`);
  return d;
}

/** A tf.layers recurrent layer applied once (built), with weights of scale ~1 so gates saturate sometimes. */
function kerasBuilt(make, x, seed) {
  const layer = make();
  tf.dispose(layer.apply(x));
  const ws = layer.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', seed + i), w.shape.length === 1 ? 0.5 : 1.2 / Math.sqrt(w.shape[0])));
  layer.setWeights(ws);
  tf.dispose(ws);
  return layer;
}

// ---- plain-JS float64 equations (Keras layout and gate order), independent of tf.js and rnn-lab

const hardSigmoid = (a) => Math.min(1, Math.max(0, 0.2 * a + 0.5));
const sigmoid = (a) => 1 / (1 + Math.exp(-a));

/** tf.layers.lstm / gru forward in float64 from Keras weights (LSTM i f c o; GRU z r h, reset before). Returns h_T [b][n] and the clip inputs u seen. */
function kerasForward64(kind, x, [K, U, B], gate) {
  const [b, T, m] = [x.length, x[0].length, x[0][0].length];
  const n = U.length;
  const act = gate === 'hardSigmoid' ? hardSigmoid : sigmoid;
  const us = [];
  const out = [];
  for (let i = 0; i < b; i++) {
    let h = new Array(n).fill(0), c = new Array(n).fill(0);
    for (let t = 0; t < T; t++) {
      const G = kind === 'lstm' ? 4 : 3;
      const xp = Array.from({ length: G * n }, (_, j) => B[j] + x[i][t].reduce((s, xv, k) => s + xv * K[k][j], 0));
      const hp = (v, j) => v.reduce((s, hv, k) => s + hv * U[k][j], 0);
      const g = (a) => { us.push(0.2 * a + 0.5); return act(a); };
      if (kind === 'lstm') {
        const a = xp.map((v, j) => v + hp(h, j));
        const ig = a.slice(0, n).map(g), fg = a.slice(n, 2 * n).map(g), cg = a.slice(2 * n, 3 * n).map(Math.tanh), og = a.slice(3 * n).map(g);
        c = c.map((cv, j) => fg[j] * cv + ig[j] * cg[j]);
        h = c.map((cv, j) => og[j] * Math.tanh(cv));
      } else {
        const z = Array.from({ length: n }, (_, j) => g(xp[j] + hp(h, j)));
        const r = Array.from({ length: n }, (_, j) => g(xp[n + j] + hp(h, n + j)));
        const rh = h.map((hv, j) => r[j] * hv);
        const hh = Array.from({ length: n }, (_, j) => Math.tanh(xp[2 * n + j] + hp(rh, 2 * n + j)));
        h = h.map((hv, j) => z[j] * hv + (1 - z[j]) * hh[j]);
      }
    }
    out.push(h);
  }
  return { hT: out, us };
}

describe('recurrentActivation hardSigmoid: tf.layers weights keep their meaning', () => {
  // The case: a tf.layers.lstm (default recurrentActivation 'hardSigmoid') whose weights are
  // copied with fromKerasWeights. The second instance of the same kind: a tf.layers.gru.
  for (const kind of ['lstm', 'gru']) {
    test(`${kind}: tf.layers.${kind} weights → rnn-lab hardSigmoid matches tf.js to 1e-6; sigmoid differs > 1e-3`, () => {
      const [b, T, m, n] = [2, 7, 3, 4];
      const x = tf.randomNormal([b, T, m], 0, 1, 'float32', 11);
      const keras = kerasBuilt(() => tf.layers[kind]({ units: n }), x, 40);
      assert.equal(keras.getConfig().recurrentActivation, 'hardSigmoid', 'tf.js default gate activation');
      const expected = keras.apply(x);                                                  // [b, n]
      const w64 = keras.getWeights().map((w) => w.arraySync());
      const { hT: h64 } = kerasForward64(kind, x.arraySync(), w64, 'hardSigmoid');
      assertClose(tf.tensor(h64), expected, 1e-6, `${kind} float64 equations vs tf.layers`);
      for (const impl of IMPLS) {
        const hard = L[`${kind}Layer`]({ units: n, recurrentActivation: 'hardSigmoid', impl });
        hard.build([null, T, m]);
        L.fromKerasWeights(hard, keras.getWeights());
        const got = hard.apply(x);
        assertClose(got, expected, 1e-6, `${kind} ${impl} hardSigmoid vs tf.layers`);
        const sig = L[`${kind}Layer`]({ units: n, impl });
        sig.build([null, T, m]);
        L.fromKerasWeights(sig, keras.getWeights());
        const wrong = sig.apply(x);
        const d = maxDiff(wrong, expected);
        console.log(`  ${kind} ${impl} σ gates on hardSigmoid weights: first output ${wrong.dataSync()[0].toFixed(6)} vs tf.js ${expected.dataSync()[0].toFixed(6)}, max |Δ| ${d.toFixed(4)}`);
        assert.ok(d > 1e-3, `sigmoid gates should differ from tf.js's hardSigmoid; max |Δ| only ${d}`);
        tf.dispose([got, wrong]);
        hard.weights.forEach((w) => w.dispose());
        sig.weights.forEach((w) => w.dispose());
      }
      tf.dispose([x, expected]);
      keras.dispose();
    });
  }

  test('fromKerasWeights given the tf.js layer checks its activations; arrays stay unchecked', () => {
    const x = tf.randomNormal([1, 3, 2], 0, 1, 'float32', 1);
    const keras = kerasBuilt(() => tf.layers.lstm({ units: 3 }), x, 5);
    const sig = L.lstmLayer({ units: 3, name: 'lab_sigma' });
    sig.build([null, 3, 2]);
    assert.throws(() => L.fromKerasWeights(sig, keras), /recurrentActivation 'hardSigmoid' but 'lab_sigma' has 'sigmoid'.*fromKerasLayer/);
    const gru = L.gruLayer({ units: 3, recurrentActivation: 'hardSigmoid' });
    gru.build([null, 3, 2]);
    assert.throws(() => L.fromKerasWeights(gru, keras), /is a LSTM.*expected a GRU/);
    const hard = L.lstmLayer({ units: 3, recurrentActivation: 'hardSigmoid' });
    hard.build([null, 3, 2]);
    const before = tf.memory().numTensors;
    L.fromKerasWeights(hard, keras);
    assert.equal(tf.memory().numTensors, before, 'tensors leaked by fromKerasWeights(layer, kerasLayer)');
    const y = hard.apply(x), k = keras.apply(x);
    assertClose(y, k, 1e-6, 'checked copy vs tf.layers');
    tf.dispose([x, y, k]);
  });

  test('option checks: bad value, RNN with a gate activation, PyTorch export of hard gates', () => {
    assert.throws(() => L.lstmLayer({ units: 2, recurrentActivation: 'relu6' }), /recurrentActivation must be one of sigmoid, hardSigmoid.*got 'relu6'/);
    assert.throws(() => L.rnnLayer({ units: 2, recurrentActivation: 'hardSigmoid' }), /Elman RNN has no gates/);
    assert.throws(() => L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1, recurrentActivation: 'sigmoid' }), /no gates/);
    const m = L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: true, recurrentActivation: 'hardSigmoid' });
    assert.equal(L.specOf(m).recurrentActivation, 'hardSigmoid');
    assert.equal(L.recurrentLayers(m)[0].cellOptions.recurrentActivation, 'hardSigmoid');
    assert.throws(() => L.torchWeights(m), /recurrentActivation 'hardSigmoid'.*PyTorch/);
    // The option survives serialization (getConfig → fromConfig).
    const cfg = L.recurrentLayers(m)[0].getConfig();
    assert.equal(cfg.recurrentActivation, 'hardSigmoid');
    const re = L.LabGRU.fromConfig(L.LabGRU, cfg);
    assert.equal(re.cellOptions.recurrentActivation, 'hardSigmoid');
    assert.equal(L.rnnLayer({ units: 2 }).getConfig().recurrentActivation, undefined, 'an Elman layer stores no gate activation');
  });

  test("spectrum: gateGamma is σ's 1/4 or hardSigmoid's 0.2 for gated layers, absent for the Elman RNN", () => {
    const x = tf.zeros([1, 2, 3]);
    const cases = [[L.lstmLayer({ units: 4 }), 0.25], [L.gruLayer({ units: 4, recurrentActivation: 'hardSigmoid' }), 0.2],
      [L.lstmLayer({ units: 4, recurrentActivation: 'hardSigmoid' }), 0.2], [L.rnnLayer({ units: 4 }), undefined]];
    for (const [layer, want] of cases) {
      tf.dispose(layer.apply(x));
      const s = L.spectrum(layer);
      assert.equal(s.gateGamma, want, `${layer.name}: gateGamma`);
      assert.equal(s.gamma, 1, `${layer.name}: gamma (tanh) unchanged`);
    }
    assert.equal(L.ACTIVATION_GAMMA.hardSigmoid, 0.2);
    const bound = L.spectrum([[2, 0], [0, 1]], { activation: 'hardSigmoid' }).bound;
    assert.ok(Math.abs(bound - 0.4) <= 1e-9, `λ₁γ = 2·0.2; got ${bound}`);
    x.dispose();
  });
});

describe('fused hard-σ backward', () => {
  const OPTS = { activation: 'tanh', resetAfter: false, update: 'z-keeps-old', recurrentActivation: 'hardSigmoid' };

  /** h_T by the reference cell equations (tf.js ops, autodiff) from tensors, for tf.grads. */
  function referenceHT(kind, x, k, u, bias, h0, c0) {
    const [b, T, m] = x.shape;
    const n = u.shape[0];
    const fam = L.FAMILIES[kind];
    const w = fam.prepare({ recurrentKernel: u }, n);
    let state = { h: h0 ?? tf.zeros([b, n]), c: kind === 'lstm' ? c0 ?? tf.zeros([b, n]) : undefined };
    for (let t = 0; t < T; t++) {
      const xt = tf.reshape(tf.slice(x, [0, t, 0], [b, 1, m]), [b, m]);
      state = fam.step(tf.add(tf.matMul(xt, k), bias), state, w, OPTS);
    }
    return state.h;
  }

  /** Loss Σ h_T·R through the fused kernel or the reference equations. */
  function lossOf(kind, impl, _layer, x, R) {
    return (k, u, bias) => {
      if (impl === 'fused') {
        const r = L.fusedSequence(kind, x, k, u, bias, null, null, { recurrentActivation: 'hardSigmoid', returns: 'last' });
        return tf.sum(tf.mul(r.hT, R));
      }
      return tf.sum(tf.mul(referenceHT(kind, x, k, u, bias), R));
    };
  }

  for (const kind of ['lstm', 'gru']) {
    test(`${kind}: fused gradients = reference (1e-4 rel) = finite differences away from the kinks (2e-2 rel)`, () => {
      const [b, T, m, n] = [3, 6, 3, 4];
      const x = tf.randomNormal([b, T, m], 0, 1, 'float32', 7);
      const keras = kerasBuilt(() => tf.layers[kind]({ units: n }), x, 70);
      const lab = L.fromKerasLayer(keras);
      lab.impl = 'reference';
      const v = lab.variablesOf(0);
      const [K, U, B] = [v.kernel.read().clone(), v.recurrent_kernel.read().clone(), v.bias.read().clone()];
      const R = tf.randomNormal([b, n], 0, 1, 'float32', 8);
      const gF = tf.grads(lossOf(kind, 'fused', lab, x, R))([K, U, B]);
      const gR = tf.grads(lossOf(kind, 'reference', lab, x, R))([K, U, B]);
      ['kernel', 'recurrentKernel', 'bias'].forEach((name, i) => {
        const scale = tf.max(tf.abs(gR[i])).dataSync()[0];
        const rel = maxDiff(gF[i], gR[i]) / scale;
        console.log(`  ${kind} ∂L/∂${name}: max |fused − reference| / max |reference| = ${rel.toExponential(2)}`);
        assert.ok(rel <= 1e-4, `${kind} ∂L/∂${name}: ${rel}`);
      });
      // Finite differences on every bias entry (float64 loss from the JS equations is not needed:
      // central differences of the fused forward with ε = 1e-3, every pre-activation more than 2ε from a kink).
      const eps = 1e-3;
      const w64 = keras.getWeights().map((w) => w.arraySync());
      const { us } = kerasForward64(kind, x.arraySync(), w64, 'hardSigmoid');
      const margin = Math.min(...us.map((u) => Math.min(Math.abs(u), Math.abs(u - 1)))) / 0.2;  // in pre-activation units
      assert.ok(margin > 2 * eps, `a pre-activation is ${margin} from a kink; choose another seed`);
      const f = (bias) => tf.tidy(() => lossOf(kind, 'fused', lab, x, R)(K, U, bias).dataSync()[0]);
      const bArr = B.arraySync();
      const g = gF[2].arraySync();
      let worst = 0;
      for (let j = 0; j < bArr.length; j++) {
        const up = bArr.slice(), dn = bArr.slice();
        up[j] += eps; dn[j] -= eps;
        const fd = (f(tf.tensor1d(up)) - f(tf.tensor1d(dn))) / (2 * eps);
        worst = Math.max(worst, Math.abs(fd - g[j]) / Math.max(1e-3, Math.max(...g.map(Math.abs))));
      }
      console.log(`  ${kind} fused ∂L/∂bias vs central differences: max rel ${worst.toExponential(2)} (margin to kinks ${margin.toFixed(3)})`);
      assert.ok(worst <= 2e-2, `finite differences: ${worst}`);
      tf.dispose([x, K, U, B, R, ...gF, ...gR]);
    });
  }

  test('at the kinks (0.2a + 0.5 exactly 0 or 1) the fused derivative is 0.2, as tf.js differentiates clipByValue', () => {
    // n = 1, x = 0, U = 0: every pre-activation is its bias. i at a = −2.5 (u = 0), f and o at a = +2.5 (u = 1).
    const x = tf.zeros([1, 3, 1]);
    const K = tf.zeros([1, 4]), U = tf.zeros([1, 4]);
    const B = tf.tensor1d([-2.5, 2.5, 2.5, 0.7]);                       // rnn-lab order i f o g
    const c0 = tf.fill([1, 1], 0.5), h0 = tf.zeros([1, 1]);
    const ref = (k, u, b) => tf.sum(referenceHT('lstm', x, k, u, b, h0, c0));
    const fus = (k, u, b) => {
      const r = L.fusedSequence('lstm', x, k, u, b, h0, c0, { recurrentActivation: 'hardSigmoid', returns: 'last' });
      return tf.add(tf.sum(r.hT), tf.mul(0, tf.sum(r.cT)));
    };
    // tf.js's own autodiff of its hardSigmoid at the kinks, independently of rnn-lab:
    const hardSigmoidTf = tf.layers.activation({ activation: 'hardSigmoid' });
    const tfGrad = tf.grad((a) => tf.sum(hardSigmoidTf.apply(a)))(tf.tensor1d([-2.5, 2.5, -3, 3]));
    assert.deepEqual(Array.from(tfGrad.dataSync()).map((v) => Math.round(v * 1e6) / 1e6), [0.2, 0.2, 0, 0], 'tf.js: 0.2 at the kinks, 0 beyond');
    const gr = tf.grad((b) => ref(K, U, b))(B).arraySync();
    const gf = tf.grad((b) => fus(K, U, b))(B).arraySync();
    console.log(`  ∂h_T/∂b at the kinks: reference ${gr.map((v) => v.toFixed(6))}, fused ${gf.map((v) => v.toFixed(6))}`);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(gr[j] - gf[j]) <= 1e-6, `bias ${j}: reference ${gr[j]} vs fused ${gf[j]}`);
    assert.ok(Math.abs(gf[0]) > 1e-3, `the input gate sits on the lower kink: its gradient must not be 0; got ${gf[0]}`);
    tf.dispose([x, K, U, B, c0, h0, tfGrad]);
  });
});

describe('fromKerasLayer', () => {
  const [b, T, m, n] = [2, 5, 3, 4];
  const cases = [
    ['lstm default (hardSigmoid)', () => tf.layers.lstm({ units: n })],
    ['lstm sigmoid, sequences, goBackwards', () => tf.layers.lstm({ units: n, recurrentActivation: 'sigmoid', returnSequences: true, goBackwards: true })],
    ['gru default, useBias false', () => tf.layers.gru({ units: n, useBias: false })],
    ['simpleRNN relu', () => tf.layers.simpleRNN({ units: n, activation: 'relu', returnSequences: true })],
    ['bidirectional gru, sequences', () => tf.layers.bidirectional({ layer: tf.layers.gru({ units: n, returnSequences: true }) })],
    ['bidirectional lstm, last', () => tf.layers.bidirectional({ layer: tf.layers.lstm({ units: n }) })],
    ['lstm returnState', () => tf.layers.lstm({ units: n, returnState: true })],
  ];
  for (const [name, make] of cases) {
    test(`${name}: same outputs as tf.layers on both paths (1e-5)`, () => {
      const x = tf.randomNormal([b, T, m], 0, 1, 'float32', 3);
      const keras = kerasBuilt(make, x, 90);
      const expected = [keras.apply(x)].flat();
      for (const impl of IMPLS) {
        const lab = L.fromKerasLayer(keras);
        lab.impl = impl;
        const got = [lab.apply(x)].flat();
        assert.equal(got.length, expected.length, 'number of outputs');
        got.forEach((g, i) => assertClose(g, expected[i], 1e-5, `${name} ${impl} output ${i}`));
        // Flat memory across calls.
        const before = tf.memory().numTensors;
        for (let k = 0; k < 3; k++) tf.dispose(lab.apply(x));
        assert.equal(tf.memory().numTensors, before, 'tensors leaked by apply');
        tf.dispose(got);
      }
      tf.dispose([x, ...expected]);
    });
  }

  test('refuses what it cannot represent, naming the option and value', () => {
    const x = tf.zeros([1, 2, 3]);
    const built = (l) => { tf.dispose(l.apply(x)); return l; };
    assert.throws(() => L.fromKerasLayer(tf.layers.lstm({ units: 2 })), /not built/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.lstm({ units: 2, activation: 'relu' }))), /activation: "?relu"?.*tanh/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.gru({ units: 2, recurrentActivation: 'tanh' }))), /recurrentActivation: "?tanh"?/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.lstm({ units: 2, dropout: 0.3 }))), /dropout: 0\.3.*\{ dropout: 'drop' \}/);
    const dropped = L.fromKerasLayer(built(tf.layers.lstm({ units: 2, recurrentDropout: 0.2 })), { dropout: 'drop' });
    assert.equal(dropped.units, 2);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.simpleRNN({ units: 2, kernelRegularizer: tf.regularizers.l2() }))), /kernelRegularizer/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.bidirectional({ layer: tf.layers.lstm({ units: 2 }), mergeMode: 'sum' }))), /mergeMode "?sum"?/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.dense({ units: 2 }))), /is a Dense; supported: SimpleRNN, LSTM, GRU/);
    assert.throws(() => L.fromKerasLayer(built(tf.layers.lstm({ units: 2 })), { nmae: 'x' }), /unknown options key 'nmae'.*'name'/);
    x.dispose();
  });
});

describe('importLayersModel', () => {
  /** A tf.js model with random weights (scale ~1) and its rnn-lab import; predictions compared. */
  async function roundTrip(what, model, xs, expectBuilder, options) {
    const ws = model.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 200 + i), w.shape.length === 1 ? 0.3 : 1.2 / Math.sqrt(w.shape[0])));
    model.setWeights(ws);
    tf.dispose(ws);
    const lab = await L.importLayersModel(model, options);
    const expected = model.predict(xs);
    const got = lab.predict(xs);
    assertClose(got, expected, 1e-5, `${what}: rnn-lab import vs tf.js predict`);
    if (expectBuilder) assert.ok(L.specOf(lab), 'builder model');
    else assert.throws(() => L.specOf(lab), /not made by build/);
    tf.dispose([expected, got]);
    return lab;
  }

  test('Embedding → LSTM → Dense(softmax) becomes buildLSTM with the weights (many-to-one)', async () => {
    const model = tf.sequential({ layers: [
      tf.layers.embedding({ inputDim: 7, outputDim: 5, inputLength: 6 }),
      tf.layers.lstm({ units: 8 }),
      tf.layers.dense({ units: 7, activation: 'softmax' }),
    ] });
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6], [0, 6, 6, 2, 1, 3], [5, 5, 5, 0, 0, 1]]);
    const lab = await roundTrip('embedding+lstm+dense', model, ids, true);
    const spec = L.specOf(lab);
    assert.deepEqual({ cell: spec.cell, vocabSize: spec.vocabSize, embeddingSize: spec.embeddingSize, hiddenSize: spec.hiddenSize, topology: spec.topology, recurrentActivation: spec.recurrentActivation },
      { cell: 'lstm', vocabSize: 7, embeddingSize: 5, hiddenSize: 8, topology: 'many-to-one', recurrentActivation: 'hardSigmoid' });
    assert.deepEqual(lab.layers.map((l) => l.name).filter((s) => s !== 'input'), ['embedding', 'rnn_l0', 'head']);
    ids.dispose();
  });

  test('Bidirectional GRU many-to-many → buildGRU({ bidirectional, topology many-to-many })', async () => {
    const model = tf.sequential({ layers: [
      tf.layers.bidirectional({ layer: tf.layers.gru({ units: 6, returnSequences: true }), inputShape: [5, 3] }),
      tf.layers.dense({ units: 2 }),
    ] });
    const x = tf.randomNormal([4, 5, 3], 0, 1, 'float32', 9);
    const lab = await roundTrip('bidirectional gru many-to-many', model, x, true);
    const spec = L.specOf(lab);
    assert.equal(spec.bidirectional, true);
    assert.equal(spec.topology, 'many-to-many');
    x.dispose();
  });

  test('stacked SimpleRNN (functional chain, loaded from a folder) → buildRNN with 2 layers', async () => {
    const input = tf.input({ shape: [null, 3] });
    let h = tf.layers.simpleRNN({ units: 5, returnSequences: true }).apply(input);
    h = tf.layers.simpleRNN({ units: 5 }).apply(h);
    const out = tf.layers.dense({ units: 1 }).apply(h);
    const model = tf.model({ inputs: input, outputs: out });
    const ws = model.getWeights().map((w, i) => tf.mul(tf.randomNormal(w.shape, 0, 1, 'float32', 300 + i), 0.6));
    model.setWeights(ws);
    tf.dispose(ws);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-keras-'));
    await L.saveModel(model, dir);
    const x = tf.randomNormal([3, 8, 3], 0, 1, 'float32', 10);
    for (const source of [dir, path.join(dir, 'model.json')]) {
      const lab = await L.importLayersModel(source);
      assert.equal(L.specOf(lab).numLayers, 2);
      const e = model.predict(x), g = lab.predict(x);
      assertClose(g, e, 1e-5, `stacked simpleRNN from ${path.basename(source)}`);
      tf.dispose([e, g]);
    }
    fs.rmSync(dir, { recursive: true, force: true });
    x.dispose();
  });

  test('a chain no builder makes (two sizes, relu Dense, Dropout dropped) → a plain model of rnn-lab layers', async () => {
    const model = tf.sequential({ layers: [
      tf.layers.lstm({ units: 6, returnSequences: true, inputShape: [4, 2] }),
      tf.layers.dropout({ rate: 0.5 }),
      tf.layers.gru({ units: 3, recurrentActivation: 'sigmoid' }),
      tf.layers.dense({ units: 4, activation: 'relu' }),
      tf.layers.dense({ units: 1 }),
    ] });
    const x = tf.randomNormal([3, 4, 2], 0, 1, 'float32', 12);
    await assert.rejects(L.importLayersModel(model), /Dropout layers '.*' act only in training.*dropout: 'drop'/);
    const lab = await roundTrip('lstm+dropout+gru+dense+dense', model, x, false, { dropout: 'drop' });
    assert.deepEqual(lab.getUserDefinedMetadata()['rnn-lab-import'].dropped, [model.layers[1].name]);
    const kinds = lab.layers.map((l) => l.getClassName());
    assert.ok(kinds.includes('LabLSTM') && kinds.includes('LabGRU'), `rnn-lab layers: ${kinds}`);
    x.dispose();
  });

  test('unsupported layers are listed; non-chains are refused; maskZero imports as padId 0', async () => {
    const model = tf.sequential({ layers: [
      tf.layers.conv1d({ filters: 2, kernelSize: 2, inputShape: [5, 3] }),
      tf.layers.lstm({ units: 2, returnSequences: true }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1 }),
    ] });
    await assert.rejects(L.importLayersModel(model), /unsupported layers '.*' \(Conv1D\), '.*' \(Flatten\)/);
    // An Embedding with maskZero imports as padId 0 (issue 16): the same predictions on rows padded with 0 at the end.
    for (const layers of [
      [tf.layers.embedding({ inputDim: 4, outputDim: 2, maskZero: true, inputLength: 3 }), tf.layers.lstm({ units: 2 })],
      [tf.layers.embedding({ inputDim: 4, outputDim: 2, maskZero: true, inputLength: 3 }), tf.layers.gru({ units: 2 }), tf.layers.dense({ units: 1 })],
    ]) {
      const masked = tf.sequential({ layers });
      const lab = await L.importLayersModel(masked);
      const ids = tf.tensor2d([[1, 2, 0], [3, 0, 0], [1, 2, 3]]);
      const d = tf.tidy(() => Math.max(...lab.predict(ids).sub(masked.predict(ids)).abs().dataSync()));
      assert.ok(d <= 1e-6, `maskZero import: predictions differ by ${d}`);
      assert.equal(lab.layers.find((l) => l.getClassName() === 'LabEmbedding').padId, 0);
      ids.dispose();
    }
    const a = tf.input({ shape: [3, 2] });
    const two = tf.layers.concatenate().apply([tf.layers.lstm({ units: 2 }).apply(a), tf.layers.gru({ units: 2 }).apply(a)]);
    await assert.rejects(L.importLayersModel(tf.model({ inputs: a, outputs: two })), /unsupported layers .*Concatenate|not fed by the layer before it/);
    await assert.rejects(L.importLayersModel(42), /source must be a tf.LayersModel or a folder path/);
  });
});
