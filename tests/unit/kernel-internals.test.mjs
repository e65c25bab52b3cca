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

// ---- an earlier cell's name in a shorthand property (tslab 1.0.22 leaves it bare: ReferenceError) ----

/** Run cells one after another in a fresh tslab executor; what each printed, and its errors. */
async function runCells(cells, { raw = false } = {}) {
  const make = () => T.createConverter({ isJS: false, isBrowser: false });
  const convs = { node: raw ? make() : T.withEarlierCellShorthands(make()), close() { this.node.close(); } };
  for (const m of T.TSLAB_INTERNALS['converter.js'].converterMethods) assert.equal(typeof convs.node[m], 'function', `converter.${m}`);
  const results = [];
  let r;
  const executor = T.createExecutor(ROOT, convs, { log: () => {}, error: (...a) => r.errors.push(a) });
  for (const m of T.TSLAB_INTERNALS['executor.js'].executorMethods) assert.ok(m in executor, `executor.${m}`);
  const log = console.log;                               // the cells print with the global console
  console.log = (...a) => r.out.push(a.map(String).join(' '));
  try {
    for (const code of cells) {
      r = { code, out: [], errors: [] };
      r.ok = await executor.execute(code);
      results.push(r);
    }
  } finally {
    console.log = log;
    executor.close();
  }
  return results;
}

const DECLARE = "const x = 1; const lengths = [2, 3]; let n = 10; function f() { return 'f'; } class C { v = 7 }\n" +
  "const { p, q: [r] } = { p: 4, q: [5] }; import * as nodePath from 'node:path';";
// Each cell names earlier cells' names in one construct; the value printed is what JavaScript gives
// for the same code in one scope, written out by hand; last, whether tslab 1.0.22 alone gets it wrong.
const CONSTRUCTS = [
  ['object literal', 'console.log(JSON.stringify({ x, lengths }))', '{"x":1,"lengths":[2,3]}', true],
  ['nested, in an array, after a spread', 'console.log(JSON.stringify({ a: { x }, b: [{ lengths }], ...{ n } }))', '{"a":{"x":1},"b":[{"lengths":[2,3]}],"n":10}', true],
  ['function, class, destructured and imported names', "console.log({ f }.f(), new ({ C }.C)().v, JSON.stringify({ p, r }), typeof { nodePath }.nodePath.join)", 'f 7 {"p":4,"r":5} function', true],
  ['a call argument (the README idiom)', 'const g = (o: { x: number; lengths: number[] }) => o.x + o.lengths.length; console.log(g({ x, lengths }))', '3', true],
  ['inside a closure and a method', 'console.log((() => ({ x }))().x, { m() { return { n }; } }.m().n)', '1 10', true],
  ['after await', 'console.log(JSON.stringify(await Promise.resolve({ x })))', '{"x":1}', true],
  ['a declaration in the cell', 'const later = { x, n }; console.log(later.x + later.n)', '11', true],
  ['destructuring assignment to an earlier let', '({ n } = { n: 42 }); console.log(n, typeof (globalThis as any).n)', '42 undefined', true],
  ['destructuring assignment with a default', '({ n = 5 } = {} as { n?: number }); console.log(n)', '5', true],
  ['for-of with a destructuring target', 'for ({ n } of [{ n: 3 }, { n: 4 }]) {} console.log(n)', '4', true],
  ['destructuring default naming an earlier name', 'const { a = x } = {} as { a?: number }; console.log(a, (({ b = x }: { b?: number } = {}) => b)())', '1 1', false],
  ['template literal', 'console.log(`${x}-${lengths}`)', '1-2,3', false],
  ['shadowed in the cell: the local wins', 'const x = 99; console.log(JSON.stringify({ x }))', '{"x":99}', false],
];

test('tslab itself still leaves an earlier cell\'s name in a shorthand property bare (else withEarlierCellShorthands can go)', async () => {
  const [, shorthand, explicit] = await runCells([DECLARE, 'console.log({ x })', 'console.log(JSON.stringify({ x: x }))'], { raw: true });
  assert.equal(shorthand.ok, false, 'tslab now rewrites `{ x }`: drop withEarlierCellShorthands from scripts/kernel/');
  assert.match(String(shorthand.errors[0]?.[0]?.message), /x is not defined/);
  assert.deepEqual([explicit.ok, explicit.out], [true, ['{"x":1}']]);
});

