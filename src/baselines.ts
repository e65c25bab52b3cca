/**
 * Baselines for the lessons' claims of learning: a trained model is only interesting when it beats what
 * can be written down without learning from the inputs — a constant fitted on the training targets,
 * the last value, a linear autoregression — or a linear model fitted in closed form (ridge regression).
 * All are fitted on training data only, in float64 without an optimizer, so a comparison with them is
 * against a fixed, reproducible reference.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { checkAlive, checkFinite, shapeText, checkPositiveInt } from './inputs';
import { describe } from './describe';

/** Options of {@link ridgeRegression}. */
export interface RidgeOptions {
  /** Penalty λ ≥ 0 on the squared weights (not on the bias). Default 1. λ = 0 is ordinary least squares. */
  lambda?: number;
}

/** A fitted ridge regression: ŷ = bias + weights · x. */
export interface RidgeModel {
  /** One weight per feature, `[features]`. */
  weights: number[];
  /** The intercept (not penalised). */
  bias: number;
  /** The λ it was fitted with. */
  lambda: number;
  /** Predictions for rows `[samples, features]` → `[samples]`. */
  predict(rows: number[][]): number[];
}

export const RIDGE_KEYS = ['lambda'] as const;

function checkRows(where: string, name: string, rows: unknown, features?: number): number[][] {
  if (!Array.isArray(rows) || rows.length === 0) {
    throw new TypeError(`${where}: ${name} must be a non-empty array of rows [samples, features], got ${describe(rows)}`);
  }
  const width = features ?? (Array.isArray(rows[0]) ? rows[0].length : -1);
  rows.forEach((r, i) => {
    if (!Array.isArray(r) || r.length !== width || width === 0) {
      throw new TypeError(`${where}: ${name} must be rows [samples, features] of ${width > 0 ? width : 'at least 1'} numbers each; row ${i} is ${describe(r)}`);
    }
    r.forEach((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new RangeError(`${where}: ${name}[${i}][${j}] is ${describe(v)}; every entry must be a finite number`);
      }
    });
  });
  return rows as number[][];
}

/**
 * Ridge regression in closed form: minimises Σᵢ (yᵢ − b − w·xᵢ)² + λ‖w‖², the bias b unpenalised
 * (scikit-learn's `Ridge(alpha=λ, fit_intercept=True)` semantics; Hoerl & Kennard 1970). The features
 * and the target are centred, then (XᵀX + λI) w = Xᵀy is solved by a Cholesky factorisation in float64
 * and b = ȳ − w·x̄. Used as the linear autoregressive (AR) baseline of a forecast: rows are windows of
 * past values, the target the value to forecast.
 *
 * @param x  inputs `[samples, features]` (plain arrays of finite numbers)
 * @param y  targets `[samples]`
 * @param options.lambda  penalty λ ≥ 0, default 1
 * @returns the weights, the bias and `predict(rows)`
 * @throws TypeError for ragged or empty rows, a length mismatch, unknown options;
 *   RangeError for a non-finite entry, λ < 0, or λ = 0 with collinear features (XᵀX singular)
 * @example
 * const ar = ridgeRegression([[1, 0], [0, 1], [1, 1]], [1, 2, 3], { lambda: 0.1 });
 * ar.predict([[2, 2]]);   // ≈ [6]
 */
