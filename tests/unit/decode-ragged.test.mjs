// decodeSequences and decode with ragged sources (issue 16): each sequence stops at its own end token,
// padding after it, per-sequence lengths; sources of different lengths via sourceLengths / sourceMask.
//
// Oracles, none of them the code under test:
//  - each sequence decoded alone (a batch of 1, its source unpadded);
//  - teacher forcing: model.predict([source, [start, y_0 … y_{L−2}]]) — the whole decoder graph of
//    tf.layers, not the step loop — whose argmax (greedy) or seeded draw (sampling, replayed with a
//    plain-JS softmax) at each step must be the decoded token;
//  - decode's previous code path, re-written here from the public layer API (forwardSequence, step).
// None needs the layer helper's masking work: decoding never calls model.apply on a padded source;
// the encoder's state after each source's own last step is picked from its per-step trace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { lib, tf } from '../helpers.mjs';

const L = lib();
const T = tf();

const V = 9;
const SPEC = { vocabSize: V, embeddingSize: 5, hiddenSize: 16, outputSize: V, topology: 'seq2seq', outputActivation: 'softmax', numLayers: 2, seed: 5 };
// Four sources of 5, 3, 2 and 4 tokens, padded at the end with token 0.
const ROWS = [[3, 4, 5, 6, 7], [1, 8, 2], [6, 6], [2, 7, 4, 3]];
const TS = 5;
const padded = () => T.tensor2d(ROWS.map((r) => [...r, ...Array(TS - r.length).fill(0)]), [ROWS.length, TS], 'int32');
const alone = (b) => T.tensor2d([ROWS[b]], [1, ROWS[b].length], 'int32');
const LENGTHS = ROWS.map((r) => r.length);

/** Teacher-forced next-token probabilities of one sequence: predict([source, [start, …seq[:-1]]]) → [steps][V]. */
function teacherForced(model, src, start, seq) {
  return T.tidy(() => {
    const tin = T.tensor2d([[start, ...seq.slice(0, -1)]], [1, seq.length], 'int32');
    return model.predict([src, tin]).arraySync()[0];
  });
}
/** assert.throws against the message itself (a RegExp alone is tested against `Name: message`). */
const throwsMsg = (fn, re, what) => assert.throws(fn, (e) => { assert.match(e.message, re, what); return true; }, what);
const argmax = (row) => row.reduce((best, x, i) => (x > row[best] ? i : best), 0);

/** decode as it was before issue 16, from the public layer API: encoder's last step, then greedy steps. */
function oldDecode(model, source, { start, end, maxLength }) {
  return T.tidy(() => {
    const layers = L.recurrentLayers(model);
    const enc = layers.filter((l) => l.name.startsWith('encoder_'));
    const dec = layers.filter((l) => l.name.startsWith('decoder_'));
    const batch = source.shape[0];
    let x = model.getLayer('embedding').apply(source);
    const states = enc.map((layer) => {
      const { output, directions } = layer.forwardSequence(x);
      x = output;
      const d = directions[0];
      return { h: d.h[d.h.length - 1], c: d.c?.[d.c.length - 1] };
    });
    let prev = T.fill([batch], start, 'int32');
    const outs = [];
    let done = end !== undefined ? T.zeros([batch], 'bool') : null;
    for (let t = 0; t < maxLength; t++) {
      let inp = T.squeeze(model.getLayer('decoder_embedding').apply(T.reshape(prev, [batch, 1])), [1]);
      dec.forEach((layer, l) => { const r = layer.step(inp, states[l]); states[l] = { h: r.h, c: r.c }; inp = r.h; });
      prev = T.cast(T.argMax(model.getLayer('head').apply(inp), 1), 'int32');
      outs.push(prev);
      if (done) { done = T.logicalOr(done, T.equal(prev, end)); if (done.all().dataSync()[0]) break; }
    }
    return T.stack(outs, 1).arraySync();
  });
}

