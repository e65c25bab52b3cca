// Issue 11, items 7 and 8: nothing silently ignored (unknown option keys, unsupported arguments,
// masks) and inputs checked at the model boundary with the argument's name, the layout and the
// first bad index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();
await L.initBackend({ backend: 'cpu', quiet: true });

/** Assert fn throws with a message matching every pattern; show the message when it does not. */
function throwsAll(fn, patterns) {
  let msg;
  try { fn(); } catch (e) { msg = e.message; }
  assert.ok(msg !== undefined, 'expected an error, got none');
  for (const p of patterns) assert.match(msg, p, `message: ${msg}`);
  return msg;
}
async function rejectsAll(fn, patterns) {
  let msg;
  try { await fn(); } catch (e) { msg = e.message; }
  assert.ok(msg !== undefined, 'expected a rejection, got none');
  for (const p of patterns) assert.match(msg, p, `message: ${msg}`);
}

// --- Item 7: unknown keys name the nearest valid key ------------------------------------------

test("buildLSTM({ hiddenSise: 4 }) names 'hiddenSise' and suggests 'hiddenSize' (not 'hiddenSize … got undefined')", () => {
  const msg = throwsAll(() => L.buildLSTM({ inputSize: 1, hiddenSise: 4, outputSize: 1 }),
    [/^buildLSTM: unknown spec key 'hiddenSise' — did you mean 'hiddenSize'\?/]);
  assert.doesNotMatch(msg, /got undefined/);
  // Second instance of the kind: another builder, another key.
  throwsAll(() => L.buildGRU({ inputSize: 1, hiddenSize: 4, outputSize: 1, numLayer: 2 }), [/^buildGRU: unknown spec key 'numLayer' — did you mean 'numLayers'\?/]);
  throwsAll(() => L.countParams('rnn', { inputSize: 1, hiddenSize: 4, outputSize: 1, bidirectonal: true }), [/^countParams: unknown spec key 'bidirectonal' — did you mean 'bidirectional'\?/]);
});

test("spec.impl is supported: buildLSTM({ …, impl: 'reference' }) layers run 'reference', train, and agree with 'fused'", async () => {
  const spec = { inputSize: 2, hiddenSize: 3, outputSize: 1, numLayers: 2, seed: 5 };
  const ref = L.buildLSTM({ ...spec, impl: 'reference' });
  const fused = L.buildLSTM({ ...spec, impl: 'fused' });
  assert.deepEqual(L.recurrentLayers(ref).map((l) => l.impl), ['reference', 'reference']);
  assert.deepEqual(L.recurrentLayers(fused).map((l) => l.impl), ['fused', 'fused']);
  assert.equal(L.specOf(ref).impl, 'reference', 'impl is stored in the spec');
  const x = T.randomNormal([4, 5, 2], 0, 1, 'float32', 1);
  const y = T.randomNormal([4, 1], 0, 1, 'float32', 2);
  const a = ref.predict(x).dataSync(), b = fused.predict(x).dataSync();
  const diff = Math.max(...a.map((v, i) => Math.abs(v - b[i])));
  assert.ok(diff < 1e-5, `reference vs fused predictions: max |difference| ${diff} (tol 1e-5)`);
  ref.compile({ optimizer: T.train.adam(0.05), loss: 'meanSquaredError' });
  const h = await ref.fit(x, y, { epochs: 10, verbose: 0 });
  assert.ok(h.history.loss[9] < h.history.loss[0], `reference model trains: loss ${h.history.loss[0]} → ${h.history.loss[9]}`);
  throwsAll(() => L.buildLSTM({ ...spec, impl: 'fast' }), [/impl .*must be 'reference' or 'fused'; got 'fast'/]);
  T.dispose([x, y]);
});

test('layer options: unknown keys are errors; getConfig → fromConfig and save → load still round-trip', async () => {
  throwsAll(() => L.lstmLayer({ units: 4, returnSequence: true }), [/LabLSTM: unknown options key 'returnSequence' — did you mean 'returnSequences'\?/]);
  throwsAll(() => L.gruLayer({ units: 4, resetAftr: true }), [/LabGRU: unknown options key 'resetAftr' — did you mean 'resetAfter'\?/]);
  const layer = L.gruLayer({ units: 3, resetAfter: true, inputShape: [null, 2], name: 'g' });
  const copy = L.LabGRU.fromConfig(L.LabGRU, layer.getConfig());
  assert.deepEqual(copy.getConfig(), layer.getConfig());
  // A builder model through tf.js's own serialization (what saveModel/loadModel use).
  const model = L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 9 });
  let art;
  await model.save(T.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
  const loaded = await T.loadLayersModel(T.io.fromMemory(art));
  const x = T.randomNormal([2, 4, 2], 0, 1, 'float32', 3);
  const d = T.tidy(() => T.max(T.abs(T.sub(model.predict(x), loaded.predict(x)))).dataSync()[0]);
  assert.ok(d < 1e-6, `loaded model predicts as the original: max |difference| ${d}`);
  x.dispose();
});

