// `npm run export` (scripts/course/export.mjs → scripts/course/nbexport.py): lesson 00, executed headless, exported
// as executed, with its plotly.js loader output removed, with the loader moved to the last cell, with
// the loader in the kernel's newer marked form (plus the stub it leaves when moved), and as saved before
// figures carried plotly JSON (their own HTML only, no loader). Every page
// opens with the network blocked, draws every figure of the notebook (counted from the notebook's
// plotly JSON, not from the page), typesets its math, has no JavaScript error and holds plotly.js
// exactly once. --pdf: a PDF whose figure areas carry plotly's saturated trace colours, with a
// bound that a PDF printed without JavaScript (figures undrawn) fails. Every error case exits 1 with
// a message naming the file and writes nothing (including --out names of the other format, and flags npm
// took for itself without `--`); foreign files are replaced only with --force. A notebook with an error
// output and cells that never ran is exported with a note naming them; the page (and PDF) is titled with
// the notebook's first heading; long output lines wrap at spaces in the PDF; malformed figure JSON is an
// error naming its cells.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs, CHROMIUM } from './helpers.mjs';
import { executeNotebooks, findPython, INSTALL_HINT, KERNEL_DIR } from '../scripts/lib/jupyter.mjs';
import { installKernel, writeKernelSpec } from '../scripts/kernel.mjs';
import { cellList, lostFigures } from '../scripts/course/export.mjs';

