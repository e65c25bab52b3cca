/**
 * Fair comparisons of models over seeds: every contender gets the same learning-rate grid, the same
 * seeds and the same budget; each contender's rate is chosen by its mean validation loss (never by the
 * test data), and results are reported as mean [min, max] over the seeds. Lessons 08 and 09 compare
 * an LSTM, a GRU and parameter-matched vanilla RNNs this way.
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { describe } from './describe';
import { train, type TrainData, type TrainOptions, type TrainResult } from './train';

/** Summary of one quantity over seeds. */
export interface SeedStats {
  /** Arithmetic mean. */
  mean: number;
  /** Sample standard deviation (n − 1 in the denominator; 0 for one value). */
  std: number;
  min: number;
  max: number;
  /** How many values (seeds). */
  n: number;
}

/**
 * Mean, sample standard deviation and range of a quantity measured once per seed.
 * @throws RangeError for an empty list or a non-finite value (a diverged run must be reported, not averaged)
 * @example seedStats([0.0018, 0.0044, 0.0067]) // { mean: 0.00430, std: 0.00245, min: 0.0018, max: 0.0067, n: 3 }
 */
export function seedStats(values: readonly number[]): SeedStats {
  if (!Array.isArray(values) || values.length === 0) throw new RangeError(`seedStats(values): values must be a non-empty array of numbers, one per seed; got ${describe(values)}`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isFinite(v)) throw new RangeError(`seedStats(values): values[${i}] is ${describe(v)}; a non-finite result (a diverged run) must be reported, not averaged`);
  });
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const std = n > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, std, min: Math.min(...values), max: Math.max(...values), n };
}

/**
 * `mean [min, max]` (style 'range', the default) or `mean ± std` (style 'std') with `digits` decimals.
 * @example formatSeedStats(seedStats([1, 2, 4]), { digits: 2 }) // '2.33 [1.00, 4.00]'
 */
export function formatSeedStats(s: SeedStats, options: { digits?: number; style?: 'range' | 'std' } = {}): string {
  checkOptions('formatSeedStats', options, ['digits', 'style']);
  const d = options.digits ?? 4;
  if (!Number.isInteger(d) || d < 0 || d > 20) throw new RangeError(`formatSeedStats: options.digits must be an integer in [0, 20]; got ${describe(d)}`);
  const style = options.style ?? 'range';
  if (style === 'range') return `${s.mean.toFixed(d)} [${s.min.toFixed(d)}, ${s.max.toFixed(d)}]`;
  if (style === 'std') return `${s.mean.toFixed(d)} ± ${s.std.toFixed(d)}`;
  throw new RangeError(`formatSeedStats: options.style must be 'range' or 'std'; got ${describe(style)}`);
}

/** One model family in a {@link learningRateSweep}. */
export interface SweepContender {
  /** A label for tables and for {@link LearningRateSweep.chosen}. */
  name: string;
  /** A fresh model initialised from `seed`. */
  build: (seed: number) => tf.LayersModel;
}

/** One training of a {@link learningRateSweep}. */
export interface SweepRun {
  model: string;
  learningRate: number;
  seed: number;
  /** The trained model (dispose it when done, or call {@link LearningRateSweep.disposeExcept}). */
  net: tf.LayersModel;
  /** Validation loss after each epoch. */
  valCurve: number[];
  /** Validation loss after the last epoch: what the rate is chosen by. */
  val: number;
  result: TrainResult;
}

/** What {@link learningRateSweep} returns. */
export interface LearningRateSweep {
  /** Every training, contender by contender, rate by rate, seed by seed. */
  runs: SweepRun[];
  /** Each contender's learning rate with the lowest mean final validation loss over the seeds. */
  chosen: Record<string, number>;
  /** The runs at each contender's chosen rate, one per seed. */
  chosenRuns: SweepRun[];
  /** One row per contender and rate: validation loss over seeds, and whether it was chosen (for `table`). */
  rows: Record<string, string | number>[];
  /** Dispose every trained model except those given. */
  disposeExcept(keep: readonly tf.LayersModel[]): void;
}

/** Options of {@link learningRateSweep}: the grid, the seeds, and the training options every run shares. */
export interface LearningRateSweepOptions extends Omit<TrainOptions, 'learningRate' | 'validation' | 'seed'> {
  /** The learning-rate grid, the same for every contender. */
  learningRates: number[];
  /** The seeds: each seeds the model's initialisation (`build(seed)`) and the batch order (`train`'s seed). */
  seeds: number[];
}

