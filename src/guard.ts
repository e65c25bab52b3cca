/**
 * Input checks at a builder model's boundary: predict, predictOnBatch, evaluate, fit, trainOnBatch
 * and apply on tensors check each input before tf.js sees it — rank and fixed sizes against the
 * layout (`[batch, time, features=8]`, `[batch, time]` token ids, `[batch, features]` for
 * one-to-many, both inputs of a seq2seq model) and NaN/Infinity with the first bad index — so an
 * error names the argument and the layout instead of tf.js's "expected input to have 3 dimension(s)".
 *
 * Cost: one read-back per float input tensor per call (the reduction of checkFinite); builder models
 * turn their first layer's own NaN check off, so a guarded predict reads back no more than before.
 * Token ids are range-checked by the embedding layer itself (one read), so the guard checks only
 * their shape.
 */
import * as tf from '@tensorflow/tfjs';
import type { StoredSpec } from './builders';
import { checkFinite, checkInputShape, InputSpec, layoutOf, shapeText } from './inputs';
import { describe } from './describe';

/** What each input of a builder model must look like, from its spec: one entry, two for seq2seq (source, target_in). */
export function inputSpecsOf(spec: StoredSpec): { name: string; spec: InputSpec }[] {
  const tokens = spec.vocabSize !== undefined;
  const T = spec.sequenceLength ?? null;
  if ((spec.topology ?? 'many-to-one') === 'seq2seq') {
    const Tt = spec.targetLength ?? null;
    return [
      { name: 'source', spec: tokens ? { shape: [T], tokens } : { shape: [T, spec.inputSize!] } },
      { name: 'target_in', spec: tokens ? { shape: [Tt], tokens } : { shape: [Tt, spec.outputSize] } },
    ];
  }
  if (spec.topology === 'one-to-many') return [{ name: 'x', spec: { shape: [spec.inputSize!] } }];
  return [{ name: 'x', spec: tokens ? { shape: [T], tokens } : { shape: [T, spec.inputSize!] } }];
}

/** Check one input tensor: shape against the layout, then (float inputs) finite values. */
export function checkModelInput(where: string, name: string, t: unknown, input: { spec: InputSpec }): asserts t is tf.Tensor {
  checkInputShape(where, name, t, input.spec);
  if (!input.spec.tokens) checkFinite(where, name, t as tf.Tensor, layoutOf(input.spec));
}

/** Check a model's inputs `x` as passed to predict/fit/…: a tensor, or [source, target_in] (or a dict by input name) for seq2seq. */
export function checkModelInputs(where: string, spec: StoredSpec, x: unknown, argName = 'x'): void {
  const inputs = inputSpecsOf(spec);
  if (inputs.length === 1) {
    const one = Array.isArray(x) && x.length === 1 ? x[0] : x;
    checkModelInput(where, argName, one, inputs[0]);
    return;
  }
  const layouts = inputs.map((i) => `${i.name} ${layoutOf(i.spec)}`).join(', ');
  let list: unknown[];
  if (Array.isArray(x)) list = x;
  else if (x !== null && typeof x === 'object' && !(x instanceof tf.Tensor)) list = inputs.map((i) => (x as Record<string, unknown>)[i.name]);
  else throw new TypeError(`${where}: ${argName} must be [${inputs.map((i) => i.name).join(', ')}] (${layouts}); got ${x instanceof tf.Tensor ? `one tensor of shape ${shapeText(x.shape)}` : describe(x)}`);
  if (list.length !== inputs.length) throw new Error(`${where}: ${argName} must have ${inputs.length} tensors [${inputs.map((i) => i.name).join(', ')}] (${layouts}); got ${list.length}`);
  inputs.forEach((i, k) => checkModelInput(where, `${argName}[${k}] (${i.name})`, list[k], i));
  const b = list.map((t) => (t as tf.Tensor).shape[0]);
  if (b.some((v) => v !== b[0])) throw new Error(`${where}: ${argName}'s tensors must share the batch size; got ${b.join(' and ')} (${layouts})`);
}

