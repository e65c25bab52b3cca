// Per-sequence lengths inside the fused kernels (issue 16): a ragged batch through fusedSequence
// against running fusedSequence on each row alone, unpadded (x[b, :L_b], the row's own h0 and c0), which
// is what PyTorch's packed sequences compute: h_t at the real steps, 0 at the padded steps, hT and cT
// the states after step L_b; gradients of a loss on hs, hT (and cT) with respect to x, kernel,
// recurrentKernel, bias (and GRU resetAfter's recurrent bias), h0 and c0, summed over the rows for the
// weights. Tolerances: forward 1e-5, gradients 1e-4 (absolute, the losses are O(1)); dx at padded steps
// exactly 0. On one thread and with the batch sharded across helper threads; lengths all T are the
// unmasked call bit for bit; bad lengths are errors naming options.lengths; no tensor leaks.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const F = require(path.join(ROOT, 'dist', 'fused', 'index.js'));

const FWD_TOL = 1e-5;
const GRAD_TOL = 1e-4;
const GATES = { rnn: 1, lstm: 4, gru: 3 };

// Every update convention and gate function the kernels have (hard σ where the cell has σ gates).
const CASES = [
  ['rnn', {}], ['rnn', { activation: 'relu' }],
  ['lstm', {}], ['lstm', { recurrentActivation: 'hardSigmoid' }],
  ['gru', {}], ['gru', { update: 'z-takes-new' }], ['gru', { resetAfter: true }], ['gru', { resetAfter: true, update: 'z-takes-new' }],
  ['gru', { recurrentActivation: 'hardSigmoid' }], ['gru', { resetAfter: true, recurrentActivation: 'hardSigmoid' }],
];

/** Random weights at scales where the gates vary (and hard σ saturates now and then). */
function weights(kind, opts, m, n, seed) {
  const Gn = GATES[kind] * n;
  const w = {
    K: tf.randomNormal([m, Gn], 0, 0.9 / Math.sqrt(m), 'float32', seed),
    U: tf.randomNormal([n, Gn], 0, 0.9 / Math.sqrt(n), 'float32', seed + 1),
    B: tf.randomNormal([Gn], 0, 0.3, 'float32', seed + 2),
  };
  if (opts.resetAfter) w.rb = tf.randomNormal([Gn], 0, 0.3, 'float32', seed + 3);
  return w;
}

const maxAbs = (t) => tf.tidy(() => tf.max(tf.abs(t)).dataSync()[0]);
const maxDiff = (a, b) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/** The loss of one call: on hs and hT (and cT) ('all'), on hs only ('sequence') or on hT (and cT) only ('last'). */
function lossOf(r, mode, R, Rl, Rc) {
  const terms = [];
  if (mode !== 'last') terms.push(tf.sum(tf.mul(r.hs, R)));
  if (mode !== 'sequence') {
    terms.push(tf.sum(tf.mul(r.hT, Rl)));
    if (r.cT) terms.push(tf.sum(tf.mul(r.cT, Rc)));
  }
  return tf.addN(terms);
}

/** fusedSequence's value and gradients (by input name) for a loss `mode` on its outputs. */
function run(kind, opts, inputs, mode, loss, lengths) {
  const names = Object.keys(inputs);
  const call = (v) => F.fusedSequence(kind, v.x, v.K, v.U, v.B, v.h0, v.c0 ?? null,
    { ...opts, ...(v.rb ? { recurrentBias: v.rb } : {}), returns: mode, ...(lengths ? { lengths } : {}) });
  const gs = tf.grads((...ts) => loss(call(Object.fromEntries(names.map((nm, i) => [nm, ts[i]])))))(names.map((nm) => inputs[nm]));
  return { out: call(inputs), grads: Object.fromEntries(names.map((nm, i) => [nm, gs[i]])) };
}

/**
 * The ragged batch against each row alone; returns the max differences (forward, gradients) and
 * asserts them, and that dx at padded steps is exactly 0.
 */
