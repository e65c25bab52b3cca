// Gradient-flow diagnostics against analytic results, a hand-written BPTT in plain JS, and central
// finite differences through the state probes.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();

/** A seeded n×n orthogonal matrix (Gram–Schmidt in the test, independent of the library). */
function orthogonal(n, seed) {
  const rand = ref.seeded(seed);
  const cols = [];
  for (let j = 0; j < n; j++) {
    let v = Array.from({ length: n }, () => rand() - 0.5);
    for (const c of cols) { const d = v.reduce((s, x, i) => s + x * c[i], 0); v = v.map((x, i) => x - d * c[i]); }
    const norm = Math.hypot(...v);
    cols.push(v.map((x) => x / norm));
  }
  return Array.from({ length: n }, (_, i) => cols.map((c) => c[i]));       // columns → matrix
}

/** A many-to-one RNN model with chosen lecture weights. */
function rnnModel({ n, m, Whh, Wxh, bh, activation = 'tanh', head }) {
  const model = L.buildRNN({ inputSize: m, hiddenSize: n, outputSize: 1, activation });
  const layer = L.recurrentLayers(model)[0];
  L.setLectureWeights(layer, { Whh, Wxh, bh });
  if (head) model.getLayer('head').setWeights([tf.tensor2d(head.map((v) => [v])), tf.tensor1d([0])]);
  return model;
}

