// Truncated BPTT (train's `tbptt: k`) on variable-length sequences. References are independent of the
// padding, holding and masking code under test: full BPTT with lengths (k ≥ T), each sequence run alone and
// unpadded chunk by chunk (an Elman RNN in plain tf ops from the model's weights; an LSTM through
// computeGradients on each row alone), garbage in the padding, and the full-data loss over real steps.
// Every test runs on both recurrent paths (impl 'fused' and 'reference').
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const quiet = { verbose: false };
const IMPLS = ['fused', 'reference'];

const flat = (t) => Array.from(t.dataSync());
const weightsOf = (model) => model.getWeights().map(flat);
const maxDiff = (a, b) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
const listDiff = (a, b) => Math.max(0, ...a.map((w, i) => maxDiff(w, b[i])));

/** A seeded uniform generator in [-1, 1). */
function seeded(seed) {
  let s = seed >>> 0;
  return () => { s = (s * 1664525 + 1013904223) >>> 0; return (s / 2 ** 32) * 2 - 1; };
}

/**
 * A padded batch: x [B, Tn, F], y [B, Tn, 1] with y_t = x_{t−1}[0] (0 at t = 0), lengths as given;
 * the padded steps hold `pad(b, t)` (default 0). Also the ragged rows.
 */
function padded(lengths, Tn, F, seed, pad = () => 0) {
  const r = seeded(seed);
  const rows = lengths.map((Lb) => Array.from({ length: Lb }, () => Array.from({ length: F }, () => r())));
  const ys = rows.map((row) => row.map((_, t) => [t === 0 ? 0 : row[t - 1][0]]));
  const xp = rows.map((row, b) => Array.from({ length: Tn }, (_, t) => (t < row.length ? row[t] : Array.from({ length: F }, () => pad(b, t)))));
  const yp = ys.map((row, b) => Array.from({ length: Tn }, (_, t) => (t < row.length ? row[t] : [pad(b, t)])));
  return { rows, ys, x: tf.tensor3d(xp), y: tf.tensor3d(yp), lengths };
}

before(async () => { await L.initBackend({ backend: 'wasm', quiet: true }); });

const LENGTHS = [7, 3, 5, 1, 6];          // T = 7 included, 1 included, unsorted
const Tn = 7, F = 2, H = 4;

