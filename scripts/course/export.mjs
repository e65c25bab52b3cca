// `npm run export -- PATH.ipynb [--pdf] [--out FILE] [--force]`: one executed notebook → one HTML page
// (or PDF) for hand-in, through the same export as `npm run course` (scripts/course/nbexport.py).
//
// The page opens offline: plotly.js and MathJax are inside it and every figure is drawn from its plotly
// JSON, so it does not matter where (or whether) the notebook still holds the output that loaded
// plotly.js. Files: the output goes beside the notebook (PATH.html, PATH.pdf) unless --out says
// otherwise (.html/.htm for a page, .pdf with --pdf: a name of the other format is refused, so no file
// holds what its name does not say), and is written atomically. Without --force an existing file is
// replaced only if it is a page this exporter (or `npm run course`) wrote (its generator marker; a PDF
// carries none); --force replaces any existing file. The notebook itself is never an output.
// A notebook saved with an error output or code cells that never ran is exported as saved, with a
// note on stderr naming those cells (numbered from 0 among all cells, as every message here).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, findPython, pythonCandidates, INSTALL_HINT, jupyterEnv, libFiles } from '../lib/jupyter.mjs';
import { GENERATOR_META } from './course.mjs';
import { scanArgs, wantsHelp } from '../lib/args.mjs';

export const USAGE = 'usage: npm run export -- PATH.ipynb [--pdf] [--out FILE] [--force]';
/** Where Chromium is looked for when RNN_LAB_CHROMIUM is not set (as tests/helpers.mjs CHROMIUM). */
export const CHROMIUM_CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
export const CHROMIUM_HINT = 'install Chromium (Debian/Ubuntu: `sudo apt-get install chromium`; elsewhere install ' +
  'Chromium or Google Chrome), or set RNN_LAB_CHROMIUM=/path/to/chromium';
const PLOTLY_MIME = 'application/vnd.plotly.v1+json';
// A4 at 96 CSS px per inch, minus 12 mm margins each side: the width figures are laid out at for a PDF.
const PDF_MARGIN_MM = 12;
const PDF_WIDTH_PX = Math.floor(((210 - 2 * PDF_MARGIN_MM) / 25.4) * 96);

/** An error for the user (exit code 1, no stack trace). */
export class ExportError extends Error {}

/** Parse the command line: { file, pdf, out, force }; throws ExportError (with the usage line) on anything else. */
export function parseArgs(argv) {
  const opts = { file: undefined, pdf: false, out: undefined, force: false };
  for (const a of scanArgs(argv, { pdf: { type: 'boolean' }, force: { type: 'boolean' }, out: { type: 'string' } })) {
    if (a.kind === 'option' && a.name === 'out') {
      if (!a.value || a.value.startsWith('--')) throw new ExportError(`--out needs a file name\n${USAGE}`);
      opts.out = a.value;
    } else if (a.kind === 'option') opts[a.name] = true;
    else if (a.kind === 'unknown' || a.raw.startsWith('-')) throw new ExportError(`unknown option ${a.raw}\n${USAGE}`);
    else if (opts.file !== undefined) throw new ExportError(`one notebook at a time: got ${opts.file} and ${a.value}\n${USAGE}`);
    else opts.file = a.value;
  }
  if (opts.file === undefined) throw new ExportError(`which notebook? no PATH.ipynb given\n${USAGE}`);
  return opts;
}

const quote = (a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, "'\\''")}'`);

/**
 * Flags npm took for itself because the command had no `--` before them (`npm run export hw.ipynb --pdf`):
 * npm hides them from the script and puts them in its environment instead. npm ≤ 10 sets
 * npm_config_pdf=true; npm 11 reads `--pdf` as its own short flags -p -d -f (npm_config_parseable,
 * npm_config_loglevel=info, npm_config_force). `--out X` becomes npm_config_out=true and X an argument;
 * `--out=X` npm_config_out=X; `--force` npm_config_force. Returns the message (with the command that
 * works) or undefined. Only under `npm run export` (npm_lifecycle_event), where the env is npm's.
 */