function raggedCheck(t, kind, opts, { b, T, m, n }, lengths, seed, modes = ['all', 'sequence', 'last']) {
  return tf.tidy(() => {
    const w = weights(kind, opts, m, n, seed);
    const x = tf.randomNormal([b, T, m], 0, 1, 'float32', seed + 10);
    const h0 = tf.randomNormal([b, n], 0, 0.5, 'float32', seed + 11);
    const c0 = kind === 'lstm' ? tf.randomNormal([b, n], 0, 0.5, 'float32', seed + 12) : null;
    const R = tf.randomNormal([b, T, n], 0, 1, 'float32', seed + 13);
    const Rl = tf.randomNormal([b, n], 0, 1, 'float32', seed + 14);
    const Rc = tf.randomNormal([b, n], 0, 1, 'float32', seed + 15);
    const inputs = { x, K: w.K, U: w.U, B: w.B, h0, ...(c0 ? { c0 } : {}), ...(w.rb ? { rb: w.rb } : {}) };
    let fwd = 0, grad = 0;
    for (const mode of modes) {
      const ragged = run(kind, opts, inputs, mode, (r) => lossOf(r, mode, R, Rl, Rc), lengths);
      // Each row alone, unpadded; weight gradients summed over the rows, dx padded with zeros.
      const rows = [];
      for (let i = 0; i < b; i++) {
        const Li = lengths[i];
        const row = (tt, shape) => tf.slice(tt, [i, ...shape.map(() => 0)], [1, ...shape]);
        const own = { x: row(x, [Li, m]), K: w.K, U: w.U, B: w.B, h0: row(h0, [n]), ...(c0 ? { c0: row(c0, [n]) } : {}), ...(w.rb ? { rb: w.rb } : {}) };
        rows.push(run(kind, opts, own, mode, (r) => lossOf(r, mode, row(R, [Li, n]), row(Rl, [n]), row(Rc, [n])), null));
      }
      const pad = (tt, Li) => (Li === T ? tt : tf.concat([tt, tf.zeros([1, T - Li, tt.shape[2]])], 1));
      const what = `${kind} ${JSON.stringify(opts)} returns '${mode}', lengths [${lengths}]`;
      if (mode !== 'last') {
        const refHs = tf.concat(rows.map((r, i) => pad(r.out.hs, lengths[i])), 0);      // [b, T, n], 0 at padding
        const d = maxDiff(ragged.out.hs, refHs);
        fwd = Math.max(fwd, d);
        assert.ok(d <= FWD_TOL, `${what}: hs max |ragged − alone| = ${d.toExponential(2)} > ${FWD_TOL}`);
        const hs = ragged.out.hs.dataSync();
        for (let i = 0; i < b; i++) {
          for (let k = lengths[i] * n; k < T * n; k++) assert.equal(hs[i * T * n + k], 0, `${what}: hs row ${i} at padded step ${Math.floor(k / n)} is ${hs[i * T * n + k]}, not 0`);
        }
      }
      if (mode !== 'sequence') {
        for (const s of kind === 'lstm' ? ['hT', 'cT'] : ['hT']) {
          const d = maxDiff(ragged.out[s], tf.concat(rows.map((r) => r.out[s]), 0));
          fwd = Math.max(fwd, d);
          assert.ok(d <= FWD_TOL, `${what}: ${s} max |ragged − alone| = ${d.toExponential(2)} > ${FWD_TOL}`);
        }
      }
      for (const name of Object.keys(inputs)) {
        let ref;
        if (name === 'x') ref = tf.concat(rows.map((r, i) => pad(r.grads.x, lengths[i])), 0);
        else if (name === 'h0' || name === 'c0') ref = tf.concat(rows.map((r) => r.grads[name]), 0);
        else ref = tf.addN(rows.map((r) => r.grads[name]));
        assert.deepEqual(ragged.grads[name].shape, ref.shape, `${what}: d${name} shape`);
        const d = maxDiff(ragged.grads[name], ref);
        grad = Math.max(grad, d);
        assert.ok(d <= GRAD_TOL, `${what}: d${name} max |ragged − alone| = ${d.toExponential(2)} > ${GRAD_TOL} (max |d${name}| ${maxAbs(ref).toExponential(2)})`);
      }
      const dx = ragged.grads.x.dataSync();
      for (let i = 0; i < b; i++) {
        for (let k = lengths[i] * m; k < T * m; k++) assert.equal(dx[i * T * m + k], 0, `${what}: dx row ${i} at padded step ${Math.floor(k / m)} is ${dx[i * T * m + k]}, not exactly 0`);
      }
    }
    t.diagnostic(`${kind} ${JSON.stringify(opts)} b=${b} T=${T}: max |ragged − alone| forward ${fwd.toExponential(2)} (tol ${FWD_TOL}), gradients ${grad.toExponential(2)} (tol ${GRAD_TOL})`);
    return fwd;
  });
}

