/**
 * What every recurrent cell family (Elman RNN, LSTM, GRU) tells the layer that loops it over time.
 *
 * Weights are stored as tf.js stores them, for row-vector batches (x·W): one kernel [m, G·n] and one
 * recurrent kernel [n, G·n] with the G gate blocks side by side in the lecture's order, so a single
 * matmul computes all gates. The lecture's column-vector matrices (W_xh [n, m] …) are views of these
 * blocks, transposed; see weights.ts.
 */
import * as tf from '@tensorflow/tfjs';
import { HARD_SIGMOID } from './fused/kernels';
import { describe } from './describe';

/** The built-in families' names. */
export type BuiltinCellKind = 'rnn' | 'lstm' | 'gru';

/**
 * Family names: the built-in ones, or the kind of a cell added with `registerCell` (see cells.ts).
 * (`string & {}` keeps the built-in names as suggestions while any registered name type-checks.)
 */
export type CellKind = BuiltinCellKind | (string & {});

/** Activation of the Elman cell. 'linear' is for the analytic cases of the gradient lessons. */
export type RnnActivation = 'tanh' | 'relu' | 'sigmoid' | 'linear';

/**
 * GRU update conventions; the two are the same model with z ↔ 1 − z.
 * - 'z-keeps-old': h_t = z⊙h_{t-1} + (1−z)⊙h̃_t (Cho et al. 2014, lecture seed 000, PyTorch, Keras)
 * - 'z-takes-new': h_t = (1−z)⊙h_{t-1} + z⊙h̃_t (Chung et al. 2014, lecture seed 002)
 */
export type GruUpdate = 'z-keeps-old' | 'z-takes-new';

/**
 * Activation of the LSTM's and GRU's gates (i, f, o; r, z):
 * - 'sigmoid': σ(x) = 1/(1 + e^(−x)) (the lecture, PyTorch, Keras 2's default), σ' ≤ 1/4;
 * - 'hardSigmoid': clip(0.2·x + 0.5, 0, 1), exactly as tf.js 4.22 defines it
 *   (tfjs-layers backend `hardSigmoid`, the default `recurrentActivation` of tf.layers.lstm/gru and of
 *   Keras 2.x); its derivative is 0.2 where 0 ≤ 0.2·x + 0.5 ≤ 1 (kinks included, as tf.js's autodiff
 *   of clipByValue gives) and 0 outside.
 * Keras 3 changed hard_sigmoid to relu6(x + 3)/6 (slope 1/6, kinks at ±3): that function is not
 * supported; weights trained with it need a model that computes it.
 */
export type GateActivation = 'sigmoid' | 'hardSigmoid';

/** Options that change a cell's equations. */
export interface CellOptions {
  /** Elman cell activation. Default 'tanh'. */
  activation?: RnnActivation;
  /** GRU: apply the reset gate after the recurrent matmul, r⊙(W_hh h + b_hh) (PyTorch, cuDNN, Keras v2). Default false: W_hh(r⊙h) as in the lecture. */
  resetAfter?: boolean;
  /** GRU update convention. Default 'z-keeps-old'. */
  update?: GruUpdate;
  /**
   * LSTM and GRU: the gates' activation (see {@link GateActivation}). Default 'sigmoid' (the
   * lecture's σ); 'hardSigmoid' reproduces tf.layers.lstm/gru, whose default it is.
   */
  recurrentActivation?: GateActivation;
}

/** The recurrent state: h, and c for the LSTM. */
export interface State {
  /** Hidden state h_t. [batch, hidden] */
  h: tf.Tensor2D;
  /** Cell state c_t (LSTM only). [batch, hidden] */
  c?: tf.Tensor2D;
}

/** The recurrent weights a step needs, as tensors (already read from the layer's variables). */
export interface StepWeights {
  /** [hidden, G·hidden] all gates' recurrent weights, lecture gate order. */
  recurrentKernel: tf.Tensor2D;
  /** [G·hidden] GRU resetAfter only: the recurrent bias b_hh. */
  recurrentBias?: tf.Tensor1D;
  /** GRU resetBefore only, precomputed once per sequence: W_hh's r and z blocks [hidden, 2·hidden]. */
  recurrentRZ?: tf.Tensor2D;
  /** GRU resetBefore only: W_hh's candidate block [hidden, hidden]. */
  recurrentH?: tf.Tensor2D;
  /** A registered cell's own per-sequence views, made by its `prepare`. */
  [view: string]: tf.Tensor | undefined;
}

/** A step's result: the new state and the gate activations (named as in the lecture). */
export interface StepResult extends State {
  /** Gate activations of this step, e.g. { i, f, o, g } or { r, z, hTilde }. [batch, hidden] each */
  gates: Record<string, tf.Tensor2D>;
}

/**
 * Which activation a gate block goes through: 'gate' is the gates' σ (options.recurrentActivation),
 * 'activation' the Elman cell's options.activation, 'tanh' a fixed tanh (a candidate).
 */
export type BlockActivation = 'gate' | 'activation' | 'tanh';

/** A family's entry in the fused WebAssembly kernels (src/fused/, asm/). */
export interface FusedCell {
  /** The kernels' kind code (the WebAssembly ABI, src/fused/kernels.ts KIND_CODE): RNN 0, LSTM 1, GRU 2. */
  code: number;
  /** The kernels' flags word for these options, or −1 when the kernel cannot compute them. */
  flags(o: CellOptions): number;
}

