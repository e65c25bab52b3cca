import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { lib, ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const { show, showHtml, liveFigure, table, tableHtml, figureHtml, setDisplaySink, displayStats, inNotebook } = lib();

/** A sink that records what a notebook would receive. */
function recorder() {
  const out = [];
  const displays = [];
  return {
    out, displays,
    sink: {
      kind: 'notebook',
      html: (h) => out.push(h),
      newDisplay: () => { const d = []; displays.push(d); return { html: (h) => d.push(h) }; },
      text: (t) => out.push(`TEXT:${t}`),
    },
  };
}

let rec;
beforeEach(() => { rec = recorder(); setDisplaySink(rec.sink); });
afterEach(() => setDisplaySink(undefined));

const fig = { data: [{ x: [1, 2, 3], y: new Float32Array([2, 4, 8]), type: 'scatter', name: '</script><b>' }], layout: { title: { text: 'growth' } } };

test('show inlines plotly.js once, then one div+script per figure, with data intact and script-safe', () => {
  show(fig);
  show(fig);
  assert.equal(rec.out.length, 3, 'plotly once + two figures');
  assert.match(rec.out[0], /plotly\.js \(cartesian - minified\) v2\./);
  assert.match(rec.out[0], /^<script type="text\/javascript">\(function\(define, module, exports\)\{/);
  assert.equal(rec.out.filter((h) => /plotly\.js \(cartesian - minified\) v2\./.test(h)).length, 1);
  for (const h of rec.out.slice(1)) {
    assert.match(h, /<div id="rnnlab-plot-[^"]+" class="rnnlab-plot"/);
    assert.equal((h.match(/<\/script>/g) || []).length, 1, 'the trace name must not close the script early');
    const json = h.match(/newPlot\(el,(\[.*?\]),\{/)[1].replace(/<\\\//g, '</');
    assert.deepEqual(JSON.parse(json), [{ x: [1, 2, 3], y: [2, 4, 8], type: 'scatter', name: '</script><b>' }]);
  }
  assert.notEqual(rec.out[1].match(/id="([^"]+)"/)[1], rec.out[2].match(/id="([^"]+)"/)[1], 'ids are unique');
  assert.equal(displayStats().figures >= 2, true);
  assert.equal(inNotebook(), true);
});

test('the inlined plotly.js really defines window.Plotly even where an AMD define exists', () => {
  show(fig);
  const vm = require('node:vm');
  const script = rec.out[0].replace(/^<script type="text\/javascript">/, '').replace(/<\/script>$/, '');
  let amdCalled = false;
  const define = () => { amdCalled = true; };
  define.amd = true;
  const ctx = { define, window: {}, self: undefined, document: undefined, navigator: { userAgent: 'node' } };
  ctx.self = ctx.window;
  ctx.window.window = ctx.window;
  vm.createContext(ctx);
  try { vm.runInContext(script, ctx, { timeout: 20000 }); } catch { /* plotly touches the DOM while loading; what matters is below */ }
  assert.equal(amdCalled, false, 'the bundle must not register with require.js');
});

test('bad figures are rejected with what was expected and what was given', () => {
  assert.throws(() => show(42), /show\(figure\): figure must be a plotly figure \{ data: Trace\[\], layout\?, config\? \}; got 42$/);
  assert.throws(() => show([1, 2]), /got an array of length 2/);
  assert.throws(() => show({ x: [1] }), /figure\.data must be an array of traces .*got undefined/);
  assert.throws(() => show({ data: [1] }), /figure\.data\[0\] must be a trace object/);
  assert.throws(() => show({ data: [], layout: 'big' }), /figure\.layout must be an object/);
  assert.equal(rec.out.length, 0, 'nothing is displayed for a bad figure');
});

test('liveFigure redraws one display in place, throttled, and close leaves the final figure', () => {
  const live = liveFigure({ minIntervalMs: 60_000 });
  for (let i = 1; i <= 10; i++) live.update({ data: [{ y: Array.from({ length: i }, (_, k) => k) }] });
  assert.equal(rec.displays.length, 1, 'one display handle');
  assert.equal(rec.displays[0].length, 1, 'throttled: only the first update drawn');
  live.close();
  assert.equal(rec.displays[0].length, 2);
  assert.match(rec.displays[0][1], /\[0,1,2,3,4,5,6,7,8,9\]/, 'final figure has all ten points');
  assert.throws(() => live.update(fig), /was closed/);
  assert.throws(() => liveFigure({ minIntervalMs: -1 }), /minIntervalMs must be a number ≥ 0; got -1/);
});

test('liveFigure draws the last throttled update when the interval ends, even with no close (a loop that threw); close cancels it', async () => {
  const live = liveFigure({ minIntervalMs: 60 });
  const step = (n) => ({ data: [{ y: Array.from({ length: n }, (_, k) => k) }] });
  live.update(step(1));
  for (let n = 2; n <= 10; n++) live.update(step(n));       // all within the interval: throttled
  assert.equal(rec.displays[0].length, 1, 'only the first drawn so far');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(rec.displays[0].length, 2, 'the pending update was drawn once the interval ended');
  assert.match(rec.displays[0][1], /\[0,1,2,3,4,5,6,7,8,9\]/, 'and it is the last one given (10 points)');
  // The interval is over: drawn at once. Then one too soon (pending) and close right away: close draws
  // its own figure and the pending redraw is cancelled.
  live.update(step(3));
  assert.equal(rec.displays[0].length, 3);
  live.update(step(5));
  live.close(step(4));
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(rec.displays[0].length, 4, 'close drew once, nothing after it');
  assert.match(rec.displays[0][3], /\[0,1,2,3\]\}/, 'the figure given to close, not the pending one');
});

test('table renders danfo frames, row objects and row arrays, escaped, with clear errors', () => {
  const dfd = require(require.resolve('danfojs-node', { paths: [ROOT] }));
  const df = new dfd.DataFrame({ cell: ['LSTM', 'GRU<'], params: [4 * (8 * 3 + 64 + 8), 3 * (8 * 3 + 64 + 8)] });
  const h = tableHtml(df, { caption: 'n=8, m=3' });
  assert.match(h, /<caption>n=8, m=3<\/caption>/);
  assert.match(h, /<th>cell<\/th><th>params<\/th>/);
  assert.match(h, /<td>LSTM<\/td><td>384<\/td>/);
  assert.match(h, /<td>GRU&lt;<\/td><td>288<\/td>/);
  assert.match(tableHtml([{ a: 1, b: 0.123456789 }]), /<td>1<\/td><td>0\.123457<\/td>/);
  assert.match(tableHtml([[1, 2]], { columns: ['x', 'y'] }), /<th>x<\/th><th>y<\/th>.*<td>1<\/td><td>2<\/td>/s);
  assert.match(tableHtml(Array.from({ length: 60 }, (_, i) => ({ i })), { maxRows: 5 }), /… 55 more rows/);
  assert.throws(() => table('abc'), /table\(data\): data must be a danfo DataFrame, an array of row objects or an array of row arrays; got "abc"$/);
  assert.throws(() => table([[1, 2]], { columns: ['x'] }), /columns has 1 names but the rows have 2 values/);
  assert.throws(() => table([{ a: 1 }, 7]), /data\[1\] must be a row object/);
  table(df);
  assert.equal(rec.out.length, 1);
});

test('outside a notebook, show and table print text instead of HTML', () => {
  setDisplaySink(undefined);
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try {
    assert.equal(inNotebook(), false);
    show(fig);
    table([{ a: 1, b: 2 }]);
  } finally { console.log = orig; }
  assert.deepEqual(lines, ['[figure "growth": 1 trace]', 'a\tb\n1\t2']);
  assert.throws(() => figureHtml({}), /figure\.data must be an array/);
});

test('showHtml sends raw HTML to a notebook, prints its fallback in a terminal, and rejects non-strings', () => {
  showHtml('<b>bold</b>', 'bold');
  assert.deepEqual(rec.out, ['<b>bold</b>']);
  assert.throws(() => showHtml(42), /showHtml\(html\): html must be a string; got number/);
  setDisplaySink(undefined);
  const lines = [];
  const orig = console.log;
  console.log = (...a) => lines.push(a.join(' '));
  try { showHtml('<i>x</i>', 'x as text'); showHtml('<i>y</i>'); } finally { console.log = orig; }
  assert.deepEqual(lines, ['x as text']);
});