for (const impl of IMPLS) {
  test(`${impl}: tbptt with k ≥ T and lengths = full BPTT with lengths (one sgd step: weights and step loss; tol 1e-6)`, async () => {
    for (const [kind, build] of [['rnn', L.buildRNN], ['lstm', L.buildLSTM], ['gru', L.buildGRU]]) {
      for (const k of [Tn, Tn + 3]) {
        const d = padded(LENGTHS, Tn, F, 11);
        const spec = { inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 5, impl };
        const opts = { ...quiet, epochs: 1, batchSize: LENGTHS.length, shuffle: false, optimizer: 'sgd', learningRate: 1 };
        const full = build(spec), trunc = build(spec);
        const rf = await L.train(full, { x: d.x, y: d.y, lengths: d.lengths }, opts);
        const rt = await L.train(trunc, { x: d.x, y: d.y, lengths: d.lengths }, { ...opts, tbptt: k });
        const w0 = weightsOf(build(spec));
        const dW = listDiff(weightsOf(trunc), weightsOf(full));
        const moved = listDiff(weightsOf(full), w0);                     // = max |gradient| (learning rate 1)
        const dL = Math.abs(rt.steps[0].loss - rf.steps[0].loss);
        console.log(`  ${impl} ${kind} k=${k}: max |Δweights| tbptt vs full ${dW.toExponential(2)} (tol 1e-6; the step moved them by up to ${moved.toFixed(4)}); loss ${rt.steps[0].loss.toFixed(6)} vs ${rf.steps[0].loss.toFixed(6)}, diff ${dL.toExponential(2)}`);
        assert.equal(rt.steps.length, 1, 'one chunk');
        assert.ok(moved > 1e-3, 'the step changed the weights');
        assert.ok(dW <= 1e-6, `weights after one step differ by ${dW}`);
        assert.ok(dL <= 1e-6, `step losses differ by ${dL}`);
        tf.dispose([d.x, d.y]);
      }
    }
  });

  test(`${impl}: tbptt k = 3 < T on a padded batch = each sequence alone, unpadded, chunk by chunk (Elman RNN in plain tf ops; 2-layer LSTM row by row via computeGradients; tol 1e-6)`, async () => {
    const k = 3, lr = 0.5;
    const d = padded(LENGTHS, Tn, F, 12);
    // The chunks' real steps per row: [3,3,3,1,3], [3,0,2,0,3], [1,0,0,0,0]: ended rows, partial rows, a one-row chunk.
    for (const [kind, build, numLayers] of [['rnn', L.buildRNN, 1], ['lstm', L.buildLSTM, 2]]) {
      const spec = { inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 9, impl, numLayers };
      const model = build(spec);
      const r = await L.train(model, { x: d.x, y: d.y, lengths: d.lengths }, { ...quiet, epochs: 1, batchSize: LENGTHS.length, shuffle: false, optimizer: 'sgd', learningRate: lr, tbptt: k });
      const refModel = build(spec);
      const ref = kind === 'rnn' ? elmanByRows(refModel, d, k, lr) : libraryByRows(refModel, d, k, lr);
      const dW = listDiff(weightsOf(model), ref.weights);
      const dL = maxDiff(r.steps.map((s) => s.loss), ref.losses);
      console.log(`  ${impl} ${kind} (${numLayers} layer${numLayers > 1 ? 's' : ''}): step losses ${r.steps.map((s) => s.loss.toFixed(6)).join(' ')}; rows alone ${ref.losses.map((v) => v.toFixed(6)).join(' ')}; ` +
        `max |Δloss| ${dL.toExponential(2)}, max |Δweights| ${dW.toExponential(2)} (tol 1e-6)`);
      assert.equal(r.steps.length, 3, 'chunks of 3, 3, 1 steps');
      assert.ok(dL <= 1e-6, `step losses differ by ${dL}`);
      assert.ok(dW <= 1e-6, `weights differ by ${dW}`);
      model.dispose(); refModel.dispose();
    }
    tf.dispose([d.x, d.y]);
  });

  test(`${impl}: ragged arrays + tbptt train (delay task, lengths 3–14, k = 4): the loss falls by more than half`, async () => {
    const r0 = seeded(3);
    const lens = Array.from({ length: 24 }, (_, i) => 3 + ((i * 7) % 12));
    const x = lens.map((Lb) => Array.from({ length: Lb }, () => [r0()]));
    const y = x.map((row) => row.map((_, t) => [t === 0 ? 0 : row[t - 1][0]]));
    const model = L.buildLSTM({ inputSize: 1, hiddenSize: 8, outputSize: 1, topology: 'many-to-many', seed: 2, impl });
    const r = await L.train(model, { x, y }, { ...quiet, epochs: 40, batchSize: 8, tbptt: 4, learningRate: 0.03 });
    const first = r.epochs[0].loss, last = r.epochs.at(-1).loss;
    console.log(`  ${impl}: ragged tbptt 4: epoch loss ${first.toFixed(4)} → ${last.toFixed(4)} (must fall below half); ${r.steps.length} steps`);
    assert.equal(r.stopped, 'completed');
    assert.ok(last < first / 2, `loss ${first} → ${last}`);
    model.dispose();
  });

  test(`${impl}: a row with no real step left in a chunk adds nothing: garbage in every padded x and y changes neither the weights nor the step losses (tol 1e-7)`, async () => {
    const k = 3;
    const clean = padded(LENGTHS, Tn, F, 13);
    // Large finite x (checked finite by train), NaN targets at padded steps.
    const junk = padded(LENGTHS, Tn, F, 13, (b, t) => (t % 2 ? 37 + b : -50 * (t + 1)));
    const yJunk = tf.tidy(() => tf.where(tf.expandDims(tf.cast(L.sequenceMask(LENGTHS, Tn), 'bool'), 2), junk.y, tf.fill(junk.y.shape, NaN)));
    const spec = { inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 4, impl };
    const opts = { ...quiet, epochs: 2, batchSize: LENGTHS.length, shuffle: false, optimizer: 'adam', learningRate: 0.05, tbptt: k };
    const a = L.buildGRU(spec), b = L.buildGRU(spec), c = L.buildGRU(spec);
    const ra = await L.train(a, { x: clean.x, y: clean.y, lengths: LENGTHS }, opts);
    const rb = await L.train(b, { x: junk.x, y: yJunk, lengths: LENGTHS }, opts);
    // The same garbage read as real steps (no lengths; finite targets) does change the result: the test can fail.
    const rc = await L.train(c, { x: junk.x, y: junk.y }, opts);
    const dW = listDiff(weightsOf(a), weightsOf(b)), dL = maxDiff(ra.steps.map((s) => s.loss), rb.steps.map((s) => s.loss));
    const dUnmasked = listDiff(weightsOf(a), weightsOf(c));
    console.log(`  ${impl}: garbage padding: max |Δweights| ${dW.toExponential(2)}, max |Δstep loss| ${dL.toExponential(2)} (tol 1e-7); read as real steps the weights move by ${dUnmasked.toFixed(4)}`);
    assert.equal(ra.steps.length, 2 * 3);
    assert.ok(ra.steps.every((s) => Number.isFinite(s.loss)) && rb.steps.every((s) => Number.isFinite(s.loss)));
    assert.ok(dW <= 1e-7 && dL <= 1e-7, `garbage changed weights by ${dW}, losses by ${dL}`);
    assert.ok(dUnmasked > 1e-3, 'garbage read as real changes the weights');
    tf.dispose([clean.x, clean.y, junk.x, junk.y, yJunk]);
    [a, b, c].forEach((m) => m.dispose());
  });

  test(`${impl}: the epoch loss of tbptt with lengths is the mean over all real steps (chunks weighted by real steps; rel tol 1e-5), not the mean of chunk means`, async () => {
    const d = padded(LENGTHS, Tn, F, 14);
    const model = L.buildLSTM({ inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 6, impl });
    // A learning rate of 1e-12: the weights do not move, so the chunks' losses are those of one model.
    const r = await L.train(model, { x: d.x, y: d.y, lengths: LENGTHS }, { ...quiet, epochs: 1, batchSize: 3, shuffle: false, optimizer: 'sgd', learningRate: 1e-12, tbptt: 3 });
    // Float64 over the real steps of a full (untruncated) run: the forward values do not depend on truncation.
    const p = L.forwardModel(model, d.x, { lengths: LENGTHS }).output;
    const pv = flat(p);
    p.dispose();
    let sum = 0, count = 0;
    d.ys.forEach((row, b) => row.forEach(([v], t) => { sum += (pv[b * Tn + t] - v) ** 2; count++; }));
    const want = sum / count;
    const plain = r.steps.reduce((a, s) => a + s.loss, 0) / r.steps.length;
    const rel = Math.abs(r.epochs[0].loss - want) / want;
    // Batches [7,3,5] → chunks (3,3,3), (3,0,2), (1,0,0); [1,6] → chunks (1,3), (0,3): 5 steps.
    console.log(`  ${impl}: epoch loss ${r.epochs[0].loss.toFixed(7)}, full-data mean over ${count} real steps (JS) ${want.toFixed(7)}, rel diff ${rel.toExponential(2)} (tol 1e-5); unweighted mean of the ${r.steps.length} chunk means ${plain.toFixed(7)}`);
    assert.equal(count, LENGTHS.reduce((a, v) => a + v, 0));
    assert.equal(r.steps.length, 5, 'chunks past every row\'s end are skipped');
    assert.ok(rel <= 1e-5, `epoch loss ${r.epochs[0].loss} vs ${want}`);
    assert.ok(Math.abs(plain - want) / want > 1e-3, 'the unweighted mean differs here, so the weighting is tested');
    tf.dispose([d.x, d.y]);
    model.dispose();
  });

  test(`${impl}: chunks past every row's end are skipped (fixed T = 9 model, longest sequence 5, k = 2: 3 chunks, not 5)`, async () => {
    const d = padded([5, 2, 4], 9, F, 15);
    const model = L.buildLSTM({ inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 6, impl, sequenceLength: 9 });
    assert.equal(model.inputs[0].shape[1], 9, 'the model has a fixed time axis, so the batch is not cut');
    const r = await L.train(model, { x: d.x, y: d.y, lengths: [5, 2, 4] }, { ...quiet, epochs: 1, batchSize: 3, shuffle: false, tbptt: 2 });
    console.log(`  ${impl}: fixed T 9, lengths [5, 2, 4], k 2: ${r.steps.length} steps`);
    assert.equal(r.steps.length, 3);
    tf.dispose([d.x, d.y]);
    model.dispose();
  });

  test(`${impl}: no tensor leaks: tbptt with lengths, ragged data, token ids with padId (flat over epochs)`, async () => {
    const d = padded(LENGTHS, Tn, F, 16);
    const feat = L.buildLSTM({ inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 1, impl });
    const rows = d.rows, ys = d.ys;
    const ids = [[1, 2, 3, 4, 5], [2, 3], [4, 1, 2, 5, 3, 1, 2], [3]];
    const next = ids.map((row) => row.map((v) => (v + 1) % 6));
    const tok = L.buildGRU({ vocabSize: 7, padId: 6, embeddingSize: 3, hiddenSize: H, outputSize: 6, outputActivation: 'softmax', topology: 'many-to-many', seed: 2, impl });
    const runs = [
      ['tensors + lengths', feat, { x: d.x, y: d.y, lengths: LENGTHS }],
      ['ragged features', feat, { x: rows, y: ys }],
      ['ragged token ids (padId)', tok, { x: ids, y: next }],
    ];
    for (const [name, model, data] of runs) {
      await L.train(model, data, { ...quiet, epochs: 1, batchSize: 3, tbptt: 2 });        // warm up (optimizer state, kernels)
      const before = tf.memory().numTensors;
      const r = await L.train(model, data, { ...quiet, epochs: 20, batchSize: 3, tbptt: 2 });
      const after = tf.memory().numTensors;
      const per = r.epochs.map((e) => e.tensors);
      console.log(`  ${impl}: ${name}: ${r.steps.length} steps, tensors ${before} → ${after}; per epoch ${per[0]} … ${per.at(-1)}`);
      assert.equal(r.stopped, 'completed');
      assert.ok(r.steps.every((s) => Number.isFinite(s.loss)));
      assert.equal(after, before, `${name}: ${after - before} tensors leaked`);
      assert.ok(per.every((n) => n === per[0]), `${name}: tensors per epoch ${per.join(' ')}`);
    }
    tf.dispose([d.x, d.y]);
    feat.dispose(); tok.dispose();
  });
}

