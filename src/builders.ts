/**
 * Builders: one typed spec, every topology. Each returns a tf.LayersModel (train it with
 * `model.fit` or the course's `train`) whose layers have stable names — `embedding`,
 * `rnn_l{k}` (or `encoder_l{k}` / `decoder_l{k}`), `head` — so weights map to PyTorch keys.
 */
import * as tf from '@tensorflow/tfjs';
import { CellKind, GateActivation, GruUpdate, RnnActivation } from './family';
import { FAMILIES, LabGRU, LabLSTM, LabRNN, RecurrentLayer, RecurrentLayerOptions } from './layers';
import { layerFromTorch, layerToTorch } from './weights';
import { checkOptions } from './options';
import { checkAlive, unravel, checkPositiveInt, shapeText } from './inputs';
import { checkModelInput, guardModel, inputSpecsOf } from './guard';
import { interruptible, stepProgress } from './interrupt';

/** The topologies of the lecture. */
export type Topology = 'many-to-one' | 'many-to-many' | 'one-to-many' | 'seq2seq';

/** One spec for every builder. */
export interface ModelSpec {
  /** Features per input step m (ignored with `vocabSize`, where inputs are token ids). */
  inputSize?: number;
  /** Hidden size n of every recurrent layer. */
  hiddenSize: number;
  /** Outputs per prediction (a vocabulary size for softmax over tokens). */
  outputSize: number;
  /** Stacked recurrent layers. Default 1. */
  numLayers?: number;
  /** Read each layer's input in both directions and concatenate. Default false (not for seq2seq). */
  bidirectional?: boolean;
  /** Default 'many-to-one'. */
  topology?: Topology;
  /** Activation of the output head. Default 'linear'. */
  outputActivation?: 'linear' | 'softmax' | 'sigmoid';
  /** Token inputs: ids in [0, vocabSize) go through an embedding of `embeddingSize`. */
  vocabSize?: number;
  /** Embedding width. Default: hiddenSize. */
  embeddingSize?: number;
  /** Sequence length, when fixed (required for 'one-to-many': the length generated in training). */
  sequenceLength?: number;
  /** Decoder sequence length for seq2seq (optional: null = any). */
  targetLength?: number;
  /** Elman activation. Default 'tanh'. */
  activation?: RnnActivation;
  /** GRU: reset after the recurrent matmul (PyTorch). Default false. */
  resetAfter?: boolean;
  /** GRU update convention. Default 'z-keeps-old'. */
  update?: GruUpdate;
  /** LSTM/GRU gate activation ('sigmoid' or tf.js's 'hardSigmoid'). Default 'sigmoid'. Not for buildRNN. */
  recurrentActivation?: GateActivation;
  /** Initial state when none is given. Default 'zeros'. */
  initialState?: 'zeros' | 'learned';
  /** Seed of every initializer. Default 1. */
  seed?: number;
  /** How every recurrent layer runs: 'reference' (tf.js ops per step) or 'fused' (one WebAssembly kernel). Default: RNN_LAB_RECURRENT_IMPL, else 'fused'. See {@link RecurrentLayerOptions.impl}. */
  impl?: 'reference' | 'fused';
}

/** Every key a {@link ModelSpec} may have (a new option is one line here). */
export const MODEL_SPEC_KEYS: readonly string[] = [
  'inputSize', 'hiddenSize', 'outputSize', 'numLayers', 'bidirectional', 'topology', 'outputActivation',
  'vocabSize', 'embeddingSize', 'sequenceLength', 'targetLength', 'activation', 'resetAfter', 'update',
  'initialState', 'seed', 'impl', 'recurrentActivation',
];

/** A spec with its cell family, as stored in the model's metadata. */
export interface StoredSpec extends ModelSpec {
  cell: CellKind;
}

const META_KEY = 'rnn-lab';

/**
 * Token embedding: row `id` of E [vocabSize, embeddingSize] for each token id, computed as
 * one-hot(ids)·E. tf.layers.embedding gathers rows instead, and the gradient of a gather needs the
 * UnsortedSegmentSum kernel, which tf.js's WASM backend does not have; a matmul trains everywhere and
 * costs little at the course's vocabulary sizes. It also checks the ids: an embedding would silently
 * truncate 2.5 to 2, and a model input declared int32 would truncate before any layer could look, so
 * token inputs are float32 (exact below 2^24). Serialized as 'LabEmbedding'.
 */
