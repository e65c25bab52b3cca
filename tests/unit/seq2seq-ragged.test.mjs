// Seq2seq training on ragged arrays: train(model, { x: [sources, targetsIn], y: targets }) pads each
// batch itself. The reference is the tensor path fed the same rows padded by padSequences with
// lengths { source, target } (which tests/unit/seq2seq-lengths.test.mjs checks against each pair alone,
// unpadded); the learning test's reference is the best predictors that do not read the source.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();
const { Rng, buildGRU, buildLSTM, train, padSequences } = L;

const TOL = 1e-6;
const V = 13, PAD = 0, START = 1, END = 2, DIGIT0 = 3;   // DIGIT_TOKENS' layout, written out

/** Reversal pairs with `lo`…`hi` digits (both reached): source, ⟨s⟩ + reversed, reversed + ⟨/s⟩. */
function reversalPairs(rng, n, lo, hi) {
  const sources = [], targetsIn = [], targets = [];
  for (let b = 0; b < n; b++) {
    const len = b === 0 ? lo : b === 1 ? hi : lo + rng.int(hi - lo + 1);
    const d = Array.from({ length: len }, () => DIGIT0 + rng.int(10));
    const r = d.slice().reverse();
    sources.push(d); targetsIn.push([START, ...r]); targets.push([...r, END]);
  }
  return { sources, targetsIn, targets };
}

/** Token pairs whose source and target lengths are drawn independently (1…Ts, 2…Tt): the two orders by length differ. */
function randomTokenPairs(rng, n, Ts, Tt) {
  const ids = (k) => Array.from({ length: k }, () => DIGIT0 + rng.int(10));
  const sources = [], targetsIn = [], targets = [];
  for (let b = 0; b < n; b++) {
    const body = ids(1 + rng.int(Tt - 1));
    sources.push(ids(1 + rng.int(Ts))); targetsIn.push([START, ...body]); targets.push([...body, END]);
  }
  return { sources, targetsIn, targets };
}

/** Feature pairs: sources of 1…Ts vectors of width m, targets of 1…Tt vectors of width k, unsorted. */
function featurePairs(rng, n, m, k, Ts, Tt) {
  const vec = (w) => Array.from({ length: w }, () => rng.normal());
  const sources = [], targetsIn = [], targets = [];
  for (let b = 0; b < n; b++) {
    const ls = b === 0 ? Ts : b === 1 ? 1 : 1 + rng.int(Ts);
    const lt = b === 0 ? 1 : b === 1 ? Tt : 1 + rng.int(Tt);
    sources.push(Array.from({ length: ls }, () => vec(m)));
    targetsIn.push(Array.from({ length: lt }, () => vec(k)));
    targets.push(Array.from({ length: lt }, () => vec(k)));
  }
  return { sources, targetsIn, targets };
}

const weights = (model) => model.trainableWeights.map((w) => w.read().dataSync().slice());
const maxDiff = (a, b) => Math.max(...a.map((w, i) => w.reduce((m, v, j) => Math.max(m, Math.abs(v - b[i][j])), 0)));

/** The same data as tensors: each list padded at the end by padSequences, with its lengths. */
function padded({ sources, targetsIn, targets }, value) {
  const s = padSequences(sources, { value }), ti = padSequences(targetsIn, { value }), t = padSequences(targets, { value: 0 });
  return { data: { x: [s.x, ti.x], y: t.x, lengths: { source: s.lengths, target: ti.lengths } }, tensors: [s.x, ti.x, t.x] };
}

const cases = [
  ['GRU, tokens with padId, 2 layers', () => buildGRU({ topology: 'seq2seq', vocabSize: V, embeddingSize: 5, hiddenSize: 6, numLayers: 2, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 4 }),
    (rng) => reversalPairs(rng, 7, 1, 6), PAD],
  ['LSTM, tokens without padId', () => buildLSTM({ topology: 'seq2seq', vocabSize: V, embeddingSize: 4, hiddenSize: 5, outputSize: V, outputActivation: 'softmax', seed: 6 }),
    (rng) => reversalPairs(rng, 6, 2, 5), 0],
  ['LSTM, features (m = 3, k = 2)', () => buildLSTM({ topology: 'seq2seq', inputSize: 3, hiddenSize: 4, outputSize: 2, seed: 2 }),
    (rng) => featurePairs(rng, 6, 3, 2, 6, 5), 0],
];

