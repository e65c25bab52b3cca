// Masked losses and training on variable-length sequences. References are independent: losses by
// hand in float64 JS over the real steps only, and a tf.js masked RNN run on each sequence alone,
// unpadded. tf.js's own recurrent layers honour masks, so they stand in for any masked model here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();
const { Rng, lossFunction, train, computeGradients } = L;

const maxAbs = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const sigmoid = (z) => 1 / (1 + Math.exp(-z));

/** A random padded batch: p [B, Tn, O] (or logits [B, Tn, V]), y, lengths. */
function batch(rng, B, Tn, O) {
  const lengths = Array.from({ length: B }, (_, b) => (b === 0 ? Tn : b === 1 ? 1 : 1 + rng.int(Tn)));   // T and 1 included
  const p = Array.from({ length: B * Tn * O }, () => rng.normal());
  return { lengths, p };
}

/** Float64 references over the real steps only: value and gradient d loss / d p. */
function reference(kind, p, y, lengths, B, Tn, O) {
  let sum = 0;
  const grad = new Float64Array(B * Tn * O);
  const count = lengths.reduce((a, l) => a + l, 0);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < lengths[b]; t++) {
      const at = (b * Tn + t) * O;
      if (kind === 'ce') {                                   // logits, class id y[b*Tn+t]
        const z = p.slice(at, at + O);
        const m = Math.max(...z);
        const lse = m + Math.log(z.reduce((a, v) => a + Math.exp(v - m), 0));
        const c = y[b * Tn + t];
        sum += lse - z[c];
        for (let v = 0; v < O; v++) grad[at + v] = (Math.exp(z[v] - lse) - (v === c ? 1 : 0)) / count;
      } else {
        for (let o = 0; o < O; o++) {
          const pv = p[at + o], yv = y[at + o];
          if (kind === 'mse') { sum += (pv - yv) ** 2; grad[at + o] = 2 * (pv - yv) / (count * O); }
          else { sum += Math.max(pv, 0) - pv * yv + Math.log1p(Math.exp(-Math.abs(pv))); grad[at + o] = (sigmoid(pv) - yv) / (count * O); }
        }
      }
    }
  }
  return { value: kind === 'ce' ? sum / count : sum / (count * O), grad };
}