const EXPORT = path.join(ROOT, 'scripts', 'course', 'export.mjs');
const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
// The header comment of the plotly.js bundle, read from the bundle itself (not from the exporter).
const BUNDLE = fs.readFileSync(path.join(ROOT, 'node_modules', 'plotly.js-cartesian-dist-min', 'plotly-cartesian.min.js'), 'utf8');
const HEADER = BUNDLE.slice(0, 300).match(/plotly\.js \([^)]*\) v\d+\.\d+\.\d+/)[0];
const LESSON = path.join(ROOT, 'notebooks', '00-welcome.ipynb');
const HAS_JUPYTER = findPython(['nbclient', 'nbconvert', 'ipykernel']);
const HAS_PDFTOPPM = spawnSync('pdftoppm', ['-v'], { stdio: 'ignore' }).error === undefined;

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-export-test-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function runExport(args, env = {}) {
  const r = spawnSync(process.execPath, [EXPORT, ...args], { encoding: 'utf8', cwd: ROOT, env: { ...process.env, ...env } });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

const count = (text, needle) => text.split(needle).length - 1;
const outputsOf = (nb) => nb.cells.flatMap((c, cell) => (c.outputs ?? []).map((o, k) => ({ o, cell, k })));
const htmlOf = (o) => [].concat(o.data?.['text/html'] ?? []).join('');
const isLegacyLoader = (o) => htmlOf(o).includes(HEADER);
const writeJson = (file, value) => { fs.writeFileSync(file, JSON.stringify(value)); return file; };
/** Every file under `dir` with its bytes, to show that a failed run wrote nothing. */
const snapshot = (dir) => Object.fromEntries(fs.readdirSync(dir).sort().map((f) => [f, fs.readFileSync(path.join(dir, f)).toString('base64')]));

/** A tiny notebook (no kernel needed): one markdown cell with math, one code cell with the given outputs. */
function tinyNotebook(outputs) {
  return {
    nbformat: 4, nbformat_minor: 5,
    metadata: { kernelspec: { name: 'rnn-lab', display_name: 'TypeScript (rnn-lab)', language: 'typescript' } },
    cells: [
      { cell_type: 'markdown', id: 'm0', metadata: {}, source: 'Euler: $e^{i\\pi} + 1 = 0$' },
      { cell_type: 'code', id: 'c1', metadata: {}, source: 'console.log(1)', execution_count: outputs.length ? 1 : null, outputs },
    ],
  };
}
const STREAM = { output_type: 'stream', name: 'stdout', text: 'hello\n' };

test('command line errors: exit 1, a message naming the file (or flag) and how to proceed, nothing written', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'errors-'));
  const notJson = path.join(dir, 'broken.ipynb');
  fs.writeFileSync(notJson, '{"cells": [');
  const notNb = writeJson(path.join(dir, 'data.ipynb'), { rows: [1, 2, 3] });
  const unrun = path.join(dir, '00-welcome.ipynb');
  fs.copyFileSync(LESSON, unrun); // committed lessons carry no outputs
  const ran = writeJson(path.join(dir, 'ran.ipynb'), tinyNotebook([STREAM]));
  const cases = [
    { args: [], re: [/which notebook\?/, /usage: npm run export -- PATH\.ipynb \[--pdf\]/] },
    { args: [ran, '--pfd'], re: [/unknown option --pfd/, /usage: npm run export/] },
    { args: [ran, '--out'], re: [/--out needs a file name/, /usage:/] },
    // --out must name the format written: no page in a .pdf, no PDF in a .html.
    { args: [ran, '--out', path.join(dir, 'hw-out.pdf')], re: [/--out .*hw-out\.pdf names a PDF, but without --pdf the export is an HTML page: add --pdf/] },
    { args: [ran, '--pdf', '--out', path.join(dir, 'out.html')], re: [/--pdf writes a PDF, but --out .*out\.html does not end in \.pdf/] },
    { args: [ran, '--out', path.join(dir, 'out.txt')], re: [/out\.txt: an HTML page is written to a file ending in \.html or \.htm/] },
    { args: [ran, '--force', '--out', ran], re: [/ran\.ipynb: the output must not be a notebook/] },
    // `npm run export hw.ipynb --pdf` (no `--`): npm keeps the flags and says so only in its environment.
    { args: ['hw.ipynb'], env: { npm_lifecycle_event: 'export', npm_config_pdf: 'true' }, re: [/npm took --pdf as its own option/, /nothing was exported/, /\n {2}npm run export -- hw\.ipynb --pdf$/m] },
    { args: ['hw.ipynb'], env: { npm_lifecycle_event: 'export', npm_config_parseable: 'true', npm_config_loglevel: 'info', npm_config_force: 'true' }, re: [/npm took --pdf as/, /npm run export -- hw\.ipynb --pdf$/m] },
    { args: ['hw.ipynb', 'x.pdf'], env: { npm_lifecycle_event: 'export', npm_config_out: 'true' }, re: [/npm took --out as/, /npm run export -- hw\.ipynb --out x\.pdf$/m] },
    { args: ['hw.ipynb'], env: { npm_lifecycle_event: 'export', npm_config_out: 'a b.html', npm_config_force: 'true' }, re: [/npm took --out and --force as its own options/, /npm run export -- hw\.ipynb --out 'a b\.html' --force$/m] },
    { args: [path.join(dir, 'missing.ipynb')], re: [/missing\.ipynb does not exist/] },
    { args: [notJson], re: [/broken\.ipynb is not a notebook: it is not JSON/] },
    { args: [notNb], re: [/data\.ipynb is not a Jupyter notebook/, /"cells"/] },
    { args: [unrun], re: [/00-welcome\.ipynb has no outputs/, /run it and save it first/, /Kernel → Restart & Run All/, /File → Save/] },
    { args: [ran, '--pdf'], env: { RNN_LAB_CHROMIUM: path.join(dir, 'no-chromium') }, re: [/RNN_LAB_CHROMIUM=.*no-chromium does not exist/, /apt-get install chromium/] },
    { args: [ran], env: { RNN_LAB_PYTHON: path.join(dir, 'no-python') }, re: [/nbconvert was not found/, /no-python/, /pip install jupyterlab/] },
    { args: [ran, '--out', path.join(dir, 'no-such-folder', 'x.html')], re: [/no-such-folder does not exist/] },
    { args: [ran, '--out', path.join(dir, 'copy.ipynb')], re: [/must not be a notebook/] },
  ];
  const before = snapshot(dir);
  for (const c of cases) {
    const r = runExport(c.args, c.env);
    const what = `npm run export -- ${c.args.map((a) => path.basename(a)).join(' ')}`;
    assert.equal(r.status, 1, `${what}: exit code 1 expected, got ${r.status}\n${r.err}`);
    for (const re of c.re) assert.match(r.err, re, `${what}: stderr lacks ${re}`);
    assert.match(r.err, /^rnn-lab export: /, `${what}: messages start with the tool's name`);
    assert.deepEqual(snapshot(dir), before, `${what} changed the folder`);
  }
});

