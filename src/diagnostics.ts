/**
 * Gradient-flow diagnostics: how ‖∂L/∂h_t‖ vanishes or explodes through time.
 *
 * The gradient reaching h_k from step T is a product of Jacobians,
 *   ∂h_T/∂h_k = ∏_{t=k+1..T} ∂h_t/∂h_{t−1} = ∏ diag(tanh'(a_t)) W_hh     (vanilla RNN, column vectors)
 * so ‖∂h_{t}/∂h_{t−1}‖ ≤ ‖W_hh‖·γ = λ₁γ with λ₁ the largest singular value of W_hh and γ the largest
 * derivative of the activation (1 for tanh, ¼ for σ): below 1 the gradient shrinks geometrically,
 * well above 1 it can grow (Bengio et al. 1994; Pascanu et al. 2013; Hochreiter 1991).
 *
 * Everything here is exact: gradients by automatic differentiation with zero probes added to each
 * state, Jacobians by one vector–Jacobian product per step (the batch holds the identity's rows).
 */
import * as tf from '@tensorflow/tfjs';
import { recurrentLayers, specOf } from './builders';
import { GateActivation, RnnActivation } from './family';
import { checkForwardModel, modelLengths, runModel } from './forward';
import { Lengths, allFull, resolveLengths, maskOf } from './lengths';
import { dropAbandonedTape } from './internals';
import { interruptible, stepProgress } from './interrupt';
import { RecurrentLayer } from './layers';
import { readsOption } from './cells';
import { LossSpec, checkLossFitsHead, lossFunction } from './losses';
import { Matrix, identity, matmul, sigmaMaxPower, singularValues, spectralRadius, symmetricEigenvalues, transpose } from './linalg';
import { getLectureWeights } from './weights';
import { checkOptions } from './options';
import { checkFinite, shapeText } from './inputs';
import { describe } from './describe';

/** Run `fn` in a tf.tidy scope and return its plain (non-tensor) result; every tensor is freed. */
function tidyValue<T>(fn: () => T): T {
  let out!: T;
  tf.tidy(() => { out = fn(); });
  return out;
}

/**
 * Largest derivative γ of each activation: the Elman ones (σ' ≤ ¼, tanh' ≤ 1, relu' ≤ 1) and the
 * gates' hardSigmoid (tf.js's clip(0.2x + 0.5, 0, 1): slope 0.2).
 */
export const ACTIVATION_GAMMA: Record<RnnActivation | GateActivation, number> = { tanh: 1, sigmoid: 0.25, relu: 1, linear: 1, hardSigmoid: 0.2 };

/** What {@link spectrum} returns. */
export interface Spectrum {
  /** Largest singular value λ₁ = ‖W‖₂ (power iteration). */
  sigmaMax: number;
  /** All singular values, descending. */
  singularValues: number[];
  /** Spectral radius ρ(W) = max |eigenvalue|. */
  spectralRadius: number;
  /** Largest derivative of the activation. */
  gamma: number;
  /** The lecture's bound on one step's Jacobian norm: λ₁·γ. */
  bound: number;
  /**
   * LSTM/GRU layers: the largest derivative of the gate activation (¼ for σ, 0.2 for hardSigmoid),
   * which scales every gate's path through W_h. `gamma` stays the candidate's tanh (1).
   */
  gateGamma?: number;
}

function toMatrix(W: unknown, what: string): Matrix {
  if (W instanceof tf.Tensor) {
    if (W.rank !== 2) throw new Error(`${what}: W must be a matrix (rank 2); got shape ${shapeText(W.shape)}`);
    return W.arraySync() as Matrix;
  }
  if (!Array.isArray(W) || W.length === 0 || !W.every((r) => Array.isArray(r) && r.length === (W[0] as unknown[]).length)) {
    throw new TypeError(`${what}: W must be a tf.Tensor2D, a RecurrentLayer or a non-empty array of equal-length rows`);
  }
  return W as Matrix;
}

