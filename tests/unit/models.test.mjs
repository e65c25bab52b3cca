// Builders, parameter counts, seq2seq decoding, one-to-many generation, save/load and training.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const BUILD = { rnn: L.buildRNN, lstm: L.buildLSTM, gru: L.buildGRU };

/** The lecture's formulas, written out here independently of the library. */
function formula(cell, n, m, resetAfter) {
  if (cell === 'rnn') return n * m + n * n + n;
  if (cell === 'lstm') return 4 * (n * m + n * n + n);
  return resetAfter ? 3 * (n * m + n * n + 2 * n) : 3 * (n * m + n * n + n);
}

for (const backend of ['wasm', 'cpu']) {
  describe(`models on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('countParams equals the lecture formulas and model.countParams() over a grid', () => {
      let checked = 0;
      for (const cell of ['rnn', 'lstm', 'gru']) {
        for (const [m, n, k] of [[1, 1, 1], [3, 5, 2], [8, 16, 4], [2, 33, 3]]) {
          for (const numLayers of [1, 2]) {
            for (const bidirectional of [false, true]) {
              for (const resetAfter of cell === 'gru' ? [false, true] : [false]) {
                const spec = { inputSize: m, hiddenSize: n, outputSize: k, numLayers, bidirectional, resetAfter };
                const dirs = bidirectional ? 2 : 1;
                let want = dirs * formula(cell, n, m, resetAfter);
                for (let l = 1; l < numLayers; l++) want += dirs * formula(cell, n, n * dirs, resetAfter);
                want += n * dirs * k + k;                                      // the linear head
                const model = BUILD[cell](spec);
                assert.equal(L.countParams(cell, spec), want, `${cell} ${JSON.stringify(spec)}`);
                assert.equal(model.countParams(), want, `model.countParams ${cell} ${JSON.stringify(spec)}`);
                model.dispose();
                checked++;
              }
            }
          }
        }
      }
      const tok = { vocabSize: 4, embeddingSize: 3, hiddenSize: 5, outputSize: 4, topology: 'many-to-many' };
      assert.equal(L.buildLSTM(tok).countParams(), 4 * 3 + formula('lstm', 5, 3) + 5 * 4 + 4);
      assert.equal(L.countParams('lstm', tok), 4 * 3 + formula('lstm', 5, 3) + 5 * 4 + 4);
      console.log(`  ${backend}: ${checked + 1} parameter counts checked`);
    });

    test('every topology gives the documented shapes', () => {
      for (const cell of ['rnn', 'lstm', 'gru']) {
        const base = { inputSize: 3, hiddenSize: 4, outputSize: 2 };
        const x = tf.randomNormal([2, 5, 3]);
        const cases = [
          [{ ...base }, x, [2, 2]],
          [{ ...base, topology: 'many-to-many', bidirectional: true, numLayers: 2 }, x, [2, 5, 2]],
          [{ ...base, topology: 'one-to-many', sequenceLength: 6 }, tf.randomNormal([2, 3]), [2, 6, 2]],
          [{ ...base, topology: 'seq2seq' }, [x, tf.randomNormal([2, 7, 2])], [2, 7, 2]],
          [{ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'many-to-many', outputActivation: 'softmax' }, tf.tensor2d([[0, 1, 5], [2, 3, 4]], [2, 3], 'int32'), [2, 3, 6]],
        ];
        for (const [spec, input, shape] of cases) {
          const model = BUILD[cell](spec);
          const y = model.predict(input);
          assert.deepEqual(y.shape, shape, `${cell} ${JSON.stringify(spec)}`);
          if (spec.outputActivation === 'softmax') {
            const sums = tf.sum(y, -1).dataSync();
            assert.ok(sums.every((s) => Math.abs(s - 1) < 1e-5), 'softmax rows sum to 1');
          }
          tf.dispose(y);
          model.dispose();
        }
      }
    });

    test('seq2seq greedy decode feeds back its own argmax: teacher forcing on its output reproduces it', () => {
      const model = L.buildGRU({ vocabSize: 7, embeddingSize: 5, hiddenSize: 8, outputSize: 7, topology: 'seq2seq', outputActivation: 'softmax', numLayers: 2, seed: 3 });
      const src = tf.tensor2d([[3, 4, 5, 6], [1, 1, 2, 3]], [2, 4], 'int32');
      const ids = L.decode(model, src, { start: 0, maxLength: 6 });
      assert.deepEqual(ids.shape, [2, 6]);
      const dec = ids.arraySync();
      const tin = tf.tensor2d(dec.map((row) => [0, ...row.slice(0, -1)]), [2, 6], 'int32');
      const tf_ids = tf.argMax(model.predict([src, tin]), -1).arraySync();
      assert.deepEqual(tf_ids, dec, 'the step-by-step decoder and the teacher-forced model agree');
      assert.throws(() => L.decode(model, src, { start: 9, maxLength: 3 }), /options\.start must be a token id in \[0, 7\); got 9/);
      assert.throws(() => L.decode(model, tf.tensor2d([[1, 8]], [1, 2], 'int32'), { start: 0, maxLength: 3 }), /decode: source must be integer token ids in \[0, 7\); got 8 at \[0, 1\] \(shape \[1, 2\], layout \[batch, time\] token ids\)/);
      tf.dispose([src, ids, tin]);
    });

    test('one-to-many generate equals predict at the trained length and runs at any length', () => {
      const model = L.buildLSTM({ inputSize: 2, hiddenSize: 6, outputSize: 1, topology: 'one-to-many', sequenceLength: 5, seed: 4 });
      const x = tf.tensor2d([[0.5, -1], [1, 0.25]]);
      const d = ref.maxDiff(L.generate(model, x, 5).arraySync(), model.predict(x).arraySync());
      assert.ok(d <= 1e-6, `generate vs predict max |Δ| ${d}`);
      assert.deepEqual(L.generate(model, x, 12).shape, [2, 12, 1]);
      assert.throws(() => L.generate(model, tf.zeros([2, 3]), 4), /generate: x must have layout \[batch, features=2\]; got shape \[2, 3\]/);
    });

    test('save → load gives identical predictions and the same spec (saving rules and crashes: tests/unit/io.test.mjs)', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-save-'));
      const target = path.join(dir, 'model');
      try {
        for (const [cell, spec] of [['lstm', { inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, bidirectional: true, initialState: 'learned' }],
          ['gru', { vocabSize: 5, hiddenSize: 4, outputSize: 5, topology: 'seq2seq', resetAfter: true, update: 'z-takes-new' }],
          ['rnn', { inputSize: 2, hiddenSize: 3, outputSize: 1, activation: 'relu' }]]) {
          const model = BUILD[cell](spec);
          const input = spec.topology === 'seq2seq'
            ? [tf.tensor2d([[1, 2, 3]], [1, 3], 'int32'), tf.tensor2d([[0, 4]], [1, 2], 'int32')]
            : tf.randomNormal([2, 4, spec.inputSize]);
          await L.saveModel(model, target);
          const again = await L.loadModel(target);
          const d = ref.maxDiff(model.predict(input).arraySync(), again.predict(input).arraySync());
          assert.equal(d, 0, `${cell}: loaded model differs by ${d}`);
          assert.deepEqual(L.specOf(again), { ...spec, cell });
        }
        await assert.rejects(() => L.loadModel(path.join(dir, 'nothing')), /the folder .*nothing does not exist/);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    test('models made by every builder train with model.fit (loss falls by half on a toy task)', async () => {
      for (const cell of ['rnn', 'lstm', 'gru']) {
        const rand = ref.seeded(5);
        const xs = ref.randArray(rand, [32, 6, 1]);
        const ys = xs.map((seq) => [seq.reduce((s, [v]) => s + v, 0) / 3]);       // the running sum
        const model = BUILD[cell]({ inputSize: 1, hiddenSize: 8, outputSize: 1, seed: 2 });
        model.compile({ optimizer: tf.train.adam(0.02), loss: 'meanSquaredError' });
        const x = tf.tensor3d(xs), y = tf.tensor2d(ys);
        const h = await model.fit(x, y, { epochs: 40, batchSize: 32, verbose: 0, shuffle: false });
        const first = h.history.loss[0], last = h.history.loss.at(-1);
        console.log(`  ${backend} ${cell} fit: loss ${first.toFixed(4)} → ${last.toFixed(4)}`);
        assert.ok(last < first / 2, `${cell}: loss ${first} → ${last}`);
        tf.dispose([x, y]);
        model.dispose();
      }
    });

    test('token models train on this backend (the embedding needs no gather gradient) and reproduce "hello"', async () => {
      const vocab = L.CharVocab.fromText('hello');
      const ids = vocab.encode('hello');
      const x = tf.tensor2d([ids.slice(0, 4)]), y = tf.tensor2d([ids.slice(1)]);
      const lm = L.buildRNN({ vocabSize: vocab.size, embeddingSize: 4, hiddenSize: 8, outputSize: vocab.size, topology: 'many-to-many', outputActivation: 'softmax', seed: 1 });
      const r = await L.train(lm, { x, y }, { epochs: 150, learningRate: 0.05, verbose: false });
      assert.equal(r.stopped, 'completed');
      const before = tf.memory().numTensors;
      const text = L.sampleText(L.modelStepper(lm), vocab, { prime: 'h', length: 4, rng: new L.Rng(1), greedy: true });
      assert.equal(tf.memory().numTensors, before, 'the stepper frees its states');
      console.log(`  ${backend} hello model: final loss ${r.epochs.at(-1).loss.toFixed(4)}, greedy sample from "h": ${text}`);
      assert.equal(text, 'hello');
      tf.dispose([x, y]);
    });

    test('bad specs and bad state dicts are clear errors', () => {
      assert.throws(() => L.buildLSTM({ inputSize: 3, hiddenSize: 0, outputSize: 1 }), /spec\.hiddenSize must be a positive integer; got 0/);
      assert.deepEqual(L.specOf(L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, resetAfter: undefined })), { inputSize: 2, hiddenSize: 4, outputSize: 1, cell: 'gru' }, 'undefined spec keys are dropped, not fatal');
      assert.throws(() => L.buildLSTM({ hiddenSize: 3, outputSize: 1 }), /spec\.inputSize \(or vocabSize for token inputs\) must be a positive integer; got undefined/);
      assert.throws(() => L.buildRNN({ inputSize: 1, hiddenSize: 3, outputSize: 1, topology: 'many-to-few' }), /spec\.topology must be one of many-to-one, many-to-many, one-to-many, seq2seq; got 'many-to-few'/);
      assert.throws(() => L.buildGRU({ inputSize: 1, hiddenSize: 3, outputSize: 1, topology: 'one-to-many' }), /needs spec\.sequenceLength/);
      assert.throws(() => L.buildGRU({ inputSize: 1, hiddenSize: 3, outputSize: 1, topology: 'seq2seq', bidirectional: true }), /decoder runs forward only/);
      const gruBefore = L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1 });
      assert.throws(() => L.torchWeights(gruBefore), /reset-before GRU .* Build with resetAfter: true/);
      assert.throws(() => L.torchWeights(L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 1, initialState: 'learned' })), /learned initial state \(h0, c0\) has no PyTorch equivalent.*initialState: 'zeros'/);
      assert.throws(() => L.torchWeights(L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, activation: 'sigmoid' })), /activation 'sigmoid' has no PyTorch equivalent: PyTorch's nn\.RNN supports only tanh and relu/);
      const lstm = L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 1 });
      const sd = L.torchWeights(lstm);
      const { ['rnn.bias_hh_l0']: _drop, ...missing } = sd;
      assert.throws(() => L.loadTorchWeights(lstm, missing), /missing rnn\.bias_hh_l0/);
      assert.throws(() => L.loadTorchWeights(lstm, { ...sd, 'rnn.weight_ih_l1': [[0]] }), /unexpected rnn\.weight_ih_l1/);
      assert.throws(() => L.loadTorchWeights(lstm, { ...sd, 'rnn.weight_hh_l0': [[1, 2]] }), /rnn\.weight_hh_l0 must have shape \[12, 3\]; got \[1, 2\]/);
      assert.throws(() => L.loadTorchWeights(lstm, { ...sd, 'head.weight': [[1], [2]] }), /head\.weight must have shape \[1, 3\]; got \[2, 1\]/);
      assert.throws(() => L.loadTorchWeights(gruBefore, L.torchWeights(L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: true }))), /cannot load PyTorch weights: PyTorch's GRU applies r after the recurrent matmul\. Build with resetAfter: true/);
      const tok = L.buildLSTM({ vocabSize: 4, hiddenSize: 3, outputSize: 4, topology: 'many-to-many' });
      assert.throws(() => tok.predict(tf.tensor2d([[0, 1.5]])), /embedding: the input must be integer token ids in \[0, 4\); got 1\.5 at \[0, 1\]/);
      assert.throws(() => tok.predict(tf.tensor2d([[0, 4]], [1, 2], 'int32')), /got 4 at \[0, 1\]/);
    });

    test('torchWeights → loadTorchWeights round trip gives identical predictions', () => {
      for (const cell of ['rnn', 'lstm', 'gru']) {
        // resetAfter (PyTorch's GRU) is a GRU option; the other cells refuse it rather than ignore it.
        const spec = { inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, bidirectional: true, ...(cell === 'gru' ? { resetAfter: true } : {}), topology: 'many-to-many' };
        const a = BUILD[cell]({ ...spec, seed: 1 }), b = BUILD[cell]({ ...spec, seed: 2 });
        const x = tf.randomNormal([2, 5, 3]);
        assert.ok(ref.maxDiff(a.predict(x).arraySync(), b.predict(x).arraySync()) > 1e-3, 'different seeds differ');
        L.loadTorchWeights(b, L.torchWeights(a));
        const d = ref.maxDiff(a.predict(x).arraySync(), b.predict(x).arraySync());
        assert.ok(d <= 1e-6, `${cell}: max |Δ| ${d}`);
      }
    });

    test('no tensor leaks across predict and fit', async () => {
      const model = L.buildLSTM({ inputSize: 2, hiddenSize: 4, outputSize: 1 });
      model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
      const x = tf.randomNormal([4, 3, 2]), y = tf.randomNormal([4, 1]);
      const once = async () => { tf.dispose(model.predict(x)); await model.fit(x, y, { epochs: 2, verbose: 0 }); };
      await once();
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) await once();
      assert.equal(tf.memory().numTensors, before, `tensors grew from ${before} to ${tf.memory().numTensors}`);
    });
  });
}