/**
 * Train every contender at every learning rate with every seed on the same data and budget, and choose
 * each contender's rate by its mean final validation loss. The test data never enter: compare the
 * chosen runs on held-out data afterwards, once.
 *
 * @param contenders models to compare, each `{ name, build(seed) }`
 * @param data training data `{ x, y }` (`[batch, time, features]`, as for `train`)
 * @param validation held-out data for choosing the rate
 * @param options `learningRates`, `seeds` and any `train` options shared by all runs (epochs, batchSize,
 *   optimizer, clipNorm, loss …); `verbose` defaults to false
 * @throws RangeError for an empty grid or seed list, duplicate names, or a non-finite validation loss in
 *   every run of a contender
 * @example
 * ```ts
 * const sw = await learningRateSweep(
 *   [{ name: 'LSTM', build: (seed) => buildLSTM({ inputSize: 2, hiddenSize: 16, outputSize: 1, seed }) },
 *    { name: 'GRU', build: (seed) => buildGRU({ inputSize: 2, hiddenSize: 19, outputSize: 1, seed }) }],
 *   trainSet, valSet, { learningRates: [0.003, 0.01, 0.03], seeds: [1, 2, 3], epochs: 8, batchSize: 32, optimizer: 'adam' });
 * table(sw.rows);
 * ```
 */
export async function learningRateSweep(contenders: SweepContender[], data: TrainData, validation: TrainData,
  options: LearningRateSweepOptions): Promise<LearningRateSweep> {
  const where = 'learningRateSweep';
  if (!Array.isArray(contenders) || contenders.length === 0) throw new TypeError(`${where}(contenders): a non-empty array of { name, build(seed) }; got ${describe(contenders)}`);
  const names = new Set<string>();
  contenders.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || typeof c.build !== 'function') throw new TypeError(`${where}(contenders): contenders[${i}] must be { name: string, build(seed) }; got ${describe(c)}`);
    if (names.has(c.name)) throw new RangeError(`${where}(contenders): the name '${c.name}' is used twice`);
    names.add(c.name);
  });
  if (!validation) throw new TypeError(`${where}(validation): held-out data { x, y } is required: the learning rate is chosen on it`);
  const { learningRates, seeds, ...shared } = options ?? ({} as LearningRateSweepOptions);
  for (const [name, list] of [['learningRates', learningRates], ['seeds', seeds]] as const) {
    if (!Array.isArray(list) || list.length === 0 || list.some((v) => typeof v !== 'number' || !Number.isFinite(v))) {
      throw new RangeError(`${where}: options.${name} must be a non-empty array of numbers; got ${describe(list)}`);
    }
  }
  const runs: SweepRun[] = [];
  for (const c of contenders) {
    for (const learningRate of learningRates) {
      for (const seed of seeds) {
        const net = c.build(seed);
        let result: TrainResult;
        try {
          result = await train(net, data, { verbose: false, ...shared, learningRate, validation, seed } as TrainOptions);
        } catch (e) {
          // A bad option or data fails the first run: free what the sweep made before reporting it.
          net.dispose();
          for (const r of runs) r.net.dispose();
          throw e;
        }
        const valCurve = result.epochs.map((e) => e.valLoss ?? NaN);
        runs.push({ model: c.name, learningRate, seed, net, valCurve, val: valCurve[valCurve.length - 1] ?? NaN, result });
      }
    }
  }
  const chosen: Record<string, number> = {};
  const rows: Record<string, string | number>[] = [];
  for (const c of contenders) {
    const perRate = learningRates.map((learningRate) => {
      const vals = runs.filter((r) => r.model === c.name && r.learningRate === learningRate).map((r) => r.val);
      // A diverged seed makes the rate's mean non-finite: it can then never be chosen.
      const mean = vals.every(Number.isFinite) ? vals.reduce((a, b) => a + b, 0) / vals.length : Infinity;
      return { learningRate, vals, mean };
    });
    const best = perRate.reduce((a, b) => (b.mean < a.mean ? b : a));
    if (!Number.isFinite(best.mean)) throw new RangeError(`${where}: every learning rate of '${c.name}' gave a non-finite validation loss in some seed (rates ${learningRates.join(', ')})`);
    chosen[c.name] = best.learningRate;
    for (const r of perRate) {
      rows.push({
        model: c.name, 'learning rate': r.learningRate,
        [`validation loss, mean [min, max] of ${seeds.length} seeds`]: r.vals.every(Number.isFinite) ? formatSeedStats(seedStats(r.vals)) : `diverged (${r.vals.map((v) => (Number.isFinite(v) ? v.toFixed(4) : String(v))).join(', ')})`,
        chosen: r.learningRate === best.learningRate ? '✔' : '',
      });
    }
  }
  const chosenRuns = runs.filter((r) => r.learningRate === chosen[r.model]);
  return {
    runs, chosen, chosenRuns, rows,
    disposeExcept(keep) {
      for (const r of runs) if (!keep.includes(r.net)) r.net.dispose();
    },
  };
}
