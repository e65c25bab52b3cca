// An exercise's libraryAnswers (src/check/library-answers.ts): a student function that calls the library's
// own answer to its exercise scores 0 with a message naming it — through the module object, through a
// tslab-style alias binding, through a method (rng.choice, RNN_FAMILY.step), and statically for a reference in
// a branch the tests never reach — while correct solutions, and library code the check itself hands to the
// student (hw1's reference cell, hw3's clip), keep full points; every spy is put back afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const C = require(path.join(ROOT, 'dist', 'check.js'));
const { check, gradeExercise } = C;
const train = require(path.join(ROOT, 'dist', 'train.js'));
tf.zeros([1]).dispose();

const quiet = { quiet: true };

/** A correct clipByGlobalNorm written by hand. */
function clipByHand(grads, maxNorm) {
  let s = 0;
  for (const g of Object.values(grads)) s += tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]);
  const norm = Math.sqrt(s);
  const k = norm > maxNorm ? maxNorm / norm : 1;
  const out = {};
  for (const [n, g] of Object.entries(grads)) out[n] = tf.mul(g, k);
  return { grads: out, norm };
}

function sampleByHand(logits, T, rng) {
  const z = logits.map((v) => v / T);
  const mx = Math.max(...z);
  const w = z.map((v) => Math.exp(v - mx));
  const tot = w.reduce((a, b) => a + b, 0);
  const u = rng.next();
  let c = 0;
  for (let k = 0; k < w.length; k++) { c += w[k] / tot; if (u < c) return k; }
  return w.length - 1;
}

/** Run `body` with a tslab-like cell scope (globalThis.__tslab__.exports), as the kernel has. */
function withScope(scope, body) {
  const before = globalThis.__tslab__;
  globalThis.__tslab__ = { exports: scope };
  try { return body(); } finally { if (before === undefined) delete globalThis.__tslab__; else globalThis.__tslab__ = before; }
}

