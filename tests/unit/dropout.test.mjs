// Dropout (issue 19, item 3): input dropout (Zaremba et al. 2014) and recurrent dropout (Gal &
// Ghahramani 2016) in the recurrent layers and the builders, seeded, in training calls only.
//
// Oracles, none of them the code under test:
//  - the reference path (tf.js ops per step, autodiff) against the fused kernels, given the same masks
//    (both paths draw them from the same seeded stream before dispatching);
//  - a linear Elman construction (W_xh = 1, W_hh = I, x = 1 at step 1 only), whose states are the
//    product of the recurrent masks of the steps so far: one mask per sequence gives h_t = m^(t−1);
//  - central finite differences of the reference path with fixed masks;
//  - the binomial law of the number of dropped units;
//  - the same weights without dropout (inference never drops).
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();

const maxDiff = (a, b) => T.tidy(() => T.max(T.abs(T.sub(a, b))).dataSync()[0]);
/** Free a layer built by hand (tf.layers' dispose wants a layer that was applied symbolically). */
const free = (...layers) => { for (const l of layers) for (const w of l.weights) w.dispose(); };
const throwsMsg = (fn, re, what) => assert.throws(fn, (e) => { assert.match(e.message, re, what); return true; }, what);

/** A layer of `kind` built on [batch, T, m] with `impl`; same seed → same weights. */
function makeLayer(kind, impl, o) {
  const layer = new (L.layerClass(kind))({ units: o.n, seed: 7, impl, returnSequences: true, returnState: true, ...o.extra });
  layer.build([null, o.T, o.m]);
  return layer;
}

/** Output, states and gradients (x and every weight) of one training call of `layer`, loss = Σ outputs ⊙ fixed weights. */
function trainingCall(layer, x, lengths, weightsOf) {
  const vars = layer.trainableWeights.map((w) => w.read());
  return T.tidy(() => {
    const f = (xx, ...ws) => {
      const outs = layer.apply(xx, { training: true, ...(lengths ? { lengths } : {}) });
      return T.addN(outs.map((o, i) => T.sum(T.mul(o, weightsOf(i, o.shape)))));
    };
    const outs = layer.apply(x, { training: true, ...(lengths ? { lengths } : {}) });
    layer.dropoutCalls -= 1;   // the gradient call below draws the same masks again
    const g = T.grads(f)([x, ...vars]);
    return { outs, g };
  });
}

