/**
 * From tf.js / Keras recurrent layers and models to rnn-lab ones that compute the same function.
 *
 * Weights alone do not define a recurrent layer: tf.layers.lstm and gru default to
 * `recurrentActivation: 'hardSigmoid'` where the lecture (and rnn-lab's default) uses σ, so the same
 * weights give different outputs. {@link fromKerasLayer} copies weights *and* every option that changes
 * the function, and refuses what an rnn-lab layer cannot compute; {@link importLayersModel} does it for
 * a whole model. Semantics followed: tfjs-layers 4.22 (`layers/recurrent.js`, `layers/wrappers.js`,
 * `backend/tfjs_backend.js` hardSigmoid).
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { CellKind, GateActivation, RnnActivation } from './family';
import { RecurrentLayer, RecurrentLayerOptions, layerClass } from './layers';
import { LabEmbedding, ModelSpec, buildModel } from './builders';
import { cellFamily, cellKinds, readsOption } from './cells';
import { fromKerasWeights } from './weights';
import { loadModel } from './io';
import { checkOptions } from './options';
import { describe } from './describe';
import { bidirectionalLayers } from './internals';

/** Options of {@link fromKerasLayer} and {@link importLayersModel}. */
export interface FromKerasOptions {
  /**
   * Dropout (a Dropout layer, or a recurrent layer's `dropout`/`recurrentDropout` > 0) acts only in
   * training, so predictions do not depend on it. 'error' (default): refuse, since training the
   * imported model would silently train without it; 'drop': leave it out (listed in
   * `model.getUserDefinedMetadata()['rnn-lab-import'].dropped` by importLayersModel).
   */
  dropout?: 'error' | 'drop';
  /** fromKerasLayer: the new layer's name. Default: the tf.js layer's name. */
  name?: string;
}

/** The tf.js recurrent layer classes with an rnn-lab equivalent (CellFamily.keras), by class name. */
function kerasClasses(): Map<string, CellKind> {
  return new Map(cellKinds().flatMap((k) => {
    const cls = cellFamily(k).keras?.className;
    return cls ? [[cls, k] as [string, CellKind]] : [];
  }));
}
const RNN_ACTS: RnnActivation[] = ['tanh', 'relu', 'sigmoid', 'linear'];
const GATE_ACTS: GateActivation[] = ['sigmoid', 'hardSigmoid'];
/** Training-only extras an rnn-lab layer has no place for: refused rather than lost. */
const TRAINING_EXTRAS = ['kernelRegularizer', 'recurrentRegularizer', 'biasRegularizer', 'activityRegularizer',
  'kernelConstraint', 'recurrentConstraint', 'biasConstraint'];

type Config = tf.serialization.ConfigDict;

/** tf.js serializes an activation as its class name ('tanh', 'hardSigmoid', …) or a {className} dict. */
function actName(a: unknown): string {
  if (typeof a === 'string') return a;
  if (a && typeof a === 'object' && 'className' in a) return String((a as { className: unknown }).className);
  return String(a);
}

/** The recurrent layer inside (a Bidirectional's forward layer), its class and config, checked. */
function innerOf(layer: tf.layers.Layer, where: string): { kind: CellKind; inner: tf.layers.Layer; backward?: tf.layers.Layer; config: Config } {
  const cls = layer.getClassName();
  let inner = layer;
  let backward: tf.layers.Layer | undefined;
  if (cls === 'Bidirectional') {
    const mergeMode = (layer as tf.layers.Layer & { mergeMode: string | null }).mergeMode;   // public field
    if (mergeMode !== 'concat') {
      throw new Error(`${where}: Bidirectional layer '${layer.name}' has mergeMode ${describe(mergeMode)}; rnn-lab's bidirectional layers concatenate (mergeMode 'concat') only`);
    }
    ({ forward: inner, backward } = bidirectionalLayers(layer));
  }
  const innerCls = inner.getClassName();
  const classes = kerasClasses();
  const kind = classes.get(innerCls);
  if (!kind) {
    throw new Error(`${where}: layer '${layer.name}' is a ${cls === 'Bidirectional' ? `Bidirectional(${innerCls})` : cls}; supported: ${[...classes.keys()].join(', ')} and Bidirectional of them`);
  }
  if (!layer.built) {   // (a Bidirectional builds its inner layers without marking them built)
    throw new Error(`${where}: layer '${layer.name}' is not built (its weights do not exist yet); build it or apply it to an input first`);
  }
  return { kind, inner, backward, config: inner.getConfig() };
}

