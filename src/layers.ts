/**
 * Recurrent layers: a cell family looped over time, as serializable tf.layers layers. The pieces:
 * layer-options.ts (options, defaults, checks), time-loop.ts (the reference time loop),
 * layer-state.ts (initial and final states, joining directions), the fused kernel (fused/); this
 * file builds the weights and dispatches each call to the fused kernel or the reference loop.
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
import { BuiltinCellKind, CellFamily, CellKind, CellOptions, State, StepResult, StepWeights } from './family';
import { RNN_FAMILY } from './rnn';
import { LSTM_FAMILY } from './lstm';
import { GRU_FAMILY } from './gru';
import { glorotBlocks, orthogonalBlocks } from './init';
import { Rng } from './random';
import { FusedUnsupportedError, fusedSequence, fusedSupport } from './fused';
import { checkOptions } from './options';
import { checkAlive, checkFinite } from './inputs';
import { cellFamily, hasRecurrentBias, onCellRegistered, readsOption } from './cells';
import { RecurrentLayerOptions, noFusedKernel, resolveLayerOptions } from './layer-options';
import { DirectionTrace, DropoutMasks, FORWARD_KEYS, ForwardOptions, SequenceResult, StepCheck, projectInputs, runDirection } from './time-loop';
import { DropoutCounter, drawMask, dropoutStream } from './dropout';
import { directionInput, directionInputWithin, finalState, initialState, joinDirections, liveSteps, reverseWithin, stateList } from './layer-state';
import { allFull, resolveLengths, maskOf, refusePrePaddedInput } from './lengths';

export { RECURRENT_LAYER_KEYS } from './layer-options';
export type { RecurrentLayerOptions } from './layer-options';
export type { SequenceResult, DirectionTrace, ForwardOptions, StepCheck, DropoutMasks } from './time-loop';

/** The built-in families by kind (every registered family: cellFamily(kind) in cells.ts). */
export const FAMILIES: Record<BuiltinCellKind, CellFamily> = { rnn: RNN_FAMILY, lstm: LSTM_FAMILY, gru: GRU_FAMILY };


/**
 * The call kwargs a recurrent layer reads: 'training' is passed by model.fit; 'mask' ([batch, T], by
 * tf.layers' mask propagation or by hand) and 'lengths' ([batch]) describe a batch padded at the end.
 */
const CALL_KWARGS = ['initialState', 'training', 'mask', 'lengths'] as const;

