// `npm start`: opens Jupyter on the course, and fails fast with a clear message when it cannot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';

const START = path.join(ROOT, 'scripts', 'course', 'start.mjs');
const run = (env, script = START) => spawnSync(process.execPath, [script], { env: { ...process.env, RNN_LAB_NO_BROWSER: '1', ...env }, encoding: 'utf8', timeout: 60000 });

function freePort() {
  return new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

test('without Jupyter it says what to install and exits non-zero', () => {
  const r = run({ RNN_LAB_PYTHON: '/nonexistent/python3' });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /Jupyter was not found \(looked in \/nonexistent\/python3\)/);
  assert.match(r.stderr, /pip install jupyterlab/);
  assert.match(r.stderr, /apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient/);
});

test('with the port busy it says so and exits non-zero', async (t) => {
  if (!needs(t, 'Jupyter', findPython(['notebook']) || findPython(['jupyterlab']), INSTALL_HINT)) return;
  const srv = net.createServer();
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  try {
    const port = srv.address().port;
    const r = await new Promise((resolve) => {
      const c = spawn(process.execPath, [START], { env: { ...process.env, RNN_LAB_NO_BROWSER: '1', RNN_LAB_PORT: String(port) } });
      let err = '';
      c.stderr.on('data', (d) => { err += d; });
      c.on('exit', (status) => resolve({ status, err }));
    });
    assert.equal(r.status, 1);
    assert.match(r.err, new RegExp(`port ${port} is already in use`));
  } finally { srv.close(); }
  assert.match(run({ RNN_LAB_PORT: 'http' }).stderr, /RNN_LAB_PORT must be a port number 1–65535; got 'http'/);
});

test('without the built library it says how to build and exits non-zero', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-nobuild-'));
  for (const d of ['course', 'lib']) fs.mkdirSync(path.join(tmp, 'scripts', d), { recursive: true });
  for (const f of ['course/start.mjs', 'lib/jupyter.mjs', 'lib/args.mjs', 'kernel.mjs']) fs.copyFileSync(path.join(ROOT, 'scripts', f), path.join(tmp, 'scripts', f));
  const r = run({}, path.join(tmp, 'scripts', 'course', 'start.mjs'));
  fs.rmSync(tmp, { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /the library is not built \(dist\/index\.js is missing\)\. Run `npm install`/);
});

test('it starts Jupyter on notebooks/ with the course kernel available', async (t) => {
  if (!needs(t, 'Jupyter', findPython(['notebook']) || findPython(['jupyterlab']), INSTALL_HINT)) return;
  const port = await freePort();
  const child = spawn(process.execPath, [START], { env: { ...process.env, RNN_LAB_NO_BROWSER: '1', RNN_LAB_PORT: String(port) }, detached: true });
  let log = '';
  child.stdout.on('data', (d) => { log += d; });
  child.stderr.on('data', (d) => { log += d; });
  try {
    const deadline = Date.now() + 45000;
    let token = null;
    while (Date.now() < deadline && !token) {
      token = (log.match(/[?&]token=([0-9a-f]+)/) || [])[1] ?? null;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(token, `Jupyter did not print its URL within 45 s:\n${log}`);
    const res = await fetch(`http://127.0.0.1:${port}/api/kernelspecs?token=${token}`);
    assert.equal(res.status, 200);
    const specs = await res.json();
    assert.equal(specs.kernelspecs['rnn-lab']?.spec?.display_name, 'TypeScript (rnn-lab)', JSON.stringify(Object.keys(specs.kernelspecs)));
    const nb = await fetch(`http://127.0.0.1:${port}/api/contents/00-welcome.ipynb?content=0&token=${token}`);
    assert.equal(nb.status, 200, 'the server is rooted at notebooks/');
  } finally {
    try { process.kill(-child.pid, 'SIGTERM'); } catch { /* already gone */ }
  }
});

// A process manager or an editor's "terminate task" ends `npm start` with SIGTERM or SIGKILL; npm does
// not forward either to start.mjs. Jupyter must not outlive it, holding the port and its kernels.
for (const how of ['SIGTERM', 'SIGKILL']) {
  test(`when the process that ran start.mjs is ended by ${how}, Jupyter stops and the port is free`, async (t) => {
    if (!needs(t, 'Jupyter', findPython(['notebook']) || findPython(['jupyterlab']), INSTALL_HINT)) return;
    const port = await freePort();
    // The stand-in for npm: a parent that runs start.mjs and ignores SIGTERM's forwarding, as npm does.
    const npmLike = `const c = require('node:child_process').spawn(process.execPath, [${JSON.stringify(START)}], { stdio: 'inherit' });
      process.on('SIGTERM', () => process.exit(143));`;
    const parent = spawn(process.execPath, ['-e', npmLike], { env: { ...process.env, RNN_LAB_NO_BROWSER: '1', RNN_LAB_PORT: String(port) }, detached: true });
    let log = '';
    parent.stdout.on('data', (d) => { log += d; });
    parent.stderr.on('data', (d) => { log += d; });
    const listening = async () => {
      try { await fetch(`http://127.0.0.1:${port}/api`); return true; } catch { return false; }
    };
    try {
      const deadline = Date.now() + 45000;
      while (Date.now() < deadline && !(await listening())) await new Promise((r) => setTimeout(r, 250));
      assert.ok(await listening(), `Jupyter did not listen on ${port} within 45 s:\n${log}`);
      process.kill(parent.pid, how);
      const t0 = Date.now();
      while (Date.now() - t0 < 15000 && (await listening())) await new Promise((r) => setTimeout(r, 250));
      const secs = (Date.now() - t0) / 1000;
      assert.ok(!(await listening()), `Jupyter still listens on ${port} 15 s after its starter's parent was ended by ${how}:\n${log}`);
      assert.match(log, /has ended; stopping Jupyter/);
      t.diagnostic(`${how}: Jupyter stopped ${secs.toFixed(1)} s after its starter's parent ended`);
    } finally {
      try { process.kill(-parent.pid, 'SIGKILL'); } catch { /* already gone */ }
    }
  });
}
