// Interrupt (issue 12): the course kernel's ■ reaches a running library call through a shared counter
// (src/interrupt.ts). Each test installs a fake hub on globalThis, as scripts/kernel/ does, and bumps the
// counter the way the kernel does: from a timer while train awaits between batches, or from another
// thread (a worker doing Atomics.add, as the kernel's relay thread does) while a synchronous loop runs.
// The references are the same calls run without an interrupt (or stopped by an AbortSignal instead).
import { describe, test, before, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const HUB_KEY = Symbol.for('rnn-lab.kernel');

/**
 * A fake kernel hub: [0] interrupts, [1] running calls, [2] [0] when the current cell began (0: the test
 * is one cell), [4] what the relay saw in [1] when it pressed ([3] is the relay's sleeping word).
 */
function installHub() {
  const state = new Int32Array(new SharedArrayBuffer(20));
  const reports = [];
  globalThis[HUB_KEY] = { state, onInterrupted: (what, message) => reports.push({ what, message }) };
  return { state, reports };
}

/** What the kernel does when the next cell begins: presses so far no longer count. */
function newCell(state) {
  Atomics.store(state, 2, Atomics.load(state, 0));
}

/**
 * The kernel's relay thread, pressing ■ once: it waits until a library call has entered (state[1] > 0),
 * then `ms` more, records how many calls were running, and bumps the interrupt counter.
 */
function relay(state, ms) {
  const code = `
    const { workerData } = require('node:worker_threads');
    const s = new Int32Array(workerData.buf);
    while (Atomics.load(s, 1) === 0) Atomics.wait(s, 3, 0, 1);
    Atomics.wait(s, 3, 0, workerData.ms);
    Atomics.store(s, 4, Atomics.load(s, 1));
    Atomics.add(s, 0, 1);`;
  return new Worker(code, { eval: true, workerData: { buf: state.buffer, ms } });
}

/** Run `fn` (synchronous) while the relay presses ■ after `ms`; returns the error it threw. */
async function interruptedSync(state, ms, fn) {
  newCell(state);                                    // each call is its own cell
  const w = relay(state, ms);
  const t0 = performance.now();
  let err;
  try { fn(); } catch (e) { err = e; }
  const seconds = (performance.now() - t0) / 1000;
  await w.terminate();
  return { err, seconds };
}

/** console.log lines printed while `fn` runs. */
async function captureLog(fn) {
  const lines = [];
  const orig = console.log;
  console.log = (...a) => { lines.push(a.join(' ')); };
  try { return { value: await fn(), lines }; } finally { console.log = orig; }
}

const flat = (t) => Array.from(t.dataSync());
const weightsOf = (model) => model.getWeights().map(flat);
const maxDiffLists = (a, b) => Math.max(0, ...a.map((w, i) => Math.max(0, ...w.map((v, j) => Math.abs(v - b[i][j])))));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** mse that counts its calls: train calls the loss once per optimizer step (no validation here). */
function countingMse(onCall) {
  const mse = L.lossFunction('mse');
  let calls = 0;
  const loss = (y, p) => { calls++; onCall?.(calls); return mse(y, p); };
  return { loss, calls: () => calls };
}

const adding = (seed) => {
  const d = L.addingProblem(64, 20, seed);
  return { x: d.x, y: d.y };
};
const addingModel = () => L.buildRNN({ inputSize: 2, hiddenSize: 8, outputSize: 1, seed: 3 });

describe('interrupt', () => {
  before(async () => { await L.initBackend({ backend: 'cpu', quiet: true }); });
  afterEach(() => { delete globalThis[HUB_KEY]; });

  test('exports: KeyboardInterrupt, interruptible, kernelHub', () => {
    assert.equal(typeof L.KeyboardInterrupt, 'function');
    assert.equal(typeof L.interruptible, 'function');
    assert.equal(L.kernelHub(), undefined, 'no hub outside the kernel');
    const { state } = installHub();
    assert.equal(L.kernelHub().state, state);
    const e = new L.KeyboardInterrupt('x interrupted after 1/2 steps', 'ab');
    assert.ok(e instanceof Error);
    assert.equal(e.name, 'KeyboardInterrupt');
    assert.equal(e.partial, 'ab');
  });

  test('train: ■ while it awaits between batches → stopped "interrupted", the weights of the last finished step, one line, the kernel told once', async () => {
    const { state, reports } = installHub();
    const model = addingModel();
    const data = adding(5);
    const start = tf.memory().numTensors;
    const timer = setTimeout(() => Atomics.add(state, 0, 1), 300);
    const counter = countingMse();
    const { value: r, lines } = await captureLog(() => L.train(model, data, { epochs: 1000, batchSize: 16, loss: counter.loss, verbose: true }));
    clearTimeout(timer);
    assert.equal(r.stopped, 'interrupted', r.message);
    const m = /^train interrupted in epoch (\d+)\/1000 after (\d+) steps; the weights of the last finished step are kept$/.exec(r.message);
    assert.ok(m, `message: ${r.message}`);
    const [epoch, steps] = [Number(m[1]), Number(m[2])];
    console.log(`  interrupted in epoch ${epoch}/1000 after ${steps} steps (${r.epochs.length} epochs logged)`);
    assert.ok(steps >= 1 && r.epochs.length < 1000, `steps ${steps}, epochs ${r.epochs.length}`);
    assert.equal(steps, r.steps.length, 'the message counts the logged steps');
    assert.equal(counter.calls(), steps, 'no step started after the interrupt was seen (one loss call per step)');
    assert.equal(epoch, r.epochs.length + 1, 'the epoch it stopped in is not logged (no validation, no onEpoch)');
    const flagged = lines.filter((l) => l.includes('interrupted'));
    assert.deepEqual(flagged, [r.message], `exactly one printed line says interrupted; got ${JSON.stringify(flagged)}`);
    assert.equal(lines.length, r.epochs.length + 1, 'one line per finished epoch and the message, nothing after');
    assert.deepEqual(reports, [{ what: 'train', message: r.message }], 'onInterrupted called once');
    assert.equal(Atomics.load(state, 1), 0, 'no call counted as running after return');
    assert.equal(tf.memory().numTensors, start, 'tensors flat across the interrupted train');

    // Nothing goes on in the background: the weights stay as returned.
    const w1 = weightsOf(model);
    await sleep(200);
    assert.equal(maxDiffLists(w1, weightsOf(model)), 0, 'weights unchanged 200 ms after return');

    // Reference: the same run stopped by an AbortSignal after the same number of steps (aborted during
    // step `steps`, seen before the next batch) ends with the same weights and losses.
    newCell(state);
    const ref = addingModel();
    const ac = new AbortController();
    const refCounter = countingMse((n) => { if (n === steps) ac.abort(); });
    const rr = await L.train(ref, data, { epochs: 1000, batchSize: 16, loss: refCounter.loss, verbose: false, signal: ac.signal });
    assert.equal(rr.stopped, 'aborted');
    assert.equal(rr.steps.length, steps);
    const lossDiff = Math.max(...rr.steps.map((s, i) => Math.abs(s.loss - r.steps[i].loss)));
    const wDiff = maxDiffLists(weightsOf(ref), w1);
    assert.equal(lossDiff, 0, `the same step losses (max |Δ| ${lossDiff})`);
    assert.equal(wDiff, 0, `the weights after step ${steps} (max |Δ| ${wDiff})`);
    tf.dispose([data.x, data.y]);
  });

  test('train: truncated BPTT stops between the chunks of a batch; verbose false prints nothing but the kernel is told; a live figure is closed once', async () => {
    const { state, reports } = installHub();
    const T = 400, k = 10;                         // 40 chunks (optimizer steps) per batch
    const model = L.buildGRU({ inputSize: 1, hiddenSize: 8, outputSize: 1, topology: 'many-to-many', seed: 2 });
    const x = tf.randomUniform([8, T, 1], -1, 1, 'float32', 4);
    const y = tf.randomUniform([8, T, 1], -1, 1, 'float32', 5);
    const draws = [];
    L.setDisplaySink({ kind: 'notebook', html: () => {}, newDisplay: () => ({ html: (h) => draws.push(h) }), text: () => {} });
    const start = tf.memory().numTensors;
    // The press comes in the middle of the first batch, during its 7th chunk (the loss runs inside each
    // chunk's step; reading the counter does not care which thread bumped it).
    const counter = countingMse((n) => { if (n === 7) Atomics.add(state, 0, 1); });
    let r, lines;
    try {
      ({ value: r, lines } = await captureLog(() => L.train(model, { x, y }, { epochs: 50, batchSize: 8, tbptt: k, loss: counter.loss, verbose: false, live: true })));
    } finally {
      L.setDisplaySink(undefined);
    }
    assert.equal(r.stopped, 'interrupted', r.message);
    console.log(`  ${r.message} (${T / k} chunks per batch)`);
    assert.equal(r.message, 'train interrupted in epoch 1/50 after 7 steps; the weights of the last finished step are kept');
    assert.equal(r.steps.length, 7, 'the 7th chunk finished, the 8th did not start');
    assert.equal(counter.calls(), 7);
    assert.equal(r.epochs.length, 0);
    assert.equal(lines.length, 0, `verbose false prints nothing; got ${JSON.stringify(lines)}`);
    assert.deepEqual(reports, [{ what: 'train', message: r.message }]);
    assert.equal(tf.memory().numTensors, start, 'tensors flat (chunks and carried states freed)');
    const after = draws.length;
    assert.ok(after >= 1, 'the live figure drew its final state when train closed it');
    await sleep(300);
    assert.equal(draws.length, after, 'no redraw after train returned');
    tf.dispose([x, y]);
  });

  test('decode: ■ from another thread during the synchronous loop → KeyboardInterrupt with the steps done and the outputs so far', async () => {
    const s2s = L.buildGRU({ vocabSize: 12, hiddenSize: 16, outputSize: 12, topology: 'seq2seq', outputActivation: 'softmax' });
    const src = tf.tensor2d([[3, 4, 5], [6, 7, 8]]);
    const total = 5000;
    // Without a hub: a short run's time per step, to judge the interrupted run by (no timing asserts).
    let t0 = performance.now();
    tf.dispose(L.decode(s2s, src, { start: 1, maxLength: 200 }));
    const perStep = (performance.now() - t0) / 200;
    const { state, reports } = installHub();
    const start = tf.memory().numTensors;
    const { err, seconds } = await interruptedSync(state, 200, () => L.decode(s2s, src, { start: 1, maxLength: total }));
    assert.ok(err instanceof L.KeyboardInterrupt, `threw ${err}`);
    assert.equal(err.name, 'KeyboardInterrupt');
    const m = /^decode interrupted after (\d+)\/5000 steps$/.exec(err.message);
    assert.ok(m, err.message);
    const done = Number(m[1]);
    console.log(`  ${err.message} in ${seconds.toFixed(2)} s; the full run: ~${(perStep * total / 1000).toFixed(1)} s (${perStep.toFixed(2)} ms/step)`);
    assert.ok(done >= 1 && done < total, `done ${done}`);
    assert.equal(Atomics.load(state, 4), 1, 'the relay saw one call running when it pressed');
    assert.equal(Atomics.load(state, 1), 0, 'running count back to 0');
    assert.equal(tf.memory().numTensors, start, 'tensors flat');
    assert.deepEqual(reports, [], 'a thrown KeyboardInterrupt is not reported again');
    // partial: plain arrays [batch][steps], equal to an uninterrupted decode of that many steps.
    assert.ok(Array.isArray(err.partial) && err.partial.length === 2 && err.partial[0].length === done, 'partial [2][done]');
    delete globalThis[HUB_KEY];
    const ref = L.decode(s2s, src, { start: 1, maxLength: done });
    assert.deepEqual(err.partial, ref.arraySync(), 'partial = decode(maxLength: done)');
    tf.dispose([ref, src]);
  });

  test('generate: ■ from another thread → KeyboardInterrupt naming the step and layer; tensors flat', async () => {
    const g = L.buildRNN({ inputSize: 2, hiddenSize: 16, outputSize: 1, numLayers: 2, topology: 'one-to-many', sequenceLength: 5 });
    const x = tf.tensor2d([[0.5, 1]]);
    const total = 20000;
    const { state } = installHub();
    const start = tf.memory().numTensors;
    const { err, seconds } = await interruptedSync(state, 300, () => L.generate(g, x, total));
    assert.ok(err instanceof L.KeyboardInterrupt, `threw ${err}`);
    const m = /^generate interrupted after (\d+)\/20000 steps of layer rnn_l([01]) \(([12])\/2\)$/.exec(err.message);
    assert.ok(m, err.message);
    console.log(`  ${err.message} in ${seconds.toFixed(2)} s`);
    assert.ok(Number(m[1]) < total && Number(m[3]) === Number(m[2]) + 1);
    assert.equal(err.partial, undefined, 'no tensors in partial');
    assert.equal(tf.memory().numTensors, start, 'tensors flat');
    x.dispose();
  });

  test('sampleText with modelStepper: ■ from another thread → KeyboardInterrupt whose partial is the text so far', async () => {
    const lm = L.buildLSTM({ vocabSize: 5, hiddenSize: 16, outputSize: 5, topology: 'many-to-many', outputActivation: 'softmax' });
    const vocab = new L.CharVocab(['a', 'b', 'c', 'd', 'e']);
    const total = 20000;
    const { state } = installHub();
    const start = tf.memory().numTensors;
    const { err, seconds } = await interruptedSync(state, 200, () => L.sampleText(L.modelStepper(lm), vocab, { prime: 'ab', length: total, rng: new L.Rng(7) }));
    assert.ok(err instanceof L.KeyboardInterrupt, `threw ${err}`);
    const m = /^sampleText interrupted after (\d+)\/20000 characters$/.exec(err.message);
    assert.ok(m, err.message);
    const done = Number(m[1]);
    console.log(`  ${err.message} in ${seconds.toFixed(2)} s`);
    assert.ok(done >= 1 && done < total);
    assert.equal(typeof err.partial, 'string');
    assert.equal(err.partial.length, 2 + done, 'prime + the characters generated');
    assert.equal(tf.memory().numTensors, start, 'the stepper state was disposed');
    delete globalThis[HUB_KEY];
    const ref = L.sampleText(L.modelStepper(lm), vocab, { prime: 'ab', length: done, rng: new L.Rng(7) });
    assert.equal(err.partial, ref, 'partial = the same sample of that length');
  });

  test('gradientFlow, jacobianNorms, gateStats, forwardModel: ■ from another thread → KeyboardInterrupt, nothing leaked (also the abandoned gradient tape), later calls unchanged', async () => {
    const model = L.buildLSTM({ inputSize: 1, hiddenSize: 8, outputSize: 1, topology: 'many-to-one', impl: 'reference' });
    const xs = tf.randomUniform([2, 12, 1], -1, 1, 'float32', 1);
    const ys = tf.zeros([2, 1]);
    const before = L.gradientFlow(model, xs, ys);
    const xl = tf.randomUniform([4, 2000, 1], -1, 1, 'float32', 2);
    const yl = tf.zeros([4, 1]);
    const x1 = tf.randomUniform([3000, 1], -1, 1, 'float32', 3);
    const { state } = installHub();
    const start = tf.memory().numTensors;
    // Its setup (a zero probe per state and step) takes a while: the press may come at step 0.
    const a = await interruptedSync(state, 300, () => L.gradientFlow(model, xl, yl));
    assert.ok(a.err instanceof L.KeyboardInterrupt, `threw ${a.err}`);
    assert.match(a.err.message, /^gradientFlow interrupted after (\d+)\/2000 steps of the forward pass$/);
    console.log(`  ${a.err.message} in ${a.seconds.toFixed(2)} s`);
    assert.equal(tf.memory().numTensors, start, 'tensors flat (the tape\'s saved tensors freed too)');
    newCell(state);
    const after = L.gradientFlow(model, xs, ys);
    assert.deepEqual(after, before, 'gradientFlow gives the same result after an interrupted one');

    const layer = L.recurrentLayers(model)[0];
    const b = await interruptedSync(state, 200, () => L.jacobianNorms(layer, x1));
    assert.ok(b.err instanceof L.KeyboardInterrupt, `threw ${b.err}`);
    const m = /^jacobianNorms interrupted after (\d+)\/(\d+) (steps of the forward pass|step Jacobians|products ∂h_T\/∂h_k|per-step factors)$/.exec(b.err.message);
    assert.ok(m, b.err.message);
    assert.ok(Number(m[1]) < Number(m[2]));
    console.log(`  ${b.err.message} in ${b.seconds.toFixed(2)} s`);
    assert.equal(tf.memory().numTensors, start, 'tensors flat');
    assert.equal(Atomics.load(state, 1), 0);

    for (const [name, fn] of [['gateStats', () => L.gateStats(model, xl)], ['forwardModel', () => L.forwardModel(model, xl)]]) {
      const c = await interruptedSync(state, 200, fn);
      assert.ok(c.err instanceof L.KeyboardInterrupt, `${name} threw ${c.err}`);
      const mc = new RegExp(`^${name} interrupted after (\\d+)/2000 steps$`).exec(c.err.message);
      assert.ok(mc, c.err.message);
      console.log(`  ${c.err.message} in ${c.seconds.toFixed(2)} s`);
      assert.equal(tf.memory().numTensors, start, `${name}: tensors flat`);
    }
    tf.dispose([xs, ys, xl, yl, x1]);
  });

  test('presses from earlier cells do not stop a call; a press earlier in the same cell stops every later call at once', async () => {
    const { state, reports } = installHub();
    Atomics.store(state, 0, 3);                     // three presses in earlier cells…
    Atomics.store(state, 2, 3);                     // …then the kernel began this cell
    const s2s = L.buildGRU({ vocabSize: 6, hiddenSize: 8, outputSize: 6, topology: 'seq2seq', outputActivation: 'softmax' });
    const src = tf.tensor2d([[1, 2, 3]]);
    const out = L.decode(s2s, src, { start: 0, maxLength: 30 });
    assert.deepEqual(out.shape, [1, 30]);
    const text = L.sampleText({ step: (id) => ({ logits: [0, 1, 0], state: id }) }, new L.CharVocab(['x', 'y', 'z']), { prime: 'x', length: 40, rng: new L.Rng(1), greedy: true });
    assert.equal(text, 'x' + 'y'.repeat(40));
    const data = adding(2);
    const r = await L.train(addingModel(), data, { epochs: 3, batchSize: 32, verbose: false });
    assert.equal(r.stopped, 'completed');
    assert.equal(r.epochs.length, 3);
    assert.deepEqual(reports, [], 'nothing reported');
    assert.equal(Atomics.load(state, 1), 0);

    // A press in this cell (the first train of a loop stopped): the calls after it stop before any step.
    Atomics.add(state, 0, 1);
    assert.throws(() => L.decode(s2s, src, { start: 0, maxLength: 30 }), (e) => e.name === 'KeyboardInterrupt' && /after encoding the source: 0\/3 steps/.test(e.message));
    const m2 = addingModel();
    const w0 = weightsOf(m2);
    const before = tf.memory().numTensors;
    await assert.rejects(L.train(m2, data, { epochs: 3, batchSize: 32, verbose: false }),
      (e) => e.name === 'KeyboardInterrupt' && /train interrupted after 0 steps: Interrupt was pressed earlier in this cell/.test(e.message));
    assert.equal(maxDiffLists(w0, weightsOf(m2)), 0, 'a train that did not start leaves the weights');
    assert.equal(tf.memory().numTensors, before, 'nothing left by the train that did not start');
    assert.equal(reports.length, 0, 'the press was made known once, by decode\'s KeyboardInterrupt; train does not report it again');
    assert.equal(Atomics.load(state, 1), 0);
    tf.dispose([out, src, data.x, data.y]);
  });

  test('an AbortSignal still aborts train with a hub installed (stopped "aborted", the kernel not told)', async () => {
    const { state, reports } = installHub();
    const data = adding(3);
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 200);
    const r = await L.train(addingModel(), data, { epochs: 1000, batchSize: 16, verbose: false, signal: ac.signal });
    clearTimeout(timer);
    assert.equal(r.stopped, 'aborted');
    assert.match(r.message, /^training aborted in epoch \d+\/\d+ after \d+ steps/);
    assert.ok(r.epochs.length < 1000);
    assert.deepEqual(reports, []);
    assert.equal(Atomics.load(state, 1), 0);
    tf.dispose([data.x, data.y]);
  });

  test('a hub without an interrupt changes nothing: the same losses and weights as without a hub', async () => {
    const data = adding(4);
    const opts = { epochs: 3, batchSize: 16, verbose: false };
    const plain = addingModel();
    const r0 = await L.train(plain, data, opts);
    const { state } = installHub();
    const hubbed = addingModel();
    const r1 = await L.train(hubbed, data, opts);
    assert.equal(r1.stopped, 'completed');
    const lossDiff = Math.max(...r0.steps.map((s, i) => Math.abs(s.loss - r1.steps[i].loss)));
    assert.equal(r0.steps.length, r1.steps.length);
    assert.equal(lossDiff, 0, `max |Δ loss| ${lossDiff}`);
    assert.equal(maxDiffLists(weightsOf(plain), weightsOf(hubbed)), 0);
    assert.equal(Atomics.load(state, 1), 0);
    tf.dispose([data.x, data.y]);
  });

  test('interruptible: presses of earlier cells do not count; end() tells the kernel of a press it did not act on, once, also when nested', () => {
    const { state, reports } = installHub();
    Atomics.add(state, 0, 1);
    Atomics.store(state, 2, Atomics.load(state, 0));   // a new cell: the press above was in an earlier one
    const op = L.interruptible('myLoop');
    assert.equal(Atomics.load(state, 1), 1, 'counted as running');
    assert.equal(op.reason, null, 'a press in an earlier cell does not count');
    op.throwIfStopped('0/1 steps');                 // does not throw
    Atomics.add(state, 0, 1);
    assert.equal(op.reason, 'interrupt');
    op.end();
    op.end();                                        // idempotent
    assert.equal(Atomics.load(state, 1), 0);
    assert.deepEqual(reports.map((r) => r.what), ['myLoop'], 'a press seen by no step is reported at end()');
    assert.match(reports[0].message, /ended before the interrupt could stop it/);

    // Nested: the inner call throws KeyboardInterrupt; the outer one does not report the same press again.
    reports.length = 0;
    Atomics.store(state, 2, Atomics.load(state, 0));   // the next cell
    const outer = L.interruptible('outer');
    const inner = L.interruptible('inner');
    Atomics.add(state, 0, 1);
    assert.throws(() => inner.throwIfStopped('3/9 steps', 'part'), (e) => e.name === 'KeyboardInterrupt' && e.message === 'inner interrupted after 3/9 steps' && e.partial === 'part');
    inner.end();
    outer.end();
    assert.deepEqual(reports, []);
    assert.equal(Atomics.load(state, 1), 0);

    // A signal: its reason is thrown; no hub needed.
    delete globalThis[HUB_KEY];
    const ac = new AbortController();
    const op2 = L.interruptible('x', ac.signal);
    assert.equal(op2.reason, null);
    ac.abort(new Error('stop now'));
    assert.equal(op2.reason, 'signal');
    assert.throws(() => op2.throwIfStopped('1/2'), /stop now/);
    op2.end();
  });

  test('liveFigure: after a ■ it draws nothing more (update and close are no-ops); one made after the press draws', () => {
    const { state } = installHub();
    const draws = [];
    L.setDisplaySink({ kind: 'notebook', html: () => {}, newDisplay: () => ({ html: (h) => draws.push(h) }), text: () => {} });
    try {
      const fig = { data: [{ y: [1, 2], type: 'scatter' }] };
      const live = L.liveFigure({ minIntervalMs: 0 });
      live.update(fig);
      assert.equal(draws.length, 1);
      Atomics.add(state, 0, 1);
      live.update(fig);
      live.close(fig);
      live.update(fig);                               // no error either: the loop behind it was interrupted
      assert.equal(draws.length, 1, 'no update_display_data after the interrupt');
      const fresh = L.liveFigure({ minIntervalMs: 0 });
      fresh.update(fig);
      fresh.close();
      assert.equal(draws.length, 3, 'a figure made after the press works');
      assert.throws(() => fresh.update(fig), /was closed/, 'update after close stays an error without an interrupt');
    } finally {
      L.setDisplaySink(undefined);
    }
  });
});

