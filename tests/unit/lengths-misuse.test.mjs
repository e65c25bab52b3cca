// Misuses of variable-length data found by a new-user trial (issue 16): each was accepted and gave a
// wrong answer, or an error that named nothing. Each is now an error naming the argument, the row and
// what was expected — or, for a validation set, scored the way the training data is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

const seqs = [[[1], [2]], [[3], [4], [5], [6]], [[7], [8], [9]]];   // 3 sequences of 2, 4, 3 steps, 1 feature

test('sequenceMask checks its lengths (the reported values, and a tensor of lengths)', () => {
  // Reported: [-1] gave [[1,1,1,0]], [8] with T = 7 all ones, [2.5] [[1,1,0,0]], [0] all zeros.
  for (const [lengths, T] of [[[-1], 4], [[8], 7], [[2.5], 4], [[0], 7], [[3, 9], 5]]) {
    assert.throws(() => L.sequenceMask(lengths, T), (e) => e instanceof RangeError && /sequenceMask: lengths\[\d\] must be an integer from 1 to T/.test(e.message), `${lengths} T=${T}`);
  }
  assert.throws(() => L.sequenceMask([1], 0), /T \(the number of time steps\) must be an integer ≥ 1/);
  const before = tf.memory().numTensors;
  const t = tf.tensor1d([2, 4, 1], 'int32');
  const m = L.sequenceMask(t, 4);
  assert.deepEqual(m.arraySync(), [[1, 1, 0, 0], [1, 1, 1, 1], [1, 0, 0, 0]]);
  tf.dispose([t, m]);
  assert.equal(tf.memory().numTensors, before);
});

test('lengthsFromMask(mask): the one-argument form the package exports; a mask is 0/1, not a weight', () => {
  const mask = tf.tensor2d([[1, 1, 0], [1, 1, 1], [1, 0, 0]]);
  assert.deepEqual([...L.lengthsFromMask(mask)], [2, 3, 1]);
  const bool = tf.cast(mask, 'bool');
  assert.deepEqual([...L.lengthsFromMask(bool)], [2, 3, 1]);
  assert.throws(() => L.lengthsFromMask(tf.tensor1d([1, 0])), /lengthsFromMask: mask must be a \[batch, time\] tensor/);
  // Reported: 0.5 counted as 1. A weight in a mask is refused, naming the row and the step.
  const half = tf.tensor2d([[1, 0.5, 0]]);
  assert.throws(() => L.lengthsFromMask(half), /row 0 step 1 is 0.5: a mask holds 1 \(or true\) at real steps and 0/);
  const layer = L.gruLayer({ units: 3, seed: 1 });
  assert.throws(() => layer.apply(tf.zeros([1, 3, 1]), { mask: half }), /row 0 step 1 is 0.5/);
  tf.dispose([mask, bool, half]);
});

test('front-padded batches never pass as lengths: train, layers, forwardModel (the README\'s natural form)', async () => {
  const pre = L.padSequences(seqs, { padding: 'pre' });
  const y = tf.tensor2d([[0], [1], [0]]);
  const model = L.buildGRU({ inputSize: 1, hiddenSize: 4, outputSize: 1, seed: 1 });
  const before = tf.memory().numTensors;
  const want = /padSequences\(…, \{ padding: 'pre' \}\).*padding: 'post'/;
  // Reported: this form trained, reading each sequence's first L_b steps — the padding.
  await assert.rejects(L.train(model, { x: pre.x, y, lengths: pre.lengths }, { epochs: 1, verbose: false }), want);
  await assert.rejects(L.train(model, { x: pre.x, y, lengths: [2, 4, 3] }, { epochs: 1, verbose: false }), (e) => /data\.x was padded at the front/.test(e.message));
  assert.throws(() => L.forwardModel(model, pre.x, { lengths: pre.lengths }), want);
  const layer = L.recurrentLayers(model)[0];
  assert.throws(() => layer.apply(pre.x, { lengths: [2, 4, 3] }), /x was padded at the front/);
  assert.throws(() => L.sequenceMask(pre.lengths, 4), want);
  assert.equal(tf.memory().numTensors, before);
  // Post padding (the default), and a front padding that padded nothing, pass.
  const post = L.padSequences(seqs);
  const out = L.forwardModel(model, post.x, { lengths: post.lengths });
  assert.deepEqual(out.output.shape, [3, 1]);
  const full = L.padSequences([[[1], [2]], [[3], [4]]], { padding: 'pre' });
  assert.doesNotThrow(() => L.sequenceMask(full.lengths, 2).dispose());
  tf.dispose([pre.x, post.x, full.x, y, out.output, ...out.finalStates.flat()]);
  model.dispose();
});