for (const [label, build, makePairs, padValue] of cases) {
  test(`${label}: one step on ragged pairs gives the weights of the tensor path (padSequences + lengths { source, target }), and the same validation loss (tolerance ${TOL})`, async () => {
    const pairs = makePairs(new Rng(7));
    const { data, tensors } = padded(pairs, padValue);
    const opts = { epochs: 1, batchSize: 100, optimizer: 'sgd', learningRate: 0.5, shuffle: false, verbose: false };
    const a = build(), b = build();
    const w0 = weights(a);
    assert.equal(maxDiff(w0, weights(b)), 0, 'the two models must start equal');
    const ra = await train(a, { x: [pairs.sources, pairs.targetsIn], y: pairs.targets }, { ...opts, validation: { x: [pairs.sources, pairs.targetsIn], y: pairs.targets } });
    const rb = await train(b, data, { ...opts, validation: data });
    const moved = maxDiff(w0, weights(a));
    const d = maxDiff(weights(a), weights(b));
    const dLoss = Math.abs(ra.steps[0].loss - rb.steps[0].loss);
    const dVal = Math.abs(ra.epochs[0].valLoss - rb.epochs[0].valLoss);
    console.log(`${label}: weights max |Δ| ${d.toExponential(2)} (the step moved them by up to ${moved.toExponential(2)}); step loss ${ra.steps[0].loss.toFixed(6)} vs ${rb.steps[0].loss.toFixed(6)} (|Δ| ${dLoss.toExponential(2)}); validation loss |Δ| ${dVal.toExponential(2)}`);
    assert.ok(moved > 1e-3, `the step barely moved the weights (${moved}): the comparison would prove nothing`);
    assert.ok(d <= TOL, `${label}: weights differ by ${d} > ${TOL}`);
    assert.ok(dLoss <= TOL, `${label}: step losses differ by ${dLoss} > ${TOL}`);
    assert.ok(dVal <= TOL, `${label}: validation losses differ by ${dVal} > ${TOL}`);
    T.dispose(tensors);
  });
}

test(`bucketByLength on ragged pairs draws the tensor path's batches (pairs sorted by source + target length): same weights after 3 epochs of 4 batches (tolerance ${TOL})`, async () => {
  const pairs = randomTokenPairs(new Rng(3), 14, 7, 7);
  const { data, tensors } = padded(pairs, PAD);
  const build = () => buildGRU({ topology: 'seq2seq', vocabSize: V, embeddingSize: 4, hiddenSize: 6, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 8 });
  const opts = { epochs: 3, batchSize: 4, optimizer: 'adam', learningRate: 0.02, seed: 5, bucketByLength: true, verbose: false };
  const a = build(), b = build(), c = build();
  const w0 = weights(a);
  const ra = await train(a, { x: [pairs.sources, pairs.targetsIn], y: pairs.targets }, opts);
  await train(b, data, opts);
  await train(c, { x: [pairs.sources, pairs.targetsIn], y: pairs.targets }, { ...opts, bucketByLength: false });
  const d = maxDiff(weights(a), weights(b)), moved = maxDiff(w0, weights(a)), other = maxDiff(weights(a), weights(c));
  console.log(`bucketed ragged vs bucketed tensors: weights max |Δ| ${d.toExponential(2)}; moved ${moved.toExponential(2)}; vs unbucketed ragged ${other.toExponential(2)}; steps ${ra.steps.length}`);
  assert.equal(ra.steps.length, 12);
  assert.ok(d <= TOL, `weights differ by ${d} > ${TOL}`);
  assert.ok(other > 1e-3, `bucketing changed nothing (${other}): the batches are not drawn by length`);
  T.dispose(tensors);
});

