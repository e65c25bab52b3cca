/**
 * Character-level text utilities for the language-model lessons: a vocabulary, next-character
 * training pairs, a stable softmax and cross-entropy, perplexity, and a sampler that generates
 * one character at a time and feeds it back, exactly as in the lecture's "hello" example.
 *
 * Everything here is plain numbers (no tensors) so the lessons can check a model's tf.js output
 * against these reference computations.
 */
import { Rng } from './random';
import { describe } from './describe';
import { checkOptions } from './options';
import { interruptible } from './interrupt';


/** A character and its code point, e.g. `"é" (U+00E9)`, so invisible characters are identifiable. */
function describeChar(ch: string): string {
  const cp = ch.codePointAt(0) ?? 0;
  return `${JSON.stringify(ch)} (U+${cp.toString(16).toUpperCase().padStart(4, '0')})`;
}

function isArrayLike(value: unknown): value is ArrayLike<unknown> {
  return value != null && typeof value === 'object' && typeof (value as ArrayLike<unknown>).length === 'number';
}

/** Compare by Unicode code point; the default string sort compares UTF-16 code units instead. */
function byCodePoint(a: string, b: string): number {
  return (a.codePointAt(0) ?? 0) - (b.codePointAt(0) ?? 0);
}

/** How many vocabulary entries an error message lists before eliding the rest. */
const VOCAB_PREVIEW = 20;

/**
 * A character vocabulary: maps each character (a single Unicode code point) to an id in
 * [0, size) and back. Characters outside the Basic Multilingual Plane (e.g. emoji) count as one
 * character, not as two UTF-16 halves.
 *
 * @example
 * ```ts
 * const vocab = CharVocab.fromText('hello');
 * vocab.chars;               // ['e', 'h', 'l', 'o']
 * vocab.encode('hello');     // [1, 0, 2, 2, 3]
 * vocab.decode([1, 0, 2]);   // 'hel'
 * ```
 */
export class CharVocab {
  /** The characters in id order. */
  readonly chars: readonly string[];
  /** The number of characters, V. */
  readonly size: number;
  private readonly index: Map<string, number>;

  /**
   * Build a vocabulary from every distinct character in `text` (plus `options.extra`), sorted by
   * code point so the same text always gives the same ids regardless of character order.
   *
   * @param text the training text
   * @param options.extra characters to include even if `text` lacks them (e.g. ones seen only at sampling time)
   * @example
   * ```ts
   * const vocab = CharVocab.fromText('hello', { extra: [' '] }); // [' ', 'e', 'h', 'l', 'o']
   * ```
   */
  static fromText(text: string, options: { extra?: string[] } = {}): CharVocab {
    if (typeof text !== 'string') {
      throw new TypeError(`CharVocab.fromText: text must be a string, got ${describe(text)}`);
    }
    checkOptions('CharVocab.fromText', options, ['extra']);
    const extra = options?.extra ?? [];
    if (!Array.isArray(extra)) {
      throw new TypeError(`CharVocab.fromText: options.extra must be an array of single characters, got ${describe(extra)}`);
    }
    extra.forEach((ch, i) => {
      if (typeof ch !== 'string' || Array.from(ch).length !== 1) {
        throw new TypeError(`CharVocab.fromText: options.extra[${i}] must be a single character, got ${describe(ch)}`);
      }
    });
    const set = new Set<string>(Array.from(text));
    for (const ch of extra) set.add(ch);
    if (set.size === 0) {
      throw new RangeError('CharVocab.fromText: text is empty and no options.extra were given, so the vocabulary would be empty');
    }
    return new CharVocab([...set].sort(byCodePoint));
  }

  /**
   * Rebuild a vocabulary saved with {@link CharVocab.toJSON} (or its `JSON.stringify` text), so a
   * trained model's ids keep their meaning.
   *
   * @example
   * ```ts
   * const copy = CharVocab.fromJSON(JSON.parse(JSON.stringify(vocab)));
   * ```
   */
  static fromJSON(json: { chars: string[] } | string): CharVocab {
    const obj: unknown = typeof json === 'string' ? JSON.parse(json) : json;
    if (obj == null || typeof obj !== 'object' || !Array.isArray((obj as { chars?: unknown }).chars)) {
      throw new TypeError(`CharVocab.fromJSON: expected an object { chars: string[] }, got ${describe(obj)}`);
    }
    return new CharVocab((obj as { chars: string[] }).chars);
  }