test('forwardSequence, decode, forwardModel, gradientFlow, spectrum, verdictOf, initBackend, show, table, liveFigure reject unknown keys', () => {
  const layer = L.lstmLayer({ units: 2 });
  const x = T.ones([1, 3, 2]);
  throwsAll(() => layer.forwardSequence(x, { collectGate: true }), [/forwardSequence: unknown options key 'collectGate' — did you mean 'collectGates'\?/]);
  const m = L.buildRNN({ inputSize: 2, hiddenSize: 2, outputSize: 1 });
  throwsAll(() => L.forwardModel(m, x, { colectGates: true }), [/^forwardModel: unknown options key 'colectGates' — did you mean 'collectGates'\?/]);
  throwsAll(() => L.gradientFlow(m, x, T.ones([1, 1]), { lossAT: 'every' }), [/^gradientFlow: unknown options key 'lossAT' — did you mean 'lossAt'\?/]);
  throwsAll(() => L.spectrum([[0.5]], { activaton: 'relu' }), [/^spectrum: unknown options key 'activaton' — did you mean 'activation'\?/]);
  throwsAll(() => L.verdictOf([1, 0.5, 0.25], { tolerence: 0.1 }), [/^verdictOf: unknown options key 'tolerence' — did you mean 'tolerance'\?/]);
  const s2s = L.buildGRU({ vocabSize: 5, hiddenSize: 3, outputSize: 5, topology: 'seq2seq' });
  throwsAll(() => L.decode(s2s, T.tensor2d([[1, 2]]), { maxLength: 3, start: 0, stop: 1 }), [/^decode: unknown options key 'stop'/]);
  throwsAll(() => L.decode(s2s, T.tensor2d([[1, 2]]), { maxLenght: 3, start: 0 }), [/^decode: unknown options key 'maxLenght' — did you mean 'maxLength'\?/]);
  throwsAll(() => L.table([{ a: 1 }], { maxRow: 3 }), [/^table: unknown options key 'maxRow' — did you mean 'maxRows'\?/]);
  throwsAll(() => L.liveFigure({ minInterval: 10 }), [/^liveFigure: unknown options key 'minInterval' — did you mean 'minIntervalMs'\?/]);
  throwsAll(() => L.show({ data: [], layuot: {} }), [/show\(figure\): unknown figure key 'layuot' — did you mean 'layout'\?/]);
  throwsAll(() => L.expectClaim(0.3, 'loss is small'), [/expectClaim: condition must be a boolean/]);
  throwsAll(() => L.expectClaim(true, 'loss is small', 1e-3), [/expectClaim: takes \(condition, message\); got 3 arguments/]);
  x.dispose();
});

// --- Item 7: masks are honoured, not dropped (issue 16) --------------------------------------------

/** A one-unit linear RNN with w_x = 1, w_h = 0.5, b = 0: h_t = x_t + 0.5·h_{t-1}. */
function linearRnn() {
  const layer = L.rnnLayer({ units: 1, activation: 'linear', inputShape: [null, 1] });
  layer.build([null, null, 1]);
  layer.setWeights([T.tensor2d([[1]]), T.tensor2d([[0.5]]), T.tensor1d([0])]);
  return layer;
}

