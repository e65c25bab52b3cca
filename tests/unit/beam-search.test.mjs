// Beam search (issue 19, item 2): decode(model, source, { beam, lengthPenalty, … }) for seq2seq models
// and beamSearch(lm, prime, { … }) for language models.
//
// Oracles, none of them the code under test:
//  - log-probabilities by teacher forcing: model.predict([source, [start, y_0 … y_{L−2}]]) (seq2seq) or
//    model.predict([prime ++ y_0 … y_{L−2}]) (language model) — the whole tf.layers graph, not the
//    step loop — summed in float64 in the test (log of a softmax head, log-softmax of a linear head);
//  - exhaustive search: every sequence of a tiny vocabulary (3 tokens + end) up to maxLength, scored
//    by teacher forcing and sorted;
//  - greedy decoding: decodeSequences (seq2seq), and for language models a greedy loop in the test
//    over teacher-forced predictions;
//  - each row alone (a batch of 1, its source or prime unpadded).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();

/** assert.throws against the message itself. */
const throwsMsg = (fn, re, what, type) => assert.throws(fn, (e) => { if (type) assert.ok(e instanceof type, `${what}: ${e.name}`); assert.match(e.message, re, what); return true; }, what);
const argmax = (row) => row.reduce((best, x, i) => (x > row[best] ? i : best), 0);
/** log-probabilities of one output row, in float64: log p (softmax head) or log-softmax (linear head). */
function logRow(row, softmaxHead) {
  if (softmaxHead) return row.map(Math.log);
  const m = Math.max(...row);
  const lse = m + Math.log(row.reduce((s, x) => s + Math.exp(x - m), 0));
  return row.map((x) => x - lse);
}
const penalty = (len, a) => ((5 + len) / 6) ** a;

/** Per-step log-probability rows of each sequence given its context, by teacher forcing, batched by length. */
function teacherLogRows(model, ctx, seqs) {
  const spec = L.specOf(model);
  const soft = spec.outputActivation === 'softmax';
  const out = new Array(seqs.length);
  const byLen = new Map();
  seqs.forEach((s, i) => { if (!byLen.has(s.length)) byLen.set(s.length, []); byLen.get(s.length).push(i); });
  for (const [len, idx] of byLen) {
    const rows = T.tidy(() => {
      if (spec.topology === 'seq2seq') {
        const src = T.tensor2d(idx.map(() => ctx.source), [idx.length, ctx.source.length], 'int32');
        const tin = T.tensor2d(idx.map((i) => [ctx.start, ...seqs[i].slice(0, -1)]), [idx.length, len], 'int32');
        return model.predict([src, tin]).arraySync();
      }
      const x = T.tensor2d(idx.map((i) => [...ctx.prime, ...seqs[i].slice(0, -1)]), [idx.length, ctx.prime.length + len - 1], 'int32');
      return model.predict(x).arraySync().map((r) => r.slice(ctx.prime.length - 1));
    });
    idx.forEach((i, j) => { out[i] = rows[j].map((r) => logRow(r, soft)); });
  }
  return out;
}
/** log P(seq | ctx): the sum of the chosen tokens' log-probabilities, the end token's included. */
const teacherLogProbs = (model, ctx, seqs) => teacherLogRows(model, ctx, seqs).map((rows, i) => seqs[i].reduce((s, v, t) => s + rows[t][v], 0));

/** Every output sequence: up to maxLength − 1 non-end tokens then end, or maxLength non-end tokens. */
function allSequences(V, end, maxLength) {
  const tokens = Array.from({ length: V }, (_, v) => v).filter((v) => v !== end);
  const all = [];
  let prefixes = [[]];
  for (let len = 0; len < maxLength; len++) {
    for (const p of prefixes) all.push([...p, end]);
    prefixes = prefixes.flatMap((p) => tokens.map((v) => [...p, v]));
  }
  return [...all, ...prefixes];
}

/** Greedy language-model continuation by teacher forcing: argmax of predict on the growing text. */
function greedyLm(model, prime, end, maxLength) {
  const seq = [];
  for (let t = 0; t < maxLength; t++) {
    const row = T.tidy(() => { const x = [...prime, ...seq]; return model.predict(T.tensor2d([x], [1, x.length], 'int32')).arraySync()[0][x.length - 1]; });
    seq.push(argmax(row));
    if (seq[seq.length - 1] === end) break;
  }
  return seq;
}

