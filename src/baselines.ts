/**
 * Trivial baselines for the lessons' claims of learning. A trained model is only interesting when it
 * beats the best predictor that could be written down without learning anything from the inputs:
 * a constant fitted on the training targets, or, for a series, the last value or a linear
 * autoregression. Both are fitted on training data only and scored on held-out data.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { checkAlive, checkFinite, shapeText } from './inputs';
import { describe } from './describe';

/** What {@link constantBaseline} returns. */
export interface ConstantBaseline {
  /** The baseline's loss on the test targets (mean squared error, or mean cross-entropy in nats). */
  loss: number;
  /** The constant prediction: per-position means (mse) or class probabilities (crossEntropy), shape of one target (plus classes). */
  prediction: number[];
  /** 'mean' (mse) or 'class frequencies' (crossEntropy). */
  kind: 'mean' | 'class frequencies';
}

function tensorArg(where: string, name: string, t: unknown): asserts t is tf.Tensor {
  if (!(t instanceof tf.Tensor)) throw new TypeError(`${where}: ${name} must be a tf.Tensor; got ${describe(t)}`);
  checkAlive(where, name, t);
  if (t.rank < 1 || t.size === 0) throw new Error(`${where}: ${name} must have a batch axis and at least one value; got shape ${shapeText(t.shape)}`);
}

/**
 * The best constant predictor — one that ignores the input — fitted on training targets and scored
 * on test targets. Each output position (time step, output unit) gets its own constant, since an
 * input-free model could still learn a fixed shape such as the mean wave.
 *
 * - `'mse'`: the per-position mean of the training targets (the minimiser of the squared error);
 *   the returned loss is the mean over every test entry, as `lossFunction('mse')`.
 * - `'crossEntropy'`: targets are class ids; the per-position class frequencies with add-one
 *   (Laplace) smoothing, so a class unseen in training gets a finite loss; the loss is the mean over
 *   positions of −ln p(class), as `lossFunction('crossEntropy')`. `options.classes` (the number of
 *   classes) is required.
 *
 * @param trainY training targets `[batch, …]` (e.g. `[batch, 1]`, `[batch, time, outputs]`, `[batch, time]` ids)
 * @param testY held-out targets with the same shape after the batch axis
 * @throws if the shapes differ after the batch axis, a value is not finite, or a class id is not an
 *   integer in [0, classes)
 * @example
 * ```ts
 * const base = constantBaseline(train.y, test.y, 'mse');   // adding problem: ≈ 1/6
 * console.log(`baseline (training mean) MSE ${base.loss.toFixed(3)}`);
 * ```
 */
export function constantBaseline(trainY: tf.Tensor, testY: tf.Tensor, loss: 'mse' | 'crossEntropy', options: { classes?: number } = {}): ConstantBaseline {
  const where = 'constantBaseline';
  checkOptions(where, options, ['classes']);
  tensorArg(where, 'trainY', trainY);
  tensorArg(where, 'testY', testY);
  if (trainY.shape.slice(1).join() !== testY.shape.slice(1).join()) {
    throw new Error(`${where}: trainY and testY must agree after the batch axis; got ${shapeText(trainY.shape)} and ${shapeText(testY.shape)}`);
  }
  checkFinite(where, 'trainY', trainY);
  checkFinite(where, 'testY', testY);
  const per = trainY.size / trainY.shape[0];                           // entries per example
  const tr = trainY.dataSync(), te = testY.dataSync();
  if (loss === 'mse') {
    if (options.classes !== undefined) throw new Error(`${where}: options.classes applies to loss 'crossEntropy' only; got classes ${options.classes} with 'mse'`);
    const mean = new Array<number>(per).fill(0);                    // float64 sums
    for (let i = 0; i < tr.length; i++) mean[i % per] += tr[i];
    for (let j = 0; j < per; j++) mean[j] /= trainY.shape[0];
    let se = 0;
    for (let i = 0; i < te.length; i++) se += (te[i] - mean[i % per]) ** 2;
    return { loss: se / te.length, prediction: mean, kind: 'mean' };
  }
  if (loss === 'crossEntropy') {
    const V = options.classes;
    if (!Number.isInteger(V) || (V as number) < 2) throw new RangeError(`${where}: options.classes (the number of classes) must be an integer ≥ 2 for 'crossEntropy'; got ${describe(V)}`);
    const ids = (name: string, a: ArrayLike<number>) => {
      for (let i = 0; i < a.length; i++) {
        if (!Number.isInteger(a[i]) || a[i] < 0 || a[i] >= (V as number)) throw new RangeError(`${where}: ${name} must hold class ids in [0, ${V}); got ${a[i]} at flat index ${i}`);
      }
    };
    ids('trainY', tr); ids('testY', te);
    const counts = new Array<number>(per * (V as number)).fill(1);   // add-one smoothing
    for (let i = 0; i < tr.length; i++) counts[(i % per) * (V as number) + tr[i]] += 1;
    const total = trainY.shape[0] + (V as number);
    const prob = counts.map((c) => c / total);
    let nll = 0;
    for (let i = 0; i < te.length; i++) nll -= Math.log(prob[(i % per) * (V as number) + te[i]]);
    return { loss: nll / te.length, prediction: prob, kind: 'class frequencies' };
  }
  throw new Error(`${where}: loss must be 'mse' or 'crossEntropy'; got ${describe(loss)}`);
}

/** What {@link autoregressiveBaseline} returns. */
export interface AutoregressiveBaseline {
  /** a_1 … a_p: the prediction of y_t is c + a_1 x_t + a_2 x_{t−1} + … + a_p x_{t−p+1}. */
  coefficients: number[];
  /** c. */
  intercept: number;
  /** Mean squared error on the test sequences, over every step and sequence. */
  mse: number;
  /** Training steps the least-squares fit used (those with all p lags inside the sequence). */
  fitted: number;
}