test('computeGradients with mask and initialStates (one masked chunk) = each row alone, unpadded, from its own state: gradients and final states (tol 1e-6)', () => {
  const lens = [4, 2, 1], Tc = 4;
  const d = padded(lens, Tc, F, 17, () => 9);                                  // padding 9: visible if it leaked
  const model = L.buildLSTM({ inputSize: F, hiddenSize: H, outputSize: 1, topology: 'many-to-many', seed: 3, impl: 'reference' });
  const r0 = seeded(18);
  const h0 = tf.tensor2d(lens.map(() => Array.from({ length: H }, () => r0())));
  const c0 = tf.tensor2d(lens.map(() => Array.from({ length: H }, () => r0())));
  const mask = L.sequenceMask(lens, Tc);
  const start = tf.memory().numTensors;
  const g = L.computeGradients(model, d.x, d.y, { loss: L.lossFunction('mse'), initialStates: [[h0, c0]], mask });
  const sumLoss = (y, p) => tf.sum(tf.square(tf.sub(p, y)));
  const count = lens.reduce((a, v) => a + v, 0);
  const sums = {};
  let dState = 0;
  lens.forEach((Lb, b) => {
    const xb = tf.tensor3d([d.rows[b]]), yb = tf.tensor3d([d.ys[b]]);
    const hb = tf.slice(h0, [b, 0], [1, H]), cb = tf.slice(c0, [b, 0], [1, H]);
    const a = L.computeGradients(model, xb, yb, { loss: sumLoss, initialStates: [[hb, cb]] });
    for (const [n, t] of Object.entries(a.grads)) sums[n] = (sums[n] ?? new Float64Array(t.size)).map((v, i) => v + t.dataSync()[i] / count);
    a.finalStates[0].forEach((t, i) => { dState = Math.max(dState, maxDiff(flat(t), flat(g.finalStates[0][i]).slice(b * H, (b + 1) * H))); });
    tf.dispose([xb, yb, hb, cb, a.loss, ...Object.values(a.grads), ...a.finalStates.flat()]);
  });
  const dG = Math.max(...Object.keys(sums).map((n) => maxDiff(Array.from(sums[n]), flat(g.grads[n]))));
  tf.dispose([g.loss, ...Object.values(g.grads), ...g.finalStates.flat()]);
  console.log(`  masked chunk, lengths [${lens}]: max |Δgrad| vs rows alone ${dG.toExponential(2)}, max |Δ final h, c| ${dState.toExponential(2)} (tol 1e-6)`);
  assert.ok(dG <= 1e-6 && dState <= 1e-6);
  assert.equal(tf.memory().numTensors, start, 'nothing left behind');
  tf.dispose([d.x, d.y, h0, c0, mask]);
  model.dispose();
});