test('a mask (apply kwarg, lengths, tf.layers.masking, embedding maskZero) is honoured: the padded sequence gives the unpadded result', () => {
  const layer = linearRnn();
  const x = T.tensor3d([[[0.5], [1.0]]]);
  const xp = T.tensor3d([[[0.5], [1.0], [0], [0]]]);
  // float64 reference: unpadded h_2 = 1 + 0.5·0.5 = 1.25; zero padding without a mask decays it to 0.3125.
  const h = layer.apply(x).dataSync()[0];
  assert.ok(Math.abs(h - 1.25) < 1e-6, `unpadded h_2 = ${h}, expected 1.25`);
  const hp = layer.apply(xp).dataSync()[0];
  assert.ok(Math.abs(hp - 0.3125) < 1e-6, `padded h_4 = ${hp}, expected 0.3125 (why a dropped mask is wrong)`);
  const mask = T.tensor2d([[1, 1, 0, 0]]).cast('bool');
  const hm = layer.apply(xp, { mask }).dataSync()[0];
  assert.ok(Math.abs(hm - 1.25) < 1e-6, `masked padded h = ${hm}, expected 1.25 (the state after step L = 2)`);
  const hl = layer.apply(xp, { lengths: [2] }).dataSync()[0];
  assert.ok(Math.abs(hl - 1.25) < 1e-6, `padded h with lengths [2] = ${hl}, expected 1.25`);
  // Upstream tf.layers.masking in a functional model.
  const inp = T.input({ shape: [null, 1] });
  const m = T.model({ inputs: inp, outputs: linearRnn().apply(T.layers.masking({ maskValue: 0 }).apply(inp)) });
  const hk = m.predict(xp).dataSync()[0];
  assert.ok(Math.abs(hk - 1.25) < 1e-6, `behind tf.layers.masking h = ${hk}, expected 1.25`);
  // Second instance: an embedding with maskZero in a tf.sequential equals the unpadded ids.
  const s = T.sequential({ layers: [T.layers.embedding({ inputDim: 5, outputDim: 1, maskZero: true }), L.rnnLayer({ units: 1 })] });
  const padded = s.predict(T.tensor2d([[1, 2, 0, 0]])).dataSync()[0];
  const alone = s.predict(T.tensor2d([[1, 2]])).dataSync()[0];
  assert.ok(Math.abs(padded - alone) < 1e-6, `embedding maskZero: padded ${padded} vs unpadded ${alone}`);
  // A mask that is not 1s then 0s is an error naming the row.
  throwsAll(() => layer.apply(xp, { mask: T.tensor2d([[1, 0, 1, 0]]) }), [/apply: mask row 0 must be 1s followed by 0s/]);
  // Any other call kwarg the layer does not read.
  throwsAll(() => layer.apply(x, { initalState: [T.zeros([1, 1])] }), [/apply: unknown kwargs key 'initalState' — did you mean 'initialState'\?/]);
  T.dispose([x, xp, mask]);
});

// --- Item 8: inputs checked at the model boundary ------------------------------------------------

test('model.predict(tf.ones([4, 10])) with inputSize 1 names x, rank 3, the layout and what came', () => {
  const model = L.buildLSTM({ inputSize: 1, hiddenSize: 4, outputSize: 1 });
  const bad = T.ones([4, 10]);
  throwsAll(() => model.predict(bad), [/^predict: x must have rank 3, layout \[batch, time, features=1\]; got shape \[4, 10\]/, /expandDims\(-1\)/]);
  // Second instance: right rank, wrong feature size; and predictOnBatch.
  const wrong = T.ones([4, 10, 3]);
  throwsAll(() => model.predictOnBatch(wrong), [/^predictOnBatch: x must have layout \[batch, time, features=1\]; got shape \[4, 10, 3\] \(axis 2 is 3, expected 1\)/]);
  // Token ids, one-to-many and seq2seq layouts.
  const lm = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'many-to-many' });
  throwsAll(() => lm.predict(T.ones([2, 5, 1])), [/^predict: x must have rank 2, layout \[batch, time\] token ids; got shape \[2, 5, 1\]/]);
  const otm = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1, topology: 'one-to-many', sequenceLength: 4 });
  throwsAll(() => otm.predict(T.ones([2, 4, 2])), [/^predict: x must have rank 2, layout \[batch, features=2\]; got shape \[2, 4, 2\]/]);
  throwsAll(() => L.generate(otm, T.ones([2, 3]), 5), [/^generate: x must have layout \[batch, features=2\]; got shape \[2, 3\]/]);
  const s2s = L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 2, topology: 'seq2seq' });
  throwsAll(() => s2s.predict(T.ones([2, 4, 2])), [/^predict: x must be \[source, target_in\] \(source \[batch, time, features=2\], target_in \[batch, time, features=2\]\); got one tensor of shape \[2, 4, 2\]/]);
  throwsAll(() => s2s.predict([T.ones([2, 4, 2]), T.ones([2, 3, 5])]), [/^predict: x\[1\] \(target_in\) must have layout \[batch, time, features=2\]; got shape \[2, 3, 5\]/]);
  throwsAll(() => L.decode(s2s, T.ones([2, 4]), { maxLength: 2, start: [0, 0] }), [/^decode: source must have rank 3, layout \[batch, time, features=2\]; got shape \[2, 4\]/]);
  T.dispose([bad, wrong]);
});

