// `npm run bench`: training speed of one recurrent layer + linear head (many-to-one regression,
// T=50, input 8, batch 64, Adam) for RNN, LSTM and GRU at hidden 64, 128, 256, measured in one run:
//   tf.layers on the same backend (baseline); rnn-lab's `train` (its default path: the fused training
//   step, src/fused/train-step.ts, one call per step on every core); rnn-lab's ops step (model.apply with
//   the fused layer kernels, tf.variableGrads and tf.js Adam: the path `train` ran before the fused step);
//   rnn-lab's tf.js-ops reference path; and PyTorch 1 thread (bench/torch_bench.py with /usr/bin/python3,
//   when torch imports). Per configuration also: GFMA/s of `train` (3·T·b·G·n·(m+n) multiply-adds per
//   step: the forward and the two backward GEMM families) and the share of `train`'s time spent outside
//   the recurrent kernels (fusedInfo().kernelMs).
// Implementations alternate within each configuration; each gets warm-up steps, then several timed
// repetitions, and the median samples/s is reported, with the ratios. JSON goes to bench/results.json.
// With LSTM among the cells, one more row (issue 16): a ragged batch, LSTM H=128, T=50, lengths uniform
// over 25–50 (seeded), against the same batch at full length T, three ways — `train` itself (the fused
// step, where the kernels skip padded steps), the ops step, and forward+backward of fusedSequence alone —
// and PyTorch 1 thread on the same data packed with pack_padded_sequence(enforce_sorted=False) and at full
// length; the ratio ragged/full (issue: ≤ 0.8 for the training step), the median of per-repetition ratios.
//   node bench/bench.mjs [--cells lstm,gru] [--hidden 64] [--steps 6] [--repeats 3] [--seconds 1.5] [--json file] [--quick] [--help]
//   node bench/bench.mjs --ragged     (only the ragged row)
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import * as readline from 'node:readline';
import { scanArgs, wantsHelp } from '../scripts/lib/args.mjs';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const L = require(path.join(ROOT, 'dist', 'index.js'));
const tf = require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'));

const USAGE = `usage: node bench/bench.mjs [options]   (npm run bench -- [options])
  --cells rnn,lstm,gru   cells to measure (default all three)
  --hidden 64,128,256    hidden sizes (default 64,128,256; 64 with --quick)
  --steps N              steps per timed repetition (default 6; 3 with --quick)
  --repeats N            alternating repetitions, the median is reported (default 3; 2 with --quick)
  --seconds S            time budget of a tf.layers / ops-step repetition (default 1.5; 0.5 with --quick)
  --json FILE            where the JSON record goes (default bench/results.json)
  --quick                a short run (hidden 64, fewer steps)
  --ragged               only the ragged-batch row (issue 16)
  --help                 this text
Ratios above 1× mean rnn-lab is faster.`;
const OPTIONS = { cells: { type: 'string' }, hidden: { type: 'string' }, steps: { type: 'string' }, repeats: { type: 'string' }, seconds: { type: 'string' },
  json: { type: 'string' }, quick: { type: 'boolean' }, ragged: { type: 'boolean' } };
const argv = process.argv.slice(2);
if (wantsHelp(argv)) { console.log(USAGE); process.exit(0); }
const given = {};
for (const a of scanArgs(argv, OPTIONS)) {
  if (a.kind !== 'option') { console.error(`bench: unknown argument ${a.raw}\n${USAGE}`); process.exit(2); }
  if (OPTIONS[a.name].type === 'string' && (a.value === undefined || a.value.startsWith('--'))) { console.error(`bench: ${a.raw} needs a value\n${USAGE}`); process.exit(2); }
  given[a.name] = a.value ?? true;
}
const arg = (name, dflt) => given[name] ?? dflt;
const positiveInt = (name, v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) { console.error(`bench: --${name} must be a positive integer; got ${v}`); process.exit(2); }
  return n;
};
const quick = given.quick === true;
const raggedOnly = given.ragged === true;
const cells = arg('cells', 'rnn,lstm,gru').split(',');
const badCell = cells.find((c) => !['rnn', 'lstm', 'gru'].includes(c));
if (badCell !== undefined) { console.error(`bench: --cells takes rnn, lstm and gru, comma-separated; got '${badCell}'`); process.exit(2); }
const hiddens = arg('hidden', quick ? '64' : '64,128,256').split(',').map((h) => positiveInt('hidden', h));
const steps = positiveInt('steps', arg('steps', quick ? 3 : 6));
const repeats = positiveInt('repeats', arg('repeats', quick ? 2 : 3));
const warmup = 2;
const T = 50, INPUT = 8, BATCH = 64;
const jsonOut = arg('json', path.join(ROOT, 'bench', 'results.json'));

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