/**
 * The spectrum of a recurrent matrix and the lecture's bound λ₁γ. Given a layer, W is its W_hh
 * (for LSTM/GRU all gates' recurrent matrices stacked, [G·n, n]) and γ comes from its activation;
 * for LSTM/GRU layers `gateGamma` is the gate activation's γ (¼ for σ, 0.2 for tf.js's hardSigmoid),
 * `gamma` and `bound` stay those of the candidate's tanh (γ = 1). `options.activation` may also be
 * 'hardSigmoid' (γ = 0.2) for a plain matrix.
 *
 * @example
 * ```ts
 * const s = spectrum(layer);     // { sigmaMax: 0.93, spectralRadius: 0.88, gamma: 1, bound: 0.93, … }
 * ```
 */
export function spectrum(W: tf.Tensor | number[][] | RecurrentLayer, options: { activation?: RnnActivation | GateActivation } = {}): Spectrum {
  checkOptions('spectrum', options, ['activation']);
  let M: Matrix;
  let activation = options.activation ?? 'tanh';
  let gateGamma: number | undefined;
  if (W instanceof RecurrentLayer) {
    const named = getLectureWeights(W) as Record<string, number[][]>;
    const gates = W.family.gates;
    M = gates.flatMap((g) => named[`Wh${g}`]);
    if (readsOption(W.family, 'activation')) activation = options.activation ?? W.cellOptions.activation;
    else gateGamma = ACTIVATION_GAMMA[W.cellOptions.recurrentActivation];
  } else {
    M = toMatrix(W, 'spectrum');
  }
  const sigmaMax = sigmaMaxPower(M);
  const square = M.length === M[0].length;
  const gamma = ACTIVATION_GAMMA[activation];
  if (gamma === undefined) throw new RangeError(`spectrum: options.activation must be one of ${Object.keys(ACTIVATION_GAMMA).join(', ')}; got '${activation}'`);
  return {
    sigmaMax, singularValues: singularValues(M), spectralRadius: square ? spectralRadius(M) : NaN, gamma, bound: sigmaMax * gamma,
    ...(gateGamma !== undefined ? { gateGamma } : {}),
  };
}

/** Options of {@link gradientFlow}. */
export interface GradientFlowOptions {
  /** The loss on the last step only, or averaged over every step (many-to-many). Default 'last'. */
  lossAt?: 'last' | 'every';
  /** Loss. Default 'mse' (or 'crossEntropy' for a softmax head). */
  loss?: LossSpec;
  /**
   * Per-sequence lengths L_b of a batch padded at the end (1 ≤ L_b ≤ T; `number[]`, a typed array or a
   * `[batch]` tensor), as in {@link forwardModel}: each sequence runs over its own steps only, the loss
   * reads its output at step L_b (`lossAt: 'last'`) or its real steps only (`'every'`), and the norm at
   * step t is taken over the sequences that have step t. A token model built with `padId` finds them
   * in x itself (given as well, they must agree).
   */
  lengths?: Lengths;
  /** The same as `lengths`, as a `[batch, T]` mask of 1s then 0s (bool or float). */
  mask?: tf.Tensor;
}
const GRADIENT_FLOW_KEYS = ['lossAt', 'loss', 'lengths', 'mask'] as const;

/** Per recurrent layer and direction: the norms through time. */
export interface LayerFlow {
  name: string;
  /** Per direction (forward first): ‖∂L/∂h_t‖ for t = 1…T in processing order (and ‖∂L/∂c_t‖ for LSTMs). */
  directions: { dh: number[]; dc?: number[] }[];
}

/** What {@link gradientFlow} returns. */
export interface GradientFlow {
  /** The loss value. */
  loss: number;
  /** Recurrent layers, in order. */
  layers: LayerFlow[];
  /** ‖∂L/∂x_t‖ for t = 1…T (absent for token inputs). */
  dx?: number[];
  /** The verdict on the first layer's forward ‖∂L/∂h_t‖. */
  verdict: Verdict;
  /**
   * With lengths (or a mask, or a `padId` model's padding): how many sequences have step t, for
   * t = 1…T — the rows each norm at step t is taken over. Absent for an unpadded batch.
   */
  sequencesAt?: number[];
}

