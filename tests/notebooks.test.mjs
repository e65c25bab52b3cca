// Every lesson (notebooks/) and every homework solution (homework/*.ipynb) runs headless through
// Jupyter in the course kernel: no cell error, nothing on stderr, every code cell executed.
// Runtimes are reported against the 60 s budget (a report: machines are noisy); the cell timeout only
// catches hangs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { ROOT, needs, CHROMIUM } from './helpers.mjs';
import { listNotebooks, executeNotebooks, findPython, INSTALL_HINT, copyMathJax } from '../scripts/lib/jupyter.mjs';
import { createRequire } from 'node:module';
import { inspectPages, drawPlotlyJson } from './pages.mjs';
import { installKernel } from '../scripts/kernel.mjs';

const PLOTLY_MIME = 'application/vnd.plotly.v1+json';

/** The plotly.js bundle the course ships (src/display.ts PLOTLY_BUNDLE), as the project resolves it. */
function plotlyBundleText() {
  return fs.readFileSync(createRequire(path.join(ROOT, 'package.json')).resolve('plotly.js-cartesian-dist-min'), 'utf8');
}

/** Every figure output of an executed notebook: where it is, its MIME types and its plotly JSON. */
function figureOutputs(file) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  const figures = [];
  nb.cells.forEach((c, cell) => (c.outputs ?? []).forEach((o, output) => {
    if (o.data?.[PLOTLY_MIME] !== undefined) figures.push({ cell, output, mimes: Object.keys(o.data), json: o.data[PLOTLY_MIME] });
  }));
  return figures;
}

const BUDGET_S = 60;
const notebooks = [...listNotebooks(path.join(ROOT, 'notebooks')), ...listNotebooks(path.join(ROOT, 'homework'))];

test('there are notebooks to run', () => {
  assert.ok(notebooks.length >= 1, 'notebooks/ has no .ipynb');
});

test('every notebook executes headless without errors or stderr output, and its page renders in Chromium', async (t) => {
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  installKernel();
  const site = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-pages-'));
  const executed = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-executed-'));
  t.after(() => fs.rmSync(executed, { recursive: true, force: true }));
  const reports = executeNotebooks(notebooks, { cellTimeout: 300, html: site, out: executed });
  const total = reports.reduce((s, r) => s + r.seconds, 0);
  console.log('notebook runtimes (budget 60 s each):');
  for (const r of reports) {
    console.log(`  ${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(1).padStart(6)} s ${r.seconds > BUDGET_S ? 'OVER BUDGET' : '          '} ${path.relative(ROOT, r.path)}`);
  }
  console.log(`  total ${total.toFixed(1)} s for ${reports.length} notebooks`);
  const bad = reports.filter((r) => !r.ok).map((r) =>
    `${path.relative(ROOT, r.path)}: ${[...r.errors, ...r.stderr.map((s) => `stderr in cell ${s.cell}: ${s.text}`)].join('\n    ')}`);
  assert.equal(bad.length, 0, `notebooks failed:\n  ${bad.join('\n  ')}`);
  assert.equal(reports.length, notebooks.length);

  // Every exported page: all plots drawn by plotly, math typeset, no JavaScript error, nothing fetched.
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  copyMathJax(site);
  const pages = await inspectPages(reports.map((r) => path.join(site, path.basename(r.path, '.ipynb') + '.html')));
  console.log('rendered pages:');
  for (const p of pages) console.log(`  ${path.basename(p.file).padEnd(44)} plots ${p.drawn}/${p.plots} drawn, math ${p.math}, problems ${p.problems.length}`);
  const broken = pages.filter((p) => p.drawn !== p.plots || p.problems.length || (p.hasMath && p.math === 0));
  fs.rmSync(site, { recursive: true, force: true });
  assert.deepEqual(broken.map((p) => ({ page: path.basename(p.file), plots: p.plots, drawn: p.drawn, math: p.math, problems: p.problems.slice(0, 5) })), []);

  // Every figure output carries text/plain and text/html beside its plotly JSON, and that JSON alone
  // draws with the course's plotly.js bundle (what JupyterLab's or VS Code's plotly renderer is given).
  const perNotebook = reports.map((r) => {
    const name = path.basename(r.path, '.ipynb');
    return { rel: path.relative(ROOT, r.path), figures: figureOutputs(path.join(executed, name + '.ipynb')) };
  });
  const all = perNotebook.flatMap((n) => n.figures.map((f) => ({ ...f, rel: n.rel })));
  const missing = all.filter((f) => !f.mimes.includes('text/plain') || !f.mimes.includes('text/html'))
    .map((f) => `${f.rel} cell ${f.cell} output ${f.output}: MIME types ${f.mimes.join(', ')}`);
  assert.deepEqual(missing, [], 'figure outputs without text/plain or text/html');
  const drawn = await drawPlotlyJson(all.map((f) => f.json), plotlyBundleText());
  console.log('plotly JSON drawn by plotly.js alone (figures ok/checked):');
  let at = 0;
  for (const n of perNotebook) {
    const bad = drawn.slice(at, at + n.figures.length).filter((p) => p.length).length;
    at += n.figures.length;
    console.log(`  ${n.rel.padEnd(52)} ${n.figures.length - bad}/${n.figures.length}`);
  }
  console.log(`  total ${all.length - drawn.filter((p) => p.length).length}/${all.length} figures in ${perNotebook.length} notebooks`);
  const failed = all.map((f, i) => ({ where: `${f.rel} cell ${f.cell} output ${f.output}`, problems: drawn[i] })).filter((f) => f.problems.length);
  assert.deepEqual(failed, [], 'figures whose plotly JSON plotly.js did not draw');
  assert.ok(all.length > 0, 'no figure output in any notebook: the check above checked nothing');
});

