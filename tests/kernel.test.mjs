// The course kernel through jupyter_client and nbclient (tests/kernel_protocol.py): errors reported the
// Jupyter way, stop_on_error honoured, Interrupt stopping train and decode, notebooks run from any folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';
import { findPython, jupyterEnv } from '../scripts/lib/jupyter.mjs';

const python = findPython(['jupyter_client', 'nbclient', 'nbformat']);

function scenario(t, name) {
  if (!needs(t, 'Python with jupyter_client and nbclient', python, 'apt-get install python3-nbclient python3-ipykernel')) return;
  const r = spawnSync(python, [path.join(ROOT, 'tests', 'kernel_protocol.py'), name], {
    env: jupyterEnv(), encoding: 'utf8', timeout: 240000,
  });
  t.diagnostic(r.stdout.trim());
  assert.equal(r.status, 0, `scenario ${name} failed (exit ${r.status}${r.signal ? `, ${r.signal}` : ''}):\n${r.stdout}\n${r.stderr}`);
}

test('a failing cell gives ename/evalue/traceback in the reply and an error output; nbclient sees them', (t) => scenario(t, 'errors'));
test('after an error, queued cells are aborted only when the request asked (stop_on_error); allow_errors runs the rest', (t) => scenario(t, 'abort'));
test('Interrupt stops train within a batch: idle within 2 s, weights kept, nothing printed later, stopped = interrupted', (t) => scenario(t, 'interrupt_train'));
test('Interrupt stops a synchronous decode cleanly: idle within 2 s, no tensor left, kernel usable', (t) => scenario(t, 'interrupt_decode'));
test('a lesson and a notebook with a local module run from a folder outside the project', (t) => scenario(t, 'anywhere'));
test("an earlier cell's variable in a shorthand property ({ x }, nested, destructuring assignment, train's data) has its value", (t) => scenario(t, 'earlier_names'));
test('plotly.js moves only when the cell that held it ran again or was deleted, where the frontend sends cell ids', (t) => scenario(t, 'cell_ids'));

test('kernel:install --user: a notebook in $HOME runs with it without JUPYTER_PATH; kernel:uninstall removes it', (t) => {
  if (!needs(t, 'Python with jupyter_client and nbclient', python, 'apt-get install python3-nbclient python3-ipykernel')) return;
  const home = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-home-')));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JUPYTER_') && k !== 'XDG_DATA_HOME'));
  Object.assign(env, { HOME: home, RNN_LAB_PYTHON: python, PYDEVD_DISABLE_FILE_VALIDATION: '1' });
  const cli = (...a) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'kernel.mjs'), ...a], { env, encoding: 'utf8', cwd: home });
  try {
    const inst = cli('install', '--user');
    assert.equal(inst.status, 0, inst.stderr);
    const r = spawnSync(python, [path.join(ROOT, 'tests', 'kernel_protocol.py'), 'home'], { env, encoding: 'utf8', cwd: home, timeout: 240000 });
    t.diagnostic(r.stdout.trim());
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}`);
    const un = cli('uninstall', '--user');
    assert.equal(un.status, 0, un.stderr);
    const list = spawnSync(python, ['-m', 'jupyter_client.kernelspecapp', 'list', '--json'], { env, encoding: 'utf8' });
    assert.ok(!('rnn-lab' in JSON.parse(list.stdout).kernelspecs), 'uninstall left the kernel listed');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
  }
});