test('a small reversal task learns from ragged pairs (3–6 digits): held-out loss below 0.3 nats and per-step accuracy above the most frequent token\'s share and 0.9', async () => {
  const tr = reversalPairs(new Rng(1), 800, 3, 6);
  const te = reversalPairs(new Rng(2), 150, 3, 6);
  const model = buildGRU({ topology: 'seq2seq', vocabSize: V, embeddingSize: 8, hiddenSize: 48, outputSize: V, outputActivation: 'softmax', padId: PAD, impl: 'fused', seed: 1 });
  const t0 = Date.now();
  const r = await train(model, { x: [tr.sources, tr.targetsIn], y: tr.targets }, {
    epochs: 12, batchSize: 32, learningRate: 0.01, clipNorm: 1, bucketByLength: true, verbose: false,
    validation: { x: [te.sources, te.targetsIn], y: te.targets },
  });
  const valLoss = r.epochs.at(-1).valLoss;
  // Baselines that ignore the source, from the held-out targets: the most frequent token's share of the
  // target steps (accuracy of always predicting it) and the entropy of the token frequencies (the loss of
  // always predicting them).
  const counts = new Map();
  te.targets.flat().forEach((t) => counts.set(t, (counts.get(t) ?? 0) + 1));
  const steps = te.targets.flat().length;
  const topShare = Math.max(...counts.values()) / steps;
  const entropy = -[...counts.values()].reduce((a, c) => a + (c / steps) * Math.log(c / steps), 0);
  // Accuracy with each held-out pair run alone, unpadded, through model.predict (independent of the masks).
  let right = 0;
  for (let b = 0; b < te.sources.length; b++) {
    const p = T.tidy(() => T.argMax(model.predict([T.tensor2d([te.sources[b]]), T.tensor2d([te.targetsIn[b]])]), -1).dataSync());
    te.targets[b].forEach((t, j) => { if (p[j] === t) right++; });
  }
  const acc = right / steps;
  console.log(`reversal, 800 ragged pairs, 12 epochs in ${((Date.now() - t0) / 1000).toFixed(1)} s: held-out loss ${valLoss.toFixed(4)} (first epoch ${r.epochs[0].valLoss.toFixed(4)}; ` +
    `source-free predictor ${entropy.toFixed(4)}); per-step accuracy ${acc.toFixed(4)} vs most frequent token ${topShare.toFixed(4)}`);
  assert.ok(valLoss < 0.3, `held-out loss ${valLoss} ≥ 0.3`);
  assert.ok(valLoss < entropy, `held-out loss ${valLoss} does not beat the source-free predictor ${entropy}`);
  assert.ok(acc > 0.9 && acc > topShare, `per-step accuracy ${acc} (most frequent token: ${topShare})`);
});

