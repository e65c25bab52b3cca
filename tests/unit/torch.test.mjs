// The builders' models against PyTorch (nn.RNN / nn.LSTM / nn.GRU + nn.Linear, float64): outputs and
// the gradients of L = ½·Σ(out − target)² with respect to x and every parameter, on the CPU and the
// WASM backend. The reference is tests/torch_reference.py, run ONCE for all cases with
// /usr/bin/python3 (Debian's python3-torch). Without PyTorch the cross-check skips, except under
// CI=true, where .ci/run installs it and its absence is a failure. The torchWeights/loadTorchWeights
// round trip and the tensor-leak check need no PyTorch and always run.
import { test, before, after } from 'node:test';
import { seeded } from '../reference.mjs';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
const lib = require('../../dist/index.js');
const tf = require('../../node_modules/@tensorflow/tfjs');

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'torch_reference.py');
const OUT_TOL = 1e-5;   // outputs: float32 (tf.js) against float64 (torch)
const GRAD_TOL = 1e-4;  // gradients; both relative to max(1, |torch value|)
const BACKENDS = ['cpu', 'wasm'];
const SIZES = { inputSize: 3, hiddenSize: 5, outputSize: 2 };
const BATCH = 2;
const TIME = 4;

const CELLS = [
  { label: 'rnn', cell: 'rnn', build: lib.buildRNN, extra: {} },
  { label: 'lstm', cell: 'lstm', build: lib.buildLSTM, extra: {} },
  { label: 'gru', cell: 'gru', build: lib.buildGRU, extra: { resetAfter: true } },
  { label: 'gru z-takes-new', cell: 'gru', build: lib.buildGRU, extra: { resetAfter: true, update: 'z-takes-new' } },
];
const CONFIGS = [
  { numLayers: 1, bidirectional: false, topology: 'many-to-many' },
  { numLayers: 2, bidirectional: false, topology: 'many-to-one' },
  { numLayers: 2, bidirectional: true, topology: 'many-to-many' },
  { numLayers: 1, bidirectional: true, topology: 'many-to-one' },
];
const configLabel = (c) => `L=${c.numLayers} ${c.bidirectional ? 'bidirectional' : 'unidirectional'} ${c.topology}`;

// ---------------------------------------------------------------------------------------------
// The test's own fixed-seed generator (mulberry32 in tests/reference.mjs), independent of the library's Rng.
const mulberry32 = seeded;
/** A nested array of the given shape, uniform in (−scale, scale). */
function randArray(rand, shape, scale) {
  if (shape.length === 0) return (2 * rand() - 1) * scale;
  return Array.from({ length: shape[0] }, () => randArray(rand, shape.slice(1), scale));
}

// ---------------------------------------------------------------------------------------------
// Cases. Every trainable weight (kernels, recurrent kernels, both GRU biases, head) is overwritten
// with seeded random values: the builders start biases at 0 (or the LSTM forget bias at 1), which
// would hide a permuted bias block in the export.
function spec(ci, gi, seed) {
  return { ...SIZES, ...CONFIGS[gi], ...CELLS[ci].extra, outputActivation: 'linear', seed };
}

/** The case's model (random weights), input and target; deterministic, so equal on every backend. */
function makeCase(ci, gi) {
  const seed = 1000 + 10 * ci + gi;
  const s = spec(ci, gi, seed);
  const model = CELLS[ci].build(s);
  const rand = mulberry32(seed);
  for (const w of model.trainableWeights) {
    const t = tf.tensor(randArray(rand, w.shape, 0.8).flat(Infinity), w.shape);
    w.write(t);
    t.dispose();
  }
  const x = randArray(rand, [BATCH, TIME, SIZES.inputSize], 1);
  const outShape = s.topology === 'many-to-many' ? [BATCH, TIME, SIZES.outputSize] : [BATCH, SIZES.outputSize];
  const target = randArray(rand, outShape, 1);
  return { ci, gi, seed, spec: s, model, x, target };
}