for (const [kind, spec, fromLogits] of [['mse', 'mse', false], ['ce', 'crossEntropy', true], ['bce', 'binaryCrossEntropy', true]]) {
  test(`masked ${spec}${fromLogits ? ' (logits)' : ''}: value and gradient equal the float64 reference over real steps; a padded target (even NaN or an out-of-range id) changes neither`, () => {
    const rng = new Rng(21);
    const B = 5, Tn = 6, O = kind === 'ce' ? 4 : 3;
    const { lengths, p } = batch(rng, B, Tn, O);
    const yShape = kind === 'ce' ? [B, Tn] : [B, Tn, O];
    const ySize = yShape.reduce((a, d) => a * d, 1);
    const y = Array.from({ length: ySize }, () => (kind === 'ce' ? rng.int(O) : kind === 'bce' ? rng.next() : rng.normal()));
    // Garbage at every padded target: NaN for values, ids outside [0, V) for classes.
    const yBad = y.slice();
    const per = kind === 'ce' ? 1 : O;
    for (let b = 0; b < B; b++) for (let t = lengths[b]; t < Tn; t++) for (let o = 0; o < per; o++) yBad[(b * Tn + t) * per + o] = kind === 'ce' ? (t % 2 ? 99 : -1) : NaN;
    const loss = lossFunction(spec, fromLogits);
    const mask = L.padSequences(lengths.map((l) => Array(l).fill(1)), { maxLength: Tn }).x;   // [B, Tn] 1s then 0s
    const pt = T.tensor3d(p, [B, Tn, O]);
    const run = (yv) => {
      const yt = T.tensor(yv, yShape);
      const { value, grad } = T.tidy(() => {
        const g = T.valueAndGrad((q) => loss(yt, q, mask))(pt);
        return { value: g.value.dataSync()[0], grad: Array.from(g.grad.dataSync()) };
      });
      yt.dispose();
      return { value, grad };
    };
    const before = T.memory().numTensors;
    const good = run(y);
    const bad = run(yBad);
    assert.equal(T.memory().numTensors, before, 'no tensor left by the masked loss and its gradient');
    const ref = reference(kind, p, y, lengths, B, Tn, O);
    const dv = Math.abs(good.value - ref.value), dg = maxAbs(good.grad, ref.grad);
    console.log(`${spec}: value ${good.value.toFixed(6)} vs float64 ${ref.value.toFixed(6)} (|diff| ${dv.toExponential(2)}), gradient max |diff| ${dg.toExponential(2)}`);
    assert.ok(dv <= 1e-5 * Math.max(1, Math.abs(ref.value)), `value |diff| ${dv} (tolerance 1e-5 relative: float32)`);
    assert.ok(dg <= 1e-6, `gradient max |diff| ${dg} (tolerance 1e-6: float32, entries ~1/count)`);
    assert.equal(bad.value, good.value, `garbage padded targets changed the value: ${bad.value} vs ${good.value}`);
    assert.equal(maxAbs(bad.grad, good.grad), 0, 'garbage padded targets changed the gradient');
    for (let b = 0; b < B; b++) for (let t = lengths[b]; t < Tn; t++) for (let o = 0; o < O; o++) assert.ok(good.grad[(b * Tn + t) * O + o] === 0, `gradient at padded step [${b}, ${t}] must be 0; got ${good.grad[(b * Tn + t) * O + o]}`);
    tf().dispose([mask, pt]);
  });
}

test('masked mean is the mean over real steps (each sequence weighted by its length), not the mean of per-sequence means', () => {
  const rng = new Rng(4);
  const B = 4, Tn = 8, O = 2;
  const lengths = [8, 1, 3, 6];
  const p = Array.from({ length: B * Tn * O }, () => rng.normal());
  const y = Array.from({ length: B * Tn * O }, () => rng.normal());
  const mse = lossFunction('mse');
  const r = T.tidy(() => {
    const pt = T.tensor3d(p, [B, Tn, O]), yt = T.tensor3d(y, [B, Tn, O]);
    const mask = T.tensor2d(lengths.flatMap((l) => Array.from({ length: Tn }, (_, t) => (t < l ? 1 : 0))), [B, Tn]);
    const masked = mse(yt, pt, mask).dataSync()[0];
    // Each sequence alone, unpadded, with the plain (unmasked) loss.
    const perSeq = lengths.map((l, b) => mse(T.slice(yt, [b, 0, 0], [1, l, O]), T.slice(pt, [b, 0, 0], [1, l, O])).dataSync()[0]);
    return { masked, perSeq };
  });
  const total = lengths.reduce((a, l) => a + l, 0);
  const weighted = r.perSeq.reduce((a, v, b) => a + v * lengths[b], 0) / total;
  const meanOfMeans = r.perSeq.reduce((a, v) => a + v, 0) / B;
  console.log(`masked ${r.masked.toFixed(6)}, weighted mean of sequences ${weighted.toFixed(6)}, mean of per-sequence means ${meanOfMeans.toFixed(6)}`);
  assert.ok(Math.abs(r.masked - weighted) <= 1e-6, `masked vs weighted: |diff| ${Math.abs(r.masked - weighted)} (tolerance 1e-6)`);
  assert.ok(Math.abs(r.masked - meanOfMeans) > 1e-3, 'the data must tell the two means apart');
});