/** Check targets y: tensors (or a list) with finite values; their shape is left to tf.js's loss, which knows sparse labels. */
function checkTargets(where: string, y: unknown): void {
  const list = Array.isArray(y) ? y : [y];
  list.forEach((t, k) => {
    const name = list.length === 1 ? 'y' : `y[${k}]`;
    if (!(t instanceof tf.Tensor)) throw new TypeError(`${where}: ${name} must be a tf.Tensor of targets; got ${describe(t)}`);
    checkFinite(where, name, t);
  });
}

const GUARDED = Symbol.for('rnn-lab.guarded');

/**
 * `model.apply` without the boundary check, for callers that checked the whole data once before a
 * loop of batches (train): the guard wraps the instance, the prototype keeps tf.js's method.
 */
export function applyUnchecked(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[], kwargs?: tf.serialization.ConfigDict): tf.Tensor | tf.Tensor[] {
  return Object.getPrototypeOf(model).apply.call(model, x, kwargs);
}

/** `model.predict` without the boundary check (see {@link applyUnchecked}). */
export function predictUnchecked(model: tf.LayersModel, x: tf.Tensor | tf.Tensor[]): tf.Tensor | tf.Tensor[] {
  return Object.getPrototypeOf(model).predict.call(model, x);
}

/**
 * Make a builder model (or a model loaded with rnn-lab metadata) check its inputs at every entry
 * point: predict, predictOnBatch, evaluate, fit, trainOnBatch, and apply/call on tensors. Idempotent;
 * returns the model. Builders call it; `loadModel` calls it on models that carry a spec.
 *
 * @example
 * ```ts
 * const model = guardModel(await tf.loadLayersModel(url), spec);
 * model.predict(tf.ones([4, 10]));
 * // predict: x must have rank 3, layout [batch, time, features=1]; got shape [4, 10] (one sequence? …)
 * ```
 */
/** The call that runs a padded seq2seq batch with per-side lengths (forward-seq2seq.ts), for messages. */
const SEQ2SEQ_RUN = 'forwardSeq2seq(model, [source, targetIn], { lengths: { source, target } })';

/**
 * tf.js's predict, evaluate and fit read their config's known keys and ignore the rest: lengths or a
 * mask there would be dropped, and a padded batch run as if every step were real.
 */
function checkNoLengths(where: 'predict' | 'evaluate' | 'fit', spec: StoredSpec, config: unknown): void {
  if (config === null || typeof config !== 'object') return;
  const c = config as { lengths?: unknown; mask?: unknown };
  if (c.lengths == null && c.mask == null) return;
  const key = c.lengths != null ? 'lengths' : 'mask';
  const seq2seq = (spec.topology ?? 'many-to-one') === 'seq2seq';
  const instead = where === 'fit' ? `train(model, { x${seq2seq ? ': [source, targetIn]' : ''}, y, lengths${seq2seq ? ': { source, target }' : ''} }) trains on a padded batch`
    : seq2seq ? `${SEQ2SEQ_RUN}.output runs a padded seq2seq batch by teacher forcing, each side with its own lengths (decode(model, source, { sourceLengths }) generates)`
    : 'forwardModel(model, x, { lengths }) or model.apply(x, { lengths }) runs a padded batch';
  const tokens = spec.vocabSize !== undefined ? '; a token model built with padId finds the lengths in its padding (then predict works as is)' : '';
  throw new Error(`${where}: tf.js's ${where} has no ${key} option and would ignore it (every padded step would count); ${instead}${tokens}`);
}

/**
 * Builder models are not compiled — `train` owns the loss and the step — so tf.js's evaluate, fit and
 * trainOnBatch would fail with "You must compile a model before training/testing", which says nothing
 * about what to do. A model the user compiled goes on to tf.js (without lengths: every step counts).
 */