function job(c) {
  return {
    cell: CELLS[c.ci].cell, ...SIZES, numLayers: c.spec.numLayers, bidirectional: c.spec.bidirectional,
    topology: c.spec.topology, stateDict: lib.torchWeights(c.model), x: c.x, target: c.target,
  };
}

/**
 * The library's output, loss and gradients, with the gradients named as PyTorch names parameters.
 *
 * Why exporting a model whose weights ARE the gradients gives PyTorch's gradients: torchWeights is a
 * linear map P from the library's variables θ to PyTorch's parameters φ = P(θ), and by construction
 * f_torch(P(θ)) = f_lib(θ) (that is what the forward comparison checks). For the weight matrices and
 * the GRU's two biases, P only permutes gate blocks, transposes, and (z-takes-new) negates the z
 * blocks — a signed permutation of the entries, so P is orthogonal (Pᵀ = P⁻¹) and every φ is
 * reachable. The chain rule ∇θ f_lib = Pᵀ ∇φ f_torch then gives ∇φ f_torch = P(∇θ f_lib): export the
 * gradient exactly like a weight (the σ(−a) = 1 − σ(a) flip negates z's gradients, as it should).
 * The exception is the RNN/LSTM bias: the library has ONE bias b, PyTorch two, with only their sum
 * mattering (b = b_ih + b_hh); torchWeights exports b ↦ (bias_ih = b, bias_hh = 0), which is not
 * orthogonal. There ∂L/∂b_ih = ∂L/∂b_hh = ∂L/∂b, so the exported gradient's bias_ih is compared with
 * BOTH of torch's bias gradients (its exported bias_hh, 0, is meaningless as a gradient).
 */
function libRun(c) {
  const before = tf.memory().numTensors;
  const model = c.model;
  const x = tf.tensor3d(c.x);
  const target = tf.tensor(c.target);
  const y = model.predict(x);
  const output = y.arraySync();
  const xv = tf.variable(x, true);
  const vars = model.trainableWeights.map((w) => w.read());
  const { value, grads } = tf.variableGrads(() => tf.tidy(() => {
    const out = model.apply(xv);
    return tf.mul(0.5, tf.sum(tf.square(tf.sub(out, target))));
  }), [xv, ...vars]);
  const loss = value.dataSync()[0];

  const clone = CELLS[c.ci].build(spec(c.ci, c.gi, c.seed + 1));
  assert.equal(clone.trainableWeights.length, vars.length);
  model.trainableWeights.forEach((w, i) => {
    const cw = clone.trainableWeights[i];
    assert.equal(cw.originalName, w.originalName, 'the clone lists its weights in the same order');
    cw.write(grads[vars[i].name]);
  });
  const g = lib.torchWeights(clone);
  g.x = grads[xv.name].arraySync();

  tf.dispose([x, target, y, xv, value, ...Object.values(grads)]);
  clone.dispose();
  return { output, loss, grads: g, leaked: tf.memory().numTensors - before };
}

/** max |a − b| / max(1, |b|) over two equally shaped nested arrays (b: the reference). */
function maxRelDiff(a, b, what) {
  const fa = [a].flat(Infinity);
  const fb = [b].flat(Infinity);
  assert.equal(fa.length, fb.length, `${what}: ${fa.length} values against torch's ${fb.length}`);
  let worst = 0;
  for (let i = 0; i < fa.length; i++) {
    assert.ok(Number.isFinite(fa[i]), `${what}[${i}] is not finite: ${fa[i]}`);
    worst = Math.max(worst, Math.abs(fa[i] - fb[i]) / Math.max(1, Math.abs(fb[i])));
  }
  return worst;
}

// ---------------------------------------------------------------------------------------------
// PyTorch, once for the file.
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const HAVE_TORCH = probe.status === 0;
const NO_TORCH_WHY = probe.error ? probe.error.message : (probe.stderr || '').trim().split('\n').pop();

