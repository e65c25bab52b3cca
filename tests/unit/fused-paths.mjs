// Shared by the tests that hold train's fused training step (src/fused/train-step.ts) against its tf.js
// step (tests/unit/fused-step.test.mjs, dropout-fused-step.test.mjs): the same model, data, seed and
// options trained once per path, and the comparison with the tolerances — each step's loss to 1e-5
// relative, gradient norms (before and after clipping, and per parameter) to 1e-4 relative, every weight to
// 1e-4 relative (to its matrix's largest entry) after 20 steps; and the layers' dropout counters advance
// alike (with dropout, one draw per step).
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

export const N = 40, T = 9, M = 3;

/** Data for a spec: x [N, T, M], targets fitting its head, and lengths 1..T (incl. 1 and T) when asked. */
export function dataFor(spec, withLengths, seed = 7) {
  const perStep = spec.topology === 'many-to-many';
  const k = spec.outputSize;
  const x = tf.randomNormal([N, T, M], 0, 1, 'float32', seed);
  let y;
  if (spec.outputActivation === 'softmax') y = tf.randomUniform(perStep ? [N, T] : [N], 0, k, 'int32', seed + 1);
  else if (spec.outputActivation === 'sigmoid') y = tf.tidy(() => tf.cast(tf.greater(tf.randomNormal(perStep ? [N, T, k] : [N, k], 0, 1, 'float32', seed + 1), 0), 'float32'));
  else y = tf.randomNormal(perStep ? [N, T, k] : [N, k], 0, 1, 'float32', seed + 1);
  const lengths = withLengths ? Array.from({ length: N }, (_, i) => (i === 0 ? T : 1 + ((i * 5) % T))) : undefined;
  return { x, y, ...(lengths ? { lengths } : {}) };
}

/** The dropout counters of a model's layers, by name (none without dropout). */
export const counters = (model) => Object.fromEntries(model.layers.filter((l) => typeof l.dropoutCalls === 'number').map((l) => [l.name, l.dropoutCalls]));

/**
 * Train one model per path (`fusedStep: false`, then `true`), each built with `seed` (the same initial
 * weights and dropout streams), 4 epochs of batches of 8 unless `options` says otherwise. Returns, per path,
 * train's result, the final weights (values and names) and the dropout counters.
 */
export async function bothPaths(cell, spec, data, options, seed = 5) {
  const out = {};
  for (const fusedStep of [false, true]) {
    const model = L.buildModel(cell, { ...spec, seed });
    const r = await L.train(model, data, { epochs: 4, batchSize: 8, verbose: false, ...options, fusedStep });
    out[fusedStep ? 'fused' : 'ops'] = { r, weights: model.getWeights().map((w) => w.dataSync().slice()), names: model.getWeights().map((w) => w.name), counters: counters(model) };
    model.dispose();
  }
  return out;
}

/** Compare the two paths of {@link bothPaths} (20 steps each); returns the largest relative differences. */
export function compare(out, what) {
  const { ops, fused } = out;
  assert.equal(fused.r.stepPath, 'fused', `${what}: ${fused.r.stepPathReason}`);
  assert.equal(ops.r.stepPath, 'tf.js');
  assert.equal(fused.r.steps.length, 20, `${what}: 20 steps`);
  assert.equal(ops.r.steps.length, 20);
  let dLoss = 0, dNorm = 0, dW = 0;
  fused.r.steps.forEach((s, i) => {
    const o = ops.r.steps[i];
    dLoss = Math.max(dLoss, Math.abs(s.loss - o.loss) / Math.abs(o.loss));
    dNorm = Math.max(dNorm, Math.abs(s.gradNorm - o.gradNorm) / Math.abs(o.gradNorm), Math.abs(s.clippedNorm - o.clippedNorm) / Math.abs(o.clippedNorm));
    assert.equal(s.clipped, o.clipped, `${what}: step ${i} clipped flag`);
    for (const [name, v] of Object.entries(o.paramNorms)) {
      assert.ok(Math.abs(s.paramNorms[name] - v) <= 1e-4 * Math.max(v, 1e-6), `${what}: step ${i} ‖g‖ of ${name}: fused ${s.paramNorms[name]} vs ${v}`);
    }
  });
  ops.weights.forEach((w, i) => {
    let diff = 0, scale = 0;
    w.forEach((v, j) => { diff = Math.max(diff, Math.abs(v - fused.weights[i][j])); scale = Math.max(scale, Math.abs(v)); });
    dW = Math.max(dW, diff / scale);
  });
  assert.ok(dLoss <= 1e-5, `${what}: max relative loss difference ${dLoss.toExponential(2)} (tolerance 1e-5)`);
  assert.ok(dNorm <= 1e-4, `${what}: max relative gradient-norm difference ${dNorm.toExponential(2)} (tolerance 1e-4)`);
  assert.ok(dW <= 1e-4, `${what}: max relative weight difference after 20 steps ${dW.toExponential(2)} (tolerance 1e-4)`);
  // The steps moved the weights: a step that did nothing on both paths would pass the comparison.
  assert.ok(Math.abs(fused.r.steps[0].loss - fused.r.steps.at(-1).loss) > 0, `${what}: the loss changed over 20 steps`);
  assert.deepEqual(fused.counters, ops.counters, `${what}: dropoutCalls advance alike on both paths`);
  // A model with dropout: every layer that draws masks draws once per step (without dropout none draws).
  if (Object.values(ops.counters).some((c) => c > 0)) {
    for (const [name, c] of Object.entries(fused.counters)) assert.equal(c, 20, `${what}: layer ${name} drew masks once per step`);
  }
  return { dLoss, dNorm, dW };
}