test('through npm itself, without `--`: `npm run export X --pdf` and `--out F` fail and show the command that works', () => {
  const dir = fs.mkdtempSync(path.join(tmp, 'npm-'));
  const ran = writeJson(path.join(dir, 'ran.ipynb'), tinyNotebook([STREAM]));
  const before = snapshot(dir);
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  for (const [flags, right] of [[['--pdf'], `${ran} --pdf`], [['--out', 'x.pdf'], `${ran} --out x.pdf`]]) {
    const r = spawnSync('npm', ['run', 'export', ran, ...flags], { encoding: 'utf8', cwd: ROOT, env });
    if (r.error) return; // no npm on PATH
    assert.equal(r.status, 1, `npm run export ran.ipynb ${flags.join(' ')}: exit 1 expected, got ${r.status}\n${r.stderr}`);
    assert.ok(r.stderr.includes(`npm run export -- ${right}`), `stderr shows \`npm run export -- ${right}\`:\n${r.stderr}`);
    assert.deepEqual(snapshot(dir), before, 'nothing written');
  }
});

test('cellList and lostFigures: cells numbered and ranges joined, singular and plural', () => {
  assert.equal(cellList([3]), 'cell 3');
  assert.equal(cellList([10, 9]), 'cells 9–10');
  assert.equal(cellList([1, 3, 4, 5, 8]), 'cells 1, 3–5 and 8');
  assert.equal(lostFigures([2, 5], [2, 5]), undefined);
  assert.match(lostFigures([4, 5], [5]), /^the plotly figure JSON in cell 4 is malformed .*, so it could not be exported \(1 of 2 figures\)/);
  assert.match(lostFigures([4, 4, 6], [4]), /in cells 4 and 6 is malformed .*, so they could not be exported \(2 of 3 figures\)/);
});

test('overwriting: a foreign X.html is kept byte for byte without --force and replaced with it; a page the exporter wrote is replaced; titled by file name without a heading', (t) => {
  if (!needs(t, 'Jupyter (nbconvert)', HAS_JUPYTER, INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(tmp, 'overwrite-'));
  const nb = writeJson(path.join(dir, 'hw.ipynb'), tinyNotebook([STREAM]));
  const page = path.join(dir, 'hw.html');
  const foreign = '<!DOCTYPE html><html><head><title>my own notes</title></head><body>mine</body></html>';
  fs.writeFileSync(page, foreign);
  let r = runExport([nb]);
  assert.equal(r.status, 1, r.err);
  assert.match(r.err, /hw\.html already exists and was not written by the rnn-lab exporter/);
  assert.match(r.err, /add --force to replace it/);
  assert.match(r.err, /--out FILE/);
  assert.equal(fs.readFileSync(page, 'utf8'), foreign, 'the foreign page is unchanged');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['hw.html', 'hw.ipynb'], 'no temp file is left');

  // --force replaces it (as `jupyter nbconvert` would have left it).
  r = runExport([nb, '--force']);
  assert.equal(r.status, 0, r.err);
  // No figure: no plotly.js in the page, and the message does not claim it (fresh-user trial).
  assert.match(r.out, /wrote .*hw\.html \(\d+(\.\d)? [kM]B, 0 figures; MathJax inside, opens offline\)/);
  assert.doesNotMatch(fs.readFileSync(page, 'utf8'), /Plotly\.newPlot|plotly\.js v\d/, 'a page without figures carries no plotly.js');
  assert.doesNotMatch(r.err, /note:/, 'a notebook that ran without error gets no note');
  assert.match(fs.readFileSync(page, 'utf8'), /hello/);
  assert.match(fs.readFileSync(page, 'utf8'), /<title>hw<\/title>/, 'no heading: the page is titled with the file name');
  // Written by the exporter: replaced by the next export (of a changed notebook).
  writeJson(nb, tinyNotebook([{ ...STREAM, text: 'changed output\n' }]));
  r = runExport([nb]);
  assert.equal(r.status, 0, r.err);
  const html = fs.readFileSync(page, 'utf8');
  assert.match(html, /changed output/);
  assert.doesNotMatch(html, /hello/);
  // No figure: no plotly.js in the page; math is still typeset offline (MathJax inlined).
  assert.equal(count(html, HEADER), 0, 'plotly.js is inlined only when the page has a figure');
  assert.doesNotMatch(html, /<script[^>]+src=/, 'no external script at all');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['hw.html', 'hw.ipynb']);
});