test('masked loss errors: a mask on many-to-one predictions, a mask of the wrong shape, an all-zero mask — and nothing leaks', () => {
  const mse = lossFunction('mse');
  const p2 = T.zeros([3, 2]), p3 = T.zeros([3, 4, 2]), m = T.ones([3, 4]), m5 = T.ones([3, 5]), m0 = T.zeros([3, 4]), y0 = T.zeros([3, 4]);
  const before = T.memory().numTensors;
  assert.throws(() => mse(p2, p2, m), /loss 'mse': a mask applies to per-step predictions \[batch, time, …\]; got predictions \[3, 2\] with no time axis/);
  assert.throws(() => mse(p3, p3, m5), /loss 'mse': mask must have shape \[batch, time\] = \[3, 4\] for predictions \[3, 4, 2\]; got \[3, 5\]/);
  assert.throws(() => lossFunction('crossEntropy')(y0, p3, m0), /loss 'crossEntropy': the mask has no real step/);
  assert.equal(T.memory().numTensors, before, 'errors leave nothing behind');
  T.dispose([p2, p3, m, m5, m0, y0]);
});

// ---- train -----------------------------------------------------------------------------------------

/** A tf.js masked RNN (its layers honour masks), any time length. */
function tfModel({ kind = 'simpleRNN', perStep, F = 2, H = 5, O = 1, seed = 1, head }) {
  const m = T.sequential();
  m.add(T.layers[kind]({ units: H, returnSequences: perStep, inputShape: [null, F], kernelInitializer: T.initializers.glorotUniform({ seed }), recurrentInitializer: T.initializers.orthogonal({ seed: seed + 1 }) }));
  const dense = T.layers.dense({ units: O, activation: head, kernelInitializer: T.initializers.glorotUniform({ seed: seed + 2 }) });
  m.add(perStep ? T.layers.timeDistributed({ layer: dense }) : dense);
  return m;
}

/** Ragged data: N sequences of lengths in [1, Tn] (1 and Tn included), features F, per-step targets O. */
function ragged(rng, N, Tn, F, O, minLength = 1) {
  const lengths = Array.from({ length: N }, (_, i) => (i === 0 ? Tn : i === 1 ? minLength : minLength + rng.int(Tn - minLength + 1)));
  const xs = lengths.map((l) => Array.from({ length: l }, () => Array.from({ length: F }, () => rng.normal())));
  const ys = lengths.map((l) => Array.from({ length: l }, () => Array.from({ length: O }, () => rng.normal())));
  return { lengths, xs, ys };
}

/** Padded tensors with garbage in the padding (so a model or loss that reads it would differ). */
function paddedWithGarbage(rng, seqs, Tn) {
  const F = seqs[0][0].length;
  const rows = seqs.map((s) => [...s, ...Array.from({ length: Tn - s.length }, () => Array.from({ length: F }, () => 50 * rng.normal()))]);
  return T.tensor3d(rows);
}

/** Each sequence alone, unpadded, with the same weights: the loss per sequence. */
function perSequenceLosses(model, xs, ys, perStep) {
  const mse = lossFunction('mse');
  return T.tidy(() => xs.map((x, b) => {
    const out = model.predict(T.tensor3d([x]));
    const y = perStep ? T.tensor3d([ys[b]]) : T.tensor2d([ys[b]]);
    return mse(y, out).dataSync()[0];
  }));
}