export class LabEmbedding extends tf.layers.Layer {
  static className = 'LabEmbedding';
  readonly vocabSize: number;
  readonly embeddingSize: number;
  readonly seed: number;
  private table?: tf.LayerVariable;
  constructor(args: { vocabSize: number; embeddingSize: number; seed?: number; name?: string }) {
    super(args);
    this.vocabSize = args.vocabSize;
    this.embeddingSize = args.embeddingSize;
    this.seed = args.seed ?? 1;
  }
  override build(): void {
    this.table = this.addWeight('embeddings', [this.vocabSize, this.embeddingSize], 'float32',
      tf.initializers.randomUniform({ minval: -0.1, maxval: 0.1, seed: this.seed }));
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...s, this.embeddingSize];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const ids = Array.isArray(inputs) ? inputs[0] : inputs;
      checkTokens(ids, this.vocabSize, `${this.name}: the input`);
      const flat = tf.oneHot(tf.cast(tf.reshape(ids, [-1]), 'int32'), this.vocabSize);          // [N, V]
      const rows = tf.matMul(flat, this.table!.read());                                          // [N, E]
      return tf.reshape(rows, [...ids.shape, this.embeddingSize]);                               // [..., E]
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), vocabSize: this.vocabSize, embeddingSize: this.embeddingSize, seed: this.seed };
  }
}
tf.serialization.registerClass(LabEmbedding);

/** The spec a builder stored in the model (also survives save/load). */
export function specOf(model: tf.LayersModel): StoredSpec {
  const meta = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const spec = meta?.[META_KEY] as StoredSpec | undefined;
  if (!spec) throw new Error(`this model was not made by buildRNN/buildLSTM/buildGRU (no '${META_KEY}' metadata)`);
  return spec;
}

function posInt(v: unknown, what: string, optional = false): void {
  if (optional && v === undefined) return;
  checkPositiveInt('build', `spec.${what}`, v);
}

function checkSpec(spec: ModelSpec, where = 'build'): Required<Pick<ModelSpec, 'numLayers' | 'topology' | 'outputActivation' | 'seed'>> {
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where}: spec must be an object like { inputSize, hiddenSize, outputSize }; got ${spec}`);
  checkOptions(where, spec, MODEL_SPEC_KEYS, 'spec');
  const topology = spec.topology ?? 'many-to-one';
  const topologies: Topology[] = ['many-to-one', 'many-to-many', 'one-to-many', 'seq2seq'];
  if (!topologies.includes(topology)) throw new RangeError(`build: spec.topology must be one of ${topologies.join(', ')}; got '${topology}'`);
  posInt(spec.hiddenSize, 'hiddenSize');
  posInt(spec.outputSize, 'outputSize');
  posInt(spec.numLayers, 'numLayers', true);
  posInt(spec.vocabSize, 'vocabSize', true);
  posInt(spec.embeddingSize, 'embeddingSize', true);
  posInt(spec.sequenceLength, 'sequenceLength', true);
  posInt(spec.targetLength, 'targetLength', true);
  if (spec.vocabSize === undefined) posInt(spec.inputSize, 'inputSize (or vocabSize for token inputs)');
  if (topology === 'one-to-many' && spec.sequenceLength === undefined) throw new RangeError(`build: a one-to-many model needs spec.sequenceLength (the length of the sequence it generates)`);
  if (topology === 'one-to-many' && spec.vocabSize !== undefined) throw new RangeError(`build: a one-to-many model takes one input vector (inputSize), not tokens (vocabSize)`);
  if (topology === 'seq2seq' && spec.bidirectional) throw new RangeError(`build: a seq2seq model's decoder runs forward only; use bidirectional: false`);
  const outs = ['linear', 'softmax', 'sigmoid'];
  if (spec.outputActivation !== undefined && !outs.includes(spec.outputActivation)) throw new RangeError(`build: spec.outputActivation must be one of ${outs.join(', ')}; got '${spec.outputActivation}'`);
  return { numLayers: spec.numLayers ?? 1, topology, outputActivation: spec.outputActivation ?? 'linear', seed: spec.seed ?? 1 };
}

const LAYER_CLASS: Record<CellKind, new (a: RecurrentLayerOptions) => RecurrentLayer> = { rnn: LabRNN, lstm: LabLSTM, gru: LabGRU };

