// Seq2seq (encoder–decoder) training on sources and targets of different lengths. The reference is
// independent of train's masked path: each pair run alone, unpadded, through tf.js's own model.apply,
// its loss unmasked (the mean over its own target steps), and the batch's loss and gradient formed
// from those as the mean over all real target steps: Σ_b Lt_b · ℓ_b / Σ_b Lt_b (and the same for the
// gradient). train's gradient is read back from one plain SGD step: g = (W_before − W_after) / lr.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();
const { Rng, buildGRU, buildLSTM, train, lossFunction, computeGradients } = L;

const TOL = 1e-5;
const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

const V = 9, PAD = 0, START = 1, END = 2;          // tokens 3…8 are the "digits"

/** Pairs with sources of 1…Ts and targets of 1…Tt tokens (both extremes included), unsorted. */
function tokenPairs(rng, n, Ts, Tt) {
  return Array.from({ length: n }, (_, b) => {
    const ls = b === 0 ? Ts : b === 1 ? 1 : 1 + rng.int(Ts);
    const lt = b === 0 ? 2 : b === 1 ? Tt : 2 + rng.int(Tt - 1);           // target_in = ⟨s⟩ + lt−1 tokens
    const src = Array.from({ length: ls }, () => 3 + rng.int(V - 3));
    const body = Array.from({ length: lt - 1 }, () => 3 + rng.int(V - 3));
    return { src, tin: [START, ...body], tgt: [...body, END] };
  });
}

const padTo = (row, n, v) => [...row, ...Array(n - row.length).fill(v)];

/** The reference: each pair alone through model.apply, combined as the mean over real target steps. */
function perPairReference(model, pairs, toTensors, loss) {
  const vars = model.trainableWeights.map((w) => w.read());
  const total = pairs.reduce((a, p) => a + p.tgt.length, 0);
  let lossSum = 0;
  const gradSum = vars.map((v) => new Float64Array(v.size));
  for (const p of pairs) {
    const [s, ti, y] = toTensors(p);
    const { value, grads } = T.variableGrads(() => loss(y, model.apply([s, ti])), vars);
    const w = p.tgt.length / total;
    lossSum += w * value.dataSync()[0];
    vars.forEach((v, i) => { const g = grads[v.name].dataSync(); for (let j = 0; j < g.length; j++) gradSum[i][j] += w * g[j]; });
    T.dispose([s, ti, y, value, ...Object.values(grads)]);
  }
  return { loss: lossSum, grads: gradSum };
}

/** One SGD step of train on the whole padded batch: its step-0 loss and the gradient it applied. */
async function oneStep(model, data, lr, loss) {
  const before = model.trainableWeights.map((w) => w.read().dataSync().slice());
  const r = await train(model, data, { epochs: 1, batchSize: 1000, optimizer: 'sgd', learningRate: lr, shuffle: false, verbose: false, loss });
  const after = model.trainableWeights.map((w) => w.read().dataSync());
  return { loss: r.steps[0].loss, grads: before.map((b, i) => b.map((v, j) => (v - after[i][j]) / lr)) };
}

