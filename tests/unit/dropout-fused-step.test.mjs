// Dropout on the fused training step (src/fused/train-step.ts): input dropout, recurrent dropout and the
// builders' LabDropout before the head, drawn in JavaScript from the layers' own seeded streams.
//
// Oracle: train's tf.js step (`fusedStep: false`), where the layers draw their masks in their training
// calls and autodiff differentiates through them (tests/unit/dropout.test.mjs checks that path against
// the reference time loop and finite differences). The same model, data, seed and options on both paths
// must give the same losses step for step — which holds only if the fused step drops the same units
// (a mask drawn in another order, from another stream or for another call changes every loss by far
// more than the tolerance). Tolerances as tests/unit/fused-step.test.mjs: each step's loss to 1e-5
// relative, gradient norms to 1e-4 relative, every weight to 1e-4 relative (to its matrix's largest
// entry) after 20 steps. Also: the layers' dropoutCalls counters advance alike on both paths (so
// switching paths mid-run continues the same streams), the same seed gives identical losses, p = 0 is
// the model without dropout bit for bit, tensors stay flat. Run on wasm and cpu.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

import { N, T, M, dataFor, bothPaths, compare, counters } from './fused-paths.mjs';

/** Token data: ids [N, T] over V − 1 symbols, rows padded at the end with padId V − 1 (lengths 2..T), next-token targets. */
function tokenData(V, seed = 3) {
  const rng = new L.Rng(seed);
  const pad = V - 1;
  const x = [], y = [];
  for (let i = 0; i < N; i++) {
    const len = i === 0 ? T : 2 + (i * 3) % (T - 1);
    const row = Array.from({ length: T + 1 }, () => rng.int(V - 1));
    x.push(row.slice(0, T).map((v, t) => (t < len ? v : pad)));
    y.push(row.slice(1).map((v, t) => (t < len ? v : 0)));
  }
  return { x: tf.tensor2d(x, [N, T], 'int32'), y: tf.tensor2d(y, [N, T], 'int32'), lengths: x.map((r) => r.indexOf(pad) < 0 ? T : r.indexOf(pad)) };
}

const CASES = [
  ['lstm', { inputSize: M, hiddenSize: 8, outputSize: 2, dropout: 0.3, recurrentDropout: 0.25 }, { optimizer: 'adam', learningRate: 0.02 }, false],
  ['gru', { inputSize: M, hiddenSize: 8, outputSize: 2, resetAfter: true, recurrentDropout: 0.4 }, { optimizer: 'rmsprop', learningRate: 0.01 }, true],
  ['gru', { inputSize: M, hiddenSize: 8, outputSize: 1, outputActivation: 'sigmoid', dropout: 0.4, topology: 'many-to-many' }, { optimizer: 'sgd', learningRate: 0.1, clipNorm: 0.05 }, false],
  ['rnn', { inputSize: M, hiddenSize: 8, outputSize: 2, numLayers: 2, bidirectional: true, topology: 'many-to-many', dropout: 0.2, recurrentDropout: 0.3 }, { optimizer: 'momentum', learningRate: 0.02 }, true],
  ['lstm', { inputSize: M, hiddenSize: 8, outputSize: 4, outputActivation: 'softmax', numLayers: 2, bidirectional: true, dropout: 0.25, recurrentDropout: 0.25 }, { optimizer: 'adam', learningRate: 0.02 }, true],
  ['gru', { inputSize: M, hiddenSize: 8, outputSize: 3, numLayers: 3, topology: 'many-to-many', dropout: 0.3, recurrentDropout: 0.2 }, { optimizer: 'adam', learningRate: 0.01, clipValue: 0.05 }, false],
];

const caseName = (cell, spec, withLengths) => `${cell} ${spec.numLayers ?? 1} layer(s)${spec.bidirectional ? ' bidirectional' : ''} ${spec.topology ?? 'many-to-one'}` +
  ` dropout ${spec.dropout ?? 0} recurrentDropout ${spec.recurrentDropout ?? 0}${withLengths ? ' with lengths' : ''}`;