for (const [name, build] of [['GRU', L.buildGRU], ['LSTM', L.buildLSTM]]) {
  test(`${name}: greedy decodeSequences — each sequence as decoded alone, up to its own end token, then padding`, () => {
    const model = build(SPEC);
    const src = padded();
    const maxLength = 8;
    // The scenario comes from the oracle, not from decodeSequences: with end = the first token of some
    // row, that row ends at step 1; we need another row that never produces it within maxLength.
    const free = ROWS.map((_, b) => oldDecode(model, alone(b), { start: 0, maxLength })[0]);
    const end = free.map((r) => r[0]).find((e) => free.some((r) => !r.includes(e)));
    assert.ok(end !== undefined, `setup: no end token gives both a length-1 and a never-ending row; free-running rows ${JSON.stringify(free)}`);
    const want = free.map((r) => (r.includes(end) ? r.slice(0, r.indexOf(end) + 1) : r));
    assert.ok(want.some((w) => w.length === 1) && want.some((w) => w.length === maxLength), `setup: lengths ${want.map((w) => w.length)} include 1 and maxLength`);

    const padId = -1;
    const got = L.decodeSequences(model, src, { start: 0, end, padId, maxLength, sourceLengths: LENGTHS });
    assert.deepEqual(got.sequences, want, `sequences vs each decoded alone (end ${end})`);
    assert.deepEqual(got.lengths, want.map((w) => w.length), 'lengths');
    const width = Math.max(...got.lengths);
    assert.deepEqual(got.tokens.shape, [ROWS.length, width]);
    assert.equal(got.tokens.dtype, 'int32');
    assert.deepEqual(got.tokens.arraySync(), want.map((w) => [...w, ...Array(width - w.length).fill(padId)]), 'tokens: the sequence, then padId');

    // Independent of the step loop: teacher forcing on the unpadded source reproduces every token.
    want.forEach((w, b) => {
      const src1 = alone(b);
      const p = teacherForced(model, src1, 0, w);
      assert.deepEqual(p.map(argmax), w, `row ${b}: argmax of teacher-forced predict`);
      src1.dispose();
    });
    // And each row equals decodeSequences on that row alone (a batch of 1).
    ROWS.forEach((_, b) => {
      const src1 = alone(b);
      const one = L.decodeSequences(model, src1, { start: 0, end, padId, maxLength });
      assert.deepEqual(one.sequences[0], got.sequences[b], `row ${b}: batch vs batch of 1`);
      one.tokens.dispose();
      src1.dispose();
    });
    // sourceMask says the same as sourceLengths.
    const mask = T.tensor2d(LENGTHS.map((n) => Array.from({ length: TS }, (_, t) => (t < n ? 1 : 0))));   // [batch, Ts]
    const viaMask = L.decodeSequences(model, src, { start: 0, end, padId, maxLength, sourceMask: mask });
    assert.deepEqual(viaMask.sequences, want, 'sourceMask = sourceLengths');
    const lensT = T.tensor1d(LENGTHS, 'int32');
    const viaTensor = L.decodeSequences(model, src, { start: 0, end, padId, maxLength, sourceLengths: lensT });
    assert.deepEqual(viaTensor.sequences, want, 'sourceLengths as a [batch] tensor');
    T.dispose([lensT, viaTensor.tokens]);
    // padId defaults to end.
    const defPad = L.decodeSequences(model, src, { start: 0, end, maxLength, sourceLengths: LENGTHS });
    assert.deepEqual(defPad.tokens.arraySync(), want.map((w) => [...w, ...Array(width - w.length).fill(end)]), 'default padId = end');
    T.dispose([got.tokens, viaMask.tokens, defPad.tokens, mask, src]);
    model.dispose();
  });
}