/**
 * ‖∂L/∂h_t‖ (and ‖∂L/∂c_t‖, ‖∂L/∂x_t‖) for every recurrent layer and step, exactly: a zero tensor is
 * added to every state, and the gradient of the loss with respect to that probe is ∂L/∂h_t.
 * Norms are taken over the whole batch (Frobenius).
 *
 * Padded batches (`lengths`, `mask`, or a token model's `padId`; PyTorch's packed-sequence semantics):
 * the norm at step t is the Frobenius norm over the sequences that have step t (L_b ≥ t); a sequence
 * past its end holds its state, so its padded steps get exactly zero gradient and add nothing. The
 * weighting is the loss's: with `lossAt: 'last'` (and many-to-one models) the loss is the mean over
 * sequences of each one's loss at its own last real step L_b, so every sequence's gradient is 1/batch
 * of what it would be alone; with `'every'` the loss is the mean over all real steps (Σ_b L_b terms),
 * so each sequence's gradient is L_b/Σ L_b times its own per-step mean's. `sequencesAt[t−1]` says how
 * many sequences the norm at step t covers (later steps are covered by fewer: divide by its square
 * root for a root-mean-square per sequence). Backward directions are indexed in processing order,
 * which for each sequence starts at its own last real step. The `verdict` of a padded batch with the
 * loss at each row's last step reads the rows aligned at their own ends (the norm k steps before
 * L_b, root-mean-square over the rows that reach back k steps), so short and long rows are compared
 * at the same distance from their loss.
 *
 * Interrupt (the course kernel's ■) stops it between the forward pass's time steps (or after the
 * backward pass, which cannot be cut) with a `KeyboardInterrupt`; no tensor is left behind.
 *
 * @example
 * ```ts
 * const flow = gradientFlow(model, x, y);                 // loss on the last step
 * show(gradientFlowFigure(flow, { bound: spectrum(recurrentLayers(model)[0]).bound }));
 * flow.verdict;                                           // { verdict: 'vanishing', rate: 0.71, … }
 * const padded = gradientFlow(model, x, y, { lengths: [3, 7, 5] });   // rows padded at the end
 * padded.sequencesAt;                                     // [3, 3, 3, 2, 2, 1, 1]
 * ```
 * @throws as {@link forwardModel} for bad lengths or masks (naming the row)
 */