/**
 * A linear autoregressive forecast AR(p) with intercept, fitted by least squares (float64 normal
 * equations) on training sequences and scored on test sequences — the classical baseline for
 * next-step prediction (Box & Jenkins 1970). The target `y[:, t]` is predicted from the inputs
 * `x[:, t], x[:, t−1], …, x[:, t−p+1]`. The fit uses the steps where all p inputs exist; the test
 * score covers every step, with inputs before the start taken as 0 — the same information an RNN
 * starting from h₀ = 0 has.
 *
 * @param train `{ x, y }` with x `[batch, time, 1]` and y `[batch, time, 1]` (e.g. from `sineWaves`)
 * @param test held-out sequences in the same layout (the length may differ)
 * @param order p ≥ 1
 * @throws on another layout, non-finite values, or fewer fitting steps than p + 1
 * @example
 * ```ts
 * const ar2 = autoregressiveBaseline(sineWaves(16, 1000, 3), sineWaves(8, 1000, 4), 2);
 * console.log(`AR(2): y ≈ ${ar2.coefficients[0].toFixed(3)} x_t + ${ar2.coefficients[1].toFixed(3)} x_{t−1}; MSE ${ar2.mse.toExponential(2)}`);
 * ```
 */
export function autoregressiveBaseline(train: { x: tf.Tensor; y: tf.Tensor }, test: { x: tf.Tensor; y: tf.Tensor }, order: number): AutoregressiveBaseline {
  const where = 'autoregressiveBaseline';
  if (!Number.isInteger(order) || order < 1) throw new RangeError(`${where}: order must be a positive integer; got ${describe(order)}`);
  const series = (name: string, d: unknown) => {
    if (d === null || typeof d !== 'object') throw new TypeError(`${where}: ${name} must be { x, y } with tensors [batch, time, 1]; got ${describe(d)}`);
    const { x, y } = d as { x: unknown; y: unknown };
    for (const [n, t] of [['x', x], ['y', y]] as const) {
      tensorArg(where, `${name}.${n}`, t);
      if (t.rank !== 3 || t.shape[2] !== 1) throw new Error(`${where}: ${name}.${n} must have layout [batch, time, 1] (one series per sequence); got shape ${shapeText(t.shape)}`);
      checkFinite(where, `${name}.${n}`, t, '[batch, time, 1]');
    }
    if ((x as tf.Tensor).shape.join() !== (y as tf.Tensor).shape.join()) throw new Error(`${where}: ${name}.x and ${name}.y must have the same shape; got ${shapeText((x as tf.Tensor).shape)} and ${shapeText((y as tf.Tensor).shape)}`);
    const [B, T] = (x as tf.Tensor).shape;
    return { B, T, x: (x as tf.Tensor).dataSync(), y: (y as tf.Tensor).dataSync() };
  };
  const tr = series('train', train), te = series('test', test);
  const p = order, q = p + 1;                                      // features: p lags and a constant
  const A = Array.from({ length: q }, () => new Array<number>(q).fill(0));
  const b = new Array<number>(q).fill(0);
  const feats = (x: ArrayLike<number>, T: number, i: number, t: number) => {
    const f = new Array<number>(q);
    for (let j = 0; j < p; j++) f[j] = t - j >= 0 ? x[i * T + t - j] : 0;
    f[p] = 1;
    return f;
  };
  let fitted = 0;
  for (let i = 0; i < tr.B; i++) {
    for (let t = p - 1; t < tr.T; t++) {
      const f = feats(tr.x, tr.T, i, t), target = tr.y[i * tr.T + t];
      for (let r = 0; r < q; r++) { b[r] += f[r] * target; for (let c = 0; c < q; c++) A[r][c] += f[r] * f[c]; }
      fitted++;
    }
  }
  if (fitted < q) throw new Error(`${where}: order ${p} needs at least ${q} training steps with ${p} inputs each; got ${fitted}`);
  // Gaussian elimination with partial pivoting on the (q × q) normal equations.
  for (let c = 0; c < q; c++) {
    let piv = c;
    for (let r = c + 1; r < q; r++) if (Math.abs(A[r][c]) > Math.abs(A[piv][c])) piv = r;
    if (Math.abs(A[piv][c]) < 1e-12 * Math.max(1, Math.abs(A[c][c]))) throw new Error(`${where}: the training inputs do not determine an AR(${p}) fit (singular normal equations: constant or collinear series)`);
    [A[c], A[piv]] = [A[piv], A[c]]; [b[c], b[piv]] = [b[piv], b[c]];
    for (let r = c + 1; r < q; r++) {
      const m = A[r][c] / A[c][c];
      for (let k = c; k < q; k++) A[r][k] -= m * A[c][k];
      b[r] -= m * b[c];
    }
  }
  const w = new Array<number>(q).fill(0);
  for (let r = q - 1; r >= 0; r--) {
    let s = b[r];
    for (let k = r + 1; k < q; k++) s -= A[r][k] * w[k];
    w[r] = s / A[r][r];
  }
  let se = 0;
  for (let i = 0; i < te.B; i++) {
    for (let t = 0; t < te.T; t++) {
      const f = feats(te.x, te.T, i, t);
      let pred = 0;
      for (let j = 0; j < q; j++) pred += w[j] * f[j];
      se += (pred - te.y[i * te.T + t]) ** 2;
    }
  }
  return { coefficients: w.slice(0, p), intercept: w[p], mse: se / (te.B * te.T), fitted };
}