/**
 * The reference for an Elman RNN (h_t = tanh(x_t K + h_{t−1} U + b), y_t = h_t W + c), in plain tf ops
 * from the model's initial weights: each sequence alone and unpadded, chunk by chunk, its state carried as
 * a constant between chunks (stopGradient at the borders). A chunk's loss is Σ over the rows' real steps of
 * (y − ŷ)² divided by the chunk's count of real steps; one sgd step per chunk.
 */
function elmanByRows(model, d, k, lr) {
  const vars = model.getWeights().map((w) => tf.variable(w.clone()));   // K, U, b, W, c
  const Tmax = Math.max(...d.lengths);
  let states = d.rows.map(() => tf.zeros([1, H]));
  const losses = [];
  for (let s = 0; s < Tmax; s += k) {
    const live = d.rows.map((row, b) => b).filter((b) => d.rows[b].length > s);
    const count = live.reduce((a, b) => a + Math.min(k, d.rows[b].length - s), 0);
    const next = states.slice();
    const { value, grads } = tf.variableGrads(() => {
      const [K, U, bias, W, c] = vars;
      let total = tf.scalar(0);
      for (const b of live) {
        let h = states[b];                                                       // [1, H], a constant
        for (let t = s; t < Math.min(s + k, d.rows[b].length); t++) {
          h = tf.tanh(tf.add(tf.add(tf.matMul(tf.tensor2d([d.rows[b][t]]), K), tf.matMul(h, U)), bias));
          const p = tf.add(tf.matMul(h, W), c);                                   // [1, 1]
          total = tf.add(total, tf.sum(tf.square(tf.sub(p, d.ys[b][t][0]))));
        }
        next[b] = tf.keep(h.clone());
      }
      return tf.div(total, count);
    }, vars);
    losses.push(value.dataSync()[0]);
    for (const v of vars) v.assign(tf.tidy(() => tf.sub(v, tf.mul(grads[v.name], lr))));
    tf.dispose([value, ...Object.values(grads), ...states.filter((t, b) => next[b] !== t)]);
    states = next;
  }
  const weights = vars.map(flat);
  tf.dispose([...vars, ...states]);
  return { weights, losses };
}