  /**
   * Use `chars` as given: id i is `chars[i]`. Use {@link CharVocab.fromText} to derive them from text.
   *
   * @param chars distinct single characters (one code point each)
   * @example
   * ```ts
   * const vocab = new CharVocab(['h', 'e', 'l', 'o']); // the lecture's order: h=0, e=1, l=2, o=3
   * ```
   */
  constructor(chars: string[]) {
    if (!Array.isArray(chars)) {
      throw new TypeError(`CharVocab: chars must be an array of single characters, got ${describe(chars)}`);
    }
    if (chars.length === 0) {
      throw new RangeError('CharVocab: chars must not be empty, got 0 characters');
    }
    const index = new Map<string, number>();
    chars.forEach((ch, i) => {
      if (typeof ch !== 'string' || Array.from(ch).length !== 1) {
        throw new TypeError(`CharVocab: chars[${i}] must be a single character (one code point), got ${describe(ch)}`);
      }
      const prev = index.get(ch);
      if (prev !== undefined) {
        throw new RangeError(`CharVocab: duplicate character ${describeChar(ch)} at chars[${prev}] and chars[${i}]`);
      }
      index.set(ch, i);
    });
    this.chars = Object.freeze([...chars]);
    this.size = chars.length;
    this.index = index;
  }

  /** The vocabulary for an error message, truncated so a large vocabulary does not flood it. */
  private preview(): string {
    const shown = this.chars.slice(0, VOCAB_PREVIEW).map((c) => JSON.stringify(c)).join(', ');
    const more = this.size > VOCAB_PREVIEW ? `, … (${this.size - VOCAB_PREVIEW} more)` : '';
    return `vocabulary (${this.size} chars): [${shown}${more}]`;
  }

  /**
   * The id of each character of `text`. Positions in errors count code points, not UTF-16 units.
   *
   * @example
   * ```ts
   * CharVocab.fromText('hello').encode('hell'); // [1, 0, 2, 2]
   * ```
   */
  encode(text: string): number[] {
    if (typeof text !== 'string') {
      throw new TypeError(`CharVocab.encode: text must be a string, got ${describe(text)}`);
    }
    const chars = Array.from(text);
    const ids = new Array<number>(chars.length);
    for (let i = 0; i < chars.length; i++) {
      const id = this.index.get(chars[i]);
      if (id === undefined) {
        throw new Error(`CharVocab.encode: unknown character ${describeChar(chars[i])} at position ${i} of the text; ${this.preview()}`);
      }
      ids[i] = id;
    }
    return ids;
  }

  /** Throw unless `ids[i]` is an integer id of this vocabulary. */
  private checkId(where: string, ids: ArrayLike<unknown>, i: number): number {
    const id = ids[i];
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new RangeError(`CharVocab.${where}: ids[${i}] = ${describe(id)} is not a valid id; ids must be integers in [0, ${this.size})`);
    }
    return id;
  }

  /**
   * The text spelled by `ids`.
   *
   * @example
   * ```ts
   * CharVocab.fromText('hello').decode([1, 0, 2, 2, 3]); // 'hello'
   * ```
   */
  decode(ids: ArrayLike<number>): string {
    if (!isArrayLike(ids)) {
      throw new TypeError(`CharVocab.decode: ids must be an array of integers, got ${describe(ids)}`);
    }
    let out = '';
    for (let i = 0; i < ids.length; i++) out += this.chars[this.checkId('decode', ids, i)];
    return out;
  }

  /**
   * One row per id, of length `size`, with a 1 at the id: the x_t vectors of the lecture.
   *
   * @example
   * ```ts
   * CharVocab.fromText('hello').oneHot([1]); // [[0, 1, 0, 0]]  ('h')
   * ```
   */
  oneHot(ids: number[]): number[][] {
    if (!isArrayLike(ids)) {
      throw new TypeError(`CharVocab.oneHot: ids must be an array of integers, got ${describe(ids)}`);
    }
    const rows: number[][] = [];
    for (let i = 0; i < ids.length; i++) {
      const row = new Array<number>(this.size).fill(0);
      row[this.checkId('oneHot', ids, i)] = 1;
      rows.push(row);
    }
    return rows;
  }

  /**
   * A plain object that {@link CharVocab.fromJSON} turns back into this vocabulary
   * (called by `JSON.stringify`).
   *
   * @example
   * ```ts
   * JSON.stringify(CharVocab.fromText('hi')); // '{"chars":["h","i"]}'
   * ```
   */
  toJSON(): { chars: string[] } {
    return { chars: [...this.chars] };
  }
}

