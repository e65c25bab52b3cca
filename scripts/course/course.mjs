// `npm run course`: execute every lesson headless and write site/: one HTML page per notebook
// (interactive plots, math, no network needed) and an index with summaries, runtimes and each lesson's
// peak memory (the kernel's processes' peak RSS, scripts/course/memory.py); a lesson over the memory
// budget (--max-memory, default 1536 MB, so a 2 GB Binder or hub pod runs it) fails.
// Into the site folder it writes only index.html, <notebook>.html and mathjax/; a page of that name
// that it did not write (no generator marker) stops the run before anything is executed or written.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, listNotebooks, executeNotebooks, notebookInfo, libraryBuilt, findPython, INSTALL_HINT, copyMathJax, libFiles } from '../lib/jupyter.mjs';
import { installKernel } from '../kernel.mjs';
import { scanArgs, wantsHelp } from '../lib/args.mjs';

const USAGE = 'usage: npm run course -- [--site DIR] [--max-memory MB] [NOTEBOOK-NAME-PART …]';

/** The default memory budget of one lesson, in MB (2²⁰ bytes): 1.5 GB, under a 2 GB pod with room for Jupyter. */
export const MAX_MEMORY_MB = 1536;

/** Marks every page this script writes (the index here; notebook pages through scripts/course/nbexport.py, which `npm run export` shares). */
export const GENERATOR_META = '<meta name="generator" content="rnn-lab course">';
/** What pages written before the marker existed carry: the index's title, the pages' MathJax copy. */
const LEGACY = ['<title>RNN Lab — the course</title>', '<script src="mathjax/tex-chtml.js" async></script>'];

/** Pages in `site` that the course would replace but did not write (no generator marker). */
export function foreignPages(site, names) {
  return ['index', ...names].map((n) => path.join(site, `${n}.html`))
    .filter((f) => fs.existsSync(f) && ![GENERATOR_META, ...LEGACY].some((m) => fs.readFileSync(f, 'utf8').includes(m)));
}

/** Write site/index.html atomically (after checking with foreignPages). */
export function writeIndex(site, html) {
  fs.mkdirSync(site, { recursive: true });
  libFiles().writeFileAtomic(path.join(site, 'index.html'), html);
}

/**
 * Parse the command line: { site, only, maxMemoryMb } — the site folder (default site/), the parts of
 * notebook names to run (none: every lesson) and each lesson's memory budget in MB (default 1536).
 * Throws (with the usage line) on an unknown flag, a --site without a folder or a --max-memory that is
 * not a positive number of MB.
 */
export function parseArgs(argv) {
  const o = { site: path.join(ROOT, 'site'), only: [], maxMemoryMb: MAX_MEMORY_MB };
  for (const a of scanArgs(argv, { site: { type: 'string' }, 'max-memory': { type: 'string' } })) {
    if (a.kind === 'option' && a.name === 'max-memory') {
      const mb = /^\d+(\.\d+)?$/.test(a.value ?? '') ? Number(a.value) : NaN;
      if (!(mb > 0)) throw new Error(`--max-memory needs a positive number of MB (e.g. 1536); got ${a.value === undefined ? 'nothing' : `'${a.value}'`}\n${USAGE}`);
      o.maxMemoryMb = mb;
    } else if (a.kind === 'option') {
      if (!a.value || a.value.startsWith('-')) throw new Error(`--site needs a folder\n${USAGE}`);
      o.site = path.resolve(a.value);
    } else if (a.kind === 'unknown' || a.raw.startsWith('-')) throw new Error(`unknown option ${a.raw}\n${USAGE}`);
    else o.only.push(a.value);
  }
  return o;
}

/** A report's peak memory for the index and the console: '412 MB', or '?' when it was not measured. */
export function memoryText(r) {
  return r.peak_mb == null ? '?' : `${Math.round(r.peak_mb)} MB`;
}

/**
 * Fail each report whose peak memory (`peak_mb`, from scripts/course/execute.py) is over `maxMemoryMb`:
 * `ok` false and a message in `errors` (and `memoryErrors`). Reports without a figure are left as they
 * are; main() says that they were not checked. Returns the reports.
 */
export function checkMemory(reports, maxMemoryMb) {
  for (const r of reports) {
    if (r.peak_mb != null && r.peak_mb > maxMemoryMb) {
      const top = (r.memory_processes ?? []).slice(0, 3).map((p) => `${p.name} ${Math.round(p.peak_mb)} MB`).join(', ');
      const msg = `peak memory ${Math.round(r.peak_mb)} MB is over the --max-memory budget of ${maxMemoryMb} MB${top ? ` (${top})` : ''}: ` +
        'a 2 GB Binder or hub pod may stop this lesson; make it use less, or raise the budget knowingly';
      r.errors = [...(r.errors ?? []), msg];
      r.memoryErrors = [msg];
      r.ok = false;
    }
  }
  return reports;
}