/** The rnn-lab options equivalent to a tf.js recurrent layer's config, or an error naming what differs. */
function labOptions(kind: CellKind, layerName: string, c: Config, dropout: 'error' | 'drop', where: string, dropped: string[]): RecurrentLayerOptions {
  const refuse = (option: string, value: unknown, why: string) => {
    throw new Error(`${where}: layer '${layerName}' has ${option}: ${describe(value)}; ${why}`);
  };
  if (c.stateful) refuse('stateful', c.stateful, 'rnn-lab layers start every call from their initial state (pass states as inputs instead)');
  for (const key of ['dropout', 'recurrentDropout']) {
    const rate = Number(c[key] ?? 0);
    if (rate > 0) {
      if (dropout !== 'drop') refuse(key, rate, `rnn-lab layers have no dropout; it acts only in training, so pass { dropout: 'drop' } to import the layer without it`);
      dropped.push(`${layerName}.${key}=${rate}`);
    }
  }
  for (const key of TRAINING_EXTRAS) {
    if (c[key] != null) refuse(key, c[key], 'rnn-lab layers have no regularizers or constraints, and training would silently go without it');
  }
  const activation = actName(c.activation ?? 'tanh');
  const options: RecurrentLayerOptions = {
    units: Number(c.units), returnSequences: !!c.returnSequences, returnState: !!c.returnState, goBackwards: !!c.goBackwards,
  };
  // Keras's `activation` is the Elman cell's activation, or the candidate's (and LSTM cell output's) tanh.
  const family = cellFamily(kind, where);
  if (readsOption(family, 'activation')) {
    if (!RNN_ACTS.includes(activation as RnnActivation)) refuse('activation', activation, `rnn-lab's Elman layer supports ${RNN_ACTS.join(', ')}`);
    options.activation = activation as RnnActivation;
  } else {
    if (activation !== 'tanh') refuse('activation', activation, `rnn-lab's ${kind.toUpperCase()} uses tanh for the candidate${family.hasCell ? ' and the cell output' : ''}`);
  }
  if (readsOption(family, 'recurrentActivation')) {
    const gate = actName(c.recurrentActivation ?? 'hardSigmoid');
    if (!GATE_ACTS.includes(gate as GateActivation)) refuse('recurrentActivation', gate, `rnn-lab's gates support ${GATE_ACTS.join(', ')}`);
    options.recurrentActivation = gate as GateActivation;
  }
  if (readsOption(family, 'resetAfter') && c.resetAfter) refuse('resetAfter', c.resetAfter, 'tf.js GRUs are reset-before');
  return options;
}


/**
 * An rnn-lab layer equivalent to a built tf.js recurrent layer (tf.layers.simpleRNN, lstm, gru, or
 * tf.layers.bidirectional around one with mergeMode 'concat'): the same weights (gate blocks
 * reordered), activation, recurrentActivation ('sigmoid' or tf.js's 'hardSigmoid'), returnSequences,
 * returnState and goBackwards, so `apply` gives the same output ([batch, time, features] in;
 * [batch, units·directions] or [batch, time, units·directions] out).
 *
 * What it does not copy, and why: `unitForgetBias`, initializers (they only set initial weights, which
 * are copied); `unroll`, `implementation` (how tf.js computes, not what). `useBias: false` becomes a
 * zero bias (which trains if you train the layer). Errors (naming the option and its value): not built;
 * `stateful`; an activation rnn-lab's cell does not compute (LSTM/GRU other than tanh, gates other than
 * sigmoid/hardSigmoid); regularizers and constraints; dropout > 0 unless `options.dropout` is 'drop'.
 *
 * Note: Keras 3's hard_sigmoid is relu6(x + 3)/6 (slope 1/6), not tf.js's clip(0.2x + 0.5, 0, 1); a
 * tf.js layer always means the latter, which is what 'hardSigmoid' computes here.
 *
 * @example
 * ```ts
 * const keras = tf.layers.lstm({ units: 8, returnSequences: true });   // hardSigmoid gates
 * keras.apply(tf.zeros([1, 5, 3]));                                    // built
 * const lab = fromKerasLayer(keras);                                   // recurrentActivation 'hardSigmoid'
 * ```
 */