function checkPositiveInt(fn: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`${fn}: ${name} must be a positive integer, got ${describe(value)}`);
  }
  return value;
}

/**
 * Cut `ids` into training windows of `seqLength` inputs, each paired with the same window shifted
 * one character later: the model reading ids[start..start+T) must predict ids[start+1..start+T].
 * A window needs T+1 ids, so a trailing remainder that is too short is dropped.
 *
 * @param ids the encoded text
 * @param seqLength T, the number of time steps per window (≥ 1)
 * @param stride how far consecutive windows start apart (default T: non-overlapping inputs)
 * @example
 * ```ts
 * const v = CharVocab.fromText('hello');
 * nextCharPairs(v.encode('hello'), 4); // { inputs: [encode('hell')], targets: [encode('ello')] }
 * ```
 */
export function nextCharPairs(
  ids: number[],
  seqLength: number,
  stride: number = seqLength,
): { inputs: number[][]; targets: number[][] } {
  if (!isArrayLike(ids)) {
    throw new TypeError(`nextCharPairs: ids must be an array of integers, got ${describe(ids)}`);
  }
  checkPositiveInt('nextCharPairs', 'seqLength', seqLength);
  checkPositiveInt('nextCharPairs', 'stride', stride);
  if (ids.length < seqLength + 1) {
    throw new RangeError(
      `nextCharPairs: ids has length ${ids.length} but seqLength ${seqLength} needs at least ${seqLength + 1} ids (inputs plus the one-step-shifted targets)`,
    );
  }
  const inputs: number[][] = [];
  const targets: number[][] = [];
  for (let start = 0; start + seqLength + 1 <= ids.length; start += stride) {
    inputs.push(Array.prototype.slice.call(ids, start, start + seqLength) as number[]);
    targets.push(Array.prototype.slice.call(ids, start + 1, start + seqLength + 1) as number[]);
  }
  return { inputs, targets };
}

/**
 * A temperature is a number > 0; Infinity is allowed (the uniform limit). T = 0 is refused rather
 * than read as greedy decoding: softmax(logits / 0) is not defined, and the T → 0 limit (the argmax,
 * ties split evenly) is reached by any tiny T or asked for explicitly with `greedy: true`.
 */
function checkTemperature(fn: string, temperature: unknown, name = 'temperature'): number {
  if (typeof temperature !== 'number' || Number.isNaN(temperature) || temperature <= 0) {
    const hint = temperature === 0 ? ` (T = 0 is the argmax: ${fn === 'sampleText' ? 'use greedy: true' : 'take the argmax of the logits, or use a tiny T such as 1e-300'})` : '';
    throw new RangeError(`${fn}: ${name} must be a number > 0 (Infinity gives the uniform distribution), got ${describe(temperature)}${hint}`);
  }
  return temperature;
}

/** Check a logit vector: non-empty, no NaN or +Infinity; −Infinity (a masked class) is allowed if some entry is finite. */
function checkLogits(fn: string, name: string, logits: unknown): ArrayLike<number> {
  if (!isArrayLike(logits)) {
    throw new TypeError(`${fn}: ${name} must be an array of numbers, got ${describe(logits)}`);
  }
  if (logits.length === 0) throw new RangeError(`${fn}: ${name} must not be empty`);
  let anyFinite = false;
  for (let i = 0; i < logits.length; i++) {
    const x = logits[i];
    if (typeof x !== 'number' || Number.isNaN(x) || x === Infinity) {
      throw new RangeError(`${fn}: ${name}[${i}] must be a number that is not NaN or +Infinity, got ${describe(x)}`);
    }
    if (Number.isFinite(x)) anyFinite = true;
  }
  if (!anyFinite) throw new RangeError(`${fn}: ${name} must contain at least one finite value, got all -Infinity`);
  return logits as ArrayLike<number>;
}