export function gradientFlow(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, options: GradientFlowOptions = {}): GradientFlow {
  checkOptions('gradientFlow', options, GRADIENT_FLOW_KEYS);
  const spec = specOf(model);
  const lossAt = options.lossAt ?? 'last';
  if (lossAt !== 'last' && lossAt !== 'every') throw new RangeError(`gradientFlow: options.lossAt must be 'last' or 'every'; got '${lossAt}'`);
  if (lossAt === 'every' && spec.topology !== 'many-to-many') throw new Error(`gradientFlow: lossAt 'every' needs a many-to-many model (an output at every step); this one is '${spec.topology ?? 'many-to-one'}'`);
  const lossSpec = options.loss ?? (spec.outputActivation === 'softmax' ? 'crossEntropy' : 'mse');
  checkLossFitsHead('gradientFlow', lossSpec, model);
  const lossFn = lossFunction(lossSpec);
  const manyToOne = (spec.topology ?? 'many-to-one') === 'many-to-one';
  const tokens = spec.vocabSize !== undefined;
  const layers = recurrentLayers(model);
  const given = { lengths: options.lengths, mask: options.mask };
  checkForwardModel(model, x, given);
  const batch = x.shape[0];
  const T = (spec.topology === 'one-to-many' ? spec.sequenceLength : x.shape[1]) as number;
  const found = modelLengths(spec, x, given, 'gradientFlow');
  const lengths = found && !allFull(found, T) ? found : null;
  if (lengths && lossAt === 'every' && !manyToOne && typeof lossSpec === 'function' && lossSpec.length < 3) {
    throw new Error('gradientFlow: with lengths (or a mask, or padding) a custom loss must take the mask as its third argument (yTrue, yPred, mask) to average over real steps only; this one declares ' + lossSpec.length + ' arguments');
  }
  if (!manyToOne && (y.rank < 2 || y.shape[1] !== T)) {
    throw new RangeError(`gradientFlow: y must hold one target per step, [batch, time${tokens || spec.outputActivation === 'softmax' ? '] class ids' : ', outputs]'} with time = ${T}, for a ${spec.topology} model (lossAt '${lossAt}' reads the step it needs); got shape ${shapeText(y.shape)}`);
  }
  const op = interruptible('gradientFlow');
  try {
    return tidyValue(() => {
      // Zero probes: one per layer, direction, state and step. Their gradients are the ∂L/∂h_t.
      const flat: tf.Tensor[] = [];
      const probes = layers.map((layer) => Array.from({ length: layer.directions }, () => {
        const h = Array.from({ length: T }, () => tf.zeros([batch, layer.units]));
        const c = layer.family.hasCell ? Array.from({ length: T }, () => tf.zeros([batch, layer.units])) : undefined;
        flat.push(...h, ...(c ?? []));
        return { h, c };
      }));
      const withX = !tokens && x.dtype === 'float32';
      const f = (...args: tf.Tensor[]): tf.Scalar => {
        const xin = withX ? args[0] : x;
        let i = withX ? 1 : 0;
        const rebuilt = probes.map((dirs) => dirs.map((p) => ({
          h: p.h.map(() => args[i++]),
          c: p.c?.map(() => args[i++]),
        })));
        const { output } = runModel(model, xin, { probes: rebuilt, ...(lengths ? { lengths } : {}) }, (done) => op.throwIfStopped(() => `${done()} of the forward pass`));
        if (lossAt === 'last' && !manyToOne) {
          if (lengths) {
            // Each row's own last real step L_b: gather row b·T + L_b − 1 of [batch·T, k].
            const rows = tf.tensor1d(Array.from(lengths, (L, b) => b * T + L - 1), 'int32');
            // class ids [batch, T] → [batch]; outputs or targets [batch, T, k] → [batch, k]
            const last = (t: tf.Tensor) => tf.gather(t.rank === 2 ? tf.reshape(t, [batch * T]) : tf.reshape(t, [batch * T, -1]), rows);
            return lossFn(last(y), last(output));
          }
          const last = (t: tf.Tensor) => tf.squeeze(tf.slice(t, [0, t.shape[1]! - 1], [-1, 1]), [1]);
          return lossFn(last(y), last(output));
        }
        // Many-to-many over every step: the mean over real steps only (a padded target is never scored).
        if (lengths && !manyToOne) return lossFn(y, output, maskOf(lengths, T));
        return lossFn(y, output);
      };
      const args = withX ? [x, ...flat] : flat;
      const { value, grads } = tf.valueAndGrads(f)(args);
      op.throwIfStopped('the forward and backward passes');          // an interrupt during the backward pass
      const norms = tf.stack(grads.map((g) => scaledNorm(g))).dataSync();
      let i = 0;
      const dx = withX ? perStepNorms(grads[i++]) : undefined;
      const out: LayerFlow[] = layers.map((layer, l) => ({
        name: layer.name,
        directions: probes[l].map((p) => {
          const dh = p.h.map(() => norms[i++]);
          const dc = p.c?.map(() => norms[i++]);
          return { dh, dc };
        }),
      }));
      const sequencesAt = lengths ? Array.from({ length: T }, (_, t) => lengths.filter((L) => L > t).length) : undefined;
      // With ragged lengths and the loss at each row's own last step, the batch norm at step t mixes
      // rows whose loss is near (short rows) and far (long rows): the verdict reads the rows aligned at
      // their own ends instead (k steps before L_b, root-mean-square over the rows that reach back k).
      let curve = out[0].directions[0].dh;
      if (lengths && (lossAt === 'last' || manyToOne)) {
        const first = withX ? 1 : 0;                                                   // layer 0, forward h probes
        const perRow = tf.stack(grads.slice(first, first + T).map((g) => tf.norm(g, 'euclidean', 1))).arraySync() as number[][];  // [T][batch]
        const maxL = Math.max(...lengths);
        curve = Array.from({ length: maxL }, (_, j) => {
          const k = maxL - 1 - j;                                                        // steps before each row's end
          const vals = Array.from(lengths).flatMap((L, b) => (L - 1 - k >= 0 ? [perRow[L - 1 - k][b]] : []));
          return Math.sqrt(vals.reduce((a, v) => a + v * v, 0) / vals.length);
        });
      }
      return { loss: value.dataSync()[0], layers: out, dx, verdict: verdictOf(curve), ...(sequencesAt ? { sequencesAt } : {}) };
    });
  } catch (e) {
    dropAbandonedTape();
    throw e;
  } finally {
    op.end();
  }
}