function compare(label, got, ref) {
  const dLoss = Math.abs(got.loss - ref.loss);
  const dGrad = Math.max(...got.grads.map((g, i) => maxAbs(g, ref.grads[i])));
  const scale = Math.max(...ref.grads.map((g) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
  console.log(`${label}: step-0 loss ${got.loss.toFixed(6)} vs per-pair ${ref.loss.toFixed(6)} (|Δ| ${dLoss.toExponential(2)}); gradient max |Δ| ${dGrad.toExponential(2)} (largest entry ${scale.toExponential(2)})`);
  assert.ok(dLoss <= TOL, `${label}: loss differs by ${dLoss} > ${TOL}`);
  assert.ok(dGrad <= TOL, `${label}: gradient differs by ${dGrad} > ${TOL}`);
  assert.ok(scale > 1e-3, `${label}: the reference gradient is ~0 (${scale}), so the comparison would prove nothing`);
}

for (const [name, build] of [['GRU', buildGRU], ['LSTM', buildLSTM]]) {
  test(`${name} seq2seq with padId, 2 layers: train's step-0 loss and gradient on a padded batch equal each pair alone, unpadded (tolerance ${TOL})`, async () => {
    const model = build({ topology: 'seq2seq', vocabSize: V, embeddingSize: 5, hiddenSize: 6, numLayers: 2, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 4 });
    const pairs = tokenPairs(new Rng(7), 6, 7, 6);
    const Ts = Math.max(...pairs.map((p) => p.src.length)), Tt = Math.max(...pairs.map((p) => p.tin.length));
    const ce = lossFunction('crossEntropy');
    const ref = perPairReference(model, pairs, (p) => [T.tensor2d([p.src]), T.tensor2d([p.tin]), T.tensor2d([p.tgt])], ce);
    const x = [T.tensor2d(pairs.map((p) => padTo(p.src, Ts, PAD))), T.tensor2d(pairs.map((p) => padTo(p.tin, Tt, PAD)))];
    // The padded targets hold an out-of-range class id: never scored, never checked.
    const y = T.tensor2d(pairs.map((p) => padTo(p.tgt, Tt, 99)));
    const got = await oneStep(model, { x, y }, 0.5, 'crossEntropy');        // lengths read from the padding
    compare(`${name} padId`, got, ref);
    T.dispose([...x, y]);
  });
}

test('feature seq2seq (LSTM) with lengths { source, target }: step-0 loss and gradient equal each pair alone; padded steps (NaN targets, junk inputs) change nothing', async () => {
  const rng = new Rng(11);
  const m = 3, k = 2, n = 5, Ts = 6, Tt = 5;
  const Ls = [6, 1, 4, 3, 5], Lt = [2, 5, 1, 4, 3];
  const src = Array.from({ length: n }, () => Array.from({ length: Ts }, () => Array.from({ length: m }, () => rng.normal())));
  const tin = Array.from({ length: n }, () => Array.from({ length: Tt }, () => Array.from({ length: k }, () => rng.normal())));
  const tgt = Array.from({ length: n }, () => Array.from({ length: Tt }, () => Array.from({ length: k }, () => rng.normal())));
  const pairs = Array.from({ length: n }, (_, b) => ({ src: src[b].slice(0, Ls[b]), tin: tin[b].slice(0, Lt[b]), tgt: tgt[b].slice(0, Lt[b]) }));
  const spec = { topology: 'seq2seq', inputSize: m, hiddenSize: 4, outputSize: k, seed: 2 };
  const model = buildLSTM(spec);
  const ref = perPairReference(model, pairs, (p) => [T.tensor3d([p.src]), T.tensor3d([p.tin]), T.tensor3d([p.tgt])], lossFunction('mse'));
  // Padding: junk in the inputs (it must not reach the encoder or decoder), NaN in the targets.
  const junk = (rows, Lb) => rows.map((r, b) => r.map((v, t) => (t < Lb[b] ? v : v.map(() => 1e3))));
  const nanT = tgt.map((r, b) => r.map((v, t) => (t < Lt[b] ? v : v.map(() => NaN))));
  const x = [T.tensor3d(junk(src, Ls)), T.tensor3d(junk(tin, Lt))];
  const y = T.tensor3d(nanT);
  const got = await oneStep(model, { x, y, lengths: { source: Ls, target: Lt } }, 0.5, 'mse');
  compare('LSTM features', got, ref);

  // computeGradients with one mask per input: the same gradient again, on a fresh model.
  const fresh = buildLSTM(spec);
  const maskOf = (Lb, n) => T.tensor2d(Lb.map((l) => Array.from({ length: n }, (_, t) => (t < l ? 1 : 0))));
  const masks = [maskOf(Ls, Ts), maskOf(Lt, Tt)];
  const r = computeGradients(fresh, x, y, { loss: lossFunction('mse'), mask: masks });
  const vars = fresh.trainableWeights.map((w) => w.read());
  const cg = { loss: r.loss.dataSync()[0], grads: vars.map((v) => r.grads[v.name].dataSync()) };
  compare('computeGradients [sourceMask, targetMask]', cg, ref);
  T.dispose([...x, y, ...masks, r.loss, ...Object.values(r.grads)]);
});

test('padded targets are never scored: any value at a padded target step gives the same loss and the same step', async () => {
  const pairs = tokenPairs(new Rng(3), 5, 6, 5);
  const Ts = Math.max(...pairs.map((p) => p.src.length)), Tt = Math.max(...pairs.map((p) => p.tin.length));
  const spec = { topology: 'seq2seq', vocabSize: V, hiddenSize: 5, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 9 };
  const x = [T.tensor2d(pairs.map((p) => padTo(p.src, Ts, PAD))), T.tensor2d(pairs.map((p) => padTo(p.tin, Tt, PAD)))];
  const runs = [];
  for (const fill of [PAD, 5, 99]) {                          // a pad id, a real token id, an out-of-range id
    const model = buildGRU(spec);
    const y = T.tensor2d(pairs.map((p) => padTo(p.tgt, Tt, fill)));
    runs.push(await oneStep(model, { x, y }, 0.5, 'crossEntropy'));
    y.dispose();
  }
  for (const r of runs.slice(1)) {
    const dLoss = Math.abs(r.loss - runs[0].loss);
    const dGrad = Math.max(...r.grads.map((g, i) => maxAbs(g, runs[0].grads[i])));
    console.log(`padded target values: |Δ loss| ${dLoss}, gradient max |Δ| ${dGrad}`);
    assert.equal(dLoss, 0, `the loss changed by ${dLoss} with other values at padded targets`);
    assert.equal(dGrad, 0, `the step changed by ${dGrad} with other values at padded targets`);
  }
  // An unmasked loss would score them: with the padding treated as real (no padId), the loss differs.
  const plain = buildGRU({ ...spec, padId: undefined });
  const y = T.tensor2d(pairs.map((p) => padTo(p.tgt, Tt, 5)));
  const unmasked = await oneStep(plain, { x, y }, 0.5, 'crossEntropy');
  console.log(`the same batch without padId (padding scored): loss ${unmasked.loss} vs ${runs[0].loss}`);
  assert.ok(Math.abs(unmasked.loss - runs[0].loss) > 1e-3, 'without masking the padded steps should change the loss (else this test proves nothing)');
  T.dispose([...x, y]);
});

test('no tensor leaks: numTensors flat over 50 masked seq2seq steps (with validation and bucketing)', async () => {
  const pairs = tokenPairs(new Rng(5), 20, 8, 6);
  const Ts = 8, Tt = 6;
  const model = buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 8, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 1 });
  const x = [T.tensor2d(pairs.map((p) => padTo(p.src, Ts, PAD))), T.tensor2d(pairs.map((p) => padTo(p.tin, Tt, PAD)))];
  const y = T.tensor2d(pairs.map((p) => padTo(p.tgt, Tt, PAD)));
  await train(model, { x, y }, { epochs: 1, batchSize: 4, verbose: false });          // warm-up: tf.js's one-time tensors
  const before = T.memory().numTensors;
  const r = await train(model, { x, y }, { epochs: 10, batchSize: 4, verbose: false, bucketByLength: true, validation: { x, y } });
  const after = T.memory().numTensors;
  console.log(`steps ${r.steps.length}; numTensors before ${before}, after ${after}; per epoch ${[...new Set(r.epochs.map((e) => e.tensors))].join(', ')}`);
  assert.equal(r.steps.length, 50);
  assert.equal(after, before, `train leaked ${after - before} tensors over 50 steps`);
  assert.equal(new Set(r.epochs.map((e) => e.tensors)).size, 1, 'numTensors changed from epoch to epoch');
  assert.ok(r.epochs.at(-1).loss < r.epochs[0].loss, 'the loss should fall over 50 steps');
  T.dispose([...x, y]);
});

