// Issue 13, item 1: every figure output carries application/vnd.plotly.v1+json, text/html (with a
// visible line in the figure's area where plotly.js or scripts are missing) and text/plain; live
// figures update all three forms in place. Output is captured from a fake course-kernel hub, the
// same channel the kernel (scripts/kernel/kernel.cjs) publishes display_data from.
import { test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { lib, ROOT, needs, CHROMIUM } from '../helpers.mjs';

const L = lib();
const require = createRequire(import.meta.url);
const HUB = Symbol.for('rnn-lab.kernel');
const PLOTLY = 'application/vnd.plotly.v1+json';

let calls;
beforeEach(() => {
  calls = [];
  globalThis[HUB] = { state: new Int32Array(new SharedArrayBuffer(16)), display: (content, update = false) => calls.push({ content, update }) };
  L.setDisplaySink(undefined); // forget a cached sink: the next output goes through this hub
});
afterEach(() => { delete globalThis[HUB]; L.setDisplaySink(undefined); });

/** Outputs that are figures (the plotly.js library goes out once, as its own text/html output). */
const figureCalls = () => calls.filter((c) => PLOTLY in c.content.data);

const fig = {
  data: [
    { x: [1, 2, 3], y: new Float32Array([2, 4, 8]), type: 'scatter', mode: 'lines', name: 'train loss' },
    { y: new Float64Array([0.5, NaN, 0.25]), type: 'bar', name: 'val <loss>' },
    { z: [[1, 2, 3], [4, 5, 6]], type: 'heatmap' },
  ],
  layout: { title: { text: 'growth & decay' }, height: 300 },
  config: { scrollZoom: true },
};
// The same figure written out by hand as plain JSON: typed arrays as arrays, NaN as null (a gap).
const expectedJson = {
  data: [
    { x: [1, 2, 3], y: [2, 4, 8], type: 'scatter', mode: 'lines', name: 'train loss' },
    { y: [0.5, null, 0.25], type: 'bar', name: 'val <loss>' },
    { z: [[1, 2, 3], [4, 5, 6]], type: 'heatmap' },
  ],
  layout: { autosize: true, title: { text: 'growth & decay' }, height: 300 },
  config: { responsive: true, displaylogo: false, scrollZoom: true },
};

/** The figure's div and the placeholder's text, from the HTML form. */
function placeholderOf(html) {
  const m = html.match(/^<div id="(rnnlab-plot-[^"]+)" class="rnnlab-plot" style="[^"]*"><div class="rnnlab-plot-placeholder"[^>]*>(.*?)<\/div><\/div>/);
  assert.ok(m, `the placeholder must be inside the figure's div; html starts ${html.slice(0, 300)}`);
  // Its text as a reader sees it (the note uses <em> and <code>, which sanitizers keep).
  return { id: m[1], line: m[2].replace(/<[^>]+>/g, '').replace(/&amp;/g, '&') };
}

function checkForms(data, expected, title) {
  assert.deepEqual(Object.keys(data).sort(), [PLOTLY, 'text/html', 'text/plain']);
  assert.deepEqual(data[PLOTLY], expected);
  assert.deepEqual(JSON.parse(JSON.stringify(data)), data, 'the bundle survives JSON (a Jupyter message) unchanged');
  const { line } = placeholderOf(data['text/html']);
  assert.match(line, new RegExp(`^Interactive plotly figure “${title}”`));
  assert.ok(data['text/html'].includes(`<em>Interactive plotly figure “${title.replace(/&/g, '&amp;')}”`), 'the title is HTML-escaped in the note');
  assert.match(line, /run it \(Kernel → Restart & Run All\)/);
  assert.match(line, /trust the notebook/);
  assert.match(line, /npm run export -- NAME\.ipynb/);
  assert.match(line, /Kernel → Restart & Run All/);
}

