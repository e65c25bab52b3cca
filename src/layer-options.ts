/**
 * The recurrent layers' options: the typed options, the list of valid keys, and their resolution
 * (defaults and checks) into what a layer keeps. One default per option, here.
 */
import { CellFamily, CellOptions, GateActivation, GruUpdate, RnnActivation, cellDefaults } from './family';
import { checkUnreadOptions, readsOption } from './cells';
import { checkOptions, TFJS_CONFIG_KEYS } from './options';
import { checkPositiveInt } from './inputs';
import { checkRate } from './dropout';

/** Options of the recurrent layers ({@link rnnLayer}, {@link lstmLayer}, {@link gruLayer}). */
export interface RecurrentLayerOptions extends CellOptions {
  /** Hidden size n. */
  units: number;
  /** Return the whole sequence [batch, time, n·directions] instead of the last output [batch, n·directions]. Default false. */
  returnSequences?: boolean;
  /** Also return the final states: [output, h, (c)] per direction, forward first. Default false. */
  returnState?: boolean;
  /** Read the sequence from its end; outputs come in processing order (as in Keras). Default false. */
  goBackwards?: boolean;
  /** Run a second, backward direction with its own weights and concatenate (forward first). Default false. */
  bidirectional?: boolean;
  /** Initial state when none is passed: zeros, or a trained vector h0 (and c0). Default 'zeros'. */
  initialState?: 'zeros' | 'learned';
  /** LSTM: start the forget gate's bias at 1 so the cell remembers at first (Jozefowicz et al. 2015). Default true. */
  unitForgetBias?: boolean;
  /** Seed of the initial weights. Default 1. */
  seed?: number;
  /** Check the input for NaN/Infinity on every call (one reduction and a sync). Default true. */
  checkInput?: boolean;
  /**
   * How `call()` (predict, fit, train) runs the sequence: 'reference' loops tf.js ops per step;
   * 'fused' runs the whole sequence, forward and BPTT backward, as one WebAssembly SIMD kernel (falls
   * back to 'reference' for anything it does not support: higher-order gradients, other dtypes, a
   * runtime without WebAssembly). Default: RNN_LAB_RECURRENT_IMPL, else 'fused'. Diagnostics
   * (forwardSequence with probes or gate traces) always use 'reference'.
   */
  impl?: 'reference' | 'fused';
  /** Layer name. */
  name?: string;
  /** Input shape without the batch, [time, features] (time may be null), for the first layer of a model. */
  inputShape?: (number | null)[];
  /** Whether the weights train. Default true. */
  trainable?: boolean;
  /**
   * Input dropout: the fraction p in [0, 1) of the input's units x_t ([batch, time, features]) zeroed in
   * training calls, a fresh mask per (row, step, unit), kept units scaled by 1/(1 − p) (inverted
   * dropout): Zaremba et al. 2014's dropout on the non-recurrent connections, as PyTorch's dropout
   * between stacked layers. Each direction of a bidirectional layer draws its own mask. Only when the
   * layer is called with training = true (train, model.fit); predict, decode and forwardSequence never
   * drop. Masks come from {@link seed} and the layer's count of training calls (see src/dropout.ts,
   * resetDropout). Default 0: no dropout, exactly the path without it.
   */
  dropout?: number;
  /**
   * Recurrent dropout: the fraction p in [0, 1) of h_{t−1}'s units zeroed where h_{t−1} enters the
   * recurrent matmul (h_{t−1} ⊙ m feeds W_hh; the state update keeps h_{t−1}, as Keras's LSTMCell and
   * GRUCell do), with one mask m [batch, n] per sequence reused at every step (Gal & Ghahramani 2016),
   * kept units scaled by 1/(1 − p). In training calls only, seeded as {@link dropout}; each direction
   * its own mask. Default 0.
   */
  recurrentDropout?: number;
}

/**
 * Every key a recurrent layer's options may have: its own, the cell's, and tf.js's base-layer
 * arguments that a deserialized config carries (getConfig → fromConfig must round-trip).
 */
export const RECURRENT_LAYER_KEYS: readonly string[] = [
  'units', 'returnSequences', 'returnState', 'goBackwards', 'bidirectional', 'initialState', 'unitForgetBias',
  'seed', 'checkInput', 'impl', 'name', 'inputShape', 'trainable', 'dropout', 'recurrentDropout',
  'activation', 'resetAfter', 'update', 'recurrentActivation',                           // CellOptions
  'batchInputShape', 'batchSize', 'dtype', 'weights', 'inputDType', 'customObjects',    // tf.js LayerArgs; deserialization adds customObjects
];