test('ragged seq2seq errors name the argument, the row and what was expected, and leave no tensor behind', async () => {
  const tok = buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 4, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 1 });
  const feat = buildLSTM({ topology: 'seq2seq', inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 });
  const s = [[3, 4], [5, 6, 7], [8]], ti = [[1, 6], [1, 7], [1, 9, 9]], y = [[6, 2], [7, 2], [9, 9, 2]];
  const opts = { epochs: 1, verbose: false };
  await train(tok, { x: [s, ti], y }, opts);                                       // the good data trains (warm-up)
  await train(feat, { x: [[[[1, 2]], [[3, 4], [5, 6]]], [[[1]], [[2], [3]]]], y: [[[1]], [[2], [3]]] }, opts);
  const yTensor = T.tensor2d([[1]]);
  const before = T.memory().numTensors;
  const bad = async (model, data, re, o = opts) => assert.rejects(train(model, data, o), re);
  await bad(tok, { x: s, y }, /ragged data\.x of a seq2seq model must be the pair \[sources, targetsIn\].*got a list of 3 items/);
  await bad(tok, { x: [s[0], s[1]], y }, /must be the pair \[sources, targetsIn\].*data\.x\[0\] is one sequence, not a list of sequences/);
  await bad(tok, { x: [s, ti], y: yTensor }, /ragged data\.x with a tensor data\.y/);
  await bad(tok, { x: [s, ti.slice(0, 2)], y }, /data\.x\[1\] \(targetsIn\) has 2 sequences but data\.x\[0\] \(sources\) has 3/);
  await bad(tok, { x: [s, ti], y: y.slice(0, 2) }, /data\.y \(targets\) has 2 sequences but data\.x\[0\] \(sources\) has 3/);
  await bad(tok, { x: [[[3], [], [4]], ti], y }, /data\.x\[0\]\[1\] is empty/);
  await bad(tok, { x: [s, ti], y: [[6, 2], [7], [9, 9, 2]] }, /data\.y\[1\] \(target\) has 1 steps but data\.x\[1\]\[1\] \(targetIn\) has 2/);
  await bad(tok, { x: [[[3, 4], [5, 13, 7], [8]], ti], y }, /data\.x\[0\]\[1\]\[1\] \(sources\) must be a token id, an integer in \[0, vocabSize = 13\); got 13/);
  await bad(tok, { x: [s, [[1, 6], [-1, 7], [1, 9, 9]]], y }, /data\.x\[1\]\[1\]\[0\] \(targetsIn\) must be a token id.*got -1/);
  await bad(tok, { x: [[[3, 0], [5, 6, 7], [8]], ti], y }, /data\.x\[0\]\[0\]\[1\] \(sources\) is the model's padId 0/);
  await bad(tok, { x: [s, ti], y: [[6, 2], [7, 13], [9, 9, 2]] }, /data\.y\[1\]\[1\] \(target\) must be a class id, an integer in \[0, 13\)/);
  await bad(tok, { x: [s, ti], y, lengths: { source: [2, 3, 1] } }, /data\.lengths is given with ragged data\.x/);
  await bad(tok, { x: [[[[3]], [[4]]], ti.slice(0, 2)], y: y.slice(0, 2) }, /data\.x\[0\] \(sources\) must be sequences of token ids \(number\[\]\[\]\).*feature vectors of width 1/);
  await bad(feat, { x: [[[1, 2], [3, 4]], [[1], [2]]], y: [[[1]], [[2]]] }, /data\.x\[0\] is one sequence, not a list of sequences/);   // sources alone, not a pair
  await bad(feat, { x: [[[[1, 2, 3]], [[3, 4, 5]]], [[[1]], [[2]]]], y: [[[1]], [[2]]] }, /data\.x\[0\] \(sources\) has 3 features per step but the model's input 0 is \[batch, time, features=2\]/);
  await bad(feat, { x: [[[[1, 2]], [[3, 4]]], [[[1]], [[2]]]], y: [[[1, 1]], [[2, 2]]] }, /data\.y \(targets\) has 2 numbers per step; the model outputs 1 per step/);
  await bad(tok, { x: [s, ti], y }, /validation\.x\[1\]\[0\] is empty/, { ...opts, validation: { x: [s, [[], [1], [1]]], y } });
  const after = T.memory().numTensors;
  console.log(`numTensors before the failing calls ${before}, after ${after}`);
  assert.equal(after, before, `the failing calls left ${after - before} tensors behind`);
  yTensor.dispose();
});

test('no tensor leaks: numTensors flat over 40 ragged seq2seq steps (tokens and features, with ragged validation and bucketing)', async () => {
  const tokPairs = reversalPairs(new Rng(5), 20, 1, 6);
  const featPairs = featurePairs(new Rng(6), 20, 2, 1, 5, 4);
  const tok = buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 8, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 1 });
  const feat = buildLSTM({ topology: 'seq2seq', inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 1 });
  for (const [name, model, p] of [['tokens', tok, tokPairs], ['features', feat, featPairs]]) {
    const data = { x: [p.sources, p.targetsIn], y: p.targets };
    await train(model, data, { epochs: 1, batchSize: 4, verbose: false });        // warm-up: tf.js's one-time tensors
    const before = T.memory().numTensors;
    const r = await train(model, data, { epochs: 8, batchSize: 4, verbose: false, bucketByLength: true, validation: data });
    const after = T.memory().numTensors;
    console.log(`${name}: steps ${r.steps.length}; numTensors before ${before}, after ${after}; loss ${r.epochs[0].loss.toFixed(4)} → ${r.epochs.at(-1).loss.toFixed(4)}`);
    assert.equal(r.steps.length, 40);
    assert.equal(after, before, `${name}: train leaked ${after - before} tensors over 40 steps`);
    assert.equal(new Set(r.epochs.map((e) => e.tensors)).size, 1, `${name}: numTensors changed from epoch to epoch`);
    assert.ok(r.epochs.at(-1).loss < r.epochs[0].loss, `${name}: the loss should fall over 40 steps`);
  }
});
