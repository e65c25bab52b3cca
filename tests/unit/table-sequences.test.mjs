// From a table of events (one row per step: session id, step, features, a per-session label) to
// sequences: sequencesFromTable against hand-built and generator-known expectations, its missing-value
// errors, a classifier trained on its output, timeseriesWindows' id option, danfo objects into
// padSequences, and evaluate on a builder model (issue 16's analyst trial).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { lib, tf as getTf, ROOT } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const require = createRequire(import.meta.url);
const dfd = () => require('danfojs-node');

/** tf.memory().numTensors before and after fn (run 3 times, its tensors disposed by `free`). */
function assertFlat(fn, free, what) {
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) free(fn());
  assert.equal(tf.memory().numTensors, before, `${what}: tensors alive went from ${before} to ${tf.memory().numTensors}`);
}

/**
 * The trial's CSV shape, generated: sessions s000… of 3–20 steps, dwell ~ N(±shift, 1) by label,
 * clicks 0–5, converted 0/1 (about 40% ones). The table's rows are shuffled, so ids are interleaved
 * and steps out of order; `sessions` is the truth the table was made from.
 */
function makeTable(n, seed, shift = 0.5) {
  const rng = new L.Rng(seed);
  const sessions = [];
  for (let i = 0; i < n; i++) {
    const label = rng.next() < 0.4 ? 1 : 0;
    const len = 3 + rng.int(18);
    const steps = Array.from({ length: len }, () => [Math.round((shift * (2 * label - 1) + rng.normal()) * 1000) / 1000, rng.int(6)]);
    sessions.push({ id: `s${String(i).padStart(3, '0')}`, label, steps });
  }
  const rows = sessions.flatMap((s) => s.steps.map(([dwell, clicks], t) => ({ session_id: s.id, step: t, dwell, clicks, converted: s.label })));
  return { sessions, rows: rng.shuffle(rows) };
}

test('sequencesFromTable: a hand-built table — ids by first appearance, steps by order with ties in table order, one label per sequence', () => {
  const rows = [
    { sid: 'b', t: 2, f1: 5, f2: 50, y: 1 },   // row 0
    { sid: 'a', t: 1, f1: 1, f2: 10, y: 0 },   // row 1
    { sid: 'b', t: 1, f1: 4, f2: 40, y: 1 },   // row 2
    { sid: 'a', t: 1, f1: 2, f2: 20, y: 0 },   // row 3: ties with row 1 → after it
    { sid: 'a', t: 0, f1: 3, f2: 30, y: 0 },   // row 4
    { sid: 7, t: 0, f1: 6, f2: 60, y: 1 },     // row 5: a numeric id
  ];
  const want = { ids: ['b', 'a', 7], x: [[[4, 40], [5, 50]], [[3, 30], [1, 10], [2, 20]], [[6, 60]]], y: [1, 0, 1], lengths: [2, 3, 1] };
  for (const table of [rows, new (dfd().DataFrame)(rows)]) {
    const s = L.sequencesFromTable(table, { id: 'sid', order: 't', features: ['f1', 'f2'], target: 'y' });
    assert.deepEqual({ ids: s.ids, x: s.x, y: s.y, lengths: s.lengths }, want);
    assert.deepEqual(s.dropped, { rows: 0, sequences: 0, ids: [] });
  }
  // Without order: table order within each id.
  assert.deepEqual(L.sequencesFromTable(rows, { id: 'sid', features: ['f1'] }).x, [[[5], [4]], [[1], [2], [3]], [[6]]]);
  // Per-step targets, asked for; ISO dates as the order.
  const dated = rows.map((r) => ({ ...r, t: `2024-01-0${r.t + 1}` }));
  assert.deepEqual(L.sequencesFromTable(dated, { id: 'sid', order: 't', features: ['f1'], target: 'f2', targetPer: 'step' }).y, [[40, 50], [30, 10, 20], [60]]);
  // A label that changes within a sequence names the id, both values and their rows.
  assert.throws(() => L.sequencesFromTable(rows, { id: 'sid', order: 't', features: ['f1'], target: 'f2' }),
    /^Error: sequencesFromTable: target column 'f2' changes within the sequence of id "b": 40 at row 2, 50 at row 0; .*targetPer: 'step'/);
  assert.throws(() => L.sequencesFromTable(rows, { id: 'sid', feature: ['f1'] }), /unknown options key 'feature' — did you mean 'features'\?/);
  assert.throws(() => L.sequencesFromTable(rows, { id: 'sdi', features: ['f1'] }), /options\.id names column 'sdi', which the table does not have — did you mean 'sid'\?/);
  assert.throws(() => L.sequencesFromTable(rows.map((r, i) => (i === 3 ? { ...r, f1: '2' } : r)), { id: 'sid', features: ['f1'] }),
    /column 'f1', id "a", row 3 is the string "2"; strings are not parsed/);
  assert.throws(() => L.sequencesFromTable(rows.map((r, i) => (i === 4 ? { ...r, t: null } : r)), { id: 'sid', order: 't', features: ['f1'] }),
    /order column 't' at row 4 \(id "a"\) is null, a missing value/);
});

