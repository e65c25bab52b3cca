/**
 * Seeded randomness: every random source in the course draws from an {@link Rng} built from a
 * stated seed, so a notebook run twice shows the same numbers and its claims can be checked.
 *
 * The generator is mulberry32 (Tommy Ettinger), a 32-bit-state generator that is small, fast and
 * passes gjrand/PractRand well enough for teaching-sized experiments. It is NOT cryptographic and
 * its period is 2^32, which is plenty for the few million draws a lesson makes.
 * Reference: https://github.com/bryc/code/blob/master/jshash/PRNGs.md#mulberry32
 */
import { describe } from './describe';

const TWO_POW_32 = 4294967296;


/**
 * A seeded pseudo-random generator (mulberry32) with the draws the course needs.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * rng.next();            // same number every run with seed 42
 * rng.int(4);            // 0, 1, 2 or 3
 * rng.normal(0, 0.1);    // a Gaussian draw
 * ```
 */
export class Rng {
  /** The 32-bit mulberry32 state; advanced by a fixed odd constant each draw, so every state is visited. */
  private state: number;

  /**
   * @param seed any safe integer (negative allowed). The state has 32 bits, so the high bits are
   *   mixed into the low ones; two distinct seeds can still (rarely) give the same stream.
   * @example
   * ```ts
   * const rng = new Rng(2024);
   * ```
   */
  constructor(seed: number) {
    if (typeof seed !== 'number' || !Number.isSafeInteger(seed)) {
      throw new TypeError(`Rng: seed must be a safe integer, got ${describe(seed)}`);
    }
    // Fold the high bits in too, so seeds such as 1 and 2^32 + 1 do not silently give the same stream.
    const lo = seed >>> 0;
    const hi = Math.floor(seed / TWO_POW_32) >>> 0;
    this.state = (lo ^ Math.imul(hi, 0x9e3779b1)) >>> 0;
  }

  /** One raw 32-bit output, as an unsigned integer in [0, 2^32). */
  private nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /**
   * A uniform number in [0, 1) with 32 bits of resolution.
   *
   * @example
   * ```ts
   * const u = new Rng(1).next(); // 0 <= u < 1
   * ```
   */
  next(): number {
    return this.nextUint32() / TWO_POW_32;
  }

