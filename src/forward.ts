/**
 * Running a builder model by hand, layer by layer, so that training and diagnostics can reach what
 * `model.apply` hides: the initial states (truncated BPTT carries them between chunks), additive
 * probes on every h_t and c_t (gradientFlow differentiates the loss with respect to them), and the
 * per-step states and gates.
 */
import * as tf from '@tensorflow/tfjs';
import { recurrentLayers, specOf } from './builders';
import { DirectionTrace, RecurrentLayer } from './layers';
import { checkOptions } from './options';
import { checkModelInput, inputSpecsOf } from './guard';
import { interruptible, stepProgress } from './interrupt';
import { gradientDepth } from './internals';
import { Lengths, lengthsFromMask, refusePrePaddedInput, resolveLengths } from './lengths';

/**
 * Called before each time step of each recurrent layer with how far the run got, in words (a function,
 * called only when stopping); it stops the run by throwing.
 */
export type ModelStepCheck = (done: () => string) => void;

/** Options of {@link forwardModel}. */
export interface ForwardModelOptions {
  /** Initial states per recurrent layer, as that layer's `initialState` list ([h, (c)] per direction). */
  initialStates?: (tf.Tensor[] | undefined)[];
  /** Additive probes per recurrent layer, per direction (see RecurrentLayer.forwardSequence). */
  probes?: ({ h?: tf.Tensor[]; c?: tf.Tensor[] }[] | undefined)[];
  /** Keep every step's gate activations. */
  collectGates?: boolean;
  /**
   * Per-sequence lengths L_b of a batch padded at the end (1 ≤ L_b ≤ T), passed to every recurrent
   * layer: outputs 0 at padded steps, final states after step L_b, backward directions from each row's
   * last real step (PyTorch's packed sequences). A token model built with `padId` finds them in x
   * itself; given as well, they must agree. Not for one-to-many models (their input has no time axis).
   */
  lengths?: Lengths;
  /** The same as `lengths`, as a `[batch, T]` mask of 1s then 0s (bool or float). */
  mask?: tf.Tensor;
}
const FORWARD_MODEL_KEYS = ['initialStates', 'probes', 'collectGates', 'lengths', 'mask'] as const;

/** What {@link forwardModel} returns. */
export interface ForwardModelResult {
  /** The model's output, as `model.apply` would give it. */
  output: tf.Tensor;
  /**
   * Per recurrent layer: its name and what each direction computed. `layer` is the model's own layer,
   * not enumerable, so that `tf.dispose(result)` (which walks enumerable properties) frees the result's
   * tensors and never the model's weights.
   */
  layers: { name: string; layer: RecurrentLayer; directions: DirectionTrace[] }[];
  /** Per recurrent layer: its final states ([h, (c)] per direction), e.g. to carry into the next chunk. */
  finalStates: tf.Tensor[][];
}

/** A result's entry for one layer: the layer reachable by name but hidden from tf.dispose / tf.tidy's walk. */
function layerEntry(layer: RecurrentLayer, directions: DirectionTrace[]): ForwardModelResult['layers'][number] {
  const entry = { name: layer.name, directions } as ForwardModelResult['layers'][number];
  Object.defineProperty(entry, 'layer', { value: layer, enumerable: false, writable: false });
  return entry;
}

/**
 * Forward a many-to-one, many-to-many or one-to-many builder model by hand (not seq2seq).
 *
 * Interrupt (the course kernel's ■) stops it between time steps with a `KeyboardInterrupt` naming the
 * step it reached; the tensors it made are freed. Not inside a gradient tape (`tf.grads`), where it runs
 * to the end.
 *
 * @example
 * ```ts
 * const { output, layers } = forwardModel(model, x, { collectGates: true });
 * layers[0].directions[0].h;    // T × [batch, n]
 * const padded = forwardModel(model, x, { lengths: [7, 3, 5] });   // rows padded at the end
 * padded.finalStates[0][0];     // [batch, n]: each row's h after its own last step
 * ```
 * With lengths (or a mask, or a `padId` model's padding) each direction's h_t and c_t hold a row's
 * state through its padding, and the model's output at padded steps is the head applied to 0.
 */