/** tf.layers' orthogonal initializer warns on every large matrix ("Slowness may result"): not this bench's news. */
function quietly(make) {
  const warn = console.warn;
  console.warn = (...a) => { if (!/Orthogonal initializer/.test(String(a[0]))) warn(...a); };
  try { return make(); } finally { console.warn = warn; }
}

function kerasModel(cell, hidden) {
  const layer = { rnn: () => tf.layers.simpleRNN({ units: hidden, inputShape: [T, INPUT] }),
    lstm: () => tf.layers.lstm({ units: hidden, inputShape: [T, INPUT], recurrentActivation: 'sigmoid' }),
    gru: () => tf.layers.gru({ units: hidden, inputShape: [T, INPUT], recurrentActivation: 'sigmoid' }) }[cell]();
  const m = tf.sequential({ layers: [layer, tf.layers.dense({ units: 1 })] });
  return m;
}

function labModel(cell, hidden, impl) {
  const build = { rnn: L.buildRNN, lstm: L.buildLSTM, gru: L.buildGRU }[cell];
  const m = build({ inputSize: INPUT, hiddenSize: hidden, outputSize: 1, seed: 1, resetAfter: cell === 'gru' });
  for (const layer of L.recurrentLayers(m)) { if (impl) layer.impl = impl; layer.checkInput = false; }
  return m;
}

const minSeconds = Number(arg('seconds', quick ? 0.5 : 1.5));
if (!(minSeconds > 0)) { console.error(`bench: --seconds must be a number > 0; got ${given.seconds}`); process.exit(2); }

/**
 * A timer for one model: `run()` performs Adam steps (the training step every implementation
 * shares) until `steps` steps or `minSeconds` have passed (at least 2 steps), and returns samples/s.
 * The first call warms up (kernels compiled, WASM heap grown) and is not timed.
 */
function timer(model) {
  const opt = tf.train.adam(1e-3);
  const x = tf.randomNormal([BATCH, T, INPUT], 0, 1, 'float32', 1);
  const y = tf.randomNormal([BATCH, 1], 0, 1, 'float32', 2);
  const vars = model.trainableWeights.map((w) => w.read());
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.apply(x, { training: true }), y))), vars);
    opt.applyGradients(grads);
    value.dataSync();
  });
  let warm = false;
  return {
    run() {
      if (!warm) { for (let i = 0; i < warmup; i++) step(); warm = true; }
      const t0 = performance.now();
      let n = 0;
      while (n < 2 || (n < steps && performance.now() - t0 < minSeconds * 1000)) { step(); n++; }
      return (n * BATCH) / ((performance.now() - t0) / 1000);
    },
    dispose() { tf.dispose([x, y]); opt.dispose(); },
  };
}

/** Run `fn` with the fused kernels on `threads` threads (when given), then the count as it was. */
async function onThreads(threads, fn) {
  const before = L.fusedInfo().threads;
  if (threads) L.setFusedThreads(threads);
  try {
    return await fn();
  } finally {
    if (threads) L.setFusedThreads(before);
  }
}

/**
 * A timer for `train` itself (the fused step): each run() is one `train` call of one epoch over
 * 4 × `steps` batches of BATCH (an epoch of a small data set: its per-call setup, ≈ 1–3 ms, is part of
 * the time), timed whole; returns samples/s and the share of the time outside the recurrent kernels.
 * The first call warms up and is not timed.
 */