test('ragged targets: a missing value, a boolean or a text label is an error naming data.y and the row', async () => {
  const model = L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, outputActivation: 'sigmoid', seed: 1 });
  const x = [[[1, 2]], [[3, 4], [5, 6]]];
  const opts = { epochs: 1, verbose: false, loss: 'binaryCrossEntropy' };
  const before = tf.memory().numTensors;
  // Reported: y [null, 0] trained (null became class 0); [true, false] and ['1', '0'] likewise or a raw tf.js error.
  await assert.rejects(L.train(model, { x, y: [null, 0] }, opts), (e) => /train: data\.y\[0\] must be a finite number.*got null.*missing values are not filled in/.test(e.message));
  await assert.rejects(L.train(model, { x, y: [true, false] }, opts), /data\.y\[0\] must be a finite number.*got true/);
  await assert.rejects(L.train(model, { x, y: ['1', '0'] }, opts), /data\.y\[0\] must be a finite number.*labels must be numbers/);
  await assert.rejects(L.train(model, { x, y: [[1], [NaN]] }, opts), /data\.y\[1\]\[0\] must be a finite number/);
  await assert.rejects(L.train(model, { x, y: [[1], [0, 1]] }, opts), /data\.y\[1\] must be a vector of 1 numbers/);
  // Reported: a label of 2 with binary cross-entropy trained (a negative loss term). Ragged and tensor data alike.
  await assert.rejects(L.train(model, { x, y: [2, 0] }, opts), /must be probabilities in \[0, 1\].*got 2 at \[0, 0\]/);
  const xt = tf.tensor3d([[[1, 2]], [[3, 4]]]), yt = tf.tensor2d([[0], [-1]]);
  await assert.rejects(L.train(model, { x: xt, y: yt }, opts), /must be probabilities in \[0, 1\].*got -1 at \[1, 0\]/);
  tf.dispose([xt, yt]);
  assert.equal(tf.memory().numTensors, before);
  const r = await L.train(model, { x, y: [1, 0] }, opts);   // numbers train
  assert.ok(Number.isFinite(r.epochs[0].loss));
  model.dispose();
});

test('a validation set without lengths is refused when the training data has them (it would score padding)', async () => {
  const model = L.buildGRU({ inputSize: 1, hiddenSize: 3, outputSize: 1, outputActivation: 'sigmoid', seed: 1 });
  const p = L.padSequences(seqs);
  const y = tf.tensor2d([[0], [1], [0]]);
  const opts = (validation) => ({ epochs: 1, verbose: false, loss: 'binaryCrossEntropy', validation });
  await assert.rejects(L.train(model, { x: p.x, y, lengths: p.lengths }, opts({ x: p.x, y })), /validation has none, so its padded steps would be scored/);
  await assert.rejects(L.train(model, { x: seqs, y: [0, 1, 0] }, opts({ x: p.x, y })), /validation has none/);
  // With lengths, the validation loss (measured after the epoch) is the masked loss of the final weights.
  const r = await L.train(model, { x: p.x, y, lengths: p.lengths }, opts({ x: p.x, y, lengths: p.lengths }));
  const manual = tf.tidy(() => {
    const out = L.forwardModel(model, p.x, { lengths: p.lengths }).output;               // [3, 1] sigmoid
    return L.lossFunction('binaryCrossEntropy')(y, out).dataSync()[0];
  });
  assert.ok(Math.abs(r.epochs[0].valLoss - manual) < 1e-5, `valLoss ${r.epochs[0].valLoss} vs masked loss by hand ${manual}`);
  tf.dispose([p.x, y]);
  model.dispose();
});

test('errors about token inputs say [batch, time] and padId, not features and 1s/0s', async () => {
  // Reported: a seq2seq padId model's bad source row was described as "must be 1s followed by 0s".
  const V = 8, PAD = 0;
  const model = L.buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 4, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 1 });
  const src = tf.tensor2d([[6, 0, 5, 0], [1, 2, 3, 0]], undefined, 'int32');
  const tin = tf.tensor2d([[1, 2], [1, 3]], undefined, 'int32'), tout = tf.tensor2d([[2, 4], [3, 4]], undefined, 'int32');
  const ok = tf.tensor2d([[6, 5, 0, 0], [1, 2, 3, 0]], undefined, 'int32');
  const before = tf.memory().numTensors;
  await assert.rejects(L.train(model, { x: [src, tin], y: tout }, { epochs: 1, verbose: false }),
    (e) => /data\.x\[0\] \(source\) row 0 has a token at step 2 after padId 0 at step 1: padding \(padId 0\) must come only at the end/.test(e.message) && !/1s followed by 0s/.test(e.message));
  await assert.rejects(L.train(model, { x: [ok, tin], y: tout, lengths: { source: [2, 3, 1] } }, { epochs: 1, verbose: false }),
    /data\.lengths\.source has 3 lengths but the batch \[batch, time\] has 2 sequences/);
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([src, tin, tout, ok]);
  model.dispose();
});