test('sources of different lengths: without sourceLengths the padding changes the result (so the ragged test can fail)', () => {
  // A vector seq2seq model shows it as numbers: decode with sourceLengths equals each source alone to
  // 1e-6, without it the padded steps move the outputs by far more.
  const model = L.buildLSTM({ inputSize: 2, hiddenSize: 8, outputSize: 2, topology: 'seq2seq', numLayers: 2, seed: 7 });
  const lens = [4, 2, 1];
  const data = lens.map((n, b) => Array.from({ length: n }, (_, t) => [Math.sin(b + t), Math.cos(2 * b - t)]));
  const src = T.tensor3d(data.map((r) => [...r, ...Array(4 - r.length).fill([0.7, -0.3])]));
  const opts = { start: [0, 0], maxLength: 5 };
  const ragged = L.decode(model, src, { ...opts, sourceLengths: lens }).arraySync();
  const plain = L.decode(model, src, opts).arraySync();
  let dRagged = 0, dPlain = 0;
  data.forEach((r, b) => {
    const x1 = T.tensor3d([r]);
    const one = L.decode(model, x1, opts).arraySync()[0];
    one.forEach((step, t) => step.forEach((v, k) => {
      dRagged = Math.max(dRagged, Math.abs(v - ragged[b][t][k]));
      dPlain = Math.max(dPlain, Math.abs(v - plain[b][t][k]));
    }));
    x1.dispose();
  });
  assert.ok(dRagged <= 1e-6, `decode(sourceLengths) vs each source alone: max |Δ| ${dRagged} (tol 1e-6)`);
  assert.ok(dPlain > 1e-3, `without sourceLengths the padding must show: max |Δ| ${dPlain} (expected > 1e-3)`);
  // Row 0 has full length: identical with or without lengths.
  assert.deepEqual(ragged[0], plain[0], 'a full-length row is unchanged');
  src.dispose();
  model.dispose();
});

test('sampled decodeSequences: seeded, each sequence with its own Rng equals it alone, and the draws replay on teacher-forced probabilities', () => {
  const model = L.buildGRU(SPEC);
  const src = padded();
  const maxLength = 10, end = 4, temperature = 1.5;
  const seeds = [11, 12, 13, 14];
  const run = () => L.decodeSequences(model, src, { start: 0, end, padId: 0, maxLength, sourceLengths: LENGTHS, temperature, rng: seeds.map((s) => new L.Rng(s)) });
  const a = run(), b = run();
  assert.deepEqual(a.sequences, b.sequences, 'same seeds, same samples');
  assert.ok(a.lengths.some((n) => n < maxLength), `some sequence ends early: lengths ${a.lengths}`);
  a.sequences.forEach((seq, r) => {
    const src1 = alone(r);
    const one = L.decodeSequences(model, src1, { start: 0, end, maxLength, temperature, rng: [new L.Rng(seeds[r])] });
    assert.deepEqual(one.sequences[0], seq, `row ${r}: batch vs alone with the same Rng`);
    // Replay: a fresh Rng with the same seed draws from the plain-JS softmax(log p / T) of teacher forcing.
    const p = teacherForced(model, src1, 0, seq);
    const rng = new L.Rng(seeds[r]);
    const replay = p.map((row) => {
      const w = row.map((x) => Math.pow(x, 1 / temperature));
      const s = w.reduce((u, v) => u + v, 0);
      return rng.choice(w.map((x) => x / s));
    });
    assert.deepEqual(replay, seq, `row ${r}: replayed draws`);
    assert.equal(seq.indexOf(end), seq.includes(end) ? seq.length - 1 : -1, `row ${r}: ends at its first end token`);
    T.dispose([one.tokens, src1]);
  });
  // One shared Rng: reproducible too, and sampling differs from greedy somewhere.
  const shared = (seed) => L.decodeSequences(model, src, { start: 0, end, maxLength, sourceLengths: LENGTHS, rng: new L.Rng(seed), temperature });
  const s1 = shared(3), s2 = shared(3);
  assert.deepEqual(s1.sequences, s2.sequences, 'one shared Rng, same seed: same samples');
  const greedy = L.decodeSequences(model, src, { start: 0, end, maxLength, sourceLengths: LENGTHS });
  assert.notDeepEqual(a.sequences, greedy.sequences, 'sampling is not the argmax');
  T.dispose([a.tokens, b.tokens, s1.tokens, s2.tokens, greedy.tokens, src]);
  model.dispose();
});

