// The fused kernels' default thread count (src/fused/quota.ts): RNN_LAB_FUSED_THREADS, else the cgroup
// CPU quota rounded down, else min(8, availableParallelism). The cgroup files are read from fake trees
// (proc/self/cgroup and sys/fs/cgroup/… in a temporary folder); the expected CPU counts are the files'
// quota / period worked out here, and the expected threads max(1, floor(q)) capped by the cores.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const Q = require(path.join(ROOT, 'dist', 'fused', 'quota.js'));

const made = [];
after(() => { for (const d of made) fs.rmSync(d, { recursive: true, force: true }); });

/** A fake root: files { 'proc/self/cgroup': text, 'sys/fs/cgroup/cpu.max': text, … }. */
function fakeRoot(files) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnn-lab-cgroup-'));
  made.push(root);
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    fs.writeFileSync(path.join(root, rel), text);
  }
  return root;
}

/** A cgroup v2 machine (unified hierarchy at /sys/fs/cgroup) whose process sits at `/` with this cpu.max. */
const v2 = (cpuMax, extra = {}) => fakeRoot({
  'proc/self/cgroup': '0::/\n', 'sys/fs/cgroup/cgroup.controllers': 'cpuset cpu io memory pids\n',
  ...(cpuMax === undefined ? {} : { 'sys/fs/cgroup/cpu.max': `${cpuMax}\n` }), ...extra,
});

const threadsFor = (root, ap) => Q.fusedThreadsFrom({ env: undefined, quota: Q.cgroupCpuQuota(root), availableParallelism: ap });

test('cgroup v2 quota of 1 CPU: 1 thread on a 4-core machine, and the reason quotes cpu.max', () => {
  const root = v2('100000 100000');
  const q = Q.cgroupCpuQuota(root);
  assert.equal(q.cpus, 100000 / 100000);
  assert.equal(q.reason, 'cgroup v2 cpu.max 100000 100000 → 1 CPU');
  assert.deepEqual(threadsFor(root, 4), { threads: 1, reason: 'cgroup v2 cpu.max 100000 100000 → 1 CPU' });
});

test('cgroup v2 quota of 1.5 CPUs rounds down to 1 thread (not 2); 2.5 CPUs → 2', () => {
  const root = v2('150000 100000');
  assert.equal(Q.cgroupCpuQuota(root).cpus, 1.5);
  const t = threadsFor(root, 4);
  assert.equal(t.threads, Math.floor(150000 / 100000));
  assert.equal(t.threads, 1);
  assert.equal(t.reason, 'cgroup v2 cpu.max 150000 100000 → 1.5 CPUs');
  assert.equal(threadsFor(v2('250000 100000'), 8).threads, 2);
  // Below one CPU: still one thread (this one).
  assert.deepEqual(threadsFor(v2('50000 100000'), 4), { threads: 1, reason: 'cgroup v2 cpu.max 50000 100000 → 0.5 CPUs' });
});

test('no quota ("max"): min(8, availableParallelism), with the reason saying so', () => {
  const root = v2('max 100000');
  assert.equal(Q.cgroupCpuQuota(root), null);
  assert.deepEqual(threadsFor(root, 2), { threads: 2, reason: 'availableParallelism 2' });
  assert.deepEqual(threadsFor(root, 16), { threads: 8, reason: 'availableParallelism 16, at most 8' });
  // No cpu.max at all (the root cgroup of a host has none) and no cgroup files (not Linux): the same.
  assert.equal(Q.cgroupCpuQuota(v2(undefined)), null);
  assert.equal(Q.cgroupCpuQuota(fakeRoot({ 'etc/hostname': 'x' })), null);
});

test('a quota above the cores does not add threads; the reason names both', () => {
  const t = threadsFor(v2('400000 100000'), 2);
  assert.equal(t.threads, 2);
  assert.equal(t.reason, 'availableParallelism 2 (under cgroup v2 cpu.max 400000 100000 → 4 CPUs)');
});