test('drawPlotlyJson reports a figure plotly.js cannot draw and passes one it can', { timeout: 60000 }, async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const figures = [
    { data: [{ type: 'scatter', y: [1, 4, 9], name: 'squares' }, { type: 'bar', x: [1, 2], y: [3, 4] }], layout: { title: { text: 'fine' } }, config: {} },
    // surface is a 3-D trace, not in the cartesian bundle: plotly hides it and draws empty axes.
    { data: [{ type: 'surface', z: [[1, 2], [3, 4]] }], layout: {}, config: {} },
    // y that is not an array: no usable data, plotly hides the trace.
    { data: [{ type: 'scatter', y: 'not an array' }], layout: {}, config: {} },
    // A trace the figure itself hides is not a problem; its visible sibling is drawn.
    { data: [{ y: [1, 2], visible: false }, { y: [2, 3] }], layout: {}, config: {} },
    { data: [], layout: {}, config: {} },
  ];
  const [fine, surface, notArray, hidden, empty] = await drawPlotlyJson(figures, plotlyBundleText());
  assert.deepEqual(fine, []);
  assert.deepEqual(hidden, []);
  assert.equal(surface.length, 1, JSON.stringify(surface));
  assert.match(surface[0], /trace 0 \(type "surface".*visible: false/);
  assert.equal(notArray.length, 1, JSON.stringify(notArray));
  assert.match(notArray[0], /trace 0 \(type "scatter".*visible: false/);
  assert.deepEqual(empty, ['the figure has no traces: an empty plot']);
});

test('committed notebooks carry no outputs and name the course kernel', () => {
  const all = [...notebooks];
  for (const dir of ['homework/release']) all.push(...listNotebooks(path.join(ROOT, dir)));
  for (const file of all) {
    const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    const rel = path.relative(ROOT, file);
    assert.equal(nb.metadata?.kernelspec?.name, 'rnn-lab', `${rel}: metadata.kernelspec.name must be 'rnn-lab'`);
    assert.equal(nb.metadata?.kernelspec?.display_name, 'TypeScript (rnn-lab)', `${rel}: kernelspec display name`);
    nb.cells.forEach((c, i) => {
      if (c.cell_type !== 'code') return;
      assert.deepEqual(c.outputs, [], `${rel}: cell ${i} has outputs; clear them before committing`);
      assert.equal(c.execution_count, null, `${rel}: cell ${i} has an execution count; clear outputs before committing`);
    });
  }
});

test('the executor fails a notebook on a throwing cell, on stderr output, and on cells left unrun', (t) => {
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', findPython(['nbclient', 'nbconvert', 'ipykernel']), INSTALL_HINT)) return;
  installKernel();
  const dir = fs.mkdtempSync(path.join(ROOT, 'tests', '.tmp-nb-'));
  const make = (name, sources) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify({
      nbformat: 4, nbformat_minor: 5,
      metadata: { kernelspec: { name: 'rnn-lab', display_name: 'TypeScript (rnn-lab)', language: 'typescript' } },
      cells: sources.map((s, i) => ({ cell_type: 'code', id: `c${i}`, metadata: {}, source: s, outputs: [], execution_count: null })),
    }));
    return file;
  };
  try {
    const files = [
      make('throws.ipynb', ['const a = 1;', "throw new Error('boom');", 'console.log(a);']),
      make('stderr.ipynb', ["console.error('something went wrong');"]),
      make('fine.ipynb', ["import { expectClaim } from 'rnn-lab';", "expectClaim(1 + 1 === 2, 'arithmetic works');"]),
    ];
    const [throws, stderr, fine] = executeNotebooks(files, { cellTimeout: 60 });
    assert.equal(throws.ok, false);
    assert.match(throws.errors.join('\n'), /boom/);
    assert.equal(stderr.ok, false);
    assert.match(stderr.stderr[0].text, /something went wrong/);
    assert.equal(fine.ok, true, JSON.stringify(fine));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