test('decode without the new options returns what it returned before (the old code path, same model and seed)', () => {
  for (const build of [L.buildGRU, L.buildLSTM]) {
    const model = build(SPEC);
    const src = padded();
    for (const opts of [{ start: 0, maxLength: 8 }, { start: 0, end: 4, maxLength: 8 }, { start: 2, end: 6, maxLength: 12 }]) {
      const got = L.decode(model, src, opts);
      assert.deepEqual(got.arraySync(), oldDecode(model, src, opts), `${model.name} ${JSON.stringify(opts)}`);
      got.dispose();
    }
    // decodeSequences with an end nobody reaches runs maxLength steps: decode's tokens exactly.
    const free = L.decode(model, src, { start: 0, maxLength: 6 });
    const ids = free.arraySync();
    const never = [...Array(V).keys()].find((e) => ids.every((r) => !r.includes(e)));
    if (never !== undefined) {
      const s = L.decodeSequences(model, src, { start: 0, end: never, maxLength: 6 });
      assert.deepEqual(s.tokens.arraySync(), ids, 'no row ends: decodeSequences = decode');
      assert.deepEqual(s.lengths, ids.map(() => 6));
      s.tokens.dispose();
    }
    T.dispose([free, src]);
    model.dispose();
  }
});

test('decodeSequences and decode: bad options name the argument', () => {
  const model = L.buildGRU(SPEC);
  const src = padded();
  const base = { start: 0, end: 4, maxLength: 5 };
  const cases = [
    [{ ...base, end: V }, /^decodeSequences: options\.end must be a token id in \[0, 9\); got 9/],
    [{ ...base, end: -1 }, /options\.end must be a token id in \[0, 9\); got -1/],
    [{ start: 0, maxLength: 5 }, /^decodeSequences: options\.end \(the end token id, in \[0, 9\)\) is required/],
    [{ ...base, maxLength: 0 }, /^decodeSequences: options\.maxLength must be a positive integer/],
    [{ ...base, maxLength: 2.5 }, /options\.maxLength must be a positive integer/],
    [{ ...base, start: 9 }, /options\.start must be a token id in \[0, 9\); got 9/],
    [{ ...base, padId: 0.5 }, /^decodeSequences: options\.padId must be an int32 integer/],
    [{ ...base, padId: 2 ** 31 }, /options\.padId must be an int32 integer/],
    [{ ...base, endId: 4 }, /^decodeSequences: unknown options key 'endId'/],
    [{ ...base, temperature: 0.5 }, /^decodeSequences: options\.temperature \(0\.5\) only applies to sampling; give options\.rng too/],
    [{ ...base, rng: new L.Rng(1), temperature: 0 }, /options\.temperature must be a number > 0; got 0/],
    [{ ...base, rng: [new L.Rng(1)] }, /^decodeSequences: options\.rng has 1 Rngs but the source has 4 sequences/],
    [{ ...base, rng: 7 }, /^decodeSequences: options\.rng must be an Rng; got/],
    [{ ...base, sourceLengths: [5, 3, 2] }, /^decodeSequences: options\.sourceLengths has 3 lengths but the batch .* has 4 sequences/],
    [{ ...base, sourceLengths: [5, 3, 0, 4] }, /^decodeSequences: options\.sourceLengths\[2\] must be an integer from 1 to T = 5/],
    [{ ...base, sourceLengths: [6, 3, 2, 4] }, /options\.sourceLengths\[0\] must be an integer from 1 to T = 5/],
  ];
  for (const [opts, re] of cases) throwsMsg(() => L.decodeSequences(model, src, opts), re, JSON.stringify(opts));
  const holey = T.tensor2d([[1, 1, 1, 1, 1], [1, 0, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 1, 0]]);
  throwsMsg(() => L.decodeSequences(model, src, { ...base, sourceMask: holey }), /^decodeSequences: options\.sourceMask row 1 must be 1s followed by 0s/);
  const mask = T.tensor2d([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 1, 0, 0, 0], [1, 1, 1, 0, 0]]);
  throwsMsg(() => L.decodeSequences(model, src, { ...base, sourceLengths: LENGTHS, sourceMask: mask }), /options\.sourceLengths and options\.sourceMask disagree at row 3: sourceLengths\[3\] = 4, the mask has 3 real steps/);
  throwsMsg(() => L.decode(model, src, { start: 0, maxLength: 3, sourceLengths: [1, 2] }), /^decode: options\.sourceLengths has 2 lengths/);
  throwsMsg(() => L.decode(model, src, { start: 0, maxLength: 3, sourceLenghts: LENGTHS }), /^decode: unknown options key 'sourceLenghts' — did you mean 'sourceLengths'\?/);
  throwsMsg(() => L.decodeSequences(model, src), /^decodeSequences: options \{ maxLength, start, end/);
  const vec = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 2, topology: 'seq2seq' });
  throwsMsg(() => L.decodeSequences(vec, T.zeros([1, 3, 2]), { start: 0, end: 1, maxLength: 3 }), /^decodeSequences: the model must take and produce token ids/);
  const m2m = L.buildGRU({ vocabSize: 5, hiddenSize: 4, outputSize: 5, topology: 'many-to-many' });
  throwsMsg(() => L.decodeSequences(m2m, T.zeros([1, 3], 'int32'), base), /^decodeSequences: the model must be a seq2seq model/);
  T.dispose([holey, mask, src]);
  [model, vec, m2m].forEach((m) => m.dispose());
});