export function fromKerasLayer(layer: tf.layers.Layer, options: FromKerasOptions = {}): RecurrentLayer {
  return convertLayer(layer, options, 'fromKerasLayer', []);
}

function convertLayer(layer: tf.layers.Layer, options: FromKerasOptions, where: string, dropped: string[]): RecurrentLayer {
  checkOptions(where, options, ['dropout', 'name']);
  if (!(layer instanceof tf.layers.Layer)) throw new TypeError(`${where}: layer must be a tf.js layer (tf.layers.simpleRNN, lstm, gru or bidirectional); got ${describe(layer)}`);
  const dropout = options.dropout ?? 'error';
  if (dropout !== 'error' && dropout !== 'drop') throw new RangeError(`${where}: options.dropout must be 'error' or 'drop'; got ${describe(dropout)}`);
  const { kind, inner, backward, config } = innerOf(layer, where);
  const opts = labOptions(kind, layer.name, config, dropout, where, dropped);
  const m = inner.getWeights()[0].shape[0];
  const lab = new (layerClass(kind))({ ...opts, bidirectional: !!backward, name: options.name ?? layer.name });
  lab.build([null, null, m]);
  // Passing the layers (not their arrays) makes fromKerasWeights check their activations too.
  fromKerasWeights(lab, layer, 0);
  if (backward) fromKerasWeights(lab, layer, 1);
  return lab;
}

/** One layer of the source chain. */
interface Link { layer: tf.layers.Layer; cls: string }

/** The model's layers as a linear chain input → … → output (InputLayer left out), or an error. */
function chainOf(model: tf.LayersModel, where: string): Link[] {
  if (model.inputs.length !== 1 || model.outputs.length !== 1) {
    throw new Error(`${where}: the model must have one input and one output; it has ${model.inputs.length} and ${model.outputs.length}`);
  }
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  let prev: tf.layers.Layer | undefined;
  for (const l of layers) {
    const nodes = l.inboundNodes;
    const from = nodes.length === 1 ? nodes[0].inboundLayers : [];
    const ok = nodes.length === 1 && from.length === 1 && (prev ? from[0] === prev : from[0].getClassName() === 'InputLayer');
    if (!ok) throw new Error(`${where}: layer '${l.name}' is not fed by the layer before it alone; only linear chains (Sequential or a functional chain) can be imported`);
    prev = l;
  }
  return layers.map((layer) => ({ layer, cls: layer.getClassName() }));
}

/** The tf.js layer classes importLayersModel converts (the recurrent ones from the cell registry). */
const supported = () => ['InputLayer', 'Embedding', ...kerasClasses().keys(), 'Bidirectional', 'Dense', 'Dropout'];