/**
 * One cell family, described once: its gates and their orders in every layout, activations, bias
 * blocks, the options its equations read, its interchange with Keras and PyTorch, its fused kernel,
 * and its reference step. Everything else (layers, builders, weights, parameter counts, the fused
 * dispatch, Keras import, diagnostics) reads these facts; the registry (cells.ts) maps kinds to
 * families. Each built-in family is one file (rnn.ts, lstm.ts, gru.ts) whose header gives the equations.
 */
export interface CellFamily {
  kind: CellKind;
  /** Gate names in storage order = the lecture's order (G = gates.length); the Elman cell has one block, 'h'. */
  gates: readonly string[];
  /** Whether the state has a cell c (LSTM). */
  hasCell: boolean;
  /** The activation of each gate block, by gate name (every name of `gates`). */
  activations: Readonly<Record<string, BlockActivation>>;
  /**
   * The {@link CellOptions} this family's equations read. A layer, a builder spec or countParams that
   * gives an option the family does not read is an error unless the value is the option's default
   * (recurrentActivation: any value, when no gate uses it); see cells.ts `checkUnreadOptions`.
   */
  options: readonly (keyof CellOptions)[];
  /** Whether these options give the family a second bias block b_hh (the GRU with resetAfter). Default: never. */
  recurrentBias?(o: Required<CellOptions>): boolean;
  /** The gate whose bias starts at 1 under `unitForgetBias` (the LSTM's f; Jozefowicz et al. 2015). Default: none. */
  forgetGate?: string;
  /** Keras/tf.layers interchange: the tf.js layer class and its gate order. Undefined: no Keras equivalent. */
  keras?: { className: string; order: readonly string[] };
  /**
   * PyTorch interchange: nn.RNN/LSTM/GRU's gate order; `activations` the Elman activations PyTorch
   * has; `needsRecurrentBias` when PyTorch's cell keeps b_hh inside (the GRU: resetAfter only).
   * Undefined: no PyTorch equivalent.
   */
  pytorch?: { order: readonly string[]; activations?: readonly RnnActivation[]; needsRecurrentBias?: boolean };
  /** The fused kernel's entry; undefined: no fused kernel, the layer runs the reference step loop. */
  fused?: FusedCell;
  /**
   * Prepare per-sequence views of the weights once per sequence (e.g. GRU's split recurrent kernel),
   * returned as extra fields of `w` (any name: StepWeights accepts them). Return `w` itself when none.
   */
  prepare(w: StepWeights, hidden: number): StepWeights;
  /**
   * One time step from the projected input xp = x_t·W_x + b ([batch, G·hidden], all gates at once)
   * and the previous state. `cProbe` (LSTM) is added to c_t before h_t = o⊙tanh(c_t) is computed, so
   * its gradient is the full ∂L/∂c_t.
   *
   * Must return `{ h, gates }` with h [batch, hidden], plus c [batch, hidden] exactly when `hasCell`;
   * `gates` holds the gate activations by name ([batch, hidden] each; may be `{}`), which
   * `forwardSequence({ collectGates: true })` and `gateStats` report. `registerCell` runs the step once
   * on zeros and refuses a family whose step returns other shapes.
   *
   * `hMask` ([batch, n], recurrent dropout; Gal & Ghahramani 2016 as Keras's cells apply it): multiply
   * h_{t-1} by it where h_{t-1} enters the recurrent matmul, and nowhere else (a direct path such as
   * the GRU's z⊙h_{t-1} keeps the unmasked state). The built-in cells read it; a layer refuses
   * `recurrentDropout` for a registered cell unless its family sets {@link CellFamily.recurrentMask}.
   */
  step(xp: tf.Tensor2D, prev: State, w: StepWeights, options: Required<CellOptions>, cProbe?: tf.Tensor, hMask?: tf.Tensor): StepResult;
  /** Whether `step` reads its `hMask` argument (recurrent dropout). The built-in cells do. Default false. */
  recurrentMask?: boolean;
}

/** The defaults of {@link CellOptions}. */
export function cellDefaults(o: CellOptions = {}): Required<CellOptions> {
  return {
    activation: o.activation ?? 'tanh', resetAfter: o.resetAfter ?? false, update: o.update ?? 'z-keeps-old',
    recurrentActivation: o.recurrentActivation ?? 'sigmoid',
  };
}

/**
 * The gate activation, with the same ops (and so the same autodiff) as tf.js: σ, or
 * clipByValue(0.5 + 0.2·x, 0, 1) as tfjs-layers' hardSigmoid computes it.
 */
export function gateActivate(a: tf.Tensor2D, act: GateActivation): tf.Tensor2D {
  if (act === 'hardSigmoid') return tf.clipByValue(tf.add(0.5, tf.mul(0.2, a)), 0, 1) as tf.Tensor2D;
  if (act === 'sigmoid') return tf.sigmoid(a);
  // Public since registerCell: a custom step's typo must not quietly become σ.
  throw new RangeError(`gateActivate: act must be 'sigmoid' or 'hardSigmoid' (a layer's recurrentActivation); got ${describe(act)}`);
}

/**
 * The fused kernels' flags for the gates' activation (LSTM, GRU): 0 for σ, HARD_SIGMOID for tf.js's
 * hard sigmoid, −1 for anything the kernels do not compute.
 */
export function gateFlags(o: CellOptions): number {
  const gate = o.recurrentActivation ?? 'sigmoid';
  if (gate !== 'sigmoid' && gate !== 'hardSigmoid') return -1;
  return gate === 'hardSigmoid' ? HARD_SIGMOID : 0;
}
