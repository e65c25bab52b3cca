// The homework checks (src/check.ts): every check gives full points to a correct solution (visible and
// hidden inputs) and 0 — with a message that says what is wrong — to deliberately wrong ones; it never
// throws for a wrong or throwing student function, only on misuse; it prints only to stdout, and the
// machine-readable RNN_LAB_RESULT line when RNN_LAB_GRADING=1. The references it relies on are checked
// against the library's layers and automatic differentiation.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const L = lib();
const tf = getTf();
const C = require(path.join(ROOT, 'dist', 'check.js'));
const { check, gradeExercise, EXERCISES, recoverEngine, checkReference } = C;
// Initialise tf.js's backend outside any captured output (the CPU backend prints a banner on first use).
tf.zeros([1]).dispose();

// ---------------------------------------------------------------------------------------------
// Correct solutions, written as a student would (column vectors), with switches for known mistakes
// ---------------------------------------------------------------------------------------------

const sol = {
  rnnStepForward(x, hPrev, Wxh, Whh, bh) {
    return tf.tidy(() => tf.tanh(tf.add(tf.add(tf.matMul(Whh, hPrev), tf.matMul(Wxh, x)), bh)));
  },
  rnnStepBackward(dh, x, hPrev, h, Wxh, Whh, bug = {}) {
    return tf.tidy(() => {
      const da = tf.mul(dh, bug.noDeriv ? 1 : tf.sub(1, tf.square(h)));
      return {
        dx: tf.matMul(Wxh, da, true),
        dhPrev: bug.missingTranspose ? tf.matMul(Whh, da) : tf.matMul(Whh, da, true),
        dWxh: tf.matMul(da, x, false, true),
        dWhh: bug.dWhhTransposed ? tf.matMul(hPrev, da, false, true) : tf.matMul(da, hPrev, false, true),
        dbh: bug.mean ? tf.mean(da, 1, true) : tf.sum(da, 1, true),
      };
    });
  },
  bptt(xs, h0, Wxh, Whh, bh, dhs, cell, bug = {}) {
    const hs = [h0];
    for (const x of xs) hs.push(cell.forward(x, hs[hs.length - 1], Wxh, Whh, bh));
    let dWxh = tf.zerosLike(Wxh), dWhh = tf.zerosLike(Whh), dbh = tf.zerosLike(bh), dhNext = tf.zerosLike(h0);
    for (let t = xs.length - 1; t >= 0; t--) {
      const g = cell.backward(bug.noCarry ? dhs[t] : tf.add(dhs[t], dhNext), xs[t], hs[t], hs[t + 1], Wxh, Whh);
      dWxh = bug.overwrite ? g.dWxh : tf.add(dWxh, g.dWxh);
      dWhh = bug.overwrite ? g.dWhh : tf.add(dWhh, g.dWhh);
      dbh = bug.overwrite ? g.dbh : tf.add(dbh, g.dbh);
      dhNext = g.dhPrev;
    }
    return { dWxh, dWhh, dbh, dh0: dhNext };
  },
  lstmStepForward(x, hPrev, cPrev, W, bug = {}) {
    return tf.tidy(() => {
      const pre = (Wx, Wh, b) => tf.add(tf.add(tf.matMul(Wx, x), tf.matMul(Wh, hPrev)), b);
      const i = tf.sigmoid(pre(W.Wxi, W.Whi, W.bi));
      const f = (bug.tanhForget ? tf.tanh : tf.sigmoid)(pre(W.Wxf, W.Whf, W.bf));
      const o = tf.sigmoid(pre(W.Wxo, W.Who, W.bo));
      const g = (bug.sigmoidCandidate ? tf.sigmoid : tf.tanh)(pre(W.Wxg, W.Whg, W.bg));
      const c = tf.add(tf.mul(f, cPrev), tf.mul(i, g));
      return { h: tf.mul(o, bug.noTanhC ? c : tf.tanh(c)), c };
    });
  },
  gradCheck(f, x, analytic, eps = 1e-5, bug = {}) {
    const numeric = [];
    let maxRelError = 0;
    for (let k = 0; k < x.length; k++) {
      const old = x[k];
      x[k] = old + eps;
      const fp = f(x);
      x[k] = old - eps;
      const fm = f(x);
      if (!bug.noRestore) x[k] = old;
      const n = bug.forward ? (fp - f(x.map((v, j) => (j === k ? old : v)))) / eps : (fp - fm) / (2 * eps);
      numeric.push(n);
      maxRelError = Math.max(maxRelError, Math.abs(analytic[k] - n) / Math.max(Math.abs(analytic[k]) + Math.abs(n), 1e-12));
    }
    return { numeric, maxRelError: bug.alwaysZero ? 0 : maxRelError };
  },
  lstmParamCount: (m, n) => 4 * (n * m + n * n + n),
  // hw2, issue 17: the LSTM step backward, the LSTM over a sequence, the GRU step (see LSTM_GATES below)
  lstmStepBackward(x, hPrev, cPrev, W, dh, dc, bug = {}) {
    return tf.tidy(() => {
      const pre = (k) => tf.add(tf.add(tf.matMul(W[`Wx${k}`], x), tf.matMul(W[`Wh${k}`], hPrev)), W[`b${k}`]);
      const i = tf.sigmoid(pre('i')), f = tf.sigmoid(pre('f')), o = tf.sigmoid(pre('o')), g = tf.tanh(pre('g'));
      const c = tf.add(tf.mul(f, cPrev), tf.mul(i, g));
      const tc = tf.tanh(c);
      const dcT = bug.dcOnly ? dc : tf.add(dc, tf.mul(tf.mul(dh, o), tf.sub(1, tf.square(tc))));
      const sd = (s) => (bug.sigmaAsTanh ? tf.sub(1, tf.square(s)) : tf.mul(s, tf.sub(1, s)));
      const da = { i: tf.mul(tf.mul(dcT, g), sd(i)), f: tf.mul(tf.mul(dcT, cPrev), sd(f)), o: tf.mul(tf.mul(dh, tc), sd(o)), g: tf.mul(tf.mul(dcT, i), tf.sub(1, tf.square(g))) };
      const dW = {};
      let dx = tf.zerosLike(x), dhPrev = tf.zerosLike(hPrev);
      for (const k of LSTM_GATES) {
        dW[`Wx${k}`] = tf.matMul(da[k], x, false, true);
        dW[`Wh${k}`] = tf.matMul(da[k], bug.hNew ? tf.mul(o, tc) : hPrev, false, true);
        dW[`b${k}`] = bug.noSum ? da[k] : tf.sum(da[k], 1, true);
        dx = tf.add(dx, tf.matMul(W[`Wx${k}`], da[k], true));
        dhPrev = tf.add(dhPrev, bug.noT ? tf.matMul(W[`Wh${k}`], da[k]) : tf.matMul(W[`Wh${k}`], da[k], true));
      }
      return { dx, dhPrev, dcPrev: tf.mul(dcT, f), dW };
    });
  },
  lstmForward(xs, h0, c0, W, cell, bug = {}) {
    const hs = [], cs = [];
    let h = h0, c = c0;
    for (const x of xs) {
      const r = cell.forward(x, h, c, W);
      hs.push(r.h); cs.push(r.c);
      if (!bug.noCarryC) c = r.c;
      if (!bug.noCarryH) h = r.h;
    }
    return { hs: bug.withH0 ? [h0, ...hs] : hs, cache: { xs, h0, c0, W, hs, cs } };
  },
  lstmBackward(dhs, cache, cell, bug = {}) {
    const { xs, h0, c0, W, hs, cs } = cache;
    const T = xs.length;
    let dW = null;
    let dhNext = tf.zerosLike(h0), dcNext = tf.zerosLike(c0);
    const dxs = new Array(T);
    for (let t = T - 1; t >= 0; t--) {
      const g = cell.backward(xs[t], t > 0 ? hs[t - 1] : h0, t > 0 ? cs[t - 1] : c0, W, bug.noCarryH ? dhs[t] : tf.add(dhs[t], dhNext), bug.noCarryC ? tf.zerosLike(c0) : dcNext);
      dW = dW && !bug.overwrite ? Object.fromEntries(Object.keys(g.dW).map((k) => [k, tf.add(dW[k], g.dW[k])])) : g.dW;
      dxs[t] = g.dx;
      dhNext = g.dhPrev;
      dcNext = g.dcPrev;
    }
    return { dxs, dh0: dhNext, dc0: dcNext, dW };
  },
  gruStepForward(x, hPrev, W, bug = {}) {
    return tf.tidy(() => {
      const r = tf.sigmoid(tf.add(tf.add(tf.matMul(W.Wxr, x), tf.matMul(W.Whr, hPrev)), W.br));
      const z = (bug.tanhZ ? tf.tanh : tf.sigmoid)(tf.add(tf.add(tf.matMul(W.Wxz, x), tf.matMul(W.Whz, hPrev)), W.bz));
      const rec = bug.resetAfter ? tf.mul(r, tf.matMul(W.Whh, hPrev)) : tf.matMul(W.Whh, tf.mul(r, hPrev));
      const hTilde = tf.tanh(tf.add(tf.add(tf.matMul(W.Wxh, x), rec), W.bh));
      return bug.swapZ ? tf.add(tf.mul(tf.sub(1, z), hPrev), tf.mul(z, hTilde)) : tf.add(tf.mul(z, hPrev), tf.mul(tf.sub(1, z), hTilde));
    });
  },
  clipByGlobalNorm(grads, maxNorm, bug = {}) {
    let sumSq = 0;
    for (const g of Object.values(grads)) sumSq += tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]);
    const norm = bug.squared ? sumSq : Math.sqrt(sumSq);
    const out = {};
    for (const [k, g] of Object.entries(grads)) {
      const own = Math.sqrt(tf.tidy(() => tf.sum(tf.square(g)).dataSync()[0]));
      const scale = bug.perTensor ? (own > maxNorm ? maxNorm / own : 1) : norm > maxNorm ? maxNorm / norm : 1;
      out[k] = tf.mul(g, scale);
    }
    return { grads: out, norm: bug.perTensor ? Math.sqrt(sumSq) : norm };
  },
  sampleWithTemperature(logits, temperature, rng, bug = {}) {
    const scaled = logits.map((z) => (bug.after || bug.ignoreT ? z : z / temperature));
    const max = bug.noMax ? 0 : Math.max(...scaled);
    const w = scaled.map((z) => Math.exp(z - max));
    const total = w.reduce((a, b) => a + b, 0);
    const p = w.map((v) => (bug.after ? v / total / temperature : v / total));
    const u = bug.mathRandom ? Math.random() : rng.next();
    let cum = 0;
    for (let k = 0; k < p.length; k++) {
      cum += p[k];
      if (u < cum) return k;
    }
    return p.length - 1;
  },
  perplexity(logits, targets, bug = {}) {
    let total = 0;
    logits.forEach((row, t) => {
      const max = bug.naive ? 0 : Math.max(...row);
      total += max + Math.log(row.reduce((s, z) => s + Math.exp(z - max), 0)) - row[targets[t]];
    });
    const ce = bug.sum ? total : total / logits.length;
    return bug.noExp ? ce : Math.exp(ce);
  },
  trainLoop(model, batches, opts, bug = {}) {
    const losses = [];
    const norms = [];
    const vars = model.trainableWeights.map((w) => w.read());
    for (let e = 0; e < (bug.oneEpoch ? 1 : opts.epochs); e++) {
      for (const { x, y } of batches) {
        tf.tidy(() => {
          const { value, grads } = tf.variableGrads(() => opts.loss(y, model.apply(x, { training: true })), vars);
          const clipped = opts.clip(grads, opts.maxNorm);
          opts.optimizer.applyGradients(bug.raw ? grads : clipped.grads);
          losses.push(value.dataSync()[0]);
          norms.push(bug.normAfter ? Math.min(clipped.norm, opts.maxNorm) : clipped.norm);
        });
      }
    }
    return { losses, norms };
  },
  rnnForward(xs, h0, Wxh, Whh, bh, bug = {}) {
    const hs = [];
    let h = h0;
    for (const x of xs) {
      h = tf.tidy(() => tf.tanh(tf.add(tf.add(tf.matMul(Wxh, x), tf.matMul(Whh, bug.stuck ? h0 : h)), bh)));
      hs.push(h);
    }
    const out = bug.shifted ? [h0, ...hs.slice(0, -1)] : hs;
    return { hs: out, cache: { xs, h0, hs: out, Wxh, Whh } };
  },
  rnnBackward(dhs, cache, bug = {}) {
    const { xs, h0, hs, Wxh, Whh } = cache;
    const T = xs.length;
    let dWxh = tf.zerosLike(Wxh), dWhh = tf.zerosLike(Whh), dbh = tf.zeros([Wxh.shape[0], 1]), dhNext = tf.zerosLike(h0);
    const dxs = new Array(T);
    const order = [...Array(T).keys()];
    if (!bug.forward) order.reverse();
    for (const t of order) {
      const hPrev = t > 0 ? hs[t - 1] : h0;
      const dh = bug.noCarry ? dhs[t] : tf.add(dhs[t], dhNext);
      const da = tf.mul(dh, tf.sub(1, tf.square(hs[t])));
      dxs[t] = tf.matMul(Wxh, da, true);
      dWxh = tf.add(dWxh, tf.matMul(da, xs[t], false, true));
      dWhh = tf.add(dWhh, tf.matMul(da, bug.hNotPrev ? hs[t] : hPrev, false, true));
      dbh = bug.notSummed ? tf.add(dbh, da) : tf.add(dbh, bug.mean ? tf.mean(da, 1, true) : tf.sum(da, 1, true));
      dhNext = tf.matMul(Whh, da, true);
    }
    return { dxs, dh0: dhNext, dWxh, dWhh, dbh };
  },
  embeddingForward(ids, W, bug = {}) {
    const V = W.shape[1];
    return ids.map((row) => tf.tidy(() => {
      const onehot = tf.oneHot(tf.tensor1d(row, 'int32'), V);               // [B, V]
      return bug.rows ? tf.matMul(onehot, W, false, true) : tf.matMul(W, onehot, false, true);   // [m, B] (rows: [B, m])
    }));
  },
  embeddingBackward(dxs, ids, V, bug = {}) {
    const [m, B] = dxs[0].shape;
    const dW = Array.from({ length: m }, () => new Array(V).fill(0));
    ids.forEach((row, t) => {
      const g = dxs[t].arraySync();
      row.forEach((v, b) => {
        for (let i = 0; i < m; i++) dW[i][v] = bug.assign ? g[i][b] : dW[i][v] + g[i][b];
      });
    });
    void B;
    return bug.transposed ? tf.transpose(tf.tensor2d(dW)) : tf.tensor2d(dW);
  },
  temporalSoftmaxLoss(logits, targets, mask, bug = {}) {
    const T = logits.length;
    const [V, B] = logits[0].shape;
    const real = mask.flat().reduce((a, b) => a + b, 0);
    const norm = bug.TB ? T * B : bug.batch ? B : real;
    let loss = 0;
    let all = 0;
    const dlogits = logits.map((z, t) => {
      const zz = z.arraySync();
      const g = Array.from({ length: V }, () => new Array(B).fill(0));
      for (let b = 0; b < B; b++) {
        const col = zz.map((r) => r[b]);
        const max = bug.naive ? 0 : Math.max(...col);
        const e = col.map((x) => Math.exp(x - max));
        const s = e.reduce((a, c) => a + c, 0);
        const nll = Math.log(s) - (col[targets[t][b]] - max);
        all += nll;
        loss += mask[t][b] * nll;
        for (let v = 0; v < V; v++) g[v][b] = (mask[t][b] * (e[v] / s - (v === targets[t][b] ? 1 : 0))) / norm;
      }
      return tf.tensor2d(g);
    });
    return { loss: bug.maskAfterMean ? all / real : loss / norm, dlogits };
  },
  generate(step, h0, startId, endId, maxLength, uniform, bug = {}) {
    const ids = [];
    let id = startId;
    let h = h0;
    for (let k = 0; k < maxLength; k++) {
      const r = step(id, h);
      const max = Math.max(...r.logits);
      const e = r.logits.map((z) => Math.exp(z - max));
      const s = e.reduce((a, c) => a + c, 0);
      const u = uniform();
      let next = e.length - 1, cum = 0;
      for (let v = 0; v < e.length; v++) {
        cum += e[v] / s;
        if (u < cum) { next = v; break; }
      }
      h = r.h;
      if (next === endId && bug.dropEnd) break;
      ids.push(next);
      id = bug.argmaxFeed ? e.indexOf(Math.max(...e)) : next;
      if (next === endId && !bug.noStop) break;
    }
    return ids;
  },
  attentionWeights(s, hs, lengths, Wa, Ua, va, bug = {}) {
    return tf.tidy(() => {
      const ws = tf.matMul(Wa, s);
      const pre = (h) => tf.add(ws, tf.matMul(Ua, h));
      const e = tf.concat(hs.map((h) => tf.matMul(va, bug.noTanh ? pre(h) : tf.tanh(pre(h)), true)), 0);   // scores [T, B]
      const mask = tf.tensor2d(hs.map((_, j) => lengths.map((L) => (j < L ? 1 : 0))));
      const cols = (x) => tf.transpose(tf.softmax(tf.transpose(x)));                                        // softmax over j
      const masked = tf.add(e, tf.mul(tf.sub(1, mask), bug.penalty ?? -1e9));
      if (bug.maskAfter) return tf.mul(cols(e), mask);
      if (bug.noMask) return cols(e);
      if (bug.maskMul) return cols(tf.mul(e, mask));
      if (bug.axis) return tf.softmax(masked);
      return cols(masked);
    });
  },
  attentionContext(alphas, hs, bug = {}) {
    return tf.tidy(() => hs.reduce((c, h, j) => tf.add(c, bug.sum ? h : bug.mean ? tf.div(h, hs.length) : tf.mul(tf.slice(alphas, [j, 0], [1, -1]), h)), tf.zerosLike(hs[0])));
  },
  beamSearch(step, state0, start, end, k, maxLength, bug = {}) {
    let beam = [{ tokens: [], score: 0, state: state0, done: false }];
    for (let t = 0; t < maxLength && !beam.every((h) => h.done); t++) {
      const pool = [];
      for (const h of beam) {
        if (h.done) { if (!bug.dropFinished) pool.push(h); continue; }
        const { logProbs, state } = step(h.tokens.length ? h.tokens[h.tokens.length - 1] : start, h.state);
        logProbs.forEach((lp, v) => pool.push({ tokens: [...h.tokens, v], score: bug.lastOnly ? lp : h.score + lp, state, done: v === end && !bug.ignoreEnd }));
      }
      pool.sort((a, b) => b.score - a.score);
      beam = pool.slice(0, bug.greedy ? 1 : k);
    }
    const out = beam.map(({ tokens, score }) => ({ tokens, score: bug.prob ? Math.exp(score) : score }));
    return bug.reverse ? out.reverse() : out;
  },
};