test('unknown option names from Keras get a suggestion; bucketBatches takes a tensor of lengths', () => {
  assert.throws(() => L.padSequences(seqs, { maxlen: 3 }), /unknown options key 'maxlen' — did you mean 'maxLength'\?/);
  const t = tf.tensor1d([5, 2, 9, 3, 8, 2], 'int32');
  assert.deepEqual(L.bucketBatches(t, { batchSize: 2, seed: 1 }), L.bucketBatches([5, 2, 9, 3, 8, 2], { batchSize: 2, seed: 1 }));
  t.dispose();
});

test('passing padSequences\' whole result as data.x says how to pass its parts', async () => {
  const model = L.buildGRU({ inputSize: 1, hiddenSize: 3, outputSize: 1, seed: 1 });
  const p = L.padSequences(seqs);
  const y = tf.tensor2d([[0], [1], [0]]);
  await assert.rejects(L.train(model, { x: p, y }, { epochs: 1, verbose: false }), /looks like padSequences' result: pass its parts, \{ x: padded\.x, lengths: padded\.lengths, y \}/);
  tf.dispose([p.x, y]);
  model.dispose();
});

test('ragged token ids of a one-input model: an id outside the vocabulary or equal to padId names the row', async () => {
  // Found beside the seq2seq ragged path, which checked this while the one-input path did not: padId 0
  // inside a row was masked as padding (the row cut short), an id ≥ V looked up nothing.
  const model = L.buildGRU({ vocabSize: 6, embeddingSize: 3, hiddenSize: 4, outputSize: 1, outputActivation: 'sigmoid', padId: 0, seed: 1 });
  const opts = { epochs: 1, verbose: false, loss: 'binaryCrossEntropy' };
  const before = tf.memory().numTensors;
  await assert.rejects(L.train(model, { x: [[1, 2], [3, 0, 4]], y: [1, 0] }, opts), /data\.x\[1\]\[1\] is the model's padId 0, which marks padding/);
  await assert.rejects(L.train(model, { x: [[1, 2], [3, 6]], y: [1, 0] }, opts), /data\.x\[1\]\[1\] must be a token id, an integer in \[0, vocabSize = 6\).*got 6/);
  await assert.rejects(L.train(model, { x: [[1, -1]], y: [1] }, opts), /data\.x\[0\]\[1\] must be a token id.*got -1/);
  assert.equal(tf.memory().numTensors, before);
  const r = await L.train(model, { x: [[1, 2], [3, 5, 4]], y: [1, 0] }, opts);
  assert.ok(Number.isFinite(r.epochs[0].loss));
  model.dispose();
});

test('decodeSequences: options.padId fills the output only; a padded source it would read as tokens is an error', () => {
  // Reported: a model built without padId, padId: 0 passed to decodeSequences, no sourceLengths: 39 of 50
  // decodings differed from each source decoded alone, silently.
  const V = 7;
  const model = L.buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 4, outputSize: V, outputActivation: 'softmax', seed: 1 });
  const src = tf.tensor2d([[3, 4, 0], [5, 6, 4]], undefined, 'int32');                 // row 0 padded with 0
  const base = { start: 1, end: 2, maxLength: 4 };
  assert.throws(() => L.decodeSequences(model, src, { ...base, padId: 0 }), /source row 0 ends in 0, the options\.padId, but options\.padId only fills the output.*give options\.sourceLengths/);
  const ok = L.decodeSequences(model, src, { ...base, padId: 0, sourceLengths: [2, 3] });
  const one = tf.tensor2d([[3, 4]], undefined, 'int32');
  const alone = L.decodeSequences(model, one, { ...base, padId: 0 });
  assert.deepEqual(ok.sequences[0], alone.sequences[0]);
  tf.dispose([src, one, ok.tokens, alone.tokens]);
  model.dispose();
});
