// `npm run course` records each lesson's peak memory: scripts/course/memory.py sums the peak RSS (VmHWM)
// of the kernel's process tree, and course.mjs fails a lesson over --max-memory (default 1536 MB).
// Unit level: no notebook runs here (tests/browser.test.mjs checks the figure on a real course index).
// The reference for memory.py is what a test process tree allocates and touches, in MB.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT, needs } from '../helpers.mjs';
import { checkMemory, memoryText, parseArgs, MAX_MEMORY_MB } from '../../scripts/course/course.mjs';

const PY = '/usr/bin/python3';
const linux = fs.existsSync('/proc/self/status');

// A parent that holds PARENT_MB and starts a child that holds CHILD_MB; the sampler watches the
// parent's tree; the child exits before stop(), so only a sample taken while it lived can count it.
const PARENT_MB = 120, CHILD_MB = 60;
const SCRIPT = `
import os, subprocess, sys, time
sys.path.insert(0, ${JSON.stringify(path.join(ROOT, 'scripts', 'course'))})
import memory
parent = subprocess.Popen([sys.executable, '-c', '''
import subprocess, sys, time
held = b"\\\\x01" * (${PARENT_MB} << 20)
child = subprocess.Popen([sys.executable, "-c", "import sys, time; held = b'\\\\x01' * (${CHILD_MB} << 20); print('child ready', flush=True); time.sleep(1.5)"], stdout=sys.stdout)
child.wait()
print("child gone", flush=True)
time.sleep(30)
'''], stdout=subprocess.PIPE, text=True)
watch = memory.PeakMemory(parent.pid, interval=0.1).start()
assert parent.stdout.readline().strip() == 'child ready'
assert parent.stdout.readline().strip() == 'child gone'
report = watch.stop()
parent.kill()
print(__import__('json').dumps(report))
`;

test('memory.py: the peak of a process tree counts a child that has exited, and each process\'s peak', (t) => {
  if (!needs(t, 'Linux /proc', linux, 'peak memory is read from /proc/<pid>/status')) return;
  const r = spawnSync(PY, ['-c', SCRIPT], { encoding: 'utf8', timeout: 60000 });
  assert.equal(r.status, 0, r.stderr);
  const rep = JSON.parse(r.stdout.trim().split('\n').pop());
  const [big, small] = rep.processes;
  assert.equal(rep.processes.length, 2, JSON.stringify(rep));
  // Each process: its allocation plus the interpreter (a Python process is 5–30 MB before it allocates).
  assert.ok(big.peak_mb >= PARENT_MB && big.peak_mb < PARENT_MB + 40, `parent peak ${big.peak_mb} MB for ${PARENT_MB} MB held`);
  assert.ok(small.peak_mb >= CHILD_MB && small.peak_mb < CHILD_MB + 40, `child peak ${small.peak_mb} MB for ${CHILD_MB} MB held`);
  const sum = rep.processes.reduce((s, p) => s + p.peak_mb, 0);
  assert.ok(Math.abs(rep.peak_mb - sum) <= 0.2, `peak_mb ${rep.peak_mb} is the processes' sum ${sum}`);
  assert.ok(rep.peak_mb >= PARENT_MB + CHILD_MB, `tree peak ${rep.peak_mb} MB ≥ ${PARENT_MB + CHILD_MB} MB held`);
});

test('checkMemory fails a lesson over the budget with a message naming the figure, the budget and the processes', () => {
  const reports = [
    { path: 'a.ipynb', ok: true, errors: [], peak_mb: 1600.4, memory_processes: [{ pid: 7, name: 'node', peak_mb: 1560.2 }, { pid: 6, name: 'node', peak_mb: 40.2 }] },
    { path: 'b.ipynb', ok: true, errors: [], peak_mb: 1536 },   // at the budget: fine
    { path: 'c.ipynb', ok: true, errors: [], peak_mb: null, memory_note: 'no /proc here (not Linux): peak memory not measured' },
    { path: 'd.ipynb', ok: false, errors: ['cell 3 failed: x'], peak_mb: 2000, memory_processes: [] },
  ];
  checkMemory(reports, MAX_MEMORY_MB);
  assert.equal(MAX_MEMORY_MB, 1536);
  assert.deepEqual(reports.map((r) => r.ok), [false, true, true, false]);
  assert.equal(reports[0].errors.length, 1);
  assert.match(reports[0].errors[0], /^peak memory 1600 MB is over the --max-memory budget of 1536 MB \(node 1560 MB, node 40 MB\): /);
  assert.deepEqual(reports[3].errors.slice(0, 1), ['cell 3 failed: x'], 'earlier errors are kept');
  assert.match(reports[3].errors[1], /peak memory 2000 MB is over the --max-memory budget of 1536 MB:/);
  assert.deepEqual(reports.map(memoryText), ['1600 MB', '1536 MB', '?', '2000 MB']);
  // A lower budget from the command line.
  assert.equal(checkMemory([{ ok: true, errors: [], peak_mb: 450 }], parseArgs(['--max-memory', '400']).maxMemoryMb)[0].ok, false);
});

test('--max-memory takes a positive number of MB; anything else is an error with the usage line', () => {
  assert.equal(parseArgs([]).maxMemoryMb, 1536);
  assert.equal(parseArgs(['--max-memory', '2048']).maxMemoryMb, 2048);
  assert.equal(parseArgs(['--max-memory=800.5', '03']).maxMemoryMb, 800.5);
  for (const bad of [['--max-memory', '1.5G'], ['--max-memory', '0'], ['--max-memory', '-5'], ['--max-memory']]) {
    assert.throws(() => parseArgs(bad), /^Error: --max-memory needs a positive number of MB \(e\.g\. 1536\); got .*\nusage: npm run course -- \[--site DIR\] \[--max-memory MB\]/, bad.join(' '));
  }
});
