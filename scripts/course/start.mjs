// `npm start`: open the course in Jupyter (JupyterLab where installed, else the classic Notebook)
// on notebooks/, with the course's kernel registered inside the project.
//   RNN_LAB_PORT (default 8888), RNN_LAB_NO_BROWSER=1, RNN_LAB_PYTHON=/path/to/python
import { spawn } from 'node:child_process';
import * as net from 'node:net';
import * as path from 'node:path';
import { ROOT, findPython, jupyterEnv, libraryBuilt, pythonCandidates, INSTALL_HINT } from '../lib/jupyter.mjs';
import { installKernel } from '../kernel.mjs';
import { wantsHelp } from '../lib/args.mjs';

function fail(msg) {
  console.error(`rnn-lab start: ${msg}`);
  process.exit(1);
}

function portFree(port) {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

const USAGE = 'usage: npm start   (options by environment: RNN_LAB_PORT=8888, RNN_LAB_NO_BROWSER=1, RNN_LAB_PYTHON=/path/to/python)';
const argv = process.argv.slice(2);
if (wantsHelp(argv)) {
  console.log(USAGE);
  process.exit(0);
}
// Nothing on the command line is read: an argument would otherwise be ignored silently.
if (argv.length > 0) fail(`unexpected argument${argv.length > 1 ? 's' : ''} ${argv.join(' ')}\n${USAGE}`);

if (!libraryBuilt()) fail('the library is not built (dist/index.js is missing). Run `npm install` (it builds), or `npm run build`.');

const port = Number(process.env.RNN_LAB_PORT ?? 8888);
if (!Number.isInteger(port) || port < 1 || port > 65535) fail(`RNN_LAB_PORT must be a port number 1–65535; got '${process.env.RNN_LAB_PORT}'`);

const lab = findPython(['jupyterlab']);
const classic = lab ? null : findPython(['notebook']);
const python = lab ?? classic;
if (!python) fail(`Jupyter was not found (looked in ${pythonCandidates().join(', ')}). ${INSTALL_HINT}`);

if (!(await portFree(port))) {
  fail(`port ${port} is already in use (another Jupyter?). Stop it, or choose a port: RNN_LAB_PORT=8890 npm start`);
}

installKernel();
const args = ['-m', lab ? 'jupyterlab' : 'notebook', `--notebook-dir=${path.join(ROOT, 'notebooks')}`, `--port=${port}`, '--port-retries=0'];
if (process.env.RNN_LAB_NO_BROWSER === '1' || process.env.CI === 'true') args.push('--no-browser');
// Containers and CI machines run as root, which Jupyter refuses without this flag.
if (process.getuid?.() === 0) args.push('--allow-root');
console.log(`rnn-lab start: ${lab ? 'JupyterLab' : 'Jupyter Notebook'} with ${python} on http://localhost:${port} (kernel "TypeScript (rnn-lab)"); Ctrl-C stops it`);
const child = spawn(python, args, { env: jupyterEnv(), stdio: 'inherit', cwd: ROOT });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));

// npm forwards neither SIGTERM nor SIGKILL to this script: when whatever ran `npm start` ends npm that
// way (a process manager, an editor's "terminate task"), this process is re-parented and would leave
// Jupyter, its kernels and the port running. Watching the parent stops them (SIGTERM: Jupyter shuts its
// kernels down without asking).
const parent = process.ppid;
const watch = setInterval(() => {
  if (process.ppid === parent) return;
  clearInterval(watch);
  console.error(`rnn-lab start: the process that started this one (pid ${parent}) has ended; stopping Jupyter`);
  child.kill('SIGTERM');
}, 500);
