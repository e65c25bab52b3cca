// Issue 16, fresh-user trial: each finding as a test with its right value (and a second case).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

test("predict, evaluate and fit refuse lengths or a mask they would ignore; a seq2seq model's apply refuses one mask for both sides", async () => {
  const m = L.buildLSTM({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 1 });
  const x = tf.randomNormal([3, 5, 2], 0, 1, 'float32', 1), y = tf.zeros([3, 1]);
  const before = tf.memory().numTensors;
  assert.throws(() => m.predict(x, { lengths: [5, 2, 3] }), /^Error: predict: tf\.js's predict has no lengths option and would ignore it .*forwardModel\(model, x, \{ lengths \}\) or model\.apply\(x, \{ lengths \}\)/);
  assert.throws(() => m.evaluate(x, y, { mask: tf.ones([3, 5]) }), /^Error: evaluate: tf\.js's evaluate has no mask option/);
  await assert.rejects(m.fit(x, y, { epochs: 1, lengths: [5, 2, 3] }), /^Error: fit: .*train\(model, \{ x, y, lengths \}\) trains on a padded batch/);
  // the way that works gives the right value: the padded row equals the row alone
  const padded = m.apply(x, { lengths: [5, 2, 3] }).arraySync();
  const alone = m.predict(x.slice([1, 0, 0], [1, 2, 2])).arraySync();
  assert.ok(Math.abs(padded[1][0] - alone[0][0]) < 1e-6, `apply with lengths vs alone: ${padded[1][0]} vs ${alone[0][0]}`);
  const s2s = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'seq2seq', outputActivation: 'softmax', seed: 2 });
  const src = tf.tensor2d([[1, 2, 3], [4, 5, 0]], [2, 3], 'int32'), tin = tf.tensor2d([[1, 2, 3], [1, 4, 0]], [2, 3], 'int32');
  assert.throws(() => s2s.apply([src, tin], { lengths: [3, 2] }), /^Error: apply: a seq2seq model takes its source and target lengths separately .*lengths: \{ source, target \}/);
  assert.throws(() => s2s.apply([src, tin], { mask: tf.ones([2, 3]) }), /one mask here would reach the encoder and the decoder alike/);
  tf.dispose([x, y, src, tin]);
  m.dispose(); s2s.dispose();
  assert.ok(tf.memory().numTensors <= before + 1, 'refusals leave no tensors (the inline mask aside)');
});

test("gradientFlow: a padded batch's verdict reads rows aligned at their own ends (equal to each row alone, aligned), and lossAt 'last' works for token targets", () => {
  // A vanilla RNN whose gradient vanishes; rows of 2 to 12 steps padded to 12.
  const m = L.buildRNN({ inputSize: 1, hiddenSize: 6, outputSize: 1, topology: 'many-to-one', seed: 3 });
  const lengths = [12, 3, 7, 2, 9, 12, 5];
  const T = 12, B = lengths.length;
  const x = tf.randomNormal([B, T, 1], 0, 1, 'float32', 4), y = tf.randomNormal([B, 1], 0, 1, 'float32', 5);
  const flow = L.gradientFlow(m, x, y, { lengths });
  // Independent path: each row alone (unpadded), its dh curve aligned at its end, RMS over rows.
  const curves = lengths.map((Lb, b) => {
    const xb = x.slice([b, 0, 0], [1, Lb, 1]), yb = y.slice([b, 0], [1, 1]);
    const f = L.gradientFlow(m, xb, yb);
    tf.dispose([xb, yb]);
    return f.layers[0].directions[0].dh;               // the loss of a batch of 1 is the row's own
  });
  const maxL = Math.max(...lengths);
  const aligned = Array.from({ length: maxL }, (_, j) => {
    const k = maxL - 1 - j;
    const vals = curves.flatMap((c) => (c.length - 1 - k >= 0 ? [c[c.length - 1 - k] / B] : []));   // 1/batch: the batch loss's share
    return Math.sqrt(vals.reduce((a, v) => a + v * v, 0) / vals.length);
  });
  const want = L.verdictOf(aligned);
  const alone = curves.map((c) => L.verdictOf(c).verdict);
  assert.equal(flow.verdict.verdict, want.verdict, `padded ${JSON.stringify(flow.verdict)} vs aligned ${JSON.stringify(want)}; each alone: ${alone}`);
  assert.ok(Math.abs(flow.verdict.rate - want.rate) < 1e-4, `rate ${flow.verdict.rate} vs ${want.rate}`);
  tf.dispose([x, y]);
  m.dispose();
  // Token many-to-many model with padId, loss at each row's last step: class-id targets [batch, T].
  const lm = L.buildGRU({ vocabSize: 7, hiddenSize: 5, outputSize: 6, topology: 'many-to-many', outputActivation: 'softmax', padId: 6, seed: 4 });
  const ids = tf.tensor2d([[1, 2, 3, 6], [4, 5, 6, 6], [0, 1, 2, 3]], [3, 4], 'int32');
  const tgt = tf.tensor2d([[2, 3, 4, 0], [5, 1, 0, 0], [1, 2, 3, 4]], [3, 4], 'int32');
  const f = L.gradientFlow(lm, ids, tgt);
  let sum = 0;
  [[1, 2, 3], [4, 5], [0, 1, 2, 3]].forEach((row, b) => {
    const xi = tf.tensor2d([row], [1, row.length], 'int32');
    const yi = tgt.slice([b, 0], [1, row.length]);
    sum += L.gradientFlow(lm, xi, yi).loss;
    tf.dispose([xi, yi]);
  });
  assert.ok(Math.abs(f.loss - sum / 3) < 1e-5, `loss at each row's last step: ${f.loss} vs mean of rows alone ${sum / 3}`);
  const perSeq = tf.tensor1d([4, 0, 4], 'int32');
  assert.throws(() => L.gradientFlow(lm, ids, perSeq), /^RangeError: gradientFlow: y must hold one target per step, \[batch, time\] class ids with time = 4/);
  tf.dispose([ids, tgt, perSeq]);
  lm.dispose();
});

