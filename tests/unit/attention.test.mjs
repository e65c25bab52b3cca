// Attention (issue 19, item 1): attend / attentionScores / LabAttention, spec.attention in the seq2seq
// builders, decoding and beam search with attention, attentionWeights.
//
// Oracles, none of them the code under test:
//  - a float64 reference written here from the equations (Luong et al. 2015 eqs. 5, 7, 8; Bahdanau et al.
//    2015 A.1.2) with plain loops, no tf.js;
//  - central finite differences of that float64 reference for the gradients (tf.js autodiff of the code);
//  - the whole tf.layers graph (model.predict) against the hand-run pieces (applySeq2seq), each row alone;
//  - teacher forcing (attentionWeights on the decoded tokens) for the weights that decoding returns.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { lib, tf, ROOT } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const T = tf();
// applySeq2seq (the hand-run pieces that train uses for masked batches) is internal.
const { applySeq2seq } = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'train-seq2seq.js'));

const throwsMsg = (fn, re, what) => assert.throws(fn, (e) => { assert.match(e.message, re, what); return true; }, what);

// ---- the float64 reference, from the equations ----
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);
/** x·W for a row vector x [in] and W [in][out]. */
const vecMat = (x, W) => W[0].map((_, j) => x.reduce((s, xi, i) => s + xi * W[i][j], 0));
/** score(h_t, h̄_s) for one query and one key. */
function scoreRef(kind, h, hb, w) {
  if (kind === 'dot') return dot(h, hb);                                              // h_tᵀ h̄_s
  if (kind === 'general') return dot(vecMat(h, w.Wa), hb);                            // h_tᵀ Wa h̄_s
  const a = vecMat(h, w.W1), b = vecMat(hb, w.W2);                                    // W1 h_t, W2 h̄_s
  return dot(w.v, a.map((x, i) => Math.tanh(x + b[i])));                              // vᵀ tanh(W1 h_t + W2 h̄_s)
}
/**
 * Attention of q [b][Tt][n] over k [b][Ts][n] with lengths [b]: weights [b][Tt][Ts] (softmax over s < L_b,
 * 0 beyond), contexts [b][Tt][n], and with Wc the attentional hidden tanh([c; h]·Wc) [b][Tt][n].
 */
function attendRef(kind, q, k, lengths, w) {
  const weights = [], context = [], output = [];
  q.forEach((rows, b) => {
    const Lb = lengths[b];
    weights.push([]); context.push([]); output.push([]);
    rows.forEach((h) => {
      const s = k[b].slice(0, Lb).map((hb) => scoreRef(kind, h, hb, w));
      const m = Math.max(...s);
      const e = s.map((x) => Math.exp(x - m));
      const Z = e.reduce((a, x) => a + x, 0);
      const a = [...e.map((x) => x / Z), ...new Array(k[b].length - Lb).fill(0)];
      const c = h.map((_, j) => a.reduce((acc, as, si) => acc + as * k[b][si][j], 0));
      weights[b].push(a); context[b].push(c);
      if (w.Wc) output[b].push(vecMat([...c, ...h], w.Wc).map(Math.tanh));
    });
  });
  return { weights, context, output };
}
const flat = (a) => (Array.isArray(a) ? a.flatMap(flat) : [a]);
const maxAbs = (a, b) => { const x = flat(a), y = flat(b); assert.equal(x.length, y.length, 'same size'); return x.reduce((m, v, i) => Math.max(m, Math.abs(v - y[i])), 0); };