test('seq2seq lengths errors name the argument, the layout and the row, and leave no tensor behind', async () => {
  const model = buildGRU({ topology: 'seq2seq', vocabSize: V, hiddenSize: 4, outputSize: V, outputActivation: 'softmax', padId: PAD, seed: 1 });
  const fresh = buildLSTM({ topology: 'seq2seq', inputSize: 1, hiddenSize: 3, outputSize: 1, seed: 1 });
  const x = [T.tensor2d([[3, 4, 0], [5, 0, 0]]), T.tensor2d([[1, 6, 0], [1, 7, 8]])];
  const y = T.tensor2d([[6, 2, 0], [7, 8, 2]]);
  const mask = T.ones([2, 3]);
  const badPad = [x[0], T.tensor2d([[1, 0, 6], [1, 7, 8]])];
  const shortY = T.tensor2d([[6, 2], [7, 8]]);
  const xs = [T.ones([2, 3, 1]), T.ones([2, 2, 1])];
  const ys = T.ones([2, 2, 1]);
  const opts = { epochs: 1, verbose: false };
  const before = T.memory().numTensors;
  await assert.rejects(train(model, { x, y, lengths: [2, 1] }, opts), /data\.lengths of a seq2seq model must be \{ source\?, target\? \}/);
  await assert.rejects(train(model, { x, y, mask }, opts), /data\.mask is one mask, but a seq2seq model has two inputs/);
  await assert.rejects(train(model, { x, y, lengths: { source: [2, 1], tgt: [2, 3] } }, opts), /unknown key 'tgt'/);
  await assert.rejects(train(model, { x, y, lengths: { target: [2, 2] } }, opts), /data\.lengths\.target\[1\] = 2 but target_in row 1 has 3 tokens before padId 0/);
  await assert.rejects(train(model, { x, y, lengths: { source: [2, 4] } }, opts), /data\.lengths\.source\[1\] must be an integer from 1 to T = 3/);
  await assert.rejects(train(model, { x: badPad, y }, opts), /data\.x\[1\] \(target_in\) row 0 has a token at step 2 after padId 0 at step 1/);
  await assert.rejects(train(model, { x, y: shortY }, opts), /data\.y \(target\) has 2 steps but data\.x\[1\] \(target_in\) has 3/);
  assert.throws(() => computeGradients(fresh, xs, ys, { loss: lossFunction('mse'), mask }), /options\.mask of a seq2seq model must be \[sourceMask \[batch, Ts\], targetMask \[batch, Tt\]\]/);
  const after = T.memory().numTensors;
  console.log(`numTensors before the failing calls ${before}, after ${after}`);
  assert.equal(after, before, `the failing calls left ${after - before} tensors behind`);
  T.dispose([...x, y, mask, badPad[1], shortY, ...xs, ys]);
});