for (const backend of ['wasm', 'cpu']) {
  describe(`diagnostics on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('linear RNN with W_hh = a·Q: ‖∂h_T/∂h_k‖ = a^(T−k) to 1e-4 relative, for a = 0.5, 1, 1.5', () => {
      const n = 6, m = 2, T = 12;
      const Q = orthogonal(n, 3);
      for (const a of [0.5, 1, 1.5]) {
        const layer = L.rnnLayer({ units: n, activation: 'linear' });
        layer.build([null, null, m]);
        L.setLectureWeights(layer, { Whh: Q.map((r) => r.map((v) => a * v)), Wxh: Array.from({ length: n }, () => [0, 0]), bh: new Array(n).fill(0) });
        const x = tf.tensor3d(ref.randArray(ref.seeded(4), [1, T, m]));
        const before = tf.memory().numTensors;
        const { norms, factors } = L.jacobianNorms(layer, x);
        assert.equal(tf.memory().numTensors, before, 'jacobianNorms frees its tensors');
        let worst = 0;
        norms.forEach((v, i) => { const k = i + 1; worst = Math.max(worst, Math.abs(v - a ** (T - k)) / a ** (T - k)); });
        factors.forEach((f) => { worst = Math.max(worst, Math.abs(f - a) / a); });
        console.log(`  ${backend} a=${a}: ‖∂h_T/∂h_1‖ = ${norms[0].toExponential(4)} (a^${T - 1} = ${(a ** (T - 1)).toExponential(4)}), max relative error ${worst.toExponential(2)}`);
        assert.equal(norms.length, T);
        assert.ok(worst <= 1e-4, `max relative error ${worst}`);
        x.dispose();
      }
    });

    test('gradientFlow equals a hand-written BPTT (plain JS) and central finite differences through the probes', () => {
      const n = 4, m = 3, T = 7, b = 2;
      const rand = ref.seeded(17);
      const W = { Whh: ref.randArray(rand, [n, n], 0.7), Wxh: ref.randArray(rand, [n, m], 0.7), bh: ref.randArray(rand, [n], 0.3) };
      const head = ref.randArray(rand, [n], 1);
      const model = rnnModel({ n, m, ...W, head });
      const xs = ref.randArray(rand, [b, T, m]);
      const ys = ref.randArray(rand, [b, 1]);
      const x = tf.tensor3d(xs), y = tf.tensor2d(ys);
      const flow = L.gradientFlow(model, x, y);
      // Reference: forward with the lecture's equations, then backpropagate by hand:
      //   L = mean_b (w·h_T − y)²,  ∂L/∂h_T = 2(w·h_T − y)w / B,  ∂L/∂h_{t−1} = W_hhᵀ (∂L/∂h_t ⊙ (1 − h_t²))
      const dhNorm2 = new Array(T).fill(0);
      for (let i = 0; i < b; i++) {
        const hs = [];
        let h = new Array(n).fill(0);
        for (const xt of xs[i]) { h = ref.rnnStep(W, xt, h); hs.push(h); }
        const out = hs[T - 1].reduce((s, v, j) => s + v * head[j], 0);
        let dh = head.map((w) => (2 * (out - ys[i][0]) * w) / b);
        for (let t = T - 1; t >= 0; t--) {
          dhNorm2[t] += dh.reduce((s, v) => s + v * v, 0);
          const da = dh.map((v, j) => v * (1 - hs[t][j] ** 2));
          dh = Array.from({ length: n }, (_, k) => da.reduce((s, v, j) => s + W.Whh[j][k] * v, 0));   // W_hhᵀ da
        }
      }
      const want = dhNorm2.map(Math.sqrt);
      const got = flow.layers[0].directions[0].dh;
      const rel = Math.max(...got.map((g, t) => Math.abs(g - want[t]) / want[t]));
      console.log(`  ${backend} gradientFlow vs hand BPTT: max relative error ${rel.toExponential(2)}; ‖∂L/∂h_1‖ = ${got[0].toExponential(3)}, ‖∂L/∂h_T‖ = ${got[T - 1].toExponential(3)}`);
      assert.ok(rel <= 1e-4, `max relative error ${rel}`);
      // Finite differences: perturb h_t[j] through a probe and difference the loss.
      const layer = L.recurrentLayers(model)[0];
      const lossWith = (t, j, eps) => tf.tidy(() => {
        const probes = [[{ h: Array.from({ length: T }, (_, s) => tf.tensor2d(Array.from({ length: b }, () => Array.from({ length: n }, (_, k) => (s === t && k === j ? eps : 0))))) }]];
        const { output } = L.forwardModel(model, x, { probes });
        return tf.mean(tf.square(tf.sub(output, y))).dataSync()[0];
      });
      const eps = 1e-2;
      let fdErr = 0;
      for (const t of [0, 3, T - 1]) {
        // Σ_b ∂L/∂h_t[b, j] = the derivative of L when every batch row's h_t[j] moves by ε
        const grad = tf.tidy(() => {
          const probes = [[{ h: Array.from({ length: T }, () => tf.zeros([b, n])) }]];
          const f = (p) => { const pr = [[{ h: probes[0][0].h.map((z, s) => (s === t ? p : z)) }]]; return tf.mean(tf.square(tf.sub(L.forwardModel(model, x, { probes: pr }).output, y))); };
          return tf.sum(tf.grad(f)(probes[0][0].h[t]), 0).arraySync();
        });
        for (let j = 0; j < n; j++) {
          const fd = (lossWith(t, j, eps) - lossWith(t, j, -eps)) / (2 * eps);
          fdErr = Math.max(fdErr, Math.abs(fd - grad[j]) / Math.max(1e-2, Math.abs(fd)));
        }
      }
      console.log(`  ${backend} probe gradient vs finite differences (eps ${eps}): max relative error ${fdErr.toExponential(2)}`);
      assert.ok(fdErr <= 2e-3, `finite differences ${fdErr}`);
      tf.dispose([x, y]);
    });

    test('spectrum matches known matrices: diagonal, orthogonal × scale, rank one', () => {
      const d = L.spectrum([[3, 0, 0], [0, 2, 0], [0, 0, 0.5]]);
      assert.ok(Math.abs(d.sigmaMax - 3) < 1e-9 && Math.abs(d.spectralRadius - 3) < 1e-9, JSON.stringify(d));
      assert.ok(ref.maxDiff(d.singularValues, [3, 2, 0.5]) < 1e-9);
      const Q = orthogonal(5, 9).map((r) => r.map((v) => 0.7 * v));
      const o = L.spectrum(Q, { activation: 'sigmoid' });
      assert.ok(ref.maxDiff(o.singularValues, [0.7, 0.7, 0.7, 0.7, 0.7]) < 1e-9, `${o.singularValues}`);
      assert.ok(Math.abs(o.sigmaMax - 0.7) < 1e-9 && Math.abs(o.spectralRadius - 0.7) < 1e-6, JSON.stringify(o));
      assert.ok(Math.abs(o.bound - 0.7 * 0.25) < 1e-9, 'bound = λ₁γ with γ = ¼ for σ');
      const u = [1, 2, 2], v = [3, 0, 4];                                   // ‖u‖ = 3, ‖v‖ = 5, vᵀu = 11
      const r1 = L.spectrum(u.map((a) => v.map((c) => a * c)));
      assert.ok(Math.abs(r1.sigmaMax - 15) < 1e-9 && r1.singularValues[1] < 1e-6 && Math.abs(r1.spectralRadius - 11) < 1e-6, JSON.stringify(r1));
      const rot = L.spectrum([[0, -2], [2, 0]]);                             // eigenvalues ±2i
      assert.ok(Math.abs(rot.spectralRadius - 2) < 1e-6, `rotation ρ ${rot.spectralRadius}`);
      console.log(`  ${backend} spectrum: diag ${d.sigmaMax}, 0.7Q ${o.sigmaMax.toFixed(12)}, rank-one ${r1.sigmaMax.toFixed(9)} / ρ ${r1.spectralRadius.toFixed(9)}`);
      assert.throws(() => L.spectrum('W'), /W must be a tf\.Tensor2D, a RecurrentLayer or a non-empty array of equal-length rows/);
      assert.throws(() => L.spectrum([[1]], { activation: 'swish' }), /options\.activation must be one of tanh, sigmoid, relu, linear, hardSigmoid; got 'swish'/);
    });

    test('the verdict: geometric decay is vanishing, growth is exploding, flat is stable, with the fitted rate', () => {
      const T = 30;
      const seq = (r) => Array.from({ length: T }, (_, i) => r ** (T - (i + 1)));
      const v = L.verdictOf(seq(0.8)), e = L.verdictOf(seq(1.2)), s = L.verdictOf(seq(1.0));
      assert.equal(v.verdict, 'vanishing'); assert.ok(Math.abs(v.rate - 0.8) < 1e-9, `${v.rate}`);
      assert.equal(e.verdict, 'exploding'); assert.ok(Math.abs(e.rate - 1.2) < 1e-9);
      assert.equal(s.verdict, 'stable');
      assert.deepEqual(v.steps, [1, T - 1]);
    });

    test('measured per-step decay of ‖∂L/∂h_t‖ obeys the bound λ₁γ; small σ_max vanishes, large explodes', () => {
      const n = 8, m = 2, T = 30;
      const rand = ref.seeded(23);
      const Wxh = ref.randArray(rand, [n, m], 0.5);
      const base = ref.randArray(rand, [n, n], 1);
      const x = tf.tensor3d(ref.randArray(rand, [4, T, m]));
      const y = tf.tensor2d(ref.randArray(rand, [4, 1]));
      const results = {};
      for (const [label, target, activation] of [['small', 0.6, 'tanh'], ['large', 2.5, 'linear']]) {
        const s0 = L.spectrum(base).sigmaMax;
        const Whh = base.map((r) => r.map((v) => (v * target) / s0));        // σ_max(W_hh) = target
        const model = rnnModel({ n, m, Whh, Wxh, bh: new Array(n).fill(0), activation });
        const sp = L.spectrum(L.recurrentLayers(model)[0]);
        const flow = L.gradientFlow(model, x, y);
        const dh = flow.layers[0].directions[0].dh;
        const ratios = dh.slice(1).map((v, i) => dh[i] / v);                 // ‖∂L/∂h_{t−1}‖ / ‖∂L/∂h_t‖
        const maxRatio = Math.max(...ratios);
        results[label] = { bound: sp.bound, maxRatio, verdict: flow.verdict };
        console.log(`  ${backend} σ_max ${target} (${activation}): bound λ₁γ ${sp.bound.toFixed(4)}, largest measured step ratio ${maxRatio.toFixed(4)}, verdict ${flow.verdict.verdict} ×${flow.verdict.rate.toFixed(4)}/step`);
        assert.ok(Math.abs(sp.sigmaMax - target) < 1e-6);
        assert.ok(maxRatio <= sp.bound * (1 + 1e-4), `step ratio ${maxRatio} exceeds the bound ${sp.bound}`);
      }
      assert.equal(results.small.verdict.verdict, 'vanishing');
      assert.equal(results.large.verdict.verdict, 'exploding');
      tf.dispose([x, y]);
    });

    test('gradientFlow keeps norms far below 1e-19 and far above 1e19 (no float32 underflow or overflow)', () => {
      const n = 8, m = 1, T = 55;
      const Q = orthogonal(n, 5);
      const y = tf.tensor2d([[1], [-1]]);
      // a = 3: tiny inputs keep h_T ≈ 3^54·1e-15 finite while ∂L/∂h_1 reaches ~1e35.
      for (const [a, scale] of [[0.3, 1], [3, 1e-15]]) {
        const x = tf.tensor3d(ref.randArray(ref.seeded(3), [2, T, m], scale));
        const model = rnnModel({ n, m, Whh: Q.map((r) => r.map((v) => a * v)), Wxh: Array.from({ length: n }, () => [0.5]), bh: new Array(n).fill(0), activation: 'linear' });
        const dh = L.gradientFlow(model, x, y).layers[0].directions[0].dh;
        // linear, W_hh = aQ: ‖∂L/∂h_t‖ = a^(T−t)·‖∂L/∂h_T‖ exactly
        const worst = Math.max(...dh.map((v, i) => Math.abs(Math.log(v / (dh[T - 1] * a ** (T - 1 - i))))));
        console.log(`  ${backend} a=${a}: ‖∂L/∂h_1‖ = ${dh[0].toExponential(3)}, max |log error| ${worst.toExponential(2)}`);
        assert.ok(dh.every((v) => v > 0 && Number.isFinite(v)), 'every norm is positive and finite');
        assert.ok(worst < 1e-3, `log error ${worst}`);
        x.dispose();
      }
      y.dispose();
    });

    test('LSTM: gradientFlow reports ‖∂L/∂c_t‖ and gateStats match the gates computed step by step', () => {
      const model = L.buildLSTM({ inputSize: 2, hiddenSize: 5, outputSize: 1, seed: 3 });
      const x = tf.tensor3d(ref.randArray(ref.seeded(5), [3, 9, 2]));
      const y = tf.zeros([3, 1]);
      const flow = L.gradientFlow(model, x, y);
      const d = flow.layers[0].directions[0];
      assert.equal(d.dc.length, 9);
      assert.ok(d.dc.every((v) => v > 0 && Number.isFinite(v)));
      assert.equal(flow.dx.length, 9);
      // ‖∂L/∂c_t‖ against finite differences on a probe added to c_t (which also moves h_t = o⊙tanh(c_t)).
      const T = 9, b = 3, n = 5, eps = 1e-2;
      const lossWith = (t, vec) => tf.tidy(() => {
        const probes = [[{ h: Array.from({ length: T }, () => tf.zeros([b, n])), c: Array.from({ length: T }, (_, s) => (s === t ? tf.tensor2d(vec) : tf.zeros([b, n]))) }]];
        return tf.mean(tf.square(tf.sub(L.forwardModel(model, x, { probes }).output, y))).dataSync()[0];
      });
      let worst = 0;
      for (const t of [2, T - 1]) {
        const g = [];
        for (let i = 0; i < b; i++) for (let j = 0; j < n; j++) {
          const e = (sgn) => Array.from({ length: b }, (_, r) => Array.from({ length: n }, (_, k) => (r === i && k === j ? sgn * eps : 0)));
          g.push((lossWith(t, e(1)) - lossWith(t, e(-1))) / (2 * eps));
        }
        const fdNorm = Math.hypot(...g);
        worst = Math.max(worst, Math.abs(fdNorm - d.dc[t]) / fdNorm);
      }
      console.log(`  ${backend} ‖∂L/∂c_t‖ vs finite differences: max relative error ${worst.toExponential(2)}`);
      assert.ok(worst <= 5e-3, `‖∂L/∂c_t‖ finite differences ${worst}`);
      const stats = L.gateStats(model, x);
      assert.deepEqual(Object.keys(stats).sort(), ['f', 'g', 'i', 'o']);
      const layer = L.recurrentLayers(model)[0];
      const meanF = tf.tidy(() => tf.mean(tf.stack(layer.forwardSequence(x, { collectGates: true }).directions[0].gates.f)).dataSync()[0]);
      assert.ok(Math.abs(stats.f.mean - meanF) < 1e-6, `${stats.f.mean} vs ${meanF}`);
      for (const s of Object.values(stats)) assert.ok(s.nearZero >= 0 && s.nearOne <= 1 && s.nearZero + s.nearOne <= 1);
      assert.throws(() => L.gateStats(L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1 }), x), /vanilla RNN; it has no gates/);
      assert.throws(() => L.gradientFlow(model, x, y, { lossAt: 'every' }), /lossAt 'every' needs a many-to-many model/);
      tf.dispose([x, y]);
    });

    test('diagnostics leave no tensors behind', () => {
      const model = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, topology: 'many-to-many', numLayers: 2, bidirectional: true });
      const x = tf.randomNormal([2, 6, 2]), y = tf.randomNormal([2, 6, 1]);
      const run = () => { L.gradientFlow(model, x, y, { lossAt: 'every' }); L.gateStats(model, x, 1); L.jacobianNorms(L.recurrentLayers(model)[0], tf.tidy(() => tf.slice(x, [0, 0, 0], [1, -1, -1]))); };
      run();
      const before = tf.memory().numTensors;
      run(); run();
      assert.ok(tf.memory().numTensors <= before + 2, `tensors grew from ${before} to ${tf.memory().numTensors}`);
    });

    test('plot helpers build figures and clear errors', () => {
      const model = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1 });
      const x = tf.randomNormal([2, 5, 2]), y = tf.zeros([2, 1]);
      const flow = L.gradientFlow(model, x, y);
      const fig = L.gradientFlowFigure(flow, { bound: 0.9 });
      assert.equal(fig.layout.yaxis.type, 'log');
      assert.equal(fig.data.length, 3, 'dh, bound, dx');
      const bound = fig.data[1].y;
      assert.ok(Math.abs(bound[0] - flow.layers[0].directions[0].dh[4] * 0.9 ** 4) < 1e-12);
      assert.equal(L.heatmapFigure([[1, 2, 3], [4, 5, 6]]).data[0].type, 'heatmap');
      assert.equal(L.singularValuesFigure([[2, 0], [0, 1]]).data[0].y[0], 2);
      const html = L.textActivationHtml('ab<', [-1, 0, 1]);
      assert.equal((html.match(/<span/g) || []).length, 3);
      assert.match(html, /&lt;/);
      assert.throws(() => L.textActivationHtml('abc', [1]), /text has 3 characters but values has 1/);
      assert.throws(() => L.heatmapFigure('x'), /rows must be an array of arrays/);
      tf.dispose([x, y]);
    });
  });
}