test('numTensors flat: ragged greedy and sampled decodeSequences, decode with sourceLengths', () => {
  const model = L.buildLSTM(SPEC);
  const src = padded();
  const once = () => {
    T.dispose(L.decodeSequences(model, src, { start: 0, end: 4, maxLength: 9, sourceLengths: LENGTHS }).tokens);
    T.dispose(L.decodeSequences(model, src, { start: 0, end: 4, maxLength: 9, sourceLengths: LENGTHS, rng: new L.Rng(2) }).tokens);
    T.dispose(L.decode(model, src, { start: 0, maxLength: 4, sourceLengths: LENGTHS }));
  };
  once();
  const before = T.memory().numTensors;
  for (let i = 0; i < 3; i++) once();
  assert.equal(T.memory().numTensors, before, `numTensors before ${before}, after ${T.memory().numTensors}`);
  // A refused call leaves nothing behind either.
  assert.throws(() => L.decodeSequences(model, src, { start: 0, end: 4, maxLength: 3, sourceLengths: [9, 1, 1, 1] }));
  assert.equal(T.memory().numTensors, before, 'no tensor left by a refused call');
  src.dispose();
  model.dispose();
});

test('decodeSequences: ■ from another thread → KeyboardInterrupt with the sequences so far; tensors flat', async () => {
  // The course kernel's hub, as in interrupt.test.mjs: [0] interrupts, [1] running calls, [2] cell start.
  const HUB_KEY = Symbol.for('rnn-lab.kernel');
  const state = new Int32Array(new SharedArrayBuffer(20));
  globalThis[HUB_KEY] = { state, onInterrupted: () => {} };
  const model = L.buildGRU(SPEC);
  const src = padded();
  const total = 20000;
  // An end token that ends one row at once while another runs on, so the partial result is ragged.
  const free = L.decode(model, src, { start: 0, maxLength: 50, sourceLengths: LENGTHS });
  const rows = free.arraySync();
  free.dispose();
  const end = rows.map((r) => r[0]).find((e) => rows.some((r) => !r.includes(e)));
  assert.ok(end !== undefined, `setup: an end token some row never produces in 50 steps; rows ${JSON.stringify(rows)}`);
  const opts = { start: 0, end, maxLength: total, sourceLengths: LENGTHS };
  const before = T.memory().numTensors;
  const w = new Worker(`
    const { workerData } = require('node:worker_threads');
    const s = new Int32Array(workerData.buf);
    while (Atomics.load(s, 1) === 0) Atomics.wait(s, 3, 0, 1);
    Atomics.wait(s, 3, 0, 200);
    Atomics.add(s, 0, 1);`, { eval: true, workerData: { buf: state.buffer } });
  let err;
  try { L.decodeSequences(model, src, opts); } catch (e) { err = e; }
  await w.terminate();
  delete globalThis[HUB_KEY];
  assert.ok(err instanceof L.KeyboardInterrupt, `threw ${err}`);
  const m = /^decodeSequences interrupted after (\d+)\/20000 steps$/.exec(err.message);
  assert.ok(m, err.message);
  const done = Number(m[1]);
  assert.ok(done >= 1 && done < total, `done ${done}`);
  assert.equal(T.memory().numTensors, before, 'tensors flat after the interrupt');
  const ref = L.decodeSequences(model, src, { ...opts, maxLength: done });
  assert.deepEqual(err.partial, ref.sequences, `partial = decodeSequences(maxLength: ${done}).sequences`);
  assert.ok(err.partial.some((q) => q.length === 1) && err.partial.some((q) => q.length === done), `ragged partial: lengths ${err.partial.map((q) => q.length)}`);
  T.dispose([ref.tokens, src]);
  model.dispose();
});

