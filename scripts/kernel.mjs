// `node scripts/kernel.mjs install|uninstall [--user | --sys-prefix | --prefix DIR] [--print-dir]`:
// register (or remove) the course's TypeScript kernel, named 'rnn-lab'.
//   no flag       inside the project (.jupyter/kernels/rnn-lab, found through JUPYTER_PATH by npm start,
//                 npm run course and grading) and the link that makes 'rnn-lab' importable by name from
//                 notebooks. Runs on `npm install`; it needs no Python, so installing never fails for
//                 want of Jupyter.
//   --user        Jupyter's user data folder (jupyter_core.paths.jupyter_data_dir(): JUPYTER_DATA_DIR,
//                 else ~/.local/share/jupyter on Linux, ~/Library/Jupyter on macOS, %APPDATA%\jupyter on
//                 Windows): every Jupyter this user starts lists the kernel.
//   --sys-prefix  <sys.prefix>/share/jupyter of the Python with Jupyter (a venv, conda env, JupyterHub's
//                 single-user server).
//   --prefix DIR  DIR/share/jupyter (as `jupyter kernelspec install --prefix`).
//   --print-dir   print the kernelspec folder the command would use; change nothing.
// Only a kernels/rnn-lab/kernel.json that rnn-lab wrote (metadata "rnn-lab") is ever replaced or removed.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import {
  ROOT, KERNEL_DIR, KERNEL_NAME, KERNEL_DISPLAY_NAME, KERNEL_LAUNCHER, INSTALL_HINT,
  findPython, pythonCandidates, libFiles,
} from './lib/jupyter.mjs';
import { scanArgs, wantsHelp } from './lib/args.mjs';

/** The logos copied beside kernel.json (Jupyter shows them in its launcher). */
export const LOGOS = ['logo-32x32.png', 'logo-64x64.png'];
const LOGO_DIR = path.join(ROOT, 'scripts', 'kernel');

export const USAGE = 'usage: node scripts/kernel.mjs install|uninstall [--user | --sys-prefix | --prefix DIR] [--print-dir]\n' +
  '       (npm run kernel:install -- --user, npm run kernel:uninstall -- --user)';
const FLAGS = ['--user', '--sys-prefix', '--prefix', '--print-dir'];

/**
 * Make `link` a symlink to `target`. An existing symlink (ours from an earlier install, or a stale
 * one) is replaced; a real file or folder there (an installed rnn-lab package, say) is not ours
 * and is never removed: that is an error.
 */
export function ensureLink(link, target) {
  let st = null;
  try { st = fs.lstatSync(link); } catch { st = null; }
  if (st && !st.isSymbolicLink()) {
    throw new Error(`${link} is a real ${st.isDirectory() ? 'folder' : 'file'}, not the link rnn-lab makes; it is not removed. Move it away (or run npm uninstall rnn-lab there) and install again`);
  }
  let ok = false;
  try { ok = st !== null && fs.realpathSync(link) === fs.realpathSync(path.resolve(path.dirname(link), target)); } catch { ok = false; }
  if (ok) return false;
  // A new link beside it, renamed over the old one: at no moment is there no link.
  const tmp = `${link}.${process.pid}.tmp`;
  fs.symlinkSync(target, tmp, 'dir');
  fs.renameSync(tmp, link);
  return true;
}

/**
 * The course kernel's kernel.json. Absolute paths: the kernel starts with the same Node and launcher
 * whatever PATH and working folder Jupyter has. metadata['rnn-lab'] marks the file as ours.
 */
