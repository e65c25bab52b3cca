// gradientStep, the library's one clipping path (train, clipByGlobalNorm and the hw3 reference use it):
// one SGD step's update is checked against an independent computation — tf.grads of the loss, the
// global norm in plain JavaScript float64, the clipping and the SGD update by hand — for clipNorm,
// clipValue and both, including gradients whose squares overflow float32 (entries ~3e19).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
const TOL = 1e-5;                                   // absolute on the weights (≈ 1), relative on the norms
const flat = (t) => Array.from(t.dataSync());
const maxDiff = (a, b) => Math.max(0, ...a.map((v, i) => Math.abs(v - b[i])));

const X = [[0.5, -1.2, 0.3], [1.1, 0.4, -0.7], [-0.9, 0.8, 1.5], [0.2, -0.3, -1.1]];   // [batch 4, features 3]
const Y = [[0.3, -0.5], [1.0, 0.2], [-0.4, 0.9], [0.1, -0.8]];                           // [batch 4, outputs 2]
const W0 = [[0.2, -0.4], [0.7, 0.1], [-0.3, 0.5]];                                        // [features 3, outputs 2]
const B0 = [0.05, -0.15];                                                                 // [outputs 2]
const C = [[1.0, -1.3], [0.4, 0.9], [-0.6, 1.2]];                                         // direction of the huge gradient

/** The two losses: a mean squared error, and `scale` · Σ C ⊙ W (gradient scale·C, b's gradient 0 + tiny mse). */
function lossOf(kind, W, b) {
  const mse = tf.mean(tf.square(tf.sub(tf.add(tf.matMul(tf.tensor2d(X), W), b), tf.tensor2d(Y))));
  return kind === 'mse' ? mse : tf.add(tf.mul(tf.sum(tf.mul(tf.tensor2d(C), W)), 3e19), mse);
}

/** The reference: tf.grads for the gradient, everything after it in float64 JavaScript. */
function reference(kind, clip, lr) {
  const [gW, gb] = tf.tidy(() => tf.grads((W, b) => lossOf(kind, W, b))([tf.tensor2d(W0), tf.tensor1d(B0)]).map(flat));
  let g = [gW, gb];
  const norm = Math.sqrt(g.flat().reduce((s, v) => s + v * v, 0));                   // float64: no overflow at 3e19
  if (clip.clipValue !== undefined) g = g.map((a) => a.map((v) => Math.min(clip.clipValue, Math.max(-clip.clipValue, v))));
  const normBefore = Math.sqrt(g.flat().reduce((s, v) => s + v * v, 0));
  if (clip.clipNorm !== undefined && normBefore > clip.clipNorm) g = g.map((a) => a.map((v) => v * clip.clipNorm / normBefore));
  const clippedNorm = Math.sqrt(g.flat().reduce((s, v) => s + v * v, 0));
  return { norm, clippedNorm, W: W0.flat().map((w, i) => w - lr * g[0][i]), b: B0.map((w, i) => w - lr * g[1][i]) };
}

function libraryStep(kind, clip, lr) {
  const W = tf.tidy(() => tf.variable(tf.tensor2d(W0), true));
  const b = tf.tidy(() => tf.variable(tf.tensor1d(B0), true));
  const opt = tf.train.sgd(lr);
  const { value, grads } = tf.variableGrads(() => lossOf(kind, W, b), [W, b]);
  const s = L.gradientStep(opt, grads, clip);
  tf.dispose([value, ...Object.values(grads)]);
  const out = { ...s, W: flat(W), b: flat(b) };
  tf.dispose([W, b]);
  opt.dispose();
  return out;
}

