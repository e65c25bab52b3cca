// The kernel's Jupyter sockets: a port taken between Jupyter choosing it and the kernel binding it ends
// the kernel at once with the address in the message (Jupyter then reports a dead kernel and can start
// it again on new ports), instead of a kernel that never answers kernel_info (a 60 s wait, then a
// timeout; seen once in CI as "Socket is blocked by a bind or unbind operation" while binding).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

const listen = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => resolve(s)); });

function runKernel(connection, limitMs) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-ports-'));
  const file = path.join(dir, 'kernel.json');
  fs.writeFileSync(file, JSON.stringify(connection));
  const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'kernel', 'launch.cjs'), file], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const t0 = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => { child.kill('SIGTERM'); }, limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stderr, ms: Date.now() - t0 });
    });
  });
}

async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, listen));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

for (const taken of ['iopub_port', 'shell_port']) {
  test(`a kernel whose ${taken} is taken exits with code 1 and names the address (no silent hang)`, async () => {
    const blocker = await listen();
    const [a, b, c, d, e] = await freePorts(5);
    const connection = { transport: 'tcp', ip: '127.0.0.1', key: 'k', signature_scheme: 'hmac-sha256',
      iopub_port: a, shell_port: b, control_port: c, stdin_port: d, hb_port: e };
    connection[taken] = blocker.address().port;
    try {
      const r = await runKernel(connection, 30000);
      assert.equal(r.signal, null, `the kernel did not exit by itself within 30 s; stderr:\n${r.stderr}`);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, new RegExp(`cannot bind tcp://127\\.0\\.0\\.1:${connection[taken]}: Address already in use`));
      assert.match(r.stderr, /exiting so that Jupyter can start it again/);
      console.log(`# ${taken} taken: exit ${r.code} after ${(r.ms / 1000).toFixed(1)} s`);
    } finally {
      blocker.close();
    }
  });
}

// `npm install <another package>` prunes the link node_modules/rnn-lab -> .. (npm did not make it), and
// every notebook's `import … from 'rnn-lab'` then failed until the next plain `npm install`. The
// launcher puts it back. Tried on a copy of the launcher in a scratch "checkout", not the real one.
test('the kernel launcher recreates a pruned node_modules/rnn-lab link, and leaves a real folder there alone', async () => {
  const fake = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-root-'));
  try {
    fs.mkdirSync(path.join(fake, 'scripts', 'kernel'), { recursive: true });
    fs.mkdirSync(path.join(fake, 'node_modules'));
    fs.copyFileSync(path.join(ROOT, 'scripts', 'kernel', 'launch.cjs'), path.join(fake, 'scripts', 'kernel', 'launch.cjs'));
    // No kernel.cjs in the copy: the child fails at once, after the launcher's own work is done.
    const run = () => spawnSync(process.execPath, [path.join(fake, 'scripts', 'kernel', 'launch.cjs'), path.join(fake, 'none.json')], { encoding: 'utf8', timeout: 20000 });
    run();
    const link = path.join(fake, 'node_modules', 'rnn-lab');
    assert.ok(fs.lstatSync(link).isSymbolicLink(), 'the link was not recreated');
    assert.equal(fs.realpathSync(link), fs.realpathSync(fake));
    fs.rmSync(link);
    fs.mkdirSync(link);
    fs.writeFileSync(path.join(link, 'keep.txt'), 'a real install');
    run();
    assert.equal(fs.readFileSync(path.join(link, 'keep.txt'), 'utf8'), 'a real install', 'a real folder was touched');
  } finally {
    fs.rmSync(fake, { recursive: true, force: true });
  }
});