function needTorch(t) {
  if (HAVE_TORCH) return true;
  const msg = `PyTorch is not available to ${PYTHON} (${NO_TORCH_WHY}); install Debian's python3-torch ` +
    `(.ci/run does) to cross-check the models against nn.RNN/LSTM/GRU`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI=true: PyTorch is required there, so this is a failure)`);
  t.skip(msg);
  return false;
}

function runTorch(jobs) {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 50_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`${path.basename(SCRIPT)} failed (exit ${code}${signal ? `, ${signal}` : ''}):\n${err}`));
      let res;
      try { res = JSON.parse(out); } catch (e) { return reject(new Error(`${path.basename(SCRIPT)} wrote non-JSON to stdout (${e.message}): ${out.slice(0, 300)}`)); }
      if (!Array.isArray(res) || res.length !== jobs.length) return reject(new Error(`expected ${jobs.length} results, got ${JSON.stringify(res).slice(0, 200)}`));
      resolve(res);
    });
    p.stdin.on('error', () => {});   // a child that dies early reports through 'close'
    p.stdin.end(JSON.stringify(jobs));
  });
}

async function useBackend(name) {
  if (tf.getBackend() !== name) await lib.initBackend({ backend: name, quiet: true });
  assert.equal(tf.getBackend(), name);
}

let torchResults;       // Promise of one result per (cell, config), index ci * CONFIGS.length + gi
let jobs;
const summary = {};     // `${backend} ${cell}` → worst differences

before(async () => {
  await useBackend('cpu');
  if (!HAVE_TORCH) return;
  jobs = [];
  CELLS.forEach((_, ci) => CONFIGS.forEach((__, gi) => {
    const c = makeCase(ci, gi);
    jobs.push(job(c));
    c.model.dispose();
  }));
  torchResults = runTorch(jobs);
  torchResults.catch(() => {});    // reported by the tests that await it
});

after(() => {
  const rows = Object.entries(summary);
  if (rows.length === 0) return;
  console.log('max differences from PyTorch (relative to max(1, |torch|)), per backend and cell:');
  for (const [k, v] of rows) {
    console.log(`  ${k.padEnd(22)} output ${v.output.toExponential(2)}  grad ${v.grad.toExponential(2)}  (worst grad: ${v.gradName})`);
  }
});

// ---------------------------------------------------------------------------------------------
for (const backend of BACKENDS) {
  CELLS.forEach((cellDef, ci) => {
    CONFIGS.forEach((cfg, gi) => {
      test(`${backend}: ${cellDef.label}, ${configLabel(cfg)}: output and gradients match PyTorch`, async (t) => {
        if (!needTorch(t)) return;
        await useBackend(backend);
        const c = makeCase(ci, gi);
        try {
          const j = job(c);
          assert.deepEqual(j.stateDict, jobs[ci * CONFIGS.length + gi].stateDict, 'the case is rebuilt with the same weights');
          const ref = (await torchResults)[ci * CONFIGS.length + gi];
          const mine = libRun(c);
          assert.equal(mine.leaked, 0, `the forward and gradient pass left ${mine.leaked} tensors behind`);

          const dOut = maxRelDiff(mine.output, ref.output, 'output');
          const dLoss = Math.abs(mine.loss - ref.loss) / Math.max(1, Math.abs(ref.loss));
          // Every torch parameter has a gradient here and nothing else does (plus 'x').
          const expectedNames = ['x', ...Object.keys(j.stateDict)].sort();
          assert.deepEqual(Object.keys(ref.grads).sort(), expectedNames);
          assert.deepEqual(Object.keys(mine.grads).sort(), expectedNames);
          const dGrad = {};
          for (const name of expectedNames) {
            // RNN/LSTM: one library bias b = b_ih + b_hh; its gradient is exported as bias_ih (see libRun).
            const mineName = cellDef.cell !== 'gru' && name.includes('.bias_hh_') ? name.replace('.bias_hh_', '.bias_ih_') : name;
            dGrad[name] = maxRelDiff(mine.grads[mineName], ref.grads[name], `∂L/∂${name}`);
            // Not vacuous: every gradient is large enough for the 1e-4 tolerance to mean something.
            const size = Math.max(...[ref.grads[name]].flat(Infinity).map(Math.abs));
            assert.ok(size > 1e-2, `torch's ∂L/∂${name} is nearly zero (max ${size}); the case does not exercise it`);
          }
          const [worstName, worstGrad] = Object.entries(dGrad).reduce((a, b) => (b[1] > a[1] ? b : a));
          console.log(`${backend} ${cellDef.label} [${configLabel(cfg)}]: max|Δ| output ${dOut.toExponential(2)}, loss ${dLoss.toExponential(2)}, ` +
            `grads ${worstGrad.toExponential(2)} (worst ${worstName}; x ${dGrad.x.toExponential(2)})`);
          const key = `${backend} ${cellDef.label}`;
          const s = (summary[key] ??= { output: 0, grad: 0, gradName: '' });
          s.output = Math.max(s.output, dOut);
          if (worstGrad >= s.grad) Object.assign(s, { grad: worstGrad, gradName: `${worstName} [${configLabel(cfg)}]` });

          assert.ok(dOut <= OUT_TOL, `output differs from PyTorch by ${dOut} > ${OUT_TOL}`);
          assert.ok(dLoss <= OUT_TOL, `loss ${mine.loss} differs from PyTorch's ${ref.loss}`);
          for (const [name, d] of Object.entries(dGrad)) {
            assert.ok(d <= GRAD_TOL, `∂L/∂${name} differs from PyTorch by ${d} > ${GRAD_TOL}`);
          }
        } finally {
          c.model.dispose();
        }
      });
    });
  });
}