/**
 * ‖g‖ computed as max|g|·‖g/max|g|‖: squaring float32 entries directly underflows below ~1e−19 and
 * overflows above ~1e19, exactly the ranges that vanishing and exploding gradients reach.
 */
function scaledNorm(g: tf.Tensor, axis?: number[]): tf.Tensor {
  const m = tf.max(tf.abs(g), axis, true);                                   // keepDims for broadcasting
  const safe = tf.where(tf.greater(m, 0), m, tf.onesLike(m));
  const n = tf.mul(tf.sqrt(tf.sum(tf.square(tf.div(g, safe)), axis, true)), m);
  return axis ? tf.reshape(n, [-1]) : tf.reshape(n, []);
}

function perStepNorms(g: tf.Tensor): number[] {
  // g: [batch, T, m] → ‖g[:, t, :]‖ per t
  return Array.from(scaledNorm(tf.transpose(g, [1, 0, 2]).reshape([g.shape[1]!, -1]), [1]).dataSync());
}

/** A verdict on gradient norms through time. */
export interface Verdict {
  /** 'vanishing' when the fitted per-step factor is below 1 − tolerance, 'exploding' above 1 + tolerance. */
  verdict: 'vanishing' | 'exploding' | 'stable';
  /** Fitted factor by which the norm changes per step back in time (exp of the log-linear slope). */
  rate: number;
  /** The steps (1-based, inclusive) the fit used. */
  steps: [number, number];
}

/**
 * Fit log‖g_t‖ = a + b·(T − t) by least squares and judge the per-step factor e^b. The last step is
 * left out (the loss enters there, so it does not follow the geometric law), as are zeros.
 *
 * @param norms ‖∂L/∂h_t‖ for t = 1…T, the loss at the end
 * @param options.tolerance how far from 1 the factor may be and still be 'stable'. Default 0.05.
 */
export function verdictOf(norms: number[], options: { tolerance?: number; from?: number; to?: number } = {}): Verdict {
  checkOptions('verdictOf', options, ['tolerance', 'from', 'to']);
  const T = norms.length;
  const tol = options.tolerance ?? 0.05;
  const from = options.from ?? 1;
  const to = options.to ?? Math.max(1, T - 1);
  const pts: [number, number][] = [];
  for (let t = from; t <= to; t++) {
    const v = norms[t - 1];
    if (v > 0 && Number.isFinite(v)) pts.push([T - t, Math.log(v)]);
  }
  if (pts.length < 2) return { verdict: 'stable', rate: 1, steps: [from, to] };
  const n = pts.length;
  const mx = pts.reduce((s, p) => s + p[0], 0) / n;
  const my = pts.reduce((s, p) => s + p[1], 0) / n;
  const b = pts.reduce((s, p) => s + (p[0] - mx) * (p[1] - my), 0) / pts.reduce((s, p) => s + (p[0] - mx) ** 2, 0);
  const rate = Math.exp(b);
  const verdict = rate < 1 - tol ? 'vanishing' : rate > 1 + tol ? 'exploding' : 'stable';
  return { verdict, rate, steps: [from, to] };
}