for (const backend of ['wasm', 'cpu']) {
  describe(`dropout on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('fused kernels equal the reference path given the same masks (rnn, lstm, gru; lengths; bidirectional; threads)', () => {
      const cases = [
        ['rnn', {}], ['lstm', {}], ['gru', {}], ['gru', { resetAfter: true }],
        ['lstm', { bidirectional: true }], ['gru', { bidirectional: true, goBackwards: false }], ['rnn', { goBackwards: true }],
      ];
      const rng = new L.Rng(11);
      let worst = { out: 0, grad: 0 };
      for (const threads of [1, 2]) {
        L.setFusedThreads(threads, threads > 1 ? { minWork: 0, minRows: 2 } : {});
        for (const [kind, extra] of cases) {
          for (const ragged of [false, true]) {
            const o = { n: 6, m: 3, T: 5, extra: { dropout: 0.3, recurrentDropout: 0.4, ...extra } };
            const b = 9;
            const x = T.tensor3d(Array.from({ length: b * o.T * o.m }, () => rng.normal()), [b, o.T, o.m]);
            const lengths = ragged ? [5, 2, 4, 5, 1, 3, 5, 2, 4] : null;
            const wCache = new Map();
            const weightsOf = (i, shape) => { const k = `${i}:${shape}`; if (!wCache.has(k)) wCache.set(k, T.keep(T.tensor(Array.from({ length: shape.reduce((s, d) => s * d, 1) }, () => rng.normal()), shape))); return wCache.get(k); };
            const ref = makeLayer(kind, 'reference', o);
            const fus = makeLayer(kind, 'fused', o);
            const ms0 = L.fusedInfo().kernelMs;
            const a = trainingCall(ref, x, lengths, weightsOf);
            const before = L.fusedInfo().kernelMs;
            assert.equal(before, ms0, 'the reference path never enters the kernels');
            const f = trainingCall(fus, x, lengths, weightsOf);
            assert.ok(L.fusedInfo().kernelMs > before, `${kind} ${JSON.stringify(extra)}: the fused call ran in the kernels (no fallback)`);
            const dOut = Math.max(...a.outs.map((t, i) => maxDiff(t, f.outs[i])));
            const dGrad = Math.max(...a.g.map((t, i) => maxDiff(t, f.g[i])));
            console.log(`${backend} threads ${threads} ${kind} ${JSON.stringify(extra)}${ragged ? ' lengths' : ''}: max |out diff| ${dOut.toExponential(2)}, max |grad diff| ${dGrad.toExponential(2)}`);
            assert.ok(dOut <= 1e-5, `${kind}: outputs differ by ${dOut}`);
            assert.ok(dGrad <= 1e-4, `${kind}: gradients differ by ${dGrad}`);
            worst = { out: Math.max(worst.out, dOut), grad: Math.max(worst.grad, dGrad) };
            T.dispose([x, ...a.outs, ...a.g, ...f.outs, ...f.g, ...wCache.values()]);
            free(ref, fus);
          }
        }
      }
      L.setFusedThreads(1);
      console.log(`${backend} fused vs reference with dropout masks: worst output diff ${worst.out.toExponential(2)}, worst gradient diff ${worst.grad.toExponential(2)}`);
    });

    test('fusedSequence recurrentMask equals forwardSequence dropoutMasks given explicit masks', () => {
      for (const kind of ['rnn', 'lstm', 'gru']) {
        const layer = makeLayer(kind, 'reference', { n: 5, m: 2, T: 4, extra: { returnState: false } });
        const v = layer.variablesOf(0);
        const x = T.randomNormal([3, 4, 2], 0, 1, 'float32', 3);
        const mask = T.tensor2d([[2, 0, 2, 2, 0], [0, 2, 2, 0, 2], [2, 2, 0, 2, 2]]);
        const ref = layer.forwardSequence(x, { dropoutMasks: { recurrent: [mask] } }).output;
        const fus = L.fusedSequence(kind, x, v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), null, null, { recurrentMask: mask }).hs;
        const plain = layer.forwardSequence(x).output;
        const d = maxDiff(ref, fus);
        console.log(`${backend} ${kind} explicit recurrent mask: max |fused − reference| ${d.toExponential(2)}; differs from no mask by ${maxDiff(ref, plain).toExponential(2)}`);
        assert.ok(d <= 1e-5);
        assert.ok(maxDiff(ref, plain) > 1e-3, 'the mask changes the output');
        T.dispose([x, mask, ref, fus, plain]);
        free(layer);
      }
    });

    test('the recurrent mask is one per sequence: a linear RNN gives h_t = m^(t−1)', () => {
      const n = 64, Tn = 6, p = 0.5;
      for (const impl of ['reference', 'fused']) {
        const layer = L.rnnLayer({ units: n, activation: 'linear', recurrentDropout: p, returnSequences: true, impl, seed: 3 });
        layer.build([null, Tn, 1]);
        const v = layer.variablesOf(0);
        v.kernel.write(T.ones([1, n]));
        v.recurrent_kernel.write(T.eye(n));
        v.bias.write(T.zeros([n]));
        const x = T.tensor3d([1, 0, 0, 0, 0, 0], [1, Tn, 1]);   // x_1 = 1, then 0
        const hs = layer.apply(x, { training: true }).arraySync()[0];   // [T, n]
        const m = hs[1];                                                 // h_2 = h_1 ⊙ m = m
        const s = 1 / (1 - p);
        assert.ok(m.every((v) => v === 0 || Math.abs(v - s) < 1e-6), `${impl}: mask values are 0 or 1/(1−p)`);
        const dropped = m.filter((v) => v === 0).length;
        assert.ok(dropped > 0 && dropped < n, `${impl}: some units dropped, some kept (${dropped}/${n})`);
        for (let t = 1; t < Tn; t++) {
          hs[t].forEach((h, j) => assert.ok(Math.abs(h - m[j] ** t) <= 1e-5 * s ** t, `${impl}: h_${t + 1}[${j}] = ${h}, m^${t} = ${m[j] ** t}`));
        }
        console.log(`${backend} ${impl}: h_t = m^(t−1) for t = 2..${Tn} with ${dropped}/${n} units dropped (a mask per step would leave ≈ ${(n * 0.5 ** (Tn - 1)).toFixed(1)} nonzero at t = ${Tn}, here ${n - dropped})`);
        T.dispose(x);
        free(layer);
      }
    });

    test('the fraction of dropped units is p (binomial bounds), values 0 or 1/(1−p)', () => {
      const layer = L.lstmLayer({ units: 50, dropout: 0.3, recurrentDropout: 0.2, seed: 5, bidirectional: true });
      layer.build([null, 40, 20]);
      const masks = layer.drawDropoutMasks(32, 40);
      for (const [key, p] of [['input', 0.3], ['recurrent', 0.2]]) {
        for (const t of masks[key]) {
          const v = t.dataSync();
          const N = v.length;
          let zeros = 0;
          for (const u of v) { if (u === 0) zeros++; else assert.ok(Math.abs(u - 1 / (1 - p)) < 1e-6); }
          const sd = Math.sqrt(N * p * (1 - p));
          console.log(`${backend} ${key} mask: ${zeros}/${N} dropped = ${(zeros / N).toFixed(4)}, p = ${p}, |Δ| = ${(Math.abs(zeros - N * p) / sd).toFixed(2)} sd (bound 5 sd)`);
          assert.ok(Math.abs(zeros - N * p) <= 5 * sd, `${key}: ${zeros} of ${N} dropped, expected ${N * p} ± 5·${sd.toFixed(1)}`);
        }
      }
      assert.notEqual(maxDiff(masks.input[0], masks.input[1]), 0, 'each direction draws its own mask');
      T.dispose([...masks.input, ...masks.recurrent]);
      free(layer);
    });

    test('same seed → same masks and losses; different seed or next call → different masks', async () => {
      const a = L.gruLayer({ units: 8, dropout: 0.25, recurrentDropout: 0.25, seed: 4 });
      const b = L.gruLayer({ units: 8, dropout: 0.25, recurrentDropout: 0.25, seed: 4 });
      const c = L.gruLayer({ units: 8, dropout: 0.25, recurrentDropout: 0.25, seed: 5 });
      for (const l of [a, b, c]) l.build([null, 6, 3]);
      const ma = a.drawDropoutMasks(4, 6), mb = b.drawDropoutMasks(4, 6), mc = c.drawDropoutMasks(4, 6), ma2 = a.drawDropoutMasks(4, 6);
      assert.equal(maxDiff(ma.input[0], mb.input[0]), 0);
      assert.equal(maxDiff(ma.recurrent[0], mb.recurrent[0]), 0);
      assert.ok(maxDiff(ma.input[0], mc.input[0]) > 0 && maxDiff(ma.recurrent[0], mc.recurrent[0]) > 0, 'another seed, other masks');
      assert.ok(maxDiff(ma.input[0], ma2.input[0]) > 0 && maxDiff(ma.recurrent[0], ma2.recurrent[0]) > 0, 'the next training call, other masks');
      a.dropoutCalls = 0;
      const again = a.drawDropoutMasks(4, 6);
      assert.equal(maxDiff(ma.recurrent[0], again.recurrent[0]), 0, 'dropoutCalls = 0 replays the masks');
      T.dispose([ma, mb, mc, ma2, again].flatMap((m) => [...m.input, ...m.recurrent]));
      free(a, b, c);

      const rng = new L.Rng(3);
      const N = 24, Tn = 8, V = 5;
      const ids = Array.from({ length: N }, () => Array.from({ length: Tn + 1 }, () => rng.int(V)));
      const x = T.tensor2d(ids.map((r) => r.slice(0, Tn)));
      const y = T.tensor2d(ids.map((r) => r.slice(1)));
      const run = async (seed, spec = {}) => {
        const m = L.buildLSTM({ vocabSize: V, hiddenSize: 12, outputSize: V, topology: 'many-to-many', outputActivation: 'softmax', numLayers: 2, dropout: 0.3, recurrentDropout: 0.3, seed, ...spec });
        const r = await L.train(m, { x, y }, { epochs: 3, batchSize: 8, loss: 'crossEntropy', verbose: false, seed: 1 });
        return { m, losses: r.epochs.map((e) => e.loss) };
      };
      const r1 = await run(1), r2 = await run(1), r3 = await run(2);
      console.log(`${backend} LSTM LM losses, seed 1: ${r1.losses.map((v) => v.toFixed(6)).join(', ')}; again: ${r2.losses.map((v) => v.toFixed(6)).join(', ')}; seed 2: ${r3.losses.map((v) => v.toFixed(6)).join(', ')}`);
      assert.deepEqual(r1.losses, r2.losses);
      assert.notDeepEqual(r1.losses, r3.losses);
      // resetDropout + the initial weights again: the same losses as the first run.
      const r4 = await run(1);
      const fresh = L.buildLSTM({ vocabSize: V, hiddenSize: 12, outputSize: V, topology: 'many-to-many', outputActivation: 'softmax', numLayers: 2, dropout: 0.3, recurrentDropout: 0.3, seed: 1 });
      r4.m.setWeights(fresh.getWeights());
      L.resetDropout(r4.m);
      const replay = await L.train(r4.m, { x, y }, { epochs: 3, batchSize: 8, loss: 'crossEntropy', verbose: false, seed: 1 });
      assert.deepEqual(replay.epochs.map((e) => e.loss), r1.losses, 'resetDropout replays the run');
      T.dispose([x, y]);
      [r1, r2, r3, r4].forEach((r) => r.m.dispose());
      fresh.dispose();
    });

    test('inference never drops: predict equals the same weights without dropout; a training call differs', () => {
      for (const topology of ['many-to-many', 'seq2seq']) {
        const spec = { vocabSize: 7, hiddenSize: 10, outputSize: 7, topology, outputActivation: 'softmax', numLayers: 2 };
        const withD = L.buildGRU({ ...spec, dropout: 0.4, recurrentDropout: 0.4 });
        const without = L.buildGRU(spec);
        without.setWeights(withD.getWeights());
        const src = T.tensor2d([[1, 2, 3, 4], [4, 3, 2, 1]]);
        const xs = topology === 'seq2seq' ? [src, T.tensor2d([[1, 5, 6], [2, 2, 6]])] : src;
        const p1 = withD.predict(xs), p0 = without.predict(xs);
        assert.equal(maxDiff(p1, p0), 0, `${topology}: predict does not drop`);
        const tr = withD.apply(xs, { training: true });
        const d = maxDiff(tr, p0);
        console.log(`${backend} ${topology}: predict with dropout = without (max diff 0); a training call differs by ${d.toExponential(2)}`);
        assert.ok(d > 1e-3);
        T.dispose([p1, p0, tr, ...(Array.isArray(xs) ? xs : [xs])]);
        withD.dispose(); without.dispose();
      }
    });

    test('p = 0 is the model without dropout, bit for bit', async () => {
      const spec = { inputSize: 2, hiddenSize: 6, outputSize: 1, numLayers: 2 };
      const a = L.buildLSTM(spec), b = L.buildLSTM({ ...spec, dropout: 0, recurrentDropout: 0 });
      assert.deepEqual(a.layers.map((l) => l.name), b.layers.map((l) => l.name));
      const x = T.randomNormal([8, 5, 2], 0, 1, 'float32', 1), y = T.randomNormal([8, 1], 0, 1, 'float32', 2);
      const ra = await L.train(a, { x, y }, { epochs: 2, batchSize: 4, verbose: false });
      const rb = await L.train(b, { x, y }, { epochs: 2, batchSize: 4, verbose: false });
      assert.deepEqual(ra.steps.map((s) => s.loss), rb.steps.map((s) => s.loss));
      T.dispose([x, y]); a.dispose(); b.dispose();
    });

    test('reference-path gradient with fixed masks matches central finite differences', () => {
      for (const kind of ['rnn', 'lstm', 'gru']) {
        const layer = makeLayer(kind, 'reference', { n: 4, m: 3, T: 4, extra: { returnState: false } });
        const x = T.randomNormal([2, 4, 3], 0, 1, 'float32', 9);
        const rng = new L.Rng(2);
        const mi = T.tensor3d(Array.from({ length: 24 }, () => (rng.next() < 0.3 ? 0 : 1 / 0.7)), [2, 4, 3]);
        const mr = T.tensor2d(Array.from({ length: 8 }, () => (rng.next() < 0.4 ? 0 : 1 / 0.6)), [2, 4]);
        const w = T.randomNormal([2, 4, 4], 0, 1, 'float32', 4);
        const U = layer.variablesOf(0).recurrent_kernel;
        const loss = (u) => T.tidy(() => { U.write(u); return T.sum(T.mul(layer.forwardSequence(x, { dropoutMasks: { input: [mi], recurrent: [mr] } }).output, w)); });
        const u0 = U.read().clone();
        // ∂L/∂W_hh by autodiff of the reference path.
        const vg = T.variableGrads(() => T.sum(T.mul(layer.forwardSequence(x, { dropoutMasks: { input: [mi], recurrent: [mr] } }).output, w)), [U.read()]);
        const gU = Object.values(vg.grads)[0].arraySync();
        const u = u0.arraySync();
        const eps = 1e-2;
        let worst = 0;
        for (let i = 0; i < u.length; i++) for (let j = 0; j < u[0].length; j += 3) {
          const up = u.map((r) => r.slice()), dn = u.map((r) => r.slice());
          up[i][j] += eps; dn[i][j] -= eps;
          const lp = loss(T.tensor2d(up)), ld = loss(T.tensor2d(dn));
          const fd = (lp.dataSync()[0] - ld.dataSync()[0]) / (2 * eps);
          T.dispose([lp, ld]);
          worst = Math.max(worst, Math.abs(fd - gU[i][j]));
        }
        U.write(u0);
        console.log(`${backend} ${kind}: ∂L/∂W_hh with fixed dropout masks vs central differences (ε = 1e-2, float32): max |diff| ${worst.toExponential(2)} (tolerance 2e-3)`);
        assert.ok(worst <= 2e-3, `${kind}: ${worst}`);
        T.dispose([x, mi, mr, w, u0, vg.value, ...Object.values(vg.grads)]);
        free(layer);
      }
    });

    test('save/load keeps the dropout options; no tensor leaks across training epochs', async () => {
      const dir = `/tmp/rnn-lab-dropout-${process.pid}-${backend}`;
      const m = L.buildGRU({ inputSize: 3, hiddenSize: 6, outputSize: 2, topology: 'many-to-many', dropout: 0.2, recurrentDropout: 0.3, bidirectional: true, numLayers: 2 });
      await L.saveModel(m, dir);
      const m2 = await L.loadModel(dir);
      assert.equal(L.specOf(m2).dropout, 0.2);
      assert.equal(L.specOf(m2).recurrentDropout, 0.3);
      for (const name of ['rnn_l0', 'rnn_l1']) {
        assert.equal(m2.getLayer(name).dropout, 0.2);
        assert.equal(m2.getLayer(name).recurrentDropout, 0.3);
      }
      assert.equal(m2.getLayer('dropout').rate, 0.2);
      const x = T.randomNormal([6, 5, 3], 0, 1, 'float32', 1), y = T.randomNormal([6, 5, 2], 0, 1, 'float32', 2);
      const p1 = m.predict(x), p2 = m2.predict(x);
      assert.equal(maxDiff(p1, p2), 0);
      const t1 = m.apply(x, { training: true }), t2 = m2.apply(x, { training: true });
      assert.equal(maxDiff(t1, t2), 0, 'the reloaded model draws the same masks');
      T.dispose([p1, p2, t1, t2]);
      await L.train(m, { x, y }, { epochs: 1, batchSize: 3, verbose: false });
      const n0 = T.memory().numTensors;
      await L.train(m, { x, y }, { epochs: 3, batchSize: 3, verbose: false });
      const n1 = T.memory().numTensors;
      console.log(`${backend} tensors after 1 epoch ${n0}, after 3 more ${n1}`);
      assert.equal(n1, n0);
      T.dispose([x, y]); m.dispose(); m2.dispose();
    });

    test('bad rates are refused, naming the option, the range and the value', () => {
      for (const bad of [-0.1, 1, 1.5, NaN, '0.5']) {
        throwsMsg(() => L.lstmLayer({ units: 2, dropout: bad }), /LabLSTM: dropout must be a number in \[0, 1\).*got/, `layer dropout ${bad}`);
        throwsMsg(() => L.gruLayer({ units: 2, recurrentDropout: bad }), /LabGRU: recurrentDropout must be a number in \[0, 1\).*got/, `layer recurrentDropout ${bad}`);
        throwsMsg(() => L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1, dropout: bad }), /buildRNN: spec\.dropout must be a number in \[0, 1\).*got/, `spec dropout ${bad}`);
        throwsMsg(() => L.buildLSTM({ inputSize: 1, hiddenSize: 2, outputSize: 1, recurrentDropout: bad }), /buildLSTM: spec\.recurrentDropout must be a number in \[0, 1\).*got/, `spec recurrentDropout ${bad}`);
      }
      throwsMsg(() => L.lstmLayer({ units: 2, dropout: 1 }), /got 1$/, 'the value given');
      const layer = L.rnnLayer({ units: 3 });
      layer.build([null, 2, 1]);
      const x = T.zeros([2, 2, 1]);
      throwsMsg(() => layer.forwardSequence(x, { dropoutMasks: { recurrent: [T.ones([2, 4])] } }), /options\.dropoutMasks\.recurrent must be 1 tensor .* of shape \[2, 3\]/, 'mask shape');
      T.dispose(x); free(layer);
    });
  });
}