test('reverseDigitsRagged: lengths uniform on [min, max] (both reached), each row the digits then pads, reversed with ⟨s⟩ / ⟨/s⟩, seeded', () => {
  const { DIGIT_TOKENS: D, reverseDigitsRagged } = L;
  const before = T.memory().numTensors;
  const r = reverseDigitsRagged(400, 3, 8, 5);
  assert.deepEqual([r.source.shape, r.targetIn.shape, r.target.shape], [[400, 8], [400, 9], [400, 9]]);
  const [src, tin, tgt] = [r.source, r.targetIn, r.target].map((t) => t.arraySync());
  const counts = new Map();
  src.forEach((row, b) => {
    const Lb = r.sourceLengths[b];
    counts.set(Lb, (counts.get(Lb) ?? 0) + 1);
    assert.equal(r.targetLengths[b], Lb + 1);
    const digits = row.slice(0, Lb);
    assert.ok(digits.every((d) => d >= D.digit0 && d < D.digit0 + 10), `row ${b}: ${row}`);
    assert.deepEqual(row.slice(Lb), Array(8 - Lb).fill(D.pad), `row ${b}: pads after ${Lb} digits`);
    const rev = digits.slice().reverse();
    assert.deepEqual(tin[b], [D.start, ...rev, ...Array(8 - Lb).fill(D.pad)]);
    assert.deepEqual(tgt[b], [...rev, D.end, ...Array(8 - Lb).fill(D.pad)]);
  });
  assert.deepEqual([...counts.keys()].sort(), [3, 4, 5, 6, 7, 8], `lengths seen: ${[...counts.keys()]}`);
  for (const [Lb, c] of counts) assert.ok(c > 400 / 6 * 0.5 && c < 400 / 6 * 1.5, `length ${Lb} drawn ${c} times of 400 (uniform: ~67)`);
  const again = reverseDigitsRagged(400, 3, 8, 5);
  assert.deepEqual(again.source.arraySync(), src, 'the same seed gives the same strings');
  assert.throws(() => reverseDigitsRagged(10, 5, 3, 1), /reverseDigitsRagged: minLength \(5\) must be ≤ maxLength \(3\)/);
  assert.throws(() => reverseDigitsRagged(10, 0, 3, 1), /reverseDigitsRagged.*minLength/);
  T.dispose([r.source, r.targetIn, r.target, again.source, again.targetIn, again.target]);
  assert.equal(T.memory().numTensors, before);
});
