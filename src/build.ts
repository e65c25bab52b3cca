/**
 * Model building: the one typed spec ({@link ModelSpec}) and the builders for every topology. Each
 * builder returns a tf.LayersModel (train it with `model.fit` or the course's `train`) whose layers
 * have stable names — `embedding`, `rnn_l{k}` (or `encoder_l{k}` / `decoder_l{k}`), `head` — so
 * weights map to PyTorch keys (see torch-io.ts). Parameter counts are in param-count.ts, decoding and
 * generation in decode.ts; builders.ts re-exports all of them under their old names.
 */
import { checkPositiveInt } from './inputs';
import * as tf from '@tensorflow/tfjs';
import { CellKind, GateActivation, GruUpdate, RnnActivation } from './family';
import { RecurrentLayer, RecurrentLayerOptions, layerClass } from './layers';
import { checkOptions } from './options';
import { describe } from './describe';
import { guardModel } from './guard';
import { LabEmbedding } from './embedding';
import { LabDropout, checkRate } from './dropout';
import { ATTENTION_SCORES, AttentionScore, LabAttention } from './attention';

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
  /**
   * Token inputs padded at the end with this id: the embedding masks it out and every recurrent layer
   * runs each row for its own length (outputs 0 at padded steps, final state after the last real
   * token; PyTorch's packed sequences). Rows must be pads only at the end, with at least one real
   * token (else an error naming the row). Needs `vocabSize`. Default: no padding.
   */
  padId?: number;
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
  /**
   * Dropout on the non-recurrent connections (Zaremba et al. 2014), a fraction p in [0, 1): on the input
   * of every recurrent layer (the embedding or features into layer 1, each layer's output into the next;
   * RecurrentLayerOptions.dropout) and on the top layer's output before the head (a 'dropout' layer,
   * {@link LabDropout}), a fresh mask per (row, step, unit), inverted (kept units × 1/(1 − p)). In training
   * only (train, model.fit); predict and decode never drop. Seq2seq: encoder and decoder alike. Masks are
   * seeded by the layers' seeds (see resetDropout). Default 0: the model without dropout, layer for layer.
   */
  dropout?: number;
  /**
   * Recurrent dropout of every recurrent layer (RecurrentLayerOptions.recurrentDropout; Gal & Ghahramani
   * 2016): h_{t−1} ⊙ m in the recurrent matmul, one mask per sequence. A fraction in [0, 1). Default 0.
   */
  recurrentDropout?: number;
  /**
   * Seq2seq only: attention over the encoder's top-layer outputs, with the score 'additive'
   * (Bahdanau et al. 2015) or 'dot' / 'general' (Luong et al. 2015), in Luong's arrangement: the
   * decoder's top-layer output h_t is the query and h̃_t = tanh(Wc [c_t; h_t]) feeds the head (a layer
   * named `attention`, see attention.ts). Padded source steps get weight 0. Default: none.
   */
  attention?: AttentionScore;
}

/** Every key a {@link ModelSpec} may have (a new option is one line here). */
export const MODEL_SPEC_KEYS: readonly string[] = [
  'inputSize', 'hiddenSize', 'outputSize', 'numLayers', 'bidirectional', 'topology', 'outputActivation',
  'vocabSize', 'embeddingSize', 'padId', 'sequenceLength', 'targetLength', 'activation', 'resetAfter', 'update',
  'initialState', 'seed', 'impl', 'recurrentActivation', 'dropout', 'recurrentDropout',
  'attention',
];

/** A spec with its cell family, as stored in the model's metadata. */
export interface StoredSpec extends ModelSpec {
  cell: CellKind;
}

const META_KEY = 'rnn-lab';

/**
 * Seeds of a model's parts, derived from the one `spec.seed` s. Every part gets its own seed so that no
 * two parts start from the same random stream: two stacked layers built from one seed would otherwise
 * start with identical weight matrices (when their shapes agree), and so would an encoder layer and
 * the decoder layer at the same depth. The values are arbitrary but fixed: changing any of them
 * changes every model's initial weights, and with them the numbers in tests, notebooks and homework.
 * They never coincide within one model: 101·l and 101·l + 7 are never 11, 13 or 9001 (9001 and
 * 9001 − 7 are not multiples of 101), for any number of layers.
 */