function trainTimer(model, threads) {
  const batches = 4 * steps;
  const x = tf.randomNormal([BATCH * batches, T, INPUT], 0, 1, 'float32', 1);
  const y = tf.randomNormal([BATCH * batches, 1], 0, 1, 'float32', 2);
  const epoch = () => L.train(model, { x, y }, { epochs: 1, batchSize: BATCH, learningRate: 1e-3, optimizer: 'adam', verbose: false, shuffle: false });
  let warm = false;
  return {
    run() {
      return onThreads(threads, () => this.timed());
    },
    async timed() {
      // Helpers stopped by a 1-thread run start again in an untimed epoch.
      const f = L.fusedInfo();
      if (f.helperThreads < f.threads - 1) warm = false;
      if (!warm) { const r = await epoch(); if (r.stepPath !== 'fused') throw new Error(`bench: train ran the ${r.stepPath} path: ${r.stepPathReason}`); warm = true; }
      const k0 = L.fusedInfo().kernelMs;
      const t0 = performance.now();
      await epoch();
      const ms = performance.now() - t0;
      return { rate: (batches * BATCH) / (ms / 1000), outside: 1 - (L.fusedInfo().kernelMs - k0) / ms };
    },
    dispose() { tf.dispose([x, y]); },
  };
}

/** Multiply-adds of one training step of one recurrent layer (forward GEMMs + the backward's two families). */
const GATE_COUNT = { rnn: 1, lstm: 4, gru: 3 };
const fmaPerStep = (cell, n) => 3 * T * BATCH * GATE_COUNT[cell] * n * (INPUT + n);

function torchRun(jobs) {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `PyTorch is not importable by ${py}: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}` };
  const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_bench.py')], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return { skipped: `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}` };
  return { results: JSON.parse(r.stdout) };
}

/**
 * PyTorch 1 thread as one more implementation of the alternating loop: torch_bench.py --serve answers one
 * repetition per request, so its repetitions interleave with rnn-lab's and tf.layers' (this machine's
 * speed drifts by up to 2× over minutes; ratios taken in one interleaved loop are not skewed by it).
 * Returns null (with the reason in `torchSkipped`) when PyTorch does not import.
 */
