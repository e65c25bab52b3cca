/**
 * Recurrent layers: a cell family looped over time, as serializable tf.layers layers.
 *
 * Inputs are [batch, time, features]. The input projection x_t·W_x + b of all steps is one matmul
 * before the loop; each step then does only the recurrent matmul and the gate arithmetic. The loop
 * is plain tf.js ops, so autodiff gives BPTT and `model.fit` trains it; `forwardSequence` also
 * returns every h_t (and c_t, and the gates) and accepts additive probes on the states, which is
 * how the diagnostics measure ∂L/∂h_t exactly.
 */
import * as tf from '@tensorflow/tfjs';
import type { LayerArgs } from '@tensorflow/tfjs-layers/dist/engine/topology';
import type { Kwargs } from '@tensorflow/tfjs-layers/dist/types';
import { BuiltinCellKind, CellFamily, CellKind, CellOptions, GateActivation, GruUpdate, RnnActivation, State, StepResult, StepWeights, cellDefaults } from './family';
import { RNN_FAMILY } from './rnn';
import { LSTM_FAMILY } from './lstm';
import { GRU_FAMILY } from './gru';
import { glorotBlocks, orthogonalBlocks } from './init';
import { Rng } from './random';
import { FusedUnsupportedError, fusedSequence, fusedSupport } from './fused';
import { checkOptions } from './options';
import { checkAlive, checkFinite, checkPositiveInt } from './inputs';
import { cellFamily, hasRecurrentBias, onCellRegistered, readsOption } from './cells';

/** The built-in families by kind (every registered family: cellFamily(kind) in cells.ts). */
export const FAMILIES: Record<BuiltinCellKind, CellFamily> = { rnn: RNN_FAMILY, lstm: LSTM_FAMILY, gru: GRU_FAMILY };

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
}

/**
 * Every key a recurrent layer's options may have: its own, the cell's, and tf.js's base-layer
 * arguments that a deserialized config carries (getConfig → fromConfig must round-trip).
 */
export const RECURRENT_LAYER_KEYS: readonly string[] = [
  'units', 'returnSequences', 'returnState', 'goBackwards', 'bidirectional', 'initialState', 'unitForgetBias',
  'seed', 'checkInput', 'impl', 'name', 'inputShape', 'trainable',
  'activation', 'resetAfter', 'update', 'recurrentActivation',                           // CellOptions
  'batchInputShape', 'batchSize', 'dtype', 'weights', 'inputDType', 'customObjects',    // tf.js LayerArgs; deserialization adds customObjects
];

/** What {@link RecurrentLayer.forwardSequence} returns. */
export interface SequenceResult {
  /** The layer's output: [batch, time, n·dirs] with returnSequences, else [batch, n·dirs]. */
  output: tf.Tensor;
  /** Per direction (forward first): the states after each step, in processing order. */
  directions: DirectionTrace[];
}

/** Everything one direction computed, in processing order (step k = k-th step read). */
export interface DirectionTrace {
  /** h after each step. T × [batch, n] */
  h: tf.Tensor2D[];
  /** c after each step (LSTM). T × [batch, n] */
  c?: tf.Tensor2D[];
  /** Gate activations per step, when `collectGates` was set. name → T × [batch, n] */
  gates?: Record<string, tf.Tensor2D[]>;
}

/** Options of {@link RecurrentLayer.forwardSequence}. */
export interface ForwardOptions {
  /** Initial states, per direction: [h, (c)] forward then [h, (c)] backward. Default: the layer's (zeros or learned). */
  initialState?: tf.Tensor[];
  /** Tensors added to the states after each step (zero probes make ∂L/∂h_t measurable). Per direction; T × [batch, n]. */
  probes?: { h?: tf.Tensor[]; c?: tf.Tensor[] }[];
  /** Keep every step's gate activations. Default false. */
  collectGates?: boolean;
}
const FORWARD_KEYS = ['initialState', 'probes', 'collectGates'] as const;

/**
 * Called before time step t (t of T steps done) of direction d, so a long run can be stopped between
 * steps (see interrupt.ts): it stops the run by throwing.
 */
export type StepCheck = (t: number, T: number, d: number) => void;

/** The call kwargs a recurrent layer reads ('training' is passed by model.fit; a non-null 'mask' is an error). */
const CALL_KWARGS = ['initialState', 'training', 'mask'] as const;