test('a partly failed notebook: exported as saved, with a note naming the cell with the error and the cells that did not run; titled by its first heading', (t) => {
  if (!needs(t, 'Jupyter (nbconvert)', HAS_JUPYTER, INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(tmp, 'failed-'));
  const code = (source, count, outputs) => ({ cell_type: 'code', metadata: {}, source, execution_count: count, outputs });
  const nb = writeJson(path.join(dir, 'hw.ipynb'), {
    nbformat: 4, nbformat_minor: 5, metadata: {},
    cells: [
      { cell_type: 'markdown', metadata: {}, source: 'Some words first, then:\n\n# Homework 2: *LSTM* step\n' },
      code('const x = 1;', 1, [STREAM]),                                                              // cell 1
      code('shape()', 2, [{ output_type: 'error', ename: 'RangeError', evalue: '\x1b[31mexpected [batch, time, features]\x1b[0m\nsecond line', traceback: ['RangeError: expected [batch, time, features]'] }]), // cell 2
      { cell_type: 'markdown', metadata: {}, source: '## Part b' },                                      // cell 3
      code('train()', null, []),                                                                     // cell 4
      code('', null, []),                                                                            // cell 5: empty, nothing to run
      code('plot()', null, []),                                                                      // cell 6
    ],
  });
  const r = runExport([nb]);
  assert.equal(r.status, 0, r.err);
  assert.match(r.out, /wrote .*hw\.html/);
  assert.equal(r.err.trim(), 'rnn-lab export: note: cell 2 has an error (RangeError: expected [batch, time, features]); ' +
    'cells 4 and 6 did not run — the export shows the notebook as saved');
  const html = fs.readFileSync(path.join(dir, 'hw.html'), 'utf8');
  assert.ok(html.includes('RangeError: expected [batch, time, features]'), 'the error output (its traceback) is in the page');
  const title = html.match(/<title>([^<]*)<\/title>/)?.[1];
  assert.equal(title, 'Homework 2: LSTM step', 'titled by the first heading (markup dropped)');
});

test('malformed plotly figure JSON: exit 1 naming the cells, nothing written', (t) => {
  if (!needs(t, 'Jupyter (nbconvert)', HAS_JUPYTER, INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(tmp, 'malformed-'));
  const fig = (json) => ({ cell_type: 'code', metadata: {}, source: 'plot()', execution_count: 1, outputs: [{ output_type: 'display_data', metadata: {}, data: { [PLOTLY_MIME]: json, 'text/plain': 'fig' } }] });
  const nb = writeJson(path.join(dir, 'figs.ipynb'), {
    nbformat: 4, nbformat_minor: 5, metadata: {},
    cells: [fig({ data: [{ y: [1, 2] }] }), fig({ layout: {} }), fig({ data: [{ y: [3] }] }), fig({ data: 'not a list' })],
  });
  const before = snapshot(dir);
  const r = runExport([nb]);
  assert.equal(r.status, 1, r.err);
  assert.match(r.err, /figs\.ipynb: the plotly figure JSON in cells 1 and 3 is malformed .*so they could not be exported \(2 of 4 figures\)/);
  assert.deepEqual(snapshot(dir), before, 'nothing written');
});

// Lesson 00, executed once for the tests below.
let executed;
function executedLesson(t) {
  if (!needs(t, 'Jupyter (nbclient, nbconvert)', HAS_JUPYTER, INSTALL_HINT)) return undefined;
  if (executed) return executed;
  // The kernelspec in this checkout; the node_modules/rnn-lab link only when missing (in a git
  // worktree node_modules belongs to the main checkout: see tests/ui.test.mjs).
  if (fs.existsSync(path.join(ROOT, 'node_modules', 'rnn-lab'))) writeKernelSpec(KERNEL_DIR); else installKernel();
  const dir = fs.mkdtempSync(path.join(tmp, 'executed-'));
  const t0 = Date.now();
  const [rep] = executeNotebooks([LESSON], { out: dir, cellTimeout: 120 });
  console.log(`lesson 00 executed in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.ok(rep.ok, `lesson 00 failed: ${JSON.stringify(rep)}`);
  executed = JSON.parse(fs.readFileSync(path.join(dir, '00-welcome.ipynb'), 'utf8'));
  return executed;
}

/** Open pages offline in Chromium: figures (containers, drawn), math, errors, requests refused. */
async function openOffline(files, { javaScript = true } = {}) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'] });
  const out = [];
  try {
    for (const file of files) {
      const context = await browser.newContext({ javaScriptEnabled: javaScript });
      const blocked = [];
      await context.route('**', (r) => (r.request().url().startsWith('file:') ? r.continue() : (blocked.push(r.request().url()), r.abort())));
      const page = await context.newPage();
      const problems = [];
      page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
      page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
      page.on('requestfailed', (q) => problems.push(`request failed: ${q.url()}`));
      await page.goto(`file://${file}`);
      await page.waitForFunction(() => [...document.querySelectorAll('.rnnlab-plot')].every((d) => d.querySelector('.main-svg')), null, { timeout: 30000 }).catch(() => {});
      await page.waitForFunction(() => window.MathJax?.startup?.promise, null, { timeout: 20000 }).catch(() => {});
      await page.evaluate(() => window.MathJax?.startup?.promise).catch(() => {});
      out.push({
        file, blocked, problems,
        ...(await page.evaluate(() => ({
          plots: document.querySelectorAll('.rnnlab-plot').length,
          drawn: [...document.querySelectorAll('.rnnlab-plot')].filter((d) => d.querySelector('.main-svg')).length,
          placeholders: document.querySelectorAll('.rnnlab-plot-placeholder').length,
          math: document.querySelectorAll('mjx-container').length,
          requireJs: typeof window.require === 'function' || typeof window.requirejs === 'function',
        }))),
      });
      await context.close();
    }
  } finally {
    await browser.close();
  }
  return out;
}

test('lesson 00 exported as executed, without its loader, with the loader moved, and in the marked form: every figure draws offline, plotly.js once', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  const nb = executedLesson(t);
  if (!nb) return;
  const figures = outputsOf(nb).filter(({ o }) => o.data?.[PLOTLY_MIME]).length;
  const loaders = outputsOf(nb).filter(({ o }) => isLegacyLoader(o));
  assert.ok(figures >= 2, `lesson 00 shows a static and a live figure; the executed notebook has ${figures} outputs with plotly JSON`);
  assert.equal(loaders.length, 1, 'the executed lesson carries plotly.js once (its loader)');

  const without = structuredClone(nb);
  for (const c of without.cells) if (c.outputs) c.outputs = c.outputs.filter((o) => !isLegacyLoader(o));
  const moved = structuredClone(without);
  const lastCode = moved.cells.findLastIndex((c) => c.cell_type === 'code');
  moved.cells[lastCode].outputs.push(loaders[0].o);
  // The kernel's newer form (src/display.ts): the loader marked with its version, and where it was
  // superseded a stub that carries only the mark and empty text.
  const marked = structuredClone(without);
  marked.cells[lastCode].outputs.push({ ...loaders[0].o, metadata: { rnn_lab: { plotly_js: '2.35.3' } } });
  marked.cells[loaders[0].cell].outputs.unshift({ output_type: 'display_data', metadata: { rnn_lab: { plotly_js_moved: true } }, data: { 'text/plain': '' } });

  // Saved before figures carried plotly JSON: only the kernel's figure HTML, which draws itself with
  // window.Plotly (and no loader left): the page's plotly.js draws it.
  const legacy = structuredClone(without);
  for (const { o } of outputsOf(legacy)) delete o.data?.[PLOTLY_MIME];

  const dir = fs.mkdtempSync(path.join(tmp, 'variants-'));
  const variants = { executed: nb, 'no-loader': without, 'loader-last': moved, marked, legacy };
  const pages = [];
  for (const [name, v] of Object.entries(variants)) {
    const file = writeJson(path.join(dir, `${name}.ipynb`), v);
    const nbText = fs.readFileSync(file, 'utf8');
    assert.equal(count(nbText, HEADER), ['no-loader', 'legacy'].includes(name) ? 0 : 1, `${name}: plotly.js in the notebook`);
    const r = runExport([file]);
    assert.equal(r.status, 0, `${name}: ${r.err}`);
    assert.doesNotMatch(r.err, /note:/, `${name}: the executed lesson has no error and no unrun cell`);
    const html = fs.readFileSync(file.replace(/\.ipynb$/, '.html'), 'utf8');
    assert.equal(count(html, HEADER), 1, `${name}: the page holds plotly.js exactly once`);
    assert.equal(count(html, 'plotly_js_moved'), 0, `${name}: no loader stub in the page`);
    assert.doesNotMatch(html, /<script[^>]+src=/, `${name}: no external script (no require.js, MathJax inlined)`);
    pages.push(file.replace(/\.ipynb$/, '.html'));
    console.log(`${name}: page ${(html.length / 1048576).toFixed(2)} MB; ${r.out.trim()}`);
  }
  for (const p of await openOffline(pages)) {
    const name = path.basename(p.file);
    console.log(`${name}: figures ${p.drawn}/${p.plots} drawn (notebook has ${figures}), math ${p.math}, problems ${p.problems.length}, blocked ${p.blocked.length}`);
    if (name === 'legacy.html') {
      const legacyFigures = outputsOf(legacy).filter(({ o }) => htmlOf(o).includes('class="rnnlab-plot"')).length;
      assert.equal(legacyFigures, figures, 'every figure output keeps its HTML');
    }
    assert.equal(p.plots, figures, `${name}: one figure container per output with plotly JSON`);
    assert.equal(p.drawn, figures, `${name}: every figure drawn by plotly (.main-svg)`);
    assert.equal(p.placeholders, 0, `${name}: no placeholder left`);
    assert.ok(p.math > 0, `${name}: equations typeset (mjx-container)`);
    assert.equal(p.requireJs, false, `${name}: require.js is not loaded`);
    assert.deepEqual(p.problems, [], `${name}: no console error, page error or failed request`);
    assert.deepEqual(p.blocked, [], `${name}: no network request`);
  }
});

