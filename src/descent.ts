/**
 * Many small gradient descents at once, and the statistics of their paths: the bookkeeping behind
 * lesson 07's cliff (Pascanu, Mikolov & Bengio 2013, §3: the error surface of a one-unit RNN), kept
 * out of the lesson so it shows only the rescaling rules it compares.
 *
 * Each run is a point θ ∈ ℝ^P (P parameters, e.g. (w, b)); all R runs step together as P tensors of
 * shape [R], so one tf.js op serves every run. The runs do not interact: the gradient function must
 * return, for parameter p, ∂L_r/∂θ_{r,p} of each run's own loss (take tf.grads of the SUM of the runs'
 * losses: the runs are independent, so the gradient of the sum is each run's gradient).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { describe } from './describe';
import { shapeText } from './inputs';

/** Options of {@link descendPaths}. */
export interface DescentOptions {
  /** Number of gradient steps (a positive integer). */
  steps: number;
  /** Learning rate η > 0: θ ← θ − η · scale · g. */
  learningRate: number;
  /**
   * The rescaling rule: given each run's gradient norm ‖g_r‖ ([R]), the factor ([R]) its gradient is
   * multiplied by. Default: none (plain descent, factor 1). Norm clipping at c is
   * `(n) => tf.minimum(1, tf.div(c, n))` (Pascanu et al. 2013, Algorithm 1). Called inside tf.tidy.
   */
  scale?: (norm: tf.Tensor1D) => tf.Tensor;
}

/** The recorded paths of {@link descendPaths}. */
export interface DescentPaths {
  /** points[s][r] = θ of run r after s steps (s = 0 is the start): [steps + 1][runs][P]. */
  points: number[][][];
  /** norms[s][r] = ‖g‖ of run r at step s + 1, before rescaling: [steps][runs]. */
  norms: number[][];
}

const DESCENT_KEYS = ['steps', 'learningRate', 'scale'] as const;

/**
 * Run R independent gradient descents together and record every point and gradient norm.
 *
 * @param grad the gradient of the runs' losses: given P tensors of shape [R] (parameter p of every run),
 *   returns P tensors of shape [R]; typically `tf.grads((w, b) => tf.sum(lossOf(w, b)))`.
 * @param starts the starting points, [R][P] numbers.
 * @param options `{ steps, learningRate, scale? }` (see {@link DescentOptions}).
 * @returns points [steps + 1][R][P] and norms [steps][R]; a run that overflows keeps going as NaN/±Infinity
 *   (callers decide what that means; {@link pathStats} counts it as outside and as an infinite loss).
 * @throws TypeError naming the argument for a ragged or empty `starts`, a non-finite start, a `grad` that
 *   returns the wrong number or shape of tensors, a non-positive or non-integer `steps`, or an unknown option.
 * @example
 * const gradOf = tf.grads((w: tf.Tensor, b: tf.Tensor) => tf.sum(lossOf(w, b)));
 * const clipped = descendPaths(gradOf, [[6.5, -2], [7, -3]], { steps: 300, learningRate: 0.04,
 *   scale: (n) => tf.minimum(1, tf.div(10, n)) });            // ‖ĝ‖ capped at c = 10
 * clipped.points[300][1];                                       // run 1's final (w, b)
 */