function shapeStr(s: readonly (number | null)[]): string {
  return `[${s.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}

/** Steps per unstacked block of a long sequence's inputs (see {@link stepInputs}). */
const STEP_BLOCK = 1024;

/**
 * The inputs of each step, `t → [batch, G·n]`, from all steps' `[batch, T, G·n]`. Up to STEP_BLOCK
 * steps are unstacked at once (one op, whose gradient is one stack); a longer sequence is unstacked a
 * block at a time as the loop reaches it, so a 100 000-step `generate` starts its first step (and sees
 * an Interrupt) at once instead of after splitting every step up front.
 */
function stepInputs(xp: tf.Tensor): (t: number) => tf.Tensor2D {
  const [batch, T, width] = xp.shape as [number, number, number];
  // tf.js cannot differentiate unstack over an axis of length 1, so a single step is a reshape.
  const split = (part: tf.Tensor, len: number) => (len === 1 ? [tf.reshape(part, [batch, width])] : tf.unstack(part, 1)) as tf.Tensor2D[];
  if (T <= STEP_BLOCK) {
    const all = split(xp, T);                                                         // T × [batch, G·n]
    return (t) => all[t];
  }
  let block: tf.Tensor2D[] = [];
  let start = -STEP_BLOCK;
  return (t) => {
    if (t < start || t >= start + block.length) {
      start = t - (t % STEP_BLOCK);
      const len = Math.min(STEP_BLOCK, T - start);
      block = split(tf.slice(xp, [0, start, 0], [batch, len, width]), len);         // len × [batch, G·n]
    }
    return block[t - start];
  };
}

/** A recurrent layer over one cell family; use {@link rnnLayer}, {@link lstmLayer} or {@link gruLayer}. */
export abstract class RecurrentLayer extends tf.layers.Layer {
  abstract readonly kind: CellKind;
  readonly units: number;
  readonly returnSequences: boolean;
  readonly returnState: boolean;
  readonly goBackwards: boolean;
  readonly bidirectional: boolean;
  readonly initialStateMode: 'zeros' | 'learned';
  readonly cellOptions: Required<CellOptions>;
  readonly unitForgetBias: boolean;
  readonly seed: number;
  readonly checkInput: boolean;
  /** See {@link RecurrentLayerOptions.impl}. */
  impl: 'reference' | 'fused';
  /** Input feature size m, known once built. */
  inputSize?: number;
  private vars: Record<string, tf.LayerVariable>[] = [];

  constructor(args: RecurrentLayerOptions) {
    super(args as LayerArgs);
    const who = `${new.target.name}`;
    // The subclass's kind field is set only after this constructor: its class names the kind statically.
    const family = cellFamily((new.target as unknown as { cellKind: CellKind }).cellKind, who);
    checkOptions(who, args, RECURRENT_LAYER_KEYS);
    checkPositiveInt(who, 'units (the hidden size n)', args?.units);
    this.units = args.units;
    this.returnSequences = args.returnSequences ?? false;
    this.returnState = args.returnState ?? false;
    this.goBackwards = args.goBackwards ?? false;
    this.bidirectional = args.bidirectional ?? false;
    this.initialStateMode = args.initialState ?? 'zeros';
    if (!['zeros', 'learned'].includes(this.initialStateMode)) {
      throw new RangeError(`${who}: initialState must be 'zeros' or 'learned' (pass given states as call inputs); got '${args.initialState}'`);
    }
    this.cellOptions = cellDefaults(args);
    const acts: RnnActivation[] = ['tanh', 'relu', 'sigmoid', 'linear'];
    if (!acts.includes(this.cellOptions.activation)) {
      throw new RangeError(`${who}: activation must be one of ${acts.join(', ')}; got '${args.activation}'`);
    }
    const updates: GruUpdate[] = ['z-keeps-old', 'z-takes-new'];
    if (!updates.includes(this.cellOptions.update)) {
      throw new RangeError(`${who}: update must be one of ${updates.join(', ')}; got '${args.update}'`);
    }
    const gateActs: GateActivation[] = ['sigmoid', 'hardSigmoid'];
    if (!gateActs.includes(this.cellOptions.recurrentActivation)) {
      throw new RangeError(`${who}: recurrentActivation must be one of ${gateActs.join(', ')} ('hardSigmoid' is tf.js's and Keras 2's hard_sigmoid, clip(0.2x + 0.5, 0, 1); Keras 3's hard_sigmoid, relu6(x + 3)/6, is a different function and not supported); got '${args.recurrentActivation}'`);
    }
    this.unitForgetBias = args.unitForgetBias ?? true;
    this.seed = args.seed ?? 1;
    this.checkInput = args.checkInput ?? true;
    const impl = args.impl ?? (process.env.RNN_LAB_RECURRENT_IMPL as 'reference' | 'fused' | undefined) ?? 'fused';
    if (impl !== 'reference' && impl !== 'fused') throw new RangeError(`${who}: impl (or RNN_LAB_RECURRENT_IMPL) must be 'reference' or 'fused'; got '${impl}'`);
    if (args.impl === 'fused' && !family.fused) throw new Error(noFusedKernel(who, family));
    // A cell without a kernel runs the reference loop when 'fused' is only the default (or the environment's).
    this.impl = family.fused ? impl : 'reference';
    this.supportsMasking = false;
    // A cell without gates (the Elman cell) would silently ignore a gate activation.
    if (args.recurrentActivation !== undefined && !readsOption(family, 'recurrentActivation')) {
      throw new RangeError(`${who}: recurrentActivation is the gates' activation of LSTM and GRU layers; the Elman RNN has no gates (use activation); got '${args.recurrentActivation}'`);
    }
  }

  /** The cell family's equations. */
  get family(): CellFamily {
    return cellFamily(this.kind, this.name);
  }

  /** Number of gate blocks G (1, 4 or 3). */
  get gateCount(): number {
    return this.family.gates.length;
  }

  /** Directions: 1, or 2 when bidirectional. */
  get directions(): number {
    return this.bidirectional ? 2 : 1;
  }

  /** Whether this GRU keeps a second recurrent bias (reset after). */
  get hasRecurrentBias(): boolean {
    return hasRecurrentBias(this.family, this.cellOptions);
  }

  /** The variables of direction d (0 forward, 1 backward), by storage name. */
  variablesOf(d: number): Record<string, tf.LayerVariable> {
    if (!this.built) throw new Error(`${this.name}: the layer is not built yet; call it on an input (or build a model) first`);
    return this.vars[d];
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    if (shape.length !== 3) {
      throw new Error(`${this.name}: input must have shape [batch, time, features]; got ${shapeStr(shape)}`);
    }
    const m = shape[2];
    if (m === null || !(m > 0)) throw new Error(`${this.name}: the feature size of the input must be known; got ${shapeStr(shape)}`);
    this.inputSize = m;
    const n = this.units;
    const G = this.gateCount;
    const rng = new Rng(this.seed);
    this.vars = [];
    for (let d = 0; d < this.directions; d++) {
      const sfx = d === 0 ? '' : '_reverse';
      const v: Record<string, tf.LayerVariable> = {};
      const zeros = tf.initializers.zeros();
      v.kernel = this.addWeight(`kernel${sfx}`, [m, G * n], 'float32', zeros);
      v.recurrent_kernel = this.addWeight(`recurrent_kernel${sfx}`, [n, G * n], 'float32', zeros);
      v.bias = this.addWeight(`bias${sfx}`, [G * n], 'float32', zeros);
      if (this.hasRecurrentBias) v.recurrent_bias = this.addWeight(`recurrent_bias${sfx}`, [G * n], 'float32', zeros);
      if (this.initialStateMode === 'learned') {
        v.h0 = this.addWeight(`h0${sfx}`, [n], 'float32', zeros);
        if (this.family.hasCell) v.c0 = this.addWeight(`c0${sfx}`, [n], 'float32', zeros);
      }
      tf.tidy(() => {
        v.kernel.write(glorotBlocks(m, n, G, rng));
        v.recurrent_kernel.write(orthogonalBlocks(n, G, rng));
        const forget = this.family.forgetGate;
        if (forget && this.unitForgetBias) {
          v.bias.write(tf.concat(this.family.gates.map((g) => (g === forget ? tf.ones([n]) : tf.zeros([n])))));  // LSTM i f o g: f starts at 1
        }
      });
      this.vars.push(v);
    }
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as (number | null)[];
    const [b, t] = shape;
    const width = this.units * this.directions;
    const out: tf.Shape = this.returnSequences ? [b, t, width] : [b, width];
    if (!this.returnState) return out;
    const states: tf.Shape[] = [];
    for (let d = 0; d < this.directions; d++) {
      states.push([b, this.units]);
      if (this.family.hasCell) states.push([b, this.units]);
    }
    return [out, ...states];
  }

  /** Number of state tensors per direction (h, and c for the LSTM). */
  get statesPerDirection(): number {
    return this.family.hasCell ? 2 : 1;
  }

  private checkX(x: tf.Tensor): void {
    const who = this.name;
    if (!(x instanceof tf.Tensor)) throw new TypeError(`${who}: input x must be a tf.Tensor of shape [batch, time, ${this.inputSize}]; got ${typeof x}`);
    checkAlive(who, 'input x', x);
    if (x.rank !== 3) {
      throw new Error(`${who}: input x must have shape [batch, time, features=${this.inputSize}]; got rank ${x.rank}, shape ${shapeStr(x.shape)}`);
    }
    if (x.shape[2] !== this.inputSize) {
      throw new Error(`${who}: input x must have ${this.inputSize} features, shape [batch, time, ${this.inputSize}]; got shape ${shapeStr(x.shape)}`);
    }
    if (x.shape[1] === 0) throw new Error(`${who}: input x has a zero-length sequence (shape ${shapeStr(x.shape)}); it needs at least one time step`);
    if (x.shape[0] === 0) throw new Error(`${who}: input x has an empty batch (shape ${shapeStr(x.shape)})`);
    if (this.checkInput) checkFinite(who, 'input x', x, `[batch, time, features=${this.inputSize}]`);   // the same message as the model boundary's
  }

  /** The initial states of direction d, [batch, n] each: given, learned or zeros. */
  private initialStates(d: number, batch: number, given?: tf.Tensor[]): State {
    const n = this.units;
    const k = this.statesPerDirection;
    if (given && given.length > 0) {
      const need = k * this.directions;
      if (given.length !== need) {
        const names = this.family.hasCell ? 'h and c' : 'h';
        throw new Error(`${this.name}: initialState must have ${need} tensors (${names}${this.bidirectional ? ' per direction, forward first' : ''}); got ${given.length}`);
      }
      const s = given.slice(d * k, d * k + k).map((t, j) => {
        const idx = d * k + j;
        if (t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== n) {
          throw new Error(`${this.name}: initialState[${idx}] must have shape [batch=${batch}, hidden=${n}] to match the input's batch; got ${shapeStr(t.shape)}`);
        }
        return t as tf.Tensor2D;
      });
      return { h: s[0], c: s[1] };
    }
    const v = this.vars[d];
    if (this.initialStateMode === 'learned') {
      const tile = (w: tf.LayerVariable) => tf.tile(tf.reshape(w.read(), [1, n]), [batch, 1]) as tf.Tensor2D;  // [batch, n]
      return { h: tile(v.h0), c: v.c0 ? tile(v.c0) : undefined };
    }
    const z = tf.zeros([batch, n]) as tf.Tensor2D;
    return { h: z, c: this.family.hasCell ? z : undefined };
  }

  /** The recurrent weights of direction d, prepared for the step loop. */
  stepWeights(d: number): StepWeights {
    const v = this.variablesOf(d);
    const w: StepWeights = {
      recurrentKernel: v.recurrent_kernel.read() as tf.Tensor2D,
      recurrentBias: v.recurrent_bias ? (v.recurrent_bias.read() as tf.Tensor1D) : undefined,
    };
    return this.family.prepare(w, this.units);
  }

  /**
   * One step of direction d on one input x_t [batch, features] — for decoders and sampling, which
   * feed each output back as the next input.
   */
  step(x: tf.Tensor2D, state: State, d = 0): StepResult {
    const v = this.variablesOf(d);
    if (x.rank !== 2 || x.shape[1] !== this.inputSize) {
      throw new Error(`${this.name}.step: x must have shape [batch, ${this.inputSize}]; got ${shapeStr(x.shape)}`);
    }
    if (state.h.shape[0] !== x.shape[0] || state.h.shape[1] !== this.units) {
      throw new Error(`${this.name}.step: state.h must have shape [batch=${x.shape[0]}, ${this.units}]; got ${shapeStr(state.h.shape)}`);
    }
    // Tidy: only the new state and the gates survive (decoders call this once per generated token).
    return tf.tidy(() => {
      const xp = tf.add(tf.matMul(x, v.kernel.read()), v.bias.read()) as tf.Tensor2D;  // [batch, G·n]
      return this.family.step(xp, state, this.stepWeights(d), this.cellOptions) as unknown as tf.TensorContainer;
    }) as unknown as StepResult;
  }

  /** The initial state of direction d for a batch (zeros or learned), for step-by-step use. */
  zeroState(batch: number, d = 0): State {
    return tf.tidy(() => this.initialStates(d, batch) as unknown as tf.TensorContainer) as unknown as State;
  }

  /**
   * Run the layer over a sequence and return its output plus every state and (optionally) gate.
   *
   * @example
   * ```ts
   * const { output, directions } = layer.forwardSequence(x, { collectGates: true });
   * const f = directions[0].gates!.f;      // T × [batch, n]: forget gate at each step
   * ```
   * @param check run before every step; the library's interruptible calls stop a long run with it
   *   (it throws, and the tensors made so far belong to the caller's tf.tidy scope)
   */
  forwardSequence(x: tf.Tensor, options: ForwardOptions = {}, check?: StepCheck): SequenceResult {
    checkOptions(`${this.name}.forwardSequence`, options, FORWARD_KEYS);
    if (!this.built) this.build(x.shape);
    this.checkX(x);
    return this.runSequence(x, options, check);
  }

  /** {@link forwardSequence} without the input check, for callers that already made it. */
  private runSequence(x: tf.Tensor, options: ForwardOptions, check?: StepCheck): SequenceResult {
    const [batch, T, m] = x.shape as [number, number, number];
    const n = this.units;
    const G = this.gateCount;
    const directions: DirectionTrace[] = [];
    for (let d = 0; d < this.directions; d++) {
      const v = this.vars[d];
      const backwards = (d === 1) !== this.goBackwards;
      const xs = backwards ? tf.reverse(x, 1) : x;                                   // [batch, T, m]
      const xp = tf.reshape(tf.add(tf.matMul(tf.reshape(xs, [batch * T, m]), v.kernel.read()), v.bias.read()),
        [batch, T, G * n]);                                                            // [batch, T, G·n] all steps' x_t·W_x + b
      const xAt = stepInputs(xp);                                                      // t → [batch, G·n]
      const w = this.stepWeights(d);
      let state = this.initialStates(d, batch, options.initialState);
      const probe = options.probes?.[d];
      const trace: DirectionTrace = { h: [], c: this.family.hasCell ? [] : undefined, gates: options.collectGates ? {} : undefined };
      for (let t = 0; t < T; t++) {
        check?.(t, T, d);
        const r = this.family.step(xAt(t), state, w, this.cellOptions, probe?.c?.[t]);  // c probe acts inside, before h_t
        let h = r.h;
        const c = r.c;
        if (probe?.h?.[t]) h = tf.add(h, probe.h[t]) as tf.Tensor2D;                 // [batch, n]
        state = { h, c };
        trace.h.push(h);
        if (c) trace.c!.push(c);
        if (trace.gates) for (const [k, g] of Object.entries(r.gates)) (trace.gates[k] ??= []).push(g);
      }
      directions.push(trace);
    }
    const fwd = directions[0].h;
    let output: tf.Tensor;
    if (this.returnSequences) {
      const seqs = [tf.stack(fwd, 1)];                                                 // [batch, T, n]
      if (this.bidirectional) seqs.push(tf.stack(directions[1].h.slice().reverse(), 1));  // back in time order
      output = seqs.length === 1 ? seqs[0] : tf.concat(seqs, 2);                      // [batch, T, n·dirs]
    } else {
      const lasts = directions.map((dir) => dir.h[T - 1]);                            // [batch, n] each
      output = lasts.length === 1 ? lasts[0] : tf.concat(lasts, 1);                   // [batch, n·dirs]
    }
    return { output, directions };
  }

  /**
   * The whole layer through the fused WebAssembly kernel: per direction one op for all T steps, with
   * its hand-written BPTT as the gradient. Returns null when the kernel does not support this layer.
   */
  private fusedCall(x: tf.Tensor, given?: tf.Tensor[]): tf.Tensor[] | null {
    const { recurrentActivation, ...rest } = this.cellOptions;
    const options = readsOption(this.family, 'recurrentActivation') ? { ...rest, recurrentActivation } : rest;  // the Elman cell has no gates
    if (fusedSupport(this.kind, options, x) !== null) return null;
    const [batch] = x.shape as [number, number, number];
    // Only what this layer returns is computed and copied out of the kernel.
    const returns = !this.returnSequences ? 'last' : this.returnState ? 'all' : 'sequence';
    const outs: tf.Tensor[] = [];
    const finals: tf.Tensor[] = [];
    for (let d = 0; d < this.directions; d++) {
      const v = this.vars[d];
      const backwards = (d === 1) !== this.goBackwards;
      const xs = backwards ? tf.reverse(x, 1) : x;                                   // [batch, T, m]
      const s0 = this.initialStates(d, batch, given);
      let r;
      try {
        r = fusedSequence(this.kind, xs, v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), s0.h, s0.c ?? null,
          { ...options, recurrentBias: v.recurrent_bias?.read(), returns });
      } catch (e) {
        if (e instanceof FusedUnsupportedError) return null;
        throw e;
      }
      // hs is in processing order; the backward direction's sequence goes back to time order.
      outs.push(this.returnSequences ? (d === 1 ? tf.reverse(r.hs, 1) : r.hs) : r.hT);
      if (this.returnState) {
        finals.push(r.hT);
        if (r.cT) finals.push(r.cT);
      }
    }
    const output = outs.length === 1 ? outs[0] : tf.concat(outs, this.returnSequences ? 2 : 1);
    return this.returnState ? [output, ...finals] : [output];
  }

  /**
   * Masks are refused, not dropped: tf.js hands a layer the mask of an upstream
   * `tf.layers.masking` or `tf.layers.embedding({ maskZero: true })`, and running over the padded
   * steps anyway changes the output silently (0.5625 vs 0.5169 unpadded on a two-step RNN).
   */
  override computeMask(inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    if (hasMask(mask)) throw new Error(maskError(this.name));
    return null as unknown as tf.Tensor;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    checkOptions(`${this.name}.apply`, kwargs, CALL_KWARGS, 'kwargs');
    if (hasMask(kwargs?.mask as tf.Tensor | tf.Tensor[] | undefined)) throw new Error(maskError(this.name));
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const given = list.length > 1 ? list.slice(1) : (kwargs?.initialState as tf.Tensor[] | undefined);
      this.checkX(list[0]);                                       // once, whichever path runs
      if (this.impl === 'fused') {
        if (!this.family.fused) throw new Error(noFusedKernel(this.name, this.family));   // impl set after construction
        const fused = this.fusedCall(list[0], given);
        if (fused) return fused.length === 1 ? fused[0] : fused;
      }
      const { output, directions } = this.runSequence(list[0], { initialState: given });
      if (!this.returnState) return output;
      const states: tf.Tensor[] = [];
      for (const dir of directions) {
        states.push(dir.h[dir.h.length - 1]);
        if (dir.c) states.push(dir.c[dir.c.length - 1]);
      }
      return [output, ...states];
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      units: this.units,
      returnSequences: this.returnSequences,
      returnState: this.returnState,
      goBackwards: this.goBackwards,
      bidirectional: this.bidirectional,
      initialState: this.initialStateMode,
      activation: this.cellOptions.activation,
      resetAfter: this.cellOptions.resetAfter,
      update: this.cellOptions.update,
      ...(readsOption(this.family, 'recurrentActivation') ? { recurrentActivation: this.cellOptions.recurrentActivation } : {}),
      unitForgetBias: this.unitForgetBias,
      seed: this.seed,
      checkInput: this.checkInput,
      impl: this.impl,
    };
  }
}