  /**
   * A uniform integer in [0, n). Uses rejection so that no value is favoured when n does not
   * divide 2^32 (plain `floor(next() * n)` is slightly biased).
   *
   * @param n a positive integer, at most 2^32
   * @example
   * ```ts
   * const die = new Rng(7).int(6) + 1; // 1..6
   * ```
   */
  int(n: number): number {
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > TWO_POW_32) {
      throw new RangeError(`Rng.int: n must be a positive integer no larger than 2^32, got ${describe(n)}`);
    }
    const limit = Math.floor(TWO_POW_32 / n) * n;
    let u = this.nextUint32();
    while (u >= limit) u = this.nextUint32();
    return u % n;
  }

  /**
   * A Gaussian draw by the Box–Muller transform. Each call consumes exactly two uniforms (the
   * second Box–Muller value is discarded) so that the stream position does not depend on call
   * history, which keeps forks and replays easy to reason about.
   *
   * @param mean a finite number (default 0)
   * @param std a finite number >= 0 (default 1)
   * @example
   * ```ts
   * const w = new Rng(3).normal(0, 0.01); // a small initial weight
   * ```
   */
  normal(mean = 0, std = 1): number {
    if (typeof mean !== 'number' || !Number.isFinite(mean)) {
      throw new RangeError(`Rng.normal: mean must be a finite number, got ${describe(mean)}`);
    }
    if (typeof std !== 'number' || !Number.isFinite(std) || std < 0) {
      throw new RangeError(`Rng.normal: std must be a finite number >= 0, got ${describe(std)}`);
    }
    // 1 - next() lies in (0, 1], so the logarithm is finite.
    const u1 = 1 - this.next();
    const u2 = this.next();
    const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    return mean + std * z;
  }

  /**
   * Shuffle `array` in place (Fisher–Yates, every permutation equally likely) and return it.
   *
   * @example
   * ```ts
   * const order = new Rng(0).shuffle([0, 1, 2, 3]); // e.g. [2, 0, 3, 1]
   * ```
   */
  shuffle<T>(array: T[]): T[] {
    if (!Array.isArray(array)) {
      throw new TypeError(`Rng.shuffle: array must be an array, got ${describe(array)}`);
    }
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }

  /**
   * A uniformly random permutation of 0, 1, …, n−1 (e.g. the order of training windows in an epoch).
   *
   * @param n a non-negative integer
   * @example
   * ```ts
   * const order = new Rng(5).permutation(4); // e.g. [3, 1, 0, 2]
   * ```
   */
  permutation(n: number): number[] {
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
      throw new RangeError(`Rng.permutation: n must be a non-negative integer, got ${describe(n)}`);
    }
    return this.shuffle(Array.from({ length: n }, (_, i) => i));
  }

  /**
   * Sample an index with probability proportional to `probs[i]`. The weights need not sum to 1,
   * so softmax outputs with rounding error (or raw counts) can be passed directly. An index with
   * weight 0 is never returned.
   *
   * @param probs non-negative finite weights, at least one positive
   * @example
   * ```ts
   * const next = new Rng(1).choice([0.1, 0.7, 0.2]); // 1 most of the time
   * ```
   */
  choice(probs: ArrayLike<number>): number {
    if (probs == null || typeof probs !== 'object' || typeof (probs as ArrayLike<number>).length !== 'number') {
      throw new TypeError(`Rng.choice: probs must be an array of weights, got ${describe(probs)}`);
    }
    if (probs.length === 0) {
      throw new RangeError('Rng.choice: probs must not be empty, got 0 weights');
    }
    let total = 0;
    let lastPositive = -1;
    for (let i = 0; i < probs.length; i++) {
      const p = probs[i];
      if (typeof p !== 'number' || !Number.isFinite(p) || p < 0) {
        throw new RangeError(`Rng.choice: probs must be finite and non-negative, got probs[${i}] = ${describe(p)}`);
      }
      total += p;
      if (p > 0) lastPositive = i;
    }
    if (!(total > 0)) {
      throw new RangeError(`Rng.choice: probs must have a positive sum, got all ${probs.length} weights equal to 0`);
    }
    const u = this.next() * total;
    let cum = 0;
    for (let i = 0; i < probs.length; i++) {
      cum += probs[i];
      if (u < cum) return i;
    }
    // Rounding can leave u a hair above the running sum; fall back to the last index that can occur.
    return lastPositive;
  }

  /**
   * A child generator seeded from this one's next output: the parent advances by one draw, and
   * the child's stream differs from the parent's, so e.g. weight initialisation and data
   * shuffling can each get their own stream and adding draws to one does not shift the other.
   *
   * @example
   * ```ts
   * const root = new Rng(42);
   * const initRng = root.fork();
   * const dataRng = root.fork();
   * ```
   */
  fork(): Rng {
    // Hash the output again (with a different odd multiplier) so the child does not start at a
    // state the parent is about to visit next.
    let s = this.nextUint32();
    s = Math.imul(s ^ (s >>> 16), 0x85ebca6b);
    s = Math.imul(s ^ (s >>> 13), 0xc2b2ae35);
    s = (s ^ (s >>> 16)) >>> 0;
    return new Rng(s);
  }
}

/**
 * An integer seed for a tf.js random op (`tf.randomNormal`, `tf.multinomial`, initializers'
 * `seed` option), drawn from `rng`. The result is in [1, 2^31 − 1): tf.js treats a seed of 0
 * (falsy) as "no seed" and then uses Math.random, so 0 is never returned.
 *
 * @example
 * ```ts
 * const rng = new Rng(42);
 * const W = tf.randomNormal([4, 8], 0, 0.1, 'float32', tfSeed(rng));
 * ```
 */
export function tfSeed(rng: Rng): number {
  if (!(rng instanceof Rng)) {
    throw new TypeError(`tfSeed: rng must be an Rng, got ${describe(rng)}`);
  }
  return 1 + rng.int(2147483646);
}
