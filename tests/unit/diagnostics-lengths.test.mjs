// gradientFlow and jacobianNorms on batches padded at the end (issue 16): each padded batch against
// every sequence run alone, unpadded; the padding's values must change nothing; no tensor leaks.
import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();

const lengths = [3, 7, 5, 1, 7];
const B = lengths.length, T = 7, m = 3;
const TOL = 2e-5;   // relative, float32 gradients of the same operations in another batch composition

/** x [B, T, m] with real steps from seed 5 and padding from `padSeed` (garbage that must not matter). */
function paddedX(padSeed) {
  const real = ref.randArray(ref.seeded(5), [B, T, m]);
  const pad = ref.randArray(ref.seeded(padSeed), [B, T, m], 50);
  return real.map((row, b) => row.map((v, t) => (t < lengths[b] ? v : pad[b][t])));
}
/** The [B, T] float mask of the lengths, built here (1 at t < L_b). */
const maskOf = () => tf.tensor2d(lengths.map((Lb) => Array.from({ length: T }, (_, t) => (t < Lb ? 1 : 0))));
const rel = (a, b) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-12);

/** The expected batch norm at step t from each sequence alone: (w_b · alone_b[t]) summed in squares. */
function combine(alone, weights, pick) {
  return Array.from({ length: T }, (_, t) => Math.sqrt(alone.reduce((s, r, b) => {
    const v = pick(r)[t];
    return s + (v === undefined ? 0 : (weights[b] * v) ** 2);
  }, 0)));
}

