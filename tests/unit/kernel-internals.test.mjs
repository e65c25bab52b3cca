// The tslab internals the course kernel (scripts/kernel/) relies on: this fails when a tslab upgrade
// changes them, before a student meets a kernel that no longer reports errors or stops on Interrupt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const T = require(path.join(ROOT, 'scripts', 'kernel', 'tslab.cjs'));
const K = require(path.join(ROOT, 'scripts', 'kernel', 'kernel.cjs'));

test('every tslab internal the kernel uses is there, in the tested tslab version', () => {
  assert.deepEqual(T.checkInternals(), [], 'tslab changed under the course kernel');
  assert.equal(T.tslabVersion(), T.TESTED_VERSION);
  // The kernel must drive the same tslab instance a notebook's require('tslab') gets.
  assert.equal(T.TSLAB_DIR, path.join(ROOT, 'node_modules', 'tslab'));
});

test("tslab's executor reports a thrown value and compile diagnostics only through the console it is given", async () => {
  const convs = { node: T.createConverter({ isJS: false, isBrowser: false }), close() { this.node.close(); } };
  const calls = [];
  const executor = T.createExecutor(ROOT, convs, { log: () => {}, error: (...a) => calls.push(a) });
  try {
    assert.equal(await executor.execute("throw new RangeError('bad hidden size')"), false);
    assert.equal(calls.length, 1);
    assert.equal(calls[0].length, 1, 'a thrown value is passed alone');
    assert.ok(calls[0][0] instanceof Error && calls[0][0].name === 'RangeError' && calls[0][0].message === 'bad hidden size');

    calls.length = 0;
    assert.equal(await executor.execute("const n: number = 'x';"), false);
    assert.ok(calls.length >= 1 && calls[0][0] === '%s%d:%d - %s', `diagnostics format changed: ${JSON.stringify(calls)}`);
    assert.match(calls[0][4], /Type 'string' is not assignable to type 'number'/);

    // executor.interrupt() rejects the awaited cell (what the kernel's SIGINT handler calls).
    calls.length = 0;
    const p = executor.execute('await new Promise((r) => setTimeout(r, 5000));');
    setTimeout(() => executor.interrupt(), 100);
    assert.equal(await p, false);
    assert.equal(calls[0][0].message, 'Interrupted asynchronously');
  } finally {
    executor.close();
  }
});

test('outcome: a loop stopped by Interrupt is headed by the call the press stopped; a WebAssembly trap says to restart', () => {
  const stop = new Error('train interrupted after 0 steps: Interrupt was pressed earlier in this cell, so it did not start');
  stop.name = 'KeyboardInterrupt';
  const o = K.outcome({ errors: [[stop]], interrupted: { what: 'train', message: 'train interrupted in epoch 7/200 after 95 steps' } }, false);
  assert.equal(o.ename, 'KeyboardInterrupt');
  assert.match(o.evalue, /^train interrupted in epoch 7\/200 after 95 steps; then train interrupted after 0 steps/);
  const trap = new WebAssembly.RuntimeError('memory access out of bounds');
  const w = K.outcome({ errors: [[trap]], interrupted: null }, false);
  assert.equal(w.ename, 'RuntimeError');
  assert.ok(w.traceback.some((l) => /restart the kernel/.test(l)), JSON.stringify(w.traceback));
  const plain = K.outcome({ errors: [[new RangeError('bad hidden size')]], interrupted: null }, false);
  assert.ok(!plain.traceback.some((l) => /restart the kernel/.test(l)));
});

test('errorContent: ename/evalue from the error, traceback without tslab or node frames, cell frames quote the statement', () => {
  const e = new RangeError('bad hidden size');
  e.stack = [
    'RangeError: bad hidden size',
    '    at buildLSTM (/work/x/dist/builders.js:120:11)',
    '    at cell-7.ts:2:9',
    '    at stepForward (cell-5.ts:3:15)',
    '    at Object.execute (/work/x/node_modules/tslab/dist/executor.js:180:51)',
    '    at new Promise (<anonymous>)',
    '    at process.processTicksAndRejections (node:internal/process/task_queues:95:5)',
    '    at Command.listener (/work/x/node_modules/commander/lib/command.js:400:5)',
  ].join('\n');
  K.compiledCells.set(7, ['Object.defineProperty(exports, "__esModule", { value: true });', 'exports.m = m = exports.buildLSTM({ hiddenSize: -3 });']);
  K.compiledCells.set(5, ['Object.defineProperty(exports, "__esModule", { value: true });', 'function stepForward(x) {', '    throw new RangeError("bad");']);
  const c = K.errorContent(e);
  assert.equal(c.ename, 'RangeError');
  assert.equal(c.evalue, 'bad hidden size');
  assert.equal(c.traceback.length, 4, JSON.stringify(c.traceback));
  assert.match(c.traceback[1], /buildLSTM \(\/work\/x\/dist\/builders\.js:120:11\)/);
  // Each frame quotes its own cell, also a function defined in an earlier one; tslab's exports. are gone.
  assert.equal(c.traceback[2], '    at cell [7]   m = buildLSTM({ hiddenSize: -3 });');
  assert.equal(c.traceback[3], '    at stepForward (cell [5])   throw new RangeError("bad");');
  // A non-Error thrown value and tslab's interrupt are named too.
  assert.deepEqual([K.errorContent('oops').ename, K.errorContent('oops').evalue], ['string', "'oops'"]);
  const interrupted = K.errorContent(new Error('Interrupted asynchronously'));
  assert.equal(interrupted.ename, 'KeyboardInterrupt');
  // An error with a cause shows both.
  const outer = new Error('loading failed', { cause: new TypeError('not a file') });
  assert.ok(K.errorContent(outer).traceback.some((l) => /TypeError.*not a file/.test(l)));
});