test('cgroup v2: the process\'s own cgroup from /proc/self/cgroup, and a parent\'s lower quota binds', () => {
  const root = fakeRoot({
    'proc/self/cgroup': '0::/kubepods/pod1/c1\n',
    'sys/fs/cgroup/cgroup.controllers': 'cpu\n',
    'sys/fs/cgroup/cpu.max': 'max 100000\n',
    'sys/fs/cgroup/kubepods/pod1/cpu.max': '200000 100000\n',
    'sys/fs/cgroup/kubepods/pod1/c1/cpu.max': '300000 100000\n',
    'sys/fs/cgroup/other/cpu.max': '100000 100000\n',   // another cgroup's quota: not ours
  });
  assert.deepEqual(Q.cgroupCpuQuota(root), { cpus: 2, reason: 'cgroup v2 cpu.max 200000 100000 → 2 CPUs' });
  // A path that is not under the mount (a host path seen from a container's namespace): the mount's root.
  const hostPath = fakeRoot({
    'proc/self/cgroup': '0::/system.slice/docker-abc.scope\n',
    'sys/fs/cgroup/cgroup.controllers': 'cpu\n', 'sys/fs/cgroup/cpu.max': '150000 100000\n',
  });
  assert.equal(Q.cgroupCpuQuota(hostPath).cpus, 1.5);
});

test('cgroup v1: cpu.cfs_quota_us / cpu.cfs_period_us under the cpu controller\'s mount', () => {
  const root = fakeRoot({
    'proc/self/cgroup': '5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '-1\n',
    'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
    'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '150000\n',
    'sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
  });
  const q = Q.cgroupCpuQuota(root);
  assert.equal(q.cpus, 150000 / 100000);
  assert.equal(q.reason, 'cgroup v1 cpu.cfs_quota_us 150000 / cpu.cfs_period_us 100000 → 1.5 CPUs');
  assert.equal(threadsFor(root, 4).threads, 1);
  // A 1-CPU quota with a 50 ms period, on a hybrid machine (v1 cpu, an empty v2 hierarchy beside it).
  const one = fakeRoot({
    'proc/self/cgroup': '1:cpu:/\n0::/\n',
    'sys/fs/cgroup/unified/cgroup.controllers': '',
    'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000\n', 'sys/fs/cgroup/cpu/cpu.cfs_period_us': '50000\n',
  });
  assert.deepEqual(threadsFor(one, 2), { threads: 1, reason: 'cgroup v1 cpu.cfs_quota_us 50000 / cpu.cfs_period_us 50000 → 1 CPU' });
  // -1 everywhere: no quota.
  const none = fakeRoot({
    'proc/self/cgroup': '1:cpu:/\n', 'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1\n', 'sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000\n',
  });
  assert.equal(Q.cgroupCpuQuota(none), null);
});

test('a quota file that does not parse is an error naming the file, not "no quota"', () => {
  assert.throws(() => Q.cgroupCpuQuota(v2('lots 100000')), (e) => /cpu\.max reads 'lots 100000'/.test(e.message) && /RNN_LAB_FUSED_THREADS/.test(e.message));
  const v1bad = fakeRoot({
    'proc/self/cgroup': '1:cpu:/\n', 'sys/fs/cgroup/cpu/cpu.cfs_quota_us': '50000\n', 'sys/fs/cgroup/cpu/cpu.cfs_period_us': '0\n',
  });
  assert.throws(() => Q.cgroupCpuQuota(v1bad), /cpu\.cfs_quota_us '50000' and cpu\.cfs_period_us '0'/);
});

test('RNN_LAB_FUSED_THREADS overrides the quota and the cores', () => {
  const root = v2('100000 100000');
  const cores = os.availableParallelism();
  const over = 3 > cores ? ` (more than the ${cores} core${cores === 1 ? '' : 's'} here: threads share cores, and each call waits for the slowest)` : '';
  assert.deepEqual(Q.defaultFusedThreads({ RNN_LAB_FUSED_THREADS: '3' }, root), { threads: 3, reason: `RNN_LAB_FUSED_THREADS=3${over}` });
  // Found by a trial: 64 threads on 2 cores were taken without a word (688 MB and 10× the time of 1 thread).
  assert.deepEqual(Q.fusedThreadsFrom({ env: '64', quota: null, availableParallelism: 2 }),
    { threads: 64, reason: 'RNN_LAB_FUSED_THREADS=64 (more than the 2 cores here: threads share cores, and each call waits for the slowest)' });
  assert.deepEqual(Q.fusedThreadsFrom({ env: '2', quota: null, availableParallelism: 2 }), { threads: 2, reason: 'RNN_LAB_FUSED_THREADS=2' });
  assert.deepEqual(Q.defaultFusedThreads({}, root), { threads: 1, reason: 'cgroup v2 cpu.max 100000 100000 → 1 CPU' });
  // Empty counts as unset (as `VAR= cmd` in a shell).
  assert.deepEqual(Q.defaultFusedThreads({ RNN_LAB_FUSED_THREADS: '' }, root).threads, 1);
});

