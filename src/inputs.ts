/**
 * Checks at the library's entry points (predict, apply, fit, train, decode, data helpers): an error
 * names the function, the argument, the expected layout — `[batch, time, features]` for sequences,
 * `[batch, time]` for token ids — what was given, and the first bad index, so nothing reaches tf.js
 * to fail there with a generic message.
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from './describe';

/** `[2, 3]` as text. */
export function shapeText(shape: readonly (number | null)[]): string {
  return `[${shape.map((d) => (d === null ? 'any' : d)).join(', ')}]`;
}

/**
 * Check that `value` is a positive integer (1, 2, …): a RangeError `<where>: <name> must be a positive
 * integer; got <value>` otherwise. Returns the value, typed.
 */
export function checkPositiveInt(where: string, name: string, value: unknown): number {
  if (!Number.isInteger(value) || (value as number) < 1) throw new RangeError(`${where}: ${name} must be a positive integer; got ${describe(value)}`);
  return value as number;
}

/** The first non-finite entry of a float tensor, as a multi-index, with its value and the count of such entries; null when all are finite. */
export function firstNonFinite(t: tf.Tensor): { index: number[]; value: number; count: number } | null {
  if (t.dtype !== 'float32') return null;
  const bad = tf.tidy(() => tf.logicalNot(tf.isFinite(t)));
  const count = tf.tidy(() => tf.sum(tf.cast(bad, 'int32')).dataSync()[0]);
  if (count === 0) { bad.dispose(); return null; }
  const flat = tf.tidy(() => tf.argMax(tf.reshape(bad, [-1])).dataSync()[0]);  // first true (argMax returns the first maximum)
  bad.dispose();
  const value = tf.tidy(() => tf.reshape(t, [-1]).slice([flat], [1]).dataSync()[0]);
  return { index: unravel(flat, t.shape), value, count };
}

/** Multi-index of flat position `i` in row-major `shape`. */
export function unravel(i: number, shape: readonly number[]): number[] {
  const idx = new Array(shape.length).fill(0);
  for (let d = shape.length - 1; d >= 0; d--) { idx[d] = i % shape[d]; i = Math.floor(i / shape[d]); }
  return idx;
}

/**
 * Throw when `t` was disposed: tf.js would fail later with "Tensor is disposed" or, inside its
 * backends, "Cannot read properties of undefined". In a notebook this is a tensor freed by a cell that
 * ran after the one that made it (a cleanup cell, a `tf.tidy`), so the message says to re-run that cell.
 * @example `train: data.x was disposed (by tf.dispose, .dispose() or tf.tidy) before this call; …`
 */
export function checkAlive(where: string, name: string, t: tf.Tensor): void {
  if (t.isDisposed) {
    throw new Error(`${where}: ${name} was disposed (by tf.dispose, .dispose() or tf.tidy) before this call; ` +
      `make it again, e.g. re-run the cell that created it (shape was ${shapeText(t.shape)})`);
  }
}

/**
 * Throw when `t` holds NaN or ±Infinity, naming the argument, the first bad index and the layout.
 * @example `train: data.y has NaN at [3, 0] (the first of 2 non-finite values; y [64, 1], layout [batch, outputs])`
 */
export function checkFinite(where: string, name: string, t: tf.Tensor, layout?: string): void {
  checkAlive(where, name, t);
  const bad = firstNonFinite(t);
  if (!bad) return;
  throw new Error(`${where}: ${name} has ${bad.value} at [${bad.index.join(', ')}] (the first of ${bad.count} non-finite value${bad.count === 1 ? '' : 's'}; ` +
    `shape ${shapeText(t.shape)}${layout ? `, layout ${layout}` : ''}); clean, fill or drop missing values first`);
}

/** What a model input (or layer input) must look like. */
export interface InputSpec {
  /** The shape without the batch, from the model's input layer: [time, features], [time] for token ids, [features] for one-to-many. null = any. */
  shape: readonly (number | null)[];
  /** Token ids: [batch, time], non-negative integers. */
  tokens?: boolean;
}

/** The layout of an input spec in words: `[batch, time, features=8]`, `[batch, time] token ids`. */
export function layoutOf(spec: InputSpec): string {
  const names = spec.shape.length === 2 ? ['time', 'features'] : spec.tokens ? ['time'] : spec.shape.length === 1 ? ['features'] : spec.shape.map((_, i) => `dim${i + 1}`);
  const dims = spec.shape.map((d, i) => (d === null ? names[i] : `${names[i]}=${d}`));
  return `[batch, ${dims.join(', ')}]${spec.tokens ? ' token ids' : ''}`;
}

/**
 * Check one input tensor against what the model expects: a tensor, the right rank, the fixed sizes,
 * no empty batch or sequence. (Finite values are checked by {@link checkFinite}.)
 */
export function checkInputShape(where: string, name: string, t: unknown, spec: InputSpec): asserts t is tf.Tensor {
  const layout = layoutOf(spec);
  if (!(t instanceof tf.Tensor)) throw new TypeError(`${where}: ${name} must be a tf.Tensor with layout ${layout}; got ${describe(t)}`);
  checkAlive(where, name, t);
  const want = [null, ...spec.shape];
  const hint = t.rank === want.length - 1 && spec.shape.length === 2
    ? ` (one sequence? add the batch axis: x.expandDims(0); one feature per step? add the feature axis: x.expandDims(-1))` : '';
  if (t.rank !== want.length) throw new Error(`${where}: ${name} must have rank ${want.length}, layout ${layout}; got shape ${shapeText(t.shape)}${hint}`);
  for (let d = 1; d < want.length; d++) {
    if (want[d] !== null && t.shape[d] !== want[d]) throw new Error(`${where}: ${name} must have layout ${layout}; got shape ${shapeText(t.shape)} (axis ${d} is ${t.shape[d]}, expected ${want[d]})`);
  }
  if ((t.shape as number[]).some((d) => d === 0)) throw new Error(`${where}: ${name} is empty: shape ${shapeText(t.shape)}, layout ${layout}`);
}