test('show() sends one display_data with the plotly JSON, the HTML (placeholder inside the div) and the text', () => {
  L.show(fig);
  assert.equal(calls.length, 2, 'plotly.js once, then the figure');
  assert.deepEqual(Object.keys(calls[0].content.data), ['text/html'], 'the library output is HTML only');
  const [out] = figureCalls();
  assert.equal(out.update, false, 'a new output (display_data)');
  assert.deepEqual(out.content.transient, {});
  checkForms(out.content.data, expectedJson, 'growth & decay');
  assert.equal(out.content.data['text/plain'],
    '[figure "growth & decay": 3 traces]\n  train loss (scatter, 3 points)\n  val <loss> (bar, 3 points)\n  trace 3 (heatmap, 2×3 values)');
  // The drawing script gets the same data the JSON form carries.
  const drawn = out.content.data['text/html'].match(/newPlot\(el,(\[.*?\]),\{/)[1].replace(/<\\\//g, '</');
  assert.deepEqual(JSON.parse(drawn), expectedJson.data);
  assert.deepEqual(L.figureBundle(fig)[PLOTLY], expectedJson, 'figureBundle is what show sends');
});

test('liveFigure: updates and close replace one display (same display_id) with all three forms; close leaves the final state', () => {
  const live = L.liveFigure({ minIntervalMs: 0 });
  const step = (n) => ({ data: [{ y: Array.from({ length: n }, (_, i) => i * i), name: 'loss' }], layout: { title: { text: `epoch ${n}` } } });
  live.update(step(1));
  live.update(step(2));
  live.close(step(5));
  const outs = figureCalls();
  assert.equal(outs.length, 3);
  assert.deepEqual(outs.map((o) => o.update), [false, true, true], 'display_data, then update_display_data');
  const ids = outs.map((o) => o.content.transient.display_id);
  assert.match(ids[0], /^rnn-lab-/);
  assert.deepEqual(ids, [ids[0], ids[0], ids[0]]);
  outs.forEach((o, k) => {
    const n = [1, 2, 5][k];
    checkForms(o.content.data, {
      data: [{ y: Array.from({ length: n }, (_, i) => i * i), name: 'loss' }],
      layout: { autosize: true, title: { text: `epoch ${n}` } },
      config: { responsive: true, displaylogo: false },
    }, `epoch ${n}`);
    assert.equal(o.content.data['text/plain'], `[figure "epoch ${n}": 1 trace]\n  loss (scatter, ${n} point${n === 1 ? '' : 's'})`);
  });
});

test('a sink without bundle (the DisplaySink of before) still gets each figure as its HTML', () => {
  const out = [], live = [];
  L.setDisplaySink({ kind: 'notebook', html: (h) => out.push(h), newDisplay: () => ({ html: (h) => live.push(h) }), text: () => {} });
  L.show(fig);
  const l = L.liveFigure({ minIntervalMs: 0 });
  l.update(fig); l.close();
  assert.equal(out.length, 2, 'plotly.js + the figure');
  placeholderOf(out[1]);
  assert.equal(live.length, 2);
  live.forEach(placeholderOf);
});

test('in Chromium the placeholder line is visible inside the figure area without scripts and without plotly.js, and the figure draws once plotly.js comes, above or below it', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const { chromium } = require('playwright-core');
  const html = L.figureBundle(fig)['text/html'];
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  const look = (page) => page.evaluate(() => {
    const box = (el) => { const b = el.getBoundingClientRect(); return { x0: b.left, x1: b.right, y0: b.top, y1: b.bottom }; };
    const div = document.querySelector('.rnnlab-plot'), note = div.querySelector('.rnnlab-plot-placeholder');
    return { div: box(div), note: note && box(note), text: note?.innerText, svg: div.querySelectorAll('.main-svg').length };
  });
  const inside = (a, b) => a.x0 >= b.x0 && a.x1 <= b.x1 && a.y0 >= b.y0 && a.y1 <= b.y1 && a.y1 - a.y0 > 5 && a.x1 - a.x0 > 50;
  const line = /^Interactive plotly figure “growth & decay”, not drawn in this view\. To see it: trust the notebook \(File → Trust Notebook\) if it was saved with its outputs, or run it \(Kernel → Restart & Run All\), or export it with npm run export -- NAME\.ipynb/;
  const missing = /^Interactive plotly figure “growth & decay”, not drawn: this notebook no longer holds plotly\.js \(the output that carried it was cleared or deleted before saving\)\. Run any figure cell again/;
  try {
    // Untrusted notebook / GitHub: scripts never run.
    const ctx = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 900, height: 600 } });
    const p1 = await ctx.newPage();
    await p1.setContent(`<!doctype html><meta charset="utf-8"><body>${html}</body>`);
    const noJs = await look(p1);
    console.log(`no scripts: ${JSON.stringify(noJs)}`);
    assert.ok(noJs.note && inside(noJs.note, noJs.div), 'placeholder visible inside the figure div');
    assert.match(noJs.text, line);
    // Scripts run, plotly.js nowhere on the page (its output was cleared): the line stays, nothing drawn.
    const p2 = await browser.newPage({ viewport: { width: 900, height: 600 } });
    await p2.setContent(`<!doctype html><meta charset="utf-8"><body>${html}</body>`);
    const noPlotly = await look(p2);
    console.log(`no plotly.js: ${JSON.stringify(noPlotly)}`);
    assert.ok(noPlotly.note && inside(noPlotly.note, noPlotly.div));
    assert.match(noPlotly.text, line);
    assert.equal(noPlotly.svg, 0);
    // Still no plotly.js after the wait: the note says it is missing, since trusting will not help.
    await p2.waitForTimeout(3500);
    const later = await look(p2);
    console.log(`no plotly.js after 3.5 s: ${later.text}`);
    assert.match(later.text, missing);
    assert.ok(later.note && inside(later.note, later.div));
    // plotly.js before the figure, and after it (the output holding it is further down): drawn, the line gone.
    for (const [where, body] of [['before', L.plotlyScript() + html], ['after', html + L.plotlyScript()]]) {
      const p3 = await browser.newPage({ viewport: { width: 900, height: 600 } });
      const errors = [];
      p3.on('pageerror', (e) => errors.push(e.message));
      await p3.setContent(`<!doctype html><meta charset="utf-8"><body>${body}</body>`);
      await p3.waitForSelector('.rnnlab-plot .main-svg', { timeout: 30000 });
      const drawn = await look(p3);
      console.log(`plotly.js ${where} the figure: ${drawn.svg} svg, placeholder ${drawn.note ? 'still there' : 'removed'}`);
      assert.equal(drawn.note, null, `plotly.js ${where}: the placeholder is removed when the figure is drawn`);
      assert.ok(drawn.svg >= 1);
      assert.deepEqual(errors, []);
    }
  } finally { await browser.close(); }
});

