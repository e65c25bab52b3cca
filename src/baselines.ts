/**
 * Linear baselines that a learned sequence model has to beat (lesson 11 teaches them): ridge regression
 * fitted in closed form, in float64 on plain arrays — no optimizer, so a lesson that compares a network
 * with it compares against a fixed, reproducible reference.
 */
import { checkOptions } from './options';
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
