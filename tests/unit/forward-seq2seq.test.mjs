// forwardSeq2seq: teacher-forced outputs of a padded seq2seq batch with per-side lengths (issue 19 trial).
//
// Oracle: each row run alone, unpadded, through tf.js's own graph (model.predict), which sees no
// padding at all; the attention weights alone come from attentionWeights on the unpadded row. The
// padded steps hold large values (100·x + 7), so reading any of them would show.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const T = tf();
const TOL = 1e-5;
const throwsMsg = (fn, re, what) => assert.throws(fn, (e) => { assert.match(e.message, re, what); return true; }, what);

/** Feature data [N, T, m] with rows padded at the end by junk (100·x + 7) after each row's length. */
function paddedFeatures(r, N, Tn, m, lengths) {
  const a = ref.randArray(r, [N, Tn, m], 1);
  lengths.forEach((Lb, b) => { for (let t = Lb; t < Tn; t++) a[b][t] = a[b][t].map((x) => 100 * x + 7); });
  return a;
}

/** Max |padded row − row alone| over rows, outputs (and attention) alike; padded attention must be exactly 0. */
function compareRows(model, src, tin, Ls, Lt, r, withAttention) {
  let dOut = 0, dAtt = 0, padMass = 0;
  const out = r.output.arraySync();
  const att = withAttention ? r.attention.arraySync() : null;
  Ls.forEach((ls, b) => {
    const lt = Lt[b];
    const s = src.rank === 3 ? src.slice([b, 0, 0], [1, ls, -1]) : src.slice([b, 0], [1, ls]);
    const ti = tin.rank === 3 ? tin.slice([b, 0, 0], [1, lt, -1]) : tin.slice([b, 0], [1, lt]);
    const alone = T.tidy(() => model.predict([s, ti]).arraySync()[0]);          // tf.js's graph, no padding
    dOut = Math.max(dOut, ref.maxDiff(out[b].slice(0, lt), alone));
    if (att) {
      const w = L.attentionWeights(model, [s, ti]);
      dAtt = Math.max(dAtt, ref.maxDiff(att[b].slice(0, lt).map((row) => row.slice(0, ls)), w.arraySync()[0]));
      w.dispose();
      for (let t = 0; t < lt; t++) for (let j = ls; j < att[b][t].length; j++) padMass = Math.max(padMass, Math.abs(att[b][t][j]));
    }
    T.dispose([s, ti]);
  });
  return { dOut, dAtt, padMass };
}