for (const backend of ['wasm', 'cpu']) {
  describe(`gradientFlow / jacobianNorms with lengths on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    for (const { name, build, lossAt } of [
      { name: 'LSTM many-to-one', build: () => L.buildLSTM({ inputSize: m, hiddenSize: 4, outputSize: 2, seed: 3 }), lossAt: 'last' },
      { name: 'bidirectional GRU many-to-one, 2 layers', build: () => L.buildGRU({ inputSize: m, hiddenSize: 3, outputSize: 2, numLayers: 2, bidirectional: true, seed: 4 }), lossAt: 'last' },
      { name: 'RNN many-to-many, lossAt last', build: () => L.buildRNN({ inputSize: m, hiddenSize: 4, outputSize: 2, topology: 'many-to-many', seed: 6 }), lossAt: 'last' },
      { name: 'LSTM many-to-many, lossAt every', build: () => L.buildLSTM({ inputSize: m, hiddenSize: 4, outputSize: 2, topology: 'many-to-many', seed: 7 }), lossAt: 'every' },
    ]) {
      test(`${name}: the norm at step t equals each sequence alone, weighted as the loss weights it; padding changes nothing`, () => {
        const model = build();
        const manyToMany = L.specOf(model).topology === 'many-to-many';
        const yArr = manyToMany ? ref.randArray(ref.seeded(9), [B, T, 2]) : ref.randArray(ref.seeded(9), [B, 2]);
        const x = tf.tensor3d(paddedX(11)), x2 = tf.tensor3d(paddedX(12)), y = manyToMany ? tf.tensor3d(yArr) : tf.tensor2d(yArr);
        // Many-to-many targets at padded steps: NaN, which a scored padded target would turn into a NaN loss.
        const yNaN = manyToMany ? tf.tensor3d(yArr.map((r, b) => r.map((v, t) => (t < lengths[b] ? v : [NaN, NaN])))) : y;
        const opts = { lossAt };
        const mask = maskOf();
        const flow = L.gradientFlow(model, x, y, { ...opts, lengths });
        const flowMask = L.gradientFlow(model, x2, yNaN, { ...opts, mask });
        const alone = lengths.map((Lb, b) => {
          const xb = tf.tensor3d([paddedX(11)[b].slice(0, Lb)]);
          const yb = manyToMany ? tf.tensor3d([yArr[b].slice(0, Lb)]) : tf.tensor2d([yArr[b]]);
          const r = L.gradientFlow(model, xb, yb, opts);
          tf.dispose([xb, yb]);
          return r;
        });
        const total = lengths.reduce((s, v) => s + v, 0);
        // 'last' (and many-to-one): the batch loss is the mean of per-sequence losses → weight 1/B.
        // 'every': the mean over all Σ L_b real steps → weight L_b / Σ L_b.
        const w = opts.lossAt === 'every' ? lengths.map((Lb) => Lb / total) : lengths.map(() => 1 / B);
        const expectLoss = alone.reduce((s, r, b) => s + w[b] * r.loss, 0);
        let worst = rel(flow.loss, expectLoss), worstMask = 0, count = 0;
        flow.layers.forEach((layer, l) => layer.directions.forEach((dir, d) => {
          const exp = combine(alone, w, (r) => r.layers[l].directions[d].dh);
          dir.dh.forEach((v, t) => { worst = Math.max(worst, rel(v, exp[t])); count++; });
          if (dir.dc) {
            const expc = combine(alone, w, (r) => r.layers[l].directions[d].dc);
            dir.dc.forEach((v, t) => { worst = Math.max(worst, rel(v, expc[t])); count++; });
          }
          flowMask.layers[l].directions[d].dh.forEach((v, t) => { worstMask = Math.max(worstMask, Math.abs(v - dir.dh[t])); });
        }));
        const expDx = combine(alone, w, (r) => r.dx);
        flow.dx.forEach((v, t) => { worst = Math.max(worst, rel(v, expDx[t])); });
        worstMask = Math.max(worstMask, Math.abs(flowMask.loss - flow.loss), ...flow.dx.map((v, t) => Math.abs(v - flowMask.dx[t])));
        console.log(`  ${backend} ${name}: loss ${flow.loss.toFixed(5)} vs alone-weighted ${expectLoss.toFixed(5)}; ${count} norms, max relative difference to the alone runs ${worst.toExponential(2)} (tol ${TOL}); other padding values + NaN padded targets + mask instead of lengths: max abs difference ${worstMask.toExponential(2)} (tol 0)`);
        assert.ok(worst <= TOL, `max relative difference ${worst}`);
        assert.equal(worstMask, 0, 'padding values, padded targets and lengths vs mask change nothing');
        assert.deepEqual(flow.sequencesAt, Array.from({ length: T }, (_, t) => lengths.filter((Lb) => Lb > t).length));
        // The first sequence has 3 steps: its ∂L/∂x at steps 4…7 is exactly 0, so dx at step 7 is the two 7-step rows only.
        assert.ok(flow.dx[T - 1] > 0);
        tf.dispose([x, x2, y, mask, ...(yNaN !== y ? [yNaN] : [])]);
        model.dispose();
      });
    }

    test('gradientFlow: numTensors flat over calls with lengths; all-full lengths equal no lengths exactly; a padId model finds its lengths', () => {
      const model = L.buildLSTM({ inputSize: m, hiddenSize: 4, outputSize: 2, seed: 3 });
      const x = tf.tensor3d(paddedX(11)), y = tf.tensor2d(ref.randArray(ref.seeded(9), [B, 2]));
      L.gradientFlow(model, x, y, { lengths });                  // warm-up (lazy weights, kernels)
      const before = tf.memory().numTensors;
      for (let i = 0; i < 3; i++) L.gradientFlow(model, x, y, { lengths });
      assert.equal(tf.memory().numTensors, before, `gradientFlow with lengths leaks: ${tf.memory().numTensors - before} tensors`);
      const full = L.gradientFlow(model, x, y, { lengths: new Array(B).fill(T) }), none = L.gradientFlow(model, x, y);
      assert.deepEqual(full.layers, none.layers);
      assert.equal(full.sequencesAt, undefined);
      model.dispose(); tf.dispose([x, y]);

      const V = 6, pad = 0;
      const tok = L.buildGRU({ vocabSize: V, embeddingSize: 3, hiddenSize: 4, outputSize: 2, padId: pad, seed: 2 });
      const rand = ref.seeded(21);
      const ids = lengths.map((Lb) => Array.from({ length: T }, (_, t) => (t < Lb ? 1 + Math.floor(rand() * (V - 1)) : pad)));
      const xi = tf.tensor2d(ids, [B, T], 'int32'), yi = tf.tensor2d(ref.randArray(ref.seeded(3), [B, 2]));
      const found = L.gradientFlow(tok, xi, yi), given = L.gradientFlow(tok, xi, yi, { lengths });
      assert.deepEqual(found.layers, given.layers);
      assert.deepEqual(found.sequencesAt, given.sequencesAt);
      const alone = ids.map((row, b) => { const xb = tf.tensor2d([row.slice(0, lengths[b])], undefined, 'int32'), yb = tf.slice(yi, [b, 0], [1, -1]); const r = L.gradientFlow(tok, xb, yb); tf.dispose([xb, yb]); return r; });
      const exp = combine(alone, lengths.map(() => 1 / B), (r) => r.layers[0].directions[0].dh);
      const worst = Math.max(...found.layers[0].directions[0].dh.map((v, t) => rel(v, exp[t])));
      console.log(`  ${backend} padId GRU: max relative difference to the alone runs ${worst.toExponential(2)} (tol ${TOL})`);
      assert.ok(worst <= TOL, `max relative difference ${worst}`);
      assert.throws(() => L.gradientFlow(tok, xi, yi, { lengths: [3, 7, 5, 2, 7] }), /^RangeError: gradientFlow: lengths and the padding of x disagree at row 3/);
      tok.dispose(); tf.dispose([xi, yi]);
    });

    test('gradientFlow: bad lengths and masks name gradientFlow, the argument and the row', () => {
      const model = L.buildRNN({ inputSize: m, hiddenSize: 3, outputSize: 1, seed: 1 });
      const x = tf.zeros([2, 4, m]), y = tf.zeros([2, 1]);
      assert.throws(() => L.gradientFlow(model, x, y, { lengths: [2, 0] }), /gradientFlow: lengths\[1\] must be an integer from 1 to T = 4/);
      assert.throws(() => L.gradientFlow(model, x, y, { lengths: [2] }), /gradientFlow: lengths has 1 lengths but the batch/);
      const bad = tf.tensor2d([[1, 0, 1, 0], [1, 1, 1, 1]]);
      assert.throws(() => L.gradientFlow(model, x, y, { mask: bad }), /gradientFlow: mask row 0 must be 1s followed by 0s/);
      assert.throws(() => L.gradientFlow(model, x, y, { lenghts: [2, 3] }), /gradientFlow: unknown options key 'lenghts' — did you mean 'lengths'\?/);
      const m2m = L.buildRNN({ inputSize: m, hiddenSize: 3, outputSize: 1, topology: 'many-to-many', seed: 1 });
      assert.throws(() => L.gradientFlow(m2m, x, tf.zeros([2, 4, 1]), { lossAt: 'every', lengths: [2, 4], loss: (a, b) => tf.mean(tf.square(tf.sub(a, b))) }), /gradientFlow: with lengths .* a custom loss must take the mask as its third argument/);
      tf.dispose([x, y, bad]); model.dispose(); m2m.dispose();
    });

    test('jacobianNorms with lengths: each sequence equals it alone; norms are the mean over sequences that have step k; padding changes nothing; numTensors flat', () => {
      for (const [kind, make] of [['rnn', () => L.rnnLayer({ units: 4 })], ['lstm backwards', () => L.lstmLayer({ units: 3, goBackwards: true })]]) {
        const layer = make();
        layer.build([null, null, m]);
        const x = tf.tensor3d(paddedX(11)), x2 = tf.tensor3d(paddedX(13));
        L.jacobianNorms(layer, x, { lengths });                                         // warm-up
        const before = tf.memory().numTensors;
        const r = L.jacobianNorms(layer, x, { lengths });
        assert.equal(tf.memory().numTensors, before, 'jacobianNorms with lengths frees its tensors');
        const mask = maskOf();
        const r2 = L.jacobianNorms(layer, x2, { mask });
        mask.dispose();
        let worst = 0, worstPad = 0;
        const alone = lengths.map((Lb, b) => { const xb = tf.tensor2d(paddedX(11)[b].slice(0, Lb)); const a = L.jacobianNorms(layer, xb); xb.dispose(); return a; });
        alone.forEach((a, b) => {
          assert.equal(r.sequences[b].norms.length, lengths[b]);
          a.norms.forEach((v, k) => { worst = Math.max(worst, rel(r.sequences[b].norms[k], v)); worstPad = Math.max(worstPad, Math.abs(r2.sequences[b].norms[k] - r.sequences[b].norms[k])); });
          a.factors.forEach((v, k) => { worst = Math.max(worst, rel(r.sequences[b].factors[k], v)); });
        });
        // The mean over sequences with step k, recomputed here from the alone runs.
        r.norms.forEach((v, k) => {
          const have = alone.filter((a) => a.norms.length > k);
          worst = Math.max(worst, rel(v, have.reduce((s, a) => s + a.norms[k], 0) / have.length));
        });
        r.factors.forEach((v, k) => {
          const have = alone.filter((a) => a.factors.length > k);
          worst = Math.max(worst, rel(v, have.reduce((s, a) => s + a.factors[k], 0) / have.length));
        });
        console.log(`  ${backend} jacobianNorms ${kind}: max relative difference to each sequence alone ${worst.toExponential(2)} (tol 1e-6); other padding values: max abs difference ${worstPad.toExponential(2)} (tol 0)`);
        assert.ok(worst <= 1e-6, `max relative difference ${worst}`);
        assert.equal(worstPad, 0);
        assert.equal(r.norms.length, T);
        assert.equal(r.factors.length, T - 1);
        assert.throws(() => L.jacobianNorms(layer, x, { lengths: [3, 7, 5, 8, 7] }), /jacobianNorms: lengths\[3\] must be an integer from 1 to T = 7/);
        assert.throws(() => L.jacobianNorms(layer, x, { lenght: lengths }), /jacobianNorms: unknown options key 'lenght'/);
        // One sequence without lengths: the result it always had (no `sequences`).
        const one = tf.slice(x, [1, 0, 0], [1, -1, -1]);
        assert.equal(L.jacobianNorms(layer, one).sequences, undefined);
        tf.dispose([x, x2, one]);
      }
    });
  });
}

// gateStats was the one diagnostic still averaging padded steps in (a padId model's padding, or no way
// to pass lengths at all): now the real steps only, equal to the rows run alone, weighted by length.
test('gateStats over a padded batch: real steps only, equal to each row alone weighted by its length; a padId model finds its padding', async () => {
  const { lib, tf: getTf } = await import('../helpers.mjs');
  const L = lib(), T = getTf();
  const lengths = [5, 2, 4];
  const combine = (perRow) => {
    const total = lengths.reduce((a, b) => a + b, 0);
    const out = {};
    for (const g of Object.keys(perRow[0])) {
      out[g] = {};
      for (const k of ['mean', 'nearZero', 'nearOne']) out[g][k] = perRow.reduce((a, s, b) => a + s[g][k] * lengths[b], 0) / total;
    }
    return out;
  };
  const maxDiff = (a, b) => Math.max(...Object.keys(a).flatMap((g) => ['mean', 'nearZero', 'nearOne'].map((k) => Math.abs(a[g][k] - b[g][k]))));
  // feature model, lengths given; junk in the padding
  const m = L.buildLSTM({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 6 });
  const x = T.tidy(() => {
    const r = T.randomNormal([3, 5, 2], 0, 1, 'float32', 7);
    return T.where(T.expandDims(T.cast(L.sequenceMask(lengths, 5), 'bool'), 2), r, T.fill([3, 5, 2], 50));
  });
  const before = T.memory().numTensors;
  const padded = L.gateStats(m, x, 0, { lengths });
  assert.equal(T.memory().numTensors, before, 'gateStats left tensors');
  const alone = combine(lengths.map((Lb, b) => { const xb = x.slice([b, 0, 0], [1, Lb, 2]); const s = L.gateStats(m, xb); xb.dispose(); return s; }));
  const d = maxDiff(padded, alone);
  assert.ok(d < 1e-5, `gateStats with lengths vs rows alone: max |Δ| ${d} (tol 1e-5)`);
  const blind = L.gateStats(m, x);
  assert.ok(maxDiff(blind, alone) > 1e-3, 'without lengths the padding counts (so this test can fail)');
  assert.throws(() => L.gateStats(m, x, 0, { length: lengths }), /gateStats: unknown options key 'length' — did you mean 'lengths'\?/);
  // token model with padId: the padding is found without being told
  const tm = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 1, padId: 0, seed: 2 });
  const rows = [[1, 2, 3, 4, 5], [3, 1], [2, 2, 5, 1]];
  const ids = T.tensor2d(rows.map((r) => [...r, ...Array(5 - r.length).fill(0)]), [3, 5], 'int32');
  const tPadded = L.gateStats(tm, ids);
  const tAlone = combine(rows.map((r) => { const xi = T.tensor2d([r], [1, r.length], 'int32'); const s = L.gateStats(tm, xi); xi.dispose(); return s; }));
  const dt = maxDiff(tPadded, tAlone);
  assert.ok(dt < 1e-5, `padId model: gateStats vs rows alone: max |Δ| ${dt}`);
  T.dispose([x, ids]);
  m.dispose(); tm.dispose();
});
