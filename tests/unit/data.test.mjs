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
});