/**
 * The reference for any builder model: computeGradients on each sequence alone, unpadded ([1, r_b, F]),
 * from its own carried state, with a summed loss; the chunk's gradient is the rows' sum divided by the
 * chunk's count of real steps; one sgd step per chunk.
 */
function libraryByRows(model, d, k, lr) {
  const Tmax = Math.max(...d.lengths);
  const sumLoss = (y, p) => tf.sum(tf.square(tf.sub(p, y)));
  let states = d.rows.map(() => [undefined]);
  const losses = [];
  for (let s = 0; s < Tmax; s += k) {
    const live = d.rows.map((row, b) => b).filter((b) => d.rows[b].length > s);
    const count = live.reduce((a, b) => a + Math.min(k, d.rows[b].length - s), 0);
    let total = 0;
    const sums = {};
    const next = states.slice();
    for (const b of live) {
      const end = Math.min(s + k, d.rows[b].length);
      const xc = tf.tensor3d([d.rows[b].slice(s, end)]), yc = tf.tensor3d([d.ys[b].slice(s, end)]);
      const g = L.computeGradients(model, xc, yc, { loss: sumLoss, initialStates: states[b] });
      total += g.loss.dataSync()[0];
      for (const [n, t] of Object.entries(g.grads)) {
        const acc = sums[n] ? tf.add(sums[n], t) : t.clone();
        if (sums[n]) sums[n].dispose();
        sums[n] = acc;
      }
      next[b] = g.finalStates;
      tf.dispose([xc, yc, g.loss, ...Object.values(g.grads)]);
    }
    for (const w of model.trainableWeights) {
      const v = w.read();
      const nv = tf.tidy(() => tf.sub(v, tf.mul(tf.div(sums[v.name], count), lr)));
      w.write(nv);
      nv.dispose();
    }
    losses.push(total / count);
    tf.dispose([...Object.values(sums), ...live.flatMap((b) => (states[b][0] ? states[b].flat() : []))]);
    states = next;
  }
  tf.dispose(states.flatMap((st) => (st[0] ? st.flat() : [])));
  return { weights: weightsOf(model), losses };
}
