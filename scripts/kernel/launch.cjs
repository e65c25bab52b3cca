#!/usr/bin/env node
// The course kernel's entry point (the kernelspec's argv): `node launch.cjs <connection_file>`.
//
// Jupyter interrupts a kernel with SIGINT. A Node process runs its SIGINT handler only when its event
// loop is free, so a kernel busy in a synchronous loop (decode, sampleText) could not notice. This small
// process is the one Jupyter signals: it runs the real kernel (kernel.cjs) as a child in its own
// process group and, on SIGINT, appends a byte to a shared, already-unlinked file. A thread in the
// kernel watches that file and tells the library at once (see kernel.cjs and src/interrupt.ts).
'use strict';
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');

const args = process.argv.slice(2);
if (args.length !== 1 || args[0].startsWith('-')) {
  console.error('usage: node scripts/kernel/launch.cjs <connection_file>   (Jupyter runs this through the kernelspec)');
  process.exit(2);
}

// The interrupt channel: a private file nobody else can find (unlinked once both processes hold it).
const channelPath = path.join(os.tmpdir(), `rnn-lab-interrupt-${process.pid}-${crypto.randomBytes(6).toString('hex')}`);
const channel = fs.openSync(channelPath, 'wx+', 0o600);

// `import … from 'rnn-lab'` resolves through the link node_modules/rnn-lab -> .. that `npm install` makes;
// `npm install <another package>` prunes it (npm does not know it), so a kernel started after that would
// fail every notebook's import. Put it back when it is missing; never touch anything else there.
const link = path.join(ROOT, 'node_modules', 'rnn-lab');
try {
  fs.lstatSync(link);
} catch {
  try {
    if (fs.existsSync(path.join(ROOT, 'node_modules'))) fs.symlinkSync('..', link, 'dir');
  } catch (e) {
    console.error(`rnn-lab kernel: node_modules/rnn-lab is missing and could not be recreated (${e.message}); run npm install in ${ROOT}`);
  }
}

// Notebooks anywhere import rnn-lab, @tensorflow/tfjs and danfojs-node: Node searches NODE_PATH after
// the notebook folder's own node_modules chain, so a package installed next to the notebook still wins.
const nodePath = [...(process.env.NODE_PATH ?? '').split(path.delimiter).filter(Boolean), path.join(ROOT, 'node_modules')];

const child = spawn(process.execPath, [...process.execArgv, path.join(__dirname, 'kernel.cjs'), args[0]], {
  stdio: ['inherit', 'inherit', 'inherit', channel],
  // Its own process group: jupyter_client signals the kernel's whole group, and the kernel must get an
  // interrupt through the channel only (a direct SIGINT would stop synchronous code at an arbitrary point).
  detached: process.platform !== 'win32',
  env: { ...process.env, NODE_PATH: nodePath.join(path.delimiter), RNN_LAB_INTERRUPT_FD: '3', RNN_LAB_LAUNCHER_PID: String(process.pid) },
});
fs.unlinkSync(channelPath);

process.on('SIGINT', () => {
  try { fs.writeSync(channel, 'i'); } catch { /* the kernel has gone; its exit ends this process */ }
});
for (const sig of ['SIGTERM', 'SIGHUP']) {
  process.on(sig, () => { child.kill(sig); });
}
child.on('error', (e) => {
  console.error(`rnn-lab kernel: cannot start ${process.execPath}: ${e.message}`);
  process.exit(1);
});
child.on('exit', (code, signal) => {
  process.exit(code ?? (signal ? 128 + (os.constants.signals[signal] ?? 0) : 1));
});