/** A layer's options with their defaults, checked. */
export interface ResolvedLayerOptions {
  units: number;
  returnSequences: boolean;
  returnState: boolean;
  goBackwards: boolean;
  bidirectional: boolean;
  initialStateMode: 'zeros' | 'learned';
  cellOptions: Required<CellOptions>;
  unitForgetBias: boolean;
  seed: number;
  checkInput: boolean;
  impl: 'reference' | 'fused';
  dropout: number;
  recurrentDropout: number;
}

/**
 * Check a layer's options (unknown keys, ranges) and fill in the defaults. `who` names the layer
 * class in errors; `family` is the cell the layer loops (its fused kernel and its gates decide impl
 * and whether recurrentActivation means anything).
 */
export function resolveLayerOptions(who: string, args: RecurrentLayerOptions, family: CellFamily): ResolvedLayerOptions {
  checkOptions(who, args, RECURRENT_LAYER_KEYS, 'options', TFJS_CONFIG_KEYS);   // customObjects, … accepted, not listed
  checkPositiveInt(who, 'units (the hidden size n)', args?.units);
  const initialStateMode = args.initialState ?? 'zeros';
  if (!['zeros', 'learned'].includes(initialStateMode)) {
    throw new RangeError(`${who}: initialState must be 'zeros' or 'learned' (pass given states as call inputs); got '${args.initialState}'`);
  }
  const cellOptions = cellDefaults(args);
  const acts: RnnActivation[] = ['tanh', 'relu', 'sigmoid', 'linear'];
  if (!acts.includes(cellOptions.activation)) {
    throw new RangeError(`${who}: activation must be one of ${acts.join(', ')}; got '${args.activation}'`);
  }
  const updates: GruUpdate[] = ['z-keeps-old', 'z-takes-new'];
  if (!updates.includes(cellOptions.update)) {
    throw new RangeError(`${who}: update must be one of ${updates.join(', ')}; got '${args.update}'`);
  }
  const gateActs: GateActivation[] = ['sigmoid', 'hardSigmoid'];
  if (!gateActs.includes(cellOptions.recurrentActivation)) {
    throw new RangeError(`${who}: recurrentActivation must be one of ${gateActs.join(', ')} ('hardSigmoid' is tf.js's and Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1); Keras 3's hard_sigmoid, relu6(x + 3)/6, is a different function and not supported); got '${args.recurrentActivation}'`);
  }
  const impl = args.impl ?? (process.env.RNN_LAB_RECURRENT_IMPL as 'reference' | 'fused' | undefined) ?? 'fused';
  if (impl !== 'reference' && impl !== 'fused') throw new RangeError(`${who}: impl (or RNN_LAB_RECURRENT_IMPL) must be 'reference' or 'fused'; got '${impl}'`);
  if (args.impl === 'fused' && !family.fused) throw new Error(noFusedKernel(who, family));
  // A cell without gates (the Elman cell) would silently ignore a gate activation.
  if (args.recurrentActivation !== undefined && !readsOption(family, 'recurrentActivation')) {
    throw new RangeError(`${who}: recurrentActivation is the gates' activation of LSTM and GRU layers; the Elman RNN has no gates (use activation); got '${args.recurrentActivation}'`);
  }
  checkUnreadOptions(who, family, args);
  const dropout = checkRate(who, 'dropout', args.dropout);
  const recurrentDropout = checkRate(who, 'recurrentDropout', args.recurrentDropout);
  if (recurrentDropout > 0 && !family.recurrentMask) {
    throw new RangeError(`${who}: recurrentDropout needs a cell whose step reads the recurrent mask (CellFamily.recurrentMask; the built-in rnn, lstm and gru do); the '${family.kind}' cell does not; got ${recurrentDropout}`);
  }
  return {
    dropout,
    recurrentDropout,
    units: args.units,
    returnSequences: args.returnSequences ?? false,
    returnState: args.returnState ?? false,
    goBackwards: args.goBackwards ?? false,
    bidirectional: args.bidirectional ?? false,
    initialStateMode,
    cellOptions,
    unitForgetBias: args.unitForgetBias ?? true,
    seed: args.seed ?? 1,
    checkInput: args.checkInput ?? true,
    // A cell without a kernel runs the reference loop when 'fused' is only the default (or the environment's).
    impl: family.fused ? impl : 'reference',
  };
}

/** The error for impl 'fused' on a cell without a fused kernel. */
export function noFusedKernel(who: string, family: CellFamily): string {
  return `${who}: impl 'fused' asks for the fused WebAssembly kernel, but the '${family.kind}' cell has none ` +
    `(its CellFamily has no fused entry); use impl: 'reference' (or leave impl out), which loops the cell's step in tf.js ops`;
}