function shapeStr(s: readonly (number | null)[]): string {
  return `[${s.map((d) => (d === null ? 'null' : d)).join(', ')}]`;
}
export abstract class RecurrentLayer extends tf.layers.Layer implements DropoutCounter {
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
  /** See {@link RecurrentLayerOptions.dropout}. */
  readonly dropout: number;
  /** See {@link RecurrentLayerOptions.recurrentDropout}. */
  readonly recurrentDropout: number;
  /**
   * Training calls that drew dropout masks so far: call k draws its masks from the stream of (seed, k)
   * (src/dropout.ts dropoutStream). Set it to 0 (or call resetDropout(model)) to replay the masks.
   */
  dropoutCalls = 0;
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
    const o = resolveLayerOptions(who, args, family);
    this.units = o.units;
    this.returnSequences = o.returnSequences;
    this.returnState = o.returnState;
    this.goBackwards = o.goBackwards;
    this.bidirectional = o.bidirectional;
    this.initialStateMode = o.initialStateMode;
    this.cellOptions = o.cellOptions;
    this.unitForgetBias = o.unitForgetBias;
    this.seed = o.seed;
    this.checkInput = o.checkInput;
    this.dropout = o.dropout;
    this.recurrentDropout = o.recurrentDropout;
    this.impl = o.impl;
    // Masks from tf.layers.masking, an embedding with maskZero or model.apply(x, { mask }) reach call().
    this.supportsMasking = true;
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
    const v = this.vars[d];
    return initialState({
      name: this.name, units: this.units, bidirectional: this.bidirectional, directions: this.directions, hasCell: this.family.hasCell,
      learned: this.initialStateMode === 'learned' ? { h0: v.h0, c0: v.c0 } : undefined,
    }, d, batch, given);
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
   * const padded = layer.forwardSequence(x, { lengths: [5, 2, 7] });   // rows padded at the end
   * ```
   * With `lengths` (or `mask`) the output is 0 at padded steps and each row's states hold their value
   * after step L_b (see {@link ForwardOptions.lengths}).
   * @param check run before every step; the library's interruptible calls stop a long run with it
   *   (it throws, and the tensors made so far belong to the caller's tf.tidy scope)
   */
  forwardSequence(x: tf.Tensor, options: ForwardOptions = {}, check?: StepCheck): SequenceResult {
    checkOptions(`${this.name}.forwardSequence`, options, FORWARD_KEYS);
    if (!this.built) this.build(x.shape);
    this.checkX(x);
    if (options.dropoutMasks !== undefined) this.checkMasks(`${this.name}.forwardSequence`, x, options.dropoutMasks);
    return this.runSequence(x, options, check, this.raggedLengths(`${this.name}.forwardSequence`, x, options));
  }

  /** Check given dropout masks (ForwardOptions.dropoutMasks): one per direction, of the call's shapes. */
  private checkMasks(where: string, x: tf.Tensor, masks: DropoutMasks): void {
    checkOptions(where, masks, ['input', 'recurrent'], 'options.dropoutMasks');
    const [batch, T, m] = x.shape as [number, number, number];
    const want: Record<'input' | 'recurrent', number[]> = { input: [batch, T, m], recurrent: [batch, this.units] };
    for (const key of ['input', 'recurrent'] as const) {
      const list = masks[key];
      if (list === undefined) continue;
      if (!Array.isArray(list) || list.length !== this.directions || list.some((t) => !(t instanceof tf.Tensor) || t.shape.join() !== want[key].join())) {
        throw new Error(`${where}: options.dropoutMasks.${key} must be ${this.directions} tensor${this.directions > 1 ? 's' : ''} (one per direction) of shape ${shapeStr(want[key])}; got ${Array.isArray(list) ? `[${list.map((t) => (t instanceof tf.Tensor ? shapeStr(t.shape) : typeof t)).join(', ')}]` : typeof list}`);
      }
    }
  }

  /**
   * The masks of one training call, drawn from the stream of (seed, dropoutCalls), which advances by
   * one: per direction the input mask [batch, T, m] (fresh per row, step and unit), then the recurrent
   * mask [batch, n] (one per sequence). Null when the layer has no dropout.
   */
  drawDropoutMasks(batch: number, T: number): DropoutMasks | null {
    const arrays = this.drawDropoutArrays(batch, T);
    if (!arrays) return null;
    const m = this.inputSize!;
    const masks: DropoutMasks = {};
    if (arrays.input) masks.input = arrays.input.map((a) => tf.tensor3d(a, [batch, T, m]));                  // [batch, T, m] per direction
    if (arrays.recurrent) masks.recurrent = arrays.recurrent.map((a) => tf.tensor2d(a, [batch, this.units]));   // [batch, n] per direction
    return masks;
  }

  /**
   * {@link drawDropoutMasks} as plain arrays, batch-major (the fused training step's; the one place the
   * draws are made, so both training paths get the same masks in the same order): per direction d,
   * input[d] [batch, T, m] then recurrent[d] [batch, n]. Advances dropoutCalls; null when the layer has no dropout.
   */
  drawDropoutArrays(batch: number, T: number): { input?: Float32Array[]; recurrent?: Float32Array[] } | null {
    if (this.dropout === 0 && this.recurrentDropout === 0) return null;
    const m = this.inputSize!;
    const rng = dropoutStream(this.seed, this.dropoutCalls++);
    const out: { input?: Float32Array[]; recurrent?: Float32Array[] } = {};
    if (this.dropout > 0) out.input = [];
    if (this.recurrentDropout > 0) out.recurrent = [];
    for (let d = 0; d < this.directions; d++) {
      if (out.input) out.input.push(drawMask(rng, batch * T * m, this.dropout));                // [batch, T, m]
      if (out.recurrent) out.recurrent.push(drawMask(rng, batch * this.units, this.recurrentDropout));   // [batch, n]
    }
    return out;
  }

  /**
   * The rows' lengths from `lengths` and/or `mask` (a list of masks: the first, the input's; the
   * initial states' are ignored, as in Keras), checked; null when every row has all T steps, so an
   * unmasked call runs exactly the code it ran before masks existed.
   */
  private raggedLengths(where: string, x: tf.Tensor, given: { lengths?: unknown; mask?: unknown }): Int32Array | null {
    const [batch, T] = x.shape as [number, number, number];
    const mask = Array.isArray(given.mask) ? given.mask[0] : given.mask;
    if (given.lengths != null || mask != null) refusePrePaddedInput(where, 'x', x);
    const lengths = resolveLengths(where, { lengths: given.lengths, mask }, batch, T);
    return lengths && !allFull(lengths, T) ? lengths : null;
  }

  /**
   * {@link forwardSequence} without the input check, for callers that already made it. `lengths`: the
   * rows' lengths when some row is padded (else null, and the loop is the unmasked one).
   */
  private runSequence(x: tf.Tensor, options: ForwardOptions, check?: StepCheck, lengths: Int32Array | null = null): SequenceResult {
    const [batch, T] = x.shape as [number, number, number];
    const reversal = lengths && this.reversesRows ? reverseWithin(lengths, T) : null;   // [batch, T, T]
    const live = lengths ? liveSteps(lengths, T) : undefined;                          // T × [batch, 1]
    const directions: DirectionTrace[] = [];
    const masks = options.dropoutMasks;
    for (let d = 0; d < this.directions; d++) {
      const v = this.vars[d];
      const xd = masks?.input ? tf.mul(x, masks.input[d]) : x;                         // [batch, T, m]  input dropout
      const input = lengths ? directionInputWithin(xd, d, this.goBackwards, reversal) : directionInput(xd, d, this.goBackwards);
      const xp = projectInputs(input, v.kernel.read(), v.bias.read());                 // [batch, T, G·n]
      directions.push(runDirection(xp, {
        family: this.family, cellOptions: this.cellOptions, weights: this.stepWeights(d), initial: this.initialStates(d, batch, options.initialState),
        probe: options.probes?.[d], collectGates: options.collectGates, d, check, live, recurrentMask: masks?.recurrent?.[d],
      }));
    }
    // Sequences go back to time order (the backward direction ran from the end); else each direction's
    // final state (the state after step L_b with lengths).
    const outs = directions.map((dir, d) => {
      if (!this.returnSequences) return finalState(dir).h;
      if (!lengths) return tf.stack(d === 1 ? dir.h.slice().reverse() : dir.h, 1);
      const all = tf.stack(dir.h, 1);                                                  // [batch, T, n]
      const real = tf.cast(tf.expandDims(maskOf(lengths, T), 2), 'bool');       // [batch, T, 1]
      const seq = tf.where(real, all, tf.zerosLike(all));                              // [batch, T, n], 0 at padded steps
      return d === 1 ? tf.matMul(reversal!, seq) : seq;
    });
    return { output: joinDirections(outs, this.returnSequences), directions };
  }

  /** The cell options the fused kernels take: recurrentActivation only for a cell with gates (the Elman cell has none). */
  kernelOptions(): CellOptions {
    const { recurrentActivation, ...rest } = this.cellOptions;
    return readsOption(this.family, 'recurrentActivation') ? { ...rest, recurrentActivation } : rest;
  }

  /** Whether some direction reads backwards (then rows are reversed within their lengths). */
  private get reversesRows(): boolean {
    return this.bidirectional || this.goBackwards;
  }

  /**
   * The whole layer through the fused WebAssembly kernel: per direction one op for all T steps, with
   * its hand-written BPTT as the gradient. Returns null when the kernel does not support this layer.
   */
  private fusedCall(x: tf.Tensor, given?: tf.Tensor[], lengths: Int32Array | null = null, masks: DropoutMasks | null = null): { output: tf.Tensor; finals: State[] } | null {
    const options = this.kernelOptions();
    if (fusedSupport(this.kind, options, x) !== null) return null;
    const [batch] = x.shape as [number, number, number];
    // Only what this layer returns is computed and copied out of the kernel.
    const returns = !this.returnSequences ? 'last' : this.returnState ? 'all' : 'sequence';
    const outs: tf.Tensor[] = [];
    const finals: State[] = [];
    // Ragged rows: the kernel gets each direction's input already reversed within each row's length.
    const reversal = lengths && this.reversesRows ? reverseWithin(lengths, x.shape[1]!) : null;  // [batch, T, T]
    for (let d = 0; d < this.directions; d++) {
      const v = this.vars[d];
      const s0 = this.initialStates(d, batch, given);
      // Input dropout before the kernel (autodiff gives dx through the product); recurrent dropout inside it.
      const xd = masks?.input ? tf.mul(x, masks.input[d]) : x;                         // [batch, T, m]
      const input = lengths ? directionInputWithin(xd, d, this.goBackwards, reversal) : directionInput(xd, d, this.goBackwards);
      let r;
      try {
        r = fusedSequence(this.kind, input, v.kernel.read(), v.recurrent_kernel.read(), v.bias.read(), s0.h, s0.c ?? null,
          { ...options, recurrentBias: v.recurrent_bias?.read(), returns, ...(lengths ? { lengths } : {}), ...(masks?.recurrent ? { recurrentMask: masks.recurrent[d] } : {}) });
      } catch (e) {
        if (e instanceof FusedUnsupportedError) return null;
        throw e;
      }
      // hs is in processing order; the backward direction's sequence goes back to time order.
      const back = (hs: tf.Tensor) => (reversal ? tf.matMul(reversal, hs) : tf.reverse(hs, 1));
      outs.push(this.returnSequences ? (d === 1 ? back(r.hs) : r.hs) : r.hT);
      if (this.returnState) finals.push({ h: r.hT, c: r.cT });
    }
    return { output: joinDirections(outs, this.returnSequences), finals };
  }

  /**
   * The mask of the layer's outputs (Keras's RNN.compute_mask): with returnSequences the input's mask
   * goes on to the next layer (its padded steps are still padding), else null (the last output has no
   * time axis); with returnState a list, null for every state. Of a list of input masks (initial
   * states as extra inputs) only the first, the sequence's, counts.
   */
  override computeMask(inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
    const input = (Array.isArray(mask) ? mask[0] : mask) ?? null;
    const out = this.returnSequences ? input : null;
    if (!this.returnState) return out as tf.Tensor;
    return [out, ...new Array(this.directions * this.statesPerDirection).fill(null)] as tf.Tensor[];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor | tf.Tensor[] {
    checkOptions(`${this.name}.apply`, kwargs, CALL_KWARGS, 'kwargs');
    return tf.tidy(() => {
      const list = Array.isArray(inputs) ? inputs : [inputs];
      const given = list.length > 1 ? list.slice(1) : (kwargs?.initialState as tf.Tensor[] | undefined);
      this.checkX(list[0]);                                       // once, whichever path runs
      const lengths = this.raggedLengths(`${this.name}.apply`, list[0], { lengths: kwargs?.lengths, mask: kwargs?.mask });
      // Dropout only in training calls; the masks are drawn once here, whichever path runs.
      const [batch, T] = list[0].shape as [number, number, number];
      const masks = kwargs?.training === true ? this.drawDropoutMasks(batch, T) : null;
      let result: { output: tf.Tensor; finals: State[] } | null = null;
      if (this.impl === 'fused') {
        if (!this.family.fused) throw new Error(noFusedKernel(this.name, this.family));   // impl set after construction
        result = this.fusedCall(list[0], given, lengths, masks);
      }
      if (!result) {
        const { output, directions } = this.runSequence(list[0], { initialState: given, ...(masks ? { dropoutMasks: masks } : {}) }, undefined, lengths);
        result = { output, finals: this.returnState ? directions.map(finalState) : [] };
      }
      return this.returnState ? [result.output, ...stateList(result.finals)] : result.output;
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
      // Only when set, so a model without dropout saves the config it saved before dropout existed.
      ...(this.dropout > 0 ? { dropout: this.dropout } : {}),
      ...(this.recurrentDropout > 0 ? { recurrentDropout: this.recurrentDropout } : {}),
    };
  }
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