export function npmSwallowed(argv, env = process.env) {
  if (env.npm_lifecycle_event !== 'export') return undefined;
  const set = (k) => env[`npm_config_${k}`] !== undefined && env[`npm_config_${k}`] !== '' && env[`npm_config_${k}`] !== 'false';
  const npm11Pdf = set('parseable') && env.npm_config_loglevel === 'info' && set('force');
  const pdf = set('pdf') || npm11Pdf;
  const force = set('force') && !npm11Pdf;
  const out = set('out');
  if (!pdf && !force && !out) return undefined;
  const args = argv.filter((a) => !a.startsWith('-'));
  let outValue = out && env.npm_config_out !== 'true' ? env.npm_config_out : undefined;
  // `--out X`: npm left X among the arguments, after the notebook.
  if (out && outValue === undefined && args.length > 1) outValue = args.pop();
  const flags = [pdf && '--pdf', out && `--out ${outValue === undefined ? 'FILE' : quote(outValue)}`, force && '--force'].filter(Boolean);
  const right = ['npm run export --', ...args.map(quote), ...argv.filter((a) => a.startsWith('-')), ...flags].join(' ');
  const taken = [pdf && '--pdf', out && '--out', force && '--force'].filter(Boolean);
  return `npm took ${taken.join(' and ')} as its own option${taken.length > 1 ? 's' : ''} (npm passes flags on to the ` +
    `script only after \`--\`), so nothing was exported. Run:\n  ${right}` +
    (force || out ? '\n(or, if your npm configuration itself sets force or out: node scripts/course/export.mjs ...)' : '');
}

/** The Chromium to print with: RNN_LAB_CHROMIUM if set (only it: a typo must not fall back silently), else the first candidate that exists. */
export function findChromium() {
  const env = process.env.RNN_LAB_CHROMIUM;
  if (env) {
    if (!fs.existsSync(env)) throw new ExportError(`--pdf: RNN_LAB_CHROMIUM=${env} does not exist; ${CHROMIUM_HINT}`);
    return env;
  }
  const found = CHROMIUM_CANDIDATES.find((p) => fs.existsSync(p));
  if (!found) throw new ExportError(`--pdf needs Chromium, which was not found (looked for ${CHROMIUM_CANDIDATES.join(', ')}): ${CHROMIUM_HINT}`);
  return found;
}

function isLoader(o) {
  const m = o?.metadata?.rnn_lab;
  if (m && (m.plotly_js || m.plotly_js_moved)) return true;
  const h = [].concat(o?.data?.['text/html'] ?? []).join('').trimStart();
  return h.startsWith('<script') && /plotly\.js \([a-z -]+\) v\d+\.\d+\.\d+/.test(h.slice(0, 1000));
}

const plain = (text) => String(text ?? '').replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');

/**
 * What a saved notebook says about its run, for a note beside the export (which still shows it as
 * saved): code cells with an error output, and code cells (not empty) that never ran (no execution
 * count, no output). Returns the note or undefined.
 */
export function runNote(nb) {
  const parts = [];
  const unrun = [];
  nb.cells.forEach((c, i) => {
    if (c?.cell_type !== 'code') return;
    const outputs = Array.isArray(c.outputs) ? c.outputs : [];
    const error = outputs.find((o) => o?.output_type === 'error');
    if (error) {
      let what = [plain(error.ename), plain(error.evalue).split('\n')[0]].filter(Boolean).join(': ') || 'no message';
      if (what.length > 100) what = `${what.slice(0, 99)}…`;
      parts.push(`cell ${i} has an error (${what})`);
    } else if (c.execution_count == null && outputs.length === 0 && [].concat(c.source ?? []).join('').trim()) unrun.push(i);
  });
  if (unrun.length) parts.push(`${cellList(unrun)} did not run`);
  return parts.length ? `${parts.join('; ')} — the export shows the notebook as saved` : undefined;
}

/**
 * Read and check a notebook: it exists, is JSON, is a Jupyter notebook, and (when it has code) has
 * outputs. Returns { nb, figures, figureCells } (figures: outputs with plotly JSON; figureCells: the
 * cell index of each).
 */
