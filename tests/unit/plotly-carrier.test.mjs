// Issue 13, item 2: a saved notebook always holds plotly.js exactly once, in an output that still
// exists, after any sequence of runs and re-runs of its cells. The kernel is a fake course-kernel hub
// (the channel scripts/kernel/kernel.cjs publishes display_data from); the notebook is a model of what
// a frontend and nbclient keep: a re-run clears the cell's outputs, display_data appends to the cell
// that made it, update_display_data replaces every output with that display_id wherever it is.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { lib, needs, CHROMIUM } from '../helpers.mjs';
import { createRequire } from 'node:module';

const L = lib();
const require = createRequire(import.meta.url);
const HUB = Symbol.for('rnn-lab.kernel');
const PLOTLY = 'application/vnd.plotly.v1+json';

afterEach(() => { delete globalThis[HUB]; L.setDisplaySink(undefined); });

/** A notebook of `figures.length` cells (cell i draws figures[i] figures) and the kernel it talks to. */
function session(figures, { cellIds = false } = {}) {
  const cells = figures.map((n, i) => ({ id: `cell-${i}`, figures: n, outputs: [] }));
  let count = 0;
  let running = null;                 // { execution, cell, code }
  const lastRun = new Map();
  const deleted = new Set();
  const sent = [];                    // every message, in order
  globalThis[HUB] = {
    state: new Int32Array(new SharedArrayBuffer(16)),
    display(content, update = false) {
      sent.push({ content, update, execution: running.execution });
      const id = content.transient?.display_id;
      if (update) {
        for (const c of cells) for (const o of c.outputs) if (id && o.displayId === id) { o.data = content.data; o.metadata = content.metadata; }
        return;
      }
      running.cell.outputs.push({ data: content.data, metadata: content.metadata, displayId: id });
    },
    cell: () => ({ execution: running.execution, code: running.code, ...(cellIds ? { cellId: running.cell.id } : {}) }),
    ...(cellIds ? { cellGone: (id, since) => deleted.has(id) || (lastRun.get(id) ?? 0) > since } : {}),
  };
  L.setDisplaySink(undefined);
  const fig = (i, k) => ({ data: [{ y: [1, 2 + k, 3 * i], name: `c${i}f${k}` }], layout: { title: { text: `cell ${i} figure ${k}` } } });
  return {
    cells, sent,
    /**
     * Run cell i: its outputs are cleared, then its code draws its figures (the last one live). The
     * code fingerprint is the cell's unless it was edited.
     */
    run(i, draw = cells[i].figures, code = `code of ${cells[i].id}`) {
      const cell = cells[i];
      cell.outputs = [];
      running = { execution: ++count, cell, code };
      lastRun.set(cell.id, count);
      for (let k = 0; k < draw; k++) {
        if (k === draw - 1 && k > 0) { const live = L.liveFigure({ minIntervalMs: 0 }); live.update(fig(i, k)); live.close(fig(i, k)); }
        else L.show(fig(i, k));
      }
      return count;
    },
    /** Code of an earlier execution drawing late (work a cell left running). */
    late(execution, i) { const was = running; running = { execution, cell: cells[i], code: `code of ${cells[i].id}` }; L.show(fig(i, 9)); running = was; },
    remove(i) { deleted.add(cells[i].id); cells.splice(i, 1); },
    loaders: () => cells.flatMap((c) => c.outputs).filter((o) => o.metadata?.rnn_lab?.plotly_js),
    figureCount: () => cells.flatMap((c) => c.outputs).filter((o) => PLOTLY in o.data).length,
    loaderSends: () => sent.filter((m) => !m.update && m.content.metadata?.rnn_lab?.plotly_js).length,
  };
}

/** A deterministic pseudo-random sequence (mulberry32). */
function rng(seed) {
  return () => { seed |= 0; seed = (seed + 0x6D2B79F5) | 0; let t = Math.imul(seed ^ (seed >>> 15), 1 | seed); t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t; return ((t ^ (t >>> 14)) >>> 0) / 4294967296; };
}

const FIGS = [0, 1, 2, 0, 3, 1, 0, 2];

for (const cellIds of [false, true]) {
  test(`plotly.js is in exactly one output after each of 300 random runs and re-runs (${cellIds ? 'frontend sends cellId' : 'no cell ids: classic Notebook, VS Code, nbclient'})`, () => {
    const nb = session(FIGS, { cellIds });
    const rand = rng(cellIds ? 7 : 13);
    for (let step = 0; step < 300; step++) {
      const i = Math.floor(rand() * FIGS.length);
      nb.run(i);
      const loaders = nb.loaders();
      assert.equal(loaders.length, nb.figureCount() > 0 ? 1 : 0,
        `after step ${step} (cell ${i}): ${loaders.length} outputs hold plotly.js, ${nb.figureCount()} figures in the notebook`);
      assert.match(loaders[0]?.data['text/html'] ?? '<script', /^<script/);
    }
    const runsWithFigures = nb.sent.filter((m) => !m.update && PLOTLY in m.content.data).map((m) => m.execution);
    console.log(`${cellIds ? 'cell ids' : 'no cell ids'}: plotly.js sent ${nb.loaderSends()} times over ${new Set(runsWithFigures).size} runs that drew figures`);
    if (cellIds) assert.ok(nb.loaderSends() < new Set(runsWithFigures).size / 3, 'with cell ids it moves only when its cell ran again');
  });
}

