// `npm run bench`: training speed of one recurrent layer + linear head (many-to-one regression,
// T=50, input 8, batch 64, Adam) for RNN, LSTM and GRU at hidden 64, 128, 256, measured in one run:
//   tf.layers on the same backend (baseline), rnn-lab's default path (the fused WebAssembly kernels, on
//   every core), rnn-lab's tf.js-ops reference path, and PyTorch 1 thread (bench/torch_bench.py with
//   /usr/bin/python3, when torch imports).
// Implementations alternate within each configuration; each gets warm-up steps, then several timed
// repetitions, and the median samples/s is reported, with the ratios. JSON goes to bench/results.json.
//   node bench/bench.mjs [--cells lstm,gru] [--hidden 64] [--steps 6] [--repeats 3] [--json file] [--quick]
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const L = require(path.join(ROOT, 'dist', 'index.js'));
const tf = require(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'));

const arg = (name, dflt) => { const i = process.argv.indexOf(`--${name}`); return i >= 0 ? process.argv[i + 1] : dflt; };
const quick = process.argv.includes('--quick');
const cells = arg('cells', 'rnn,lstm,gru').split(',');
const hiddens = arg('hidden', quick ? '64' : '64,128,256').split(',').map(Number);
const steps = Number(arg('steps', quick ? 3 : 6));
const repeats = Number(arg('repeats', quick ? 2 : 3));
const warmup = 2;
const T = 50, INPUT = 8, BATCH = 64;
const jsonOut = arg('json', path.join(ROOT, 'bench', 'results.json'));

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };

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

function torchRates() {
  const py = '/usr/bin/python3';
  const probe = spawnSync(py, ['-c', 'import torch'], { encoding: 'utf8' });
  if (probe.status !== 0) return { skipped: `PyTorch is not importable by ${py}: ${(probe.stderr || probe.error?.message || '').trim().split('\n').pop()}` };
  const jobs = cells.flatMap((cell) => hiddens.map((hidden) => ({ cell, hidden, T, input: INPUT, batch: BATCH, steps: steps * 3, repeats, warmup })));
  const r = spawnSync(py, [path.join(ROOT, 'bench', 'torch_bench.py')], { input: JSON.stringify(jobs), encoding: 'utf8', maxBuffer: 1 << 24 });
  if (r.status !== 0) return { skipped: `torch_bench.py failed: ${r.stderr.trim().split('\n').pop()}` };
  return { results: JSON.parse(r.stdout) };
}

const info = await L.initBackend({ backend: process.env.RNN_LAB_BACKEND ?? 'wasm' });
const impls = [['tf.layers', (c, h) => kerasModel(c, h)], ['rnn-lab default', (c, h) => labModel(c, h, undefined)],
  ['rnn-lab reference', (c, h) => labModel(c, h, 'reference')]];
const rows = [];
for (const cell of cells) {
  for (const hidden of hiddens) {
    const models = impls.map(([name, make]) => { const m = make(cell, hidden); return [name, m, timer(m)]; });
    const rates = Object.fromEntries(models.map(([n]) => [n, []]));
    // Alternate: each repetition runs every implementation once, so drift hits them alike.
    for (let r = 0; r < repeats; r++) for (const [name, , t] of models) rates[name].push(t.run());
    for (const [, m, t] of models) { t.dispose(); m.dispose(); }
    const row = { cell, hidden, ...Object.fromEntries(Object.entries(rates).map(([n, v]) => [n, median(v)])) };
    rows.push(row);
    console.log(`${cell.padEnd(4)} H=${String(hidden).padEnd(3)}  ` + impls.map(([n]) => `${n} ${row[n].toFixed(0)}/s`).join('   '));
  }
}
const torch = torchRates();
if (torch.skipped) console.log(`PyTorch: skipped — ${torch.skipped}`);
else for (const t of torch.results) { const row = rows.find((r) => r.cell === t.cell && r.hidden === t.hidden); if (row) row['pytorch 1 thread'] = median(t.samples_per_s); }

const fused = L.fusedInfo();
const fusedLine = `default path: fused kernels, ${fused.relaxedSimd ? 'relaxed-SIMD FMA' : 'SIMD'}, ${fused.threads} thread(s) (${fused.helperThreads} helper(s) started)`;
console.log(`\nsamples/s (median of ${repeats} alternating repetitions, each ≥ 2 steps and up to ${steps} steps or ${minSeconds} s; T=${T}, input ${INPUT}, batch ${BATCH}, Adam; backend ${info.name}; ${fusedLine})`);
const cols = ['tf.layers', 'rnn-lab default', 'rnn-lab reference', 'pytorch 1 thread'];
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) + '×' : '—');
console.log(['cell', 'H', ...cols, 'default/tf.layers', 'default/pytorch', 'reference/tf.layers'].join('\t'));
for (const r of rows) {
  console.log([r.cell, r.hidden, ...cols.map((c) => (r[c] ? r[c].toFixed(0) : '—')),
    ratio(r['rnn-lab default'], r['tf.layers']), ratio(r['rnn-lab default'], r['pytorch 1 thread']),
    ratio(r['rnn-lab reference'], r['tf.layers'])].join('\t'));
}
fs.writeFileSync(jsonOut, JSON.stringify({ date: new Date().toISOString(), backend: info.name, fused, T, input: INPUT, batch: BATCH, steps, repeats, rows, pytorch: torch.skipped ?? 'measured' }, null, 2));
console.log(`results written to ${path.relative(process.cwd(), jsonOut)}`);