export function readNotebook(file) {
  if (!fs.existsSync(file)) throw new ExportError(`${file} does not exist`);
  if (fs.statSync(file).isDirectory()) throw new ExportError(`${file} is a folder, not a notebook (.ipynb file)`);
  let nb;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ExportError(`${file} is not a notebook: it is not JSON (${e.message})`);
  }
  if (typeof nb !== 'object' || nb === null || !Array.isArray(nb.cells) || typeof nb.nbformat !== 'number') {
    throw new ExportError(`${file} is not a Jupyter notebook: a notebook is JSON with "nbformat" and a "cells" list`);
  }
  const code = nb.cells.filter((c) => c?.cell_type === 'code');
  const outputs = code.flatMap((c) => (Array.isArray(c.outputs) ? c.outputs : [])).filter((o) => !isLoader(o));
  if (code.some((c) => [].concat(c.source ?? []).join('').trim()) && outputs.length === 0) {
    throw new ExportError(`${file} has no outputs: run it and save it first (in Jupyter: Kernel → Restart & Run All, ` +
      'then File → Save), then export again');
  }
  const figureCells = nb.cells.flatMap((c, i) => (c?.cell_type === 'code' && Array.isArray(c.outputs) ? c.outputs : [])
    .filter((o) => !isLoader(o) && o?.data?.[PLOTLY_MIME] !== undefined).map(() => i));
  return { nb, figures: figureCells.length, figureCells };
}

/** Whether `file` is a page this exporter (or `npm run course`) wrote: the marker inside its <head>. */
export function writtenByUs(file) {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(GENERATOR_META);
  const head = text.indexOf('</head>');
  return at >= 0 && (head < 0 || at < head);
}

/** "cell 3", "cells 3 and 5", "cells 3, 5 and 8–10": cell indices (from 0 among all cells), ranges joined. */
export function cellList(indices) {
  const sorted = [...new Set(indices)].sort((x, y) => x - y);
  const runs = [];
  for (const i of sorted) {
    const last = runs[runs.length - 1];
    if (last && i === last[1] + 1) last[1] = i; else runs.push([i, i]);
  }
  const parts = runs.map(([x, y]) => (x === y ? `${x}` : `${x}–${y}`));
  const text = parts.length > 1 ? `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}` : parts[0];
  return `${sorted.length === 1 ? 'cell' : 'cells'} ${text}`;
}

/** The output's name must say its format: .html/.htm for a page, .pdf with --pdf (no PDF bytes in a .html file, no page in a .pdf). */
export function checkExtension(out, pdf) {
  if (/\.ipynb$/i.test(out)) throw new ExportError(`${out}: the output must not be a notebook; choose another file with --out FILE`);
  if (pdf && !/\.pdf$/i.test(out)) {
    throw new ExportError(`--pdf writes a PDF, but --out ${out} does not end in .pdf: name it X.pdf, or leave out --pdf for an HTML page`);
  }
  if (!pdf && /\.pdf$/i.test(out)) {
    throw new ExportError(`--out ${out} names a PDF, but without --pdf the export is an HTML page: add --pdf ` +
      `(npm run export -- PATH.ipynb --pdf --out ${out}), or name it X.html`);
  }
  if (!pdf && !/\.html?$/i.test(out)) {
    throw new ExportError(`--out ${out}: an HTML page is written to a file ending in .html or .htm (for a PDF, add --pdf and name it X.pdf)`);
  }
}

/** Check that `out` may be written: not the notebook, its folder exists, and an existing file is our page (or --force). */
function checkOutput(out, file, force) {
  if (path.resolve(out) === path.resolve(file) || /\.ipynb$/i.test(out)) {
    throw new ExportError(`${out}: the output must not be a notebook; choose another file with --out FILE`);
  }
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir)) throw new ExportError(`${out}: the folder ${dir} does not exist`);
  if (!fs.existsSync(out)) return;
  if (fs.statSync(out).isDirectory()) throw new ExportError(`${out} is a folder; choose a file with --out FILE`);
  if (force) return;
  if (/\.pdf$/i.test(out)) {
    throw new ExportError(`${out} already exists and a PDF carries no mark of who wrote it, so it is not replaced: ` +
      'add --force to replace it, or choose another file with --out FILE');
  }
  if (!writtenByUs(out)) {
    throw new ExportError(`${out} already exists and was not written by the rnn-lab exporter (an nbconvert page, say), ` +
      'so it is not replaced: add --force to replace it, or choose another file with --out FILE');
  }
}