/**
 * An rnn-lab model that makes the same predictions as a tf.js / Keras (tfjs-converter) layers model
 * of Embedding, SimpleRNN, LSTM, GRU, Bidirectional (concat) and Dense layers in a linear chain.
 * `source`: a loaded tf.LayersModel (tf.loadLayersModel, tf.io.fromMemory), or a folder (or its
 * model.json) loaded with {@link loadModel}.
 *
 * What comes back:
 * - when the model is what a builder makes — [Embedding] → k recurrent layers of one kind and size
 *   (all but the last returnSequences; the last decides many-to-one or many-to-many) → one Dense head
 *   (linear, softmax or sigmoid, with bias) — the builder's model (buildRNN/buildLSTM/buildGRU) with
 *   the weights copied, layers named `embedding`, `rnn_l{k}`, `head`, so `specOf`, `torchWeights`,
 *   `gradientFlow` work on it;
 * - otherwise a plain tf.model of the same chain: rnn-lab recurrent layers ({@link fromKerasLayer}),
 *   LabEmbedding, and the Dense layers as tf.layers.dense with the same config and weights.
 * Token ids go in as float32 (LabEmbedding checks them); an Embedding's ids are the same numbers.
 *
 * An Embedding with maskZero becomes a LabEmbedding with `padId: 0` (a builder's `spec.padId`): rows
 * padded with 0 at the end run for their own lengths, as in Keras, except that a recurrent layer's
 * sequence output at padded steps is 0 (Keras repeats the last output there); a 0 before a real token
 * is an error naming the row instead of a skipped step.
 *
 * Errors: every unsupported layer listed in one message; Dropout (layers or rates) unless `options.dropout` is 'drop' (then the names are in
 * `getUserDefinedMetadata()['rnn-lab-import'].dropped`); all of {@link fromKerasLayer}'s errors.
 *
 * @example
 * ```ts
 * const keras = await tf.loadLayersModel('file://model/model.json');   // or importLayersModel('model/')
 * const lab = await importLayersModel(keras);
 * lab.predict(x);                                                        // = keras.predict(x)
 * ```
 */
export async function importLayersModel(source: tf.LayersModel | string, options: FromKerasOptions = {}): Promise<tf.LayersModel> {
  const where = 'importLayersModel';
  checkOptions(where, options, ['dropout']);
  let model: tf.LayersModel;
  if (typeof source === 'string') {
    const dir = path.basename(source) === 'model.json' ? path.dirname(source) : source;
    if (source.endsWith('.json') && path.basename(source) !== 'model.json') {
      throw new Error(`${where}: source must be a folder holding model.json (or that model.json); got '${source}'`);
    }
    model = await loadModel(dir);
  } else if (source instanceof tf.LayersModel) {
    model = source;
  } else {
    throw new TypeError(`${where}: source must be a tf.LayersModel or a folder path; got ${describe(source)}`);
  }
  const dropout = options.dropout ?? 'error';
  if (dropout !== 'error' && dropout !== 'drop') throw new RangeError(`${where}: options.dropout must be 'error' or 'drop'; got ${describe(dropout)}`);
  const all = chainOf(model, where);
  const SUPPORTED = supported();
  const unsupported = all.filter((l) => !SUPPORTED.includes(l.cls));
  if (unsupported.length > 0) {
    throw new Error(`${where}: unsupported layers ${unsupported.map((l) => `'${l.layer.name}' (${l.cls})`).join(', ')}; supported: ${SUPPORTED.join(', ')}`);
  }
  const dropped: string[] = [];
  const dropouts = all.filter((l) => l.cls === 'Dropout');
  if (dropouts.length > 0 && dropout !== 'drop') {
    throw new Error(`${where}: Dropout layers ${dropouts.map((l) => `'${l.layer.name}'`).join(', ')} act only in training; pass { dropout: 'drop' } to import the model without them`);
  }
  dropped.push(...dropouts.map((l) => l.layer.name));
  const chain = all.filter((l) => l.cls !== 'Dropout');
  const inputShape = model.inputs[0].shape.slice(1);
  const built = asBuilderModel(chain, inputShape, dropout, dropped) ?? plainModel(chain, inputShape, model.name, dropout, dropped);
  built.setUserDefinedMetadata({ ...(built.getUserDefinedMetadata() ?? {}), 'rnn-lab-import': { source: model.name, dropped } });
  return built;
}