export function kernelSpec() {
  return {
    argv: [process.execPath, KERNEL_LAUNCHER, '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    // Jupyter's interrupt button sends SIGINT to the kernel process (not an interrupt_request message).
    interrupt_mode: 'signal',
    env: { RNN_LAB_NOTEBOOK: '1', TF_CPP_MIN_LOG_LEVEL: '2' },
    metadata: { 'rnn-lab': { root: ROOT } },
  };
}

/**
 * What is at `file`: 'absent', 'ours' (a kernel.json with metadata['rnn-lab']; `root` is the checkout
 * it points to) or 'foreign' (anything else, including a file that is not JSON or a folder).
 */
export function specState(file) {
  let st;
  try { st = fs.lstatSync(file); } catch { return { state: 'absent' }; }
  if (!st.isFile()) return { state: 'foreign' };
  let spec;
  try { spec = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return { state: 'foreign' }; }
  const mark = spec?.metadata?.['rnn-lab'];
  return mark && typeof mark === 'object' ? { state: 'ours', root: mark.root } : { state: 'foreign' };
}

function foreignError(file, verb) {
  return new Error(`${file} is a kernelspec that rnn-lab did not write (its metadata has no "rnn-lab"), so it is not ${verb}. ` +
    'Delete that folder yourself if it is no longer needed, or choose another place (--user, --sys-prefix, --prefix DIR)');
}

function writeError(e, dir) {
  if (['EACCES', 'EPERM', 'EROFS'].includes(e?.code)) {
    return new Error(`cannot write in ${dir} (${e.code}): that folder needs another user's rights. --user installs for you alone`);
  }
  return e;
}

/**
 * Write the kernelspec (kernel.json and the logos) into `dir`, atomically file by file, kernel.json
 * last so that Jupyter never lists a half-written kernel. An earlier kernel.json of ours is replaced
 * (re-running after moving the checkout updates its paths); any other is an error and nothing is written.
 * @returns {{ dir: string, previousRoot: string | undefined }} previousRoot: the checkout an earlier spec of ours pointed to
 */
export function writeKernelSpec(dir) {
  const file = path.join(dir, 'kernel.json');
  const before = specState(file);
  if (before.state === 'foreign') throw foreignError(file, 'replaced');
  // A kernelspec whose launcher is missing would only fail later, in Jupyter, with a dead kernel.
  if (!fs.existsSync(KERNEL_LAUNCHER)) throw new Error(`the course kernel's launcher ${KERNEL_LAUNCHER} is missing: this checkout is incomplete (git status)`);
  const tslab = path.join(ROOT, 'node_modules', 'tslab', 'package.json');
  if (!fs.existsSync(tslab)) throw new Error(`tslab is not installed (${tslab} is missing): run npm install`);
  const { writeFileAtomic } = libFiles();
  try {
    fs.mkdirSync(dir, { recursive: true });
    for (const logo of LOGOS) writeFileAtomic(path.join(dir, logo), fs.readFileSync(path.join(LOGO_DIR, logo)));
    writeFileAtomic(file, JSON.stringify(kernelSpec(), null, 2) + '\n');
  } catch (e) { throw writeError(e, dir); }
  return { dir, previousRoot: before.state === 'ours' ? before.root : undefined };
}

/**
 * Remove what {@link writeKernelSpec} wrote into `dir`: the logos, then kernel.json (last, so an
 * interrupted uninstall can be re-run), then `dir` itself if nothing else is left in it.
 * A kernel.json that is not ours is an error and nothing is removed.
 * @returns {{ dir: string, removed: string[], left: string[] }} removed: files (and the folder) removed; left: other files kept in dir
 */
export function removeKernelSpec(dir) {
  const file = path.join(dir, 'kernel.json');
  const before = specState(file);
  if (before.state === 'foreign') throw foreignError(file, 'removed');
  if (before.state === 'absent') return { dir, removed: [], left: fs.existsSync(dir) ? fs.readdirSync(dir) : [] };
  const removed = [];
  try {
    for (const f of [...LOGOS.map((l) => path.join(dir, l)), file]) {
      if (!fs.existsSync(f)) continue;
      fs.rmSync(f);
      removed.push(f);
    }
    const left = fs.readdirSync(dir);
    if (left.length === 0) { fs.rmdirSync(dir); removed.push(dir); }
    return { dir, removed, left };
  } catch (e) { throw writeError(e, dir); }
}

/**
 * Where Jupyter keeps kernels for the Python that has jupyter_core, asked from that Python with this
 * process's environment (so JUPYTER_DATA_DIR, HOME and the platform's layout are the user's own).
 * @returns {{ python: string, user: string, env: string, prefix: string }} user: jupyter_data_dir(); env: ENV_JUPYTER_PATH[0] (<sys.prefix>/share/jupyter); prefix: sys.prefix
 */
export function jupyterDirs() {
  const python = findPython(['jupyter_core']);
  if (!python) throw new Error(`Jupyter (jupyter_core) was not found in ${pythonCandidates().join(', ')}; --user and --sys-prefix ask it where kernels live. ${INSTALL_HINT}`);
  const code = 'import json, sys\nfrom jupyter_core import paths\n' +
    'print(json.dumps({"user": paths.jupyter_data_dir(), "env": paths.ENV_JUPYTER_PATH[0], "prefix": sys.prefix}))';
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 30000 });
  const line = (r.stdout ?? '').trim().split('\n').pop();
  let dirs;
  try { dirs = JSON.parse(line); } catch { dirs = null; }
  if (r.status !== 0 || !dirs) throw new Error(`${python} could not tell where Jupyter keeps kernels (exit ${r.status}): ${(r.stderr ?? '').trim().slice(-500)}`);
  return { python, ...dirs };
}