export function forwardModel(model: tf.LayersModel, x: tf.Tensor, options: ForwardModelOptions = {}): ForwardModelResult {
  checkForwardModel(model, x, options);
  // Inside a gradient tape (computeGradients, a lesson's tf.grads) a throw would strand the tape's saved
  // tensors where only its owner can free them: there the run is not cut, and the tape's owner decides.
  if (gradientDepth() > 0) return runModel(model, x, options);
  const op = interruptible('forwardModel');
  try {
    // Tidied, so that an interrupt between steps leaves nothing behind; every tensor of the result is kept.
    const kept = tf.tidy(() => {
      const r = runModel(model, x, options, (done) => op.throwIfStopped(done));
      return { output: r.output, directions: r.layers.map((l) => l.directions), finalStates: r.finalStates } as unknown as tf.TensorContainer;
    }) as unknown as { output: tf.Tensor; directions: DirectionTrace[][]; finalStates: tf.Tensor[][] };
    const layers = recurrentLayers(model).map((layer, l) => layerEntry(layer, kept.directions[l]));
    return { output: kept.output, layers, finalStates: kept.finalStates };
  } finally {
    op.end();
  }
}

/** forwardModel's checks, for callers that run {@link runModel} themselves (gradientFlow, gateStats). */
export function checkForwardModel(model: tf.LayersModel, x: tf.Tensor, options: ForwardModelOptions): void {
  const spec = specOf(model);
  if (spec.topology === 'seq2seq') throw new Error('forwardModel: this is a seq2seq model (two inputs, each with its own lengths); run it with forwardSeq2seq(model, [source, targetIn], { lengths: { source, target } }) (teacher forcing) or decode(model, source, { start, maxLength, sourceLengths }) (generation). forwardModel takes many-to-one, many-to-many and one-to-many models');
  checkOptions('forwardModel', options, FORWARD_MODEL_KEYS);
  checkModelInput('forwardModel', 'x', x, inputSpecsOf(spec)[0]);
  if (spec.topology === 'one-to-many' && (options.lengths != null || options.mask != null)) {
    throw new Error('forwardModel: lengths and mask describe padded sequences; a one-to-many model\'s input x is one vector [batch, features] per sequence');
  }
}

/**
 * The rows' lengths of a model's input x: from options.lengths / options.mask and, for a token model
 * built with padId, from the padding in x (all given must agree); null when nothing says so.
 * Errors name `where` (forwardModel, gradientFlow).
 */
export function modelLengths(spec: ReturnType<typeof specOf>, x: tf.Tensor, options: ForwardModelOptions, where = 'forwardModel'): Int32Array | null {
  if (x.rank < 2) return null;
  const [batch, T] = x.shape as [number, number];
  const layout = spec.vocabSize !== undefined ? '[batch, time]' : '[batch, time, features]';
  if (options.lengths != null || options.mask != null) refusePrePaddedInput(where, 'x', x);
  const given = resolveLengths(where, { lengths: options.lengths, mask: options.mask }, batch, T, layout);
  if (spec.padId === undefined || spec.vocabSize === undefined) return given;
  const fromIds = tf.tidy(() => lengthsFromMask(where, 'x', tf.notEqual(x, spec.padId!), batch, T, { layout, padId: spec.padId }));
  const b = given ? given.findIndex((L, i) => L !== fromIds[i]) : -1;
  if (b >= 0) throw new RangeError(`${where}: ${options.lengths != null ? 'lengths' : 'mask'} and the padding of x disagree at row ${b}: ${given![b]} real steps given, x has ${fromIds[b]} tokens before padId ${spec.padId}`);
  return fromIds;
}

/** {@link runModel}'s options: forwardModel's, and train's truncated-BPTT window. */
export interface RunModelOptions extends ForwardModelOptions {
  /**
   * x is a window of k steps of longer sequences (a truncated-BPTT chunk); `lengths`: each row's steps to
   * run in it, 1 ≤ L_b ≤ k, checked by the caller (null: all k). Used as given: `options.lengths` and
   * `mask` are not read, and a padId model's ids are not read for padding, since a row whose sequence
   * ended before the window is all padding there (train runs such a row for one step, then puts its
   * held state back and masks its loss terms: see train.ts batchChunks).
   */
  window?: { lengths: Int32Array | null };
  /** A training run (train's truncated BPTT, computeGradients): the layers' dropout draws its masks. Default false. */
  training?: boolean;
}

/**
 * {@link forwardModel} without its checks, for callers that checked x once for many calls (train's
 * chunks). `check` runs before every time step of every layer (interruptible callers stop there).
 */
