/**
 * Reading and comparing what a student returned: tensors or (nested) number arrays as float64, shape
 * checks that accept [n] for [n, 1] and name a transpose, the |got − expected| ≤ atol + rtol·|expected|
 * test with the worst entry's index, and hints from known-mistake simulators ({@link Variant}).
 */
import * as tf from '@tensorflow/tfjs';
import { describe } from '../describe';
import { shapeText, unravel } from '../inputs';
import { fail, errorText } from './exercise';

/** A number for a message: 4 decimals, or exponent notation when small or large. */
export function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(3);
  return x.toFixed(4).replace(/\.?0+$/, '') || '0';
}

export function fmtList(xs: ArrayLike<number>, max = 6): string {
  const parts = Array.from(xs).slice(0, max).map((x) => fmt(x));
  return `[${parts.join(', ')}${xs.length > max ? ', …' : ''}]`;
}

export function isTensor(v: unknown): v is tf.Tensor {
  return v instanceof tf.Tensor ||
    (v != null && typeof v === 'object' && typeof (v as tf.Tensor).dataSync === 'function' && Array.isArray((v as tf.Tensor).shape));
}



/** Values and shape of a tensor or (nested) number array, as float64. */
export interface Arr {
  data: Float64Array;
  shape: number[];
}

export function read(value: unknown, what: string): Arr {
  if (isTensor(value)) {
    let data: ArrayLike<number>;
    try {
      data = value.dataSync() as ArrayLike<number>;
    } catch (e) {
      fail(`${what} is a tensor that cannot be read (${errorText(e)}); was it disposed (by tf.tidy or .dispose()) before it was returned?`);
    }
    return { data: Float64Array.from(data), shape: value.shape.slice() };
  }
  if (typeof value === 'number') return { data: Float64Array.of(value), shape: [] };
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    const arr = value as unknown as ArrayLike<number>;
    return { data: Float64Array.from(arr), shape: [arr.length] };
  }
  if (Array.isArray(value)) {
    const shape: number[] = [];
    let cur: unknown = value;
    while (Array.isArray(cur)) {
      shape.push(cur.length);
      cur = cur[0];
    }
    const flat = (value as unknown[]).flat(Infinity) as unknown[];
    if (flat.length !== shape.reduce((a, b) => a * b, 1)) fail(`${what} is a ragged nested array (rows of different lengths); return a tf.Tensor or a rectangular array`);
    if (flat.some((x) => typeof x !== 'number')) fail(`${what} must hold numbers; found ${describe(flat.find((x) => typeof x !== 'number'))}`);
    return { data: Float64Array.from(flat as number[]), shape };
  }
  fail(`${what} must be a tf.Tensor (or an array of numbers); got ${describe(value)}`);
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function squeezeShape(s: readonly number[]): number[] {
  return s.filter((d) => d !== 1);
}

/** Fail unless `a` has `shape` (size-1 axes may differ: [n] is accepted for [n, 1]). */
export function expectShape(a: Arr, shape: number[], what: string, dims: string): void {
  if (sameShape(a.shape, shape)) return;
  if (a.data.length === shape.reduce((x, y) => x * y, 1) && sameShape(squeezeShape(a.shape), squeezeShape(shape))) return;
  let hint = '';
  if (a.shape.length === 2 && shape.length === 2 && a.shape[0] === shape[1] && a.shape[1] === shape[0]) hint = ' — it looks transposed';
  fail(`${what} has shape [${a.shape.join(', ')}] but should have shape [${shape.join(', ')}] (${dims})${hint}`);
}

/** Tolerance: |got − expected| ≤ atol + rtol·|expected|. */
export interface Tol {
  atol: number;
  rtol: number;
}
export const TOL_F32: Tol = { atol: 1e-4, rtol: 1e-3 };

function fmtTol(x: number): string {
  return x.toExponential().replace(/\.?0*e/, 'e').replace('e+0', '');
}

export function tolText(t: Tol): string {
  return `tolerance ${fmtTol(t.atol)} + ${fmtTol(t.rtol)}·|expected|`;
}

export interface Mismatch {
  index: number;
  count: number;
  diff: number;
}

export function mismatch(got: ArrayLike<number>, exp: ArrayLike<number>, tol: Tol): Mismatch | null {
  let count = 0;
  let index = -1;
  let worst = -1;
  for (let i = 0; i < exp.length; i++) {
    const d = Math.abs(got[i] - exp[i]);
    if (d <= tol.atol + tol.rtol * Math.abs(exp[i])) continue;   // NaN fails here too
    count++;
    const score = Number.isNaN(d) ? Infinity : d;
    if (score > worst) {
      worst = score;
      index = i;
    }
  }
  return count === 0 ? null : { index, count, diff: Math.abs(got[index] - exp[index]) };
}

export function close(got: ArrayLike<number> | null | undefined, exp: ArrayLike<number>, tol: Tol): boolean {
  return got != null && got.length === exp.length && mismatch(got, exp, tol) === null;
}

/** Multi-index of flat position `i` as text, `[1, 2]`; `[i]` for vectors and scalars. */
export function indexText(i: number, shape: readonly number[]): string {
  return shape.length <= 1 ? `[${i}]` : shapeText(unravel(i, shape));
}

export function mismatchText(what: string, got: Arr, exp: ArrayLike<number>, m: Mismatch, tol: Tol): string {
  const g = got.data[m.index];
  const e = exp[m.index];
  if (Number.isNaN(g)) return `${what} contains NaN (first at ${indexText(m.index, got.shape)}; expected ${fmt(e)})`;
  if (!Number.isFinite(g)) return `${what} contains ${g} (at ${indexText(m.index, got.shape)}; expected ${fmt(e)})`;
  return `${what} is wrong in ${m.count} of ${exp.length} entries: the largest difference is ${fmt(m.diff)} at ${indexText(m.index, got.shape)} ` +
    `(expected ${fmt(e)}, got ${fmt(g)}; ${tolText(tol)})`;
}

/** A known mistake: if the student's values match `value()`, the hint explains it. */
export interface Variant {
  hint: string;
  value: () => ArrayLike<number> | null;
}

export function hintFor(got: ArrayLike<number>, variants: Variant[], tol: Tol): string {
  for (const v of variants) {
    let val: ArrayLike<number> | null = null;
    try {
      val = v.value();
    } catch {
      val = null;   // a variant that does not apply to these shapes
    }
    if (val && close(got, val, tol)) return v.hint;
  }
  return '';
}