function noFusedKernel(who: string, family: CellFamily): string {
  return `${who}: impl 'fused' asks for the fused WebAssembly kernel, but the '${family.kind}' cell has none ` +
    `(its CellFamily has no fused entry); use impl: 'reference' (or leave impl out), which loops the cell's step in tf.js ops`;
}

function hasMask(mask: tf.Tensor | tf.Tensor[] | null | undefined): boolean {
  return Array.isArray(mask) ? mask.some((m) => m != null) : mask != null;
}

function maskError(name: string): string {
  return `${name}: masking is not supported yet, and a mask arrived (from layer.apply(x, { mask }), an upstream ` +
    `tf.layers.masking, or tf.layers.embedding({ maskZero: true })); running over the padded steps would silently ` +
    `change the output. Pass equal-length sequences (group or cut them to one length) and drop the mask ` +
    `(maskZero: false, no masking layer); masking and per-sequence lengths are planned.`;
}

/** Elman RNN layer. Serialized as 'LabRNN'. */
export class LabRNN extends RecurrentLayer {
  static className = 'LabRNN';
  static readonly cellKind = 'rnn';
  readonly kind = 'rnn' as const;
}
/** LSTM layer (σ gates by default, `recurrentActivation` for tf.js's hard sigmoid; lecture order i, f, o, g). Serialized as 'LabLSTM'. */
export class LabLSTM extends RecurrentLayer {
  static className = 'LabLSTM';
  static readonly cellKind = 'lstm';
  readonly kind = 'lstm' as const;
}
/** GRU layer (reset before by default; `resetAfter` for PyTorch's variant). Serialized as 'LabGRU'. */
export class LabGRU extends RecurrentLayer {
  static className = 'LabGRU';
  static readonly cellKind = 'gru';
  readonly kind = 'gru' as const;
}
tf.serialization.registerClass(LabRNN);
tf.serialization.registerClass(LabLSTM);
tf.serialization.registerClass(LabGRU);

