// The layers' opt-in fused path (impl: 'fused') against the reference path: outputs, states and the
// gradients of every weight through a whole model, for every layer option, on both backends.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();
const MAKE = { rnn: L.rnnLayer, lstm: L.lstmLayer, gru: L.gruLayer };

function pair(kind, opts, m) {
  const a = MAKE[kind]({ ...opts, impl: 'reference', seed: 3 });
  const b = MAKE[kind]({ ...opts, impl: 'fused', seed: 3 });
  a.build([null, null, m]); b.build([null, null, m]);
  const rand = ref.seeded(9);
  // non-default values everywhere (biases and learned initial states too)
  for (let i = 0; i < a.trainableWeights.length; i++) {
    const t = tf.tensor(ref.randArray(rand, a.trainableWeights[i].shape, 0.6));
    a.trainableWeights[i].write(t); b.trainableWeights[i].write(t); t.dispose();
  }
  return [a, b];
}

for (const backend of ['wasm', 'cpu']) {
  describe(`fused layer path on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });
    const cases = [
      ['rnn', { returnSequences: true }], ['rnn', { activation: 'relu', bidirectional: true }],
      ['lstm', { returnSequences: true, returnState: true }], ['lstm', { bidirectional: true, returnSequences: true, initialState: 'learned' }],
      ['lstm', { goBackwards: true }],
      ['gru', { returnSequences: true }], ['gru', { resetAfter: true, update: 'z-takes-new', bidirectional: true, returnState: true }],
    ];
    for (const [kind, opts] of cases) {
      test(`${kind} ${JSON.stringify(opts)}: fused equals reference (outputs 1e-5, gradients 1e-4 relative)`, () => {
        const [b, T, m, n] = [3, 7, 4, 5];
        const [ra, fu] = pair(kind, { units: n, ...opts }, m);
        const x = tf.variable(tf.tensor3d(ref.randArray(ref.seeded(4), [b, T, m])));
        const run = (layer) => {
          const vars = [...layer.trainableWeights.map((w) => w.read()), x];
          const { value, grads } = tf.variableGrads(() => {
            const out = layer.apply(x);
            const list = Array.isArray(out) ? out : [out];
            return tf.addN(list.map((t, i) => tf.sum(tf.mul(t, tf.sin(tf.add(t, i))))));   // a loss touching every output
          }, vars);
          const outs = tf.tidy(() => { const o = layer.apply(x); return (Array.isArray(o) ? o : [o]).map((t) => t.arraySync()); });
          const g = vars.map((v) => grads[v.name].arraySync());
          tf.dispose([value, ...Object.values(grads)]);
          return { outs, g };
        };
        const A = run(ra), B = run(fu);
        const dOut = ref.maxDiff(A.outs, B.outs);
        let dGrad = 0;
        A.g.forEach((ga, i) => { const scale = Math.max(1, ...[ga].flat(3).map(Math.abs)); dGrad = Math.max(dGrad, ref.maxDiff(ga, B.g[i]) / scale); });
        console.log(`  ${backend} ${kind} ${JSON.stringify(opts)}: outputs max |Δ| ${dOut.toExponential(2)}, gradients max relative ${dGrad.toExponential(2)}`);
        assert.ok(dOut <= 1e-5, `outputs ${dOut}`);
        assert.ok(dGrad <= 1e-4, `gradients ${dGrad}`);
        x.dispose();
      });
    }

    test('a sequence longer than one block of step inputs (T = 2500 > 1024): reference equals fused, outputs and gradients', () => {
      const [b, T, m, n] = [2, 2500, 2, 4];
      const [ra, fu] = pair('gru', { units: n, returnSequences: true }, m);
      const x = tf.tensor3d(ref.randArray(ref.seeded(6), [b, T, m]));
      const run = (layer) => {
        const vars = layer.trainableWeights.map((w) => w.read());
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(layer.apply(x), tf.sin(tf.range(0, T).reshape([1, T, 1])))), vars);
        const out = tf.tidy(() => layer.apply(x).arraySync());
        const g = vars.map((v) => grads[v.name].arraySync());
        tf.dispose([value, ...Object.values(grads)]);
        return { out, g };
      };
      const before = tf.memory().numTensors;
      const A = run(ra), B = run(fu);
      assert.equal(tf.memory().numTensors, before, 'tensors flat');
      const dOut = ref.maxDiff(A.out, B.out);
      let dGrad = 0;
      A.g.forEach((ga, i) => { const scale = Math.max(1, ...[ga].flat(3).map(Math.abs)); dGrad = Math.max(dGrad, ref.maxDiff(ga, B.g[i]) / scale); });
      console.log(`  ${backend} gru T=${T}: outputs max |Δ| ${dOut.toExponential(2)}, gradients max relative ${dGrad.toExponential(2)}`);
      assert.ok(dOut <= 1e-5, `outputs ${dOut}`);
      assert.ok(dGrad <= 1e-4, `gradients ${dGrad}`);
      x.dispose();
    });

    test('a stacked fused model trains with train() like the reference one, without leaks', async () => {
      const spec = { inputSize: 2, hiddenSize: 8, outputSize: 1, numLayers: 2, seed: 5 };
      const { x, y } = L.addingProblem(64, 10, 3);
      const losses = {};
      for (const impl of ['reference', 'fused']) {
        const model = L.buildLSTM(spec);
        for (const l of L.recurrentLayers(model)) l.impl = impl;
        const before = tf.memory().numTensors;
        const r = await L.train(model, { x, y }, { epochs: 5, batchSize: 16, verbose: false, seed: 2 });
        assert.equal(tf.memory().numTensors, before, `${impl}: tensors grew`);
        losses[impl] = r.steps.map((s) => s.loss);
        model.dispose();
      }
      const d = ref.maxDiff(losses.reference, losses.fused);
      console.log(`  ${backend} 20 training steps: max |Δloss| fused vs reference ${d.toExponential(2)}`);
      assert.ok(d < 1e-4, `losses differ by ${d}`);
      tf.dispose([x, y]);
    });

    test('the default (fused) path: same seed, same losses, run twice; 200 training steps keep the heaps and tensor count flat', async () => {
      // Big enough that the batch is split across helper threads where the machine has 2+ cores.
      const spec = { inputSize: 2, hiddenSize: 32, outputSize: 1, seed: 7 };
      const { x, y } = L.addingProblem(256, 20, 11);
      const run = async (epochs) => {
        const model = L.buildLSTM(spec);
        assert.deepEqual(L.recurrentLayers(model).map((l) => l.impl), ['fused']);
        const r = await L.train(model, { x, y }, { epochs, batchSize: 64, verbose: false, seed: 3 });
        return { model, losses: r.steps.map((s) => s.loss) };
      };
      const a = await run(3), b = await run(3);
      assert.equal(a.losses.length, 12);
      assert.deepEqual(a.losses, b.losses, 'the same seed gave different losses');
      a.model.dispose(); b.model.dispose();
      console.log(`  ${backend} fused default, 12 steps twice: identical losses (${a.losses[0].toFixed(5)} → ${a.losses[11].toFixed(5)}); helper threads ${L.fusedInfo().helperThreads}`);

      const model = L.buildLSTM(spec);
      const opt = { batchSize: 64, verbose: false, seed: 3 };
      await L.train(model, { x, y }, { ...opt, epochs: 1 });              // warm-up: arenas and optimizer slots exist
      const tfHeap = () => (tf.getBackend() === 'wasm' ? tf.backend().wasm.HEAPU8.buffer.byteLength : 0);
      const before = { fused: L.fusedInfo().memoryBytes, tfHeap: tfHeap(), tensors: tf.memory().numTensors };
      const r = await L.train(model, { x, y }, { ...opt, epochs: 50 });   // 4 batches × 50 = 200 steps
      assert.equal(r.steps.length, 200);
      const after = { fused: L.fusedInfo().memoryBytes, tfHeap: tfHeap(), tensors: tf.memory().numTensors };
      console.log(`  ${backend} 200 steps: fused arenas ${before.fused} → ${after.fused} bytes, tf.js wasm heap ${before.tfHeap} → ${after.tfHeap}, tensors ${before.tensors} → ${after.tensors}`);
      assert.deepEqual(after, before);
      model.dispose();
      tf.dispose([x, y]);
    });

    test('impl is checked and serialized', () => {
      assert.throws(() => L.gruLayer({ units: 2, impl: 'turbo' }), /impl \(or RNN_LAB_RECURRENT_IMPL\) must be 'reference' or 'fused'; got 'turbo'/);
      assert.equal(L.lstmLayer({ units: 2, impl: 'fused' }).getConfig().impl, 'fused');
    });
  });
}
