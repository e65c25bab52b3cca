// `node scripts/kernel.mjs install`: register the course's TypeScript kernel inside the project
// (.jupyter/kernels/rnn-lab, found through JUPYTER_PATH) and make 'rnn-lab' importable by name from
// notebooks. Runs on `npm install`; it needs no Python, so installing never fails for want of Jupyter.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, KERNEL_DIR, KERNEL_NAME, KERNEL_DISPLAY_NAME } from './jupyter.mjs';

/** Write `file` atomically: a half-written kernel.json would break every notebook. */
function writeAtomic(file, text) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
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
  writeAtomic(path.join(KERNEL_DIR, 'kernel.json'), JSON.stringify(spec, null, 2) + '\n');

  // tslab resolves imports the Node 10 way from the notebook's folder, which cannot see a package's
  // own name; a link node_modules/rnn-lab -> .. makes `import … from 'rnn-lab'` resolve to dist/.
  const link = path.join(ROOT, 'node_modules', 'rnn-lab');
  let ok = false;
  try { ok = fs.realpathSync(link) === fs.realpathSync(ROOT); } catch { ok = false; }
  if (!ok) {
    fs.rmSync(link, { recursive: true, force: true });
    fs.symlinkSync('..', link, 'dir');
  }
  return { kernelDir: KERNEL_DIR, link };
}

if (process.argv[2] === 'install') {
  const r = installKernel();
  console.log(`rnn-lab: kernel "${KERNEL_DISPLAY_NAME}" registered in ${path.relative(ROOT, r.kernelDir)} (JUPYTER_PATH); 'rnn-lab' importable from notebooks`);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  console.error('usage: node scripts/kernel.mjs install');
  process.exit(2);
}