const KINDS = ['dot', 'general', 'additive'];
const n = 4, B = 3, Tt = 3, Ts = 5;
const LENGTHS = [5, 3, 1];           // a full row, a padded row, a row with one real step
function randomCase(seed, kind) {
  const r = ref.seeded(seed);
  const w = {
    ...(kind === 'general' ? { Wa: ref.randArray(r, [n, n], 0.8) } : {}),
    ...(kind === 'additive' ? { W1: ref.randArray(r, [n, n], 0.8), W2: ref.randArray(r, [n, n], 0.8), v: ref.randArray(r, [n], 0.8) } : {}),
    Wc: ref.randArray(r, [2 * n, n], 0.5),
  };
  return { q: ref.randArray(r, [B, Tt, n], 1), k: ref.randArray(r, [B, Ts, n], 1), w, R: ref.randArray(r, [B, Tt, n], 1) };
}
const scoreTensors = (w) => Object.fromEntries(Object.entries(w).filter(([key]) => key !== 'Wc').map(([key, v]) => [key, T.tensor(v)]));

/** A LabAttention with the case's weights. */
function layerWith(kind, w) {
  const layer = new L.LabAttention({ score: kind, units: n, seed: 3 });
  layer.build();
  const order = { dot: ['Wc'], general: ['Wa', 'Wc'], additive: ['W1', 'W2', 'v', 'Wc'] }[kind];
  layer.setWeights(order.map((key) => T.tensor(w[key])));
  return layer;
}

