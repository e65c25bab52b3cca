// Shared by start, course and the tests: where the project is, which Python has Jupyter, and the
// environment that makes Jupyter find the course's kernel inside the project (no global state).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const KERNEL_NAME = 'rnn-lab';
export const KERNEL_DISPLAY_NAME = 'TypeScript (rnn-lab)';
/** JUPYTER_PATH entry holding kernels/rnn-lab/kernel.json, written by `npm install`. */
export const JUPYTER_DATA = path.join(ROOT, '.jupyter');
export const KERNEL_DIR = path.join(JUPYTER_DATA, 'kernels', KERNEL_NAME);

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
  const c = [process.env.RNN_LAB_PYTHON, '/usr/bin/python3', 'python3', 'python'].filter(Boolean);
  return [...new Set(c)];
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