test('the reported case: re-running the cell that held plotly.js leaves it in the notebook (lesson 00 has two figure cells)', () => {
  for (const cellIds of [false, true]) {
    const nb = session([0, 1, 0, 1], { cellIds });
    nb.run(1);
    assert.ok(nb.cells[1].outputs.some((o) => o.metadata?.rnn_lab?.plotly_js), 'first held by cell 1');
    nb.run(3);
    assert.equal(nb.loaders().length, 1);
    nb.run(1);
    assert.equal(nb.loaders().length, 1, `cell ids ${cellIds}: after re-running cell 1`);
    nb.run(3); nb.run(1); nb.run(3);
    assert.equal(nb.loaders().length, 1);
  }
});

test('a cell re-run without drawing (edited) takes plotly.js with it; the next figure brings it back', () => {
  for (const cellIds of [false, true]) {
    const nb = session([1, 1, 1], { cellIds });
    nb.run(0); nb.run(1); nb.run(2);
    const holder = nb.cells.findIndex((c) => c.outputs.some((o) => o.metadata?.rnn_lab?.plotly_js));
    nb.run(holder, 0, 'edited code');
    assert.equal(nb.loaders().length, 0, 'gone with the cleared output');
    nb.run((holder + 1) % 3);
    assert.equal(nb.loaders().length, 1, `cell ids ${cellIds}: back with the next figure`);
  }
});

test('without cell ids, the same code run again sends plotly.js again but no update to the output its run cleared (nbclient 0.7 would misplace it)', () => {
  const nb = session([1, 1], { cellIds: false });
  nb.run(0); nb.run(1);
  const updates = () => nb.sent.filter((m) => m.update && m.content.metadata?.rnn_lab?.plotly_js_moved).length;
  const before = updates();
  nb.run(1);
  assert.equal(updates(), before, 'no update for the cleared output of cell 1');
  assert.equal(nb.loaders().length, 1);
  nb.run(0);
  assert.equal(updates(), before + 1, 'another cell: the copy in cell 1 is emptied');
  assert.equal(nb.loaders().length, 1);
});

test('with cell ids, deleting the cell that held plotly.js moves it to the next cell that draws', () => {
  const nb = session([1, 1, 1], { cellIds: true });
  nb.run(0); nb.run(1);
  assert.ok(nb.cells[0].outputs.some((o) => o.metadata?.rnn_lab?.plotly_js));
  nb.remove(0);
  nb.run(1);
  assert.equal(nb.loaders().length, 1);
  assert.ok(nb.cells[1].outputs.some((o) => o.metadata?.rnn_lab?.plotly_js));
});

test('a figure drawn late by an earlier execution does not move plotly.js', () => {
  const nb = session([1, 1], { cellIds: false });
  const first = nb.run(0);
  nb.run(1);
  const sends = nb.loaderSends();
  nb.late(first, 0);
  assert.equal(nb.loaderSends(), sends);
  assert.equal(nb.loaders().length, 1);
});

test('the output that held plotly.js is emptied and marked moved; loadPlotly(true) sends it again here; bad force is an error', () => {
  const nb = session([1, 1], { cellIds: false });
  nb.run(0); nb.run(1);
  const moved = nb.cells[0].outputs.find((o) => o.metadata?.rnn_lab?.plotly_js_moved);
  assert.ok(moved, 'cell 0 keeps a marked, empty output');
  assert.deepEqual(moved.data, { 'text/plain': '' });
  const loader = nb.loaders()[0];
  assert.equal(loader.metadata.rnn_lab.plotly_js, require('plotly.js-cartesian-dist-min/package.json').version);
  const before = nb.loaderSends();
  L.loadPlotly(true);
  assert.equal(nb.loaderSends(), before + 1);
  assert.equal(nb.loaders().length, 1);
  assert.throws(() => L.loadPlotly('yes'), /loadPlotly\(force\): force must be true or false; got/);
});

test('a saved notebook after random re-runs draws every figure in Chromium, whichever output holds plotly.js', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const nb = session(FIGS, { cellIds: false });
  const rand = rng(99);
  for (let step = 0; step < 40; step++) nb.run(Math.floor(rand() * FIGS.length));
  // Put the copy in the last cell that draws, below most figures: they must wait for it.
  const last = FIGS.length - 1;
  nb.run(last);
  const html = nb.cells.flatMap((c) => c.outputs).map((o) => o.data['text/html'] ?? '').join('\n');
  const expected = nb.figureCount();
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 700 } });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.setContent(`<!doctype html><meta charset="utf-8"><body>${html}</body>`);
    await page.waitForFunction((n) => document.querySelectorAll('.rnnlab-plot .main-svg').length >= n, expected, { timeout: 30000 }).catch(() => {});
    const drawn = await page.evaluate(() => [...document.querySelectorAll('.rnnlab-plot')].filter((d) => d.querySelector('.main-svg')).length);
    const above = await page.evaluate(() => {
      const all = [...document.querySelectorAll('.rnnlab-plot, script')];
      const loader = all.findIndex((e) => e.tagName === 'SCRIPT' && e.textContent.includes('plotly.js (cartesian'));
      return all.slice(0, loader).filter((e) => e.classList?.contains('rnnlab-plot')).length;
    });
    console.log(`figures ${expected}, drawn ${drawn}, of which above the one copy of plotly.js: ${above}`);
    assert.ok(above >= 3, 'the case under test: figures above the output holding plotly.js');
    assert.equal(drawn, expected);
    assert.deepEqual(errors, []);
  } finally { await browser.close(); }
});