function nearestFlag(flag) {
  // The library's typo matcher (the one behind checkOptions); without a built library, no suggestion.
  try { return createRequire(import.meta.url)(path.join(ROOT, 'dist', 'options.js')).nearestKey(flag, FLAGS); } catch { return undefined; }
}

/**
 * Parse the flags after install/uninstall.
 * @param {string[]} argv
 * @returns {{ target: 'project' | 'user' | 'sys-prefix' | 'prefix', prefix?: string, printDir: boolean }}
 * @throws on an unknown flag (naming the nearest valid one), a missing --prefix value, or two places at once
 */
export function parseKernelArgs(argv) {
  const o = { target: 'project', prefix: undefined, printDir: false };
  const places = [];
  const spec = { user: { type: 'boolean' }, 'sys-prefix': { type: 'boolean' }, prefix: { type: 'string' }, 'print-dir': { type: 'boolean' } };
  for (const a of scanArgs(argv, spec)) {
    if (a.kind !== 'option') {
      // A known flag given a value (--user=x) comes back unknown: name it as before.
      const eq = a.raw.startsWith('--') ? a.raw.indexOf('=') : -1;
      const flag = eq > 0 ? a.raw.slice(0, eq) : a.raw;
      if (eq > 0 && FLAGS.includes(flag)) throw new Error(`${flag} takes no value; got ${a.raw}`);
      const near = nearestFlag(flag);
      throw new Error(`unknown option '${a.raw}'${near ? ` — did you mean '${near}'?` : '.'} Valid options: --user, --sys-prefix, --prefix DIR, --print-dir (none: inside the project)`);
    }
    const flag = `--${a.name}`;
    switch (a.name) {
      case 'user': o.target = 'user'; places.push(flag); break;
      case 'sys-prefix': o.target = 'sys-prefix'; places.push(flag); break;
      case 'prefix': {
        const v = a.value;
        if (v === undefined || v === '' || (!a.inline && v.startsWith('--'))) throw new Error(`--prefix needs a folder: --prefix DIR; got ${v === undefined ? 'nothing' : `'${v}'`}`);
        o.target = 'prefix'; o.prefix = path.resolve(v); places.push(flag);
        break;
      }
      case 'print-dir': o.printDir = true; break;
    }
  }
  if (places.length > 1) throw new Error(`choose one place; got ${places.join(' and ')}`);
  return o;
}

/**
 * The kernelspec folder (…/kernels/rnn-lab) for parsed flags, and how Jupyter finds it.
 * @param {{ target: string, prefix?: string }} o from {@link parseKernelArgs}
 * @returns {{ dir: string, found: string }}
 */