for (const [kind, perStep] of [['simpleRNN', true], ['lstm', true], ['simpleRNN', false], ['gru', false]]) {
  test(`train with lengths (${kind}, ${perStep ? 'many-to-many' : 'many-to-one'}): the step-0 loss equals the sequences run one by one, unpadded (weighted by ${perStep ? 'real steps' : 'sequence'})`, async () => {
    const rng = new Rng(kind.length + (perStep ? 1 : 0));
    const N = 7, Tn = 6, F = 2, O = 1;
    const { lengths, xs, ys } = ragged(rng, N, Tn, F, O);
    const model = tfModel({ kind, perStep, F, O, seed: 3 });
    const x = paddedWithGarbage(rng, xs, Tn);
    const yArr = perStep ? ys.map((s) => [...s, ...Array.from({ length: Tn - s.length }, () => [NaN])]) : ys.map((s) => s[s.length - 1]);   // padded targets NaN
    const y = perStep ? T.tensor3d(yArr) : T.tensor2d(yArr);
    const single = perSequenceLosses(model, xs, perStep ? ys : ys.map((s) => s[s.length - 1]), perStep);
    const weights = perStep ? lengths : lengths.map(() => 1);
    const want = single.reduce((a, v, b) => a + v * weights[b], 0) / weights.reduce((a, w) => a + w, 0);
    const r = await train(model, { x, y, lengths }, { epochs: 1, batchSize: N, shuffle: false, optimizer: 'sgd', learningRate: 0.01, verbose: false });
    const got = r.steps[0].loss;
    const d = Math.abs(got - want);
    console.log(`${kind} ${perStep ? 'many-to-many' : 'many-to-one'}: train step-0 loss ${got.toFixed(7)}, one by one ${want.toFixed(7)}, |diff| ${d.toExponential(2)}`);
    assert.ok(d <= 1e-5 * Math.max(1, want), `|diff| ${d} (tolerance 1e-5 relative: float32)`);
    T.dispose([x, y]);
    model.dispose();
  });
}

test('computeGradients with a mask: the gradient equals the length-weighted sum of each sequence\'s own gradient, unpadded', () => {
  const rng = new Rng(8);
  const N = 5, Tn = 5, F = 2, O = 1;
  // Lengths ≥ 2: the reference runs each sequence alone, and tf.js cannot differentiate a one-step
  // sequence through an RNN with returnSequences (train pads such batches to 2 masked steps).
  const { lengths, xs, ys } = ragged(rng, N, Tn, F, O, 2);
  const model = tfModel({ perStep: true, F, O, seed: 9 });
  const mse = lossFunction('mse');
  const x = paddedWithGarbage(rng, xs, Tn);
  const y = T.tensor3d(ys.map((s) => [...s, ...Array.from({ length: Tn - s.length }, () => [7])]));
  const mask = L.padSequences(lengths.map((l) => Array(l).fill(1)), { maxLength: Tn }).x;
  const before = T.memory().numTensors;
  const g = computeGradients(model, x, y, { loss: mse, mask });
  const names = Object.keys(g.grads);
  const got = names.map((n) => Array.from(g.grads[n].dataSync()));
  T.dispose([g.loss, ...Object.values(g.grads)]);
  assert.equal(T.memory().numTensors, before, 'computeGradients with a mask leaks nothing');
  const total = lengths.reduce((a, l) => a + l, 0);
  const want = got.map((a) => a.map(() => 0));
  xs.forEach((s, b) => {
    const gb = computeGradients(model, T.tensor3d([s]), T.tensor3d([ys[b]]), { loss: mse });
    names.forEach((n, i) => gb.grads[n].dataSync().forEach((v, j) => { want[i][j] += v * lengths[b] / total; }));
    T.dispose([gb.loss, ...Object.values(gb.grads)]);
  });
  const d = Math.max(...got.map((a, i) => maxAbs(a, want[i])));
  console.log(`masked gradient vs one by one: max |diff| ${d.toExponential(2)}`);
  assert.ok(d <= 1e-5, `max |diff| ${d} (tolerance 1e-5)`);
  T.dispose([x, y, mask]);
  model.dispose();
});