test('a bad RNN_LAB_FUSED_THREADS is an error naming the variable and the value', () => {
  for (const bad of ['0', '1.5', 'abc', '65', '-2', '2x']) {
    assert.throws(() => Q.defaultFusedThreads({ RNN_LAB_FUSED_THREADS: bad }, v2('max 100000')),
      (e) => e instanceof RangeError && e.message.startsWith('RNN_LAB_FUSED_THREADS must be an integer from 1 to 64') && e.message.endsWith(`got '${bad}'`),
      `value ${bad}`);
  }
});

// The library as a notebook loads it, in a child process so the environment is its own.
function runLib(env, code) {
  const r = spawnSync(process.execPath, ['-e', code], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, RNN_LAB_FUSED_THREADS: '', ...env }, timeout: 60000,
  });
  return { ...r, json: r.status === 0 ? JSON.parse(r.stdout.trim().split('\n').pop()) : undefined };
}

test('fusedInfo and backendInfo report threads and why; the env variable drives the split itself', () => {
  const code = `
    const L = require('./dist/index.js'); const tf = require('@tensorflow/tfjs');
    (async () => {
      await L.initBackend({ backend: 'cpu', quiet: true });
      const first = L.fusedInfo(); const b = L.backendInfo();
      // A call split as far as allowed (minWork 0, one row per shard): helpers = threads − 1.
      L.setFusedThreads(first.threads, { minWork: 0, minRows: 1 });
      const [b8, m, n] = [8, 3, 4];
      const x = tf.randomNormal([b8, 5, m]), k = tf.randomNormal([m, n]), rk = tf.randomNormal([n, n]), bias = tf.zeros([n]);
      L.fusedSequence('rnn', x, k, rk, bias, null, null);
      const afterCall = L.fusedInfo();
      L.setFusedThreads(1);
      console.log(JSON.stringify({ first, b, helpers: afterCall.helperThreads, set: L.backendInfo(), setInfo: L.fusedInfo() }));
      process.exit(0);
    })().catch((e) => { console.error(e.message); process.exit(3); });`;
  for (const n of [1, 2]) {
    const r = runLib({ RNN_LAB_FUSED_THREADS: String(n) }, code);
    assert.equal(r.status, 0, r.stderr);
    const j = r.json;
    assert.equal(j.first.threads, n);
    assert.equal(j.first.threadsReason, `RNN_LAB_FUSED_THREADS=${n}`);
    assert.equal(j.b.threads, n);
    assert.equal(j.b.threadsReason, `RNN_LAB_FUSED_THREADS=${n}`);
    assert.match(j.b.line, new RegExp(`fused kernels: ${n} threads? \\(RNN_LAB_FUSED_THREADS=${n}\\)$`));
    assert.equal(j.helpers, n - 1, `helper threads after a split call with ${n} threads`);
    // setFusedThreads wins over the variable, and both reports follow it.
    assert.equal(j.set.threads, 1);
    assert.equal(j.set.threadsReason, 'setFusedThreads(1)');
    assert.equal(j.setInfo.threadsReason, 'setFusedThreads(1)');
  }
});

test('without the variable the count is the machine\'s (1..min(8, cores)), with a reason from the quota or the cores', () => {
  const r = runLib({}, `const L = require('./dist/index.js'); console.log(JSON.stringify(L.fusedInfo()));`);
  assert.equal(r.status, 0, r.stderr);
  const cores = os.availableParallelism();
  assert.ok(r.json.threads >= 1 && r.json.threads <= Math.min(8, cores), JSON.stringify(r.json));
  assert.match(r.json.threadsReason, /^(availableParallelism \d+|cgroup v[12] .* CPUs?)/);
  if (/^availableParallelism/.test(r.json.threadsReason)) assert.equal(r.json.threads, Math.min(8, cores));
});

test('a bad variable does not break loading the library; initBackend and fusedInfo report it', () => {
  const r = runLib({ RNN_LAB_FUSED_THREADS: 'four' }, `
    const L = require('./dist/index.js');
    let info; try { L.fusedInfo(); } catch (e) { info = e.message; }
    L.initBackend({ backend: 'cpu', quiet: true }).then(() => console.log(JSON.stringify({ info })),
      (e) => console.log(JSON.stringify({ info, init: e.message })));`);
  assert.equal(r.status, 0, r.stderr);
  const want = "RNN_LAB_FUSED_THREADS must be an integer from 1 to 64 (the fused kernels' threads, this one included); got 'four'";
  assert.equal(r.json.info, want);
  assert.equal(r.json.init, want);
});