let torchSkipped;
let torchServer;
function torchTimer(cell, hidden) {
  if (torchSkipped) return null;
  if (!torchServer) {
    const py = '/usr/bin/python3';
    const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
    if (probe.status !== 0) { torchSkipped = `PyTorch is not importable by ${py}: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}`; return null; }
    const child = spawn(py, [path.join(ROOT, 'bench', 'torch_bench.py'), '--serve'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const lines = readline.createInterface({ input: child.stdout });
    const waiting = [];
    lines.on('line', (l) => waiting.shift()?.(JSON.parse(l)));
    torchServer = { child, ask: (job) => new Promise((res) => { waiting.push(res); child.stdin.write(JSON.stringify(job) + '\n'); }) };
  }
  return {
    async run() { return (await torchServer.ask({ cell, hidden, T, input: INPUT, batch: BATCH, warmup, steps: steps * 3 })).samples_per_s; },
    dispose() {},
  };
}

/**
 * Issue 16's row, LSTM H=128, T=50, batch 64, input 8, on a batch whose lengths are uniform over 25–50
 * (seeded) against the same batch at full length, three ways: (1) `train` itself (buildLSTM + linear
 * head, MSE on the last real step, Adam; the fused step, which skips padded steps in the kernels), one
 * call over the ragged batch and the full one taking turns, each side the mean of its steps' own times
 * (StepLog.seconds); (2) the ops step `train` ran before the fused step (`model.apply(x, { training,
 * mask })`, tf.variableGrads, tf.js Adam); (3) forward+backward of the fused layer alone (loss on h_T against fixed weights),
 * the same work as PyTorch 1 thread's packed (pack_padded_sequence) and full runs on the same x and lengths.
 * With more than one fused-kernel thread, (1) once more on one thread: the kernels' skipping of padded
 * steps, apart from what two threads add to every step (the helper's hand-offs and waits).
 * Ragged and full alternate within each repetition, in turn first (ABBA), each block after one untimed
 * step; the ratio is the median of the per-repetition ratios.
 */
const raggedRepeats = Math.max(repeats, 11);

async function raggedRow() {
  const H = 128, lo = T / 2;
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);   // seeded: the same lengths every run
  const lengths = Array.from({ length: BATCH }, () => lo + Math.floor(rand() * (T - lo + 1)));
  const realSteps = lengths.reduce((a, b) => a + b, 0);
  const x = tf.randomNormal([BATCH, T, INPUT], 0, 1, 'float32', 1);
  const y = tf.randomNormal([BATCH, 1], 0, 1, 'float32', 5);
  const K = tf.randomNormal([INPUT, 4 * H], 0, 1 / Math.sqrt(INPUT), 'float32', 2);
  const U = tf.randomNormal([H, 4 * H], 0, 1 / Math.sqrt(H), 'float32', 3);
  const B = tf.zeros([4 * H]);
  const R = tf.randomNormal([BATCH, H], 0, 1, 'float32', 4);
  const model = L.buildLSTM({ inputSize: INPUT, hiddenSize: H, outputSize: 1, seed: 1 });
  for (const layer of L.recurrentLayers(model)) layer.checkInput = false;
  const opt = tf.train.adam(1e-3);
  const vars = model.trainableWeights.map((w) => w.read());
  const layerStep = (opts) => () => tf.tidy(() => {
    const g = tf.grads((xx, k, u, b) => tf.sum(tf.mul(L.fusedSequence('lstm', xx, k, u, b, null, null, { returns: 'last', ...opts }).hT, R)))([x, K, U, B]);
    g[1].dataSync();
  });
  const mask = L.sequenceMask(lengths, T);   // [batch, T], 1 at real steps
  const trainStep = (kwargs) => () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.apply(x, { training: true, ...kwargs }), y))), vars);
    opt.applyGradients(grads);
    value.dataSync();
  });
  const timerOf = (step) => {
    let warm = false;
    return () => {
      if (!warm) { for (let i = 0; i < warmup + 1; i++) step(); warm = true; }
      step();   // untimed: the block after another timer's starts with warm caches and an awake helper thread
      const t0 = performance.now();
      let n = 0;
      while (n < 3 || (n < steps * 3 && performance.now() - t0 < 700)) { step(); n++; }
      return (performance.now() - t0) / n;
    };
  };
  // `train` itself (the fused step): one call per repetition over 16 batches, the ragged batch and the
  // same batch at full length taking turns (which goes first alternates by repetition), 2 epochs (32
  // steps, ≈ 0.7 s, as long as the other timers' repetitions); each side's time is the mean of its
  // steps' own times (StepLog.seconds), so the two sides share the machine's state step by step and
  // train's start-up, which belongs to neither batch, is in neither.
  const copies = 8, epochs = 2;
  const full = Array(BATCH).fill(T);
  const mixed = (raggedFirst) => {
    const order = raggedFirst ? [lengths, full] : [full, lengths];
    return { x: tf.tile(x, [2 * copies, 1, 1]), y: tf.tile(y, [2 * copies, 1]), lengths: Array.from({ length: copies }, () => order).flat(2) };
  };
  const data = [mixed(true), mixed(false)];
  const fusedModel = L.buildLSTM({ inputSize: INPUT, hiddenSize: H, outputSize: 1, seed: 1 });
  const fusedTimer = (threads) => {
    let warm = false;
    let rep = 0;
    const run = (d, n) => L.train(fusedModel, d, { epochs: n, batchSize: BATCH, learningRate: 1e-3, verbose: false, shuffle: false });
    return () => onThreads(threads, async () => {
      // Untimed first: one epoch (a helper thread stopped by a 1-thread block starts again here).
      if (!warm) { await run(data[0], 1); warm = true; }
      const raggedFirst = rep++ % 2 === 0;
      const r = await run(data[raggedFirst ? 0 : 1], epochs);
      if (r.stepPath !== 'fused') throw new Error(`bench: train ran the ${r.stepPath} path: ${r.stepPathReason}`);
      // Step pairs in order: [ragged ms, full ms] for the two steps of each pair of batches.
      const ms = r.steps.map((s) => 1000 * s.seconds);
      return Array.from({ length: ms.length / 2 }, (_, i) => (raggedFirst ? [ms[2 * i], ms[2 * i + 1]] : [ms[2 * i + 1], ms[2 * i]]));
    });
  };
  const threads = L.fusedInfo().threads;
  const timers = { trainRagged: timerOf(trainStep({ mask })), trainFull: timerOf(trainStep({})),
    layerRagged: timerOf(layerStep({ lengths })), layerFull: timerOf(layerStep({})) };
  const steppers = { step: fusedTimer(), ...(threads > 1 ? { step1: fusedTimer(1) } : {}) };
  const ms = Object.fromEntries(Object.keys(timers).map((k) => [k, []]));
  const stepPairs = Object.fromEntries(Object.keys(steppers).map((k) => [k, []]));
  // Short repetitions (≈ 0.7 s each), many of them, ragged and full back to back: drift on a busy
  // machine hits both sides of a ratio alike; which of the two goes first alternates (ABBA), so what
  // follows another timer's block (or comes first) is not always the same side.
  const pairs = Object.keys(timers).filter((k) => k.endsWith('Ragged')).map((k) => [k, k.replace(/Ragged$/, 'Full')]);
  for (let r = 0; r < raggedRepeats; r++) {
    for (const [k, timer] of Object.entries(steppers)) stepPairs[k].push(...(await timer()));
    for (const pair of pairs) for (const k of r % 2 === 0 ? pair : [...pair].reverse()) ms[k].push(await timers[k]());
  }
  tf.dispose(data.flatMap((d) => [d.x, d.y]));
  fusedModel.dispose();
  const ratios = (a, b) => median(ms[a].map((v, i) => v / ms[b][i]));
  // The training step: medians over all steps, the median of the ratios of adjacent steps, and the ratio of the mean step times.
  const stepStats = (k) => {
    const p = stepPairs[k];
    const mean = (i) => p.reduce((a, q) => a + q[i], 0) / p.length;
    return { ragged: median(p.map((q) => q[0])), full: median(p.map((q) => q[1])), ratio: median(p.map((q) => q[0] / q[1])), meanRatio: mean(0) / mean(1), pairs: p.length };
  };
  const step = stepStats('step'), step1 = stepPairs.step1 ? stepStats('step1') : undefined;
  const xs = Array.from(x.dataSync());
  tf.dispose([x, y, K, U, B, R, mask]);
  opt.dispose();
  model.dispose();
  const row = { cell: 'lstm', hidden: H, T, batch: BATCH, lengths: `uniform ${lo}–${T}`, realStepFraction: realSteps / (BATCH * T),
    'fused step ragged ms': step.ragged, 'fused step full ms': step.full, 'fused step ragged/full': step.ratio, 'fused step mean ragged/mean full': step.meanRatio, 'fused step pairs': step.pairs,
    'train ragged ms': median(ms.trainRagged), 'train full ms': median(ms.trainFull), 'train ragged/full': ratios('trainRagged', 'trainFull'),
    'fused ragged ms': median(ms.layerRagged), 'fused full ms': median(ms.layerFull), 'fused ragged/full': ratios('layerRagged', 'layerFull'), threads };
  if (step1) Object.assign(row, { 'fused step 1 thread ragged ms': step1.ragged, 'fused step 1 thread full ms': step1.full, 'fused step 1 thread ragged/full': step1.ratio, 'fused step 1 thread mean ragged/mean full': step1.meanRatio });
  const torch = torchRun([{ mode: 'packed', cell: 'lstm', hidden: H, T, input: INPUT, batch: BATCH, steps: steps * 3, repeats: raggedRepeats, warmup, lengths, x: xs }]);
  if (torch.skipped) row.pytorch = torch.skipped;
  else {
    const t = torch.results[0];
    row['pytorch packed ms'] = median(t.packed_ms);
    row['pytorch full ms'] = median(t.full_ms);
    row['pytorch packed/full'] = median(t.packed_ms.map((v, i) => v / t.full_ms[i]));
  }
  return row;
}