/** Layer l (from 0) of a stack gets s + 101·l: a stride larger than every other offset below, so stacked layers differ. */
export const LAYER_SEED_STRIDE = 101;
/** A seq2seq decoder layer l gets s + 101·l + 7, so it differs from encoder layer l (same stride). */
export const DECODER_SEED_OFFSET = 7;
/** The token embedding (`embedding`) gets s + 11. */
export const EMBEDDING_SEED_OFFSET = 11;
/** The seq2seq decoder's embedding (`decoder_embedding`) gets s + 13, so it differs from the encoder's. */
export const DECODER_EMBEDDING_SEED_OFFSET = 13;
/** The attention layer (`attention`) gets s + 17 (its weights s + 18 … s + 22). */
export const ATTENTION_SEED_OFFSET = 17;
/** The output head (`head`, glorot-uniform kernel) gets s + 9001: far from the layer seeds (s + 101·l) for any usual depth. */
export const HEAD_SEED_OFFSET = 9001;
/** The dropout layer before the head (`dropout`, spec.dropout > 0) gets s + 9011 (not s + 101·l or s + 101·l + 7 for l < 89). */
export const DROPOUT_SEED_OFFSET = 9011;

/** Seed of recurrent layer `name` (`rnn_l{l}`, `encoder_l{l}` or `decoder_l{l}`) at depth l of a model built with seed s. */
export function layerSeed(seed: number, l: number, name: string): number {
  return seed + LAYER_SEED_STRIDE * l + (name.startsWith('decoder') ? DECODER_SEED_OFFSET : 0);
}

/** The spec a builder stored in the model (also survives save/load). */
export function specOf(model: tf.LayersModel): StoredSpec {
  const meta = model.getUserDefinedMetadata() as Record<string, unknown> | undefined;
  const spec = meta?.[META_KEY] as StoredSpec | undefined;
  if (!spec) throw new Error(`this model was not made by buildRNN/buildLSTM/buildGRU (no '${META_KEY}' metadata)`);
  return spec;
}

function posInt(where: string, v: unknown, what: string, optional = false): void {
  if (optional && v === undefined) return;
  checkPositiveInt(where, `spec.${what}`, v);
}