/** What {@link jacobianNorms} returns. */
export interface JacobianNorms {
  /** ‖∂h_T/∂h_k‖₂ for k = 1…T (the last is 1). For a batch: the mean over the sequences that have step k. */
  norms: number[];
  /** ‖∂h_t/∂h_{t−1}‖₂ for t = 2…T: the per-step factors whose product bounds the norms (a batch: mean as `norms`). */
  factors: number[];
  /**
   * For a batch of more than one sequence, or with lengths: each sequence's own result, over its real
   * steps only (`norms` has L_b entries, from ∂h_{L_b}/∂h_k), exactly as for that sequence alone.
   */
  sequences?: { norms: number[]; factors: number[] }[];
}

/** Options of {@link jacobianNorms}. */
export interface JacobianNormsOptions {
  /** Per-sequence lengths L_b of a batch padded at the end (1 ≤ L_b ≤ T). */
  lengths?: Lengths;
  /** The same as `lengths`, as a `[batch, T]` mask of 1s then 0s (bool or float). */
  mask?: tf.Tensor;
}

/**
 * The spectral norms ‖∂h_T/∂h_k‖ of the product of step Jacobians, for one input sequence, through
 * one layer's forward direction (for an LSTM the state is (h, c) and the h→h block is reported).
 *
 * Interrupt (the course kernel's ■) stops it between steps (of the forward pass, of the per-step
 * Jacobians, or of their products) with a `KeyboardInterrupt`; no tensor is left behind.
 *
 * A batch [batch, T, m], padded at the end with `lengths` or `mask` (PyTorch's packed-sequence
 * semantics): each sequence b is taken alone over its L_b real steps (its Jacobians from its own last
 * real step, ∂h_{L_b}/∂h_k; a goBackwards layer reads it from step L_b back), and `sequences[b]` is its
 * result. `norms[k−1]` and `factors` are then plain means over the sequences that have step k (each
 * such sequence weighted equally; the padding of the others takes no part).
 *
 * @param x one sequence [T, m] or [1, T, m], or a batch [batch, T, m]
 * @throws KeyboardInterrupt when interrupted; errors as {@link checkLengths} for bad lengths or masks
 * @example
 * ```ts
 * const { norms, factors } = jacobianNorms(layer, xOne);    // norms[k-1] = ‖∂h_T/∂h_k‖
 * const ragged = jacobianNorms(layer, xBatch, { lengths: [4, 9, 6] });
 * ragged.sequences![0].norms.length;                       // 4: ‖∂h_4/∂h_k‖, k = 1…4
 * ```
 */