for (const backend of ['wasm', 'cpu']) {
  describe(`attention on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('attend and attentionScores equal the float64 reference, with source lengths (tolerance 1e-5)', () => {
      for (const kind of KINDS) {
        const c = randomCase(11, kind);
        const want = attendRef(kind, c.q, c.k, LENGTHS, c.w);
        const [q, k] = [T.tensor(c.q), T.tensor(c.k)];
        const weights = scoreTensors(c.w);
        const got = L.attend(q, k, { score: kind, weights, sourceLengths: LENGTHS });
        const dW = maxAbs(got.weights.arraySync(), want.weights), dC = maxAbs(got.context.arraySync(), want.context);
        // Raw scores at the real steps.
        const scores = L.attentionScores(q, k, { score: kind, weights }).arraySync();
        let dS = 0;
        c.q.forEach((rows, b) => rows.forEach((h, t) => c.k[b].forEach((hb, s) => { dS = Math.max(dS, Math.abs(scores[b][t][s] - scoreRef(kind, h, hb, c.w))); })));
        // The same through a mask instead of lengths, and the layer's h̃ = tanh(Wc [c; h]).
        const mask = T.tensor2d(LENGTHS.map((Lb) => Array.from({ length: Ts }, (_, s) => (s < Lb ? 1 : 0))));
        const viaMask = L.attend(q, k, { score: kind, weights, mask });
        const dM = maxAbs(viaMask.weights.arraySync(), want.weights);
        const layer = layerWith(kind, c.w);
        const out = T.tidy(() => layer.attendAll(q, k, mask).output.arraySync());
        const dO = maxAbs(out, want.output);
        console.log(`${backend} ${kind}: max |Δ| weights ${dW.toExponential(2)}, contexts ${dC.toExponential(2)}, scores ${dS.toExponential(2)}, via mask ${dM.toExponential(2)}, h̃ ${dO.toExponential(2)} (tolerance 1e-5)`);
        for (const d of [dW, dC, dS, dM, dO]) assert.ok(d < 1e-5, `${kind}: ${d}`);
        // Without lengths: every step real, rows sum to 1.
        const full = L.attend(q, k, { score: kind, weights });
        const dF = maxAbs(full.weights.arraySync(), attendRef(kind, c.q, c.k, [Ts, Ts, Ts], c.w).weights);
        assert.ok(dF < 1e-5, `${kind} unmasked: ${dF}`);
        T.dispose([q, k, mask, ...Object.values(weights), got.weights, got.context, viaMask.weights, viaMask.context, full.weights, full.context]);

      }
    });

    test('gradients of queries, keys and every weight equal central finite differences of the float64 reference (rel. 2e-3)', () => {
      for (const kind of KINDS) {
        const c = randomCase(23, kind);
        const layer = layerWith(kind, c.w);
        const names = { dot: ['Wc'], general: ['Wa', 'Wc'], additive: ['W1', 'W2', 'v', 'Wc'] }[kind];
        const mask = T.tensor2d(LENGTHS.map((Lb) => Array.from({ length: Ts }, (_, s) => (s < Lb ? 1 : 0))));
        const R = T.tensor(c.R);
        // Loss = Σ R ⊙ h̃: a random linear read-out of every output.
        const q = T.tensor(c.q), k = T.tensor(c.k);
        const vars = layer.trainableWeights.map((v) => v.read());
        const { grads, value } = T.tidy(() => {
          const f = (qq, kk) => T.sum(T.mul(layer.attendAll(qq, kk, mask).output, R));
          const gqk = T.grads(f)([q, k]);
          const { grads: gw } = T.variableGrads(() => f(q, k), vars);
          return { grads: { query: gqk[0].arraySync(), keys: gqk[1].arraySync(), ...Object.fromEntries(layer.trainableWeights.map((v, i) => [v.originalName.split('/').pop(), gw[vars[i].name].arraySync()])) }, value: f(q, k).dataSync()[0] };
        });
        const loss64 = (p) => flat(attendRef(kind, p.q, p.k, LENGTHS, p.w).output).reduce((s, x, i) => s + x * flat(c.R)[i], 0);
        assert.ok(Math.abs(value - loss64(c)) < 1e-4, `${kind} loss ${value} vs ${loss64(c)}`);
        const eps = 1e-5;
        let worst = 0;
        const check = (label, get, set, analytic) => {
          const fa = flat(analytic);
          const shape = (x) => (Array.isArray(x) ? [x.length, ...shape(x[0])] : []);
          // Every entry: perturb the float64 parameters by ±eps.
          const base = get();
          const entries = flat(base).length;
          for (let i = 0; i < entries; i++) {
            const bump = (d) => { const p = structuredClone(c); const arr = get(p); const idx = unravel(i, shape(arr)); setAt(arr, idx, getAt(arr, idx) + d); return loss64(p); };
            const fd = (bump(eps) - bump(-eps)) / (2 * eps);
            const err = Math.abs(fd - fa[i]) / Math.max(1, Math.abs(fd));
            worst = Math.max(worst, err);
            assert.ok(err < 2e-3, `${kind} ∂L/∂${label}[${i}]: autodiff ${fa[i]} vs finite difference ${fd}`);
          }
          void set;
        };
        check('query', (p = c) => p.q, null, grads.query);
        check('keys', (p = c) => p.k, null, grads.keys);
        for (const name of names) check(name, (p = c) => p.w[name], null, grads[name]);
        // Padded source steps: zero gradient, exactly.
        LENGTHS.forEach((Lb, b) => { for (let s = Lb; s < Ts; s++) assert.ok(grads.keys[b][s].every((g) => g === 0), `${kind} ∂L/∂keys[${b}][${s}] (padded) is exactly 0: ${grads.keys[b][s]}`); });
        console.log(`${backend} ${kind}: gradients of query, keys, ${names.join(', ')} vs central differences (ε 1e-5, float64): max rel. error ${worst.toExponential(2)}; padded keys' gradient exactly 0`);
        T.dispose([mask, R, q, k]);

      }
    });

    test('padded source steps get weight exactly 0, and their values change nothing', () => {
      for (const kind of KINDS) {
        const c = randomCase(5, kind);
        const weights = scoreTensors(c.w);
        const k2 = structuredClone(c.k);
        LENGTHS.forEach((Lb, b) => { for (let s = Lb; s < Ts; s++) k2[b][s] = k2[b][s].map((x) => 100 * x + 7); });
        const a = L.attend(T.tensor(c.q), T.tensor(c.k), { score: kind, weights, sourceLengths: LENGTHS });
        const b = L.attend(T.tensor(c.q), T.tensor(k2), { score: kind, weights, sourceLengths: LENGTHS });
        const wa = a.weights.arraySync();
        LENGTHS.forEach((Lb, r) => wa[r].forEach((row) => { for (let s = Lb; s < Ts; s++) assert.equal(row[s], 0, `${kind} weight at padded step`); }));
        assert.equal(maxAbs(wa, b.weights.arraySync()), 0, `${kind}: weights unchanged`);
        assert.equal(maxAbs(a.context.arraySync(), b.context.arraySync()), 0, `${kind}: contexts unchanged`);
        T.dispose([...Object.values(weights), a.weights, a.context, b.weights, b.context]);
      }
    });

    test('builder models: predict equals applySeq2seq on full batches; a padded row equals the row alone (token padId and feature models)', () => {
      for (const kind of KINDS) {
        // Token model with padId: the tf.layers graph (mask propagation) vs the hand-run pieces.
        const m = L.buildLSTM({ vocabSize: 7, hiddenSize: 6, outputSize: 7, topology: 'seq2seq', outputActivation: 'softmax', padId: 0, attention: kind, numLayers: 2, seed: 4 });
        const src = T.tensor2d([[3, 4, 5, 6], [2, 3, 0, 0], [6, 0, 0, 0]], [3, 4], 'int32');
        const tin = T.tensor2d([[1, 6, 5, 4], [1, 3, 2, 0], [1, 6, 0, 0]], [3, 4], 'int32');
        const full = T.tensor2d([[3, 4, 5, 6], [2, 3, 4, 5]], [2, 4], 'int32');
        const fullIn = T.tensor2d([[1, 6, 5, 4], [1, 5, 4, 3]], [2, 4], 'int32');
        const dFull = T.tidy(() => ref.maxDiff(m.predict([full, fullIn]).arraySync(), applySeq2seq(m, [full, fullIn], [null, null], false).arraySync()));
        const padded = T.tidy(() => m.predict([src, tin]).arraySync());
        const srcMask = T.tensor2d([[1, 1, 1, 1], [1, 1, 0, 0], [1, 0, 0, 0]], [3, 4], 'bool');
        const tgtMask = T.tensor2d([[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 0, 0]], [3, 4], 'bool');
        const byHand = T.tidy(() => applySeq2seq(m, [src, tin], [srcMask, tgtMask], false).arraySync());
        let dAlone = 0, dHand = 0;
        [[4, 4], [2, 3], [1, 2]].forEach(([Ls, Lt], b) => {
          const alone = T.tidy(() => m.predict([src.slice([b, 0], [1, Ls]), tin.slice([b, 0], [1, Lt])]).arraySync()[0]);
          dAlone = Math.max(dAlone, ref.maxDiff(padded[b].slice(0, Lt), alone));
          dHand = Math.max(dHand, ref.maxDiff(byHand[b].slice(0, Lt), alone));
        });
        // Feature model: masks by hand vs each row alone.
        const f = L.buildGRU({ inputSize: 2, hiddenSize: 5, outputSize: 3, topology: 'seq2seq', attention: kind, seed: 2 });
        const r = ref.seeded(9);
        const xs = T.tensor(ref.randArray(r, [2, 4, 2], 1)), ys = T.tensor(ref.randArray(r, [2, 3, 3], 1));
        const fm = T.tensor2d([[1, 1, 1, 1], [1, 1, 0, 0]], [2, 4], 'bool');
        const fOut = T.tidy(() => applySeq2seq(f, [xs, ys], [fm, null], false).arraySync());
        const fAlone = T.tidy(() => f.predict([xs.slice([1, 0, 0], [1, 2, 2]), ys.slice([1, 0, 0], [1, 3, 3])]).arraySync()[0]);
        const fFull = T.tidy(() => ref.maxDiff(f.predict([xs, ys]).arraySync(), applySeq2seq(f, [xs, ys], [null, null], false).arraySync()));
        const dF = ref.maxDiff(fOut[1], fAlone);
        console.log(`${backend} ${kind}: predict vs applySeq2seq (full) ${dFull.toExponential(2)}; padded row vs alone: predict ${dAlone.toExponential(2)}, applySeq2seq ${dHand.toExponential(2)}; features: full ${fFull.toExponential(2)}, masked row vs alone ${dF.toExponential(2)} (tolerance 1e-6)`);
        for (const d of [dFull, dAlone, dHand, fFull, dF]) assert.ok(d < 1e-6, `${kind}: ${d}`);
        T.dispose([src, tin, full, fullIn, srcMask, tgtMask, xs, ys, fm]);
      }
    });

    test('decoding: greedy weights sum to 1 over real source steps and equal teacher forcing; beam 1 = greedy with its weights', () => {
      for (const kind of KINDS) {
        const m = L.buildGRU({ vocabSize: 8, hiddenSize: 8, outputSize: 8, topology: 'seq2seq', outputActivation: 'softmax', attention: kind, seed: 6 });
        const src = T.tensor2d([[3, 4, 5, 6, 7], [4, 3, 7, 0, 0], [5, 0, 0, 0, 0]], [3, 5], 'int32');
        const sourceLengths = [5, 3, 1];
        const g = L.decodeSequences(m, src, { start: 1, end: 2, maxLength: 6, sourceLengths });
        g.tokens.dispose();
        let sumErr = 0, dTeacher = 0;
        g.attention.forEach((rows, b) => {
          assert.equal(rows.length, g.lengths[b], 'one weight row per decoded token');
          rows.forEach((row) => {
            assert.equal(row.length, 5);
            for (let s = sourceLengths[b]; s < 5; s++) assert.equal(row[s], 0, 'padded step weight 0');
            sumErr = Math.max(sumErr, Math.abs(row.reduce((a, x) => a + x, 0) - 1));
          });
          // Teacher forcing on ⟨start⟩ + the decoded tokens but the last: the same weights.
          const tin = T.tensor2d([[1, ...g.sequences[b].slice(0, -1)]], [1, g.lengths[b]], 'int32');
          const s1 = src.slice([b, 0], [1, sourceLengths[b]]);
          const w = L.attentionWeights(m, [s1, tin]);
          dTeacher = Math.max(dTeacher, ref.maxDiff(w.arraySync()[0], rows.map((r) => r.slice(0, sourceLengths[b]))));
          T.dispose([tin, s1, w]);
        });
        const beam = L.decode(m, src, { beam: 1, start: 1, end: 2, maxLength: 6, sourceLengths });
        assert.deepEqual(beam.sequences.map((r) => r[0]), g.sequences, `${kind}: beam 1 = greedy`);
        const dBeam = ref.maxDiff(beam.attention.map((r) => r[0]), g.attention);
        const wide = L.beamSearch(m, src, { beam: 3, start: 1, end: 2, maxLength: 6, sourceLengths });
        wide.attention.forEach((hyps, b) => hyps.forEach((rows, h) => {
          assert.equal(rows.length, wide.lengths[b][h]);
          rows.forEach((row) => { for (let s = sourceLengths[b]; s < 5; s++) assert.equal(row[s], 0); sumErr = Math.max(sumErr, Math.abs(row.reduce((a, x) => a + x, 0) - 1)); });
        }));
        // The hypothesis' weights are those of teacher forcing on its own tokens.
        const h0 = wide.sequences[0][1] ?? wide.sequences[0][0];
        const a0 = wide.attention[0][wide.sequences[0][1] ? 1 : 0];
        const tw = T.tidy(() => L.attentionWeights(m, [src.slice([0, 0], [1, 5]), T.tensor2d([[1, ...h0.slice(0, -1)]], [1, h0.length], 'int32')]).arraySync()[0]);
        const dHyp = ref.maxDiff(tw, a0);
        console.log(`${backend} ${kind}: greedy weights: max |Σ_s a − 1| ${sumErr.toExponential(2)}, vs teacher forcing ${dTeacher.toExponential(2)}; beam 1 vs greedy weights ${dBeam.toExponential(2)}; beam 3 hypothesis vs teacher forcing ${dHyp.toExponential(2)} (tolerance 1e-5)`);
        for (const d of [sumErr, dTeacher, dBeam, dHyp]) assert.ok(d < 1e-5, `${kind}: ${d}`);
        // Greedy decode (tensor result) agrees with decodeSequences' tokens where both run.
        const ids = L.decode(m, src, { start: 1, maxLength: 3, sourceLengths });
        assert.deepEqual(ids.arraySync().map((r, b) => r.slice(0, Math.min(3, g.lengths[b]))), g.sequences.map((s) => s.slice(0, 3)));
        ids.dispose(); src.dispose();
      }
      // Models without attention: no attention field.
      const plain = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'seq2seq', outputActivation: 'softmax' });
      const src = T.tensor2d([[3, 4]], [1, 2], 'int32');
      const d = L.decodeSequences(plain, src, { start: 1, end: 2, maxLength: 3 });
      d.tokens.dispose();
      assert.equal('attention' in d, false);
      assert.equal('attention' in L.decode(plain, src, { beam: 2, start: 1, end: 2, maxLength: 3 }), false);
      src.dispose();
    });

    test('train reduces the loss; save/load gives equal outputs; countParams counts the attention weights', async () => {
      for (const kind of KINDS) {
        const spec = { vocabSize: 13, hiddenSize: 16, outputSize: 13, topology: 'seq2seq', outputActivation: 'softmax', padId: 0, attention: kind, seed: 3 };
        const m = L.buildGRU(spec);
        assert.equal(m.countParams(), L.countParams('gru', spec), `${kind}: countParams`);
        const data = L.reverseDigitsRagged(64, 2, 6, 1);
        const r = await L.train(m, { x: [data.source, data.targetIn], y: data.target }, { epochs: 4, batchSize: 16, verbose: false });
        const losses = r.epochs.map((e) => e.loss);
        assert.ok(losses[losses.length - 1] < 0.9 * losses[0], `${kind}: loss falls: ${losses.map((x) => x.toFixed(3)).join(', ')}`);
        let art;
        await m.save(T.io.withSaveHandler(async (a) => { art = a; return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } }; }));
        const back = await T.loadLayersModel(T.io.fromMemory(art));
        assert.equal(L.specOf(back).attention, kind);
        const x = [data.source.slice([0, 0], [5, -1]), data.targetIn.slice([0, 0], [5, -1])];
        const d = T.tidy(() => ref.maxDiff(m.predict(x).arraySync(), back.predict(x).arraySync()));
        const g1 = L.decodeSequences(m, x[0], { start: 1, end: 2, maxLength: 8 }), g2 = L.decodeSequences(back, x[0], { start: 1, end: 2, maxLength: 8 });
        assert.deepEqual(g1.sequences, g2.sequences);
        assert.equal(ref.maxDiff(g1.attention, g2.attention), 0);
        console.log(`${backend} ${kind}: losses per epoch ${losses.map((x) => x.toFixed(3)).join(' → ')}; saved and loaded: max |Δ predict| ${d}`);
        assert.equal(d, 0);
        T.dispose([...x, data.source, data.targetIn, data.target, g1.tokens, g2.tokens]);
      }
    });

    test('attention with dropout: the dropout layer sits after the attention layer; predict and decoding never drop; training draws seeded masks', async () => {
      const spec = { vocabSize: 13, hiddenSize: 16, outputSize: 13, topology: 'seq2seq', outputActivation: 'softmax', padId: 0, attention: 'general', seed: 5 };
      const plain = L.buildLSTM(spec);
      const dropped = L.buildLSTM({ ...spec, dropout: 0.3, recurrentDropout: 0.2 });
      const names = dropped.layers.map((l) => l.name);
      assert.ok(names.indexOf('attention') < names.indexOf('dropout') && names.indexOf('dropout') < names.indexOf('head'), names.join(', '));
      dropped.setWeights(plain.getWeights());
      const data = L.reverseDigitsRagged(48, 2, 6, 4);
      const x = [data.source, data.targetIn];
      // Inference: the same weights with and without dropout give the same outputs, weights and decodes.
      const dPredict = T.tidy(() => ref.maxDiff(plain.predict(x).arraySync(), dropped.predict(x).arraySync()));
      const dWeights = T.tidy(() => ref.maxDiff(L.attentionWeights(plain, x).arraySync(), L.attentionWeights(dropped, x).arraySync()));
      const b1 = L.beamSearch(plain, data.source, { beam: 3, start: 1, end: 2, maxLength: 8 }), b2 = L.beamSearch(dropped, data.source, { beam: 3, start: 1, end: 2, maxLength: 8 });
      assert.equal(dPredict, 0);
      assert.equal(dWeights, 0);
      assert.deepEqual(b2.sequences, b1.sequences);
      // Training: two runs from the same weights and seed give the same losses; without dropout they differ.
      const w0 = dropped.getWeights().map((w) => w.clone());
      const run = async (m) => (await L.train(m, { x, y: data.target }, { epochs: 2, batchSize: 16, verbose: false, shuffle: false })).epochs.map((e) => e.loss);
      const a = await run(dropped);
      dropped.setWeights(w0); L.resetDropout(dropped);
      const b = await run(dropped);
      plain.setWeights(w0);
      const c = await run(plain);
      console.log(`${backend} attention + dropout: losses ${a.map((v) => v.toFixed(4))} | replayed ${b.map((v) => v.toFixed(4))} | no dropout ${c.map((v) => v.toFixed(4))}`);
      assert.deepEqual(b, a);
      assert.ok(Math.abs(a[0] - c[0]) > 1e-4, 'dropout changes the training loss');
      T.dispose([...w0, ...x, data.target]);
    });

    test('bad options are rejected, naming the argument', () => {
      throwsMsg(() => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, attention: 'dot' }), /spec\.attention is for seq2seq models.*'many-to-one'/, 'not seq2seq');
      throwsMsg(() => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, topology: 'many-to-many', attention: 'dot' }), /spec\.attention.*'many-to-many'/, 'many-to-many');
      throwsMsg(() => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, topology: 'seq2seq', attention: 'luong' }), /spec\.attention must be one of 'additive', 'dot', 'general'; got "luong"/, 'bad score');
      throwsMsg(() => L.countParams('gru', { inputSize: 2, hiddenSize: 3, outputSize: 1, attention: 'dot' }), /countParams: spec\.attention/, 'countParams');
      const q = T.zeros([2, 3, 4]), k = T.zeros([2, 5, 4]);
      throwsMsg(() => L.attend(q, k, { score: 'concat' }), /options\.score must be one of/, 'attend score');
      throwsMsg(() => L.attend(q, k, { score: 'general' }), /options\.weights\.Wa must be a tensor \[n, n\]/, 'missing Wa');
      throwsMsg(() => L.attend(q, k, { score: 'dot', weights: { Wa: T.zeros([4, 4]) } }), /options\.weights\.Wa is not a weight of the 'dot' score/, 'extra weight');
      throwsMsg(() => L.attend(q, T.zeros([3, 5, 4]), { score: 'dot' }), /keys must be a tensor \[batch, Ts, n\] = \[2, ·, 4\]; got shape \[3, 5, 4\]/, 'batch mismatch');
      throwsMsg(() => L.attend(q, k, { score: 'dot', sourceLengths: [6, 1] }), /sourceLengths/, 'lengths > Ts');
      throwsMsg(() => L.attend(q, k, { score: 'dot', lengths: [1, 1] }), /lengths/, 'unknown option');
      const plain = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'seq2seq' });
      const att = L.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 6, topology: 'seq2seq', attention: 'dot' });
      const s = T.tensor2d([[3, 4]], [1, 2], 'int32');
      throwsMsg(() => L.attentionWeights(plain, [s, s]), /attentionWeights: the model must be a seq2seq model built with spec\.attention.*without attention/, 'no attention');
      throwsMsg(() => L.attentionWeights(att, [s, s], { lengths: [2] }), /lengths/, 'unknown option');
      throwsMsg(() => L.torchWeights(att), /torchWeights: this model has attention/, 'torchWeights');
      throwsMsg(() => L.attentionFigure([[0.5, 0.5]], ['a', 'b', 'c'], ['x']), /3 sourceTokens but weights has 2 columns/, 'figure labels');
      throwsMsg(() => L.attentionFigure([[0.5, 0.5]], ['a'], ['x']), /1 sourceTokens leave out source steps that carry weight \(row 0: 0\.500\)/, 'figure cuts real weight');
      assert.equal(L.attentionFigure([[1, 0, 0], [0.25, 0.75, 0]], ['a', 'b'], ['x', 'y']).data[0].z[1].length, 2, 'padded (zero) columns may be left out');
      throwsMsg(() => L.attentionFigure([[0.5, 0.5]], ['a'], ['x'], { colour: 'red' }), /colour/, 'figure option');
      T.dispose([q, k, s]);
    });

    test('attentionFigure is a plotly heatmap with the tokens on its axes', () => {
      const fig = L.attentionFigure([[0.1, 0.9], [0.8, 0.2]], ['1', '1'], ['1', '⟨end⟩'], { title: 'A' });
      assert.equal(fig.data[0].type, 'heatmap');
      assert.deepEqual(fig.data[0].z, [[0.1, 0.9], [0.8, 0.2]]);
      assert.deepEqual(fig.layout.xaxis.ticktext, ['1', '1']);
      assert.deepEqual(fig.layout.yaxis.ticktext, ['1', '⟨end⟩']);
      assert.ok(fig.data[0].colorbar, 'a colour bar');
      assert.equal(fig.layout.title.text, 'A');
      assert.match(L.figureSummary(fig), /A/);
    });

    test('numTensors flat over repeated calls and train epochs', async () => {
      const m = L.buildGRU({ vocabSize: 8, hiddenSize: 6, outputSize: 8, topology: 'seq2seq', outputActivation: 'softmax', padId: 0, attention: 'additive', seed: 2 });
      const data = L.reverseDigitsRagged(32, 2, 5, 3);
      data.source = T.minimum(data.source, 7); data.targetIn = T.minimum(data.targetIn, 7); data.target = T.minimum(data.target, 7);
      const round = () => {
        T.tidy(() => { m.predict([data.source, data.targetIn]); });
        L.attentionWeights(m, [data.source, data.targetIn]).dispose();
        L.decodeSequences(m, data.source, { start: 1, end: 2, maxLength: 6 }).tokens.dispose();
        L.decode(m, data.source, { beam: 2, start: 1, end: 2, maxLength: 4 });
        L.decode(m, data.source, { start: 1, maxLength: 4 }).dispose();
      };
      round();
      const before = T.memory().numTensors;
      for (let i = 0; i < 3; i++) round();
      const mid = T.memory().numTensors;
      const counts = [];
      await L.train(m, { x: [data.source, data.targetIn], y: data.target }, { epochs: 3, batchSize: 8, verbose: false, onEpoch: () => counts.push(T.memory().numTensors) });
      console.log(`${backend} numTensors before ${before}, after 3 more rounds ${mid}; after each train epoch ${counts.join(', ')}`);
      assert.equal(mid, before);
      assert.ok(counts.every((c) => c === counts[0]), `flat over epochs: ${counts}`);
    });
  });
}

// Unravel a flat index into a nested array's indices (for the finite differences).
function unravel(i, shape) { const idx = []; for (let d = shape.length - 1; d >= 0; d--) { idx.unshift(i % shape[d]); i = Math.floor(i / shape[d]); } return idx; }
function getAt(a, idx) { return idx.reduce((x, j) => x[j], a); }
function setAt(a, idx, v) { const last = idx[idx.length - 1]; getAt(a, idx.slice(0, -1))[last] = v; }
