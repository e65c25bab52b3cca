/**
 * The reference time loop: one direction of a recurrent layer, as tf.js ops per step, so autodiff
 * gives BPTT. The input projection x_t·W_x + b of all steps is one matmul before the loop; each step
 * then does the recurrent matmul and the gate arithmetic of its cell family (CellFamily.step).
 */
import * as tf from '@tensorflow/tfjs';
import { CellFamily, CellOptions, State, StepWeights } from './family';
import type { Lengths } from './lengths';

/** What {@link RecurrentLayer.forwardSequence} returns. */
export interface SequenceResult {
  /** The layer's output: [batch, time, n·dirs] with returnSequences, else [batch, n·dirs]. */
  output: tf.Tensor;
  /** Per direction (forward first): the states after each step, in processing order. */
  directions: DirectionTrace[];
}

/**
 * Everything one direction computed, in processing order (step k = k-th step read). With per-row
 * lengths, a row's h and c stay at their values after step L_b through its padding (the gates there
 * are what the cell computed on the padding, and mean nothing); a direction that reads backwards
 * reads each row from its own last real step, so step k of row b is time L_b − 1 − k.
 */
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
  /**
   * Per-sequence lengths L_b (1 ≤ L_b ≤ T) of a batch padded at the end: the output is 0 at padded
   * steps, each row's final state is its state after step L_b, and a backward direction starts at each
   * row's last real step (PyTorch's packed sequences). Default: every row has T steps.
   */
  lengths?: Lengths;
  /** The same as `lengths`, as a `[batch, T]` mask of 1s then 0s (bool or float); both given must agree. */
  mask?: tf.Tensor;
  /**
   * Given dropout masks, per direction (forward first), to run the sequence as a training call with
   * exactly these masks (tests compare paths with them): `input[d]` [batch, T, features] multiplies x
   * (in time order) before direction d reads it; `recurrent[d]` [batch, n] multiplies h_{t−1} where it
   * enters the recurrent matmul, at every step (see RecurrentLayerOptions.dropout, recurrentDropout).
   * Masks are taken as given (already scaled, e.g. 0 or 1/(1 − p)). Default: none (forwardSequence never
   * draws masks itself).
   */
  dropoutMasks?: DropoutMasks;
}
export const FORWARD_KEYS = ['initialState', 'probes', 'collectGates', 'lengths', 'mask', 'dropoutMasks'] as const;

/** Dropout masks of one call, per direction (see {@link ForwardOptions.dropoutMasks}). */
export interface DropoutMasks {
  /** Per direction: [batch, T, features], multiplying the input. */
  input?: tf.Tensor[];
  /** Per direction: [batch, n], multiplying h_{t−1} in the recurrent matmul at every step. */
  recurrent?: tf.Tensor[];
}

/**
 * Called before time step t (t of T steps done) of direction d, so a long run can be stopped between
 * steps (see interrupt.ts): it stops the run by throwing.
 */
export type StepCheck = (t: number, T: number, d: number) => void;

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

/** All steps' input projections x_t·W_x + b at once: xs [batch, T, m] → [batch, T, G·n]. */
export function projectInputs(xs: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor): tf.Tensor3D {
  const [batch, T, m] = xs.shape as [number, number, number];
  const Gn = kernel.shape[1] as number;
  return tf.reshape(tf.add(tf.matMul(tf.reshape(xs, [batch * T, m]), kernel), bias), [batch, T, Gn]) as tf.Tensor3D;
}

/** What {@link runDirection} needs besides the inputs. */
export interface DirectionRun {
  family: CellFamily;
  cellOptions: Required<CellOptions>;
  /** The prepared recurrent weights (CellFamily.prepare). */
  weights: StepWeights;
  /** The state before the first step. [batch, n] each */
  initial: State;
  /** Additive probes on the states after each step (T × [batch, n]). */
  probe?: { h?: tf.Tensor[]; c?: tf.Tensor[] };
  collectGates?: boolean;
  /**
   * Per-row lengths as step masks (layer-state.ts liveSteps): T × [batch, 1], true while t < L_b;
   * an undefined entry (a step every row has) or no list at all: every row runs that step.
   * A row past its end keeps its state.
   */
  live?: (tf.Tensor | undefined)[];
  /** Recurrent dropout: h_{t−1} ⊙ recurrentMask [batch, n] feeds the recurrent matmul at every step. */
  recurrentMask?: tf.Tensor;
  /** Direction index, passed to `check`. */
  d: number;
  check?: StepCheck;
}

/**
 * Run the cell over all T steps of xp [batch, T, G·n] (already projected, in processing order) and
 * return every state (and gate) in processing order.
 */
export function runDirection(xp: tf.Tensor, run: DirectionRun): DirectionTrace {
  const T = xp.shape[1] as number;
  const { family, probe } = run;
  const xAt = stepInputs(xp);                                                        // t → [batch, G·n]
  let state = run.initial;
  const trace: DirectionTrace = { h: [], c: family.hasCell ? [] : undefined, gates: run.collectGates ? {} : undefined };
  for (let t = 0; t < T; t++) {
    run.check?.(t, T, run.d);
    const r = run.recurrentMask
      ? family.step(xAt(t), state, run.weights, run.cellOptions, probe?.c?.[t], run.recurrentMask)  // the same mask at every step
      : family.step(xAt(t), state, run.weights, run.cellOptions, probe?.c?.[t]);  // c probe acts inside, before h_t
    let h = r.h;
    let c = r.c;
    if (probe?.h?.[t]) h = tf.add(h, probe.h[t]) as tf.Tensor2D;                   // [batch, n]
    const live = run.live?.[t];
    if (live) {
      // A row past its last real step holds its state: the padding never reaches it, in value or gradient.
      h = tf.where(live, h, state.h) as tf.Tensor2D;                               // [batch, n]
      if (c) c = tf.where(live, c, state.c!) as tf.Tensor2D;                       // [batch, n]
    }
    state = { h, c };
    trace.h.push(h);
    if (c) trace.c!.push(c);
    if (trace.gates) for (const [k, g] of Object.entries(r.gates)) (trace.gates[k] ??= []).push(g);
  }
  return trace;
}