/**
 * softmax(logits / temperature), computed as exp((x_i − max) / T) / Σ_j exp((x_j − max) / T): the
 * maximum is subtracted *before* dividing by T, so every exponent is ≤ 0 and nothing overflows —
 * dividing first turns logits like 2 at T = 1e-308 into Infinity and the result into NaN. The result
 * is finite and sums to 1 for every T > 0, including denormal T (1e-320) and T = Infinity.
 * Temperature divides the logits: T < 1 sharpens the distribution towards the argmax (as T → 0 it
 * becomes the argmax, ties split evenly), T > 1 flattens it towards uniform (T = Infinity: uniform
 * over the classes that are not masked). A logit of −Infinity (a masked class) gets probability 0.
 *
 * @param logits unnormalised scores, one per class (no NaN or +Infinity; at least one finite)
 * @param temperature T > 0 (default 1); T = 0, a negative T or NaN is an error naming `temperature`
 * @example
 * ```ts
 * softmax([1, 2, 3]);          // ≈ [0.090, 0.245, 0.665]
 * softmax([1, 2, 3], 0.5);     // sharper: ≈ [0.016, 0.117, 0.867]
 * softmax([2, 1], 1e-308);     // [1, 0]: the argmax limit, not NaN
 * softmax([3, 3, 1], 1e-300);  // [0.5, 0.5, 0]: ties split evenly
 * ```
 */
export function softmax(logits: ArrayLike<number>, temperature = 1): Float64Array {
  checkLogits('softmax', 'logits', logits);
  checkTemperature('softmax', temperature);
  const n = logits.length;
  const out = new Float64Array(n);
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) {
    const x = logits[i];
    const d = x - max;                                            // ≤ 0; −Infinity for a masked class
    // A masked class stays at 0 at every temperature (−∞ / ∞ would be NaN). x − max can overflow for
    // finite logits (−1e308 − 1e308); then x/T − max/T is the exponent (−∞ exactly when it truly is).
    const z = x === -Infinity ? -Infinity : Number.isFinite(d) ? d / temperature : x / temperature - max / temperature;
    out[i] = Math.exp(z);
    sum += out[i];
  }
  for (let i = 0; i < n; i++) out[i] /= sum;                     // sum ≥ 1: the maximum contributes exp(0)
  return out;
}

/**
 * −log softmax(x)[y] = (max − x_y) + log Σ exp(x_i − max): every exponent is ≤ 0, so nothing overflows,
 * and max − x_y is formed before adding the log, so large logits (1e17) do not cancel to 0 or NaN.
 */
function negLogSoftmaxAt(x: ArrayLike<number>, y: number): number {
  let max = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > max) max = x[i];
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += Math.exp(x[i] - max);
  return (max - x[y]) + Math.log(sum);
}

/**
 * The lecture's training loss: the mean over time steps of −log softmax(logits_t)[target_t], in
 * nats. It is computed as (max − logits_t[target_t]) + log Σ exp(logits_t − max) rather than by
 * taking the log of a softmax probability, which would underflow to log(0) = −∞ for confident wrong
 * predictions.
 *
 * Several sequences (`logits[s][t][v]`, `targets[s][t]`) give the mean per character over all of
 * them — Σ over every character / the number of characters — so a short sequence weighs as many
 * characters as it has, not as much as a long one (the mean of per-sequence means would).
 *
 * @param logits one row of V logits per time step, or a list of such sequences
 * @param targets the correct next-character id at each time step (per sequence for a list)
 * @example
 * ```ts
 * charCrossEntropy([[0, 0, 0, 0]], [2]);                      // log 4 ≈ 1.386: a uniform guess over 4 characters
 * charCrossEntropy([seqA, seqB], [targetsA, targetsB]);        // per character over both sequences
 * ```
 */
export function charCrossEntropy(logits: number[][] | number[][][], targets: number[] | number[][]): number {
  if (!Array.isArray(logits)) {
    throw new TypeError(`charCrossEntropy: logits must be an array of rows (one per time step), got ${describe(logits)}`);
  }
  if (!isArrayLike(targets)) {
    throw new TypeError(`charCrossEntropy: targets must be an array of ids, got ${describe(targets)}`);
  }
  const many = Array.isArray(logits[0]) && Array.isArray((logits[0] as unknown[])[0]);
  if (!many) {
    const { total, count } = sequenceCrossEntropy(logits as number[][], targets as number[], '');
    return total / count;
  }
  if (logits.length !== targets.length) {
    throw new RangeError(`charCrossEntropy: logits has ${logits.length} sequences but targets has ${targets.length}; they must match`);
  }
  let total = 0, count = 0, vocabSize = -1;
  (logits as number[][][]).forEach((seq, s) => {
    if (!Array.isArray(seq)) throw new TypeError(`charCrossEntropy: logits[${s}] must be an array of rows (one per time step), got ${describe(seq)}`);
    const tg = (targets as unknown[])[s];
    if (!isArrayLike(tg)) throw new TypeError(`charCrossEntropy: targets[${s}] must be an array of ids, got ${describe(tg)}`);
    const r = sequenceCrossEntropy(seq, tg as number[], `[${s}]`, vocabSize, 'logits[0][0]');
    vocabSize = r.vocabSize;
    total += r.total;
    count += r.count;
  });
  return total / count;
}