export function kernelSpecDir(o) {
  switch (o.target) {
    case 'project': return { dir: KERNEL_DIR, found: 'found through JUPYTER_PATH by npm start, npm run course and grading' };
    case 'prefix': {
      const data = path.join(o.prefix, 'share', 'jupyter');
      return { dir: path.join(data, 'kernels', KERNEL_NAME), found: `Jupyter lists it when ${o.prefix} is its Python's sys.prefix, or with JUPYTER_PATH=${data}` };
    }
    case 'user': {
      const d = jupyterDirs();
      return { dir: path.join(d.user, 'kernels', KERNEL_NAME), found: "Jupyter's user data folder: `jupyter kernelspec list` shows it wherever you start Jupyter" };
    }
    case 'sys-prefix': {
      const d = jupyterDirs();
      return { dir: path.join(d.env, 'kernels', KERNEL_NAME), found: `share/jupyter of ${d.prefix}: Jupyter run by ${d.python} lists it (RNN_LAB_PYTHON chooses another Python)` };
    }
    default: throw new Error(`kernelSpecDir: unknown target ${JSON.stringify(o.target)}; expected project, user, sys-prefix or prefix`);
  }
}

/**
 * The project's own kernel (.jupyter/kernels/rnn-lab) and node_modules/rnn-lab -> .. ; what
 * `npm install`, `npm start`, `npm run course` and grading use.
 */
export function installKernel() {
  writeKernelSpec(KERNEL_DIR);
  // tslab resolves imports the Node 10 way from the notebook's folder, which cannot see a package's
  // own name; a link node_modules/rnn-lab -> .. makes `import … from 'rnn-lab'` resolve to dist/.
  const link = path.join(ROOT, 'node_modules', 'rnn-lab');
  ensureLink(link, '..');
  return { kernelDir: KERNEL_DIR, link };
}

function main(argv) {
  const [cmd, ...rest] = argv;
  const fail = (msg, code = 1) => { console.error(`rnn-lab kernel: ${msg}`); process.exit(code); };
  if (wantsHelp(argv)) { console.log(USAGE); return; }
  if (cmd !== 'install' && cmd !== 'uninstall') fail(`${cmd === undefined ? 'no command' : `unknown command '${cmd}'`}\n${USAGE}`, 2);
  let o;
  try { o = parseKernelArgs(rest); } catch (e) { fail(`${e.message}\n${USAGE}`, 2); }
  try {
    const { dir, found } = kernelSpecDir(o);
    if (o.printDir) { console.log(dir); return; }
    if (cmd === 'install') {
      const r = o.target === 'project' ? { ...installKernel(), previousRoot: undefined } : writeKernelSpec(dir);
      const moved = r.previousRoot && r.previousRoot !== ROOT ? ` (it pointed to ${r.previousRoot} before)` : '';
      const extra = o.target === 'project' ? "; 'rnn-lab' importable from notebooks" : '';
      console.log(`rnn-lab: kernel "${KERNEL_DISPLAY_NAME}" (${KERNEL_NAME}) written to ${dir}${moved}: ${found}${extra}`);
    } else {
      const r = removeKernelSpec(dir);
      if (r.removed.length === 0) {
        console.log(`rnn-lab: no kernel.json in ${dir}; nothing removed${r.left.length ? ` (the folder holds ${r.left.join(', ')}, kept)` : ''}`);
      } else {
        console.log(`rnn-lab: kernel "${KERNEL_DISPLAY_NAME}" removed from ${dir}${r.left.length ? ` (other files kept there: ${r.left.join(', ')})` : ''}`);
      }
    }
  } catch (e) { fail(e.message); }
}

// Run as a script (not when imported by start, course, grade or the tests).
const isMain = (() => { try { return fs.realpathSync(process.argv[1]) === fileURLToPath(import.meta.url); } catch { return false; } })();
if (isMain) main(process.argv.slice(2));
