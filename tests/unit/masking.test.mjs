// Variable-length sequences through the layers and models (issue 16): lengths and masks against
// PyTorch's packed sequences (tests/torch_packed.py, float64), against each sequence run alone
// (unpadded, batch of 1), through tf.layers' mask propagation (masking, embedding maskZero), through
// builder models (padId, model.apply(x, { mask }), forwardModel lengths), and the errors.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';
import * as ref from '../reference.mjs';

const L = lib();
const tf = getTf();
const MAKE = { rnn: L.rnnLayer, lstm: L.lstmLayer, gru: L.gruLayer };
const BACKENDS = ['cpu', 'wasm'];
const OUT_TOL = 1e-5;    // outputs and states: float32 against float64 (PyTorch) or float32 (alone)
const GRAD_TOL = 1e-4;   // input gradients; both relative to max(1, |reference|)

async function useBackend(name) {
  if (tf.getBackend() !== name) await L.initBackend({ backend: name, quiet: true });
  assert.equal(tf.getBackend(), name);
}

/** max |a − b| / max(1, |b|) over two equally shaped nested arrays (b: the reference). */
function maxRel(a, b, what) {
  const fa = [a].flat(Infinity);
  const fb = [b].flat(Infinity);
  assert.equal(fa.length, fb.length, `${what}: ${fa.length} values against the reference's ${fb.length}`);
  let worst = 0;
  for (let i = 0; i < fa.length; i++) {
    assert.ok(Number.isFinite(fa[i]), `${what}[${i}] is not finite: ${fa[i]}`);
    worst = Math.max(worst, Math.abs(fa[i] - fb[i]) / Math.max(1, Math.abs(fb[i])));
  }
  return worst;
}

/** Max |v| over x[b, t, :] for the padded steps t ≥ L_b of every row. */
function paddedMax(arr, lengths) {
  let m = 0;
  arr.forEach((row, b) => row.forEach((step, t) => { if (t >= lengths[b]) m = Math.max(m, ...[step].flat(Infinity).map(Math.abs)); }));
  return m;
}

/** A batch [b, T, m] of seeded values, exactly 0 at the padded steps (so tf.layers.masking finds them). */
function paddedBatch(rand, lengths, T, m) {
  return lengths.map((Lb) => Array.from({ length: T }, (_, t) => Array.from({ length: m }, () => (t < Lb ? 0.1 + 0.9 * rand() : 0) * (rand() < 0.5 ? -1 : 1))));
}

/** Build a layer by a first eager call (so that layer.dispose() frees its weights afterwards). */
function ready(layer, m) {
  tf.tidy(() => { layer.apply(tf.zeros([1, 1, m])); });
  return layer;
}

/** Write seeded values into every trainable weight (biases and learned states too). */
function randomize(weights, seed, scale = 0.7) {
  const rand = ref.seeded(seed);
  for (const w of weights) {
    const t = tf.tensor(ref.randArray(rand, w.shape, scale).flat(Infinity), w.shape);
    w.write(t);
    t.dispose();
  }
}

// ---------------------------------------------------------------------------------------------
// 1. Against PyTorch's pack_padded_sequence(enforce_sorted=False).
const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(ROOT, 'tests', 'torch_packed.py');
const probe = spawnSync(PYTHON, ['-c', 'import torch'], { encoding: 'utf8' });
const HAVE_TORCH = probe.status === 0;

function needTorch(t) {
  if (HAVE_TORCH) return true;
  const msg = `PyTorch is not available to ${PYTHON}; install Debian's python3-torch to cross-check padded batches against pack_padded_sequence`;
  if (process.env.CI === 'true') throw new Error(`${msg} (CI=true: a missing prerequisite is a failure)`);
  t.skip(msg);
  return false;
}