/** Σ_t −log softmax(logits_t)[target_t] over one sequence, with its length; `at` prefixes indices in errors (`[2]` → `logits[2][5]`). */
function sequenceCrossEntropy(logits: number[][], targets: ArrayLike<number>, at: string, vocabSize = -1, firstRow = `logits${at}[0]`): { total: number; count: number; vocabSize: number } {
  if (logits.length !== targets.length) {
    throw new RangeError(
      `charCrossEntropy: logits${at} has ${logits.length} time steps but targets${at} has ${targets.length}; they must match`,
    );
  }
  if (logits.length === 0) throw new RangeError(`charCrossEntropy: logits${at} and targets${at} must not be empty (0 time steps)`);
  let total = 0;
  for (let t = 0; t < logits.length; t++) {
    const row = checkLogits('charCrossEntropy', `logits${at}[${t}]`, logits[t]);
    if (vocabSize < 0) vocabSize = row.length;
    else if (row.length !== vocabSize) {
      throw new RangeError(
        `charCrossEntropy: logits${at}[${t}] has length ${row.length} but ${firstRow} has length ${vocabSize}; every time step needs the same vocabulary size`,
      );
    }
    const y = targets[t];
    if (typeof y !== 'number' || !Number.isInteger(y) || y < 0 || y >= vocabSize) {
      throw new RangeError(`charCrossEntropy: targets${at}[${t}] = ${describe(y)} must be an integer in [0, ${vocabSize})`);
    }
    total += negLogSoftmaxAt(row, y);
  }
  return { total, count: logits.length, vocabSize };
}

/**
 * Perplexity = exp(mean cross-entropy in nats): the effective number of characters the model is
 * choosing between at each step. A uniform guess over V characters has perplexity V.
 * (If the loss is in bits, perplexity is 2^loss instead; this function expects nats.)
 *
 * For several sequences pass the per-character mean over all of them ({@link charCrossEntropy} with
 * a list of sequences, or `train`'s epoch loss, which weights batches by their characters) — not
 * the mean of per-sequence means. Above ln(Number.MAX_VALUE) ≈ 709.78 nats the result is Infinity
 * (the true value exceeds float64).
 *
 * @param meanCrossEntropyNats a mean cross-entropy in nats (≥ 0)
 * @example
 * ```ts
 * perplexity(Math.log(4)); // 4
 * ```
 */
export function perplexity(meanCrossEntropyNats: number): number {
  const x = meanCrossEntropyNats;
  if (typeof x !== 'number' || Number.isNaN(x) || x < 0) {
    throw new RangeError(
      `perplexity: meanCrossEntropyNats must be a number >= 0 (a cross-entropy, not a log-likelihood), got ${describe(x)}`,
    );
  }
  return Math.exp(x);
}

/**
 * One step of a character model: read character `id` with the previous hidden state (undefined
 * at the first step) and return the logits for the next character and the new state. Any model
 * (a hand-written RNN, a tf.js layer, a lookup table in a test) can be sampled through this.
 *
 * @example
 * ```ts
 * const stepper: CharStepper<number[]> = {
 *   step(id, h) { const hNext = rnnCell(vocab.oneHot([id])[0], h ?? zeros); return { logits: Why(hNext), state: hNext }; },
 * };
 * ```
 */
export interface CharStepper<S> {
  step(id: number, state: S | undefined): { logits: ArrayLike<number>; state: S };
  /** Free the last state (e.g. tensors), called by {@link sampleText} when it is done. */
  dispose?(state?: S): void;
}