for (const backend of ['wasm', 'cpu']) {
  describe(`fusedSequence with per-sequence lengths, one thread, on ${backend}`, () => {
    let saved;
    before(async () => { await L.initBackend({ backend, quiet: true }); saved = F.fusedInfo(); F.setFusedThreads(1); });
    after(() => F.setFusedThreads(saved.threads, { minWork: saved.minWork, minRows: saved.minRows }));

    for (const [kind, opts] of CASES) {
      test(`${kind} ${JSON.stringify(opts)}: a ragged batch equals each row alone (hs, hT, cT, every gradient; returns all / sequence / last)`, (t) => {
        // Unsorted, with lengths 1 and T, a repeat, and rows ending at every region of the batch.
        raggedCheck(t, kind, opts, { b: 6, T: 7, m: 3, n: 5 }, [3, 7, 1, 5, 7, 2], 10);
        // Odd sizes: n not a multiple of 4, more rows than one 4-row GEMM block, no row of length T.
        raggedCheck(t, kind, opts, { b: 9, T: 5, m: 4, n: 9 }, [2, 4, 1, 3, 4, 4, 1, 2, 3], 30, ['all']);
      });
    }

    test('stacked ragged calls before one backward (the first call\'s activations evicted and restored)', (t) => {
      const b = 5, T = 6, m = 3, n = 4;
      const lengths = [6, 2, 4, 1, 5];
      const d = tf.tidy(() => {
        const w1 = weights('lstm', {}, m, n, 1), w2 = weights('gru', { resetAfter: true }, n, n, 2);
        const x = tf.randomNormal([b, T, m], 0, 1, 'float32', 3);
        const R = tf.randomNormal([b, n], 0, 1, 'float32', 4);
        const two = (xx, Ls) => {
          const h1 = F.fusedSequence('lstm', xx, w1.K, w1.U, w1.B, null, null, { lengths: Ls ?? undefined }).hs;
          return F.fusedSequence('gru', h1, w2.K, w2.U, w2.B, null, null, { resetAfter: true, recurrentBias: w2.rb, lengths: Ls ?? undefined, returns: 'last' }).hT;
        };
        const vars = [w1.K, w1.U, w2.K, w2.U, w2.rb];
        const gr = tf.grads((xx, ...ws) => tf.sum(tf.mul(two(xx, lengths), R)))([x, ...vars]);
        let worst = 0;
        const alone = lengths.map((Li, i) => tf.grads((xx) => tf.sum(tf.mul(two(xx, null), tf.slice(R, [i, 0], [1, n]))))([tf.slice(x, [i, 0, 0], [1, Li, m]), ...vars]));
        for (let k = 1; k < gr.length; k++) worst = Math.max(worst, maxDiff(gr[k], tf.addN(alone.map((a) => a[k]))));
        const dx = tf.concat(alone.map((a, i) => (lengths[i] === T ? a[0] : tf.concat([a[0], tf.zeros([1, T - lengths[i], m])], 1))), 0);
        return Math.max(worst, maxDiff(gr[0], dx));
      });
      t.diagnostic(`stacked LSTM → GRU: max |ragged − alone| over the gradients ${d.toExponential(2)} (tol ${GRAD_TOL})`);
      assert.ok(d <= GRAD_TOL, `stacked: max gradient difference ${d.toExponential(2)} > ${GRAD_TOL}`);
    });

    test('lengths all T are the call without lengths, bit for bit (outputs and gradients)', () => {
      for (const [kind, opts] of [['lstm', {}], ['gru', { resetAfter: true }], ['rnn', {}]]) {
        tf.tidy(() => {
          const w = weights(kind, opts, 3, 6, 5);
          const x = tf.randomNormal([4, 5, 3], 0, 1, 'float32', 6);
          const R = tf.randomNormal([4, 5, 6], 0, 1, 'float32', 7);
          const inputs = { x, K: w.K, U: w.U, B: w.B, h0: tf.zeros([4, 6]), ...(w.rb ? { rb: w.rb } : {}) };
          const loss = (r) => tf.add(tf.sum(tf.mul(r.hs, R)), tf.sum(r.hT));
          const plain = run(kind, opts, inputs, 'all', loss, null);
          for (const lengths of [[5, 5, 5, 5], tf.tensor1d([5, 5, 5, 5], 'int32')]) {
            const full = run(kind, opts, inputs, 'all', loss, lengths);
            for (const s of ['hs', 'hT']) assert.deepEqual(full.out[s].dataSync(), plain.out[s].dataSync(), `${kind}: ${s}`);
            for (const name of Object.keys(inputs)) assert.deepEqual(full.grads[name].dataSync(), plain.grads[name].dataSync(), `${kind}: d${name}`);
          }
        });
      }
    });

    test('lengths as a tensor1d or an Int32Array give the same result as a number[]', () => {
      tf.tidy(() => {
        const w = weights('gru', {}, 2, 3, 8);
        const x = tf.randomNormal([3, 4, 2], 0, 1, 'float32', 9);
        const a = F.fusedSequence('gru', x, w.K, w.U, w.B, null, null, { lengths: [2, 4, 1] });
        for (const lengths of [tf.tensor1d([2, 4, 1], 'int32'), Int32Array.from([2, 4, 1])]) {
          const r = F.fusedSequence('gru', x, w.K, w.U, w.B, null, null, { lengths });
          assert.deepEqual(r.hs.dataSync(), a.hs.dataSync());
          assert.deepEqual(r.hT.dataSync(), a.hT.dataSync());
        }
      });
    });

    test('bad lengths are errors from checkLengths naming fusedSequence, options.lengths, the row and what was expected', () => {
      tf.tidy(() => {
        const w = weights('rnn', {}, 2, 3, 1);
        const x = tf.zeros([3, 4, 2]);
        const call = (lengths) => () => F.fusedSequence('rnn', x, w.K, w.U, w.B, null, null, { lengths });
        assert.throws(call([2, 0, 4]), /fusedSequence: options\.lengths\[1\] must be an integer from 1 to T = 4 .*got 0/);
        assert.throws(call([2, 5, 4]), /fusedSequence: options\.lengths\[1\] must be an integer from 1 to T = 4 .*got 5/);
        assert.throws(call([2, 1.5, 4]), /fusedSequence: options\.lengths\[1\] must be an integer/);
        assert.throws(call([2, 3]), /fusedSequence: options\.lengths has 2 lengths but the batch \[batch, time, features\] has 3 sequences/);
        assert.throws(call(tf.ones([3, 1])), /fusedSequence: options\.lengths must be a \[batch\] list of sequence lengths; got a tensor of shape \[3, 1\]/);
        assert.throws(call('3'), /fusedSequence: options\.lengths must be a list of sequence lengths/);
        assert.throws(() => F.fusedSequence('rnn', x, w.K, w.U, w.B, null, null, { lenghts: [1, 2, 3] }), /lengths/);
      });
    });

    test('ragged forward+backward calls keep the tensor count and the wasm memory flat', () => {
      const w = weights('lstm', {}, 3, 5, 2);
      const x = tf.randomNormal([6, 7, 3], 0, 1, 'float32', 3);
      const lengthsT = tf.tensor1d([3, 7, 1, 5, 7, 2], 'int32');
      const step = () => tf.tidy(() => {
        const g = tf.grads((xx, K) => tf.sum(F.fusedSequence('lstm', xx, K, w.U, w.B, null, null, { lengths: lengthsT }).hT))([x, w.K]);
        g[0].dataSync();
        F.fusedSequence('lstm', x, w.K, w.U, w.B, null, null, { lengths: [3, 7, 1, 5, 7, 2], returns: 'sequence' }).hs.dataSync();
      });
      for (let i = 0; i < 3; i++) step();
      const tensors = tf.memory().numTensors, bytes = F.fusedInfo().memoryBytes;
      for (let i = 0; i < 50; i++) step();
      assert.equal(tf.memory().numTensors, tensors, `tensors leaked: ${tf.memory().numTensors - tensors}`);
      assert.equal(F.fusedInfo().memoryBytes, bytes, 'wasm memory grew');
      tf.dispose([x, lengthsT, ...Object.values(w)]);
    });
  });

  describe(`fusedSequence with per-sequence lengths, batch sharded across helper threads, on ${backend}`, () => {
    let saved;
    before(async () => {
      await L.initBackend({ backend, quiet: true });
      saved = F.fusedInfo();
      F.setFusedThreads(3, { minWork: 0, minRows: 2 });
    });
    after(() => F.setFusedThreads(saved.threads, { minWork: saved.minWork, minRows: saved.minRows }));

    for (const [kind, opts] of CASES) {
      test(`${kind} ${JSON.stringify(opts)}: a sharded ragged batch equals each row alone`, (t) => {
        // 13 rows in 3 shards; unsorted lengths from 1 to T.
        raggedCheck(t, kind, opts, { b: 13, T: 6, m: 3, n: 6 }, [4, 1, 6, 2, 6, 3, 5, 1, 2, 6, 4, 3, 5], 50, ['all', 'last']);
        const info = F.fusedInfo();
        assert.ok(info.helperThreads >= 1, `no helper thread started: ${info.helperError ?? '?'}`);
      });
    }

    test('sharded: lengths all T are the call without lengths, bit for bit', () => {
      tf.tidy(() => {
        const w = weights('lstm', {}, 3, 6, 5);
        const x = tf.randomNormal([12, 5, 3], 0, 1, 'float32', 6);
        const inputs = { x, K: w.K, U: w.U, B: w.B, h0: tf.zeros([12, 6]) };
        const loss = (r) => tf.add(tf.sum(r.hs), tf.sum(r.cT));
        const plain = run('lstm', {}, inputs, 'all', loss, null);
        const full = run('lstm', {}, inputs, 'all', loss, new Array(12).fill(5));
        for (const s of ['hs', 'hT', 'cT']) assert.deepEqual(full.out[s].dataSync(), plain.out[s].dataSync(), s);
        for (const name of Object.keys(inputs)) assert.deepEqual(full.grads[name].dataSync(), plain.grads[name].dataSync(), `d${name}`);
      });
    });

    test('sharded ragged calls keep the tensor count flat', () => {
      const w = weights('gru', { resetAfter: true }, 3, 5, 2);
      const x = tf.randomNormal([12, 6, 3], 0, 1, 'float32', 3);
      const lengths = [1, 6, 2, 5, 3, 4, 6, 1, 2, 3, 4, 5];
      const step = () => tf.tidy(() => {
        tf.grads((xx) => tf.sum(F.fusedSequence('gru', xx, w.K, w.U, w.B, null, null, { resetAfter: true, recurrentBias: w.rb, lengths }).hs))([x])[0].dataSync();
      });
      for (let i = 0; i < 3; i++) step();
      const tensors = tf.memory().numTensors, bytes = F.fusedInfo().memoryBytes;
      for (let i = 0; i < 30; i++) step();
      assert.equal(tf.memory().numTensors, tensors, `tensors leaked: ${tf.memory().numTensors - tensors}`);
      assert.equal(F.fusedInfo().memoryBytes, bytes, 'wasm memory grew');
      tf.dispose([x, ...Object.values(w)]);
    });
  });
}
