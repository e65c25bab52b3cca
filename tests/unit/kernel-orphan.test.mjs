// A kernel whose launcher dies ends too, whenever that happens. launch.cjs (the process Jupyter starts and
// signals) runs kernel.cjs in its own process group; killing the launcher — the grader's Ctrl-C kills the
// kernel pids it recorded, which are launchers — must not leave kernel.cjs running students' code with
// nobody to collect it. Seen in CI: a launcher killed 0.6 s after the kernel process appeared, while
// kernel.cjs was still loading tslab, left the kernel running; its parent watch started only after
// loading and took the adoptive parent for its own. Both moments are tested: during loading and once the
// kernel answers (its sockets bound).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

const listen = () => new Promise((resolve) => { const s = net.createServer(); s.listen(0, '127.0.0.1', () => resolve(s)); });
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, listen));
  const ports = servers.map((s) => s.address().port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The pids of processes whose command line holds `needle` (from /proc). */
function pidsWith(needle) {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try { if (fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d)); } catch { /* gone */ }
  }
  return out;
}
const alive = (pid) => { try { process.kill(pid, 0); return !fs.readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z '); } catch { return false; } };

for (const [when, ready] of [['while the kernel is still loading', null], ['once its sockets are bound', 'shell']]) {
  test(`killing the launcher ${when} ends the kernel within 5 s`, { skip: !fs.existsSync('/proc/self/cmdline') && 'needs /proc' }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-orphan-'));
    const file = path.join(dir, 'kernel-orphan-test.json');
    const [a, b, c, d, e] = await freePorts(5);
    fs.writeFileSync(file, JSON.stringify({ transport: 'tcp', ip: '127.0.0.1', key: 'k', signature_scheme: 'hmac-sha256',
      iopub_port: a, shell_port: b, control_port: c, stdin_port: d, hb_port: e }));
    const launcher = spawn(process.execPath, [path.join(ROOT, 'scripts', 'kernel', 'launch.cjs'), file], { cwd: dir, stdio: 'ignore' });
    let kernel = null;
    try {
      const deadline = Date.now() + 60000;
      while (Date.now() < deadline && kernel === null) {
        kernel = pidsWith(file).find((p) => p !== launcher.pid && fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('kernel.cjs')) ?? null;
        if (kernel === null) await sleep(10);
      }
      assert.ok(kernel, 'kernel.cjs did not start within 60 s');
      if (ready) {
        // Bound: a TCP connection to the shell port succeeds.
        while (Date.now() < deadline && !(await new Promise((res) => { const s = net.connect(b, '127.0.0.1', () => { s.destroy(); res(true); }); s.on('error', () => res(false)); }))) await sleep(100);
      }
      const t0 = Date.now();
      launcher.kill('SIGKILL');
      while (Date.now() - t0 < 5000 && alive(kernel)) await sleep(50);
      const left = alive(kernel);
      console.log(`# ${when}: the kernel ${left ? 'was still running' : 'ended'} ${((Date.now() - t0) / 1000).toFixed(2)} s after its launcher was killed`);
      assert.ok(!left, `kernel.cjs (pid ${kernel}) still runs 5 s after its launcher was killed ${when}`);
    } finally {
      if (kernel && alive(kernel)) try { process.kill(kernel, 'SIGKILL'); } catch { /* gone */ }
      try { launcher.kill('SIGKILL'); } catch { /* gone */ }
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