test('train on ragged arrays equals train on padded tensors with lengths (losses of every step and epoch), and the epoch loss is the mean over real steps', async () => {
  const rng = new Rng(12);
  const N = 9, Tn = 7, F = 2, O = 1;
  const { lengths, xs, ys } = ragged(rng, N, Tn, F, O);
  const x = paddedWithGarbage(rng, xs, Tn);
  const y = T.tensor3d(ys.map((s) => [...s, ...Array.from({ length: Tn - s.length }, () => [0])]));
  const opts = { epochs: 3, batchSize: 4, optimizer: 'adam', learningRate: 0.01, verbose: false, seed: 3 };
  const m1 = tfModel({ perStep: true, F, O, seed: 5 });
  const m2 = tfModel({ perStep: true, F, O, seed: 5 });
  const r1 = await train(m1, { x, y, lengths }, opts);
  const r2 = await train(m2, { x: xs, y: ys }, opts);
  const d = maxAbs(r1.steps.map((s) => s.loss), r2.steps.map((s) => s.loss));
  console.log(`ragged vs padded+lengths: ${r1.steps.length} steps, max |loss diff| ${d.toExponential(2)}; epoch losses ${r2.epochs.map((e) => e.loss.toFixed(4)).join(' ')}`);
  assert.equal(r1.steps.length, 9);
  assert.ok(d <= 1e-5, `max |diff| ${d} (tolerance 1e-5)`);
  // Epoch loss = Σ steps' loss × real steps / Σ real steps; the batches of epoch 1 are the rows of the seeded shuffle.
  const order = new Rng(3).permutation(N);
  const batches = [order.slice(0, 4), order.slice(4, 8), order.slice(8)];
  const realSteps = batches.map((rows) => rows.reduce((a, r) => a + lengths[r], 0));
  const want = r2.steps.slice(0, 3).reduce((a, s, i) => a + s.loss * realSteps[i], 0) / lengths.reduce((a, l) => a + l, 0);
  assert.ok(Math.abs(r2.epochs[0].loss - want) <= 1e-6, `epoch loss ${r2.epochs[0].loss} vs real-step-weighted mean ${want}`);
  T.dispose([x, y]);
  m1.dispose(); m2.dispose();
});

test('train with lengths: validation loss is the masked mean over real steps; bucketByLength is seeded and reproducible', async () => {
  const rng = new Rng(30);
  const N = 12, Tn = 9, F = 1, O = 1;
  const { lengths, xs, ys } = ragged(rng, N, Tn, F, O);
  const m = tfModel({ perStep: true, F, O, seed: 2 });
  const single = perSequenceLosses(m, xs, ys, true);
  const want = single.reduce((a, v, b) => a + v * lengths[b], 0) / lengths.reduce((a, l) => a + l, 0);
  // A learning rate of 1e-30 leaves the weights as they are, so the validation loss is the loss of these weights.
  const r = await train(m, { x: xs, y: ys }, { epochs: 1, batchSize: 5, optimizer: 'sgd', learningRate: 1e-30, verbose: false, validation: { x: xs, y: ys } });
  const d = Math.abs(r.epochs[0].valLoss - want);
  assert.ok(d <= 1e-5 * Math.max(1, want), `validation loss ${r.epochs[0].valLoss} vs one by one ${want}: |diff| ${d} (tolerance 1e-5 relative)`);
  assert.ok(Math.abs(r.epochs[0].loss - want) <= 1e-5 * Math.max(1, want), `epoch loss ${r.epochs[0].loss} vs ${want}`);
  const runs = [];
  for (const seed of [4, 4, 5]) {
    const mb = tfModel({ perStep: true, F, O, seed: 2 });
    runs.push((await train(mb, { x: xs, y: ys }, { epochs: 2, batchSize: 3, bucketByLength: true, seed, verbose: false })).steps.map((s) => s.loss));
    mb.dispose();
  }
  assert.deepEqual(runs[0], runs[1], 'same seed, same losses');
  assert.notDeepEqual(runs[0], runs[2], 'another seed, another batch order');
  m.dispose();
});