test('sequencesFromTable: the trial\'s table shape (300 sessions, rows shuffled) regroups to the sessions it was made from', () => {
  const { sessions, rows } = makeTable(300, 16);
  const firstSeen = [];
  for (const r of rows) if (!firstSeen.includes(r.session_id)) firstSeen.push(r.session_id);
  const truth = new Map(sessions.map((s) => [s.id, s]));
  for (const table of [rows, new (dfd().DataFrame)(rows)]) {
    const s = L.sequencesFromTable(table, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'], target: 'converted' });
    assert.deepEqual(s.ids, firstSeen, 'ids in order of first appearance');
    let worst = 0;
    s.ids.forEach((id, i) => {
      const want = truth.get(id);
      assert.equal(s.lengths[i], want.steps.length, `length of ${id}`);
      assert.equal(s.y[i], want.label, `label of ${id}`);
      want.steps.forEach((v, t) => v.forEach((u, f) => { worst = Math.max(worst, Math.abs(s.x[i][t][f] - u)); }));
    });
    console.log(`  ${table.constructor.name}: ${s.ids.length} sessions, ${rows.length} rows; max |x − generated| = ${worst} (tolerance 0: values copied, not computed)`);
    assert.equal(worst, 0);
  }
});

test('sequencesFromTable: a missing value is an error naming column, id and row; drop-rows / drop-sequences count what they drop', () => {
  const { sessions, rows } = makeTable(40, 3);
  const holes = [[5, 'dwell', null], [17, 'clicks', NaN], [30, 'dwell', ''], [31, 'converted', undefined]];
  const table = rows.map((r) => ({ ...r }));
  for (const [i, col, v] of holes) table[i][col] = v;
  const df = new (dfd().DataFrame)(table.map((r) => ({ ...r, dwell: r.dwell === '' ? null : r.dwell, converted: r.converted ?? null })));
  const id0 = JSON.stringify(table[5].session_id);
  for (const t of [table, df]) {
    assert.throws(() => L.sequencesFromTable(t, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'], target: 'converted' }),
      new RegExp(`^Error: sequencesFromTable: column 'dwell', id ${id0}, row 5 is null, a missing value .*missing: 'drop-rows' or 'drop-sequences'`));
  }
  // The target's missing value is reported too (the features alone are clean at row 31).
  const onlyTarget = rows.map((r, i) => (i === 31 ? { ...r, converted: null } : r));
  assert.throws(() => L.sequencesFromTable(onlyTarget, { id: 'session_id', features: ['dwell', 'clicks'], target: 'converted' }),
    new RegExp(`column 'converted', id ${JSON.stringify(rows[31].session_id)}, row 31 is null`));
  // Expected drops, from the holes' rows alone.
  const holeIds = [...new Set(holes.map(([i]) => table[i].session_id))];
  const holeRows = new Set(holes.map(([i]) => i)).size;
  const seq = L.sequencesFromTable(table, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'], target: 'converted', missing: 'drop-sequences' });
  assert.deepEqual([...seq.dropped.ids].sort(), [...holeIds].sort());
  assert.equal(seq.dropped.sequences, holeIds.length);
  assert.equal(seq.ids.length, sessions.length - holeIds.length);
  const byRow = L.sequencesFromTable(table, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'], target: 'converted', missing: 'drop-rows' });
  assert.deepEqual(byRow.dropped, { rows: holeRows, sequences: 0, ids: [] });
  assert.equal(byRow.lengths.reduce((a, b) => a + b, 0), rows.length - holeRows);
  // A dropped row shortens its sequence by one: the remaining steps are the others in order.
  const id5 = table[5].session_id, k = byRow.ids.indexOf(id5);
  const want = sessions.find((s) => s.id === id5).steps.filter((_, t) => t !== table[5].step);
  assert.deepEqual(byRow.x[k], want);
  assert.throws(() => L.sequencesFromTable(table, { id: 'session_id', features: ['dwell'], missing: 'drop' }), /options\.missing must be 'error', 'drop-rows' or 'drop-sequences'; got "drop"/);
});

test('a GRU trained on sequencesFromTable\'s output (padSequences + lengths, seeded) beats the majority class on held-out sessions; predictions leak no tensors', async () => {
  const { rows } = makeTable(240, 7);
  rows[11].dwell = null; rows[200].clicks = null;                    // empty cells, as in the trial's CSV
  const s = L.sequencesFromTable(rows, { id: 'session_id', order: 'step', features: ['dwell', 'clicks'], target: 'converted', missing: 'drop-sequences' });
  assert.equal(s.dropped.sequences, new Set([rows[11].session_id, rows[200].session_id]).size);
  const order = new L.Rng(1).permutation(s.ids.length);
  const trainIdx = order.slice(0, 180), testIdx = order.slice(180);
  // Standardise per feature with the training sessions' steps only.
  const scalers = [0, 1].map((f) => L.standardizer(trainIdx.flatMap((i) => s.x[i].map((v) => v[f]))));
  const norm = (idx) => idx.map((i) => s.x[i].map((v) => v.map((u, f) => (u - scalers[f].mean) / scalers[f].std)));
  const tr = L.padSequences(norm(trainIdx)), te = L.padSequences(norm(testIdx));
  const ytr = tf.tensor2d(trainIdx.map((i) => [s.y[i]]));
  const model = L.buildGRU({ inputSize: 2, hiddenSize: 8, outputSize: 1, outputActivation: 'sigmoid', seed: 1 });
  await L.train(model, { x: tr.x, y: ytr, lengths: tr.lengths }, { epochs: 15, batchSize: 32, optimizer: 'adam', learningRate: 0.02, loss: 'binaryCrossEntropy', seed: 1, verbose: false });
  const predict = () => tf.tidy(() => model.apply(te.x, { lengths: te.lengths }));
  const p = predict();
  const probs = Array.from(p.dataSync());
  p.dispose();
  const labels = testIdx.map((i) => s.y[i]);
  const acc = probs.filter((q, i) => (q > 0.5 ? 1 : 0) === labels[i]).length / labels.length;
  const share = trainIdx.filter((i) => s.y[i] === 1).length / trainIdx.length;
  const majority = labels.filter((y) => y === (share >= 0.5 ? 1 : 0)).length / labels.length;
  console.log(`  held-out accuracy ${acc.toFixed(3)} on ${labels.length} sessions; majority class ${majority.toFixed(3)} (required margin 0.10)`);
  assert.ok(acc >= majority + 0.1, `accuracy ${acc} does not beat the majority class ${majority} by 0.10`);
  assertFlat(predict, (t) => t.dispose(), 'model.apply with lengths');
  tf.dispose([tr.x, te.x, ytr]);
  model.dispose();
});

test('timeseriesWindows with id: windows within each sequence, never across; non-adjacent ids, dates and split are errors', () => {
  // a: rows 0–3, b: rows 4–6, c: row 7 (too short). window 2, offset 1 (the next row).
  const rows = [1, 2, 3, 4, 10, 20, 30, 99].map((v, i) => ({ id: i < 4 ? 'a' : i < 7 ? 'b' : 'c', v, y: v * 10 }));
  const w = L.timeseriesWindows(rows, { features: ['v'], targets: 'y', window: 2, id: 'id' });
  assert.deepEqual(w.x.arraySync(), [[[1], [2]], [[2], [3]], [[10], [20]]]);
  assert.deepEqual(w.y.arraySync(), [[30], [40], [300]]);
  assert.deepEqual(w.starts, [0, 1, 4]);
  assert.deepEqual(w.ids, ['a', 'a', 'b']);
  assert.deepEqual(w.dropped, { missing: 0, gaps: 0, shortSequences: 1 });
  tf.dispose([w.x, w.y]);
  // Without id the same table is one series: windows at starts 3, 4 and 5 mix sequences (why id exists).
  const all = L.timeseriesWindows(rows, { features: ['v'], targets: 'y', window: 2 });
  assert.deepEqual(all.starts, [0, 1, 2, 3, 4, 5]);
  tf.dispose([all.x, all.y]);
  const swapped = [rows[0], rows[4], ...rows.slice(1, 4), ...rows.slice(5)];
  assert.throws(() => L.timeseriesWindows(swapped, { features: ['v'], targets: 'y', window: 2, id: 'id' }), /the rows of id "a" are not adjacent: rows 0…0, then again from row 2; sort the table by id/);
  assert.throws(() => L.timeseriesWindows(rows, { features: ['v'], targets: 'y', window: 2, id: 'id', split: { train: 0.5, test: 0.5 } }), /options\.id and options\.split together are not supported/);
  assert.throws(() => L.timeseriesWindows(rows, { features: ['v'], targets: 'y', window: 2, id: 'idd' }), /options\.id names column "idd".*did you mean 'id'\?/);
  const gap = rows.map((r, i) => (i === 1 ? { ...r, v: null } : r));
  const d = L.timeseriesWindows(gap, { features: ['v'], targets: 'y', window: 2, id: 'id', missing: 'drop' });
  assert.deepEqual([d.starts, d.dropped.missing], [[4], 2]);
  tf.dispose([d.x, d.y]);
  assertFlat(() => L.timeseriesWindows(rows, { features: ['v'], targets: 'y', window: 2, id: 'id' }), (r) => tf.dispose([r.x, r.y]), 'timeseriesWindows with id');
});

test('padSequences takes danfo DataFrames (rows = steps) and Series, reports a null by row and column; describe names a DataFrame', () => {
  const D = dfd();
  const a = new D.DataFrame([{ dwell: 0.5, clicks: 1 }, { dwell: -1, clicks: 2 }, { dwell: 2, clicks: 0 }]);
  const b = new D.DataFrame([{ dwell: 3, clicks: 4 }]);
  const p = L.padSequences([a, b]);
  assert.deepEqual([p.x.arraySync(), p.lengths], [[[[0.5, 1], [-1, 2], [2, 0]], [[3, 4], [0, 0], [0, 0]]], [3, 1]]);
  p.x.dispose();
  const q = L.padSequences([a.column('clicks'), b.column('clicks')]);
  assert.deepEqual([q.x.arraySync(), q.lengths], [[[1, 2, 0], [4, 0, 0]], [3, 1]]);
  q.x.dispose();
  const holey = new D.DataFrame([{ dwell: 1, clicks: 1 }, { dwell: 2, clicks: 1 }, { dwell: 3, clicks: null }]);
  assert.throws(() => L.padSequences([a, holey]), /^RangeError: padSequences: seqs\[1\]\[2\]\[1\] \(DataFrame row 2, column 'clicks'\) must be a finite number; got null \(missing values are not filled in/);
  assert.throws(() => L.padSequences([a, new D.DataFrame([{ clicks: 1, dwell: 2 }])]), /seqs\[1\] has columns \[clicks, dwell\], but seqs\[0\] has \[dwell, clicks\]/);
  assert.throws(() => L.padSequences(a), /got a danfo DataFrame of shape \[3, 2\] \(columns dwell, clicks\); a table with one row per step of many sequences is grouped by sequencesFromTable/);
  assert.throws(() => L.standardizer(a), /train is a danfo DataFrame; pass one column/);
  assertFlat(() => L.padSequences([a, b]), (r) => r.x.dispose(), 'padSequences of DataFrames');
});

test('train takes ragged danfo DataFrames (one per sequence) as it takes the same numbers as arrays: equal losses', async () => {
  const D = dfd();
  const seqs = [[[0.5, 1], [-1, 2], [2, 0]], [[3, 4]], [[1, 1], [0, 2]]];
  const frames = seqs.map((s) => new D.DataFrame(s.map(([dwell, clicks]) => ({ dwell, clicks }))));
  const run = async (x) => {
    const model = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, outputActivation: 'sigmoid', seed: 3 });
    const r = await L.train(model, { x, y: [[1], [0], [1]] }, { epochs: 2, batchSize: 2, loss: 'binaryCrossEntropy', seed: 1, verbose: false });
    model.dispose();
    return r.epochs.map((e) => e.loss);
  };
  const fromArrays = await run(seqs), fromFrames = await run(frames);
  const diff = Math.max(...fromArrays.map((v, i) => Math.abs(v - fromFrames[i])));
  console.log(`  epoch losses, arrays ${fromArrays.join(', ')} vs DataFrames ${fromFrames.join(', ')}: max |Δ| ${diff} (tolerance 0)`);
  assert.equal(diff, 0);
});

test('evaluate, fit and trainOnBatch on an uncompiled builder model: an rnn-lab error naming what to use; after compile, tf.js runs', async () => {
  const model = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, outputActivation: 'sigmoid', seed: 1 });
  const x = tf.zeros([3, 4, 2]), y = tf.zeros([3, 1]);
  const before = tf.memory().numTensors;
  assert.throws(() => model.evaluate(x, y), /^Error: evaluate: this builder model is not compiled .*model\.apply\(x, \{ lengths \}\).*lossFunction\('binaryCrossEntropy'\)/);
  assert.throws(() => model.trainOnBatch(x, y), /^Error: trainOnBatch: this builder model is not compiled .*train\(model/);
  await assert.rejects(model.fit(x, y), /^Error: fit: this builder model is not compiled .*train\(model/);
  assert.equal(tf.memory().numTensors, before, 'the refused calls leave no tensor behind');
  // The input checks still come first.
  assert.throws(() => model.evaluate(tf.zeros([3, 4]), y), /^Error: evaluate: x must have rank 3, layout \[batch, time, features=2\]/);
  model.compile({ optimizer: 'sgd', loss: 'meanSquaredError' });
  const e = model.evaluate(x, y);
  assert.ok(Number.isFinite(e.dataSync()[0]));
  e.dispose();
  tf.dispose([x, y]);
  model.dispose();
});

test('README "Evaluate and predict with lengths" runs as written: each prediction equals the sequence alone, unpadded (1e-6); the loss is BCE in float64 (1e-5)', async () => {
  const ts = require('typescript');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.split('<!-- recipe: evaluate-with-lengths -->\n```ts\n')[1]?.split('\n```')[0];
  assert.ok(block, 'README has the block');
  const js = ts.transpileModule(block + '\nreturn { p, fm, loss, probs, accuracy, model, x, y, seqs, labels };', { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS } }).outputText;
  const req = (m) => (m === 'rnn-lab' ? L : require(m));
  const AsyncFunction = (async () => {}).constructor;
  const out = await new AsyncFunction('require', 'exports', js)(req, {});
  let worstAlone = 0, worstFm = 0;
  const fmOut = out.fm.output.dataSync();
  out.seqs.forEach((s, i) => {
    const one = tf.tidy(() => out.model.predict(tf.tensor3d([s])).dataSync()[0]);
    worstAlone = Math.max(worstAlone, Math.abs(one - out.probs[i]));
    worstFm = Math.max(worstFm, Math.abs(fmOut[i] - out.probs[i]));
  });
  const bce = -out.labels.reduce((a, l, i) => a + (l ? Math.log(out.probs[i]) : Math.log(1 - out.probs[i])), 0) / out.labels.length;
  console.log(`  README block: max |apply with lengths − alone| ${worstAlone.toExponential(2)}, |forwardModel − apply| ${worstFm.toExponential(2)}, loss ${out.loss} vs float64 ${bce} (|Δ| ${Math.abs(out.loss - bce).toExponential(2)}), accuracy ${out.accuracy}`);
  assert.ok(worstAlone <= 1e-6, `apply with lengths vs alone: ${worstAlone}`);
  assert.ok(worstFm <= 1e-6, `forwardModel vs apply: ${worstFm}`);
  assert.ok(Math.abs(out.loss - bce) <= 1e-5, `loss ${out.loss} vs ${bce}`);
  // Without lengths, predict reads the padding: row 1 (1 real step of 3) differs — what the section warns about.
  const unmasked = tf.tidy(() => out.model.predict(out.x).dataSync()[1]);
  console.log(`  predict without lengths, row 1: ${unmasked} vs ${out.probs[1]} with lengths`);
  assert.ok(Math.abs(unmasked - out.probs[1]) > 1e-4, 'padding changes an unmasked prediction');
  const fmTensors = [];
  JSON.stringify(out.fm, (k, v) => { if (v instanceof tf.Tensor) { fmTensors.push(v); return undefined; } return k === 'layer' ? undefined : v; });
  tf.dispose([out.p, out.x, out.y, ...fmTensors]);
  out.model.dispose();
});