/** A layer class, by kind: LabRNN, LabLSTM, LabGRU, and 'Lab' + KIND for each registered cell. */
const LAYER_CLASSES = new Map<string, new (args: RecurrentLayerOptions) => RecurrentLayer>([['rnn', LabRNN], ['lstm', LabLSTM], ['gru', LabGRU]]);

// A registered cell gets its layer class at once, serializable as 'Lab' + KIND, so that a saved model
// of it loads in any process that registered the cell.
onCellRegistered((family) => {
  if (LAYER_CLASSES.has(family.kind)) return;
  const className = `Lab${family.kind.toUpperCase()}`;
  const Layer = class extends RecurrentLayer {
    static className = className;
    static readonly cellKind = family.kind;
    readonly kind = family.kind;
  };
  Object.defineProperty(Layer, 'name', { value: className });
  tf.serialization.registerClass(Layer);
  LAYER_CLASSES.set(family.kind, Layer);
});

/**
 * The layer class of a cell kind (LabRNN, LabLSTM, LabGRU, or a registered cell's 'Lab' + KIND).
 *
 * @example
 * ```ts
 * const Layer = layerClass('lstm');                 // LabLSTM
 * const layer = new Layer({ units: 8 });
 * ```
 * @throws RangeError naming the registered kinds for an unknown kind
 */