export function runModel(model: tf.LayersModel, x: tf.Tensor, options: RunModelOptions = {}, check?: ModelStepCheck): ForwardModelResult {
  const spec = specOf(model);
  let h: tf.Tensor = x;
  // Checks the ids (and, but in a window, their padding).
  if (spec.vocabSize !== undefined) h = model.getLayer('embedding').apply(h, options.window ? { oneStep: true } : undefined) as tf.Tensor;
  const lengths = options.window ? options.window.lengths : modelLengths(spec, x, options);
  if (spec.topology === 'one-to-many') h = model.getLayer('repeat').apply(h) as tf.Tensor;
  const layers: ForwardModelResult['layers'] = [];
  const finalStates: tf.Tensor[][] = [];
  const recurrent = recurrentLayers(model);
  recurrent.forEach((layer, l) => {
    const where = { name: layer.name, index: l, count: recurrent.length };
    const masks = options.training ? layer.drawDropoutMasks(h.shape[0]!, h.shape[1]!) : null;
    const r = layer.forwardSequence(h, {
      initialState: options.initialStates?.[l], probes: options.probes?.[l], collectGates: options.collectGates,
      ...(lengths ? { lengths } : {}), ...(masks ? { dropoutMasks: masks } : {}),
    }, check && ((t, T, d) => check(() => stepProgress(t, T, d, where))));
    layers.push(layerEntry(layer, r.directions));
    const fin: tf.Tensor[] = [];
    for (const d of r.directions) {
      fin.push(d.h[d.h.length - 1]);
      if (d.c) fin.push(d.c[d.c.length - 1]);
    }
    finalStates.push(fin);
    h = r.output;
  });
  const dropout = model.layers.find((l) => l.name === 'dropout');   // spec.dropout's layer before the head
  if (dropout && options.training) h = dropout.apply(h, { training: true }) as tf.Tensor;
  return { output: model.getLayer('head').apply(h) as tf.Tensor, layers, finalStates };
}

/** The state of {@link modelStepper}: one per recurrent layer. */
export type StepperState = { h: tf.Tensor2D; c?: tf.Tensor2D }[];

/**
 * A one-token-at-a-time view of a token model (many-to-many, unidirectional, `vocabSize` set), for
 * `sampleText`: each call feeds one id, carries every layer's state, and returns the next-token logits
 * (log-probabilities when the head is a softmax). Call `dispose(state)` on the last state when done.
 *
 * @example
 * ```ts
 * const text = sampleText(modelStepper(lm), vocab, { prime: 'h', length: 4, rng: new Rng(1), greedy: true });
 * ```
 */
export function modelStepper(model: tf.LayersModel): { step(id: number, state: StepperState | undefined): { logits: Float32Array; state: StepperState }; dispose(state?: StepperState): void } {
  const spec = specOf(model);
  if (spec.vocabSize === undefined) throw new Error('modelStepper: the model must take token ids (built with vocabSize)');
  if (spec.topology === 'seq2seq' || spec.bidirectional) throw new Error('modelStepper: needs a unidirectional many-to-many or many-to-one token model');
  const layers = recurrentLayers(model);
  const embedding = model.getLayer('embedding');
  const head = model.getLayer('head');
  const softmaxHead = spec.outputActivation === 'softmax';
  return {
    step(id: number, state: StepperState | undefined) {
      if (!Number.isInteger(id) || id < 0 || id >= spec.vocabSize!) throw new RangeError(`modelStepper.step: id must be a token id in [0, ${spec.vocabSize}); got ${id}`);
      const next: StepperState = [];
      const logits = tf.tidy(() => {
        let inp = tf.reshape(embedding.apply(tf.tensor2d([[id]], [1, 1], 'int32')) as tf.Tensor, [1, -1]) as tf.Tensor2D;  // [1, E]
        layers.forEach((layer, l) => {
          const prev = state?.[l] ?? layer.zeroState(1);
          const r = layer.step(inp, prev);
          next.push({ h: tf.keep(r.h), c: r.c ? tf.keep(r.c) : undefined });
          inp = r.h;
        });
        const y = head.apply(inp) as tf.Tensor;                                   // [1, V]
        return (softmaxHead ? tf.log(tf.clipByValue(y, 1e-12, 1)) : y).dataSync() as Float32Array;
      });
      if (state) this.dispose(state);
      return { logits: Float32Array.from(logits), state: next };
    },
    dispose(state?: StepperState) {
      for (const s of state ?? []) { s.h.dispose(); s.c?.dispose(); }
    },
  };
}