test('no tensor leaks over 100 masked training steps (tensor data with lengths, and ragged data with bucketing)', async () => {
  const rng = new Rng(40);
  const N = 8, Tn = 6, F = 2, O = 1;
  const { lengths, xs, ys } = ragged(rng, N, Tn, F, O);
  const x = paddedWithGarbage(rng, xs, Tn);
  const y = T.tensor3d(ys.map((s) => [...s, ...Array.from({ length: Tn - s.length }, () => [0])]));
  for (const [name, data, extra] of [['tensors + lengths', { x, y, lengths }, {}], ['ragged + bucketByLength', { x: xs, y: ys }, { bucketByLength: true, bucketWidth: 2 }]]) {
    const model = tfModel({ perStep: true, F, O, seed: 6 });
    model.predict(T.zeros([1, 1, F])).dispose();                       // build the weights before counting
    const before = T.memory().numTensors;
    const r = await train(model, data, { epochs: 25, batchSize: 2, verbose: false, validation: data, ...extra });
    const after = T.memory().numTensors;
    console.log(`${name}: ${r.steps.length} steps, tensors ${before} → ${after}; per epoch ${r.epochs[0].tensors} … ${r.epochs.at(-1).tensors}`);
    assert.equal(r.steps.length, 100);
    assert.equal(after, before, `${name}: ${after - before} tensors leaked over 100 masked steps`);
    assert.equal(r.epochs.at(-1).tensors, r.epochs[0].tensors, `${name}: tensors alive grew across epochs`);
    assert.ok(r.epochs.at(-1).loss < r.epochs[0].loss, `${name}: it trains (${r.epochs[0].loss} → ${r.epochs.at(-1).loss})`);
    model.dispose();
  }
  T.dispose([x, y]);
});

test('train with lengths: padded targets may hold anything (NaN, out-of-range class ids); real ones are still checked', async () => {
  const m = T.sequential();
  m.add(T.layers.simpleRNN({ units: 4, returnSequences: true, inputShape: [null, 1] }));
  m.add(T.layers.timeDistributed({ layer: T.layers.dense({ units: 3, activation: 'softmax' }) }));
  const x = T.randomNormal([4, 5, 1], 0, 1, 'float32', 1);
  const lengths = [5, 2, 3, 1];
  const y = T.tensor2d([[0, 1, 2, 0, 1], [1, 2, 99, -1, 7], [2, 2, 1, 50, 50], [0, 9, 9, 9, 9]]);
  const r = await train(m, { x, y, lengths }, { epochs: 2, batchSize: 2, loss: 'crossEntropy', verbose: false });
  assert.equal(r.stopped, 'completed');
  assert.ok(r.epochs.every((e) => Number.isFinite(e.loss)));
  const yBadReal = T.tensor2d([[0, 1, 2, 0, 1], [1, 7, 0, 0, 0], [2, 2, 1, 0, 0], [0, 0, 0, 0, 0]]);
  await assert.rejects(train(m, { x, y: yBadReal, lengths }, { epochs: 1, loss: 'crossEntropy', verbose: false }),
    /train: data\.y holds class ids for loss 'crossEntropy' and must be integers in \[0, 3\); got 7 at \[1, 1\]/);
  T.dispose([x, y, yBadReal]);
  m.dispose();
});