export function layerClass(kind: CellKind, where = 'layerClass'): new (args: RecurrentLayerOptions) => RecurrentLayer {
  const Layer = LAYER_CLASSES.get(kind);
  if (!Layer) cellFamily(kind, where);   // throws naming the registered kinds
  return Layer!;
}

/**
 * An Elman RNN layer: h_t = tanh(W_hh h_{t-1} + W_xh x_t + b_h). In: [batch, time, m]; out:
 * [batch, n] (or [batch, time, n] with returnSequences), ×2 in the last axis when bidirectional.
 *
 * @example
 * ```ts
 * const layer = rnnLayer({ units: 16, returnSequences: true });
 * const h = layer.apply(tf.randomNormal([4, 10, 3])) as tf.Tensor;   // [4, 10, 16]
 * ```
 */
export function rnnLayer(options: RecurrentLayerOptions): LabRNN {
  return new LabRNN(options);
}
/**
 * An LSTM layer with σ gates (tf.layers.lstm defaults to hardSigmoid; the lecture uses σ): pass
 * `recurrentActivation: 'hardSigmoid'` to compute what a tf.layers.lstm computes, or use
 * {@link fromKerasLayer}, which copies the activations with the weights.
 *
 * @example
 * ```ts
 * const layer = lstmLayer({ units: 32, returnState: true });
 * const [out, h, c] = layer.apply(x) as tf.Tensor[];                  // [b, 32] each
 * ```
 */
export function lstmLayer(options: RecurrentLayerOptions): LabLSTM {
  return new LabLSTM(options);
}
/**
 * A GRU layer; `resetAfter: true` gives PyTorch's variant, `update` chooses the z convention.
 *
 * @example
 * ```ts
 * const layer = gruLayer({ units: 32, resetAfter: true, returnSequences: true });
 * ```
 */
export function gruLayer(options: RecurrentLayerOptions): LabGRU {
  return new LabGRU(options);
}