function main() {
  function fail(msg) {
    console.error(`rnn-lab course: ${msg}`);
    process.exit(1);
  }

  if (wantsHelp(process.argv.slice(2))) { console.log(USAGE); return; }
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    fail(e.message);
  }
  const SITE = opts.site;
  const BUDGET_S = 60;

  if (!libraryBuilt()) fail('the library is not built (dist/ is missing): run `npm install` or `npm run build`.');
  if (!findPython(['nbclient', 'nbconvert', 'ipykernel'])) fail(`Jupyter was not found. ${INSTALL_HINT}`);
  installKernel();

  const only = opts.only;
  const notebooks = listNotebooks().filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
  if (notebooks.length === 0) fail(`no notebooks match ${only.join(' ')}`);
  const foreign = foreignPages(SITE, notebooks.map((f) => path.basename(f, '.ipynb')));
  if (foreign.length) fail(`${foreign.join(', ')} ${foreign.length === 1 ? 'was' : 'were'} not written by npm run course, so ${foreign.length === 1 ? 'it is' : 'they are'} not replaced: choose another folder with --site, or move ${foreign.length === 1 ? 'it' : 'them'} away`);

  fs.mkdirSync(SITE, { recursive: true });
  const t0 = Date.now();
  const reports = checkMemory(executeNotebooks(notebooks, { html: SITE }), opts.maxMemoryMb);
  const total = (Date.now() - t0) / 1000;

  copyMathJax(SITE);

  const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const rows = reports.map((r) => {
    const info = notebookInfo(r.path);
    const status = r.ok ? 'ok' : `failed: ${esc([...r.errors, ...r.stderr.map((s) => s.text)].join(' | ').slice(0, 300))}`;
    const over = r.seconds > BUDGET_S ? ' (over budget)' : '';
    const claims = (r.claims ?? []).map((c) => `<li>${esc(c)}</li>`).join('');
    return `<tr><td><a href="${esc(info.name)}.html">${esc(info.title)}</a></td><td>${esc(info.summary)}` +
      `${claims ? `<ul class="claims">${claims}</ul>` : ''}</td>` +
      `<td>${r.seconds.toFixed(1)} s${over}</td><td title="${esc((r.memory_processes ?? []).map((p) => `${p.name} (pid ${p.pid}) ${Math.round(p.peak_mb)} MB`).join(', ') || (r.memory_note ?? ''))}">${esc(memoryText(r))}</td><td>${status}</td></tr>`;
  });
  const index = `<!DOCTYPE html>
  <html><head>${GENERATOR_META}<meta charset="utf-8"><title>RNN Lab — the course</title>
  <style>body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}
  table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.4rem;text-align:left;vertical-align:top}
  ul.claims{margin:.4rem 0 0;padding-left:1.2rem;font-size:.9em;color:#333}ul.claims li::marker{content:'✔ '}</style>
  </head><body>
  <h1>RNN Lab — the course</h1>
  <p>Every lesson below was executed headless on ${esc(new Date().toISOString().slice(0, 10))}; each page shows its
  outputs, with interactive plots, and works offline. Total run time ${total.toFixed(0)} s. Peak memory is the
  kernel's: the peak resident memory of each of its processes, summed.</p>
  <table><thead><tr><th>lesson</th><th>what it shows, and the numbers its run measured (✔ each claim that held)</th><th>runtime (budget ${BUDGET_S} s)</th><th>peak memory (budget ${opts.maxMemoryMb} MB)</th><th>status</th></tr></thead>
  <tbody>
  ${rows.join('\n')}
  </tbody></table>
  </body></html>
  `;
  writeIndex(SITE, index);
  for (const r of reports) {
    console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.seconds.toFixed(1).padStart(6)} s / ${BUDGET_S} s ${memoryText(r).padStart(8)} / ${opts.maxMemoryMb} MB  ${path.relative(ROOT, r.path)}`);
    for (const e of r.memoryErrors ?? []) console.log(`     ${e}`);
  }
  const unmeasured = reports.filter((r) => r.peak_mb == null);
  if (unmeasured.length) console.log(`rnn-lab course: peak memory not measured for ${unmeasured.length} notebook(s) (${unmeasured[0].memory_note ?? 'no figure'}), so --max-memory was not checked for them`);
  console.log(`rnn-lab course: ${reports.filter((r) => r.ok).length}/${reports.length} notebooks ok in ${total.toFixed(1)} s; open ${path.relative(process.cwd(), path.join(SITE, 'index.html'))}`);
  process.exit(reports.every((r) => r.ok) ? 0 : 1);
}

if (import.meta.url === `file://${process.argv[1]}`) main();