for (const backend of ['wasm', 'cpu']) {
  describe(`dropout on the fused training step, ${backend}`, () => {
    let saved;
    const restoreThreads = () => L.setFusedThreads(saved.threads, { minWork: saved.minWork, minRows: saved.minRows });
    before(async () => { await L.initBackend({ backend, quiet: true }); saved = L.fusedInfo(); });

    for (const [cell, spec, options, withLengths] of CASES) {
      const what = `${backend} ${caseName(cell, spec, withLengths)}`;
      test(`fused step = tf.js step with dropout over 20 steps: ${what}`, async () => {
        const data = dataFor(spec, withLengths);
        const d = compare(await bothPaths(cell, spec, data, options), what);
        console.log(`${what}: max rel. differences — loss ${d.dLoss.toExponential(2)}, ‖g‖ ${d.dNorm.toExponential(2)}, weights ${d.dW.toExponential(2)}`);
        tf.dispose([data.x, data.y]);
      });
    }

    test(`fused step = tf.js step with dropout, sharded over 2 threads (masks per shard, ragged rows): ${backend}`, async () => {
      L.setFusedThreads(2, { minWork: 0, minRows: 2 });
      try {
        const spec = { inputSize: M, hiddenSize: 8, outputSize: 2, numLayers: 2, bidirectional: true, topology: 'many-to-many', dropout: 0.3, recurrentDropout: 0.3 };
        const data = dataFor(spec, true, 12);
        const d = compare(await bothPaths('lstm', spec, data, { optimizer: 'adam', learningRate: 0.02 }), `${backend} threads`);
        console.log(`${backend} lstm 2 threads: max rel. differences — loss ${d.dLoss.toExponential(2)}, ‖g‖ ${d.dNorm.toExponential(2)}, weights ${d.dW.toExponential(2)}`);
        tf.dispose([data.x, data.y]);
      } finally {
        restoreThreads();
      }
    });

    test(`fused step = tf.js step with dropout: token LSTM language model with padId (each row to its first padId): ${backend}`, async () => {
      const V = 7;
      const data = tokenData(V);
      const spec = { vocabSize: V, embeddingSize: 5, padId: V - 1, hiddenSize: 10, outputSize: V, outputActivation: 'softmax', topology: 'many-to-many', numLayers: 2, dropout: 0.3, recurrentDropout: 0.3 };
      const out = await bothPaths('lstm', spec, { x: data.x, y: data.y }, { loss: 'crossEntropy' });
      const d = compare(out, `${backend} token LM padId`);
      console.log(`${backend} token LSTM LM with padId: max rel. differences — loss ${d.dLoss.toExponential(2)}, ‖g‖ ${d.dNorm.toExponential(2)}, weights ${d.dW.toExponential(2)}`);
      // A GRU, and the lengths given as well (train checks them against the padding).
      const lens = await bothPaths('gru', spec, data, { loss: 'crossEntropy' }, 6);
      const d2 = compare(lens, `${backend} token GRU LM lengths`);
      console.log(`${backend} token GRU LM with lengths: max rel. differences — loss ${d2.dLoss.toExponential(2)}, ‖g‖ ${d2.dNorm.toExponential(2)}, weights ${d2.dW.toExponential(2)}`);
      tf.dispose([data.x, data.y]);
    });

    test(`switching paths mid-run continues the same mask streams; resetDropout replays them: ${backend}`, async () => {
      const spec = { inputSize: M, hiddenSize: 8, outputSize: 2, topology: 'many-to-many', numLayers: 2, dropout: 0.3, recurrentDropout: 0.3, seed: 8 };
      const data = dataFor(spec, true, 21);
      const opts = { batchSize: 8, verbose: false, shuffle: false, optimizer: 'sgd', learningRate: 0.1 };
      // tf.js step for 2 epochs, then the fused step for 2, against the tf.js step for all 4 (SGD: no optimizer state to carry).
      const mixed = L.buildLSTM(spec);
      const first = await L.train(mixed, data, { ...opts, epochs: 2, fusedStep: false });
      const second = await L.train(mixed, data, { ...opts, epochs: 2 });
      assert.equal(second.stepPath, 'fused', second.stepPathReason);
      const whole = L.buildLSTM(spec);
      const all = await L.train(whole, data, { ...opts, epochs: 4, fusedStep: false });
      const mixedLosses = [...first.steps, ...second.steps].map((s) => s.loss);
      let worst = 0;
      all.steps.forEach((s, i) => { worst = Math.max(worst, Math.abs(s.loss - mixedLosses[i]) / Math.abs(s.loss)); });
      console.log(`${backend} tf.js 2 epochs + fused 2 epochs vs tf.js 4 epochs: max rel. loss difference ${worst.toExponential(2)} (tolerance 1e-5)`);
      assert.ok(worst <= 1e-5, `switching paths: ${worst}`);
      assert.deepEqual(counters(mixed), counters(whole));
      // resetDropout and the initial weights: the fused step replays its run exactly.
      const fresh = L.buildLSTM(spec);
      const initial = fresh.getWeights().map((w) => w.clone());   // (getWeights gives the variables, which training overwrites)
      const a = await L.train(fresh, data, { ...opts, epochs: 2 });
      fresh.setWeights(initial);
      L.resetDropout(fresh);
      const b = await L.train(fresh, data, { ...opts, epochs: 2 });
      assert.equal(a.stepPath, 'fused');
      assert.deepEqual(b.steps.map((s) => s.loss), a.steps.map((s) => s.loss), 'resetDropout replays the fused run bit for bit');
      tf.dispose(initial);
      [mixed, whole, fresh].forEach((m) => m.dispose());
      tf.dispose([data.x, data.y]);
    });

    test(`fused step with dropout: the same seed gives identical losses, another seed others; tensors flat across epochs: ${backend}`, async () => {
      const spec = { inputSize: M, hiddenSize: 8, outputSize: 2, numLayers: 2, bidirectional: true, dropout: 0.3, recurrentDropout: 0.3 };
      const data = dataFor(spec, true, 5);
      const run = async (seed) => {
        const model = L.buildGRU({ ...spec, seed });
        const r = await L.train(model, data, { epochs: 2, batchSize: 8, verbose: false });
        assert.equal(r.stepPath, 'fused', r.stepPathReason);
        model.dispose();
        return r.steps.map((s) => s.loss);
      };
      const a = await run(3), b = await run(3), c = await run(4);
      assert.deepEqual(a, b, 'the same seed, the same losses, bit for bit');
      assert.notDeepEqual(a, c);
      const model = L.buildGRU({ ...spec, seed: 3 });
      await L.train(model, data, { epochs: 2, batchSize: 8, verbose: false });   // warm
      const tensors = tf.memory().numTensors;
      const r = await L.train(model, data, { epochs: 6, batchSize: 8, verbose: false });
      assert.equal(r.stepPath, 'fused');
      assert.equal(tf.memory().numTensors, tensors, 'tensors after 6 more epochs');
      for (const e of r.epochs) assert.equal(e.tensors, r.epochs[0].tensors, `epoch ${e.epoch}: tensors flat`);
      model.dispose();
      tf.dispose([data.x, data.y]);
    });

    test(`fused step: dropout 0 is the model without dropout, bit for bit; dropout > 0 changes the losses: ${backend}`, async () => {
      const spec = { inputSize: M, hiddenSize: 8, outputSize: 2, numLayers: 2, topology: 'many-to-many', seed: 2 };
      const data = dataFor(spec, true, 6);
      const run = async (extra) => {
        const model = L.buildLSTM({ ...spec, ...extra });
        const r = await L.train(model, data, { epochs: 2, batchSize: 8, verbose: false, fusedStep: true });
        const w = model.getWeights().map((t) => Array.from(t.dataSync()));
        model.dispose();
        return { losses: r.steps.map((s) => s.loss), w };
      };
      const plain = await run({}), zero = await run({ dropout: 0, recurrentDropout: 0 }), some = await run({ dropout: 0.1 });
      assert.deepEqual(zero.losses, plain.losses);
      assert.deepEqual(zero.w, plain.w);
      assert.notDeepEqual(some.losses, plain.losses);
      tf.dispose([data.x, data.y]);
    });
  });
}