test('ragged training: token models pad with their padId (not 0), need a padId at all, and a sigmoid head takes number[] targets; padSequences\' pre-padding is refused', async () => {
  const opts = { epochs: 1, batchSize: 4, shuffle: false, verbose: false, optimizer: 'sgd', learningRate: 0.1 };
  const seqs = [[1, 2, 3, 4], [5, 1], [2, 2, 2], [0, 3]];
  const labels = [1, 0, 1, 0];
  const build = () => L.buildGRU({ vocabSize: 7, hiddenSize: 4, outputSize: 1, outputActivation: 'sigmoid', padId: 6, seed: 8 });
  // ragged, one label per sequence as number[]
  const a = build();
  const ra = await L.train(a, { x: seqs, y: labels }, { ...opts, loss: 'binaryCrossEntropy' });
  // the same batch as tensors padded with padId, with lengths
  const b = build();
  const padded = L.padSequences(seqs, { value: 6, dtype: 'int32' });
  const y = tf.tensor2d(labels, [4, 1]);
  const rb = await L.train(b, { x: padded.x, y, lengths: padded.lengths }, { ...opts, loss: 'binaryCrossEntropy' });
  assert.ok(Math.abs(ra.steps[0].loss - rb.steps[0].loss) < 1e-6, `ragged ${ra.steps[0].loss} vs padded with padId ${rb.steps[0].loss}`);
  // pre-padding with its lengths is refused; 'post' (the default) is taken as it comes from padSequences
  const pre = L.padSequences(seqs, { value: 6, dtype: 'int32', padding: 'pre' });
  await assert.rejects(L.train(b, { ...pre, y }, opts), /^RangeError: train: data\.padding is "pre": lengths and masks describe batches padded at the end/);
  const post = await L.train(b, { ...padded, y }, { ...opts, loss: 'binaryCrossEntropy' });
  assert.equal(post.stopped, 'completed');
  // a token model without padId cannot mark padding: the error says what to build
  const noPad = L.buildGRU({ vocabSize: 7, hiddenSize: 4, outputSize: 1, outputActivation: 'sigmoid', seed: 8 });
  await assert.rejects(L.train(noPad, { x: seqs, y: labels }, { ...opts, loss: 'binaryCrossEntropy' }), /the model's embedding has no padId, so it cannot mark padded steps: build the token model with padId/);
  tf.dispose([padded.x, pre.x, y]);
  [a, b, noPad].forEach((m) => m.dispose());
});