function runTorch(jobs) {
  return new Promise((resolve, reject) => {
    const p = spawn(PYTHON, [SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'], timeout: 60_000, env: { ...process.env, OMP_NUM_THREADS: '1' } });
    let out = '';
    let err = '';
    p.stdout.setEncoding('utf8').on('data', (d) => { out += d; });
    p.stderr.setEncoding('utf8').on('data', (d) => { err += d; });
    p.on('error', reject);
    p.on('close', (code) => {
      if (code !== 0) return reject(new Error(`torch_packed.py failed (exit ${code}):\n${err}`));
      try { resolve(JSON.parse(out)); } catch (e) { reject(new Error(`torch_packed.py wrote non-JSON: ${out.slice(0, 300)}`)); }
    });
    p.stdin.on('error', () => {});
    p.stdin.end(JSON.stringify(jobs));
  });
}

const SIZES = { inputSize: 3, hiddenSize: 4 };
const T_TORCH = 5;
const LENGTHS = [3, 5, 1, 4];   // unsorted, with 1 and T
const TORCH_CELLS = [
  { cell: 'rnn', build: L.buildRNN, extra: {} },
  { cell: 'lstm', build: L.buildLSTM, extra: {} },
  { cell: 'gru', build: L.buildGRU, extra: { resetAfter: true } },
];
const TORCH_CONFIGS = [
  { numLayers: 1, bidirectional: false }, { numLayers: 1, bidirectional: true },
  { numLayers: 2, bidirectional: false }, { numLayers: 2, bidirectional: true },
];
const cfgLabel = (c) => `L=${c.numLayers} ${c.bidirectional ? 'bidirectional' : 'unidirectional'}`;

/** The case: a builder model with seeded weights (for torchWeights), the padded input and the cotangents. */
function torchCase(ci, gi) {
  const seed = 500 + 10 * ci + gi;
  const { cell, build, extra } = TORCH_CELLS[ci];
  const cfg = TORCH_CONFIGS[gi];
  const model = build({ ...SIZES, outputSize: 2, topology: 'many-to-many', ...cfg, ...extra, seed, impl: 'reference' });
  randomize(model.trainableWeights, seed, 0.8);
  const rand = ref.seeded(seed + 1);
  const dirs = cfg.bidirectional ? 2 : 1;
  const n = SIZES.hiddenSize;
  const B = LENGTHS.length;
  const x = paddedBatch(rand, LENGTHS, T_TORCH, SIZES.inputSize);
  const gOut = ref.randArray(rand, [B, T_TORCH, n * dirs], 1);
  const gH = ref.randArray(rand, [cfg.numLayers * dirs, B, n], 1);
  const gC = ref.randArray(rand, [cfg.numLayers * dirs, B, n], 1);
  return { ci, gi, cell, cfg, extra, model, x, gOut, gH, gC, dirs };
}

function torchJob(c) {
  return { cell: c.cell, ...SIZES, ...c.cfg, stateDict: L.torchWeights(c.model), x: c.x, lengths: LENGTHS, gOut: c.gOut, gH: c.gH, gC: c.gC };
}

/**
 * The library's output, final states and ∂loss/∂x through a stack of layers called with `lengths`,
 * each a copy of the builder's layer with returnSequences and returnState (so every layer's final
 * states come out of call(), the path that predict and fit run). impl undefined: the default path.
 */
function layerStackRun(c, impl) {
  const before = tf.memory().numTensors;
  const layers = L.recurrentLayers(c.model).map((src) => {
    const Layer = L.layerClass(c.cell);
    const layer = new Layer({ units: SIZES.hiddenSize, returnSequences: true, returnState: true, bidirectional: c.cfg.bidirectional, ...c.extra, ...(impl ? { impl } : {}) });
    ready(layer, src.inputSize);
    layer.setWeights(src.getWeights());
    return layer;
  });
  const k = c.cell === 'lstm' ? 2 : 1;
  const x = tf.tensor3d(c.x);
  const xv = tf.variable(x);
  const [gOut, gH, gC] = [tf.tensor(c.gOut), tf.tensor(c.gH), tf.tensor(c.gC)];
  const forward = () => {
    let h = xv;
    const hs = [];
    const cs = [];
    for (const layer of layers) {
      const [out, ...states] = layer.apply(h, { lengths: LENGTHS });
      h = out;
      for (let d = 0; d < c.dirs; d++) { hs.push(states[d * k]); if (k === 2) cs.push(states[d * k + 1]); }
    }
    return { out: h, h: tf.stack(hs), c: k === 2 ? tf.stack(cs) : null };   // [L·dirs, b, n] as torch's h_n
  };
  const { value, grads } = tf.variableGrads(() => {
    const r = forward();
    let loss = tf.add(tf.sum(tf.mul(r.out, gOut)), tf.sum(tf.mul(r.h, gH)));
    if (r.c) loss = tf.add(loss, tf.sum(tf.mul(r.c, gC)));
    return loss;
  }, [xv]);
  const res = tf.tidy(() => { const r = forward(); return { output: r.out.arraySync(), h: r.h.arraySync(), c: r.c?.arraySync() }; });
  res.gx = grads[xv.name].arraySync();
  tf.dispose([x, xv, gOut, gH, gC, value, ...Object.values(grads)]);
  layers.forEach((l) => l.dispose());
  res.leaked = tf.memory().numTensors - before;
  return res;
}

let torchJobs;
let torchResults;
const torchSummary = [];
before(async () => {
  await useBackend('cpu');
  if (!HAVE_TORCH) return;
  torchJobs = [];
  TORCH_CELLS.forEach((_, ci) => TORCH_CONFIGS.forEach((__, gi) => {
    const c = torchCase(ci, gi);
    torchJobs.push(torchJob(c));
    c.model.dispose();
  }));
  torchResults = runTorch(torchJobs);
  torchResults.catch(() => {});
});
after(() => {
  if (torchSummary.length === 0) return;
  const worst = (key) => Math.max(...torchSummary.map((s) => s[key]));
  console.log(`against pack_padded_sequence (${torchSummary.length} runs): max output/state |Δ| ${worst('out').toExponential(2)}, max ∂/∂x |Δ| ${worst('grad').toExponential(2)} (relative to max(1, |torch|))`);
});

for (const backend of BACKENDS) {
  describe(`against PyTorch packed sequences on ${backend}`, () => {
    TORCH_CELLS.forEach((cellDef, ci) => TORCH_CONFIGS.forEach((cfg, gi) => {
      for (const impl of ['reference', undefined]) {
        const label = `${cellDef.cell}${cellDef.extra.resetAfter ? ' resetAfter' : ''} ${cfgLabel(cfg)} ${impl ?? 'default path'}`;
        test(`${backend}: ${label}, lengths ${LENGTHS}: outputs, h_n (c_n) 1e-5 and ∂/∂x 1e-4 against pack_padded_sequence`, async (t) => {
          if (!needTorch(t)) return;
          await useBackend(backend);
          const c = torchCase(ci, gi);
          try {
            const j = torchJob(c);
            assert.deepEqual(j.x, torchJobs[ci * TORCH_CONFIGS.length + gi].x, 'the case is rebuilt with the same data');
            const r = (await torchResults)[ci * TORCH_CONFIGS.length + gi];
            const mine = layerStackRun(c, impl);
            assert.equal(mine.leaked, 0, `the forward and gradient pass left ${mine.leaked} tensors`);
            const dOut = maxRel(mine.output, r.output, 'output');
            const dH = maxRel(mine.h, r.h, 'h_n');
            const dC = r.c ? maxRel(mine.c, r.c, 'c_n') : 0;
            const dG = maxRel(mine.gx, r.gx, '∂loss/∂x');
            const padOut = paddedMax(mine.output, LENGTHS);
            const padGrad = paddedMax(mine.gx, LENGTHS);
            console.log(`  ${backend} ${label}: output ${dOut.toExponential(2)}, h_n ${dH.toExponential(2)}, c_n ${dC.toExponential(2)}, ∂/∂x ${dG.toExponential(2)}; padded |out| ${padOut}, padded |∂/∂x| ${padGrad}`);
            torchSummary.push({ out: Math.max(dOut, dH, dC), grad: dG });
            assert.ok(dOut <= OUT_TOL, `output differs from PyTorch by ${dOut} > ${OUT_TOL}`);
            assert.ok(dH <= OUT_TOL, `h_n differs from PyTorch by ${dH} > ${OUT_TOL}`);
            assert.ok(dC <= OUT_TOL, `c_n differs from PyTorch by ${dC} > ${OUT_TOL}`);
            assert.ok(dG <= GRAD_TOL, `∂loss/∂x differs from PyTorch by ${dG} > ${GRAD_TOL}`);
            assert.equal(padOut, 0, 'outputs at padded steps are 0');
            assert.equal(padGrad, 0, 'padded steps get zero input gradient');
            // Not vacuous: the gradient reaches the real steps.
            assert.ok(Math.max(...[r.gx].flat(Infinity).map(Math.abs)) > 1e-2, 'torch ∂/∂x is not negligible');

            if (impl === 'reference') {
              // forwardModel on the builder model: the final states of every layer from forwardSequence.
              const x = tf.tensor3d(c.x);
              const fm = L.forwardModel(c.model, x, { lengths: LENGTHS });
              const k = c.cell === 'lstm' ? 2 : 1;
              const hs = fm.finalStates.flatMap((st) => Array.from({ length: c.dirs }, (_, d) => st[d * k].arraySync()));
              const dFm = maxRel(hs, r.h, 'forwardModel h_n');
              console.log(`  ${backend} ${label}: forwardModel(…, { lengths }) final h max |Δ| ${dFm.toExponential(2)}`);
              assert.ok(dFm <= OUT_TOL, `forwardModel's final h differs from PyTorch's h_n by ${dFm}`);
              tf.dispose([x, fm.output, ...fm.finalStates.flat(), ...fm.layers.flatMap((l) => l.directions.flatMap((d) => [...d.h, ...(d.c ?? [])]))]);
            }
          } finally {
            c.model.dispose();
          }
        });
      }
    }));
  });
}

// ---------------------------------------------------------------------------------------------
// 2. A padded batch equals each sequence run alone (no padding, batch of 1).
const ALONE_CASES = [
  ['rnn', { returnSequences: true }],
  ['lstm', { bidirectional: true, returnSequences: true, returnState: true }],
  ['gru', { goBackwards: true, returnSequences: true, resetAfter: true }],
  ['lstm', { goBackwards: true, bidirectional: true, returnSequences: true, returnState: true }],
  ['gru', { bidirectional: true, returnState: true }],
  ['lstm', { initialState: 'learned', returnSequences: true }],
  ['rnn', { bidirectional: true, initialState: 'learned' }],
];
const ALONE_LENGTHS = [4, 1, 6, 2, 5];
const T_ALONE = 6;
const M_ALONE = 3;

/** Outputs (list) and ∂(Σ outᵢ·gᵢ)/∂x of layer on x with kwargs; g: one cotangent per output. */
function outsAndGrad(layer, x, kwargs, gs) {
  const xv = tf.variable(x);
  const { value, grads } = tf.variableGrads(() => {
    const o = layer.apply(xv, kwargs);
    const list = Array.isArray(o) ? o : [o];
    return tf.addN(list.map((t, i) => tf.sum(tf.mul(t, gs[i]))));
  }, [xv]);
  const outs = tf.tidy(() => { const o = layer.apply(x, kwargs); return (Array.isArray(o) ? o : [o]).map((t) => t.arraySync()); });
  const gx = grads[xv.name].arraySync();
  tf.dispose([xv, value, ...Object.values(grads)]);
  return { outs, gx };
}

for (const backend of BACKENDS) {
  describe(`a padded batch equals each sequence alone on ${backend}`, () => {
    before(async () => { await useBackend(backend); });
    for (const [kind, opts] of ALONE_CASES) {
      for (const impl of ['reference', 'fused']) {
        test(`${backend} ${impl}: ${kind} ${JSON.stringify(opts)} with a bool mask (outputs 1e-5, ∂/∂x 1e-4; padded steps 0 and zero gradient; no leak)`, () => {
          const layer = MAKE[kind]({ units: 4, ...opts, impl, seed: 3 });
          ready(layer, M_ALONE);
          randomize(layer.trainableWeights, 11);
          const rand = ref.seeded(12);
          const xs = paddedBatch(rand, ALONE_LENGTHS, T_ALONE, M_ALONE);
          const x = tf.tensor3d(xs);
          const mask = tf.tensor2d(ALONE_LENGTHS.map((Lb) => Array.from({ length: T_ALONE }, (_, t) => (t < Lb ? 1 : 0))), undefined, 'bool');
          const shapes = [].concat(layer.computeOutputShape([ALONE_LENGTHS.length, T_ALONE, M_ALONE]));
          const shapeList = Array.isArray(shapes[0]) ? shapes : [shapes];
          const gArr = shapeList.map((s) => ref.randArray(rand, s, 1));
          const gs = gArr.map((a) => tf.tensor(a));
          const run = () => outsAndGrad(layer, x, { mask }, gs);
          run();                                                  // warm-up (kernels, caches)
          const start = tf.memory().numTensors;
          const padded = run();
          assert.equal(tf.memory().numTensors, start, 'a masked call and its gradient leave no tensors');
          let dOut = 0;
          let dGrad = 0;
          ALONE_LENGTHS.forEach((Lb, b) => {
            const xb = tf.tensor3d([xs[b].slice(0, Lb)]);
            // The row's own cotangents: its sequence outputs cut to its length.
            const gb = gArr.map((a, i) => tf.tensor([opts.returnSequences && i === 0 ? a[b].slice(0, Lb) : a[b]]));
            const alone = outsAndGrad(layer, xb, {}, gb);
            padded.outs.forEach((o, i) => {
              const mineRow = opts.returnSequences && i === 0 ? o[b].slice(0, Lb) : o[b];
              dOut = Math.max(dOut, maxRel(mineRow, alone.outs[i][0], `output ${i} row ${b}`));
            });
            dGrad = Math.max(dGrad, maxRel(padded.gx[b].slice(0, Lb), alone.gx[0], `∂/∂x row ${b}`));
            tf.dispose([xb, ...gb]);
          });
          const padOut = opts.returnSequences ? paddedMax(padded.outs[0], ALONE_LENGTHS) : 0;
          const padGrad = paddedMax(padded.gx, ALONE_LENGTHS);
          // Not vacuous: without the mask the padding changes the outputs or the gradients.
          const unmasked = outsAndGrad(layer, x, {}, gs);
          const dUnmasked = Math.max(maxRel(unmasked.outs, padded.outs, 'unmasked outputs'), maxRel(unmasked.gx, padded.gx, 'unmasked ∂/∂x'));
          console.log(`  ${backend} ${impl} ${kind} ${JSON.stringify(opts)}: vs alone outputs ${dOut.toExponential(2)}, ∂/∂x ${dGrad.toExponential(2)}; padded |out| ${padOut}, |∂/∂x| ${padGrad}; unmasked differs by ${dUnmasked.toExponential(2)}`);
          assert.ok(dOut <= OUT_TOL, `outputs differ from each sequence alone by ${dOut} > ${OUT_TOL}`);
          assert.ok(dGrad <= GRAD_TOL, `∂/∂x differs from each sequence alone by ${dGrad} > ${GRAD_TOL}`);
          assert.equal(padOut, 0, 'outputs at padded steps are 0');
          assert.equal(padGrad, 0, 'padded steps get zero input gradient');
          assert.ok(dUnmasked > 1e-3, `the padding should matter without the mask (differs by ${dUnmasked})`);
          tf.dispose([x, mask, ...gs]);
          layer.dispose();
        });
      }
    }

    test(`${backend}: lengths all equal to T give exactly the unmasked result (the old code path)`, () => {
      for (const [kind, opts] of ALONE_CASES) {
        const layer = MAKE[kind]({ units: 4, ...opts, impl: 'reference', seed: 3 });
        const x = tf.tensor3d(ref.randArray(ref.seeded(5), [3, 4, 2]));
        const a = tf.tidy(() => [].concat(layer.apply(x)).map((t) => t.arraySync()));
        const b = tf.tidy(() => [].concat(layer.apply(x, { lengths: [4, 4, 4], mask: tf.ones([3, 4]) })).map((t) => t.arraySync()));
        assert.deepEqual(b, a, `${kind} ${JSON.stringify(opts)}`);
        x.dispose();
        layer.dispose();
      }
    });
  });
}

// ---------------------------------------------------------------------------------------------
// 3. tf.layers' own masks reach the layer; builder models.
describe('masks from tf.layers and builder models', () => {
  before(async () => { await useBackend('cpu'); });

  test('tf.sequential with tf.layers.masking({ maskValue: 0 }) before two rnn-lab layers equals passing lengths (1e-6)', () => {
    const lengths = [2, 5, 3];
    const [T, m] = [5, 3];
    const x = tf.tensor3d(paddedBatch(ref.seeded(21), lengths, T, m));
    const first = L.lstmLayer({ units: 4, returnSequences: true, bidirectional: true, seed: 4 });
    const second = L.gruLayer({ units: 3, resetAfter: true, seed: 5 });
    const model = tf.sequential({ layers: [tf.layers.masking({ maskValue: 0, inputShape: [T, m] }), first, second] });
    const y = model.predict(x);
    const direct = tf.tidy(() => second.apply(first.apply(x, { lengths }), { lengths }));
    const unmasked = tf.tidy(() => second.apply(first.apply(x)));
    const d = ref.maxDiff(y.arraySync(), direct.arraySync());
    const dUn = ref.maxDiff(unmasked.arraySync(), direct.arraySync());
    console.log(`  masking layer vs lengths: max |Δ| ${d.toExponential(2)}; unmasked differs by ${dUn.toExponential(2)}`);
    assert.ok(d <= 1e-6, `masking layer vs lengths: ${d}`);
    assert.ok(dUn > 1e-3, `the mask should matter (${dUn})`);
    tf.dispose([x, y, direct, unmasked]);
    model.dispose();
  });

  test('tf.sequential with tf.layers.embedding({ maskZero: true }) before an rnn-lab layer equals passing lengths (1e-6)', () => {
    const ids = [[3, 1, 0, 0], [2, 5, 4, 1], [5, 0, 0, 0]];
    const lengths = [2, 4, 1];
    const rnn = L.rnnLayer({ units: 4, returnSequences: true, bidirectional: true, seed: 6 });
    const emb = tf.layers.embedding({ inputDim: 6, outputDim: 3, maskZero: true, inputLength: 4 });
    const model = tf.sequential({ layers: [emb, rnn] });
    const x = tf.tensor2d(ids);
    const y = model.predict(x);
    const direct = tf.tidy(() => rnn.apply(emb.apply(x), { lengths }));
    const d = ref.maxDiff(y.arraySync(), direct.arraySync());
    console.log(`  embedding maskZero vs lengths: max |Δ| ${d.toExponential(2)}`);
    assert.ok(d <= 1e-6, `embedding maskZero vs lengths: ${d}`);
    assert.equal(paddedMax(y.arraySync(), lengths), 0, 'padded steps are 0');
    tf.dispose([x, y, direct]);
    model.dispose();
  });

  test('computeMask: the input mask passes on with returnSequences, null without; a list with returnState', () => {
    const m = tf.ones([2, 3], 'bool');
    const x = tf.ones([2, 3, 1]);
    assert.equal(L.lstmLayer({ units: 2, returnSequences: true }).computeMask(x, m), m);
    assert.equal(L.lstmLayer({ units: 2 }).computeMask(x, m), null);
    assert.deepEqual(L.lstmLayer({ units: 2, returnSequences: true, returnState: true, bidirectional: true }).computeMask(x, [m]), [m, null, null, null, null]);
    assert.deepEqual(L.gruLayer({ units: 2, returnState: true }).computeMask(x, m), [null, null]);
    assert.equal(L.gruLayer({ units: 2 }).supportsMasking, true);
    tf.dispose([m, x]);
  });

  test('a token model built with padId equals running each sequence alone (predict and forwardModel; 1e-5)', () => {
    const ids = [[3, 1, 4, 0, 0], [2, 5, 4, 1, 6], [5, 0, 0, 0, 0], [1, 2, 0, 0, 0]];
    const lengths = [3, 5, 1, 2];
    for (const [build, spec] of [
      [L.buildGRU, { topology: 'many-to-many', bidirectional: true, numLayers: 2, resetAfter: true }],
      [L.buildLSTM, { topology: 'many-to-one', numLayers: 2 }],
    ]) {
      const model = build({ vocabSize: 7, embeddingSize: 3, hiddenSize: 4, outputSize: 2, padId: 0, seed: 8, impl: 'reference', ...spec });
      randomize(model.trainableWeights, 9);
      const before = tf.memory().numTensors;
      const x = tf.tensor2d(ids);
      const yt = model.predict(x);
      const y = yt.arraySync();
      yt.dispose();
      const fm = L.forwardModel(model, x);
      const fmOut = fm.output.arraySync();
      const finals = fm.finalStates.map((st) => st.map((t) => t.arraySync()));
      let d = 0;
      let dFm = 0;
      lengths.forEach((Lb, b) => {
        const xb = tf.tensor2d([ids[b].slice(0, Lb)]);
        const yb = model.predict(xb);
        const fb = L.forwardModel(model, xb);
        const mine = spec.topology === 'many-to-many' ? y[b].slice(0, Lb) : y[b];
        d = Math.max(d, maxRel(mine, yb.arraySync()[0], `row ${b}`));
        dFm = Math.max(dFm, maxRel(finals.map((st) => st.map((s) => s[b])), fb.finalStates.map((st) => st.map((t) => t.arraySync()[0])), `final states row ${b}`));
        tf.dispose([xb, yb, fb.output, ...fb.finalStates.flat(), ...fb.layers.flatMap((l) => l.directions.flatMap((dd) => [...dd.h, ...(dd.c ?? [])]))]);
      });
      assert.ok(ref.maxDiff(fmOut, y) <= 1e-6, 'forwardModel and predict agree');
      tf.dispose([x, fm.output, ...fm.finalStates.flat(), ...fm.layers.flatMap((l) => l.directions.flatMap((dd) => [...dd.h, ...(dd.c ?? [])]))]);
      assert.equal(tf.memory().numTensors, before, 'predict and forwardModel on a padded batch leave no tensors');
      console.log(`  ${model.name} padId: predict vs alone ${d.toExponential(2)}, forwardModel final states vs alone ${dFm.toExponential(2)}`);
      assert.ok(d <= OUT_TOL, `predict vs alone: ${d}`);
      assert.ok(dFm <= OUT_TOL, `forwardModel final states vs alone: ${dFm}`);
      model.dispose();
    }
  });

  test('a feature model: model.apply(x, { mask }) and forwardModel(x, { lengths }) equal each sequence alone (1e-5)', () => {
    const lengths = [2, 4, 3];
    const xs = paddedBatch(ref.seeded(31), lengths, 4, 2);
    const model = L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 1, numLayers: 2, bidirectional: true, seed: 3, impl: 'reference' });
    randomize(model.trainableWeights, 32);
    const x = tf.tensor3d(xs);
    const mask = tf.tensor2d(lengths.map((Lb) => [0, 1, 2, 3].map((t) => (t < Lb ? 1 : 0))));
    const applied = tf.tidy(() => model.apply(x, { mask }).arraySync());
    const fm = L.forwardModel(model, x, { lengths });
    let d = 0;
    lengths.forEach((Lb, b) => {
      const yb = tf.tidy(() => model.predict(tf.tensor3d([xs[b].slice(0, Lb)])).arraySync()[0]);
      d = Math.max(d, maxRel(applied[b], yb, `apply row ${b}`), maxRel(fm.output.arraySync()[b], yb, `forwardModel row ${b}`));
    });
    console.log(`  feature model: apply({ mask }) and forwardModel({ lengths }) vs alone ${d.toExponential(2)}`);
    assert.ok(d <= OUT_TOL, `vs alone: ${d}`);
    tf.dispose([x, mask, fm.output, ...fm.finalStates.flat(), ...fm.layers.flatMap((l) => l.directions.flatMap((dd) => [...dd.h, ...(dd.c ?? [])]))]);
    model.dispose();
  });
});