/**
 * Beam search re-done here for one row, from teacher-forced log-probabilities (no decoder step loop,
 * no state gathering), with the documented rules — an end extension is finished when it ranks among
 * the k best extensions, the k best other extensions stay live — and without early stopping: it always
 * runs to maxLength, so the library's stopping rule (stop once no live hypothesis can beat the k-th
 * finished one) must not change the answer.
 */
function referenceBeam(model, ctx, { k, end, maxLength, alpha = 0 }) {
  let live = [{ tokens: [], lp: 0 }];
  const pool = [];
  for (let t = 0; t < maxLength && live.length; t++) {
    const len = t + 1;
    const rows = teacherLogRows(model, ctx, live.map((h) => [...h.tokens, 0]));
    const cands = [];
    live.forEach((h, i) => rows[i][t].forEach((l, v) => cands.push({ tokens: [...h.tokens, v], lp: h.lp + l })));
    cands.sort((a, b) => b.lp - a.lp);
    const next = [];
    let kept = 0;
    for (let r = 0; r < cands.length && kept < k; r++) {
      const c = cands[r];
      const score = c.lp / penalty(len, alpha);
      if (c.tokens[t] === end) { if (r < k) pool.push({ ...c, score, ended: true }); continue; }
      kept++;
      if (len === maxLength) pool.push({ ...c, score, ended: false });
      else next.push(c);
    }
    live = next;
  }
  return pool.sort((a, b) => b.score - a.score).slice(0, k);
}

/** The invariants every result has: shapes, lengths, ended, end only at the end, sorted scores, the score formula. */
function checkInvariants(res, { batch, k, end, maxLength, alpha = 0 }, what) {
  for (const key of ['sequences', 'logProbs', 'scores', 'lengths', 'ended']) assert.equal(res[key].length, batch, `${what}: ${key} has a row per source`);
  res.sequences.forEach((hyps, b) => {
    assert.ok(hyps.length >= 1 && hyps.length <= k, `${what}: row ${b} has 1..k hypotheses`);
    hyps.forEach((s, j) => {
      const w = `${what}: row ${b} hypothesis ${j} ${JSON.stringify(s)}`;
      assert.equal(res.lengths[b][j], s.length, `${w}: length`);
      assert.ok(s.length >= 1 && s.length <= maxLength, `${w}: 1 ≤ length ≤ maxLength`);
      const endAt = s.indexOf(end);
      if (res.ended[b][j]) assert.equal(endAt, s.length - 1, `${w}: ended: end token last, and only there`);
      else { assert.equal(endAt, -1, `${w}: not ended: no end token`); assert.equal(s.length, maxLength, `${w}: not ended: maxLength tokens`); }
      assert.ok(Math.abs(res.scores[b][j] - res.logProbs[b][j] / penalty(s.length, alpha)) <= 1e-9 * Math.max(1, Math.abs(res.scores[b][j])), `${w}: score = logProb / lp(len)`);
      if (j > 0) assert.ok(res.scores[b][j] <= res.scores[b][j - 1], `${w}: sorted by score`);
    });
  });
}
const seq2seqCtx = (src, start) => ({ source: src, start });

const S2S = (build, over = {}) => build({ vocabSize: 7, embeddingSize: 4, hiddenSize: 12, outputSize: 7, topology: 'seq2seq', outputActivation: 'softmax', numLayers: 2, seed: 11, ...over });
const LM = (build, over = {}) => build({ vocabSize: 6, embeddingSize: 4, hiddenSize: 10, outputSize: 6, topology: 'many-to-many', numLayers: 2, seed: 13, ...over });
// Four sources of 5, 3, 2 and 4 tokens, padded at the end with token 0.
const ROWS = [[3, 4, 5, 6, 1], [1, 6, 2], [5, 5], [2, 6, 4, 3]];
const padded = (rows, width) => T.tensor2d(rows.map((r) => [...r, ...Array(width - r.length).fill(0)]), [rows.length, width], 'int32');
const alone = (r) => T.tensor2d([r], [1, r.length], 'int32');

