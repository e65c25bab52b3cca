// `npm run export -- PATH.ipynb [--pdf] [--out FILE] [--force]`: one executed notebook → one HTML page
// (or PDF) for hand-in, through the same export as `npm run course` (scripts/nbexport.py).
//
// The page opens offline: plotly.js and MathJax are inside it and every figure is drawn from its plotly
// JSON, so it does not matter where (or whether) the notebook still holds the output that loaded
// plotly.js. Files: the output goes beside the notebook (PATH.html, PATH.pdf) unless --out says
// otherwise, and is written atomically. An existing HTML file is replaced only if this exporter (or
// `npm run course`) wrote it (its generator marker); an existing PDF carries no such marker, so it is
// replaced only with --force (which applies to PDFs only). The notebook itself is never an output.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ROOT, findPython, pythonCandidates, INSTALL_HINT, jupyterEnv, libFiles } from './jupyter.mjs';
import { GENERATOR_META } from './course.mjs';

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
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--pdf') opts.pdf = true;
    else if (a === '--force') opts.force = true;
    else if (a === '--out' || a.startsWith('--out=')) {
      const v = a === '--out' ? argv[++i] : a.slice('--out='.length);
      if (!v || v.startsWith('--')) throw new ExportError(`--out needs a file name\n${USAGE}`);
      opts.out = v;
    } else if (a.startsWith('-')) throw new ExportError(`unknown option ${a}\n${USAGE}`);
    else if (opts.file !== undefined) throw new ExportError(`one notebook at a time: got ${opts.file} and ${a}\n${USAGE}`);
    else opts.file = a;
  }
  if (opts.file === undefined) throw new ExportError(`which notebook? no PATH.ipynb given\n${USAGE}`);
  // An HTML page is replaced only if the exporter wrote it, with or without --force.
  if (opts.force && !opts.pdf) throw new ExportError(`--force applies only to --pdf (a page the exporter wrote is replaced anyway; a foreign HTML file never is)\n${USAGE}`);
  return opts;
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

/**
 * Read and check a notebook: it exists, is JSON, is a Jupyter notebook, and (when it has code) has
 * outputs. Returns { nb, figures } (figures: outputs with plotly JSON).
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
  return { nb, figures: outputs.filter((o) => o?.data?.[PLOTLY_MIME] !== undefined).length };
}

/** Whether `file` is a page this exporter (or `npm run course`) wrote: the marker inside its <head>. */
export function writtenByUs(file) {
  const text = fs.readFileSync(file, 'utf8');
  const at = text.indexOf(GENERATOR_META);
  const head = text.indexOf('</head>');
  return at >= 0 && (head < 0 || at < head);
}

/** Check that `out` may be written: not the notebook, its folder exists, and an existing file is ours (or --force). */
function checkOutput(out, file, pdf, force) {
  if (path.resolve(out) === path.resolve(file) || /\.ipynb$/i.test(out)) {
    throw new ExportError(`${out}: the output must not be a notebook; choose another file with --out FILE`);
  }
  const dir = path.dirname(path.resolve(out));
  if (!fs.existsSync(dir)) throw new ExportError(`${out}: the folder ${dir} does not exist`);
  if (!fs.existsSync(out)) return;
  if (fs.statSync(out).isDirectory()) throw new ExportError(`${out} is a folder; choose a file with --out FILE`);
  if (pdf) {
    if (force) return;
    throw new ExportError(`${out} already exists and a PDF carries no mark of who wrote it, so it is not replaced: ` +
      'add --force to replace it, or choose another file with --out FILE');
  }
  if (!writtenByUs(out)) {
    throw new ExportError(`${out} already exists and was not written by the rnn-lab exporter, so it is not replaced: ` +
      'choose another file with --out FILE, or move it away');
  }
}

/** Run scripts/nbexport.py: notebook → self-contained HTML at `html`. Returns its JSON line ({ figures, loaders, bytes }). */
function nbconvertExport(file, html) {
  const python = findPython(['nbconvert', 'nbformat']);
  if (!python) throw new ExportError(`Jupyter's nbconvert was not found (tried ${pythonCandidates().join(', ')}). ${INSTALL_HINT}`);
  const r = spawnSync(python, [path.join(ROOT, 'scripts', 'nbexport.py'), '--mathjax', 'inline', file, html],
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
 * Export `file` (an executed .ipynb) to HTML, or with `pdf` to PDF; see the header of this file.
 * Returns { out, bytes, figures, loaders }.
 */
export async function exportNotebook(file, options = {}) {
  const unknown = Object.keys(options).filter((k) => !['file', 'pdf', 'out', 'force'].includes(k));
  if (unknown.length) throw new TypeError(`exportNotebook(file, options): unknown option ${unknown.join(', ')}; valid: pdf, out, force`);
  const { pdf = false, force = false } = options;
  let { out } = options;
  const { figures: expected } = readNotebook(file);
  out = out ?? file.replace(/\.ipynb$/i, '') + (pdf ? '.pdf' : '.html');
  checkOutput(out, file, pdf, force);
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
    if (info.figures !== expected) {
      throw new ExportError(`${file}: ${expected} outputs have plotly figure JSON but ${info.figures} were exported (malformed figure JSON?)`);
    }
    let bytes;
    try {
      bytes = pdf ? await printPdf(html, { chromium }) : fs.readFileSync(html);
    } catch (e) {
      if (e instanceof ExportError) e.message = `${file}: ${e.message}`;
      throw e;
    }
    checkOutput(out, file, pdf, force); // again: the export took a while
    files.writeFileAtomic(out, bytes);
    // Figures saved before they carried plotly JSON (their HTML draws itself with the page's plotly.js) count too.
    return { out, bytes: bytes.length, figures: info.figures + info.legacy_figures, loaders: info.loaders };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

function size(n) {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(n / 1024)} kB`;
}

async function main() {
  try {
    const opts = parseArgs(process.argv.slice(2));
    // npm runs scripts in the package folder; paths on the command line are meant from where npm was called.
    if (process.env.npm_lifecycle_event === 'export' && process.env.INIT_CWD) process.chdir(process.env.INIT_CWD);
    const r = await exportNotebook(opts.file, opts);
    const what = `${r.figures} figure${r.figures === 1 ? '' : 's'}${opts.pdf ? ', A4' : '; plotly.js and MathJax inside, opens offline'}`;
    console.log(`rnn-lab export: wrote ${r.out} (${size(r.bytes)}, ${what})`);
  } catch (e) {
    console.error(`rnn-lab export: ${e instanceof ExportError ? e.message : (e?.stack ?? e)}`);
    process.exit(1);
  }
}

// Run as a script (not when a test imports it); realpath: npm may call it through a link.
const isMain = (() => { try { return fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; } })();
if (isMain) main();
