// A named loss must fit the model's output layer: cross-entropy on logits (a linear head) clips every
// negative output to ~1e-7, reports ~16 nats where the true value is ~1.6 and learns almost nothing.
// Found by a new user's trial; the kind: a loss that reads its inputs as probabilities refuses a head
// that does not make probabilities, in train and gradientFlow alike.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib as getLib, tf as getTf } from '../helpers.mjs';

const lib = getLib();
const tf = getTf();

test("train refuses loss 'crossEntropy' on a linear head and says both fixes; with logits it reports the true cross-entropy", async () => {
  const spec = { vocabSize: 5, embeddingSize: 4, hiddenSize: 8, outputSize: 5, topology: 'many-to-many', seed: 1 };
  const lm = lib.buildLSTM(spec);                                               // outputActivation: linear (logits)
  const ids = tf.tensor2d([[0, 1, 2, 3], [1, 2, 3, 4], [2, 3, 4, 0]]);
  const next = tf.tensor2d([[1, 2, 3, 4], [2, 3, 4, 0], [3, 4, 0, 1]]);
  const before = tf.memory().numTensors;
  await assert.rejects(lib.train(lm, { x: ids, y: next }, { epochs: 1, loss: 'crossEntropy', verbose: false }),
    /train: loss 'crossEntropy' takes softmax probabilities, but the model's output layer has activation 'linear'\. Build the model with outputActivation: 'softmax', or, to treat the outputs as logits, pass loss: lossFunction\('crossEntropy', true\)/);
  assert.equal(tf.memory().numTensors, before, 'the refused call leaked tensors');
  // The fix it names: logits through lossFunction(…, true). With frozen weights (lr 1e-12) the epoch
  // loss equals the cross-entropy of the softmax of the logits, computed here in float64.
  const r = await lib.train(lm, { x: ids, y: next }, { epochs: 1, batchSize: 2, loss: lib.lossFunction('crossEntropy', true), learningRate: 1e-12, shuffle: false, verbose: false });
  const logits = lm.predict(ids).arraySync();
  const y = next.arraySync();
  let sum = 0, n = 0;
  logits.forEach((seq, b) => seq.forEach((z, t) => {
    const m = Math.max(...z);
    const lse = m + Math.log(z.reduce((s, v) => s + Math.exp(v - m), 0));
    sum += lse - z[y[b][t]]; n++;
  }));
  const want = sum / n;
  const diff = Math.abs(r.epochs[0].loss - want);
  assert.ok(diff < 1e-5 * want, `epoch loss ${r.epochs[0].loss} vs float64 cross-entropy of the logits ${want}: diff ${diff}`);
  assert.ok(want < 2.5 && want > 1, `a near-uniform 5-way prediction has cross-entropy near ln 5 = 1.609; got ${want}`);
  tf.dispose([ids, next]);
});

test("binaryCrossEntropy on a linear head is refused too, in train and in gradientFlow; a sigmoid head is accepted", async () => {
  const x = tf.ones([4, 3, 1]);
  const y = tf.tensor2d([[1], [0], [1], [0]]);
  const linear = lib.buildRNN({ inputSize: 1, hiddenSize: 3, outputSize: 1, seed: 2 });
  await assert.rejects(lib.train(linear, { x, y }, { epochs: 1, loss: 'binaryCrossEntropy', verbose: false }),
    /loss 'binaryCrossEntropy' takes sigmoid probabilities, but the model's output layer has activation 'linear'.*outputActivation: 'sigmoid'/);
  assert.throws(() => lib.gradientFlow(linear, x, y, { loss: 'binaryCrossEntropy' }), /gradientFlow: loss 'binaryCrossEntropy' takes sigmoid probabilities/);
  const sigmoid = lib.buildRNN({ inputSize: 1, hiddenSize: 3, outputSize: 1, outputActivation: 'sigmoid', seed: 2 });
  const r = await lib.train(sigmoid, { x, y }, { epochs: 1, loss: 'binaryCrossEntropy', verbose: false });
  assert.equal(r.stopped, 'completed');
  // mse does not read probabilities: any head is fine.
  await lib.train(linear, { x, y }, { epochs: 1, loss: 'mse', verbose: false });
  tf.dispose([x, y]);
});

test('globalNorm takes what computeGradients returns, like clipByGlobalNorm', () => {
  const g = { a: tf.tensor1d([3e19]), b: tf.tensor1d([4e19]) };
  const n = lib.globalNorm(g);
  const v = n.dataSync()[0];
  assert.ok(Math.abs(v - 5e19) / 5e19 < 1e-6, `norm ${v}, expected 5e19`);
  n.dispose();
  assert.throws(() => lib.globalNorm(3), /globalNorm: grads must be an array of tf.Tensors or an object \{ name: tf.Tensor \}.*got 3/);
  tf.dispose(Object.values(g));
});

test("train checks its data once, not again per batch through the model's guarded apply/predict (full and truncated BPTT)", async () => {
  for (const tbptt of [undefined, 2]) {
    const m = lib.buildRNN({ inputSize: 1, hiddenSize: 3, outputSize: 1, topology: tbptt ? 'many-to-many' : 'many-to-one', seed: 3 });
    const x = tf.randomNormal([6, 4, 1], 0, 1, 'float32', 5);
    const y = tbptt ? tf.zeros([6, 4, 1]) : tf.zeros([6, 1]);
    let calls = 0;
    for (const name of ['apply', 'predict']) {
      const guarded = m[name];                        // the instance's checked method (guardModel)
      m[name] = function (...a) { calls++; return guarded.apply(this, a); };
    }
    const r = await lib.train(m, { x, y }, { epochs: 2, batchSize: 2, tbptt, validation: { x, y }, verbose: false });
    assert.equal(r.stopped, 'completed');
    assert.equal(calls, 0, `train went through the checked model.apply/predict ${calls} times (tbptt ${tbptt})`);
    // …while a bad x is still refused up front, naming it.
    const nan = tf.tensor3d(Array.from({ length: 24 }, (_, i) => (i === 9 ? NaN : 0)), [6, 4, 1]);
    await assert.rejects(lib.train(m, { x: nan, y }, { epochs: 1, verbose: false }), /train: data\.x has NaN at \[2, 1, 0\]/);
    tf.dispose([x, y, nan]);
  }
});