export function jacobianNorms(layer: RecurrentLayer, x: tf.Tensor, options: JacobianNormsOptions = {}): JacobianNorms {
  if (!(layer instanceof RecurrentLayer)) throw new TypeError('jacobianNorms: layer must be a recurrent layer (rnnLayer, lstmLayer, gruLayer, or recurrentLayers(model)[i])');
  checkOptions('jacobianNorms', options, ['lengths', 'mask']);
  if (!(x instanceof tf.Tensor) || !(x.rank === 2 || x.rank === 3)) throw new Error(`jacobianNorms: x must be one sequence [T, m] or a batch [batch, time, features]; got ${x instanceof tf.Tensor ? shapeText(x.shape) : describe(x)}`);
  const padded = options.lengths != null || options.mask != null;
  if (x.rank === 3 && (x.shape[0] !== 1 || padded)) {
    checkFinite('jacobianNorms', 'x', x, '[batch, time, features]');
    const [batch, T] = x.shape as [number, number, number];
    const lengths = resolveLengths('jacobianNorms', options, batch, T) ?? new Int32Array(batch).fill(T);
    const sequences = Array.from(lengths, (L, b) => {
      const one = tf.slice(x, [b, 0, 0], [1, L, -1]);                                        // [1, L_b, m]
      try { return jacobianNorms(layer, one); } finally { one.dispose(); }
    });
    const meanAt = (pick: (r: JacobianNorms) => number[], k: number) => {
      const have = sequences.map(pick).filter((a) => a.length > k);
      return have.reduce((sum, a) => sum + a[k], 0) / have.length;
    };
    return {
      norms: Array.from({ length: Math.max(...lengths) }, (_, k) => meanAt((r) => r.norms, k)),
      factors: Array.from({ length: Math.max(...lengths) - 1 }, (_, k) => meanAt((r) => r.factors, k)),
      sequences,
    };
  }
  if (padded) {
    // One sequence [T, m] with its length: the batch path on [1, T, m].
    const one = tf.expandDims(x, 0);
    try { return jacobianNorms(layer, one, options); } finally { one.dispose(); }
  }
  checkFinite('jacobianNorms', 'x', x, '[time, features]');
  const n = layer.units;
  const cell = layer.family.hasCell;
  const S = cell ? 2 * n : n;
  const Js: Matrix[] = [];
  const op = interruptible('jacobianNorms');
  try {
    tf.tidy(() => {
      const x3 = x.rank === 2 ? tf.expandDims(x, 0) : x;                                      // [1, T, m]
      const { directions } = layer.forwardSequence(x3, {}, (t, T) => op.throwIfStopped(() => `${t}/${T} steps of the forward pass`));
      const trace = directions[0];
      const T = trace.h.length;
      const v = layer.variablesOf(0);
      const xs = layer.goBackwards ? tf.reverse(x3, 1) : x3;
      const xp = tf.add(tf.matMul(tf.squeeze(xs, [0]), v.kernel.read()), v.bias.read());   // [T, G·n]
      const w = layer.stepWeights(0);
      const eye = tf.eye(S);                                                                    // [S, S] cotangents
      for (let t = 1; t < T; t++) {
        op.throwIfStopped(() => `${t - 1}/${T - 1} step Jacobians`);
        const xpt = tf.tile(tf.slice(xp, [t, 0], [1, -1]), [S, 1]) as tf.Tensor2D;             // [S, G·n]
        const h0 = tf.tile(trace.h[t - 1], [S, 1]) as tf.Tensor2D;                              // [S, n]
        const c0 = cell ? (tf.tile(trace.c![t - 1], [S, 1]) as tf.Tensor2D) : undefined;
        // Row i of the batch carries cotangent e_i, so row i of the gradient is row i of J_t.
        const f = (hIn: tf.Tensor, cIn?: tf.Tensor) => {
          const r = layer.family.step(xpt, { h: hIn as tf.Tensor2D, c: cIn as tf.Tensor2D | undefined }, w, layer.cellOptions);
          const out = cell ? tf.concat([r.h, r.c!], 1) : r.h;                                  // [S, S]
          return tf.sum(tf.mul(out, eye)) as tf.Scalar;
        };
        const grads = cell ? tf.grads((a: tf.Tensor, b: tf.Tensor) => f(a, b))([h0, c0!]) : tf.grads((a: tf.Tensor) => f(a))([h0]);
        const J = (cell ? tf.concat(grads, 1) : grads[0]).arraySync() as Matrix;              // J[i][j] = ∂s_t[i]/∂s_{t−1}[j]
        Js.push(J);
      }
    });
    const hBlock = (M: Matrix) => (cell ? M.slice(0, n).map((r) => r.slice(0, n)) : M);
    const norm2 = (M: Matrix) => (M.length <= 160 ? Math.sqrt(Math.max(0, symmetricEigenvalues(matmul(transpose(M), M))[0])) : sigmaMaxPower(M));
    const T = Js.length + 1;
    const norms = new Array<number>(T);
    let P = identity(S);                                         // ∂s_T/∂s_k, starting at k = T
    norms[T - 1] = 1;
    for (let k = T - 1; k >= 1; k--) {
      op.throwIfStopped(() => `${T - 1 - k}/${T - 1} products ∂h_T/∂h_k`);
      P = matmul(P, Js[k - 1]);                                  // ∂s_T/∂s_k = ∂s_T/∂s_{k+1} · J_{k+1}
      norms[k - 1] = norm2(hBlock(P));
    }
    const factors: number[] = [];
    for (const [t, J] of Js.entries()) {
      op.throwIfStopped(() => `${t}/${Js.length} per-step factors`);
      factors.push(norm2(hBlock(J)));
    }
    return { norms, factors };
  } finally {
    op.end();
  }
}