function checkCompiled(where: 'evaluate' | 'fit' | 'trainOnBatch', model: tf.LayersModel, spec: StoredSpec): void {
  if ((model as unknown as { optimizer_?: unknown }).optimizer_ != null) return;
  const seq2seq = (spec.topology ?? 'many-to-one') === 'seq2seq';
  const run = seq2seq ? `${SEQ2SEQ_RUN}.output (lengths only for padded batches; a padId model reads its padding)` : 'model.apply(x, { lengths }) (or forwardModel(model, x, { lengths }).output; no lengths for unpadded batches)';
  const instead = where === 'evaluate'
    ? `score it yourself: p = ${run}, then the loss lossFunction('${spec.outputActivation === 'sigmoid' ? 'binaryCrossEntropy' : spec.outputActivation === 'softmax' ? 'crossEntropy' : 'mse'}')(y, p${seq2seq ? ', sequenceMask(lengths.target, Tt) for the real target steps' : spec.topology === 'many-to-many' ? ', sequenceMask(lengths, T) for per-step outputs' : ''}) and metrics such as accuracy from p's values (README: "Evaluate and predict with lengths")`
    : `train it with train(model, { x, y, lengths? }, { epochs, loss, … })`;
  throw new Error(`${where}: this builder model is not compiled (rnn-lab's train() owns the loss and does not compile it), so tf.js's ${where} cannot run; ${instead}. ` +
    `Or call model.compile({ optimizer, loss }) first for tf.js's own ${where}, which has no lengths: every padded step would count`);
}

export function guardModel(model: tf.LayersModel, spec: StoredSpec): tf.LayersModel {
  const m = model as unknown as Record<string | symbol, unknown>;
  if (m[GUARDED]) return model;
  m[GUARDED] = true;
  const wrap = (method: string, check: (args: unknown[]) => void) => {
    const orig = m[method] as (...a: unknown[]) => unknown;
    m[method] = function (this: unknown, ...args: unknown[]) {
      check(args);
      return orig.apply(this, args);
    };
  };
  wrap('predict', ([x, config]) => { checkNoLengths('predict', spec, config); checkModelInputs('predict', spec, x); });
  wrap('predictOnBatch', ([x]) => checkModelInputs('predictOnBatch', spec, x));
  wrap('evaluate', ([x, y, config]) => { checkNoLengths('evaluate', spec, config); checkModelInputs('evaluate', spec, x); checkTargets('evaluate', y); checkCompiled('evaluate', model, spec); });
  wrap('trainOnBatch', ([x, y]) => { checkModelInputs('trainOnBatch', spec, x); checkTargets('trainOnBatch', y); checkCompiled('trainOnBatch', model, spec); });
  // fit is async: a check that throws becomes a rejected promise, as tf.js's own errors do.
  const fit = m.fit as (...a: unknown[]) => Promise<unknown>;
  m.fit = async function (this: unknown, ...args: unknown[]) {
    checkNoLengths('fit', spec, args[2]);
    checkModelInputs('fit', spec, args[0]);
    checkTargets('fit', args[1]);
    checkCompiled('fit', model, spec);
    return fit.apply(this, args);
  };
  // apply on symbolic tensors builds graphs (no values to check); on tensors it runs the model.
  wrap('apply', ([x, kwargs]) => {
    // One mask (or lengths list) would reach the encoder and the decoder alike (tf.js hands a call's
    // kwargs to every layer): a seq2seq model takes the two sides' lengths where they are told apart.
    const k = kwargs as { mask?: unknown; lengths?: unknown } | undefined;
    if (spec.topology === 'seq2seq' && k && (k.mask != null || k.lengths != null)) {
      const elsewhere = `run ${SEQ2SEQ_RUN} for the teacher-forced output (and attention weights), ` +
        'train(model, { x: [source, targetIn], y, lengths: { source, target } }) to train, decode(model, source, { sourceLengths }) to generate';
      const perSide = k.mask == null && typeof k.lengths === 'object' && !Array.isArray(k.lengths) && !ArrayBuffer.isView(k.lengths) && !(k.lengths instanceof tf.Tensor);
      throw new Error(perSide
        ? `apply: model.apply cannot take a seq2seq model's per-side lengths { source, target }: tf.js hands a call's options to every layer, so the encoder and the decoder cannot each get their own; ${elsewhere}`
        : `apply: a seq2seq model takes its source and target lengths separately — one ${k.mask != null ? 'mask' : 'lengths list'} here would reach the encoder and the decoder alike; ${elsewhere}`);
    }
    const list = Array.isArray(x) ? x : [x];
    if (list.length > 0 && list.every((t) => t instanceof tf.Tensor)) checkModelInputs('apply', spec, x, 'inputs');
  });
  return model;
}