test('every construct naming an earlier cell\'s name prints its value; without the fix the shorthand ones fail', async () => {
  const cells = [DECLARE, ...CONSTRUCTS.map(([, code]) => code)];
  const fixed = await runCells(cells);
  const raw = await runCells(cells, { raw: true });
  delete globalThis.n;                                   // the global tslab alone made of `({ n } = …)`
  assert.ok(fixed[0].ok && raw[0].ok, JSON.stringify([fixed[0].errors, raw[0].errors]));
  const failingRaw = [];
  CONSTRUCTS.forEach(([what, , want], i) => {
    const got = fixed[i + 1];
    assert.ok(got.ok, `${what}: ${got.code}\nfailed: ${got.errors.map((a) => String(a[0]?.message ?? a.join(' '))).join('; ')}`);
    assert.deepEqual(got.out, [want], `${what}: ${got.code}`);
    if (!raw[i + 1].ok || raw[i + 1].out[0] !== want) failingRaw.push(what);
  });
  // What tslab alone gets wrong (a ReferenceError, or a silent global and the old value for the
  // destructuring assignments): every construct with a shorthand property naming an earlier name.
  assert.deepEqual(failingRaw, CONSTRUCTS.filter((c) => c[3]).map(([what]) => what));
});

test('a type error after a rewritten shorthand is reported at the column tslab alone gives', async () => {
  const cell = "const o = { x, n }; const bad: string = n;\nconst s = { lengths }, t: string = { x }.x;";
  const diag = (rs) => rs[1].errors.map((a) => a.slice(1).join(' '));
  const fixed = diag(await runCells([DECLARE, cell]));
  const raw = diag(await runCells([DECLARE, cell], { raw: true }));
  // Counted by hand: `bad` starts at column 27 of line 1; `t` at column 24 of line 2.
  assert.deepEqual(fixed, [" 1 27 Type 'number' is not assignable to type 'string'.", " 2 24 Type 'number' is not assignable to type 'string'."]);
  assert.deepEqual(fixed, raw);
});

test('a top-level export is an error that says why, and leaves the earlier value as it was', async () => {
  const rs = await runCells([DECLARE, 'export { x };', 'let y = 2;\nexport const z = 3;', 'console.log(x)']);
  assert.equal(rs[1].ok, false);
  assert.deepEqual(rs[1].errors.map((a) => [a[2], a[3]]), [[1, 1]]);
  assert.match(rs[1].errors[0][4], /`export` has no use in a notebook cell/);
  assert.deepEqual(rs[2].errors.map((a) => [a[2], a[3]]), [[2, 1]], 'the export keyword of line 2');
  assert.deepEqual(rs[3].out, ['1'], 'x kept its value (tslab alone sets it to undefined)');
  const raw = await runCells([DECLARE, 'export { x };', 'console.log(x)'], { raw: true });
  assert.deepEqual(raw[2].out, ['undefined'], 'tslab alone no longer clears x on `export { x }`: the export error may be reconsidered');
});

test('rewriteCell inserts only after shorthand names of earlier cells; toOriginal maps every offset back', () => {
  const names = T.earlierCellNames("declare const x = 1;\ndeclare let n: number;\ndeclare function f(): string;\ndeclare class C {\n}\n" +
    "declare const p: number, r: number;\ndeclare enum E {\n    A = 0\n}\ntype Ty = number;\ninterface I {\n}\nimport * as tf from 'tf';\nimport d, { a as b, type T2 } from 'm';\n");
  assert.deepEqual([...names].sort(), ['C', 'E', 'b', 'd', 'f', 'n', 'p', 'r', 'tf', 'x']);
  const src = "const o = { x, y, n = 3 };\n({ x } = { x: 2 }); const s = 'x, n';";
  const c = T.rewriteCell(src, names);
  assert.equal(c.code, "const o = { x: x, y, n: n = 3 };\n({ x: x } = { x: 2 }); const s = 'x, n';");
  // Tokens after insertions are mapped to where they are in the cell as written; an offset inside an
  // inserted `: x` to the end of its name.
  for (const token of ['y,', '3 }', '({', '= { x: 2 }', "'x, n'", ';\n']) {
    assert.equal(c.toOriginal(c.code.indexOf(token)), src.indexOf(token), `token ${JSON.stringify(token)}`);
  }
  assert.equal(c.toOriginal(c.code.indexOf(': x') + 2), src.indexOf('x') + 1);
  assert.equal(c.toOriginal(c.code.length), src.length);
  assert.deepEqual(T.rewriteCell('const a = { y };', names).inserted, [], 'a name no earlier cell declared is left to TypeScript');
});