describe('gradientStep: one SGD step against tf.grads + float64 JS clipping + a manual update', () => {
  const cases = [
    ['mse', { clipNorm: 0.5 }, 'clipped by norm'],
    ['mse', { clipNorm: 100 }, 'norm below clipNorm: not clipped'],
    ['mse', { clipValue: 0.3 }, 'clipped by value'],
    ['mse', { clipValue: 0.3, clipNorm: 0.4 }, 'by value, then by norm'],
    ['mse', {}, 'no clipping'],
    ['huge', { clipNorm: 1 }, 'entries ~3e19 (squares overflow float32), clipped by norm'],
    ['huge', { clipValue: 0.5 }, 'entries ~3e19, clipped by value'],
    ['huge', { clipValue: 1e20, clipNorm: 2 }, 'entries ~3e19 under clipValue, then by norm'],
  ];
  for (const [kind, clip, what] of cases) {
    test(`${what} ${JSON.stringify(clip)}`, () => {
      const lr = 0.1;
      const before = tf.memory().numTensors;
      const got = libraryStep(kind, clip, lr);
      assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
      const exp = reference(kind, clip, lr);
      const relNorm = Math.abs(got.norm - exp.norm) / exp.norm;
      const relAfter = Math.abs(got.clippedNorm - exp.clippedNorm) / exp.clippedNorm;
      console.log(`  ${what}: ‖g‖ ${got.norm.toExponential(6)} (JS ${exp.norm.toExponential(6)}, rel ${relNorm.toExponential(1)}); after ${got.clippedNorm.toExponential(6)} (JS ${exp.clippedNorm.toExponential(6)}, rel ${relAfter.toExponential(1)})`);
      assert.ok(got.applied, 'the step was applied');
      assert.ok(Number.isFinite(got.norm) && relNorm <= TOL, `norm ${got.norm} vs JS float64 ${exp.norm}: relative difference ${relNorm} > ${TOL}`);
      assert.ok(relAfter <= TOL, `norm after clipping ${got.clippedNorm} vs JS ${exp.clippedNorm}: relative difference ${relAfter} > ${TOL}`);
      assert.equal(got.clipped, exp.clippedNorm < exp.norm, `clipped is ${got.clipped}; the JS norm went from ${exp.norm} to ${exp.clippedNorm}`);
      const w = [...got.W, ...got.b];
      assert.ok(w.every(Number.isFinite), `the updated weights must be finite; got ${w}`);
      const d = maxDiff(w, [...exp.W, ...exp.b]);
      assert.ok(d <= TOL, `updated weights differ from the manual SGD update by up to ${d} > ${TOL}`);
      if (kind === 'huge' && clip.clipNorm !== undefined) {
        // The reference moved the weights: a lost (Infinity → zero-scale or NaN) gradient would not.
        assert.ok(maxDiff(w, [...W0.flat(), ...B0]) > 0.01, 'the huge gradient was rescaled and applied, not dropped');
      }
    });
  }

  test('clipByGlobalNorm gives the same clipped gradients as gradientStep applies (one path)', () => {
    const before = tf.memory().numTensors;
    const W = tf.tidy(() => tf.variable(tf.tensor2d(W0), true));
    const b = tf.tidy(() => tf.variable(tf.tensor1d(B0), true));
    const { value, grads } = tf.variableGrads(() => lossOf('huge', W, b), [W, b]);
    const c = L.clipByGlobalNorm(grads, 1);
    const exp = reference('huge', { clipNorm: 1 }, 1);                          // lr 1: W0 − W = the clipped gradient
    const g = [...flat(c.grads[W.name]), ...flat(c.grads[b.name])];
    const want = [...W0.flat().map((w, i) => w - exp.W[i]), ...B0.map((w, i) => w - exp.b[i])];
    const d = maxDiff(g, want);
    assert.ok(c.clipped && d <= TOL, `clipByGlobalNorm's gradients differ from the JS clipping by ${d} > ${TOL} (clipped: ${c.clipped})`);
    tf.dispose([value, W, b, ...Object.values(grads), ...Object.values(c.grads)]);
    assert.equal(tf.memory().numTensors, before, 'no tensor leaks');
  });

  test('beforeApply returning false leaves the weights untouched; bad clip options are errors', () => {
    const W = tf.tidy(() => tf.variable(tf.tensor2d(W0), true));
    const opt = tf.train.sgd(0.1);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(W)), [W]);
    let seen;
    const s = L.gradientStep(opt, grads, { clipNorm: 1 }, (n) => { seen = n; return false; });
    assert.equal(s.applied, false);
    const jsNorm = Math.sqrt(W0.flat().reduce((t, v) => t + 4 * v * v, 0));   // ∂Σw²/∂w = 2w
    assert.ok(Math.abs(seen - jsNorm) / jsNorm <= TOL, `beforeApply saw ‖g‖ ${seen}, JS ${jsNorm}`);
    assert.deepEqual(flat(W), Array.from(Float32Array.from(W0.flat())), 'weights unchanged (bit for bit)');
    assert.throws(() => L.gradientStep(opt, grads, { clipNorm: 0 }), /gradientStep: clip\.clipNorm must be > 0; got 0/);
    assert.throws(() => L.gradientStep(opt, grads, { clipnorm: 1 }), /gradientStep.*clipNorm/);
    tf.dispose([value, W, ...Object.values(grads)]);
    opt.dispose();
  });
});
