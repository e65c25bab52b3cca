// The plotly.js bundle inlined by show() (issue 13, item 4): it draws every trace type the lessons
// use and the common analyst plots, the list of supported types matches what the bundle registers,
// and a figure of a type the bundle lacks is rejected by name instead of drawn blank.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { lib, needs, CHROMIUM, ROOT } from '../helpers.mjs';

const L = lib();
const require = createRequire(import.meta.url);

/** One small figure per trace type; the data is whatever that type needs to draw something. */
const SAMPLES = {
  scatter: { x: [1, 2, 3], y: [2, 1, 3], mode: 'lines+markers' },
  bar: { x: ['a', 'b', 'c'], y: [1, 3, 2] },
  heatmap: { z: [[1, 2, 3], [3, 2, 1]] },
  histogram: { x: [1, 1, 2, 3, 3, 3, 4] },
  box: { y: [1, 2, 2, 3, 4, 10] },
  violin: { y: [1, 2, 2, 3, 4, 5, 5, 6] },
  contour: { z: [[1, 2, 3], [2, 4, 2], [3, 2, 1]] },
  histogram2d: { x: [1, 2, 2, 3, 3, 3], y: [1, 1, 2, 2, 3, 3] },
  histogram2dcontour: { x: [1, 2, 2, 3, 3, 3, 4, 2], y: [1, 1, 2, 2, 3, 3, 2, 4] },
  image: { z: [[[255, 0, 0], [0, 255, 0]], [[0, 0, 255], [255, 255, 0]]] },
  pie: { values: [1, 2, 3], labels: ['a', 'b', 'c'] },
  scatterternary: { a: [1, 2, 3], b: [2, 1, 1], c: [1, 1, 2], mode: 'markers' },
};

/** The trace types written in the lessons, homework and library sources (`type: 'bar'`, also in notebook JSON). */
function typesInCourse() {
  const files = [];
  for (const dir of ['notebooks', 'homework', 'src']) {
    for (const f of fs.readdirSync(path.join(ROOT, dir))) {
      if (/\.(ipynb|ts)$/.test(f)) files.push(path.join(ROOT, dir, f));
    }
  }
  const found = new Map();
  const axisTypes = new Set(['log', 'linear', 'date', 'category', 'multicategory', '-']);
  // layout.shapes[].type (a line or box drawn over the plot, lesson 13), not a trace type
  const shapeTypes = new Set(['line', 'rect', 'circle', 'path']);
  for (const f of files) {
    // In a notebook's JSON a quote inside the source is escaped: type: \"bar\".
    for (const m of fs.readFileSync(f, 'utf8').matchAll(/\btype\\?['"]?\s*:\s*\\?['"]([a-z0-9]+)\\?['"]/g)) {
      const t = m[1];
      if (axisTypes.has(t) || shapeTypes.has(t) || t === 'code' || t === 'markdown' || t === 'text') continue; // axis and notebook cell types
      if (!found.has(t)) found.set(t, path.relative(ROOT, f));
    }
  }
  return found;
}

test('every trace type the lessons, homework and library write is one the bundle draws; the analyst basics are there too', () => {
  const found = typesInCourse();
  console.log(`trace types in the course: ${[...found].map(([t, f]) => `${t} (first in ${f})`).join(', ')}`);
  assert.ok(found.has('scatter') && found.has('bar') && found.has('heatmap'), `the scan finds the known types; found ${[...found.keys()]}`);
  for (const [t, f] of found) assert.ok(L.PLOTLY_TRACE_TYPES.includes(t), `${f} uses trace type '${t}', which ${L.PLOTLY_BUNDLE} lacks`);
  for (const t of ['scatter', 'bar', 'heatmap', 'histogram', 'box']) assert.ok(L.PLOTLY_TRACE_TYPES.includes(t), `${t} supported`);
  assert.deepEqual(Object.keys(SAMPLES).sort(), [...L.PLOTLY_TRACE_TYPES].sort(), 'one sample figure per supported type');
});