for (const backend of ['wasm', 'cpu']) {
  describe(`forwardSeq2seq on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('the trial\'s model (features, general attention): a padded row equals the row alone; flat tensors', () => {
      const m = L.buildGRU({ topology: 'seq2seq', inputSize: 2, hiddenSize: 8, outputSize: 3, attention: 'general', seed: 3 });
      const Ls = [5, 3, 2, 4], Lt = [6, 2, 3, 1];
      const r0 = ref.seeded(11);
      const src = T.tensor(paddedFeatures(r0, 4, 5, 2, Ls)), tin = T.tensor(paddedFeatures(r0, 4, 6, 3, Lt));
      const run = () => L.forwardSeq2seq(m, [src, tin], { lengths: { source: Ls, target: Lt } });
      const r = run();
      assert.deepEqual(r.output.shape, [4, 6, 3]);
      assert.deepEqual(r.attention.shape, [4, 6, 5]);
      const c = compareRows(m, src, tin, Ls, Lt, r, true);
      // Lengths as typed arrays and tensors: the same result.
      const lsT = T.tensor1d(Ls, 'int32');
      const r2 = L.forwardSeq2seq(m, [src, tin], { lengths: { source: lsT, target: Int32Array.from(Lt) } });
      const dForms = ref.maxDiff(r.output.arraySync(), r2.output.arraySync());
      console.log(`${backend} features+general: padded row vs alone: output ${c.dOut.toExponential(2)}, attention ${c.dAtt.toExponential(2)}; max padded-step weight ${c.padMass}; lengths as tensor/typed array ${dForms} (tolerance ${TOL})`);
      assert.ok(c.dOut < TOL && c.dAtt < TOL, `${c.dOut} ${c.dAtt}`);
      assert.equal(c.padMass, 0);
      assert.equal(dForms, 0);
      T.dispose([r, r2, lsT]);
      const before = T.memory().numTensors;
      for (let k = 0; k < 3; k++) T.dispose(run());
      assert.equal(T.memory().numTensors, before, 'forwardSeq2seq leaves no tensors behind');
      T.dispose([src, tin]);
    });

    test('an LSTM without attention (2 layers): a padded row equals the row alone; no attention key', () => {
      const m = L.buildLSTM({ topology: 'seq2seq', inputSize: 3, hiddenSize: 5, outputSize: 2, numLayers: 2, seed: 7 });
      const Ls = [1, 4, 2], Lt = [3, 1, 4];
      const r0 = ref.seeded(5);
      const src = T.tensor(paddedFeatures(r0, 3, 4, 3, Ls)), tin = T.tensor(paddedFeatures(r0, 3, 4, 2, Lt));
      const r = L.forwardSeq2seq(m, [src, tin], { lengths: { source: Ls, target: Lt } });
      assert.equal('attention' in r, false);
      const c = compareRows(m, src, tin, Ls, Lt, r, false);
      // Without lengths the padding is read: the rows differ (the test can fail).
      const plain = L.forwardSeq2seq(m, [src, tin]);
      const dPlain = ref.maxDiff(plain.output.arraySync()[0].slice(0, 3), r.output.arraySync()[0].slice(0, 3));
      console.log(`${backend} LSTM: padded row vs alone ${c.dOut.toExponential(2)} (tolerance ${TOL}); without lengths row 0 differs by ${dPlain.toExponential(2)}`);
      assert.ok(c.dOut < TOL, String(c.dOut));
      assert.ok(dPlain > 1e-3, 'without lengths the padding reaches the output');
      T.dispose([r, plain, src, tin]);
    });

    test('a padId token model reads its padding (lengths optional, must agree)', () => {
      const m = L.buildGRU({ topology: 'seq2seq', vocabSize: 7, padId: 0, hiddenSize: 6, outputSize: 7, outputActivation: 'softmax', attention: 'additive', seed: 2 });
      const src = T.tensor2d([[3, 4, 5, 6], [2, 3, 0, 0], [6, 0, 0, 0]], [3, 4], 'int32');
      const tin = T.tensor2d([[1, 6, 5, 4], [1, 3, 2, 0], [1, 6, 0, 0]], [3, 4], 'int32');
      const Ls = [4, 2, 1], Lt = [4, 3, 2];
      const r = L.forwardSeq2seq(m, [src, tin]);
      const c = compareRows(m, src, tin, Ls, Lt, r, true);
      const given = L.forwardSeq2seq(m, [src, tin], { lengths: { source: Ls, target: Lt } });
      const dGiven = ref.maxDiff(r.output.arraySync(), given.output.arraySync());
      console.log(`${backend} padId tokens: padded row vs alone: output ${c.dOut.toExponential(2)}, attention ${c.dAtt.toExponential(2)}; padded-step weight ${c.padMass}; with lengths given ${dGiven}`);
      assert.ok(c.dOut < TOL && c.dAtt < TOL);
      assert.equal(c.padMass, 0);
      assert.equal(dGiven, 0);
      throwsMsg(() => L.forwardSeq2seq(m, [src, tin], { lengths: { source: [4, 3, 1] } }),
        /^forwardSeq2seq: options\.lengths\.source\[1\] = 3 but source row 1 has 2 tokens before padId 0/, 'disagreeing lengths');
      T.dispose([r, given, src, tin]);
    });

    test('bad calls are refused naming the argument', () => {
      const m = L.buildGRU({ topology: 'seq2seq', inputSize: 2, hiddenSize: 4, outputSize: 3, seed: 1 });
      const src = T.zeros([4, 5, 2]), tin = T.zeros([4, 6, 3]);
      const call = (o) => () => L.forwardSeq2seq(m, [src, tin], o);
      throwsMsg(call({ lengths: { source: [5, 3, 2] } }), /^forwardSeq2seq: options\.lengths\.source has 3 lengths but the batch .* has 4 sequences/, 'count');
      throwsMsg(call({ lengths: { target: [6, 7, 1, 1] } }), /forwardSeq2seq: options\.lengths\.target/, 'too long');
      throwsMsg(call({ lengths: { source: [5, 0, 1, 1] } }), /forwardSeq2seq: options\.lengths\.source/, 'zero');
      throwsMsg(call({ lengths: [5, 3, 2, 4] }), /^forwardSeq2seq: options\.lengths of a seq2seq model must be \{ source\?, target\? \}.*got an array of length 4/, 'one list');
      throwsMsg(call({ lengths: { src: [5, 3, 2, 4] } }), /options\.lengths has an unknown key 'src'/, 'unknown side');
      throwsMsg(call({ mask: T.ones([4, 5]) }), /forwardSeq2seq: options\.mask is one mask.*options\.lengths = \{ source, target \}/, 'mask');
      throwsMsg(call({ sourceLengths: [5, 3, 2, 4] }), /unknown options key 'sourceLengths' — did you mean 'lengths'\?/, 'decode\'s key');
      throwsMsg(call({ training: 1 }), /options\.training must be true or false; got 1/, 'training');
      throwsMsg(() => L.forwardSeq2seq(m, src), /forwardSeq2seq: x must be \[source, targetIn\]; got a float32 tensor of shape \[4, 5, 2\]/, 'one tensor');
      const many = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 1 });
      throwsMsg(() => L.forwardSeq2seq(many, [src, tin]), /topology 'many-to-one' \(forwardModel\(model, x, \{ lengths \}\) runs it\)/, 'not seq2seq');
      T.dispose([src, tin]);
    });

    test('training: true drops units of a dropout model; false equals predict', () => {
      const m = L.buildGRU({ topology: 'seq2seq', inputSize: 2, hiddenSize: 6, outputSize: 3, dropout: 0.5, seed: 4 });
      const src = T.randomNormal([2, 4, 2], 0, 1, 'float32', 1), tin = T.randomNormal([2, 3, 3], 0, 1, 'float32', 2);
      const off = L.forwardSeq2seq(m, [src, tin]), on = L.forwardSeq2seq(m, [src, tin], { training: true });
      const p = m.predict([src, tin]);
      const dOff = ref.maxDiff(off.output.arraySync(), p.arraySync()), dOn = ref.maxDiff(on.output.arraySync(), p.arraySync());
      console.log(`${backend} dropout: training false vs predict ${dOff.toExponential(2)}; training true vs predict ${dOn.toExponential(2)}`);
      assert.ok(dOff < TOL);
      assert.ok(dOn > 1e-3);
      T.dispose([off, on, p, src, tin]);
    });

    test('seq2seq errors and hints point to forwardSeq2seq (apply, forwardModel, predict, evaluate)', () => {
      const m = L.buildGRU({ topology: 'seq2seq', inputSize: 2, hiddenSize: 8, outputSize: 3, attention: 'general', seed: 1 });
      const src = T.zeros([4, 5, 2]), tin = T.zeros([4, 6, 3]);
      const FS = /forwardSeq2seq\(model, \[source, targetIn\], \{ lengths: \{ source, target \} \}\)/;
      const perSide = { lengths: { source: [5, 3, 2, 4] } };
      throwsMsg(() => m.apply([src, tin], perSide), /^apply: model\.apply cannot take a seq2seq model's per-side lengths \{ source, target \}/, 'apply per-side');
      throwsMsg(() => m.apply([src, tin], perSide), FS, 'apply per-side names forwardSeq2seq');
      assert.throws(() => m.apply([src, tin], perSide), (e) => !/one lengths list/.test(e.message));
      throwsMsg(() => m.apply([src, tin], { lengths: [5, 3, 2, 4] }), /separately — one lengths list here would reach the encoder and the decoder alike; run forwardSeq2seq/, 'apply one list');
      throwsMsg(() => L.forwardModel(m, [src, tin], perSide), /^forwardModel: this is a seq2seq model .*forwardSeq2seq\(model, \[source, targetIn\]/, 'forwardModel');
      throwsMsg(() => m.predict([src, tin], perSide), FS, 'predict');
      throwsMsg(() => m.evaluate([src, tin], tin), /p = forwardSeq2seq\(model, \[source, targetIn\], \{ lengths: \{ source, target \} \}\)\.output/, 'evaluate');
      // Many-to-one models keep their own hints.
      const many = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 1 });
      throwsMsg(() => many.predict(src, { lengths: [5, 3, 2, 4] }), /forwardModel\(model, x, \{ lengths \}\)/, 'many-to-one predict');
      T.dispose([src, tin]);
    });
  });
}