function printRagged(row) {
  const f = (v) => (typeof v === 'number' ? v.toFixed(1) : '—');
  console.log(`\nragged batch (issue 16): LSTM H=${row.hidden}, T=${row.T}, batch ${row.batch}, input ${INPUT}, lengths ${row.lengths} (${(100 * row.realStepFraction).toFixed(1)}% of the steps real, the floor of ragged/full); ms. train: ${raggedRepeats} calls in which the two batches take turns step by step (${row['fused step pairs']} pairs of steps in all); each step's own time (StepLog.seconds), medians over all steps; ragged/full is the median of the ratios of the two steps of each pair, and (in brackets) the ratio of the mean step times. The other rows: medians of ${raggedRepeats} repetitions of alternating blocks (ABBA, each after an untimed step); ragged/full is the median of the per-repetition ratios, not the ratio of the two medians`);
  console.log(['', 'ragged', 'full T', 'ragged/full'].join('\t'));
  console.log([`rnn-lab train (fused step, ${row.threads} thread${row.threads === 1 ? '' : 's'})`, f(row['fused step ragged ms']), f(row['fused step full ms']), `${row['fused step ragged/full'].toFixed(2)} (${row['fused step mean ragged/mean full'].toFixed(2)})`].join('\t'));
  if (row['fused step 1 thread ragged ms'] !== undefined) console.log(['rnn-lab train (fused step, 1 thread)', f(row['fused step 1 thread ragged ms']), f(row['fused step 1 thread full ms']), `${row['fused step 1 thread ragged/full'].toFixed(2)} (${row['fused step 1 thread mean ragged/mean full'].toFixed(2)})`].join('\t'));
  console.log(['rnn-lab ops step (model.apply + tf.js Adam)', f(row['train ragged ms']), f(row['train full ms']), row['train ragged/full'].toFixed(2)].join('\t'));
  console.log(['rnn-lab fused layer fwd+bwd', f(row['fused ragged ms']), f(row['fused full ms']), row['fused ragged/full'].toFixed(2)].join('\t'));
  if (row['pytorch packed ms'] !== undefined) {
    console.log(['pytorch 1 thread layer fwd+bwd (packed)', f(row['pytorch packed ms']), f(row['pytorch full ms']), row['pytorch packed/full'].toFixed(2)].join('\t'));
    console.log(`fused ragged / pytorch packed: ${(row['fused ragged ms'] / row['pytorch packed ms']).toFixed(2)}× the time`);
  } else console.log(`PyTorch: skipped — ${row.pytorch}`);
}