function build(cell: CellKind, spec: ModelSpec, where: string): tf.LayersModel {
  const { numLayers, topology, outputActivation, seed } = checkSpec(spec, where);
  const Layer = LAYER_CLASS[cell];
  const tokens = spec.vocabSize !== undefined;
  const emb = spec.embeddingSize ?? spec.hiddenSize;
  const T = spec.sequenceLength ?? null;
  const common = (name: string, l: number, extra: Partial<RecurrentLayerOptions>): RecurrentLayerOptions => ({
    units: spec.hiddenSize, name, seed: seed + 101 * l + (name.startsWith('decoder') ? 7 : 0),
    activation: spec.activation, resetAfter: spec.resetAfter, update: spec.update, recurrentActivation: spec.recurrentActivation, initialState: spec.initialState,
    // The model's inputs are checked once at its boundary (guardModel), not again inside.
    impl: spec.impl, checkInput: false, ...extra,
  });
  const head = tf.layers.dense({ units: spec.outputSize, activation: outputActivation, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 9001 }) });
  let model: tf.LayersModel;

  if (topology === 'seq2seq') {
    const src = tf.input({ shape: tokens ? [T] : [T, spec.inputSize!], name: 'source' });
    const tgtIn = tf.input({ shape: tokens ? [spec.targetLength ?? null] : [spec.targetLength ?? null, spec.outputSize], name: 'target_in' });
    let x: tf.SymbolicTensor = src;
    let y: tf.SymbolicTensor = tgtIn;
    if (tokens) {
      x = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + 11, name: 'embedding' }).apply(x) as tf.SymbolicTensor;
      y = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + 13, name: 'decoder_embedding' }).apply(y) as tf.SymbolicTensor;
    }
    const states: tf.SymbolicTensor[][] = [];
    for (let l = 0; l < numLayers; l++) {
      const out = new Layer(common(`encoder_l${l}`, l, { returnSequences: l < numLayers - 1, returnState: true })).apply(x) as tf.SymbolicTensor[];
      x = out[0];
      states.push(out.slice(1));
    }
    for (let l = 0; l < numLayers; l++) {
      y = new Layer(common(`decoder_l${l}`, l, { returnSequences: true, checkInput: false })).apply([y, ...states[l]]) as tf.SymbolicTensor;
    }
    model = tf.model({ inputs: [src, tgtIn], outputs: head.apply(y) as tf.SymbolicTensor, name: `${cell}_seq2seq` });
  } else {
    const oneToMany = topology === 'one-to-many';
    const input = tf.input({ shape: oneToMany ? [spec.inputSize!] : tokens ? [T] : [T, spec.inputSize!], name: 'input' });
    let x: tf.SymbolicTensor = input;
    if (tokens) {
      x = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + 11, name: 'embedding' }).apply(x) as tf.SymbolicTensor;
    }
    // One-to-many: the one input vector is fed at every step (a common reading of the lecture's diagram).
    if (oneToMany) x = tf.layers.repeatVector({ n: spec.sequenceLength!, name: 'repeat' }).apply(x) as tf.SymbolicTensor;
    const seqOut = topology !== 'many-to-one';
    for (let l = 0; l < numLayers; l++) {
      x = new Layer(common(`rnn_l${l}`, l, { returnSequences: l < numLayers - 1 || seqOut, bidirectional: spec.bidirectional })).apply(x) as tf.SymbolicTensor;
    }
    model = tf.model({ inputs: input, outputs: head.apply(x) as tf.SymbolicTensor, name: `${cell}_${topology.replace(/-/g, '_')}` });
  }
  // JSON metadata: keys set to undefined (easy to pass through in TypeScript) are left out.
  const stored = Object.fromEntries(Object.entries({ ...spec, cell }).filter(([, v]) => v !== undefined));
  model.setUserDefinedMetadata({ [META_KEY]: stored as unknown as tf.serialization.ConfigDict });
  return guardModel(model, stored as unknown as StoredSpec);
}

/**
 * A vanilla (Elman) RNN model.
 *
 * Shapes, by topology (b = batch, T = time, m = inputSize, k = outputSize):
 * - 'many-to-one':  [b, T, m] → [b, k]           (token ids [b, T] with vocabSize)
 * - 'many-to-many': [b, T, m] → [b, T, k]
 * - 'one-to-many':  [b, m] → [b, sequenceLength, k]
 * - 'seq2seq':      [source [b, Ts, m], target_in [b, Tt, k]] → [b, Tt, k]  (teacher forcing; see decode)
 *
 * @example
 * ```ts
 * const model = buildRNN({ inputSize: 1, hiddenSize: 32, outputSize: 1, topology: 'many-to-one' });
 * model.compile({ optimizer: 'adam', loss: 'meanSquaredError' });
 * await model.fit(x, y, { epochs: 20 });                 // x [b, T, 1], y [b, 1]
 * ```
 */