/** Validate a spec (shared by the builders and countParams); returns its defaults filled in. */
export function checkSpec(spec: ModelSpec, where = 'build'): Required<Pick<ModelSpec, 'numLayers' | 'topology' | 'outputActivation' | 'seed'>> {
  if (typeof spec !== 'object' || spec === null) throw new TypeError(`${where}: spec must be an object like { inputSize, hiddenSize, outputSize }; got ${spec}`);
  checkOptions(where, spec, MODEL_SPEC_KEYS, 'spec');
  const topology = spec.topology ?? 'many-to-one';
  const topologies: Topology[] = ['many-to-one', 'many-to-many', 'one-to-many', 'seq2seq'];
  if (!topologies.includes(topology)) throw new RangeError(`${where}: spec.topology must be one of ${topologies.join(', ')}; got '${topology}'`);
  posInt(where, spec.hiddenSize, 'hiddenSize');
  posInt(where, spec.outputSize, 'outputSize');
  posInt(where, spec.numLayers, 'numLayers', true);
  posInt(where, spec.vocabSize, 'vocabSize', true);
  posInt(where, spec.embeddingSize, 'embeddingSize', true);
  posInt(where, spec.sequenceLength, 'sequenceLength', true);
  posInt(where, spec.targetLength, 'targetLength', true);
  if (spec.vocabSize === undefined) posInt(where, spec.inputSize, 'inputSize (or vocabSize for token inputs)');
  if (spec.padId !== undefined) {
    if (spec.vocabSize === undefined) throw new RangeError(`${where}: spec.padId marks padding in token ids, so it needs spec.vocabSize; feature inputs take lengths or a mask (model.apply(x, { mask }), forwardModel(model, x, { lengths }))`);
    if (!Number.isInteger(spec.padId) || spec.padId < 0 || spec.padId >= spec.vocabSize) throw new RangeError(`${where}: spec.padId must be a token id in [0, vocabSize = ${spec.vocabSize}); got ${spec.padId}`);
  }
  if (topology === 'one-to-many' && spec.sequenceLength === undefined) throw new RangeError(`${where}: a one-to-many model needs spec.sequenceLength (the length of the sequence it generates)`);
  if (topology === 'one-to-many' && spec.vocabSize !== undefined) throw new RangeError(`${where}: a one-to-many model takes one input vector (inputSize), not tokens (vocabSize)`);
  if (topology === 'seq2seq' && spec.bidirectional) throw new RangeError(`${where}: a seq2seq model's decoder runs forward only; use bidirectional: false`);
  checkRate(where, 'spec.dropout', spec.dropout);
  checkRate(where, 'spec.recurrentDropout', spec.recurrentDropout);
  if (spec.attention !== undefined) {
    if (topology !== 'seq2seq') throw new RangeError(`${where}: spec.attention is for seq2seq models (a decoder attending over the encoder's states); this spec's topology is '${topology}'`);
    if (!ATTENTION_SCORES.includes(spec.attention)) throw new RangeError(`${where}: spec.attention must be one of ${ATTENTION_SCORES.map((s) => `'${s}'`).join(', ')}; got ${describe(spec.attention)}`);
  }
  const outs = ['linear', 'softmax', 'sigmoid'];
  if (spec.outputActivation !== undefined && !outs.includes(spec.outputActivation)) throw new RangeError(`${where}: spec.outputActivation must be one of ${outs.join(', ')}; got '${spec.outputActivation}'`);
  return { numLayers: spec.numLayers ?? 1, topology, outputActivation: spec.outputActivation ?? 'linear', seed: spec.seed ?? 1 };
}