const LSTM_GATES = ['i', 'f', 'o', 'g'];

/** Run `f` capturing console output; fail the test if anything goes to stderr. */
function capture(f) {
  const lines = [];
  const errs = [];
  const orig = { log: console.log, error: console.error, warn: console.warn };
  console.log = (...a) => lines.push(a.join(' '));
  console.error = (...a) => errs.push(a.join(' '));
  console.warn = (...a) => errs.push(a.join(' '));
  let result;
  try {
    result = f();
  } finally {
    Object.assign(console, orig);
  }
  assert.deepEqual(errs, [], 'a check wrote to stderr');
  return { result, lines };
}

function expectFull(name, fn, options) {
  const { result, lines } = capture(() => check[name](fn, options));
  assert.equal(result.passed, true, `${name}${options?.hidden ? ' (hidden)' : ''}: ${result.message}`);
  assert.equal(result.points, EXERCISES[name].maxPoints);
  assert.equal(result.maxPoints, EXERCISES[name].maxPoints);
  assert.equal(result.exercise, name);
  assert.match(lines.join('\n'), new RegExp(`^✔ ${name}.*: ${result.points}/${result.maxPoints} points`, 'm'));
  return result;
}

function expectZero(name, fn, messagePattern, options) {
  const { result, lines } = capture(() => check[name](fn, options));
  assert.equal(result.passed, false, `${name} passed a wrong solution`);
  assert.equal(result.points, 0);
  assert.match(result.message, messagePattern);
  assert.match(lines.join('\n'), new RegExp(`^✘ ${name}.*: 0/${result.maxPoints} points`, 'm'));
  return result;
}