export function buildRNN(spec: ModelSpec): tf.LayersModel {
  return build('rnn', spec, 'buildRNN');
}
/**
 * An LSTM model (σ gates, lecture order i, f, o, g). Shapes as in {@link buildRNN}.
 *
 * @example
 * ```ts
 * const lm = buildLSTM({ vocabSize: 4, embeddingSize: 8, hiddenSize: 32, outputSize: 4,
 *                        topology: 'many-to-many', outputActivation: 'softmax' });
 * lm.predict(tf.tensor2d([[1, 0, 2, 2]], [1, 4], 'int32'));   // [1, 4, 4]: next-character probabilities
 * ```
 */
export function buildLSTM(spec: ModelSpec): tf.LayersModel {
  return build('lstm', spec, 'buildLSTM');
}
/**
 * A GRU model (reset before by default; `resetAfter: true` for PyTorch's variant). Shapes as in {@link buildRNN}.
 *
 * @example
 * ```ts
 * const s2s = buildGRU({ vocabSize: 12, hiddenSize: 64, outputSize: 12, topology: 'seq2seq', outputActivation: 'softmax' });
 * ```
 */
export function buildGRU(spec: ModelSpec): tf.LayersModel {
  return build('gru', spec, 'buildGRU');
}

/** The model's recurrent layers in order (for seq2seq: encoder layers, then decoder layers). */
export function recurrentLayers(model: tf.LayersModel): RecurrentLayer[] {
  return model.layers.filter((l): l is RecurrentLayer => l instanceof RecurrentLayer);
}

/**
 * The lecture's parameter count of a spec: per layer and direction RNN n·m + n² + n, LSTM
 * 4(n·m + n² + n), GRU 3(n·m + n² + n), or 3(n·m + n² + 2n) with resetAfter; plus embedding and head
 * (and learned initial states). Equals `model.countParams()`.
 */
export function countParams(cell: CellKind, spec: ModelSpec): number {
  const { numLayers, topology } = checkSpec(spec, 'countParams');
  if (!(cell in FAMILIES)) throw new RangeError(`countParams: cell must be 'rnn', 'lstm' or 'gru'; got '${cell}'`);
  const n = spec.hiddenSize;
  const G = FAMILIES[cell].gates.length;
  const dirs = spec.bidirectional ? 2 : 1;
  const tokens = spec.vocabSize !== undefined;
  const emb = spec.embeddingSize ?? n;
  const perLayer = (m: number) => {
    const biases = cell === 'gru' && spec.resetAfter ? 2 * n : n;
    const init = spec.initialState === 'learned' ? (cell === 'lstm' ? 2 * n : n) : 0;
    return G * (n * m + n * n + biases) + init;
  };
  const stack = (firstM: number, directions: number) => {
    let total = 0;
    for (let l = 0; l < numLayers; l++) total += directions * perLayer(l === 0 ? firstM : n * directions);
    return total;
  };
  let total = 0;
  if (topology === 'seq2seq') {
    if (tokens) total += 2 * spec.vocabSize! * emb;
    total += stack(tokens ? emb : spec.inputSize!, 1) + stack(tokens ? emb : spec.outputSize, 1);
    total += n * spec.outputSize + spec.outputSize;
  } else {
    if (tokens) total += spec.vocabSize! * emb;
    total += stack(tokens ? emb : spec.inputSize!, dirs);
    total += n * dirs * spec.outputSize + spec.outputSize;
  }
  return total;
}

/** PyTorch-style key prefix and layer index of a recurrent layer name: 'rnn_l1' → ['rnn.', 1]. */
function torchPrefix(layer: RecurrentLayer): [string, number] {
  const m = /^(.*)_l(\d+)$/.exec(layer.name);
  if (!m) throw new Error(`${layer.name}: recurrent layers of builder models are named like rnn_l0`);
  return [`${m[1]}.`, Number(m[2])];
}

