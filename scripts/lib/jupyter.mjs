// Shared by start, course and the tests: where the project is, which Python has Jupyter, and the
// environment that makes Jupyter find the course's kernel inside the project (no global state).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const KERNEL_NAME = 'rnn-lab';
export const KERNEL_DISPLAY_NAME = 'TypeScript (rnn-lab)';
/** JUPYTER_PATH entry holding kernels/rnn-lab/kernel.json, written by `npm install`. */
export const JUPYTER_DATA = path.join(ROOT, '.jupyter');
export const KERNEL_DIR = path.join(JUPYTER_DATA, 'kernels', KERNEL_NAME);
/** The course kernel's entry point: every kernelspec runs `node KERNEL_LAUNCHER {connection_file}`. */
export const KERNEL_LAUNCHER = path.join(ROOT, 'scripts', 'kernel', 'launch.cjs');

/** The environment for Jupyter processes: the project's kernel first on JUPYTER_PATH. */
export function jupyterEnv(extra = {}) {
  const prev = process.env.JUPYTER_PATH;
  return {
    ...process.env,
    JUPYTER_PATH: prev ? `${JUPYTER_DATA}${path.delimiter}${prev}` : JUPYTER_DATA,
    // Jupyter's own "platformdirs" migration warning is stderr noise for students and graders.
    JUPYTER_PLATFORM_DIRS: '1',
    PYDEVD_DISABLE_FILE_VALIDATION: '1',
    ...extra,
  };
}

/**
 * Python interpreters to try, in order: RNN_LAB_PYTHON, Debian's /usr/bin/python3 (where Debian's
 * Jupyter packages live; the first python3 on PATH may be another one without Jupyter), python3.
 */
export function pythonCandidates() {
  // An explicit choice is the only candidate: falling back silently would hide a typo.
  if (process.env.RNN_LAB_PYTHON) return [process.env.RNN_LAB_PYTHON];
  return ['/usr/bin/python3', 'python3', 'python'];
}

function pyHas(python, modules) {
  const code = modules.map((m) => `import ${m}`).join('; ');
  const r = spawnSync(python, ['-c', code], { stdio: 'ignore', timeout: 30000 });
  return r.status === 0;
}

/**
 * The first Python that can import all `modules`, or null.
 * @param {string[]} modules
 */
export function findPython(modules) {
  for (const p of pythonCandidates()) if (pyHas(p, modules)) return p;
  return null;
}

export const INSTALL_HINT =
  'Install Jupyter: `pip install jupyterlab` (any OS), or on Debian/Ubuntu ' +
  '`sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient`. ' +
  'To use a particular Python, set RNN_LAB_PYTHON=/path/to/python.';

/** Whether the library has been built (dist/index.js and its types). */
export function libraryBuilt() {
  return fs.existsSync(path.join(ROOT, 'dist', 'index.js')) && fs.existsSync(path.join(ROOT, 'dist', 'index.d.ts'));
}

/**
 * The library's file helpers (dist/files.js: writeFileAtomic), loaded on first use so that scripts
 * which only report "the library is not built" still start without dist/.
 */
export function libFiles() {
  if (!fs.existsSync(path.join(ROOT, 'dist', 'files.js'))) throw new Error('the library is not built (dist/files.js is missing): run `npm run build` first');
  return createRequire(import.meta.url)(path.join(ROOT, 'dist', 'files.js'));
}

/** Notebooks of a folder (NN-name.ipynb), in course order. */
export function listNotebooks(dir = path.join(ROOT, 'notebooks')) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith('.ipynb')).sort().map((f) => path.join(dir, f));
}

/**
 * Execute notebooks headless in the course kernel (scripts/course/execute.py through nbclient).
 * Resolves to one report per notebook: { path, seconds, ok, errors, stderr }.
 * @param {string[]} notebooks
 * @param {{ html?: string, out?: string, cellTimeout?: number, python?: string, env?: object }} opts
 */
export function executeNotebooks(notebooks, opts = {}) {
  const python = opts.python ?? findPython(['nbclient', 'nbconvert', 'ipykernel']);
  if (!python) throw new Error(`Jupyter (nbclient, nbconvert) was not found in ${pythonCandidates().join(', ')}. ${INSTALL_HINT}`);
  const report = path.join(fs.mkdtempSync(path.join(osTmp(), 'rnnlab-exec-')), 'report.json');
  const args = [path.join(ROOT, 'scripts', 'course', 'execute.py'), '--report', report, '--cell-timeout', String(opts.cellTimeout ?? 300)];
  if (opts.html) args.push('--html', opts.html);
  if (opts.out) args.push('--out', opts.out);
  args.push(...notebooks);
  const r = spawnSync(python, args, { env: jupyterEnv(opts.env), stdio: ['ignore', 'inherit', 'inherit'], cwd: ROOT });
  if (!fs.existsSync(report)) throw new Error(`scripts/course/execute.py wrote no report (exit ${r.status}, signal ${r.signal})`);
  const parsed = JSON.parse(fs.readFileSync(report, 'utf8'));
  fs.rmSync(path.dirname(report), { recursive: true, force: true });
  return parsed;
}

function osTmp() {
  return process.env.TMPDIR || '/tmp';
}

/** Title (first heading) and one-line summary of a notebook, for indexes and the README. */
export function notebookInfo(file) {
  const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
  const first = nb.cells.find((c) => c.cell_type === 'markdown');
  const text = first ? [].concat(first.source).join('') : '';
  const title = (text.match(/^#\s+(.+)$/m) || [, path.basename(file, '.ipynb')])[1].trim();
  const summary = nb.metadata?.['rnn-lab']?.summary ?? '';
  return { file, name: path.basename(file, '.ipynb'), title, summary };
}

/** Copy MathJax 3 beside exported pages (the HTML template loads mathjax/tex-chtml.js): math renders offline. */
export function copyMathJax(site) {
  const mj = path.join(ROOT, 'node_modules', 'mathjax', 'es5');
  for (const part of ['tex-chtml.js', 'input', 'output', 'ui', 'a11y']) {
    fs.cpSync(path.join(mj, part), path.join(site, 'mathjax', part), { recursive: true });
  }
}