export function ridgeRegression(x: number[][], y: number[], options: RidgeOptions = {}): RidgeModel {
  const where = 'ridgeRegression';
  checkOptions(where, options, RIDGE_KEYS);
  const lambda = options.lambda ?? 1;
  if (typeof lambda !== 'number' || !Number.isFinite(lambda) || lambda < 0) {
    throw new RangeError(`${where}: options.lambda must be a finite number ≥ 0, got ${describe(lambda)}`);
  }
  const rows = checkRows(where, 'x', x);
  if (!Array.isArray(y) || y.length !== rows.length) {
    throw new TypeError(`${where}: y must be an array [samples] with one target per row of x (${rows.length}), got ${describe(y)}`);
  }
  y.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`${where}: y[${i}] is ${describe(v)}; every target must be a finite number`);
  });
  const n = rows.length, d = rows[0].length;
  const xMean = new Array(d).fill(0);
  for (const r of rows) r.forEach((v, j) => { xMean[j] += v / n; });
  const yMean = y.reduce((s, v) => s + v, 0) / n;
  // A = XcᵀXc + λI (symmetric), c = Xcᵀyc, with Xc, yc centred.
  const A = Array.from({ length: d }, () => new Float64Array(d));
  const c = new Float64Array(d);
  for (let i = 0; i < n; i++) {
    const r = rows[i], yc = y[i] - yMean;
    for (let j = 0; j < d; j++) {
      const xj = r[j] - xMean[j];
      c[j] += xj * yc;
      for (let k = 0; k <= j; k++) A[j][k] += xj * (r[k] - xMean[k]);
    }
  }
  // Cholesky A = L Lᵀ (lower triangle in place).
  const scale = Math.max(1e-300, ...Array.from({ length: d }, (_, j) => A[j][j]));
  for (let j = 0; j < d; j++) {
    A[j][j] += lambda;
    for (let k = 0; k < j; k++) {
      let s = A[j][k];
      for (let p = 0; p < k; p++) s -= A[j][p] * A[k][p];
      A[j][k] = s / A[k][k];
    }
    let s = A[j][j];
    for (let p = 0; p < j; p++) s -= A[j][p] * A[j][p];
    if (!(s > 1e-12 * (scale + lambda))) {
      throw new RangeError(`${where}: XᵀX + λI is singular at feature ${j} (λ = ${lambda}): the features are collinear or constant; use lambda > 0`);
    }
    A[j][j] = Math.sqrt(s);
  }
  const z = new Float64Array(d), w = new Array<number>(d);
  for (let j = 0; j < d; j++) {
    let s = c[j];
    for (let p = 0; p < j; p++) s -= A[j][p] * z[p];
    z[j] = s / A[j][j];
  }
  for (let j = d - 1; j >= 0; j--) {
    let s = z[j];
    for (let p = j + 1; p < d; p++) s -= A[p][j] * w[p];
    w[j] = s / A[j][j];
  }
  const bias = yMean - w.reduce((s, wj, j) => s + wj * xMean[j], 0);
  return {
    weights: w, bias, lambda,
    predict(newRows: number[][]): number[] {
      return checkRows(`${where}(…).predict`, 'rows', newRows, d).map((r) => r.reduce((s, v, j) => s + v * w[j], bias));
    },
  };
}

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
 * A linear autoregressive forecast AR(p) with intercept, fitted by least squares
 * ({@link ridgeRegression} with λ = 0, float64) on training sequences and scored on test sequences — the classical baseline for
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
  checkPositiveInt(where, 'order', order);
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
  const p = order;
  const lags = (x: ArrayLike<number>, T: number, i: number, t: number) => {
    const f = new Array<number>(p);
    for (let j = 0; j < p; j++) f[j] = t - j >= 0 ? x[i * T + t - j] : 0;
    return f;
  };
  const rows: number[][] = [], targets: number[] = [];
  for (let i = 0; i < tr.B; i++) {
    for (let t = p - 1; t < tr.T; t++) { rows.push(lags(tr.x, tr.T, i, t)); targets.push(tr.y[i * tr.T + t]); }
  }
  const fitted = rows.length;
  if (fitted < p + 1) throw new Error(`${where}: order ${p} needs at least ${p + 1} training steps with ${p} inputs each; got ${fitted}`);
  // Least squares with an intercept is ridge regression with λ = 0 (the intercept is not penalised).
  let fit: RidgeModel;
  try {
    fit = ridgeRegression(rows, targets, { lambda: 0 });
  } catch (e) {
    if (e instanceof RangeError && /singular/.test(e.message)) {
      throw new Error(`${where}: the training inputs do not determine an AR(${p}) fit (singular normal equations: constant or collinear series)`);
    }
    throw e;
  }
  const w = [...fit.weights, fit.bias];
  let se = 0;
  for (let i = 0; i < te.B; i++) {
    for (let t = 0; t < te.T; t++) {
      const f = lags(te.x, te.T, i, t);
      let pred = w[p];
      for (let j = 0; j < p; j++) pred += w[j] * f[j];
      se += (pred - te.y[i * te.T + t]) ** 2;
    }
  }
  return { coefficients: w.slice(0, p), intercept: w[p], mse: se / (te.B * te.T), fitted };
}