/** Mean activation and saturation of one gate. */
export interface GateStat {
  mean: number;
  /** Fraction of activations below 0.05 (σ gates) or below −0.95 (tanh). */
  nearZero: number;
  /** Fraction above 0.95. */
  nearOne: number;
}

/**
 * Gate statistics over a batch: mean activation and saturation fractions of each gate of one
 * recurrent layer of a model (a saturated forget gate near 1 is what lets an LSTM remember).
 *
 * Padded batches (`lengths`, `mask`, or a token model's `padId`): the statistics cover the real steps
 * only — a gate computed at a padded step reads padding and is left out, not averaged in.
 *
 * Interrupt (the course kernel's ■) stops it between time steps with a `KeyboardInterrupt`; no tensor
 * is left behind.
 *
 * @example
 * ```ts
 * gateStats(model, x);       // { f: { mean: 0.83, nearZero: 0.01, nearOne: 0.42 }, … }
 * gateStats(model, padded, 0, { lengths: [3, 7, 5] });   // real steps only
 * ```
 */
export function gateStats(model: tf.LayersModel, x: tf.Tensor, layerIndex = 0, options: { lengths?: Lengths; mask?: tf.Tensor } = {}): Record<string, GateStat> {
  const layers = recurrentLayers(model);
  if (!(Number.isInteger(layerIndex) && layerIndex >= 0 && layerIndex < layers.length)) throw new RangeError(`gateStats: layerIndex must be in [0, ${layers.length}); got ${layerIndex}`);
  checkOptions('gateStats', options, ['lengths', 'mask']);
  const given = { lengths: options.lengths, mask: options.mask };
  checkForwardModel(model, x, { collectGates: true, ...given });
  const found = modelLengths(specOf(model), x, given, 'gateStats');
  const op = interruptible('gateStats');
  try {
    return tidyValue(() => {
      const r = runModel(model, x, { collectGates: true, ...(found ? { lengths: found } : {}) }, (done) => op.throwIfStopped(done));
      const gates = r.layers[layerIndex].directions[0].gates ?? {};
      const out: Record<string, GateStat> = {};
      // Weights of the steps: 1 at real ones, 0 at padded ones (the forward direction runs in time order).
      const w = found ? tf.expandDims(tf.transpose(maskOf(found, x.shape[1]!)), 2) : null;   // [T, batch, 1]
      const mean = (v: tf.Tensor) => (w ? tf.div(tf.sum(tf.mul(v, w)), tf.mul(tf.sum(w), v.shape[2]!)) : tf.mean(v)).dataSync()[0];
      for (const [name, steps] of Object.entries(gates)) {
        const all = tf.stack(steps);                                         // [T, batch, n]
        const tanhLike = name === 'g' || name === 'hTilde';
        const lo = tanhLike ? -0.95 : 0.05;
        out[name] = {
          mean: mean(all),
          nearZero: mean(tf.cast(tf.less(all, lo), 'float32')),
          nearOne: mean(tf.cast(tf.greater(all, 0.95), 'float32')),
        };
      }
      if (Object.keys(out).length === 0) throw new Error(`gateStats: layer ${layers[layerIndex].name} is a vanilla RNN; it has no gates`);
      return out;
    });
  } finally {
    op.end();
  }
}