// ---------------------------------------------------------------------------------------------
// 4. Errors: each names the function, the argument, the row and what was expected.
describe('bad lengths, masks and padding', () => {
  before(async () => { await useBackend('cpu'); });

  test('layer.apply and forwardSequence: bad masks, lengths 0 or > T, wrong count, disagreement', () => {
    const layer = L.gruLayer({ units: 2, name: 'g', returnSequences: true });
    const x = tf.ones([2, 4, 1]);
    const cases = [
      [{ mask: tf.tensor2d([[1, 0, 1, 0], [1, 1, 1, 1]]) }, /g\.apply: mask row 0 must be 1s followed by 0s \(padding at the end\); step 2 is 1 after a 0 at step 1/],
      [{ mask: tf.tensor2d([[1, 1, 1, 1], [0, 0, 0, 0]]) }, /g\.apply: mask row 1 has no real step/],
      [{ mask: tf.ones([2, 3]) }, /g\.apply: mask must have shape \[batch, time\] = \[2, 4\].*got \[2, 3\]/],
      [{ lengths: [0, 4] }, /g\.apply: lengths\[0\] must be an integer from 1 to T = 4.*got 0/],
      [{ lengths: [2, 5] }, /g\.apply: lengths\[1\] must be an integer from 1 to T = 4.*got 5/],
      [{ lengths: [2, 3, 4] }, /g\.apply: lengths has 3 lengths but the batch \[batch, time, features\] has 2 sequences/],
      [{ lengths: [2, 3], mask: tf.tensor2d([[1, 1, 0, 0], [1, 1, 0, 0]]) }, /g\.apply: lengths and mask disagree at row 1: lengths\[1\] = 3, the mask has 2 real steps/],
      [{ length: [2, 3] }, /g\.apply.*'length'.*did you mean 'lengths'/],
    ];
    for (const [kwargs, msg] of cases) assert.throws(() => layer.apply(x, kwargs), msg);
    assert.throws(() => layer.forwardSequence(x, { lengths: [4, 0] }), /g\.forwardSequence: lengths\[1\] must be an integer from 1 to T = 4/);
    assert.throws(() => layer.forwardSequence(x, { mask: tf.tensor2d([[0, 1, 1, 1], [1, 1, 1, 1]]) }), /g\.forwardSequence: mask row 0/);
    x.dispose();
  });

  test('forwardModel and builder token models: padding not at the end, all-padding rows, bad padId', () => {
    const model = L.buildGRU({ vocabSize: 5, hiddenSize: 2, outputSize: 1, padId: 0 });
    assert.throws(() => model.predict(tf.tensor2d([[1, 2, 0], [1, 0, 3]])), /embedding: the input: row 1 of the \[batch, time\] token ids has padId 0 at step 1 and then token 3 at step 2; padding goes at the end/);
    assert.throws(() => model.predict(tf.tensor2d([[0, 0, 0], [1, 2, 0]])), /row 0 of the \[batch, time\] token ids is all padding \(padId 0\)/);
    assert.throws(() => L.forwardModel(model, tf.tensor2d([[1, 2, 0], [1, 0, 0]]), { lengths: [2, 2] }), /forwardModel: lengths and the padding of x disagree at row 1: 2 real steps given, x has 1 tokens before padId 0/);
    const feat = L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1 });
    assert.throws(() => L.forwardModel(feat, tf.ones([2, 3, 1]), { lengths: [3, 4] }), /forwardModel: lengths\[1\] must be an integer from 1 to T = 3/);
    assert.throws(() => L.forwardModel(feat, tf.ones([2, 3, 1]), { lenghts: [3, 3] }), /forwardModel.*did you mean 'lengths'/);
    assert.throws(() => L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1, padId: 0 }), /buildRNN: spec\.padId marks padding in token ids, so it needs spec\.vocabSize/);
    assert.throws(() => L.buildRNN({ vocabSize: 4, hiddenSize: 2, outputSize: 1, padId: 4 }), /buildRNN: spec\.padId must be a token id in \[0, vocabSize = 4\); got 4/);
    const otm = L.buildRNN({ inputSize: 2, hiddenSize: 2, outputSize: 1, topology: 'one-to-many', sequenceLength: 3 });
    assert.throws(() => L.forwardModel(otm, tf.ones([2, 2]), { lengths: [1, 2] }), /forwardModel: lengths and mask describe padded sequences; a one-to-many model's input x is one vector/);
    [model, feat, otm].forEach((m) => m.dispose());
  });
});