test("a solution that calls the library's answer through the module scores 0 with the reason; a hand-written one scores full", () => {
  const viaLib = (g, m) => { const r = L.clipByGlobalNorm(g, m); return { grads: r.grads, norm: r.norm }; };
  const r = check.clipByGlobalNorm(viaLib, quiet);
  assert.equal(r.points, 0);
  assert.equal(r.passed, false);
  assert.match(r.message, /^your clipByGlobalNorm calls the library's clipByGlobalNorm, which is this exercise's answer; write it yourself/);
  // …also on the hidden tests (the grader's), and through gradeExercise.
  assert.equal(check.clipByGlobalNorm(viaLib, { hidden: true, seed: 5, quiet: true }).points, 0);
  const g = gradeExercise('clipByGlobalNorm', viaLib, { hidden: true, seed: 5, quiet: true });
  assert.equal(g.points, 0);
  assert.match(g.message, /calls the library's clipByGlobalNorm/);
  // The library's globalNorm alone is part of the answer too.
  const viaNorm = (grads, m) => {
    const norm = L.globalNorm(Object.values(grads)).dataSync()[0];
    const k = norm > m ? m / norm : 1;
    return { grads: Object.fromEntries(Object.entries(grads).map(([n, t]) => [n, tf.mul(t, k)])), norm };
  };
  assert.match(check.clipByGlobalNorm(viaNorm, quiet).message, /calls the library's globalNorm/);
  const ok = check.clipByGlobalNorm(clipByHand, quiet);
  assert.equal(ok.points, 2, ok.message);
  // Every spy was put back: the library's exports are the library's functions again.
  assert.equal(L.clipByGlobalNorm, train.clipByGlobalNorm);
  assert.equal(L.clipByGlobalNorm.name, 'clipByGlobalNorm');
  assert.ok(!/called\.add/.test(String(L.clipByGlobalNorm)), 'no spy left on the export');
});

test('an alias bound in the notebook (tslab copies an imported function into its cell scope) is caught', () => {
  // tslab compiles `import { clipByGlobalNorm as libClip } from 'rnn-lab'` to exports.libClip = <the function>,
  // and a later cell's function reads exports.libClip(…) at call time.
  const scope = { libClip: L.clipByGlobalNorm, mine: null };
  withScope(scope, () => {
    const student = new Function('exports', 'return function clipByGlobalNorm(g, m) { const r = exports.libClip(g, m); return { grads: r.grads, norm: r.norm }; }')(scope);
    const r = check.clipByGlobalNorm(student, quiet);
    assert.equal(r.points, 0);
    assert.match(r.message, /calls the library's clipByGlobalNorm/);
    assert.equal(scope.libClip, L.clipByGlobalNorm, 'the binding is restored');
  });
});

test('a reference the tests never reach is caught statically (an alias, the module namespace, require)', () => {
  const scope = { libClip: L.clipByGlobalNorm, lab: L };
  withScope(scope, () => {
    const make = (body) => new Function('exports', 'tf', 'hand', `return function clipByGlobalNorm(g, m) { if (m < 0) { ${body} } return hand(g, m); }`)(scope, tf, clipByHand);
    for (const body of ['return exports.libClip(g, m);', 'return exports.lab.clipByGlobalNorm(g, m);', "return require('rnn-lab').clipByGlobalNorm(g, m);", 'return (0, exports.lab.globalNorm)(g);']) {
      const r = check.clipByGlobalNorm(make(body), quiet);
      assert.equal(r.points, 0, body);
      assert.match(r.message, /your clipByGlobalNorm refers to the library's (clipByGlobalNorm|globalNorm), which is this exercise's answer/, body);
    }
    // The student's own function of the same name (in the scope, not the library's) is no reference.
    scope.clipByGlobalNorm = clipByHand;
    const own = new Function('exports', 'return function wrapper(g, m) { return exports.clipByGlobalNorm(g, m); }')(scope);
    assert.equal(check.clipByGlobalNorm(own, quiet).points, 2);
  });
});

test("a notebook binding named bare (tslab keeps a cell's own const local) or a property of one is caught; the student's own declaration of that name is not", () => {
  // The reported case: `const helper = lab.attend` in the cell that defines the student's attentionWeights,
  // which then says `helper(...)` (a cell-local const, not exports.helper: the spies on the scope miss it).
  const attentionViaHelper = new Function('tf', 'helper', `return function attentionWeights(s, hs, lengths, Wa, Ua, va) { return tf.tidy(() => {
    const query = tf.transpose(s).expandDims(1), keys = tf.stack(hs).transpose([2, 0, 1]);
    return helper(query, keys, { score: 'additive', weights: { W1: tf.transpose(Wa), W2: tf.transpose(Ua), v: va.reshape([-1]) }, sourceLengths: lengths }).weights.squeeze([1]).transpose(); }); }`);
  const viaHelper = attentionViaHelper(tf, L.attend);
  const outside = check.attentionWeights(viaHelper, quiet);
  assert.equal(outside.points, 3, 'outside a notebook nothing tells helper from the student\'s code: the library computes the right answer');
  withScope({ helper: L.attend, tf }, () => {
    const r = check.attentionWeights(viaHelper, quiet);
    assert.equal(r.points, 0, r.message);
    assert.match(r.message, /your attentionWeights refers to the library's attend, which is this exercise's answer/);
  });
  // A second case: a property of a binding (`const tools = { f: lab.attentionScores }` … `tools.f(...)`), in hw3's clipping.
  withScope({ tools: { f: L.clipByGlobalNorm, other: 1 }, lab: L }, () => {
    const viaTools = new Function('tools', 'return function clipByGlobalNorm(g, m) { const r = tools.f(g, m); return { grads: r.grads, norm: r.norm }; }')({ f: L.clipByGlobalNorm });
    const r = check.clipByGlobalNorm(viaTools, quiet);
    assert.equal(r.points, 0, r.message);
    assert.match(r.message, /refers to the library's clipByGlobalNorm/);
  });
  // A wrapper the notebook defines around a same-cell alias (read in turn), a default parameter from the scope,
  // a guard `if (helper)` (no parameter list), and a plain object's method wrapping it.
  const lc = L.clipByGlobalNorm;
  const wrap = new Function('lc', 'return (g, m) => lc(g, m);')(lc);
  withScope({ lc, wrap, helper: lc, utils: { clip: wrap } }, () => {
    const bodies = {
      wrapper: ['wrap', 'return function clipByGlobalNorm(g, m) { const r = wrap(g, m); return { grads: r.grads, norm: r.norm }; }', wrap],
      defaultParam: ['helper', 'return function clipByGlobalNorm(g, m, impl = helper) { const r = impl(g, m); return { grads: r.grads, norm: r.norm }; }', lc],
      guard: ['helper', 'return function clipByGlobalNorm(g, m) { if (helper) { const r = helper(g, m); return { grads: r.grads, norm: r.norm }; } }', lc],
      method: ['utils', 'return function clipByGlobalNorm(g, m) { const r = utils.clip(g, m); return { grads: r.grads, norm: r.norm }; }', { clip: wrap }],
    };
    for (const [what, [param, body, value]] of Object.entries(bodies)) {
      const r = check.clipByGlobalNorm(new Function(param, body)(value), quiet);
      assert.equal(r.points, 0, `${what}: ${r.message}`);
      assert.match(r.message, /the library's clipByGlobalNorm/, what);
    }
  });
  // The student's own helper, parameter or destructured local of the same name as a notebook binding is theirs.
  withScope({ helper: L.clipByGlobalNorm, norm: L.globalNorm }, () => {
    const ownHelper = new Function('hand', 'return function clipByGlobalNorm(g, m) { function helper(a, b) { return hand(a, b); } return helper(g, m); }')(clipByHand);
    assert.equal(check.clipByGlobalNorm(ownHelper, quiet).points, 2);
    const asParam = new Function('hand', 'return function clipByGlobalNorm(g, m, helper = hand) { return helper(g, m); }')(clipByHand);
    assert.equal(check.clipByGlobalNorm(asParam, quiet).points, 2);
    const destructured = new Function('hand', 'return function clipByGlobalNorm(g, m) { const { helper, norm } = { helper: hand, norm: 0 }; return helper(g, m); }')(clipByHand);
    assert.equal(check.clipByGlobalNorm(destructured, quiet).points, 2);
    const asKey = new Function('hand', 'return function clipByGlobalNorm(g, m) { const o = { helper: 1 }; return hand(g, m); }')(clipByHand);
    assert.equal(check.clipByGlobalNorm(asKey, quiet).points, 2, 'an object key is no reference');
  });
});

test("methods: rng.choice and softmax in sampling, RNN_FAMILY.step in the RNN step", () => {
  const viaChoice = (logits, T, rng) => rng.choice(logits.map((z) => Math.exp(z / T)));
  const r = check.sampleWithTemperature(viaChoice, quiet);
  assert.equal(r.points, 0);
  assert.match(r.message, /calls the library's Rng\.choice/);
  const viaSoftmax = (logits, T, rng) => { const p = L.softmax(logits, T); const u = rng.next(); let c = 0; for (let k = 0; k < p.length; k++) { c += p[k]; if (u < c) return k; } return p.length - 1; };
  assert.match(check.sampleWithTemperature(viaSoftmax, quiet).message, /calls the library's softmax/);
  assert.equal(check.sampleWithTemperature(sampleByHand, quiet).points, 3);
  assert.equal(typeof L.Rng.prototype.choice, 'function');
  assert.ok(!Object.hasOwn(L.Rng.prototype, 'choice') || !/called\.add/.test(String(L.Rng.prototype.choice)));

  const viaFamily = (x, hPrev, Wxh, Whh, bh) => tf.tidy(() => {
    const xp = tf.add(tf.matMul(x, Wxh, true, true), tf.reshape(bh, [1, -1]));
    return tf.transpose(L.RNN_FAMILY.step(xp, { h: tf.transpose(hPrev) }, { recurrentKernel: tf.transpose(Whh) }, {}).h);
  });
  const f = check.rnnStepForward(viaFamily, quiet);
  assert.equal(f.points, 0);
  assert.match(f.message, /^your rnnStepForward calls the library's RNN_FAMILY\.step/);
});

test("the library's own calls during a check do not trip the spies", () => {
  // bptt's check hands the student the library's reference cell, which runs RNN_FAMILY.step — one of bptt's
  // library answers; the student's bptt calls it as it must.
  const bptt = (xs, h0, Wxh, Whh, bh, dhs, cell) => {
    const hs = [h0];
    for (const x of xs) hs.push(cell.forward(x, hs[hs.length - 1], Wxh, Whh, bh));
    let dWxh = tf.zerosLike(Wxh), dWhh = tf.zerosLike(Whh), dbh = tf.zerosLike(bh), dh = tf.zerosLike(h0);
    for (let t = xs.length - 1; t >= 0; t--) {
      const g = cell.backward(tf.add(dhs[t], dh), xs[t], hs[t], hs[t + 1], Wxh, Whh);
      dWxh = tf.add(dWxh, g.dWxh); dWhh = tf.add(dWhh, g.dWhh); dbh = tf.add(dbh, g.dbh); dh = g.dhPrev;
    }
    return { dWxh, dWhh, dbh, dh0: dh };
  };
  const r = check.bptt(bptt, quiet);
  assert.equal(r.points, 4, r.message);
  assert.equal(check.bptt(bptt, { hidden: true, seed: 3, quiet: true }).points, 4);
  // The library's clipByGlobalNorm calls its globalNorm internally (same module): a student's clip that
  // uses the library's softmax elsewhere is not involved; the clip check's own reference runs outside the spies.
  assert.equal(check.clipByGlobalNorm(clipByHand, { hidden: true, seed: 9, quiet: true }).points, 2);
});

test('defineExercise takes libraryAnswers and checks it', () => {
  const ex = C.defineExercise({
    name: 'tanhStep', points: 1, reference: (a) => tf.tanh(a), cases: [{ n: 3 }], hidden: [{ n: 4 }],
    inputs: ({ n }, random) => [random.normal([n, 1])], libraryAnswers: ['activate'],
  });
  assert.equal(ex.check((a) => tf.tanh(a), quiet).points, 1);
  const r = ex.check((a) => L.activate(a, 'tanh'), quiet);
  assert.equal(r.points, 0);
  assert.match(r.message, /your tanhStep calls the library's activate/);
  assert.throws(() => C.defineExercise({ name: 'x', points: 1, reference: (a) => a, cases: [{ n: 1 }], hidden: [{ n: 1 }], inputs: () => [1], libraryAnswers: 'activate' }), /libraryAnswers must be an array/);
  // A misspelt name would never be spied on: refused at definition, naming it (a plain and a dotted one).
  const spec = { name: 'x', points: 1, reference: (a) => a, cases: [{ n: 1 }], hidden: [{ n: 1 }], inputs: () => [1] };
  assert.throws(() => C.defineExercise({ ...spec, libraryAnswers: ['activate', 'activte'] }), (e) => e instanceof RangeError && /'activte'/.test(e.message) && !/'activate'/.test(e.message));
  assert.throws(() => C.defineExercise({ ...spec, libraryAnswers: ['GRU_FAMILY.stp'] }), /'GRU_FAMILY\.stp', which is not a function the library exports/);
  assert.equal(C.defineExercise({ ...spec, libraryAnswers: ['GRU_FAMILY.step'] }).check((a) => a, quiet).points, 1);
});

test("every built-in exercise's libraryAnswers names a function the library exports", () => {
  const { unresolvedLibraryAnswers } = require(path.join(ROOT, 'dist', 'check', 'library-answers.js'));
  const { DEFS } = require(path.join(ROOT, 'dist', 'check', 'runner.js'));
  assert.deepEqual(Object.keys(DEFS), Object.keys(C.EXERCISES));
  let listed = 0;
  for (const [name, def] of Object.entries(DEFS)) {
    const names = def.libraryAnswers ?? [];
    listed += names.length;
    assert.deepEqual(unresolvedLibraryAnswers(names), [], `${name}'s libraryAnswers`);
  }
  assert.ok(listed >= 10, `only ${listed} library answers listed in all`);
  assert.deepEqual(unresolvedLibraryAnswers(['lstmLayer', 'lstmLayr', 'RNN_FAMILY.step', 'RNN_FAMILY.nope']), ['lstmLayr', 'RNN_FAMILY.nope']);
});

test("hw2 and hw4: the library's LSTM, GRU, RNN step and masked loss are those exercises' answers; the reference cell handed to lstmForward is not the student's call", () => {
  // Any call of a listed export counts, whatever the function then returns.
  const calls = (name, f) => (...args) => { try { f(); } catch { /* the call is what counts */ } return args[0]; };
  for (const [exercise, name, f] of [
    ['lstmStepForward', 'LSTM_FAMILY.step', () => L.LSTM_FAMILY.step(null)],
    ['lstmStepBackward', 'computeGradients', () => L.computeGradients(null)],
    ['gruStep', 'GRU_FAMILY.step', () => L.GRU_FAMILY.step(null)],
    ['rnnForward', 'RNN_FAMILY.step', () => L.RNN_FAMILY.step(null)],
    ['temporalSoftmaxLoss', 'lossFunction', () => L.lossFunction('crossEntropy', true)],
  ]) {
    const r = check[exercise](calls(name, f), quiet);
    console.log(`  ${exercise} calling ${name}: ${r.points}/${r.maxPoints} — ${r.message.slice(0, 110)}…`);
    assert.equal(r.points, 0, exercise);
    assert.match(r.message, new RegExp(`calls the library's ${name.replace('.', '\\.')}, which is this exercise's answer`), exercise);
  }
  // A correct lstmForward built on the step the check hands over (the library's, behind trustedHelper): full points.
  const lstmForward = (xs, h0, c0, W, cell) => {
    let h = h0, c = c0;
    const hs = [], cs = [];
    for (const x of xs) { const s = cell.forward(x, h, c, W); h = s.h; c = s.c; hs.push(h); cs.push(c); }
    return { hs, cache: { xs, h0, c0, W, hs, cs } };
  };
  const ok = check.lstmForward(lstmForward, quiet);
  console.log(`  lstmForward on the handed cell: ${ok.points}/${ok.maxPoints} — ${ok.message.slice(0, 110)}`);
  assert.equal(ok.points, ok.maxPoints, ok.message);
});