/** Saturated pixels (max − min channel ≥ 96 of 255) on every page of a PDF rendered by pdftoppm at 72 dpi. */
function saturatedPixels(pdf) {
  const prefix = path.join(path.dirname(pdf), `${path.basename(pdf, '.pdf')}-page`);
  const r = spawnSync('pdftoppm', ['-r', '72', pdf, prefix], { encoding: 'utf8' });
  assert.equal(r.status, 0, `pdftoppm failed: ${r.stderr}`);
  const pages = fs.readdirSync(path.dirname(pdf)).filter((f) => f.startsWith(path.basename(prefix)) && f.endsWith('.ppm')).sort();
  let saturated = 0;
  for (const f of pages) {
    const buf = fs.readFileSync(path.join(path.dirname(pdf), f));
    // Binary PPM: "P6\n<w> <h>\n255\n" then RGB bytes.
    const m = buf.subarray(0, 64).toString('latin1').match(/^P6\s+(\d+)\s+(\d+)\s+255\s/);
    assert.ok(m, `${f} is not a binary PPM`);
    for (let i = m[0].length; i + 2 < buf.length; i += 3) {
      const r = buf[i], g = buf[i + 1], b = buf[i + 2];
      if (Math.max(r, g, b) - Math.min(r, g, b) >= 96) saturated++;
    }
    fs.rmSync(path.join(path.dirname(pdf), f));
  }
  return { saturated, pages: pages.length };
}