/**
 * The model's weights as a PyTorch state dict (nested number arrays): for each recurrent layer k and
 * direction, `rnn.weight_ih_l{k}[_reverse]` [G·n, m], `rnn.weight_hh_l{k}` [G·n, n],
 * `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` [G·n] (PyTorch gate orders), plus `head.weight` [k, n·dirs],
 * `head.bias`, and `embedding.weight` where present. Seq2seq models use `encoder.`/`decoder.`.
 * Load it in PyTorch into `nn.LSTM(m, n, num_layers, batch_first=True, bidirectional=…)` named `rnn`
 * and an `nn.Linear` named `head`.
 */
export function torchWeights(model: tf.LayersModel): Record<string, NumArrayT> {
  specOf(model);
  const out: Record<string, NumArrayT> = {};
  for (const layer of recurrentLayers(model)) {
    const [prefix, k] = torchPrefix(layer);
    for (let d = 0; d < layer.directions; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      const w = layerToTorch(layer, d);
      out[`${prefix}weight_ih${sfx}`] = w.weight_ih;
      out[`${prefix}weight_hh${sfx}`] = w.weight_hh;
      out[`${prefix}bias_ih${sfx}`] = w.bias_ih;
      out[`${prefix}bias_hh${sfx}`] = w.bias_hh;
    }
  }
  for (const name of ['embedding', 'decoder_embedding']) {
    const l = model.layers.find((x) => x.name === name);
    if (l) out[`${name}.weight`] = l.getWeights()[0].arraySync() as number[][];
  }
  const head = model.getLayer('head');
  const [kernel, bias] = head.getWeights();
  out['head.weight'] = tf.tidy(() => kernel.transpose().arraySync() as number[][]);
  out['head.bias'] = bias.arraySync() as number[];
  return out;
}
type NumArrayT = number[] | number[][];

/**
 * Load a PyTorch-style state dict (see {@link torchWeights}) into a builder model. Every expected
 * key must be present with its exact shape, and no other key may be: errors name the key, the
 * expected shape and what was given.
 */
export function loadTorchWeights(model: tf.LayersModel, stateDict: Record<string, unknown>): void {
  specOf(model);
  if (typeof stateDict !== 'object' || stateDict === null) throw new TypeError(`loadTorchWeights: stateDict must be an object of name → nested number arrays; got ${stateDict}`);
  const expected = Object.keys(torchWeightsShapes(model));
  const missing = expected.filter((k) => !(k in stateDict));
  const extra = Object.keys(stateDict).filter((k) => !expected.includes(k));
  if (missing.length || extra.length) {
    throw new Error(`loadTorchWeights: state dict names do not match the model: ` +
      `${missing.length ? `missing ${missing.join(', ')}` : ''}${missing.length && extra.length ? '; ' : ''}${extra.length ? `unexpected ${extra.join(', ')}` : ''}` +
      ` (expected ${expected.join(', ')})`);
  }
  for (const layer of recurrentLayers(model)) {
    const [prefix, k] = torchPrefix(layer);
    for (let d = 0; d < layer.directions; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      layerFromTorch(layer, stateDict, d, (p) => `${prefix}${p}${sfx}`);
    }
  }
  const check = (key: string, value: unknown, shape: number[]): tf.Tensor => {
    let s: number[] = [];
    for (let cur = value; Array.isArray(cur); cur = cur[0]) s.push(cur.length);
    if (s.join() !== shape.join()) throw new Error(`loadTorchWeights: ${key} must have shape ${shapeText(shape)}; got ${shapeText(s)}`);
    return tf.tensor(value as number[], shape);
  };
  for (const name of ['embedding', 'decoder_embedding']) {
    const l = model.layers.find((x) => x.name === name);
    if (!l) continue;
    const key = `${name}.weight`;
    const t = check(key, stateDict[key], l.getWeights()[0].shape as number[]);
    l.setWeights([t]);
    t.dispose();
  }
  const head = model.getLayer('head');
  const [kernel, bias] = head.getWeights();
  const [kIn, kOut] = kernel.shape as number[];
  const w = check('head.weight', stateDict['head.weight'], [kOut, kIn]);
  const b = check('head.bias', stateDict['head.bias'], bias.shape as number[]);
  const wt = w.transpose();
  head.setWeights([wt, b]);
  tf.dispose([w, b, wt]);
}