for (const backend of ['wasm', 'cpu']) {
  describe(`beam search on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    for (const [name, build, head] of [['GRU', L.buildGRU, 'softmax'], ['LSTM', L.buildLSTM, 'linear']]) {
      test(`${name} seq2seq (${head} head): beam 1 is greedy decoding exactly, with the teacher-forced log-probability`, () => {
        const model = S2S(build, { outputActivation: head });
        const src = padded(ROWS, 5);
        const lengths = ROWS.map((r) => r.length);
        const maxLength = 6;
        // An end token that ends some row's greedy output early: the first greedy token of row 0.
        const end = L.decodeSequences(model, alone(ROWS[0]), { start: 0, end: 0, maxLength: 1 }).sequences[0][0];
        const greedy = L.decodeSequences(model, src, { start: 0, end, maxLength, sourceLengths: lengths });
        const res = L.decode(model, src, { beam: 1, start: 0, end, maxLength, sourceLengths: lengths });
        checkInvariants(res, { batch: ROWS.length, k: 1, end, maxLength }, `${name} beam 1`);
        assert.deepEqual(res.sequences.map((h) => h[0]), greedy.sequences, 'beam 1 = decodeSequences (greedy)');
        assert.ok(greedy.lengths.some((n) => n < maxLength), 'setup: some row ends before maxLength');
        let d = 0;
        ROWS.forEach((r, b) => {
          const [want] = teacherLogProbs(model, seq2seqCtx(r, 0), [res.sequences[b][0]]);
          d = Math.max(d, Math.abs(want - res.logProbs[b][0]));
        });
        console.log(`${backend} ${name} seq2seq beam 1 vs greedy: sequences equal; max |logProb − teacher-forced| = ${d.toExponential(2)}`);
        assert.ok(d < 1e-4, `logProb vs teacher forcing: ${d}`);
        // The greedy tensor of decode agrees too (end given: rows run on after their end there).
        const ids = L.decode(model, src, { start: 0, end, maxLength, sourceLengths: lengths });
        ids.arraySync().forEach((row, b) => assert.deepEqual(row.slice(0, greedy.lengths[b]), greedy.sequences[b]));
        T.dispose([ids, greedy.tokens, src]);
        model.dispose();
      });
    }

    test('language model: beam 1 is greedy continuation of each prime, with the teacher-forced log-probability', () => {
      const model = LM(L.buildLSTM, { outputActivation: 'softmax' });
      const primes = [[1, 2, 3], [4], [2, 2]];
      const maxLength = 5;
      const end = greedyLm(model, primes[1], -1, 1)[0];
      const res = L.beamSearch(model, padded(primes, 3), { beam: 1, end, maxLength, lengths: primes.map((p) => p.length) });
      checkInvariants(res, { batch: 3, k: 1, end, maxLength }, 'LM beam 1');
      let d = 0;
      primes.forEach((p, b) => {
        assert.deepEqual(res.sequences[b][0], greedyLm(model, p, end, maxLength), `row ${b}: greedy`);
        const [want] = teacherLogProbs(model, { prime: p }, [res.sequences[b][0]]);
        d = Math.max(d, Math.abs(want - res.logProbs[b][0]));
      });
      console.log(`${backend} LM beam 1 vs greedy: sequences equal; max |logProb − teacher-forced| = ${d.toExponential(2)}`);
      assert.ok(d < 1e-4);
      model.dispose();
    });

    for (const maxLength of [3, 4]) {
      for (const alpha of [0, 0.6]) {
        test(`exhaustive search, V = 3 + end, maxLength ${maxLength}, lengthPenalty ${alpha}: seq2seq and language model`, () => {
          const end = 3;
          const all = allSequences(4, end, maxLength);
          const k = 128;   // ≥ every candidate at every step (27 live × 4 < 128), so nothing is pruned
          const cases = [
            { what: 'seq2seq GRU', model: L.buildGRU({ vocabSize: 4, embeddingSize: 3, hiddenSize: 8, outputSize: 4, topology: 'seq2seq', outputActivation: 'softmax', seed: 21 }), ctx: seq2seqCtx([1, 2, 0], 0) },
            { what: 'LM LSTM (logits)', model: L.buildLSTM({ vocabSize: 4, embeddingSize: 3, hiddenSize: 8, outputSize: 4, topology: 'many-to-many', numLayers: 2, seed: 22 }), ctx: { prime: [2, 0] } },
          ];
          for (const { what, model, ctx } of cases) {
            const lp = teacherLogProbs(model, ctx, all);
            const ranked = all.map((s, i) => ({ s, lp: lp[i], score: lp[i] / penalty(s.length, alpha) })).sort((a, b) => b.score - a.score);
            const x = ctx.source ? alone(ctx.source) : alone(ctx.prime);
            const opts = { end, maxLength, lengthPenalty: alpha, ...(ctx.source ? { start: ctx.start } : {}) };
            const res = ctx.source ? L.decode(model, x, { beam: k, ...opts }) : L.beamSearch(model, x, { beam: k, ...opts });
            checkInvariants(res, { batch: 1, k, end, maxLength, alpha }, what);
            assert.equal(res.sequences[0].length, all.length, `${what}: every one of the ${all.length} sequences`);
            assert.deepEqual(res.sequences[0][0], ranked[0].s, `${what}: best = exhaustive best`);
            let d = 0;
            const byKey = new Map(ranked.map((r) => [r.s.join(','), r]));
            res.sequences[0].forEach((s, j) => {
              const r = byKey.get(s.join(','));
              assert.ok(r, `${what}: ${s} is a sequence`);
              d = Math.max(d, Math.abs(r.lp - res.logProbs[0][j]), Math.abs(r.score - res.scores[0][j]));
              // The ranking matches the exhaustive one wherever scores are apart by more than float noise.
              assert.ok(Math.abs(ranked[j].score - res.scores[0][j]) < 1e-4, `${what}: rank ${j} score ${res.scores[0][j]} vs exhaustive ${ranked[j].score}`);
            });
            // A narrower beam still finds the best here, and its top hypotheses are the exhaustive top ones.
            const narrow = ctx.source ? L.decode(model, x, { beam: 4, ...opts }) : L.beamSearch(model, x, { beam: 4, ...opts });
            checkInvariants(narrow, { batch: 1, k: 4, end, maxLength, alpha }, `${what} beam 4`);
            const narrowBestOk = narrow.sequences[0][0].join(',') === ranked[0].s.join(',');
            console.log(`${backend} ${what} exhaustive (${all.length} sequences, maxLength ${maxLength}, α ${alpha}): beam ${k} = exhaustive ranking; max |logProb/score diff| = ${d.toExponential(2)}; beam 4 best = exhaustive best: ${narrowBestOk}`);
            assert.ok(d < 1e-4);
            x.dispose();
            model.dispose();
          }
        });
      }
    }

    test('the early stop changes nothing: beam 3–4 equals the reference beam run to maxLength (lengthPenalty 0, 0.6, −0.5)', () => {
      const s2s = S2S(L.buildLSTM, { seed: 31 });
      const lm = LM(L.buildGRU, { outputActivation: 'softmax', seed: 32 });
      let d = 0, n = 0;
      const steps = [];
      // An end token the models like (the first step's most likely token), so that rows can stop early;
      // the decoder steps are counted by wrapping the head's apply.
      const likely = (model, ctx) => argmax(teacherLogRows(model, ctx, [[0]])[0][0]);
      const s2sCtx = seq2seqCtx([3, 4, 1], 0), lmCtx = { prime: [1, 3] };
      for (const alpha of [0, 0.6, -0.5]) {
        for (const [what, model, ctx, opts] of [
          ['seq2seq', s2s, s2sCtx, { beam: 3, start: 0, end: 2, maxLength: 7 }],
          ['seq2seq likely end', s2s, s2sCtx, { beam: 3, start: 0, end: likely(s2s, s2sCtx), maxLength: 7 }],
          ['LM', lm, lmCtx, { beam: 4, end: 5, maxLength: 7 }],
          ['LM likely end', lm, lmCtx, { beam: 2, end: likely(lm, lmCtx), maxLength: 7 }],
        ]) {
          const x = alone(ctx.source ?? ctx.prime);
          const head = model.getLayer('head');
          const apply = head.apply;
          let calls = 0;
          head.apply = function (...args) { calls++; return apply.apply(this, args); };
          let res;
          try { res = L.beamSearch(model, x, { ...opts, lengthPenalty: alpha }); } finally { head.apply = apply; }
          steps.push(`${what} α ${alpha}: ${calls}`);
          const want = referenceBeam(model, ctx, { k: opts.beam, end: opts.end, maxLength: opts.maxLength, alpha });
          checkInvariants(res, { batch: 1, k: opts.beam, end: opts.end, maxLength: opts.maxLength, alpha }, `${what} α ${alpha}`);
          assert.deepEqual(res.sequences[0], want.map((h) => h.tokens), `${what} α ${alpha}: sequences`);
          assert.deepEqual(res.ended[0], want.map((h) => h.ended), `${what} α ${alpha}: ended`);
          want.forEach((h, j) => { d = Math.max(d, Math.abs(h.lp - res.logProbs[0][j]), Math.abs(h.score - res.scores[0][j])); });
          n += res.ended[0].filter(Boolean).length;
          x.dispose();
        }
      }
      console.log(`${backend} early stop vs reference beam to maxLength: sequences equal (${n} ended hypotheses); max |logProb/score diff| = ${d.toExponential(2)}; decoder steps (of 7): ${steps.join(', ')}`);
      assert.ok(n > 0, 'setup: some hypotheses end');
      assert.ok(steps.some((s) => Number(s.split(': ')[1]) < 7), 'setup: some search stops before maxLength');
      assert.ok(d < 1e-4);
      s2s.dispose();
      lm.dispose();
    });

    for (const [name, build] of [['GRU', L.buildGRU], ['LSTM', L.buildLSTM]]) {
      test(`${name}: batched, padded sources with sourceLengths / sourceMask = each source alone (beam 3, lengthPenalty 0.6)`, () => {
        const model = S2S(build);
        const src = padded(ROWS, 5);
        const lengths = ROWS.map((r) => r.length);
        const opts = { beam: 3, start: 0, end: 2, maxLength: 6, lengthPenalty: 0.6 };
        const res = L.decode(model, src, { ...opts, sourceLengths: lengths });
        checkInvariants(res, { batch: ROWS.length, k: 3, end: 2, maxLength: 6, alpha: 0.6 }, name);
        const mask = T.tensor2d(lengths.map((n) => Array.from({ length: 5 }, (_, t) => (t < n ? 1 : 0))));
        const viaMask = L.beamSearch(model, src, { ...opts, sourceMask: mask });
        assert.deepEqual(viaMask.sequences, res.sequences, 'sourceMask = sourceLengths; beamSearch = decode with beam');
        let d = 0, dt = 0;
        ROWS.forEach((r, b) => {
          const x = alone(r);
          const one = L.decode(model, x, opts);
          assert.deepEqual(one.sequences[0], res.sequences[b], `row ${b}: batch vs alone`);
          one.logProbs[0].forEach((v, j) => { d = Math.max(d, Math.abs(v - res.logProbs[b][j])); });
          teacherLogProbs(model, seq2seqCtx(r, 0), res.sequences[b]).forEach((v, j) => { dt = Math.max(dt, Math.abs(v - res.logProbs[b][j])); });
          x.dispose();
        });
        console.log(`${backend} ${name} seq2seq batched vs alone: sequences equal; max |logProb diff| = ${d.toExponential(2)}; vs teacher forcing ${dt.toExponential(2)}`);
        assert.ok(d < 1e-5 && dt < 1e-4);
        // Without sourceLengths the padding is read as tokens: some row changes (so the test above can fail).
        const plain = L.decode(model, src, opts);
        assert.notDeepEqual(plain.logProbs, res.logProbs, 'padding read as tokens changes the result');
        T.dispose([src, mask]);
        model.dispose();
      });
    }

    test('language model: batched, padded primes with lengths / mask / padId = each prime alone (beam 4)', () => {
      const primes = [[1, 2, 3, 4], [5], [2, 2], [3, 1, 1]];
      const opts = { beam: 4, end: 0, maxLength: 5 };
      for (const [name, model] of [['GRU softmax', LM(L.buildGRU, { outputActivation: 'softmax' })], ['RNN logits', LM(L.buildRNN)]]) {
        const x = padded(primes, 4);
        const lengths = primes.map((p) => p.length);
        const res = L.beamSearch(model, x, { ...opts, lengths });
        checkInvariants(res, { batch: 4, k: 4, end: 0, maxLength: 5 }, name);
        const mask = T.tensor2d(lengths.map((n) => Array.from({ length: 4 }, (_, t) => (t < n ? 1 : 0))));
        assert.deepEqual(L.beamSearch(model, x, { ...opts, mask }).sequences, res.sequences, `${name}: mask = lengths`);
        let d = 0, dt = 0;
        primes.forEach((p, b) => {
          const x1 = alone(p);
          const one = L.beamSearch(model, x1, opts);
          assert.deepEqual(one.sequences[0], res.sequences[b], `${name} row ${b}: batch vs alone`);
          one.logProbs[0].forEach((v, j) => { d = Math.max(d, Math.abs(v - res.logProbs[b][j])); });
          teacherLogProbs(model, { prime: p }, res.sequences[b]).forEach((v, j) => { dt = Math.max(dt, Math.abs(v - res.logProbs[b][j])); });
          x1.dispose();
        });
        console.log(`${backend} LM ${name} batched vs alone: sequences equal; max |logProb diff| = ${d.toExponential(2)}; vs teacher forcing ${dt.toExponential(2)}`);
        assert.ok(d < 1e-5 && dt < 1e-4);
        T.dispose([x, mask]);
        model.dispose();
      }
      // A model built with padId finds the primes' lengths in the ids.
      const padModel = LM(L.buildLSTM, { padId: 0, seed: 17 });
      const x = padded(primes, 4);
      const viaPad = L.beamSearch(padModel, x, { ...opts, end: 5 });
      primes.forEach((p, b) => {
        const x1 = alone(p);
        assert.deepEqual(L.beamSearch(padModel, x1, { ...opts, end: 5 }).sequences[0], viaPad.sequences[b], `padId model row ${b}`);
        x1.dispose();
      });
      x.dispose();
      padModel.dispose();
    });

    test('without end every hypothesis has maxLength tokens; a row with fewer possible hypotheses than k returns them all', () => {
      const model = L.buildGRU({ vocabSize: 3, embeddingSize: 2, hiddenSize: 5, outputSize: 3, topology: 'seq2seq', outputActivation: 'softmax', seed: 3 });
      const x = alone([1, 2]);
      const res = L.decode(model, x, { beam: 50, start: 0, maxLength: 3 });
      assert.equal(res.sequences[0].length, 27, '3^3 sequences');
      assert.ok(res.lengths[0].every((n) => n === 3) && res.ended[0].every((e) => !e));
      const lp = teacherLogProbs(model, seq2seqCtx([1, 2], 0), res.sequences[0]);
      const total = lp.reduce((s, v) => s + Math.exp(v), 0);
      console.log(`${backend} all 27 sequences of length 3: Σ P = ${total.toFixed(6)}`);
      assert.ok(Math.abs(total - 1) < 1e-4, 'the probabilities of all sequences of length 3 sum to 1');
      x.dispose();
      model.dispose();
    });

    test('numTensors flat over repeated calls (seq2seq with sourceLengths, language model, refused calls)', () => {
      const s2s = S2S(L.buildLSTM);
      const lm = LM(L.buildGRU);
      const src = padded(ROWS, 5);
      const prime = padded([[1, 2], [3]], 2);
      const lengths = ROWS.map((r) => r.length);
      const run = () => {
        L.decode(s2s, src, { beam: 3, start: 0, end: 2, maxLength: 5, sourceLengths: lengths, lengthPenalty: 1 });
        L.beamSearch(lm, prime, { beam: 2, end: 0, maxLength: 4, lengths: [2, 1] });
        assert.throws(() => L.decode(s2s, src, { beam: 0, start: 0, maxLength: 5 }));
        assert.throws(() => L.beamSearch(lm, prime, { beam: 2, maxLength: 4, start: 1 }));
      };
      run();
      const before = T.memory().numTensors;
      for (let i = 0; i < 3; i++) run();
      const after = T.memory().numTensors;
      console.log(`${backend} numTensors before ${before}, after 3 more rounds ${after}`);
      assert.equal(after, before);
      T.dispose([src, prime]);
      s2s.dispose();
      lm.dispose();
    });

    test('bad options: errors name the option, what was expected and what was given', () => {
      const s2s = S2S(L.buildGRU);
      const lm = LM(L.buildGRU);
      const src = alone([1, 2, 3]);
      const ok = { beam: 2, start: 0, end: 2, maxLength: 4 };
      for (const beam of [0, -1, 1.5, '2', NaN, null]) {
        throwsMsg(() => L.decode(s2s, src, { ...ok, beam }), new RegExp(`decode: options\\.beam must be a positive integer; got `), `decode beam ${beam}`, RangeError);
        throwsMsg(() => L.beamSearch(lm, src, { beam, maxLength: 3 }), /beamSearch: options\.beam must be a positive integer; got /, `beamSearch beam ${beam}`, RangeError);
      }
      throwsMsg(() => L.decode(s2s, src, { ...ok, beam: 0 }), /got 0$/, 'the given value');
      throwsMsg(() => L.beamSearch(s2s, src, { ...ok, beams: 2 }), /unknown options key 'beams' — did you mean 'beam'\?/, 'typo', TypeError);
      throwsMsg(() => L.decode(s2s, src, { ...ok, lengthPenality: 0.6 }), /unknown options key 'lengthPenality' — did you mean 'lengthPenalty'\?/, 'typo in decode', TypeError);
      throwsMsg(() => L.decode(s2s, src, { ...ok, lengthPenalty: NaN }), /options\.lengthPenalty must be a finite number .*; got NaN/, 'NaN penalty', RangeError);
      throwsMsg(() => L.decode(s2s, src, { ...ok, lengthPenalty: '0.6' }), /options\.lengthPenalty must be a finite number/, 'string penalty', RangeError);
      throwsMsg(() => L.decode(s2s, src, { start: 0, maxLength: 4, lengthPenalty: 0.6 }), /options\.lengthPenalty \(0\.6\) only applies to beam search; give options\.beam/, 'penalty without beam', RangeError);
      throwsMsg(() => L.decode(s2s, src, { ...ok, maxLength: 0 }), /options\.maxLength must be a positive integer; got 0/, 'maxLength');
      throwsMsg(() => L.decode(s2s, src, { ...ok, end: 7 }), /options\.end must be a token id in \[0, 7\); got 7/, 'end');
      throwsMsg(() => L.beamSearch(s2s, src, { beam: 2, maxLength: 4 }), /options\.start must be a token id in \[0, 7\); got undefined/, 'start missing');
      throwsMsg(() => L.beamSearch(s2s, src, { ...ok, lengths: [3] }), /options\.lengths is for a language model's prime; .* options\.sourceLengths/, 'lengths for seq2seq');
      throwsMsg(() => L.beamSearch(lm, src, { beam: 2, maxLength: 4, start: 1 }), /options\.start is for seq2seq models/, 'start for LM');
      throwsMsg(() => L.beamSearch(lm, src, { beam: 2, maxLength: 4, sourceLengths: [3] }), /options\.sourceLengths is for seq2seq models/, 'sourceLengths for LM');
      throwsMsg(() => L.beamSearch(lm, src, { beam: 2, maxLength: 4, end: 6 }), /options\.end must be a token id in \[0, 6\); got 6/, 'LM end');
      throwsMsg(() => L.beamSearch(lm, src, { beam: 2, maxLength: 4, lengths: [4] }), /lengths/, 'LM lengths > Tp');
      throwsMsg(() => L.beamSearch(lm, src, undefined), /options \{ beam, maxLength/, 'no options', TypeError);
      const sig = LM(L.buildGRU, { outputActivation: 'sigmoid' });
      throwsMsg(() => L.beamSearch(sig, src, { beam: 2, maxLength: 3 }), /sigmoid/, 'sigmoid head');
      const m2o = L.buildGRU({ vocabSize: 6, embeddingSize: 3, hiddenSize: 4, outputSize: 6 });
      throwsMsg(() => L.beamSearch(m2o, src, { beam: 2, maxLength: 3 }), /got topology 'many-to-one'/, 'many-to-one');
      const vec = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 2, topology: 'seq2seq' });
      const x3 = T.zeros([1, 3, 2]);
      throwsMsg(() => L.decode(vec, x3, { beam: 2, start: [0, 0], maxLength: 3 }), /beam search needs a token model/, 'vector seq2seq');
      // The greedy API is unchanged: no beam, a tensor.
      const ids = L.decode(s2s, src, { start: 0, end: 2, maxLength: 4 });
      assert.ok(ids instanceof T.Tensor);
      T.dispose([ids, src, x3]);
      [s2s, lm, sig, m2o, vec].forEach((m) => m.dispose());
    });
  });
}