/** Run scripts/course/nbexport.py: notebook → self-contained HTML at `html`. Returns its JSON line ({ figures, loaders, bytes }). */
function nbconvertExport(file, html) {
  const python = findPython(['nbconvert', 'nbformat']);
  if (!python) throw new ExportError(`Jupyter's nbconvert was not found (tried ${pythonCandidates().join(', ')}). ${INSTALL_HINT}`);
  const r = spawnSync(python, [path.join(ROOT, 'scripts', 'course', 'nbexport.py'), '--mathjax', 'inline', file, html],
    { env: jupyterEnv(), encoding: 'utf8', cwd: ROOT, maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new ExportError(`${file} could not be exported:\n${(r.stderr || r.error?.message || '').trim()}`);
  return JSON.parse(r.stdout.trim().split('\n').pop());
}

/**
 * Print an exported page to PDF with headless Chromium (playwright-core), offline: wait until every
 * figure container has plotly's SVG and MathJax has typeset, then A4 with backgrounds. Returns the
 * PDF bytes. Throws an ExportError naming the figures that did not draw.
 */
export async function printPdf(html, { chromium: executablePath = findChromium(), timeoutMs = 60000 } = {}) {
  let playwright;
  try {
    playwright = await import('playwright-core');
  } catch {
    throw new ExportError('--pdf needs the npm package playwright-core (a devDependency of rnn-lab): run `npm install` in the rnn-lab folder');
  }
  const browser = await playwright.chromium.launch({
    executablePath,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // Laid out at the printable width, so figures (sized to their container when drawn) fit the page.
    const context = await browser.newContext({ viewport: { width: PDF_WIDTH_PX, height: 1100 } });
    await context.route('**', (r) => (r.request().url().startsWith('file:') ? r.continue() : r.abort()));
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(pathToFileURL(path.resolve(html)).href, { waitUntil: 'load', timeout: timeoutMs });
    // Drawn, or failed (the figure script marks plotly's error): no need to wait for the timeout then.
    const drawn = () => [...document.querySelectorAll('.rnnlab-plot')]
      .every((d) => (d.querySelector('.main-svg') && !d.querySelector('.rnnlab-plot-placeholder')) || d.dataset.rnnlabError);
    await page.waitForFunction(drawn, null, { timeout: timeoutMs, polling: 200 }).catch(() => {});
    const missing = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('.jp-Cell')];
      return [...document.querySelectorAll('.rnnlab-plot')].map((d, i) => ({ d, i }))
        .filter(({ d }) => !d.querySelector('.main-svg') || d.querySelector('.rnnlab-plot-placeholder'))
        .map(({ d, i }) => `${d.dataset.rnnlabFigure ?? `figure ${i + 1}`} (cell ${d.dataset.rnnlabCell ?? cells.indexOf(d.closest('.jp-Cell'))}` +
          `${d.dataset.rnnlabError ? `: ${d.dataset.rnnlabError}` : ''})`);
    });
    if (missing.length) {
      throw new ExportError(`${missing.length} figure${missing.length === 1 ? '' : 's'} did not draw, so no PDF was written: ` +
        `${missing.join(', ')}${problems.length ? `; page errors: ${problems.join(' | ')}` : ''}`);
    }
    const math = await page.evaluate(async () => {
      if (!window.MathJax?.startup?.promise) return 'MathJax did not start';
      try { await window.MathJax.startup.promise; return ''; } catch (e) { return String(e); }
    });
    if (math) throw new ExportError(`equations were not typeset (${math}), so no PDF was written`);
    for (const p of problems) console.error(`rnn-lab export: warning: page error: ${p}`);
    return await page.pdf({
      format: 'A4', printBackground: true,
      margin: { top: `${PDF_MARGIN_MM}mm`, bottom: `${PDF_MARGIN_MM}mm`, left: `${PDF_MARGIN_MM}mm`, right: `${PDF_MARGIN_MM}mm` },
    });
  } finally {
    await browser.close();
  }
}