/** Expected PyTorch keys and shapes of a builder model. */
export function torchWeightsShapes(model: tf.LayersModel): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const layer of recurrentLayers(model)) {
    const [prefix, k] = torchPrefix(layer);
    const G = layer.gateCount;
    const n = layer.units;
    for (let d = 0; d < layer.directions; d++) {
      const sfx = `_l${k}${d === 1 ? '_reverse' : ''}`;
      out[`${prefix}weight_ih${sfx}`] = [G * n, layer.inputSize!];
      out[`${prefix}weight_hh${sfx}`] = [G * n, n];
      out[`${prefix}bias_ih${sfx}`] = [G * n];
      out[`${prefix}bias_hh${sfx}`] = [G * n];
    }
  }
  for (const name of ['embedding', 'decoder_embedding']) {
    const l = model.layers.find((x) => x.name === name);
    if (l) out[`${name}.weight`] = l.getWeights()[0].shape as number[];
  }
  const [kIn, kOut] = model.getLayer('head').getWeights()[0].shape as number[];
  out['head.weight'] = [kOut, kIn];
  out['head.bias'] = [kOut];
  return out;
}

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** Steps to generate. */
  maxLength: number;
  /** The decoder's first input: a start token id (token models) or a start vector [outputSize]. */
  start: number | number[];
  /** Token models: stop once every sequence has produced this token (it is kept in the output). */
  end?: number;
}
const DECODE_KEYS = ['maxLength', 'start', 'end'] as const;

/**
 * Greedy decoding for a seq2seq model: encode the source, then run the decoder one step at a time,
 * feeding back its own previous output (the argmax token, or the output vector) instead of the
 * teacher-forced target used in training.
 *
 * Interrupt (the course kernel's ■) stops it between steps with a `KeyboardInterrupt` whose message
 * says how many steps were done and whose `partial` holds the outputs so far as nested number arrays
 * ([batch][steps] ids, or [batch][steps][outputSize]); no tensor is left behind.
 *
 * @returns token ids [batch, steps] (int32) for token models, else outputs [batch, steps, outputSize]
 * @throws KeyboardInterrupt when interrupted (see above)
 * @example
 * ```ts
 * const ids = decode(s2s, tf.tensor2d([[3, 4, 5]], [1, 3], 'int32'), { start: 1, end: 2, maxLength: 10 });
 * ```
 */
export function decode(model: tf.LayersModel, source: tf.Tensor, options: DecodeOptions): tf.Tensor {
  const spec = specOf(model);
  if (spec.topology !== 'seq2seq') throw new Error(`decode: the model must be a seq2seq model; got topology '${spec.topology ?? 'many-to-one'}'`);
  if (options === undefined) throw new TypeError(`decode: options { maxLength, start, end? } are required; got undefined`);
  checkOptions('decode', options, DECODE_KEYS);
  checkModelInput('decode', 'source', source, inputSpecsOf(spec)[0]);
  checkPositiveInt('decode', 'options.maxLength', options?.maxLength);
  const tokens = spec.vocabSize !== undefined;
  if (tokens && (!Number.isInteger(options.start) || (options.start as number) < 0 || (options.start as number) >= spec.vocabSize!)) {
    throw new RangeError(`decode: options.start must be a token id in [0, ${spec.vocabSize}); got ${options.start}`);
  }
  if (tokens && options.end !== undefined && (!Number.isInteger(options.end) || options.end < 0 || options.end >= spec.vocabSize!)) {
    throw new RangeError(`decode: options.end must be a token id in [0, ${spec.vocabSize}); got ${options.end}`);
  }
  if (!tokens && options.end !== undefined) throw new RangeError(`decode: options.end is for token models (vocabSize); this model outputs vectors, so it would be ignored`);
  if (!tokens && (!Array.isArray(options.start) || options.start.length !== spec.outputSize)) {
    throw new RangeError(`decode: options.start must be a start vector of length outputSize=${spec.outputSize}; got ${JSON.stringify(options.start)}`);
  }
  const layers = recurrentLayers(model);
  const enc = layers.filter((l) => l.name.startsWith('encoder_'));
  const dec = layers.filter((l) => l.name.startsWith('decoder_'));
  const head = model.getLayer('head');
  const op = interruptible('decode');
  try {
    // Everything runs in one tidy: an interrupt (thrown between steps) frees all of it.
    return tf.tidy(() => {
      if (tokens) checkTokens(source, spec.vocabSize!, 'decode: source');
      const batch = source.shape[0];
      let x: tf.Tensor = tokens ? (model.getLayer('embedding').apply(source) as tf.Tensor) : source;
      const states: { h: tf.Tensor2D; c?: tf.Tensor2D }[] = [];
      for (const [l, layer] of enc.entries()) {
        const where = { name: layer.name, index: l, count: enc.length };
        const { output, directions } = layer.forwardSequence(x, {}, (t, T, d) => op.throwIfStopped(() => `encoding the source: ${stepProgress(t, T, d, where)}`));
        const d = directions[0];
        states.push({ h: d.h[d.h.length - 1], c: d.c?.[d.c.length - 1] });
        x = output;
        if (layer.returnSequences === false && layer !== enc[enc.length - 1]) x = tf.stack(d.h, 1);
      }
      let prev: tf.Tensor = tokens ? tf.fill([batch], options.start as number, 'int32') : tf.tile(tf.tensor2d([options.start as number[]]), [batch, 1]);
      const outs: tf.Tensor[] = [];
      let done = tokens && options.end !== undefined ? tf.zeros([batch], 'bool') : null;
      for (let t = 0; t < options.maxLength; t++) {
        // The outputs so far are read only when stopping (one read-back, as plain arrays: no tensor escapes).
        if (op.reason) op.throwIfStopped(`${t}/${options.maxLength} steps`, t > 0 ? tf.stack(outs, 1).arraySync() : []);
        let inp = (tokens ? tf.squeeze(model.getLayer('decoder_embedding').apply(tf.reshape(prev, [batch, 1])) as tf.Tensor, [1]) : prev) as tf.Tensor2D;
        dec.forEach((layer, l) => {
          const r = layer.step(inp, states[l]);
          states[l] = { h: r.h, c: r.c };
          inp = r.h;
        });
        const y = head.apply(inp) as tf.Tensor2D;                                   // [batch, k]
        prev = tokens ? tf.cast(tf.argMax(y, 1), 'int32') : y;
        outs.push(prev);
        if (done) {
          done = tf.logicalOr(done, tf.equal(prev, options.end!));
          if (done.all().dataSync()[0]) break;
        }
      }
      return tf.stack(outs, 1);
    });
  } finally {
    op.end();
  }
}

