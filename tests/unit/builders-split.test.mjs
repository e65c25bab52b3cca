// The builders after the split (issue 15, item 5): the named seed offsets of build.ts are the ones the
// builders use, and torch-io.ts's one key generator gives PyTorch's own state-dict names. The seed
// test rebuilds each model's layers by hand, each with the seed its doc comment states (the literal
// numbers 101, 7, 11, 13, 9001, written here independently of the constants), and requires every
// weight tensor to be bit-identical (tolerance 0: same seed, same generator, same float32 values).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const lib = require('../../dist/index.js');
const build = require('../../dist/build.js');
const torchIo = require('../../dist/torch-io.js');
const tf = require('../../node_modules/@tensorflow/tfjs');

const SEED = 7;
const LAYER = { rnn: lib.LabRNN, lstm: lib.LabLSTM, gru: lib.LabGRU };
const BUILD = { rnn: lib.buildRNN, lstm: lib.buildLSTM, gru: lib.buildGRU };

/** Max |a − b| over two lists of tensors, and the first differing name; -1 when shapes differ. */
function maxDiff(a, b) {
  assert.equal(a.length, b.length, `weight counts differ: ${a.length} vs ${b.length}`);
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    if (a[i].shape.join() !== b[i].shape.join()) return -1;
    const x = a[i].dataSync(), y = b[i].dataSync();
    for (let j = 0; j < x.length; j++) worst = Math.max(worst, Math.abs(x[j] - y[j]));
  }
  return worst;
}

test('the seed offsets have their documented values', () => {
  assert.deepEqual(
    [build.LAYER_SEED_STRIDE, build.DECODER_SEED_OFFSET, build.EMBEDDING_SEED_OFFSET, build.DECODER_EMBEDDING_SEED_OFFSET, build.HEAD_SEED_OFFSET],
    [101, 7, 11, 13, 9001]);
  // The reason for the stride: within one model no layer seed offset (101·l, 101·l + 7) equals the
  // embedding's, the decoder embedding's or the head's offset, for any depth.
  for (let l = 0; l < 1000; l++) {
    for (const off of [101 * l, 101 * l + 7]) assert.ok(![11, 13, 9001].includes(off), `layer ${l}: offset ${off} collides`);
  }
});

for (const cell of ['rnn', 'lstm', 'gru']) {
  test(`${cell}: build${cell.toUpperCase()}({ seed: 7 }) = its layers built by hand with seeds 7, 7 + 101 and head 7 + 9001`, () => {
    const spec = { inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, seed: SEED };
    const model = BUILD[cell](spec);
    const input = tf.input({ shape: [null, 3] });
    const l0 = new LAYER[cell]({ units: 4, seed: SEED, returnSequences: true });
    const l1 = new LAYER[cell]({ units: 4, seed: SEED + 101 });
    const head = tf.layers.dense({ units: 2, kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 9001 }) });
    head.apply(l1.apply(l0.apply(input)));
    const byHand = [...l0.getWeights(), ...l1.getWeights(), ...head.getWeights()];
    const d = maxDiff(model.getWeights(), byHand);
    assert.equal(d, 0, `max |built − by hand| = ${d} (tolerance 0)`);
    // Why the stride: the two layers' recurrent kernels (same shape [4, G·4]) start different.
    const [r0, r1] = [model.getLayer('rnn_l0'), model.getLayer('rnn_l1')].map((l) => l.getWeights()[1]);
    const apart = maxDiff([r0], [r1]);
    assert.ok(apart > 1e-3, `stacked layers' recurrent kernels differ by at most ${apart}`);
  });
}

test('lstm seq2seq with tokens: embeddings at 7 + 11 and 7 + 13, decoder layers at 7 + 7 and 7 + 101 + 7', () => {
  const spec = { vocabSize: 6, embeddingSize: 3, hiddenSize: 4, outputSize: 6, topology: 'seq2seq', numLayers: 2, seed: SEED };
  const model = lib.buildLSTM(spec);
  const src = tf.input({ shape: [null] }), tgt = tf.input({ shape: [null] });
  const emb = new lib.LabEmbedding({ vocabSize: 6, embeddingSize: 3, seed: SEED + 11 });
  const decEmb = new lib.LabEmbedding({ vocabSize: 6, embeddingSize: 3, seed: SEED + 13 });
  const enc0 = new lib.LabLSTM({ units: 4, seed: SEED, returnSequences: true });
  const enc1 = new lib.LabLSTM({ units: 4, seed: SEED + 101 });
  const dec0 = new lib.LabLSTM({ units: 4, seed: SEED + 7, returnSequences: true });
  const dec1 = new lib.LabLSTM({ units: 4, seed: SEED + 101 + 7, returnSequences: true });
  const head = tf.layers.dense({ units: 6, kernelInitializer: tf.initializers.glorotUniform({ seed: SEED + 9001 }) });
  enc1.apply(enc0.apply(emb.apply(src)));
  head.apply(dec1.apply(dec0.apply(decEmb.apply(tgt))));
  const pairs = [['embedding', emb], ['decoder_embedding', decEmb], ['encoder_l0', enc0], ['encoder_l1', enc1], ['decoder_l0', dec0], ['decoder_l1', dec1], ['head', head]];
  for (const [name, layer] of pairs) {
    const d = maxDiff(model.getLayer(name).getWeights(), layer.getWeights());
    assert.equal(d, 0, `${name}: max |built − by hand| = ${d} (tolerance 0)`);
  }
});

test('torchKey gives PyTorch names: <module>.<param>_l<k>[_reverse]', () => {
  assert.equal(torchIo.torchKey('rnn_l1', 'weight_ih', 1), 'rnn.weight_ih_l1_reverse');
  assert.equal(torchIo.torchKey('encoder_l0', 'bias_hh', 0), 'encoder.bias_hh_l0');
  assert.equal(torchIo.torchKey('decoder_l12', 'weight_hh', 0), 'decoder.weight_hh_l12');
  assert.throws(() => torchIo.torchKey('head', 'weight_ih', 0), /head: recurrent layers of builder models are named like rnn_l0/);
  // The order and names of nn.GRU(3, 4, num_layers=2, bidirectional=True) (resetAfter: the PyTorch GRU).state_dict(), written out
  // from PyTorch's naming, then the head.
  const torchOrder = [];
  for (const k of [0, 1]) for (const sfx of ['', '_reverse']) for (const p of ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh']) torchOrder.push(`rnn.${p}_l${k}${sfx}`);
  const model = lib.buildGRU({ inputSize: 3, hiddenSize: 4, outputSize: 2, numLayers: 2, bidirectional: true, resetAfter: true, seed: SEED });
  const shapes = lib.torchWeightsShapes(model);
  assert.deepEqual(Object.keys(shapes), [...torchOrder, 'head.weight', 'head.bias']);
  assert.deepEqual(shapes['rnn.weight_ih_l1_reverse'], [12, 8], 'layer 1 reads both directions of layer 0: [3·4, 2·4]');
  const before = tf.memory().numTensors;
  const w = lib.torchWeights(model);
  assert.deepEqual(Object.keys(w), Object.keys(shapes));
  lib.loadTorchWeights(model, w);
  assert.equal(tf.memory().numTensors, before, 'torchWeights + loadTorchWeights leave no tensor behind');
});