export function descendPaths(
  grad: (params: tf.Tensor[]) => tf.Tensor[],
  starts: number[][],
  options: DescentOptions,
): DescentPaths {
  const where = 'descendPaths';
  checkOptions(where, options, DESCENT_KEYS);
  if (typeof grad !== 'function') throw new TypeError(`${where}: grad must be a function (params: Tensor[]) => Tensor[]; got ${describe(grad)}`);
  if (!Array.isArray(starts) || starts.length === 0 || !Array.isArray(starts[0]) || starts[0].length === 0) {
    throw new TypeError(`${where}: starts must be a non-empty [runs][parameters] array of numbers; got ${describe(starts)}`);
  }
  const R = starts.length, P = starts[0].length;
  starts.forEach((s, r) => {
    if (!Array.isArray(s) || s.length !== P) throw new TypeError(`${where}: starts must be [runs][parameters] with ${P} parameters per run (from starts[0]); starts[${r}] is ${describe(s)}`);
    s.forEach((v, p) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where}: starts[${r}][${p}] must be a finite number; got ${describe(v)}`);
    });
  });
  const { steps, learningRate, scale } = options ?? ({} as DescentOptions);
  if (!Number.isInteger(steps) || steps < 1) throw new TypeError(`${where}: options.steps must be a positive integer; got ${describe(steps)}`);
  if (typeof learningRate !== 'number' || !(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new TypeError(`${where}: options.learningRate must be a finite number > 0; got ${describe(learningRate)}`);
  }
  if (scale !== undefined && typeof scale !== 'function') throw new TypeError(`${where}: options.scale must be a function (norm: Tensor1D [runs]) => Tensor [runs]; got ${describe(scale)}`);

  const column = (p: number) => starts.map((s) => s[p]);
  let params: tf.Tensor1D[] = Array.from({ length: P }, (_, p) => tf.tensor1d(column(p)));   // P × [R]
  const points: number[][][] = [starts.map((s) => s.slice())];
  const norms: number[][] = [];
  const read = (ts: tf.Tensor1D[]) => {
    const cols = ts.map((t) => t.dataSync());
    return Array.from({ length: R }, (_, r) => cols.map((c) => c[r]));   // [R][P]
  };
  try {
    for (let s = 0; s < steps; s++) {
      const [next, norm] = tf.tidy(() => {
        const g = grad(params);
        if (!Array.isArray(g) || g.length !== P || g.some((t) => !(t instanceof tf.Tensor) || t.size !== R)) {
          throw new TypeError(`${where}: grad must return ${P} tensors of shape [${R}] (one per parameter, one entry per run); got ${describe(g)}`);
        }
        const flat = g.map((t) => t.reshape([R]));                                           // P × [R]
        const n = tf.sqrt(flat.map((t) => tf.square(t)).reduce((a, b) => tf.add(a, b))) as tf.Tensor1D;   // ‖g_r‖, [R]
        const k = scale ? scale(n) : tf.onesLike(n);                                          // [R]
        if (k.size !== R) throw new TypeError(`${where}: options.scale must return one factor per run, shape [${R}]; got shape ${shapeText(k.shape)}`);
        const stepped = params.map((t, p) => tf.sub(t, tf.mul(learningRate, tf.mul(k.reshape([R]), flat[p]))) as tf.Tensor1D);
        return [stepped, n] as [tf.Tensor1D[], tf.Tensor1D];
      });
      tf.dispose(params);
      params = next;
      points.push(read(params));
      norms.push(Array.from(norm.dataSync()));
      norm.dispose();
    }
  } finally {
    tf.dispose(params);
  }
  return { points, norms };
}

/** Per-run statistics of a path (see {@link pathStats}). */
export interface PathStats {
  /** The longest single step ‖θ_s − θ_{s−1}‖ (Infinity when a step is not finite). */
  longest: number;
  /** The step s (1-based) at which the longest step was taken (the first one on ties). */
  longestAt: number;
  /** The loss just before the longest step, at θ_{longestAt − 1}. */
  lossBefore: number;
  /** The loss just after it, at θ_{longestAt} (Infinity when not finite). */
  lossAfter: number;
  /** The loss at the last point (Infinity when not finite). */
  final: number;
  /** Whether any point of the path was outside the region (`inside` false, or a NaN coordinate). */
  left: boolean;
}

/**
 * Per-run statistics of recorded descent paths: the longest single step, the loss just before and just
 * after it, the final loss, and whether the path ever left a region.
 *
 * @param points [steps + 1][runs][P], as {@link descendPaths} returns.
 * @param options `lossAt(points [n][P]) → n losses` (evaluated in one call per kind of point);
 *   `inside(point) → boolean` (default: always inside). A loss that is NaN or ±Infinity is reported as Infinity.
 * @returns one {@link PathStats} per run.
 * @throws TypeError for fewer than 2 points, a ragged `points`, or a `lossAt` that returns the wrong length.
 * @example
 * const stats = pathStats(paths.points, { lossAt: (ps) => ps.map(([w, b]) => loss(w, b)),
 *   inside: ([w, b]) => w >= -2 && w <= 10 && b >= -8 && b <= 4 });
 * stats.filter((s) => s.longest > 2 && s.lossAfter >= 10 * s.lossBefore).length;   // runs thrown uphill
 */
export function pathStats(
  points: number[][][],
  options: { lossAt: (points: number[][]) => ArrayLike<number>; inside?: (point: number[]) => boolean },
): PathStats[] {
  const where = 'pathStats';
  checkOptions(where, options, ['lossAt', 'inside']);
  if (!Array.isArray(points) || points.length < 2 || !Array.isArray(points[0]) || points[0].length === 0) {
    throw new TypeError(`${where}: points must be [steps + 1][runs][parameters] with at least 2 points per run; got ${describe(points)}`);
  }
  const { lossAt, inside = () => true } = options ?? ({} as never);
  if (typeof lossAt !== 'function') throw new TypeError(`${where}: options.lossAt must be a function (points [n][P]) => n losses; got ${describe(lossAt)}`);
  const R = points[0].length;
  points.forEach((row, s) => {
    if (!Array.isArray(row) || row.length !== R) throw new TypeError(`${where}: points[${s}] must hold ${R} runs (from points[0]); got ${describe(row)}`);
  });
  const losses = (ps: number[][]) => {
    const v = lossAt(ps);
    if (!v || v.length !== ps.length) throw new TypeError(`${where}: options.lossAt must return ${ps.length} losses; got ${describe(v)}`);
    return Array.from(v, (x) => (Number.isFinite(x) ? x : Infinity));
  };
  const S = points.length - 1;
  const walk = Array.from({ length: R }, (_, r) => {
    let longest = 0, longestAt = 1, left = !inside(points[0][r]) || points[0][r].some(Number.isNaN);
    for (let s = 1; s <= S; s++) {
      const a = points[s - 1][r], b = points[s][r];
      const len = Math.hypot(...b.map((v, p) => v - a[p]));
      const l = Number.isFinite(len) ? len : Infinity;
      if (l > longest) { longest = l; longestAt = s; }
      if (b.some(Number.isNaN) || !inside(b)) left = true;
    }
    return { longest, longestAt, left };
  });
  const before = losses(walk.map((w, r) => points[w.longestAt - 1][r]));
  const after = losses(walk.map((w, r) => points[w.longestAt][r]));
  const final = losses(points[S]);
  return walk.map((w, r) => ({ ...w, lossBefore: before[r], lossAfter: after[r], final: final[r] }));
}
