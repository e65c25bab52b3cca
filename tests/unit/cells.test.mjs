// The cells and layers against independent references: the lecture's equations in plain JS,
// tf.layers with mapped weights, the unrolled feed-forward form, and central finite differences.
// Runs on both the WASM and the CPU backend.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();
const TOL = 1e-5;

const makeLayer = { rnn: L.rnnLayer, lstm: L.lstmLayer, gru: L.gruLayer };

/** A built layer with random (non-default) weights in every block, so gate mix-ups show. */
function randomLayer(kind, opts, m, seed) {
  const layer = makeLayer[kind]({ ...opts, seed });
  layer.build([null, null, m]);
  const rand = ref.seeded(seed);
  for (let d = 0; d < layer.directions; d++) {
    const w = {};
    for (const name of L.lectureNames(layer)) {
      const shape = name.startsWith('Wx') ? [opts.units, m] : name.startsWith('Wh') ? [opts.units, opts.units] : [opts.units];
      w[name] = ref.randArray(rand, shape, 0.8);
    }
    L.setLectureWeights(layer, w, d);
  }
  return layer;
}

function refSequence(kind, W, xs, opts = {}) {
  // xs: [T][m] for one batch row; returns hs [T][n] (and cs)
  const n = W.bh?.length ?? W.bi?.length;
  let h = new Array(n).fill(0);
  let c = new Array(n).fill(0);
  const hs = [], cs = [];
  const act = { tanh: Math.tanh, relu: (v) => Math.max(0, v), sigmoid: ref.sigma, linear: (v) => v }[opts.activation ?? 'tanh'];
  for (const x of xs) {
    if (kind === 'rnn') h = ref.rnnStep(W, x, h, act);
    if (kind === 'lstm') ({ h, c } = ref.lstmStep(W, x, h, c));
    if (kind === 'gru') ({ h } = ref.gruStep(W, x, h, opts));
    hs.push(h); cs.push(c);
  }
  return { hs, cs };
}