function build(cell: CellKind, spec: ModelSpec, where: string): tf.LayersModel {
  const { numLayers, topology, outputActivation, seed } = checkSpec(spec, where);
  const Layer = layerClass(cell, where);
  const tokens = spec.vocabSize !== undefined;
  const emb = spec.embeddingSize ?? spec.hiddenSize;
  const T = spec.sequenceLength ?? null;
  const common = (name: string, l: number, extra: Partial<RecurrentLayerOptions>): RecurrentLayerOptions => ({
    units: spec.hiddenSize, name, seed: layerSeed(seed, l, name),
    activation: spec.activation, resetAfter: spec.resetAfter, update: spec.update, recurrentActivation: spec.recurrentActivation, initialState: spec.initialState,
    // The model's inputs are checked once at its boundary (guardModel), not again inside.
    impl: spec.impl, checkInput: false,
    ...(spec.dropout ? { dropout: spec.dropout } : {}), ...(spec.recurrentDropout ? { recurrentDropout: spec.recurrentDropout } : {}), ...extra,
  });
  // Zaremba et al.'s last dropout: the top layer's output into the head (absent when spec.dropout is 0).
  const beforeHead = (h: tf.SymbolicTensor) => (spec.dropout ? new LabDropout({ rate: spec.dropout, seed: seed + DROPOUT_SEED_OFFSET, name: 'dropout' }).apply(h) as tf.SymbolicTensor : h);
  const head = tf.layers.dense({ units: spec.outputSize, activation: outputActivation, name: 'head', kernelInitializer: tf.initializers.glorotUniform({ seed: seed + HEAD_SEED_OFFSET }) });
  let model: tf.LayersModel;

  if (topology === 'seq2seq') {
    const src = tf.input({ shape: tokens ? [T] : [T, spec.inputSize!], name: 'source' });
    const tgtIn = tf.input({ shape: tokens ? [spec.targetLength ?? null] : [spec.targetLength ?? null, spec.outputSize], name: 'target_in' });
    let x: tf.SymbolicTensor = src;
    let y: tf.SymbolicTensor = tgtIn;
    if (tokens) {
      x = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + EMBEDDING_SEED_OFFSET, name: 'embedding', padId: spec.padId }).apply(x) as tf.SymbolicTensor;
      y = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + DECODER_EMBEDDING_SEED_OFFSET, name: 'decoder_embedding', padId: spec.padId }).apply(y) as tf.SymbolicTensor;
    }
    const states: tf.SymbolicTensor[][] = [];
    // With attention the top encoder layer returns its sequence too: the keys h̄_s.
    const attn = spec.attention !== undefined;
    for (let l = 0; l < numLayers; l++) {
      const out = new Layer(common(`encoder_l${l}`, l, { returnSequences: l < numLayers - 1 || attn, returnState: true })).apply(x) as tf.SymbolicTensor[];
      x = out[0];
      states.push(out.slice(1));
    }
    for (let l = 0; l < numLayers; l++) {
      y = new Layer(common(`decoder_l${l}`, l, { returnSequences: true, checkInput: false })).apply([y, ...states[l]]) as tf.SymbolicTensor;
    }
    if (attn) {
      // A padId model's attention reads the padding from the source ids (tf.js hands a layer only its first input's mask).
      const attention = new LabAttention({ score: spec.attention!, units: spec.hiddenSize, seed: seed + ATTENTION_SEED_OFFSET, name: 'attention', padId: spec.padId });
      y = attention.apply(spec.padId !== undefined ? [y, x, src] : [y, x]) as tf.SymbolicTensor;   // [batch, Tt, n] h̃_t
    }
    model = tf.model({ inputs: [src, tgtIn], outputs: head.apply(beforeHead(y)) as tf.SymbolicTensor, name: `${cell}_seq2seq` });
  } else {
    const oneToMany = topology === 'one-to-many';
    const input = tf.input({ shape: oneToMany ? [spec.inputSize!] : tokens ? [T] : [T, spec.inputSize!], name: 'input' });
    let x: tf.SymbolicTensor = input;
    if (tokens) {
      x = new LabEmbedding({ vocabSize: spec.vocabSize!, embeddingSize: emb, seed: seed + EMBEDDING_SEED_OFFSET, name: 'embedding', padId: spec.padId }).apply(x) as tf.SymbolicTensor;
    }
    // One-to-many: the one input vector is fed at every step (a common reading of the lecture's diagram).
    if (oneToMany) x = tf.layers.repeatVector({ n: spec.sequenceLength!, name: 'repeat' }).apply(x) as tf.SymbolicTensor;
    const seqOut = topology !== 'many-to-one';
    for (let l = 0; l < numLayers; l++) {
      x = new Layer(common(`rnn_l${l}`, l, { returnSequences: l < numLayers - 1 || seqOut, bidirectional: spec.bidirectional })).apply(x) as tf.SymbolicTensor;
    }
    model = tf.model({ inputs: input, outputs: head.apply(beforeHead(x)) as tf.SymbolicTensor, name: `${cell}_${topology.replace(/-/g, '_')}` });
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

/**
 * A model of any registered cell kind ('rnn', 'lstm', 'gru', or one added with registerCell): the
 * same model {@link buildRNN}, {@link buildLSTM} or {@link buildGRU} builds for a built-in kind.
 * Shapes as in {@link buildRNN}.
 *
 * @example
 * ```ts
 * const model = buildModel('gru', { inputSize: 3, hiddenSize: 16, outputSize: 1 });   // = buildGRU(…)
 * ```
 * @throws RangeError naming the registered kinds when `cell` is not one
 */
export function buildModel(cell: CellKind, spec: ModelSpec): tf.LayersModel {
  return build(cell, spec, 'buildModel');
}

/** The model's recurrent layers in order (for seq2seq: encoder layers, then decoder layers). */
export function recurrentLayers(model: tf.LayersModel): RecurrentLayer[] {
  return model.layers.filter((l): l is RecurrentLayer => l instanceof RecurrentLayer);
}