const info = await L.initBackend({ backend: process.env.RNN_LAB_BACKEND ?? 'wasm' });
if (raggedOnly) {
  const row = await raggedRow();
  printRagged(row);
  const f = L.fusedInfo();
  console.log(`(backend ${info.name}; fused kernels ${f.relaxedSimd ? 'relaxed-SIMD FMA' : 'SIMD'}, ${f.threads} thread(s))`);
  process.exit(0);
}
const impls = [['tf.layers', (c, h) => quietly(() => kerasModel(c, h)), timer], ['rnn-lab train', (c, h) => labModel(c, h, undefined), (m) => trainTimer(m)],
  ['rnn-lab train 1 thread', (c, h) => labModel(c, h, undefined), (m) => trainTimer(m, 1)],
  ['rnn-lab ops step', (c, h) => labModel(c, h, undefined), timer], ['rnn-lab reference', (c, h) => labModel(c, h, 'reference'), timer]];
const rows = [];
for (const cell of cells) {
  for (const hidden of hiddens) {
    const models = impls.map(([name, make, timerOf]) => { const m = make(cell, hidden); return [name, m, timerOf(m)]; });
    const torch = torchTimer(cell, hidden);
    if (torch) models.push(['pytorch 1 thread', { dispose() {} }, torch]);
    const rates = Object.fromEntries(models.map(([n]) => [n, []]));
    const outside = [];
    // Alternate: each repetition runs every implementation once, so drift hits them alike; the order
    // rotates, so no implementation always follows the same one (its helper thread asleep, its caches cold).
    for (let r = 0; r < repeats; r++) {
      for (const [name, , t] of models.map((_, i) => models[(i + r) % models.length])) {
        const v = await t.run();
        if (typeof v === 'number') rates[name].push(v);
        else { rates[name].push(v.rate); if (name === 'rnn-lab train') outside.push(v.outside); }
      }
    }
    for (const [, m, t] of models) { t.dispose(); m.dispose(); }
    const row = { cell, hidden, ...Object.fromEntries(Object.entries(rates).map(([n, v]) => [n, median(v)])) };
    row['train GFMA/s'] = (fmaPerStep(cell, hidden) * row['rnn-lab train'] / BATCH) / 1e9;
    row['train outside kernels'] = median(outside);
    rows.push(row);
    console.log(`${cell.padEnd(4)} H=${String(hidden).padEnd(3)}  ` + impls.map(([n]) => `${n} ${row[n].toFixed(0)}/s`).join('   '));
  }
}
torchServer?.child.stdin.end();
if (torchSkipped) console.log(`PyTorch: skipped — ${torchSkipped}`);