test('abandonRunningCalls frees what the calls cut short registered, innermost first, and forgets them', async () => {
  const { createRequire } = await import('node:module');
  const I = createRequire(import.meta.url)('../../dist/interrupt.js');
  const freed = [];
  const outer = I.interruptible('train');
  outer.onAbandon(() => freed.push('train'), 'the model may hold a partly applied step');
  const inner = I.interruptible('decode');
  inner.onAbandon(() => freed.push('decode'));
  const done = I.interruptible('finished');
  done.onAbandon(() => freed.push('finished'));
  done.end();                                           // ended normally: not cut, not freed again
  assert.deepEqual(I.abandonRunningCalls(), ['decode was cut mid-step', 'train was cut mid-step: the model may hold a partly applied step']);
  assert.deepEqual(freed, ['decode', 'train']);
  assert.deepEqual(I.abandonRunningCalls(), [], 'forgotten once abandoned');
  outer.end(); inner.end();                             // harmless if they ever end after all
});

test('interruptible refuses a missing name and a signal that is not an AbortSignal, naming what it got', () => {
  const L = lib();
  assert.throws(() => L.interruptible(''), /interruptible: what must be the call's name, a non-empty string.*got ''/);
  assert.throws(() => L.interruptible(undefined), /got undefined/);
  assert.throws(() => L.interruptible('myLoop', { aborted: true }), /interruptible\("myLoop"\): signal must be an AbortSignal.*got object/);
  const op = L.interruptible('myLoop', new AbortController().signal);   // fine
  op.end();
});