test('train with lengths: errors name the layer, the argument and the row', async () => {
  const x = T.zeros([3, 4, 1]), y = T.zeros([3, 4, 1]), yOne = T.zeros([3, 1]), yTwo = T.zeros([3, 2]);
  const badMask = T.tensor2d([[1, 1, 1, 1], [1, 0, 1, 0], [1, 0, 0, 0]]), otherMask = T.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0], [1, 0, 0, 0]]);
  const m2m = tfModel({ perStep: true, F: 1 });
  const opts = { epochs: 1, verbose: false };
  const rejects = (p, re) => assert.rejects(p, (e) => { assert.match(e.message, re); return true; });
  // A layer that cannot take a mask (a convolution mixes padded steps into real ones).
  const conv = T.sequential();
  conv.add(T.layers.conv1d({ filters: 2, kernelSize: 2, padding: 'same', inputShape: [null, 1] }));
  conv.add(T.layers.simpleRNN({ units: 2 }));
  const fixed = T.sequential();
  fixed.add(T.layers.simpleRNN({ units: 2, inputShape: [3, 1] }));
  fixed.add(T.layers.dense({ units: 1 }));
  const before = T.memory().numTensors;
  await rejects(train(conv, { x, y: yTwo, lengths: [4, 2, 1] }, opts), /train: lengths \(or a mask\) given, but layer 'conv1d\w*' \(Conv1D\) does not support masking/);
  // rnn-lab's own layer, when it refuses masks, is named the same way (or trains once it takes them).
  await rejects(train(m2m, { x, y, lengths: [4, 0, 1] }, opts), /train: data\.lengths\[1\] must be an integer from 1 to T = 4/);
  await rejects(train(m2m, { x, y, lengths: [4, 2] }, opts), /train: data\.lengths has 2 lengths but the batch .* has 3 sequences/);
  await rejects(train(m2m, { x, y, mask: badMask }, opts), /train: data\.mask row 1 must be 1s followed by 0s/);
  await rejects(train(m2m, { x, y, lengths: [4, 2, 1], mask: otherMask }, opts), /train: data\.lengths and data\.mask disagree at row 1/);
  await rejects(train(m2m, { x, y, lengths: [4, 2, 1] }, { ...opts, loss: (a, b) => T.losses.meanSquaredError(a, b) }), /custom loss must take the mask of real steps as its third argument/);
  await rejects(train(m2m, { x, y }, { ...opts, bucketByLength: true }), /options\.bucketByLength needs sequence lengths/);
  await rejects(train(m2m, { x, y, lengths: [4, 2, 1] }, { ...opts, bucketWidth: 2 }), /options\.bucketWidth is given without options\.bucketByLength: true/);
  await rejects(train(m2m, { x, y, lenghts: [4, 2, 1] }, opts), /unknown data key 'lenghts' — did you mean 'lengths'/);
  // Ragged data.
  await rejects(train(m2m, { x: [[[1]], [[1], [2]]], y: [[[1]], [[1]]] }, opts), /train: data\.y\[1\] has 1 steps but data\.x\[1\] has 2/);
  await rejects(train(m2m, { x: [[[1]], [[1], [2]]], y: [[[1]], [[1], [2]]], lengths: [1, 2] }, opts), /data\.lengths is given with ragged data\.x/);
  await rejects(train(m2m, { x: [[[1, 2]], [[1, 2]]], y: [[[1]], [[1]]] }, opts), /data\.x has 2 features per step but the model's input is \[batch, time, features=1\]/);
  await rejects(train(m2m, { x: [[[1]], []], y: [[[1]], []] }, opts), /data\.x\[1\] is empty: a sequence of length 0 cannot be masked/);
  await rejects(train(m2m, { x: [[[1]], [[NaN]]], y: [[[1]], [[1]]] }, opts), /data\.x\[1\]\[0\]\[0\] must be a finite number; got NaN/);
  await rejects(train(fixed, { x: [[[1]], [[1], [2], [3], [4]]], y: [[1], [2]] }, opts), /data\.x\[1\] has 4 steps but the model takes at most T = 3/);
  await rejects(train(fixed, { x: [[[1]], [[1], [2]]], y: yOne }, opts), /data\.x and data\.y must be tf\.Tensors, or both arrays/);
  // Padded targets and the loss: many-to-one trains on ragged x with one target per sequence.
  const r = await train(fixed, { x: [[[1]], [[1], [2]], [[3], [2], [1]]], y: [[1], [2], [0]] }, opts);
  assert.equal(r.stopped, 'completed');
  assert.equal(T.memory().numTensors, before, 'errors (and the one run) leave no tensors behind');
  T.dispose([x, y, yOne, yTwo, badMask, otherMask]);
  [m2m, conv, fixed].forEach((m) => m.dispose());
});