/** Print an exported page as export.mjs does (A4, 12 mm margins, printable width), but with JavaScript off: figures stay placeholders. */
async function printWithoutJavaScript(html, pdf) {
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
  try {
    const context = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 703, height: 1100 } });
    await context.route('**', (q) => (q.request().url().startsWith('file:') ? q.continue() : q.abort()));
    const page = await context.newPage();
    await page.goto(`file://${html}`);
    fs.writeFileSync(pdf, await page.pdf({ format: 'A4', printBackground: true, margin: { top: '12mm', bottom: '12mm', left: '12mm', right: '12mm' } }));
  } finally {
    await browser.close();
  }
}

// Saturated pixels a drawn figure of lesson 00 adds at 72 dpi (its trace lines and legend). Syntax-
// highlighted code is saturated too (the whole lesson: ~8500 drawn against ~6700 undrawn), so the count
// is made on the lesson with its code cells' source blanked: then the figures are what is coloured
// (measured: ~2000 drawn, ~300 undrawn, for 2 figures).
const PER_FIGURE = 600;

test('--pdf: an A4 PDF whose figures are drawn (saturated trace colours), a bound an undrawn print fails; no overwrite without --force', async (t) => {
  if (!needs(t, 'Chromium', CHROMIUM, 'install it (Debian: apt-get install chromium)')) return;
  if (!needs(t, 'pdftoppm', HAS_PDFTOPPM, 'install poppler-utils (Debian: apt-get install poppler-utils)')) return;
  const nb = executedLesson(t);
  if (!nb) return;
  const figures = outputsOf(nb).filter(({ o }) => o.data?.[PLOTLY_MIME]).length;
  const dir = fs.mkdtempSync(path.join(tmp, 'pdf-'));
  // A long output line of words (wraps several times at the page width) and one word longer than a line.
  const words = Array.from({ length: 60 }, (_, i) => `epoch${i} finished${i} loss=${(1 / (i + 1)).toFixed(5)}`).join(' ');
  const longWord = Array.from({ length: 30 }, (_, i) => `w${String(i).padStart(2, '0')}xxxxxx`).join(''); // 300 characters
  const withLong = structuredClone(nb);
  withLong.cells.push({ cell_type: 'code', metadata: {}, source: 'log()', execution_count: 99,
    outputs: [{ output_type: 'stream', name: 'stdout', text: `${words}\n${longWord}\n` }] });
  const file = writeJson(path.join(dir, 'lesson.ipynb'), withLong);
  const pdf = path.join(dir, 'lesson.pdf');
  const t0 = Date.now();
  let r = runExport([file, '--pdf']);
  assert.equal(r.status, 0, r.err);
  const bytes = fs.readFileSync(pdf);
  console.log(`--pdf took ${((Date.now() - t0) / 1000).toFixed(1)} s: ${r.out.trim()}`);
  assert.equal(bytes.subarray(0, 5).toString('latin1'), '%PDF-');
  assert.match(r.out, new RegExp(`wrote .*lesson\\.pdf \\(\\d+(\\.\\d)? [kM]B, ${figures} figures, A4\\)`));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['lesson.ipynb', 'lesson.pdf'], 'only the PDF is written (no HTML beside it, no temp file)');

  // Title: the lesson's first heading (read here from the notebook), in the PDF's metadata.
  const heading = nb.cells.filter((c) => c.cell_type === 'markdown').map((c) => [].concat(c.source).join(''))
    .flatMap((md) => md.split('\n')).find((l) => /^#+ /.test(l)).replace(/^#+ /, '').trim();
  const info = spawnSync('pdfinfo', [pdf], { encoding: 'utf8' });
  if (info.error === undefined) assert.equal(info.stdout.match(/^Title:\s*(.*)$/m)?.[1].trim(), heading, 'PDF title = first heading');
  // Long output lines wrap at spaces: every word of the line comes out of the PDF whole (JupyterLab's
  // word-break: break-all cut them: "fini / shed"); the word longer than a line is broken, nothing lost.
  const text = spawnSync('pdftotext', [pdf, '-'], { encoding: 'utf8' });
  if (text.error === undefined) {
    const tokens = new Set(text.stdout.split(/\s+/));
    const cut = words.split(' ').filter((w) => !tokens.has(w));
    const pieces = text.stdout.split(/\s+/).filter((w) => w && longWord.includes(w) && w.length > 8);
    console.log(`long output line: ${words.split(' ').length} words, ${cut.length} cut inside; 300-character word in pieces of ${pieces.map((w) => w.length).join(', ')}`);
    assert.deepEqual(cut, [], 'no word of the long output line is broken across lines');
    assert.ok(text.stdout.replace(/\s+/g, '').includes(longWord), 'the 300-character word is all there');
    assert.ok(!tokens.has(longWord), 'the 300-character word is broken across lines (it is longer than a line)');
  }

  // An existing PDF is not replaced without --force (a PDF carries no marker), and is with it.
  const other = "%PDF-1.4 someone else's";
  fs.writeFileSync(pdf, other);
  r = runExport([file, '--pdf']);
  assert.equal(r.status, 1);
  assert.match(r.err, /lesson\.pdf already exists/);
  assert.match(r.err, /add --force to replace it/);
  assert.equal(fs.readFileSync(pdf, 'utf8'), other);
  r = runExport([file, '--pdf', '--force']);
  assert.equal(r.status, 0, r.err);
  assert.equal(fs.readFileSync(pdf).subarray(0, 5).toString('latin1'), '%PDF-');
  assert.ok(Math.abs(fs.statSync(pdf).size - bytes.length) < bytes.length / 10, 'replaced by the same export');

  // The figures are in the PDF: saturated pixels, against the same page printed with JavaScript off.
  const blank = structuredClone(nb);
  for (const c of blank.cells) if (c.cell_type === 'code') c.source = '';
  const blankFile = writeJson(path.join(dir, 'blank.ipynb'), blank);
  r = runExport([blankFile, '--pdf']);
  assert.equal(r.status, 0, r.err);
  r = runExport([blankFile, '--out', path.join(dir, 'blank-page.html')]);
  assert.equal(r.status, 0, r.err);
  await printWithoutJavaScript(path.join(dir, 'blank-page.html'), path.join(dir, 'undrawn.pdf'));
  const drawn = saturatedPixels(path.join(dir, 'blank.pdf'));
  const undrawn = saturatedPixels(path.join(dir, 'undrawn.pdf'));
  const whole = saturatedPixels(pdf);
  console.log(`lesson PDF ${bytes.length} bytes, ${whole.pages} pages, ${whole.saturated} saturated pixels (code included); ` +
    `code blanked: drawn ${drawn.saturated} (${drawn.pages} pages), undrawn ${undrawn.saturated} (${undrawn.pages} pages); bound ${PER_FIGURE} × ${figures} = ${PER_FIGURE * figures}`);
  assert.ok(drawn.saturated >= PER_FIGURE * figures, `drawn PDF: ${drawn.saturated} saturated pixels < ${PER_FIGURE} × ${figures} figures`);
  assert.ok(undrawn.saturated < PER_FIGURE * figures, `the bound must fail for a PDF whose figures did not draw: ${undrawn.saturated} ≥ ${PER_FIGURE * figures}`);

  // A figure plotly cannot draw: exit 1 naming the figure and its cell, no PDF.
  const bad = structuredClone(nb);
  const at = outputsOf(bad).find(({ o }) => o.data?.[PLOTLY_MIME]);
  bad.cells[at.cell].outputs[at.k].data[PLOTLY_MIME].data = [null];
  const badFile = writeJson(path.join(dir, 'bad.ipynb'), bad);
  const t1 = Date.now();
  r = runExport([badFile, '--pdf']);
  assert.equal(r.status, 1, r.err);
  assert.match(r.err, new RegExp(`bad\\.ipynb: 1 figure did not draw, so no PDF was written: figure 1 .*\\(cell ${at.cell}: `));
  assert.equal(fs.existsSync(path.join(dir, 'bad.pdf')), false);
  assert.ok(Date.now() - t1 < 30000, 'a failed figure is reported without waiting for the timeout');
});