// A seq2seq model built with padId knows its padding: decode and decodeSequences find each source's
// length in the ids (as forwardModel does), so padded sources are never decoded over silently.
test('a padId seq2seq model: decode and decodeSequences take the source lengths from the padding, and refuse lengths that disagree', () => {
  const model = L.buildGRU({ ...SPEC, padId: 0, seed: 11 });
  const padded = T.tensor2d(ROWS.map((r) => [...r, ...Array(TS - r.length).fill(0)]), [ROWS.length, TS], 'int32');
  const opts = { start: 1, end: 2, maxLength: 6 };
  const before = T.memory().numTensors;
  const all = L.decode(model, padded, { start: 1, maxLength: 6 });
  const got = all.arraySync();
  const seqs = L.decodeSequences(model, padded, opts);
  ROWS.forEach((r, b) => {
    const one = T.tensor2d([r], [1, r.length], 'int32');
    const alone = L.decode(model, one, { start: 1, maxLength: 6 });
    assert.deepEqual(got[b], alone.arraySync()[0], `row ${b}: decode of the padded batch equals the source alone`);
    const s1 = L.decodeSequences(model, one, opts);
    assert.deepEqual(seqs.sequences[b], s1.sequences[0], `row ${b}: decodeSequences equals the source alone`);
    T.dispose([one, alone, s1.tokens]);
  });
  T.dispose([all, seqs.tokens]);
  assert.equal(T.memory().numTensors, before, 'no tensors left');
  assert.throws(() => L.decode(model, padded, { start: 1, maxLength: 6, sourceLengths: [5, 3, 2, 3] }),
    /^RangeError: decode: options\.sourceLengths and the padding of source disagree at row 3: 3 real steps given, source has 4 tokens before padId 0/);
  // The same model without padId decodes over the pads: the rows differ (so the test above can fail).
  const noPad = L.buildGRU({ ...SPEC, seed: 11 });
  const over = L.decode(noPad, padded, { start: 1, maxLength: 6 });
  assert.notDeepEqual(over.arraySync(), got, 'decoding over the padding should change some row');
  T.dispose([over, padded]);
  model.dispose();
  noPad.dispose();
});