const fused = L.fusedInfo();
const fusedLine = `default path: fused kernels, ${fused.relaxedSimd ? 'relaxed-SIMD FMA' : 'SIMD'}, ${fused.threads} thread(s) (${fused.helperThreads} helper(s) started)`;
console.log(`\nsamples/s (median of ${repeats} alternating repetitions of every implementation in rotated order, PyTorch included; tf.layers and the ops steps: ≥ 2 steps and up to ${steps} steps or ${minSeconds} s; train: one call over ${4 * steps} batches; PyTorch: ${3 * steps} steps; T=${T}, input ${INPUT}, batch ${BATCH}, Adam; backend ${info.name}; ${fusedLine})`);
const cols = ['tf.layers', 'rnn-lab train', 'rnn-lab train 1 thread', 'rnn-lab ops step', 'rnn-lab reference', 'pytorch 1 thread'];
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) + '×' : '—');
const table = [['cell', 'H', ...cols, 'train/pytorch', 'ops step/pytorch', 'train/tf.layers', 'reference/tf.layers', 'train GFMA/s', 'outside kernels', '2 threads/1']];
for (const r of rows) {
  table.push([r.cell, String(r.hidden), ...cols.map((c) => (r[c] ? r[c].toFixed(0) : '—')),
    ratio(r['rnn-lab train'], r['pytorch 1 thread']), ratio(r['rnn-lab ops step'], r['pytorch 1 thread']),
    ratio(r['rnn-lab train'], r['tf.layers']), ratio(r['rnn-lab reference'], r['tf.layers']),
    r['train GFMA/s'].toFixed(1), `${(100 * r['train outside kernels']).toFixed(0)}%`, ratio(r['rnn-lab train'], r['rnn-lab train 1 thread'])]);
}
// Columns padded to their widest entry, so the table lines up in a terminal.
const widths = table[0].map((_, j) => Math.max(...table.map((row) => row[j].length)));
for (const row of table) console.log(row.map((v, j) => (j < 2 ? v.padEnd(widths[j]) : v.padStart(widths[j]))).join('  '));
console.log('(samples/s; a ratio above 1× means the first named is faster)');
const ragged = cells.includes('lstm') ? await raggedRow() : undefined;
if (ragged) printRagged(ragged);
fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), backend: info.name, fused, T, input: INPUT, batch: BATCH, steps, repeats, rows, ragged, pytorch: torchSkipped ?? 'measured, interleaved' }, null, 2));
console.log(`results written to ${path.relative(process.cwd(), jsonOut)}`);