/** A synthetic train() history: 20 steps over 2 epochs, two clipped steps, validation per epoch. */
function history() {
  const steps = [], epochs = [];
  for (let i = 0; i < 20; i++) {
    const g = 0.4 + 2 * Math.exp(-i / 6) + (i % 9 === 4 ? 10 : 0);
    steps.push({ epoch: 1 + Math.floor(i / 10), step: i, loss: Math.exp(-i / 8), gradNorm: g, clippedNorm: Math.min(g, 1), clipped: g > 1, learningRate: 0.01 });
  }
  for (let e = 1; e <= 2; e++) epochs.push({ epoch: e, loss: 1, valLoss: 1.2 / e, gradNorm: 1, clipFraction: 0.1, learningRate: 0.01, samplesPerSecond: 1, tensors: 1, seconds: 1 });
  return { steps, epochs };
}

test('the plotly JSON of the library\'s figures draws with plotly.js alone in Chromium (Plotly.newPlot), no error', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const { chromium } = require('playwright-core');
  const T = 12;
  const flow = {
    loss: 0.3,
    layers: [{ name: 'lstm_1', directions: [{ dh: Array.from({ length: T }, (_, t) => 0.8 ** (T - 1 - t)), dc: Array.from({ length: T }, (_, t) => 0.9 ** (T - 1 - t)) }] }],
    dx: Array.from({ length: T }, (_, t) => 0.1 * 0.7 ** (T - 1 - t)),
    verdict: { verdict: 'vanishing', rate: 0.8 },
  };
  const figures = {
    trainingFigure: L.trainingFigure(history()),
    gradientFlowFigure: L.gradientFlowFigure(flow, { bound: 0.85 }),
    heatmapFigure: L.heatmapFigure(Array.from({ length: 4 }, (_, u) => Array.from({ length: 10 }, (_, t) => Math.sin(u + t / 3)))),
    singularValuesFigure: L.singularValuesFigure([[0.9, 0.2, 0], [0.1, 0.5, 0.3], [0, 0.2, 0.4]], { gamma: 1 }),
  };
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    for (const [name, f] of Object.entries(figures)) {
      const json = L.figureBundle(f)[PLOTLY];
      const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
      const errors = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
      await page.setContent('<!doctype html><meta charset="utf-8"><body><div id="fig" style="width:800px"></div></body>');
      await page.addScriptTag({ path: require.resolve(L.PLOTLY_BUNDLE, { paths: [ROOT] }) });   // the bundle the course inlines
      const r = await page.evaluate(async ({ data, layout, config }) => {
        const div = document.getElementById('fig');
        try { await window.Plotly.newPlot(div, data, layout, config); } catch (e) { return { error: String(e) }; }
        return { svg: div.querySelectorAll('.main-svg').length, traces: div._fullData.length, types: div._fullData.map((d) => d.type), visible: div._fullData.filter((d) => d.visible === true).length };
      }, json);
      console.log(`${name}: ${JSON.stringify(r)}; errors ${JSON.stringify(errors)}`);
      assert.equal(r.error, undefined, `${name}: Plotly.newPlot threw ${r.error}`);
      assert.ok(r.svg >= 1, `${name}: no svg drawn`);
      assert.equal(r.traces, json.data.length, `${name}: every trace is in plotly's full data`);
      assert.equal(r.visible, json.data.length, `${name}: every trace is drawable (a trace of an unknown type is not)`);
      assert.deepEqual(errors, [], `${name}: no error in the page`);
      await page.close();
    }
  } finally { await browser.close(); }
});

test('figureBundle refuses what is not a figure, and a trace type the bundle cannot draw, naming them', () => {
  assert.throws(() => L.figureBundle(42), /figureBundle\(figure\): figure must be a plotly figure \{ data: Trace\[\], layout\?, config\? \}; got 42$/);
  // (the shared describe: before, this said 'got undefined undefined')
  assert.throws(() => L.figureBundle({ layout: {} }), /figureBundle\(figure\): figure\.data must be an array of traces like \{ x, y, type \}; got undefined$/);
  assert.throws(() => L.figureBundle({ data: [{ type: 'surface', z: [[1]] }] }), /figureBundle\(figure\): figure\.data\[0\]\.type is 'surface'/);
});