for (const backend of BACKENDS) {
  CELLS.forEach((cellDef, ci) => {
    test(`${backend}: ${cellDef.label}: loadTorchWeights(model2, torchWeights(model1)) predicts as model1`, async () => {
      await useBackend(backend);
      for (let gi = 0; gi < CONFIGS.length; gi++) {
        const c = makeCase(ci, gi);
        const other = cellDef.build(spec(ci, gi, c.seed + 7));   // different initial weights
        const x = tf.tensor3d(c.x);
        try {
          const y1 = c.model.predict(x);
          const y0 = other.predict(x);
          const before = maxRelDiff(y0.arraySync(), y1.arraySync(), 'prediction');
          assert.ok(before > 1e-3, `the second model should start different (max |Δ| ${before})`);
          lib.loadTorchWeights(other, lib.torchWeights(c.model));
          const y2 = other.predict(x);
          const d = maxRelDiff(y2.arraySync(), y1.arraySync(), 'prediction');
          assert.ok(d <= 1e-6, `${configLabel(CONFIGS[gi])}: round-tripped model predicts ${d} away from the original`);
          tf.dispose([y0, y1, y2]);
        } finally {
          x.dispose();
          c.model.dispose();
          other.dispose();
        }
      }
    });
  });
}

for (const backend of BACKENDS) {
  test(`${backend}: repeated predict + dispose leaves no tensors behind`, async () => {
    await useBackend(backend);
    CELLS.forEach((cellDef, ci) => {
      CONFIGS.forEach((cfg, gi) => {
        const c = makeCase(ci, gi);
        const x = tf.tensor3d(c.x);
        const start = tf.memory().numTensors;
        const counts = [];
        for (let k = 0; k < 5; k++) {
          c.model.predict(x).dispose();
          counts.push(tf.memory().numTensors);
        }
        assert.deepEqual(counts, Array(5).fill(start), `${cellDef.label} [${configLabel(cfg)}]: tensor count after each predict (started at ${start})`);
        x.dispose();
        c.model.dispose();
      });
    });
  });
}