for (const backend of ['wasm', 'cpu']) {
  describe(`cells and layers on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    const cases = [
      ['rnn', {}], ['rnn', { activation: 'relu' }], ['rnn', { activation: 'sigmoid' }], ['rnn', { activation: 'linear' }],
      ['lstm', {}],
      ['gru', {}], ['gru', { resetAfter: true }], ['gru', { update: 'z-takes-new' }], ['gru', { resetAfter: true, update: 'z-takes-new' }],
    ];
    for (const [kind, opts] of cases) {
      test(`${kind} ${JSON.stringify(opts)} equals the lecture's equations step by step (1e-5)`, () => {
        const [b, T, m, n] = [3, 5, 4, 6];
        const layer = randomLayer(kind, { units: n, returnSequences: true, ...opts }, m, 7);
        const x = ref.randArray(ref.seeded(11), [b, T, m]);
        const W = L.getLectureWeights(layer);
        const before = tf.memory().numTensors;
        const got = tf.tidy(() => {
          const r = layer.forwardSequence(tf.tensor3d(x), { collectGates: true });
          return { hs: r.directions[0].h.map((t) => t.arraySync()), cs: r.directions[0].c?.map((t) => t.arraySync()), out: r.output.arraySync() };
        });
        assert.equal(tf.memory().numTensors, before, 'forwardSequence inside tidy leaves no tensors');
        let maxH = 0, maxC = 0;
        for (let i = 0; i < b; i++) {
          const want = refSequence(kind, W, x[i], opts);
          for (let t = 0; t < T; t++) {
            maxH = Math.max(maxH, ref.maxDiff(got.hs[t][i], want.hs[t]), ref.maxDiff(got.out[i][t], want.hs[t]));
            if (kind === 'lstm') maxC = Math.max(maxC, ref.maxDiff(got.cs[t][i], want.cs[t]));
          }
        }
        console.log(`  ${backend} ${kind} ${JSON.stringify(opts)}: max |Δh| ${maxH.toExponential(2)}${kind === 'lstm' ? `, max |Δc| ${maxC.toExponential(2)}` : ''}`);
        assert.ok(maxH <= TOL && maxC <= TOL, `max |Δh| ${maxH}, |Δc| ${maxC} > ${TOL}`);
      });
    }

    test('a step returns the gate activations, equal to the lecture equations', () => {
      const layer = randomLayer('lstm', { units: 3 }, 2, 5);
      const W = L.getLectureWeights(layer);
      const x = [[0.3, -0.7]], h = [[0.1, 0.2, -0.3]], c = [[0.5, -0.5, 0.0]];
      const r = tf.tidy(() => {
        const s = layer.step(tf.tensor2d(x), { h: tf.tensor2d(h), c: tf.tensor2d(c) });
        return Object.fromEntries(Object.entries({ ...s.gates, h: s.h, c: s.c }).map(([k, t]) => [k, t.arraySync()[0]]));
      });
      const want = ref.lstmStep(W, x[0], h[0], c[0]);
      const d = Math.max(...['i', 'f', 'o', 'g'].map((k) => ref.maxDiff(r[k], want.gates[k])), ref.maxDiff(r.h, want.h), ref.maxDiff(r.c, want.c));
      console.log(`  ${backend} lstm step gates: max |Δ| ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `max |Δ| ${d}`);
      const g = randomLayer('gru', { units: 3, resetAfter: true }, 2, 6);
      const rg = tf.tidy(() => {
        const s = g.step(tf.tensor2d(x), { h: tf.tensor2d(h) });
        return Object.fromEntries(Object.entries(s.gates).map(([k, t]) => [k, t.arraySync()[0]]));
      });
      const wg = ref.gruStep(L.getLectureWeights(g), x[0], h[0], { resetAfter: true });
      const dg = Math.max(...['r', 'z', 'hTilde'].map((k) => ref.maxDiff(rg[k], wg.gates[k])));
      assert.ok(dg <= TOL, `GRU gates max |Δ| ${dg}`);
    });

    const kerasCases = [
      ['rnn', (u, o) => tf.layers.simpleRNN({ units: u, ...o })],
      ['lstm', (u, o) => tf.layers.lstm({ units: u, recurrentActivation: 'sigmoid', ...o })],
      ['gru', (u, o) => tf.layers.gru({ units: u, recurrentActivation: 'sigmoid', ...o })],
    ];
    for (const [kind, makeKeras] of kerasCases) {
      for (const goBackwards of [false, true]) {
        for (const returnSequences of [true, false]) {
          test(`${kind} equals tf.layers given mapped weights (goBackwards ${goBackwards}, returnSequences ${returnSequences})`, () => {
            const [b, T, m, n] = [2, 6, 3, 5];
            const ours = randomLayer(kind, { units: n, returnSequences, goBackwards }, m, 21);
            const keras = makeKeras(n, { returnSequences, goBackwards });
            const x = tf.tensor3d(ref.randArray(ref.seeded(3), [b, T, m]));
            tf.dispose(keras.apply(x));                                   // builds it
            const weights = L.toKerasWeights(ours);
            keras.setWeights(weights);
            tf.dispose(weights);
            const a = ours.apply(x), k = keras.apply(x);
            const d = ref.maxDiff(a.arraySync(), k.arraySync());
            console.log(`  ${backend} ${kind} vs tf.layers (back ${goBackwards}, seq ${returnSequences}): max |Δ| ${d.toExponential(2)}`);
            assert.ok(d <= TOL, `max |Δ| ${d}`);
            // and back: Keras layout → ours gives the same weights
            const fresh = makeLayer[kind]({ units: n, returnSequences, goBackwards });
            fresh.build([null, T, m]);
            L.fromKerasWeights(fresh, keras.getWeights());
            const d2 = ref.maxDiff(fresh.apply(x).arraySync(), a.arraySync());
            assert.ok(d2 <= 1e-7, `Keras round trip max |Δ| ${d2}`);
            tf.dispose([x, a, k]);
            keras.dispose();
          });
        }
      }
    }

    test('the RNN layer equals the unrolled feed-forward net with one shared W = [W_hh W_xh] at every step', () => {
      const [b, T, m, n] = [2, 7, 3, 4];
      const layer = randomLayer('rnn', { units: n, returnSequences: true }, m, 9);
      const W = L.getLectureWeights(layer);
      const x = ref.randArray(ref.seeded(5), [b, T, m]);
      const got = tf.tidy(() => layer.apply(tf.tensor3d(x)).arraySync());
      // The lecture's unrolled form: h_t = tanh(W (h_{t-1}; x_t) + b), T layers of a feed-forward
      // net that all use the same matrix W [n, n+m] — built here with tf.layers.dense sharing weights.
      const Wcat = W.Whh.map((row, i) => [...row, ...W.Wxh[i]]);                 // [n, n+m]
      const dense = tf.layers.dense({ units: n, activation: 'tanh', useBias: true });
      dense.build([null, n + m]);
      dense.setWeights([tf.tensor2d(Wcat).transpose(), tf.tensor1d(W.bh)]);
      const want = tf.tidy(() => {
        let h = tf.zeros([b, n]);
        const outs = [];
        for (let t = 0; t < T; t++) {
          const xt = tf.tensor2d(x.map((row) => row[t]));
          h = dense.apply(tf.concat([h, xt], 1));                                 // the same layer, T times
          outs.push(h);
        }
        return tf.stack(outs, 1).arraySync();
      });
      const d = ref.maxDiff(got, want);
      console.log(`  ${backend} unrolled feed-forward: max |Δ| ${d.toExponential(2)}`);
      assert.ok(d <= TOL, `max |Δ| ${d}`);
    });

    for (const [kind, opts] of [['rnn', {}], ['lstm', {}], ['gru', {}], ['gru', { resetAfter: true }], ['lstm', { bidirectional: true, initialState: 'learned' }]]) {
      test(`${kind} ${JSON.stringify(opts)}: gradients of every weight and of the input equal central finite differences`, () => {
        const [b, T, m, n] = [2, 3, 2, 3];
        const layer = randomLayer(kind, { units: n, returnSequences: true, ...opts }, m, 31);
        const x = tf.variable(tf.tensor3d(ref.randArray(ref.seeded(8), [b, T, m])));
        const target = tf.tensor3d(ref.randArray(ref.seeded(9), [b, T, n * layer.directions]));
        const lossFn = () => tf.tidy(() => tf.mul(0.5, tf.sum(tf.square(tf.sub(layer.apply(x), target)))));
        const vars = [...layer.trainableWeights.map((w) => w.read()), x];
        const { grads } = tf.variableGrads(lossFn, vars.filter((v) => v instanceof tf.Variable));
        const eps = 1e-2;
        let worst = 0;
        for (const v of vars) {
          const g = grads[v.name].dataSync();
          const vals = v.dataSync().slice();
          for (let i = 0; i < vals.length; i++) {
            const at = (delta) => { const c = vals.slice(); c[i] += delta; v.assign(tf.tensor(c, v.shape)); const l = lossFn(); const s = l.dataSync()[0]; l.dispose(); return s; };
            const fd = (at(eps) - at(-eps)) / (2 * eps);
            v.assign(tf.tensor(vals, v.shape));
            const err = Math.abs(fd - g[i]) / Math.max(1, Math.abs(fd));
            worst = Math.max(worst, err);
          }
        }
        console.log(`  ${backend} ${kind} ${JSON.stringify(opts)} finite differences (eps ${eps}, float32): max relative error ${worst.toExponential(2)} over ${vars.reduce((s, v) => s + v.size, 0)} entries`);
        assert.ok(worst < 5e-3, `max relative error ${worst} ≥ 5e-3`);
        tf.dispose([x, target, ...Object.values(grads)]);
      });
    }

    test('the two GRU update conventions are one model with z ↔ 1 − z (flip the z weights)', () => {
      const [b, T, m, n] = [2, 5, 3, 4];
      for (const resetAfter of [false, true]) {
        const a = randomLayer('gru', { units: n, returnSequences: true, resetAfter }, m, 41);
        const bLayer = L.gruLayer({ units: n, returnSequences: true, resetAfter, update: 'z-takes-new' });
        bLayer.build([null, null, m]);
        const W = L.getLectureWeights(a);
        const flipped = { ...W };
        for (const k of ['Wxz', 'Whz', 'bz', 'bhz']) if (W[k]) flipped[k] = JSON.parse(JSON.stringify(W[k]), (_, v) => (typeof v === 'number' ? -v : v));
        L.setLectureWeights(bLayer, flipped);
        const x = tf.tensor3d(ref.randArray(ref.seeded(2), [b, T, m]));
        const d = ref.maxDiff(a.apply(x).arraySync(), bLayer.apply(x).arraySync());
        console.log(`  ${backend} GRU conventions (resetAfter ${resetAfter}): max |Δ| ${d.toExponential(2)}`);
        assert.ok(d <= TOL, `max |Δ| ${d}`);
        x.dispose();
      }
    });

    test('initial state: given states are used, learned states train, and shapes are checked', () => {
      const [b, T, m, n] = [2, 4, 3, 5];
      const layer = randomLayer('lstm', { units: n, returnSequences: true, returnState: true }, m, 51);
      const W = L.getLectureWeights(layer);
      const x = ref.randArray(ref.seeded(4), [b, T, m]);
      const h0 = ref.randArray(ref.seeded(6), [b, n]), c0 = ref.randArray(ref.seeded(7), [b, n]);
      const [out, hT, cT] = layer.apply([tf.tensor3d(x), tf.tensor2d(h0), tf.tensor2d(c0)]);
      let h = h0[1], c = c0[1];
      for (const xt of x[1]) ({ h, c } = ref.lstmStep(W, xt, h, c));
      const d = Math.max(ref.maxDiff(hT.arraySync()[1], h), ref.maxDiff(cT.arraySync()[1], c), ref.maxDiff(out.arraySync()[1][T - 1], h));
      assert.ok(d <= TOL, `given initial state: max |Δ| ${d}`);
      assert.throws(() => layer.apply([tf.tensor3d(x), tf.zeros([3, n]), tf.zeros([b, n])]), /initialState\[0\] must have shape \[batch=2, hidden=5\] to match the input's batch; got \[3, 5\]/);
      assert.throws(() => layer.apply([tf.tensor3d(x), tf.zeros([b, n])]), /initialState must have 2 tensors \(h and c\); got 1/);
      const learned = L.rnnLayer({ units: n, initialState: 'learned' });
      learned.build([null, null, m]);
      const xt = tf.tensor3d(x);
      const { grads } = tf.variableGrads(() => tf.sum(learned.apply(xt)), learned.trainableWeights.map((w) => w.read()));
      const h0grad = Object.entries(grads).find(([k]) => /h0/.test(k))[1];
      assert.ok(tf.norm(h0grad).dataSync()[0] > 0, 'the learned h0 receives a gradient');
    });

    test('bad input names the argument, the expected shape and what was given', () => {
      const layer = randomLayer('gru', { units: 4 }, 3, 61);
      assert.throws(() => layer.apply(tf.zeros([2, 3])), /input x must have shape \[batch, time, features=3\]; got rank 2, shape \[2, 3\]/);
      assert.throws(() => layer.apply(tf.zeros([2, 5, 4])), /input x must have 3 features, shape \[batch, time, 3\]; got shape \[2, 5, 4\]/);
      assert.throws(() => layer.apply(tf.zeros([2, 0, 3])), /zero-length sequence \(shape \[2, 0, 3\]\)/);
      assert.throws(() => layer.apply(tf.tensor3d([[[1, NaN, 0]]])), /input x has NaN at \[0, 0, 1\] \(the first of 1 non-finite value; shape \[1, 1, 3\], layout \[batch, time, features=3\]\)/);
      assert.throws(() => layer.apply(tf.tensor3d([[[1, Infinity, 0]]])), /input x has Infinity at \[0, 0, 1\]/);
      assert.throws(() => L.lstmLayer({ units: 0 }), /units \(the hidden size n\) must be a positive integer; got 0/);
      assert.throws(() => L.rnnLayer({ units: 3, activation: 'gelu' }), /activation must be one of tanh, relu, sigmoid, linear; got 'gelu'/);
      assert.throws(() => L.gruLayer({ units: 3, update: 'sideways' }), /update must be one of z-keeps-old, z-takes-new; got 'sideways'/);
      assert.throws(() => L.setLectureWeights(layer, { Wxi: [[1]] }), /unknown weight 'Wxi' for a GRU layer; expected one of Wxr, Wxz, Wxh/);
      assert.throws(() => L.setLectureWeights(layer, { Whh: [[1, 2]] }), /Whh must have shape \[4, 4\]; got \[1, 2\]/);
      assert.throws(() => layer.step(tf.zeros([2, 3]), { h: tf.zeros([3, 4]) }), /state\.h must have shape \[batch=2, 4\]; got \[3, 4\]/);
    });

    test('no tensor leaks across apply, step and predict calls', () => {
      const layer = randomLayer('lstm', { units: 4, returnSequences: true }, 3, 71);
      const x = tf.randomNormal([2, 5, 3]);
      const run = () => {
        tf.dispose(layer.apply(x));
        const s = layer.zeroState(2);
        const x1 = tf.zeros([2, 3]);
        const r = layer.step(x1, s);
        tf.dispose([x1, s.h, s.c, r.h, r.c, ...Object.values(r.gates)]);
      };
      run();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 5; i++) run();
      assert.equal(tf.memory().numTensors, before, `tensors grew from ${before} to ${tf.memory().numTensors}`);
      x.dispose();
    });
  });
}