test('show/figureHtml/liveFigure reject a trace type the bundle lacks, naming the trace, the type and the supported ones', () => {
  const out = [];
  L.setDisplaySink({ kind: 'notebook', html: (h) => out.push(h), newDisplay: () => ({ html: (h) => out.push(h) }), text: (t) => out.push(t) });
  try {
    const fig = { data: [{ y: [1, 2] }, { z: [[1, 2], [3, 4]], type: 'surface' }] };
    const list = L.PLOTLY_TRACE_TYPES.join(', ');
    assert.ok(list.includes('scatter') && list.includes('heatmap'));
    const msg = (fn) => new RegExp(`^TypeError: ${fn.replace('.', '\\.')}\\(figure\\): figure\\.data\\[1\\]\\.type is 'surface', which the plotly\\.js bundle in use \\(plotly\\.js-cartesian-dist-min\\) does not draw; supported types: ${list}$`);
    assert.throws(() => L.show(fig), msg('show'));
    assert.throws(() => L.figureHtml(fig), msg('figureHtml'));
    assert.throws(() => L.liveFigure().update(fig), msg('liveFigure.update'));
    assert.throws(() => L.show({ data: [{ y: [1], type: 'scattergl' }] }), /figure\.data\[0\]\.type is 'scattergl'/);
    assert.throws(() => L.show({ data: [{ y: [1], type: 'Bar' }] }), /figure\.data\[0\]\.type is 'Bar'/, 'plotly type names are lower case');
    assert.throws(() => L.show({ data: [{ y: [1], type: 7 }] }), /figure\.data\[0\]\.type is 7, which the plotly\.js bundle/);
    assert.throws(() => L.show({ data: [{ y: [1], type: null }] }), /figure\.data\[0\]\.type is null/);
    assert.equal(out.length, 0, 'nothing is displayed for a rejected figure');
    // Outside a notebook too: the same figure would be blank in one.
    L.setDisplaySink(undefined);
    assert.throws(() => L.show(fig), msg('show'));
  } finally {
    L.setDisplaySink(undefined);
  }
  // No type (plotly's default scatter) and every supported type pass.
  for (const t of [undefined, ...L.PLOTLY_TRACE_TYPES]) assert.match(L.figureHtml({ data: [{ ...SAMPLES[t ?? 'scatter'], type: t }] }), /Plotly\.newPlot/);
});

test('the inlined bundle draws one figure of each supported type in Chromium, and registers exactly those types', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  let script;
  try { script = L.plotlyScript(); } catch (e) {
    if (!needs(t, `the plotly.js bundle ${L.PLOTLY_BUNDLE}`, false, `${e.message} (package.json lists it; node_modules predates the change)`)) return;
  }
  const { chromium } = require('playwright-core');
  const types = [...L.PLOTLY_TRACE_TYPES];
  const divs = types.map((type) => L.figureHtml({ data: [{ ...SAMPLES[type], type }], layout: { height: 300, title: { text: type } } })).join('\n');
  const html = `<!doctype html><html><head><meta charset="utf-8">${script}</head><body style="margin:0;width:700px">${divs}<div id="neg"></div></body></html>`;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 720, height: 800 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`console.error: ${m.text()}`); });
    await page.setContent(html);
    await page.waitForFunction((n) => document.querySelectorAll('.rnnlab-plot .main-svg').length >= n, types.length, { timeout: 60000 });
    const r = await page.evaluate(async () => {
      const plots = [...document.querySelectorAll('.rnnlab-plot')].map((el) => ({
        type: el._fullData?.[0]?.type,
        visible: el._fullData?.[0]?.visible,
        svg: el.querySelectorAll('.main-svg').length,
        // The trace's own groups (plotly puts each trace's group in its type's layer, `.mlayer`, or a
        // pie's slices in `.pielayer`, a ternary trace in `.ternarylayer`) and the shapes drawn in them: a path with a outline or an image.
        marks: el.querySelectorAll('.mlayer > g, .pielayer .slice, .ternarylayer g.trace').length,
        shapes: [...el.querySelectorAll('.mlayer > g path, .mlayer > g image, .pielayer .slice path, .ternarylayer g.trace path')]
          .filter((s) => s.tagName === 'image' ? !!s.getAttribute('href') || !!s.getAttribute('xlink:href') : (s.getAttribute('d') ?? '').length > 2).length,
      }));
      // Negative control, bypassing show()'s check: plotly draws a type this bundle lacks as nothing.
      const neg = document.getElementById('neg');
      await window.Plotly.newPlot(neg, [{ z: [[1, 2], [3, 4]], type: 'surface' }]);
      return {
        plots,
        registered: Object.keys(window.Plotly.PlotSchema.get().traces).sort(),
        version: window.Plotly.version,
        neg: { type: neg._fullData[0].type, visible: neg._fullData[0].visible },
      };
    });
    console.log(`plotly.js ${r.version}; registered: ${r.registered.join(' ')}`);
    for (const p of r.plots) console.log(`  ${p.type}: visible ${p.visible}, ${p.svg} svg, ${p.marks} trace groups, ${p.shapes} shapes`);
    console.log(`  negative control 'surface' drawn directly: visible ${r.neg.visible}`);
    assert.equal(r.version, '2.35.3');
    assert.deepEqual(r.registered, [...types].sort(), 'PLOTLY_TRACE_TYPES is exactly what the bundle registers');
    assert.deepEqual(r.plots.map((p) => p.type), types);
    for (const p of r.plots) {
      assert.equal(p.visible, true, `${p.type} is drawn (plotly marks a type it lacks visible: false)`);
      assert.ok(p.svg >= 1 && p.marks >= 1 && p.shapes >= 1, `${p.type}: ${p.svg} svg, ${p.marks} trace groups, ${p.shapes} shapes drawn`);
    }
    assert.equal(r.neg.visible, false, 'control: a type outside the bundle is silently not drawn');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