const EXERCISE_FN = {
  rnnStepForward: sol.rnnStepForward, rnnStepBackward: sol.rnnStepBackward, bptt: sol.bptt,
  lstmStepForward: sol.lstmStepForward, lstmGradCheck: sol.gradCheck, lstmParamCount: sol.lstmParamCount,
  clipByGlobalNorm: sol.clipByGlobalNorm, sampleWithTemperature: sol.sampleWithTemperature, perplexity: sol.perplexity,
  trainingLoop: sol.trainLoop,
  lstmStepBackward: sol.lstmStepBackward, lstmForward: sol.lstmForward, lstmBackward: sol.lstmBackward, gruStep: sol.gruStepForward,
  rnnForward: sol.rnnForward, rnnBackward: sol.rnnBackward, embeddingForward: sol.embeddingForward,
  embeddingBackward: sol.embeddingBackward, temporalSoftmaxLoss: sol.temporalSoftmaxLoss, generate: sol.generate,
  attentionWeights: sol.attentionWeights, attentionContext: sol.attentionContext, beamSearch: sol.beamSearch,
};

describe('the reference solutions get full points', () => {
  test('every exercise has a check and a solution here', () => {
    assert.deepEqual(Object.keys(check).sort(), Object.keys(EXERCISES).sort());
    assert.deepEqual(Object.keys(EXERCISE_FN).sort(), Object.keys(EXERCISES).sort());
    assert.ok(Object.isFrozen(check));
    for (const [name, meta] of Object.entries(EXERCISES)) {
      assert.ok(meta.maxPoints > 0 && Number.isInteger(meta.maxPoints), name);
      assert.match(meta.homework, /^hw\d-/);
    }
  });
  for (const name of Object.keys(EXERCISE_FN)) {
    test(`${name}: visible and hidden inputs (two hidden seeds)`, () => {
      const before = tf.memory().numTensors;
      expectFull(name, EXERCISE_FN[name]);
      expectFull(name, EXERCISE_FN[name], { hidden: true, seed: 20251 });
      expectFull(name, EXERCISE_FN[name], { hidden: true, seed: 7 });
      assert.ok(tf.memory().numTensors - before < 50, `${name}: the check leaks tensors (${tf.memory().numTensors - before})`);
    });
  }
});