/**
 * Run a one-to-many model for any number of steps: the input vector is fed at every step, as in
 * training (where the length was spec.sequenceLength).
 *
 * Interrupt (the course kernel's ■) stops it between steps with a `KeyboardInterrupt` saying how many
 * steps (of which layer) were done; no tensor is left behind.
 *
 * @returns [batch, length, outputSize]
 * @throws KeyboardInterrupt when interrupted
 * @example
 * ```ts
 * const wave = generate(model, tf.tensor2d([[0.5, 1.0]]), 100);   // [1, 100, k]
 * ```
 */
export function generate(model: tf.LayersModel, x: tf.Tensor, length: number): tf.Tensor {
  const spec = specOf(model);
  if (spec.topology !== 'one-to-many') throw new Error(`generate: the model must be a one-to-many model; got topology '${spec.topology ?? 'many-to-one'}'`);
  checkPositiveInt('generate', 'length', length);
  checkModelInput('generate', 'x', x, inputSpecsOf(spec)[0]);
  const op = interruptible('generate');
  try {
    return tf.tidy(() => {
      let h: tf.Tensor = tf.tile(tf.expandDims(x, 1), [1, length, 1]);             // [batch, length, m]
      const layers = recurrentLayers(model);
      layers.forEach((layer, l) => {
        const where = { name: layer.name, index: l, count: layers.length };
        h = layer.forwardSequence(h, {}, (t, T, d) => op.throwIfStopped(() => stepProgress(t, T, d, where))).output;
      });
      return model.getLayer('head').apply(h) as tf.Tensor;
    });
  } finally {
    op.end();
  }
}

/** Check token ids: integers in [0, vocab). */
export function checkTokens(ids: tf.Tensor, vocab: number, what: string): void {
  if (!(ids instanceof tf.Tensor)) throw new TypeError(`${what}: expected a tensor of integer token ids; got ${typeof ids}`);
  checkAlive(what, 'token ids', ids);
  const v = ids.dataSync();
  for (let i = 0; i < v.length; i++) {
    if (!Number.isInteger(v[i]) || v[i] < 0 || v[i] >= vocab) {
      throw new RangeError(`${what} must be integer token ids in [0, ${vocab}); got ${v[i]} at [${unravel(i, ids.shape).join(', ')}] (shape ${shapeText(ids.shape)}, layout [batch, time] token ids)`);
    }
  }
}