/** The builder's model with the chain's weights, when the chain has a builder's shape; else null. */
function asBuilderModel(chain: Link[], inputShape: (number | null)[], dropout: 'error' | 'drop', dropped: string[]): tf.LayersModel | null {
  const emb = chain[0]?.cls === 'Embedding' ? chain[0].layer : undefined;
  const recs = chain.slice(emb ? 1 : 0, -1);
  const head = chain[chain.length - 1];
  if (recs.length === 0 || head.cls !== 'Dense' || recs.some((l) => !kerasClasses().has(l.cls) && l.cls !== 'Bidirectional')) return null;
  const hc = head.layer.getConfig();
  const headAct = actName(hc.activation);
  if (!['linear', 'softmax', 'sigmoid'].includes(headAct) || hc.useBias === false) return null;
  // Convert first (this also makes every refusal an error, whichever model comes back).
  const labs = recs.map((l) => convertLayer(l.layer, { dropout }, 'importLayersModel', dropped));
  const first = labs[0];
  const same = labs.every((l) => l.kind === first.kind && l.units === first.units && l.bidirectional === first.bidirectional
    && !l.goBackwards && !l.returnState && l.cellOptions.activation === first.cellOptions.activation
    && l.cellOptions.recurrentActivation === first.cellOptions.recurrentActivation);
  const inner = labs.slice(0, -1).every((l) => l.returnSequences);
  const T = inputShape[0];   // [T] tokens or [T, m] features
  const free = () => labs.forEach((l) => l.weights.forEach((w) => w.dispose()));
  if (!same || !inner) {
    free();
    return null;
  }
  const spec: ModelSpec = {
    hiddenSize: first.units, outputSize: Number(hc.units), numLayers: labs.length, bidirectional: first.bidirectional || undefined,
    topology: labs[labs.length - 1].returnSequences ? 'many-to-many' : 'many-to-one', outputActivation: headAct as ModelSpec['outputActivation'],
    sequenceLength: T ?? undefined,
    ...(readsOption(first.family, 'activation') ? { activation: first.cellOptions.activation } : { recurrentActivation: first.cellOptions.recurrentActivation }),
  };
  if (emb) {
    const ec = emb.getConfig();
    spec.vocabSize = Number(ec.inputDim);
    spec.embeddingSize = Number(ec.outputDim);
    if (ec.maskZero) spec.padId = 0;                                   // Keras's mask_zero: id 0 pads
  } else {
    spec.inputSize = first.inputSize;
  }
  const model = buildModel(first.kind, spec);
  labs.forEach((lab, k) => {
    const target = model.getLayer(`rnn_l${k}`);
    target.setWeights(lab.getWeights());
  });
  if (emb) model.getLayer('embedding').setWeights(emb.getWeights());
  model.getLayer('head').setWeights(head.layer.getWeights());
  free();
  return model;
}

/** The chain rebuilt as a tf.model of rnn-lab recurrent layers, LabEmbedding and tf.js Dense layers. */
function plainModel(chain: Link[], inputShape: (number | null)[], name: string, dropout: 'error' | 'drop', dropped: string[]): tf.LayersModel {
  const input = tf.input({ shape: inputShape });
  let x: tf.SymbolicTensor = input;
  for (const { layer, cls } of chain) {
    let next: tf.layers.Layer;
    if (cls === 'Embedding') {
      const c = layer.getConfig();
      next = new LabEmbedding({ vocabSize: Number(c.inputDim), embeddingSize: Number(c.outputDim), name: layer.name, ...(c.maskZero ? { padId: 0 } : {}) });
    } else if (cls === 'Dense') {
      const { batchInputShape: _b, inputShape: _i, ...config } = layer.getConfig();
      next = tf.layers.dense(config as unknown as Parameters<typeof tf.layers.dense>[0]);
    } else {
      next = convertLayer(layer, { dropout }, 'importLayersModel', dropped);   // built, weights copied
    }
    x = next.apply(x) as tf.SymbolicTensor;
    if (cls === 'Embedding' || cls === 'Dense') next.setWeights(layer.getWeights());
  }
  return tf.model({ inputs: input, outputs: x, name: `${name}_rnn_lab` });
}