describe('deliberately wrong solutions get 0 with a message that says what is wrong', () => {
  test('rnnStepForward: no tanh, no bias, wrong shape', () => {
    expectZero('rnnStepForward', (x, h, Wxh, Whh, bh) => tf.add(tf.add(tf.matMul(Whh, h), tf.matMul(Wxh, x)), bh), /pre-activation: apply tanh/);
    expectZero('rnnStepForward', (x, h, Wxh, Whh) => tf.tanh(tf.add(tf.matMul(Whh, h), tf.matMul(Wxh, x))), /bias b_h seems to be missing/);
    const r = expectZero('rnnStepForward', (x, h, Wxh, Whh, bh) => tf.transpose(sol.rnnStepForward(x, h, Wxh, Whh, bh)), /h_t has shape \[\d, \d\] but should have shape/);
    assert.match(r.message, /test 1 of 3/);
  });
  test('rnnStepBackward: the missing transpose, tanh\' forgotten, dWhh transposed, mean over the batch', () => {
    const r = expectZero('rnnStepBackward', (...a) => sol.rnnStepBackward(...a, { missingTranspose: true }), /dhPrev is wrong.*largest difference is [\d.e-]+ at \[\d+, \d+\] \(expected -?[\d.e-]+, got -?[\d.e-]+/);
    assert.match(r.message, /a transpose is missing/);
    assert.doesNotMatch(r.message, /dWxh is wrong|dx is wrong/, 'only dhPrev is wrong');
    expectZero('rnnStepBackward', (...a) => sol.rnnStepBackward(...a, { noDeriv: true }), /tanh' seems to be missing/);
    expectZero('rnnStepBackward', (...a) => sol.rnnStepBackward(...a, { dWhhTransposed: true }), /dWhh is transposed/);
    expectZero('rnnStepBackward', (...a) => sol.rnnStepBackward(...a, { mean: true }), /sum δ over the columns/);
    expectZero('rnnStepBackward', () => ({ dx: 1 }), /the result has no dhPrev, dWxh, dWhh, dbh/);
  });
  test('bptt: no carry, overwritten sums', () => {
    expectZero('bptt', (...a) => sol.bptt(...a, { noCarry: true }), /not carried back in time/);
    expectZero('bptt', (...a) => sol.bptt(...a, { overwrite: true }), /added up over all time steps/);
  });
  test('lstmStepForward: a tanh forget gate, a σ candidate, no tanh on c', () => {
    const r = expectZero('lstmStepForward', (x, h, c, W) => sol.lstmStepForward(x, h, c, W, { tanhForget: true }), /the forget gate looks like tanh, not σ/);
    assert.match(r.message, /c_t is wrong/);
    expectZero('lstmStepForward', (x, h, c, W) => sol.lstmStepForward(x, h, c, W, { sigmoidCandidate: true }), /the candidate g looks like σ/);
    expectZero('lstmStepForward', (x, h, c, W) => sol.lstmStepForward(x, h, c, W, { noTanhC: true }), /tanh of the cell state is missing/);
    expectZero('lstmStepForward', (x, h, c, W) => sol.lstmStepForward(x, h, c, W).h, /return an object \{ h, c \}/);
  });
  test('lstmGradCheck: one-sided differences, x left changed, a maxRelError that sees no error', () => {
    expectZero('lstmGradCheck', (f, x, a, e) => sol.gradCheck(f, x, a, e, { forward: true }), /one-sided difference/);
    expectZero('lstmGradCheck', (f, x, a, e) => sol.gradCheck(f, x, a, e, { noRestore: true }), /x was changed/);
    expectZero('lstmGradCheck', (f, x, a, e) => sol.gradCheck(f, x, a, e, { alwaysZero: true }), /deliberately wrong.*your maxRelError is 0/);
    expectZero('lstmGradCheck', (f, x, a, e) => { const r = sol.gradCheck(f, x, a, e); return { numeric: r.numeric.map((v) => 2 * v), maxRelError: r.maxRelError }; }, /divide by 2ε/);
  });
  test('lstmParamCount: no biases, PyTorch\'s two biases, one block', () => {
    expectZero('lstmParamCount', (m, n) => 4 * (n * m + n * n), /expected 128 parameters, got 112.*bias vector/);
    expectZero('lstmParamCount', (m, n) => 4 * (n * m + n * n + 2 * n), /PyTorch/);
    expectZero('lstmParamCount', (m, n) => n * m + n * n + n, /one block/);
  });
  test('lstmStepBackward: dc without the path through h_t, σ\' = 1 − σ², db not summed over the batch, dW_h with h_t, a missing transpose', () => {
    const wrong = (bug) => (...a) => sol.lstmStepBackward(...a, bug);
    const r = expectZero('lstmStepBackward', wrong({ dcOnly: true }), /dcPrev is wrong.*c_t reaches the loss twice: directly \(dc\) and through h_t = o ⊙ tanh\(c_t\)/);
    assert.match(r.message, /test 1 of 3 \(B=2, m=3, n=4\)/);
    expectZero('lstmStepBackward', wrong({ sigmaAsTanh: true }), /σ'\(a\) = σ\(a\)\(1 − σ\(a\)\).*1 − σ² is tanh's derivative/);
    expectZero('lstmStepBackward', wrong({ noSum: true }), /dW\.bi has shape \[4, 2\] but should have shape \[4, 1\].*sum over the columns/);
    const h = expectZero('lstmStepBackward', wrong({ hNew: true }), /dW\.Whi is wrong.*dW_h· = δ h_\{t−1\}ᵀ, not δ h_tᵀ/);
    assert.doesNotMatch(h.message, /dx is wrong|dW\.Wxi is wrong|dcPrev is wrong/, 'only the recurrent weights are wrong');
    const t = expectZero('lstmStepBackward', wrong({ noT: true }), /dhPrev is wrong.*a transpose is missing: dhPrev = Σ over the gates of W_h·ᵀ δ_·/);
    assert.doesNotMatch(t.message, /dx is wrong|dW/, 'only dhPrev is wrong');
    expectZero('lstmStepBackward', (...a) => { const g = sol.lstmStepBackward(...a); delete g.dW.Whg; return g; }, /dW has no Whg/);
    expectZero('lstmStepBackward', (...a) => { const { dx, dhPrev, dW } = sol.lstmStepBackward(...a); return { dx, dhPrev, dW }; }, /the result has no dcPrev/);
  });
  test('lstmForward: the cell state not carried, the hidden state not carried, h_0 in hs', () => {
    expectZero('lstmForward', (...a) => sol.lstmForward(...a, { noCarryC: true }), /cache\.cs is wrong.*Hint: the cell state is not carried/);
    expectZero('lstmForward', (...a) => sol.lstmForward(...a, { noCarryH: true }), /hs is wrong.*Hint: the hidden state is not carried/);
    expectZero('lstmForward', (...a) => sol.lstmForward(...a, { withH0: true }), /hs has 5 entries, but the sequence has T = 4 steps \(it looks like h_0 is included/);
    expectZero('lstmForward', (...a) => ({ hs: sol.lstmForward(...a).hs }), /the result needs a cache for lstmBackward/);
  });
  test('lstmBackward: dh not carried back, dc not carried back, weight gradients replaced instead of summed', () => {
    const wrong = (bug) => (...a) => sol.lstmBackward(...a, bug);
    expectZero('lstmBackward', wrong({ noCarryH: true }), /dxs is wrong.*not carried back in time through h: at step t the step backward gets dh = dhs\[t\] \+ \(dhPrev of step t\+1\)/);
    expectZero('lstmBackward', wrong({ noCarryC: true }), /dxs is wrong.*not carried back through the cell: at step t the step backward gets dc = dcPrev of step t\+1/);
    const o = expectZero('lstmBackward', wrong({ overwrite: true }), /dW\.Wxi is wrong.*added up over all time steps \(\+=\), not replaced at each step/);
    assert.doesNotMatch(o.message, /dxs is wrong|dh0 is wrong|dc0 is wrong/, 'only the weight gradients are wrong');
    expectZero('lstmBackward', (...a) => { const g = sol.lstmBackward(...a); return { ...g, dxs: g.dxs.slice(1) }; }, /dxs has 3 entries, but the sequence has T = 4 steps/);
  });
  test('gruStep: z and 1 − z swapped, the reset after the matmul (PyTorch\'s), a tanh update gate', () => {
    const wrong = (bug) => (x, h, W) => sol.gruStepForward(x, h, W, bug);
    expectZero('gruStep', wrong({ swapZ: true }), /h_t is wrong.*z and 1 − z look swapped/);
    expectZero('gruStep', wrong({ resetAfter: true }), /reset gate is applied after the matmul, r ⊙ \(W_hh h_\{t−1\}\) — PyTorch's form/);
    expectZero('gruStep', wrong({ tanhZ: true }), /the update gate z looks like tanh/);
    expectZero('gruStep', (x, h, W) => tf.transpose(sol.gruStepForward(x, h, W)), /h_t has shape \[\d, \d\] but should have shape/);
  });
  test('clipByGlobalNorm: the slide\'s squared norm, per-tensor clipping', () => {
    const r = expectZero('clipByGlobalNorm', (g, m) => sol.clipByGlobalNorm(g, m, { squared: true }), /norm should be the global norm before clipping/);
    assert.match(r.message, /squared norm.*slide's slip/);
    expectZero('clipByGlobalNorm', (g, m) => sol.clipByGlobalNorm(g, m, { perTensor: true }), /GLOBAL norm/);
    expectZero('clipByGlobalNorm', (g, m) => ({ grads: g, norm: sol.clipByGlobalNorm(g, m).norm }), /must be clipped.*not rescaled/);
  });
  test('sampleWithTemperature: temperature after the softmax, ignored, Math.random, overflow', () => {
    expectZero('sampleWithTemperature', (l, t, r) => sol.sampleWithTemperature(l, t, r, { after: true }), /divided by T after the softmax/);
    expectZero('sampleWithTemperature', (l, t, r) => sol.sampleWithTemperature(l, t, r, { ignoreT: true }), /temperature has no effect/);
    expectZero('sampleWithTemperature', (l, t, r) => sol.sampleWithTemperature(l, t, r, { mathRandom: true }), /not Math\.random/);
    expectZero('sampleWithTemperature', (l, t, r) => sol.sampleWithTemperature(l, t, r, { noMax: true }), /exp overflows/);
    expectZero('sampleWithTemperature', () => 1.5, /integer in \[0, 4\)/);
  });
  test('perplexity: the cross-entropy itself, a sum, overflow', () => {
    expectZero('perplexity', (l, t) => sol.perplexity(l, t, { noExp: true }), /that is the mean cross-entropy/);
    expectZero('perplexity', (l, t) => sol.perplexity(l, t, { sum: true }), /exp of the sum/);
    expectZero('perplexity', (l, t) => sol.perplexity(l, t, { naive: true }), /logsumexp/);
  });
  test('trainingLoop: raw gradients applied, norm after clipping, one epoch, clip never called', () => {
    expectZero('trainingLoop', (m, b, o) => sol.trainLoop(m, b, o, { raw: true }), /CLIPPED gradients/);
    expectZero('trainingLoop', (m, b, o) => sol.trainLoop(m, b, o, { normAfter: true }), /norm BEFORE clipping/);
    expectZero('trainingLoop', (m, b, o) => sol.trainLoop(m, b, o, { oneEpoch: true }), /loop over the epochs/);
    expectZero('trainingLoop', () => ({ losses: [], norms: [] }), /opts\.clip was never called/);
  });
  test('rnnForward: every step from h0, hs shifted to h_0 … h_{T−1}, one tensor instead of an array', () => {
    expectZero('rnnForward', (...a) => sol.rnnForward(...a, { stuck: true }), /hs is wrong.*start from h_0/);
    expectZero('rnnForward', (...a) => sol.rnnForward(...a, { shifted: true }), /shifted by one step/);
    expectZero('rnnForward', (...a) => { const r = sol.rnnForward(...a); return { hs: tf.stack(r.hs), cache: r.cache }; }, /array of T = 4 tensors.*tf\.unstack/);
    expectZero('rnnForward', (...a) => ({ hs: sol.rnnForward(...a).hs }), /the result has no cache/);
  });
  test('rnnBackward: no carry, a forward loop, h_t for dWhh, dbh not summed over the batch or averaged, dxs reversed', () => {
    const r = expectZero('rnnBackward', (d, c) => sol.rnnBackward(d, c, { noCarry: true }), /not carried back in time/);
    assert.match(r.message, /dh0 is wrong/);
    expectZero('rnnBackward', (d, c) => sol.rnnBackward(d, c, { forward: true }), /backward loop seems to run forward in time/);
    const w = expectZero('rnnBackward', (d, c) => sol.rnnBackward(d, c, { hNotPrev: true }), /dWhh uses h_t where it needs h_\{t−1\}/);
    assert.doesNotMatch(w.message, /dxs is wrong|dWxh is wrong|dbh is wrong|dh0 is wrong/, 'only dWhh is wrong');
    expectZero('rnnBackward', (d, c) => sol.rnnBackward(d, c, { notSummed: true }), /dbh has shape \[4, 2\].*not summed over the batch/);
    expectZero('rnnBackward', (d, c) => sol.rnnBackward(d, c, { mean: true }), /dbh is averaged over the batch/);
    expectZero('rnnBackward', (d, c) => { const g = sol.rnnBackward(d, c); return { ...g, dxs: g.dxs.slice().reverse() }; }, /dxs is in reverse order/);
  });
  test('embeddingForward: rows instead of columns (transposed), ids read as [B][T]', () => {
    expectZero('embeddingForward', (i, W) => sol.embeddingForward(i, W, { rows: true }), /shape \[3, 5\] but should have shape \[5, 3\].*looks transposed/);
    expectZero('embeddingForward', (i, W) => sol.embeddingForward(i[0].map((_, b) => i.map((row) => row[b])), W), /ids\[t\]\[b\] is time first/);
  });
  test('embeddingBackward: a repeated id assigned instead of accumulated, dW transposed', () => {
    const r = expectZero('embeddingBackward', (d, i, V) => sol.embeddingBackward(d, i, V, { assign: true }), /dW is wrong.*OVERWRITE its column.*accumulate/);
    assert.match(r.message, /ids \[\[/, 'the ids are shown');
    expectZero('embeddingBackward', (d, i, V) => sol.embeddingBackward(d, i, V, { transposed: true }), /dW has shape \[6, 5\] but should have shape \[5, 6\].*looks transposed/);
    for (const seed of [1, 2, 3]) expectZero('embeddingBackward', (d, i, V) => sol.embeddingBackward(d, i, V, { assign: true }), /OVERWRITE/, { hidden: true, seed });
  });
  test('temporalSoftmaxLoss: the mask after the mean, T·B or B as the normaliser, an unstable softmax', () => {
    expectZero('temporalSoftmaxLoss', (l, t, m) => sol.temporalSoftmaxLoss(l, t, m, { maskAfterMean: true }), /padded steps are in your loss.*mask applied after the mean/);
    const r = expectZero('temporalSoftmaxLoss', (l, t, m) => sol.temporalSoftmaxLoss(l, t, m, { TB: true }), /divided by T·B = 12.*number of REAL steps, Σ mask = 9/);
    assert.match(r.message, /divided by the number of real steps Σ mask = 9/, 'the message states the normaliser');
    expectZero('temporalSoftmaxLoss', (l, t, m) => sol.temporalSoftmaxLoss(l, t, m, { batch: true }), /batch size B \(CS231n's convention\)/);
    const u = expectZero('temporalSoftmaxLoss', (l, t, m) => sol.temporalSoftmaxLoss(l, t, m, { naive: true }), /large logits.*NaN.*subtract each column's max/);
    assert.match(u.message, /test 4 of 4/, 'only the large logits break it');
    for (const seed of [1, 2]) expectZero('temporalSoftmaxLoss', (l, t, m) => sol.temporalSoftmaxLoss(l, t, m, { naive: true }), /subtract each column's max/, { hidden: true, seed });
    // A loss that ignores the padded steps' values but not their count: the property test names the padding.
    expectZero('temporalSoftmaxLoss', (l, t, m) => { const g = sol.temporalSoftmaxLoss(l, t, m); return { loss: g.loss, dlogits: g.dlogits.map((d) => tf.add(d, 0.01)) }; }, /dlogits is wrong/);
  });
  test('hw4: hidden inputs differ from the visible ones (shapes, ids, sequence lengths)', () => {
    const sig = (v) => (Array.isArray(v) ? `[${v.map(sig).join(',')}]` : v && typeof v.shape === 'object' ? `T${v.shape.join('x')}:${v.dataSync()[0].toFixed(3)}` : typeof v === 'function' ? 'f' : String(v));
    for (const name of ['rnnForward', 'rnnBackward', 'embeddingForward', 'embeddingBackward', 'temporalSoftmaxLoss', 'generate']) {
      const seen = [];
      const spy = (...a) => { seen.push(a.map((x) => (x && !Array.isArray(x) && typeof x === 'object' && !x.shape ? sig(Object.values(x)) : sig(x))).join('|')); return EXERCISE_FN[name](...a); };
      const run = (o) => { seen.length = 0; const r = check[name](spy, { quiet: true, ...o }); assert.equal(r.passed, true, `${name}: ${r.message}`); return seen.join('\n'); };
      const visible = run({});
      const h1 = run({ hidden: true, seed: 1 });
      assert.notEqual(visible, h1, name);
      assert.notEqual(h1, run({ hidden: true, seed: 2 }), name);
      assert.equal(run({ hidden: true, seed: 1 }), h1, `${name}: the same seed gives the same hidden inputs`);
    }
  });
  test('generate: not stopping at the end token, feeding back the argmax, dropping the end token, the start token included, Math.random', () => {
    expectZero('generate', (...a) => sol.generate(...a, { noStop: true }), /goes on after endId/);
    expectZero('generate', (...a) => sol.generate(...a, { argmaxFeed: true }), /the id fed back is the argmax/);
    expectZero('generate', (...a) => sol.generate(...a, { dropEnd: true }), /the end token is missing/);
    expectZero('generate', (s, h, st, e, L, u) => [st, ...sol.generate(s, h, st, e, L, u)], /starts with startId/);
    expectZero('generate', (s, h, st, e, L) => sol.generate(s, h, st, e, L, () => Math.random()), /uniform\(\) was never called/);
    for (const seed of [1, 2, 3, 4]) {
      expectZero('generate', (...a) => sol.generate(...a, { noStop: true }), /goes on after endId/, { hidden: true, seed });
      expectZero('generate', (...a) => sol.generate(...a, { argmaxFeed: true }), /fed back is the argmax/, { hidden: true, seed });
    }
  });
  test('attentionWeights: the mask after the softmax, no mask, the mask multiplied into the scores, the softmax over the wrong axis, no tanh, a padding weight that is small but not 0', () => {
    const W = (bug) => (...a) => sol.attentionWeights(...a, bug);
    for (const options of [undefined, { hidden: true, seed: 1 }, { hidden: true, seed: 2 }]) {
      expectZero('attentionWeights', W({ maskAfter: true }), /mask seems to be applied AFTER the softmax.*sum to less than 1/, options);
      expectZero('attentionWeights', W({ noMask: true }), /padded positions get weight/, options);
      expectZero('attentionWeights', W({ maskMul: true }), /scores seem to be multiplied by the mask/, options);
      expectZero('attentionWeights', W({ axis: true }), /softmax runs over the wrong axis: each COLUMN/, options);
      expectZero('attentionWeights', W({ noTanh: true }), /tanh seems to be missing/, options);
    }
    expectZero('attentionWeights', W({ penalty: -20 }), /padded positions must be exactly 0; got \[2, 1\] = /);
    expectZero('attentionWeights', (...a) => tf.transpose(sol.attentionWeights(...a)), /alphas has shape \[3, 5\] but should have shape \[5, 3\].*looks transposed/);
  });
  test('attentionContext: the plain sum, the plain mean', () => {
    for (const options of [undefined, { hidden: true, seed: 1 }]) {
      expectZero('attentionContext', (a, h) => sol.attentionContext(a, h, { sum: true }), /plain sum of the encoder states/, options);
      expectZero('attentionContext', (a, h) => sol.attentionContext(a, h, { mean: true }), /plain mean of the encoder states/, options);
    }
  });
  test('beamSearch: only the last log-probability, finished hypotheses dropped, extended past the end token, greedy, unsorted, probabilities, the start token included', () => {
    const S = (bug) => (...a) => sol.beamSearch(...a, bug);
    for (const options of [undefined, { hidden: true, seed: 1 }, { hidden: true, seed: 2 }, { hidden: true, seed: 3 }]) {
      expectZero('beamSearch', S({ lastOnly: true }), /score seems to be only its last token's log-probability|only the last token's log-probability/, options);
      expectZero('beamSearch', S({ dropFinished: true }), /finished hypotheses are not kept/, options);
      expectZero('beamSearch', S({ ignoreEnd: true }), /hypotheses go on after the end token/, options);
      expectZero('beamSearch', S({ greedy: true }), /looks like greedy decoding/, options);
      expectZero('beamSearch', S({ reverse: true }), /sorted by score, best \(highest\) first/, options);
      expectZero('beamSearch', S({ prob: true }), /this is the probability of the sequence/, options);
    }
    expectZero('beamSearch', (step, s0, st, e, k, L) => sol.beamSearch(step, s0, st, e, k, L).map((h) => ({ tokens: [st, ...h.tokens], score: h.score })), /tokens start with startToken/);
    expectZero('beamSearch', (step, s0, st, e, k, L) => sol.beamSearch((t) => step(t, s0), s0, st, e, k, L), /expected the hypotheses/);
    expectZero('beamSearch', (step, s0, st, e, k, L) => sol.beamSearch(step, {}, st, e, k, L), /step was called with state = .*pass state0 first/);
  });
  test('hw5: hidden inputs differ from the visible ones (shapes, lengths, models, beam widths)', () => {
    const sig = (v) => (Array.isArray(v) ? `[${v.map(sig).join(',')}]` : v && typeof v.shape === 'object' ? `T${v.shape.join('x')}:${v.dataSync()[0].toFixed(3)}` : typeof v === 'function' ? 'f' : v && typeof v === 'object' ? JSON.stringify(v).slice(0, 40) : String(v));
    for (const name of ['attentionWeights', 'attentionContext', 'beamSearch']) {
      const seen = [];
      const spy = (...a) => { seen.push(a.map(sig).join('|')); return EXERCISE_FN[name](...a); };
      const run = (o) => { seen.length = 0; const r = check[name](spy, { quiet: true, ...o }); assert.equal(r.passed, true, `${name}: ${r.message}`); return seen.slice(); };
      const visible = run({});
      const h1 = run({ hidden: true, seed: 1 });
      assert.ok(h1.every((c) => !visible.includes(c)), `${name}: a hidden case equals a visible one`);
      assert.notDeepEqual(h1, run({ hidden: true, seed: 2 }), name);
      assert.deepEqual(run({ hidden: true, seed: 1 }), h1, `${name}: the same seed gives the same hidden inputs`);
    }
  });
});

describe('a retired exercise (lstmParamCount, no longer in hw2) stays callable but is in no homework', () => {
  test('EXERCISES marks it retired; check and gradeExercise still grade a right and a wrong answer', () => {
    assert.equal(EXERCISES.lstmParamCount.retired, true);
    assert.equal(EXERCISES.lstmParamCount.fn, 'lstmParamCount');
    assert.equal(EXERCISES.lstmParamCount.maxPoints, 2);
    for (const [name, meta] of Object.entries(EXERCISES)) if (name !== 'lstmParamCount') assert.equal('retired' in meta, false, name);
    expectFull('lstmParamCount', sol.lstmParamCount);
    expectZero('lstmParamCount', (m, n) => 4 * (n * m + n * n), /expected 128 parameters, got 112/);
    assert.equal(capture(() => gradeExercise('lstmParamCount', sol.lstmParamCount, { hidden: true, seed: 5 })).result.points, 2);
    assert.equal(capture(() => gradeExercise('lstmParamCount', (m, n) => m * n, { hidden: true, seed: 5 })).result.points, 0);
  });
});

describe('checks never throw because of the student; only on misuse', () => {
  const throwers = {
    notImplemented: () => { throw new Error('not implemented'); },
    typeError: () => { throw new TypeError('x.map is not a function'); },
    throwsString: () => { throw 'a string'; },   // eslint-disable-line no-throw-literal
    returnsUndefined: () => undefined,
    returnsNaN: () => NaN,
    returnsPromise: async () => 1,
    returnsDisposed: () => { const t = tf.zeros([2, 2]); t.dispose(); return t; },
    returnsGarbage: () => ({ h: 'x', c: [1, [2]], grads: 3, numeric: {}, losses: 'a', norms: null, dx: Symbol('s') }),
  };
  for (const name of Object.keys(EXERCISES)) {
    test(`${name}: every kind of broken function scores 0 without throwing`, () => {
      for (const [kind, fn] of Object.entries(throwers)) {
        const { result } = capture(() => check[name](fn));
        assert.equal(result.points, 0, `${name}/${kind}`);
        assert.equal(typeof result.message, 'string');
        assert.ok(result.message.length > 10, `${name}/${kind}: ${result.message}`);
        if (kind === 'notImplemented') assert.match(result.message, /not implemented yet/);
        if (kind === 'typeError') assert.match(result.message, /your function threw TypeError: x\.map is not a function/);
        if (kind === 'returnsPromise') assert.match(result.message, /Promise/);
      }
    });
  }
  test('misuse throws: not a function, bad options', () => {
    assert.throws(() => check.rnnStepForward(undefined), /pass your function itself, e\.g\. check\.rnnStepForward\(rnnStepForward\)/);
    assert.throws(() => check.bptt(42), TypeError);
    assert.throws(() => check.perplexity(sol.perplexity, { seed: 1.5 }), /seed must be an integer/);
    assert.throws(() => check.perplexity(sol.perplexity, { hiden: true }), /unknown options key 'hiden' — did you mean 'hidden'\?/);
    assert.throws(() => check.perplexity(sol.perplexity, 'hidden'), /options must be an object/);
  });
  test('gradeExercise reports a missing function as 0 points instead of throwing', () => {
    const { result } = capture(() => gradeExercise('bptt', undefined, { hidden: true, seed: 3 }));
    assert.equal(result.points, 0);
    assert.match(result.message, /no function named bptt is defined/);
    const r2 = capture(() => gradeExercise('perplexity', 5, { hidden: true })).result;
    assert.match(r2.message, /perplexity is not a function/);
    assert.equal(capture(() => gradeExercise('perplexity', sol.perplexity, { hidden: true, seed: 3 })).result.points, 2);
    assert.throws(() => gradeExercise('nope', sol.perplexity), /unknown exercise 'nope'/);
  });
});

describe('output for students and for the grader', () => {
  test('RNN_LAB_GRADING=1 adds one machine-readable line per check', () => {
    const prev = process.env.RNN_LAB_GRADING;
    process.env.RNN_LAB_GRADING = '1';
    try {
      const { lines } = capture(() => {
        check.lstmParamCount(sol.lstmParamCount, { hidden: true, seed: 9 });
        check.lstmParamCount((m, n) => m * n);
      });
      const results = lines.filter((l) => l.startsWith('RNN_LAB_RESULT ')).map((l) => JSON.parse(l.slice('RNN_LAB_RESULT '.length)));
      assert.equal(results.length, 2);
      assert.deepEqual(Object.keys(results[0]).sort(), ['exercise', 'hidden', 'maxPoints', 'message', 'passed', 'points']);
      assert.equal(results[0].points, 2);
      assert.equal(results[0].hidden, true);
      assert.equal(results[1].points, 0);
      assert.match(results[1].message, /expected \d+ parameters/);
    } finally {
      if (prev === undefined) delete process.env.RNN_LAB_GRADING; else process.env.RNN_LAB_GRADING = prev;
    }
    const { lines } = capture(() => check.lstmParamCount(sol.lstmParamCount));
    assert.equal(lines.filter((l) => l.startsWith('RNN_LAB_RESULT')).length, 0, 'no result line outside grading');
  });
  test('quiet prints nothing; the result shows as one short line in a notebook', async () => {
    const { result, lines } = capture(() => check.perplexity(sol.perplexity, { quiet: true }));
    assert.deepEqual(lines, []);
    const { inspect } = await import('node:util');
    assert.equal(inspect(result), 'perplexity → 2/2 points');
    assert.deepEqual(JSON.parse(JSON.stringify(result)), { exercise: 'perplexity', points: 2, maxPoints: 2, passed: true, message: result.message });
  });
  test('hidden inputs differ from the visible ones, and the seed changes them', () => {
    const seen = [];
    const spy = (m, n) => { seen.push(`${m}x${n}`); return sol.lstmParamCount(m, n); };
    check.lstmParamCount(spy, { quiet: true });
    const visible = seen.splice(0).join();
    check.lstmParamCount(spy, { hidden: true, seed: 1, quiet: true });
    const hidden1 = seen.splice(0).join();
    check.lstmParamCount(spy, { hidden: true, seed: 2, quiet: true });
    const hidden2 = seen.splice(0).join();
    assert.notEqual(visible, hidden1);
    assert.notEqual(hidden1, hidden2);
    check.lstmParamCount(spy, { hidden: true, seed: 1, quiet: true });
    assert.equal(seen.join(), hidden1, 'the same seed gives the same hidden inputs');
  });
  test('hidden inputs differ from the visible ones for the exercises of issue 17 (shapes, values and seeds)', () => {
    // What each check hands the student, as text: shapes (and T) plus a few values.
    const sig = (t) => `${t.shape}:${Array.from(t.dataSync().slice(0, 2)).map((v) => v.toFixed(4))}`;
    const spies = {
      lstmStepBackward: (seen) => (x, h, c, W, dh, dc) => { seen.push(`${sig(x)}|${sig(h)}|${sig(dc)}`); return sol.lstmStepBackward(x, h, c, W, dh, dc); },
      lstmForward: (seen) => (xs, h0, c0, W, cell) => { seen.push(`T=${xs.length}|${sig(xs[0])}|${sig(c0)}`); return sol.lstmForward(xs, h0, c0, W, cell); },
      lstmBackward: (seen) => (dhs, cache, cell) => { seen.push(`T=${dhs.length}|${sig(dhs[0])}|${sig(cache.xs[0])}`); return sol.lstmBackward(dhs, cache, cell); },
      gruStep: (seen) => (x, h, W) => { seen.push(`${sig(x)}|${sig(h)}|${sig(W.Whh)}`); return sol.gruStepForward(x, h, W); },
    };
    for (const [name, spy] of Object.entries(spies)) {
      const run = (options) => { const seen = []; const r = check[name](spy(seen), { quiet: true, ...options }); assert.equal(r.passed, true, `${name}: ${r.message}`); return seen; };
      const visible = run({});
      const hidden1 = run({ hidden: true, seed: 1 });
      const hidden2 = run({ hidden: true, seed: 2 });
      assert.ok(hidden1.every((c) => !visible.includes(c)), `${name}: a hidden case equals a visible one`);
      const shape = (c) => c.replace(/:[^|]*/g, '');
      assert.ok(hidden1.some((c) => !visible.map(shape).includes(shape(c))), `${name}: the hidden tests use other shapes`);
      assert.notDeepEqual(hidden1, hidden2, `${name}: the seed changes the hidden inputs`);
      assert.deepEqual(run({ hidden: true, seed: 1 }), hidden1, `${name}: the same seed gives the same hidden inputs`);
    }
  });
  test('a check repairs tf.js after an interrupted gradient computation', () => {
    tf.engine().startTape();                 // as if a cell was stopped inside tf.variableGrads
    const { result, lines } = capture(() => check.trainingLoop(sol.trainLoop));
    assert.equal(result.passed, true, result.message);
    assert.match(lines[0], /interrupted cell/);
    assert.equal(recoverEngine(), false, 'nothing left to repair');
  });
});

describe('the references the checks use', () => {
  test('hw5: the float64 attention = tf.js\'s masked softmax; the check\'s beam search with a wide beam = exhaustive search, with k = 1 = greedy', () => {
    const R = checkReference;
    const r = (shape, seed) => tf.randomNormal(shape, 0, 1, 'float32', seed);
    const [B, T, n, m, d] = [3, 4, 2, 3, 5];
    const s = r([n, B], 1), hs = Array.from({ length: T }, (_, j) => r([m, B], 10 + j)), Wa = r([d, n], 2), Ua = r([d, m], 3), va = r([d, 1], 4);
    const lengths = [4, 1, 3];
    const e = R.attentionScores(s, hs, Wa, Ua, va);
    const a = R.attentionWeights(e, lengths);
    const viaTf = tf.tidy(() => {
      const scores = tf.concat(hs.map((h) => tf.matMul(va, tf.tanh(tf.add(tf.matMul(Wa, s), tf.matMul(Ua, h))), true)), 0);
      const real = tf.tensor2d(hs.map((_, j) => lengths.map((L) => (j < L ? 1 : 0))), undefined, 'bool');
      return tf.transpose(tf.softmax(tf.transpose(tf.where(real, scores, tf.fill(scores.shape, -Infinity))))).dataSync();
    });
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - viaTf[i]) < 1e-6, `alpha ${i}: ${a[i]} vs ${viaTf[i]}`);
    for (let j = 0; j < T; j++) for (let b = 0; b < B; b++) if (j >= lengths[b]) assert.equal(a[j * B + b], 0);
    for (let b = 0; b < B; b++) assert.ok(Math.abs([0, 1, 2, 3].reduce((acc, j) => acc + a[j * B + b], 0) - 1) < 1e-12);
    // A model whose log-probabilities depend on the whole prefix; every sequence, enumerated.
    const V = 3, end = 0, L = 4;
    const lp = (prefix) => {
      const z = [0, 1, 2].map((v) => Math.sin(7 * v + 3 * prefix.length + prefix.reduce((acc, t, i) => acc + (t + 1) * (i + 2), 0)));
      const lse = Math.log(z.reduce((acc, x) => acc + Math.exp(x), 0));
      return z.map((x) => x - lse);
    };
    const step = (token, prefix) => { const p = token === 2 && prefix === null ? [] : [...(prefix ?? []), ...(prefix === null ? [] : [token])]; return { logProbs: lp(p), state: p }; };
    // state = the tokens chosen so far (null before the start token is read)
    const all = [];
    const grow = (tokens, score) => {
      if (tokens.length && (tokens[tokens.length - 1] === end || tokens.length === L)) { all.push({ tokens, score }); return; }
      lp(tokens).forEach((x, v) => grow([...tokens, v], score + x));
    };
    grow([], 0);
    all.sort((x, y) => y.score - x.score);
    const wide = R.beamSearch(step, null, 2, end, 1000, L);
    assert.deepEqual(wide.map((h) => h.tokens), all.map((h) => h.tokens));
    wide.forEach((h, i) => assert.ok(Math.abs(h.score - all[i].score) < 1e-12));
    const greedy = [];
    let g = 0;
    while (greedy.length < L && greedy[greedy.length - 1] !== end) { const p = lp(greedy); const v = p.indexOf(Math.max(...p)); g += p[v]; greedy.push(v); }
    assert.deepEqual(R.beamSearch(step, null, 2, end, 1, L), [{ tokens: greedy, score: g }]);
  });
  const rand = (shape, seed, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed);
  test('the RNN step: layer.step with lecture weights = the pure reference = the equation; backward = autodiff', () => {
    const [m, n, B] = [3, 4, 2];
    const x = rand([m, B], 1), h = rand([n, B], 2), Wxh = rand([n, m], 3), Whh = rand([n, n], 4, 0.5), bh = rand([n, 1], 5);
    const a = checkReference.rnnStepForward(x, h, Wxh, Whh, bh).arraySync();
    const b = checkReference.rnnStepRef(x, h, Wxh, Whh, bh).arraySync();
    const c = sol.rnnStepForward(x, h, Wxh, Whh, bh).arraySync();
    for (const other of [b, c]) other.flat().forEach((v, i) => assert.ok(Math.abs(v - a.flat()[i]) < 1e-5));
    const dh = rand([n, B], 6);
    const g = tf.grads((p, q, r, s, t) => tf.sum(tf.mul(dh, checkReference.rnnStepRef(p, q, r, s, t))))([x, h, Wxh, Whh, bh]);
    const mine = checkReference.rnnStepBackward(dh, x, h, checkReference.rnnStepRef(x, h, Wxh, Whh, bh), Wxh, Whh);
    ['dx', 'dhPrev', 'dWxh', 'dWhh', 'dbh'].forEach((k, i) => {
      const d = tf.max(tf.abs(tf.sub(mine[k], g[i]))).dataSync()[0];
      assert.ok(d < 1e-5, `${k}: ${d}`);
    });
  });
  test('the LSTM step: layer.step with lecture weights = the pure reference; the float64 LSTM and its W_xf gradient agree', () => {
    const [m, n, B] = [2, 3, 2];
    const { Rng } = L;
    const p = checkReference.lstm64.random(new Rng(5), n, m, B);
    const W = {};
    for (const [k, v] of Object.entries(p.W)) W[k] = tf.tensor2d(v);
    const x = tf.tensor2d(p.x), h = tf.tensor2d(p.h), c = tf.tensor2d(p.c);
    const layer = checkReference.lstmStepForward(x, h, c, W);
    const pure = checkReference.lstmStepRef(x, h, c, W);
    const f64 = checkReference.lstm64.forward(p, p.W.Wxf.flat());
    const close = (t, arr, tol) => t.arraySync().flat().forEach((v, i) => assert.ok(Math.abs(v - arr.flat()[i]) < tol, `${v} vs ${arr.flat()[i]}`));
    close(pure.h, layer.h.arraySync(), 1e-5);
    close(pure.c, layer.c.arraySync(), 1e-5);
    close(layer.h, f64.h, 1e-5);
    close(layer.c, f64.c, 1e-5);
    const r = tf.tensor2d(p.r);
    const auto = tf.grad((wxf) => tf.sum(tf.mul(r, checkReference.lstmStepRef(x, h, c, { ...W, Wxf: wxf }).h)))(W.Wxf).dataSync();
    const byHand = checkReference.lstm64.gradWxf(p, p.W.Wxf.flat());
    byHand.forEach((v, i) => assert.ok(Math.abs(v - auto[i]) < 1e-4, `dW_xf[${i}]: ${v} vs ${auto[i]}`));
    const slip = checkReference.lstm64.gradWxf(p, p.W.Wxf.flat(), true);
    assert.ok(slip.some((v, i) => Math.abs(v - byHand[i]) > 1e-2), 'the wrong gradient is really wrong');
  });
  test('the LSTM step backward by hand = autodiff; the library\'s GRU step = the lecture\'s equations', () => {
    const [m, n, B] = [3, 4, 2];
    const W = {};
    LSTM_GATES.forEach((g, k) => { W[`Wx${g}`] = rand([n, m], 10 + k, 0.6); W[`Wh${g}`] = rand([n, n], 20 + k, 0.5); W[`b${g}`] = rand([n, 1], 30 + k, 0.4); });
    const x = rand([m, B], 1), h = rand([n, B], 2), c = rand([n, B], 3), dh = rand([n, B], 4), dc = rand([n, B], 5);
    const auto = checkReference.lstmStepGradsRef(x, h, c, W, dh, dc);
    const byHand = checkReference.lstmStepBackward(x, h, c, W, dh, dc);
    const student = sol.lstmStepBackward(x, h, c, W, dh, dc);
    const maxDiff = (a, b) => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
    for (const k of ['dx', 'dhPrev', 'dcPrev']) {
      assert.ok(maxDiff(byHand[k], auto[k]) < 1e-5, k);
      assert.ok(maxDiff(student[k], auto[k]) < 1e-5, k);
    }
    for (const k of Object.keys(W)) assert.ok(maxDiff(byHand.dW[k], auto.dW[k]) < 1e-5, `dW.${k}`);
    // The path through h_t matters here (else the dc-only mistake would go unnoticed).
    assert.ok(maxDiff(auto.dcPrev, tf.mul(dc, tf.sigmoid(tf.add(tf.add(tf.matMul(W.Wxf, x), tf.matMul(W.Whf, h)), W.bf)))) > 1e-2);
    const G = {};
    ['r', 'z', 'h'].forEach((g, k) => { G[`Wx${g}`] = rand([n, m], 40 + k, 0.7); G[`Wh${g}`] = rand([n, n], 50 + k, 0.6); G[`b${g}`] = rand([n, 1], 60 + k, 0.4); });
    const lib = checkReference.gruStepForward(x, h, G);
    const r = tf.sigmoid(tf.add(tf.add(tf.matMul(G.Wxr, x), tf.matMul(G.Whr, h)), G.br));
    const z = tf.sigmoid(tf.add(tf.add(tf.matMul(G.Wxz, x), tf.matMul(G.Whz, h)), G.bz));
    const ht = tf.tanh(tf.add(tf.add(tf.matMul(G.Wxh, x), tf.matMul(G.Whh, tf.mul(r, h))), G.bh));
    assert.ok(maxDiff(lib, tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), ht))) < 1e-5, 'reset before the matmul, z keeps the old state');
  });
  test('the float64 LSTM loss is smooth enough for central differences to reach 1e-8', () => {
    const p = checkReference.lstm64.random(new L.Rng(9), 2, 2, 2);
    const theta = p.W.Wxf.flat();
    const { numeric, maxRelError } = sol.gradCheck(checkReference.lstm64.loss(p), theta.slice(), checkReference.lstm64.gradWxf(p, theta));
    assert.equal(numeric.length, 4);
    assert.ok(maxRelError < 1e-7, String(maxRelError));
  });
});
