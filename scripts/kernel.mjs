// `node scripts/kernel.mjs install`: register the course's TypeScript kernel inside the project
// (.jupyter/kernels/rnn-lab, found through JUPYTER_PATH) and make 'rnn-lab' importable by name from
// notebooks. Runs on `npm install`; it needs no Python, so installing never fails for want of Jupyter.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, KERNEL_DIR, KERNEL_NAME, KERNEL_DISPLAY_NAME, libFiles } from './jupyter.mjs';

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

export function installKernel() {
  const tslabBin = path.join(ROOT, 'node_modules', 'tslab', 'bin', 'tslab');
  if (!fs.existsSync(tslabBin)) throw new Error(`tslab is not installed (${tslabBin} is missing): run npm install`);
  fs.mkdirSync(KERNEL_DIR, { recursive: true });
  const spec = {
    // Absolute paths: the kernel starts with the same Node and tslab whatever PATH Jupyter has.
    argv: [process.execPath, tslabBin, 'kernel', '--config-path', '{connection_file}'],
    display_name: KERNEL_DISPLAY_NAME,
    language: 'typescript',
    env: { RNN_LAB_NOTEBOOK: '1', TF_CPP_MIN_LOG_LEVEL: '2' },
    metadata: { 'rnn-lab': { root: ROOT } },
  };
  // Atomic: a half-written kernel.json would break every notebook.
  libFiles().writeFileAtomic(path.join(KERNEL_DIR, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');

  // tslab resolves imports the Node 10 way from the notebook's folder, which cannot see a package's
  // own name; a link node_modules/rnn-lab -> .. makes `import … from 'rnn-lab'` resolve to dist/.
  const link = path.join(ROOT, 'node_modules', 'rnn-lab');
  ensureLink(link, '..');
  return { kernelDir: KERNEL_DIR, link };
}

if (process.argv[2] === 'install') {
  const r = installKernel();
  console.log(`rnn-lab: kernel "${KERNEL_DISPLAY_NAME}" registered in ${path.relative(ROOT, r.kernelDir)} (JUPYTER_PATH); 'rnn-lab' importable from notebooks`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.error('usage: node scripts/kernel.mjs install');
  process.exit(2);
}