test('NaN at the boundary: predict/fit/evaluate/apply name x or y and the first bad index', async () => {
  const model = L.buildRNN({ inputSize: 2, hiddenSize: 3, outputSize: 1 });
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const xv = new Float32Array(3 * 4 * 2).fill(0.1);
  xv[(1 * 4 + 2) * 2 + 1] = NaN;                        // x[1, 2, 1]
  xv[(2 * 4 + 0) * 2 + 0] = Infinity;                   // x[2, 0, 0], later
  const x = T.tensor3d(xv, [3, 4, 2]);
  throwsAll(() => model.predict(x), [/^predict: x has NaN at \[1, 2, 1\] \(the first of 2 non-finite values; shape \[3, 4, 2\], layout \[batch, time, features=2\]\)/]);
  throwsAll(() => model.apply(x), [/^apply: inputs has NaN at \[1, 2, 1\]/]);
  const xOk = T.ones([3, 4, 2]);
  const y = T.tensor2d([[0], [NaN], [1]]);
  await rejectsAll(() => model.fit(xOk, y, { epochs: 1, verbose: 0 }), [/^fit: y has NaN at \[1, 0\]/]);
  await rejectsAll(() => model.fit(x, T.zeros([3, 1]), { epochs: 1, verbose: 0 }), [/^fit: x has NaN at \[1, 2, 1\]/]);
  throwsAll(() => model.evaluate(xOk, y), [/^evaluate: y has NaN at \[1, 0\]/]);
  T.dispose([x, xOk, y]);
});

test('the boundary check leaks no tensors and reads back once per predict call', () => {
  const model = L.buildGRU({ inputSize: 3, hiddenSize: 4, outputSize: 2 });
  const x = T.randomNormal([8, 6, 3], 0, 1, 'float32', 4);
  const bad = T.ones([8, 6]);
  T.dispose(model.predict(x));                              // warm-up (weights, kernels)
  const before = T.memory().numTensors;
  for (let i = 0; i < 5; i++) {
    T.dispose(model.predict(x));
    assert.throws(() => model.predict(bad));
  }
  assert.equal(T.memory().numTensors, before, 'numTensors must be flat across guarded predict calls, passing and failing');
  // Reads: count dataSync/data/arraySync during a guarded predict and during tf.js's own predict.
  const proto = T.Tensor.prototype;
  const names = ['dataSync', 'data', 'arraySync', 'array'];
  const orig = names.map((n) => proto[n]);
  let reads = 0;
  names.forEach((n, i) => { proto[n] = function (...a) { reads++; return orig[i].apply(this, a); }; });
  let guarded, plain;
  try {
    reads = 0; T.dispose(model.predict(x)); guarded = reads;
    reads = 0; T.dispose(Object.getPrototypeOf(model).predict.call(model, x)); plain = reads;
  } finally { names.forEach((n, i) => { proto[n] = orig[i]; }); }
  assert.equal(guarded - plain, 1, `reads in a guarded predict ${guarded}, in tf.js's own ${plain}: the guard must add exactly one`);
  T.dispose([x, bad]);
});

test('a disposed tensor is named as disposed, with how to get it back (re-running a cell after a cleanup cell freed its data)', async () => {
  const m = L.buildRNN({ inputSize: 1, hiddenSize: 4, outputSize: 1, seed: 1 });
  const x = T.ones([4, 5, 1]), y = T.ones([4, 1]);
  x.dispose();
  const disposed = [/was disposed \(by tf\.dispose, \.dispose\(\) or tf\.tidy\) before this call/, /re-run the cell that created it/, /shape was \[4, 5, 1\]/];
  const layer = L.rnnLayer({ units: 3, seed: 2 });
  layer.build([null, 5, 1]);                            // its weights exist before the count
  const before = T.memory().numTensors;
  // The reported case: lesson 06's training cell re-run after its last cell freed the data.
  await rejectsAll(() => L.train(m, { x, y }, { epochs: 1, verbose: false }), [/^train: data\.x was disposed/, ...disposed]);
  throwsAll(() => m.predict(x), [/^predict: x was disposed/, ...disposed]);
  throwsAll(() => layer.apply(x), [/x was disposed/, ...disposed]);
  const g = T.ones([2, 3]); g.dispose();
  throwsAll(() => L.globalNorm({ Wxh: g }), [/^globalNorm: grads\['Wxh'\] was disposed/, /shape was \[2, 3\]/]);
  const x2 = T.ones([4, 5, 1]); y.dispose();
  await rejectsAll(() => L.train(m, { x: x2, y }, { epochs: 1, verbose: false }), [/^train: data\.y was disposed/]);
  x2.dispose();
  assert.equal(T.memory().numTensors, before - 1, 'no tensor made by the failed calls is left (y was disposed here)');
});
