/**
 * A recurrent layer's states and outputs across directions: the initial state of a direction (given,
 * learned or zeros), the one reader of final states, and how directions join into the output.
 * Direction 0 runs forward (or backward with goBackwards), direction 1 of a bidirectional layer the
 * other way; states and outputs list the forward direction first.
 */
import * as tf from '@tensorflow/tfjs';
import { State } from './family';
import { DirectionTrace } from './time-loop';
import { shapeText } from './inputs';

/** Whether direction d reads the sequence from its end. */
export function readsBackwards(d: number, goBackwards: boolean): boolean {
  return (d === 1) !== goBackwards;
}

/** Direction d's input, in its processing order: x [batch, T, m], reversed in time when it reads backwards. */
export function directionInput(x: tf.Tensor, d: number, goBackwards: boolean): tf.Tensor {
  return readsBackwards(d, goBackwards) ? tf.reverse(x, 1) : x;                     // [batch, T, m]
}

/**
 * The per-row time reversal of a padded batch, as one permutation matrix per row: P_b [T, T] maps
 * step k to step L_b − 1 − k for k < L_b and leaves the padding (k ≥ L_b) in place. `matMul(P, x)`
 * with x [batch, T, m] reverses each sequence within its own length, so a backward direction starts
 * at each sequence's last real step (PyTorch's packed sequences). P is its own inverse, so the same
 * product takes a backward direction's outputs back to time order. A matmul rather than a gather:
 * the gradient of a gather needs UnsortedSegmentSum, which tf.js's WASM backend lacks; multiplying
 * by 1 and adding exact zeros leaves every value unchanged.
 */
export function reverseWithin(lengths: ArrayLike<number>, T: number): tf.Tensor3D {
  const batch = lengths.length;
  const p = new Float32Array(batch * T * T);
  for (let b = 0; b < batch; b++) {
    for (let k = 0; k < T; k++) p[b * T * T + k * T + (k < lengths[b] ? lengths[b] - 1 - k : k)] = 1;
  }
  return tf.tensor3d(p, [batch, T, T]);                                             // [batch, T, T]
}

/**
 * Direction d's input in its processing order when the rows have their own lengths: x as it is, or
 * reversed within each row's length (`reversal` from {@link reverseWithin}) when d reads backwards.
 */
export function directionInputWithin(x: tf.Tensor, d: number, goBackwards: boolean, reversal: tf.Tensor3D | null): tf.Tensor {
  return readsBackwards(d, goBackwards) ? tf.matMul(reversal!, x) : x;               // [batch, T, m]
}

/**
 * Which rows are still inside their sequence at each step: T × [batch, 1] bool (step t is real for
 * row b when t < L_b), undefined at the steps every row has (t < min L_b): the time loop then skips
 * the hold-the-state select, two ops per step it does not need.
 */
export function liveSteps(lengths: ArrayLike<number>, T: number): (tf.Tensor2D | undefined)[] {
  const batch = lengths.length;
  const shortest = Math.min(...Array.from(lengths));
  return Array.from({ length: T }, (_, t) => {
    if (t < shortest) return undefined;
    const v = new Uint8Array(batch);
    for (let b = 0; b < batch; b++) v[b] = t < lengths[b] ? 1 : 0;
    return tf.tensor2d(v, [batch, 1], 'bool');                                       // [batch, 1]
  });
}

/**
 * The final state of a direction's trace: h_T (and c_T); with per-row lengths the trace holds each
 * row's state through its padding, so this is the state after step L_b. [batch, n] each
 */
export function finalState(trace: DirectionTrace): State {
  return { h: trace.h[trace.h.length - 1], c: trace.c ? trace.c[trace.c.length - 1] : undefined };
}

/** Final states as the layer returns them: [h, (c)] per direction, forward first. */
export function stateList(states: State[]): tf.Tensor[] {
  return states.flatMap((s) => (s.c ? [s.h, s.c] : [s.h]));
}

/**
 * The layer's output from each direction's: [batch, T, n] sequences (time order) joined on the
 * feature axis, or [batch, n] last outputs — [batch, (T,) n·dirs].
 */
export function joinDirections(outs: tf.Tensor[], returnSequences: boolean): tf.Tensor {
  return outs.length === 1 ? outs[0] : tf.concat(outs, returnSequences ? 2 : 1);
}

/** What {@link initialState} needs of the layer. */
export interface StateSpec {
  name: string;
  units: number;
  bidirectional: boolean;
  directions: number;
  hasCell: boolean;
  /** The learned h0 (and c0) of the direction, with initialState 'learned'. [n] each */
  learned?: { h0: tf.LayerVariable; c0?: tf.LayerVariable };
}

/** The initial state of direction d, [batch, n] each: given (checked), learned or zeros. */
export function initialState(s: StateSpec, d: number, batch: number, given?: tf.Tensor[]): State {
  const n = s.units;
  const k = s.hasCell ? 2 : 1;
  if (given && given.length > 0) {
    const need = k * s.directions;
    if (given.length !== need) {
      const names = s.hasCell ? 'h and c' : 'h';
      throw new Error(`${s.name}: initialState must have ${need} tensors (${names}${s.bidirectional ? ' per direction, forward first' : ''}); got ${given.length}`);
    }
    const states = given.slice(d * k, d * k + k).map((t, j) => {
      const idx = d * k + j;
      if (t.rank !== 2 || t.shape[0] !== batch || t.shape[1] !== n) {
        throw new Error(`${s.name}: initialState[${idx}] must have shape [batch=${batch}, hidden=${n}] to match the input's batch; got ${shapeText(t.shape)}`);
      }
      return t as tf.Tensor2D;
    });
    return { h: states[0], c: states[1] };
  }
  if (s.learned) {
    const tile = (w: tf.LayerVariable) => tf.tile(tf.reshape(w.read(), [1, n]), [batch, 1]) as tf.Tensor2D;  // [batch, n]
    return { h: tile(s.learned.h0), c: s.learned.c0 ? tile(s.learned.c0) : undefined };
  }
  const z = tf.zeros([batch, n]) as tf.Tensor2D;
  return { h: z, c: s.hasCell ? z : undefined };
}