/**
 * The figures nbexport.py could not draw (its figure_html needs a JSON object with a "data" list):
 * `expected` and `exported` list the cell index of each figure. Returns the message, or undefined.
 */
export function lostFigures(expected, exported) {
  const left = [...exported];
  const lost = expected.filter((c) => {
    const k = left.indexOf(c);
    if (k < 0) return true;
    left.splice(k, 1);
    return false;
  });
  if (!lost.length) return undefined;
  const n = expected.length;
  return `the plotly figure JSON in ${cellList(lost)} is malformed (a figure is an object with a "data" list), so ` +
    `${lost.length === 1 ? 'it' : 'they'} could not be exported (${lost.length} of ${n} figure${n === 1 ? '' : 's'}); nothing was written`;
}

/**
 * Export `file` (an executed .ipynb) to HTML, or with `pdf` to PDF; see the header of this file.
 * Returns { out, bytes, figures, loaders, note } (note: runNote's, or undefined).
 */
export async function exportNotebook(file, options = {}) {
  const unknown = Object.keys(options).filter((k) => !['file', 'pdf', 'out', 'force'].includes(k));
  if (unknown.length) throw new TypeError(`exportNotebook(file, options): unknown option ${unknown.join(', ')}; valid: pdf, out, force`);
  const { pdf = false, force = false } = options;
  let { out } = options;
  if (out !== undefined) checkExtension(out, pdf);
  const { nb, figureCells } = readNotebook(file);
  out = out ?? file.replace(/\.ipynb$/i, '') + (pdf ? '.pdf' : '.html');
  checkOutput(out, file, force);
  const chromium = pdf ? findChromium() : undefined;
  let files;
  try {
    files = libFiles();
  } catch (e) {
    throw new ExportError(e.message);
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-export-'));
  try {
    const html = path.join(tmp, path.basename(file).replace(/\.ipynb$/i, '') + '.html');
    const info = nbconvertExport(path.resolve(file), html);
    const lost = lostFigures(figureCells, info.figure_cells);
    if (lost) throw new ExportError(`${file}: ${lost}`);
    let bytes;
    try {
      bytes = pdf ? await printPdf(html, { chromium }) : fs.readFileSync(html);
    } catch (e) {
      if (e instanceof ExportError) e.message = `${file}: ${e.message}`;
      throw e;
    }
    checkOutput(out, file, force); // again: the export took a while
    files.writeFileAtomic(out, bytes);
    // Figures saved before they carried plotly JSON (their HTML draws itself with the page's plotly.js) count too.
    return { out, bytes: bytes.length, figures: info.figures + info.legacy_figures, loaders: info.loaders, note: runNote(nb) };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function size(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} kB`;
}

async function main() {
  if (wantsHelp(process.argv.slice(2))) { console.log(USAGE); return; }
  try {
    const swallowed = npmSwallowed(process.argv.slice(2));
    if (swallowed) throw new ExportError(swallowed);
    const opts = parseArgs(process.argv.slice(2));
    // npm runs scripts in the package folder; paths on the command line are meant from where npm was called.
    if (process.env.npm_lifecycle_event === 'export' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
    const r = await exportNotebook(opts.file, opts);
    // plotly.js is embedded only when there is a figure to draw (export.mjs writes it once, before the first).
    const what = `${r.figures} figure${r.figures === 1 ? '' : 's'}${opts.pdf ? ', A4' : `; ${r.figures > 0 ? 'plotly.js and ' : ''}MathJax inside, opens offline`}`;
    console.log(`rnn-lab export: wrote ${r.out} (${size(r.bytes)}, ${what})`);
    if (r.note) console.error(`rnn-lab export: note: ${r.note}`);
  } catch (e) {
    console.error(`rnn-lab export: ${e instanceof ExportError ? e.message : (e?.stack ?? e)}`);
    process.exit(1);
  }
}

// Run as a script (not when a test imports it); realpath: npm may call it through a link.
const isMain = (() => { try { return fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; } })();
if (isMain) main();