/** Options for {@link sampleText}. */
export interface SampleTextOptions {
  /** Text fed to the model first to build up its state; at least one character. */
  prime: string;
  /** How many characters to generate after the prime. */
  length: number;
  /**
   * Softmax temperature for sampling, T > 0 (default 1; Infinity: uniform). As T → 0 sampling becomes
   * the argmax; T = 0 itself is an error — use `greedy: true`. Giving it together with `greedy` is an error.
   */
  temperature?: number;
  /** The random stream for sampling, so a sample is reproducible from its seed. */
  rng: Rng;
  /** Take the most likely character each step (ties: the lowest id) instead of sampling: the T → 0 limit (which would split ties at random). */
  greedy?: boolean;
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/**
 * Generate text one character at a time, as in the lecture: feed `prime` through the model
 * (carrying the state) to condition it, then repeatedly turn the last logits into a character
 * (sampled from softmax(logits / temperature), or the argmax if `greedy`) and feed that character
 * back in as the next input. Returns `prime` followed by the `length` generated characters.
 *
 * Interrupt (the course kernel's ■) stops it between model steps with a `KeyboardInterrupt` whose
 * message says how many characters were generated and whose `partial` is the text so far (prime
 * included); the stepper's last state is disposed either way.
 *
 * @throws KeyboardInterrupt when interrupted (see above)
 * @example
 * ```ts
 * const text = sampleText(stepper, vocab, { prime: 'h', length: 4, temperature: 0.5, rng: new Rng(1) });
 * ```
 */
export function sampleText<S>(stepper: CharStepper<S>, vocab: CharVocab, options: SampleTextOptions): string {
  if (stepper == null || typeof stepper.step !== 'function') {
    throw new TypeError(`sampleText: stepper must be an object with a step(id, state) method, got ${describe(stepper)}`);
  }
  if (!(vocab instanceof CharVocab)) {
    throw new TypeError(`sampleText: vocab must be a CharVocab, got ${describe(vocab)}`);
  }
  if (options == null || typeof options !== 'object') {
    throw new TypeError(`sampleText: options must be an object { prime, length, rng, temperature?, greedy? }, got ${describe(options)}`);
  }
  checkOptions('sampleText', options, ['prime', 'length', 'rng', 'temperature', 'greedy']);
  const { prime, length, temperature = 1, rng, greedy = false } = options;
  if (typeof greedy !== 'boolean') throw new TypeError(`sampleText: options.greedy must be true or false, got ${describe(greedy)}`);
  if (greedy && options.temperature !== undefined) {
    // A temperature does not change the argmax: accepting one would silently ignore it.
    throw new RangeError(`sampleText: options.temperature (${describe(options.temperature)}) has no effect with greedy: true (the argmax); give one or the other`);
  }
  if (typeof prime !== 'string' || prime.length === 0) {
    // Without at least one input there are no logits to sample the first character from.
    throw new RangeError(`sampleText: prime must be a non-empty string, got ${describe(prime)}`);
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`sampleText: length must be a non-negative integer, got ${describe(length)}`);
  }
  checkTemperature('sampleText', temperature, 'options.temperature');
  if (!(rng instanceof Rng)) {
    throw new TypeError(`sampleText: rng must be an Rng (seeded randomness), got ${describe(rng)}`);
  }
  const primeIds = vocab.encode(prime);

  let state: S | undefined = undefined;
  let logits: ArrayLike<number> = [];
  let stepCount = 0;
  const feed = (id: number): void => {
    const out = stepper.step(id, state);
    if (out == null || !isArrayLike(out.logits)) {
      throw new TypeError(`sampleText: stepper.step must return { logits, state }; step ${stepCount} returned ${describe(out)}`);
    }
    if (out.logits.length !== vocab.size) {
      throw new RangeError(
        `sampleText: stepper.step returned ${out.logits.length} logits at step ${stepCount} but the vocabulary has ${vocab.size} characters; they must match`,
      );
    }
    checkLogits('sampleText', `logits at step ${stepCount}`, out.logits);
    state = out.state;
    logits = out.logits;
    stepCount++;
  };

  const generated: number[] = [];
  const op = interruptible('sampleText');
  try {
    for (const [i, id] of primeIds.entries()) {
      if (op.reason) op.throwIfStopped(`reading ${i}/${primeIds.length} characters of the prime`, prime);
      feed(id);
    }
    for (let i = 0; i < length; i++) {
      const next = greedy ? argmax(logits) : rng.choice(softmax(logits, temperature));
      generated.push(next);
      // The last character's logits would never be used, so it is not fed (saves one model step).
      if (i < length - 1) {
        // The partial text is spelled only when stopping: spelling it every step would cost O(length²).
        if (op.reason) op.throwIfStopped(`${i + 1}/${length} characters`, prime + vocab.decode(generated));
        feed(next);
      }
    }
  } finally {
    // Also when stopped or when the stepper throws: its last state (tensors, for modelStepper) is freed.
    stepper.dispose?.(state);
    op.end();
  }
  return prime + vocab.decode(generated);
}
