/**
 * The token embedding layer of the builders' token models, and the token-id check it shares with
 * decoding.
 */
import * as tf from '@tensorflow/tfjs';
import { checkAlive, unravel, shapeText } from './inputs';

/**
 * Half-width of the embedding table's initial uniform range U(−0.1, 0.1): the library's choice (no
 * paper prescribes it), small so the first recurrent layer's inputs start near zero, within its gates'
 * near-linear range. Keras's Embedding starts in U(−0.05, 0.05), PyTorch's nn.Embedding in N(0, 1).
 * Changing it changes every token model's initial weights.
 */
const EMBEDDING_INIT_RANGE = 0.1;

/**
 * Token embedding: row `id` of E [vocabSize, embeddingSize] for each token id, computed as
 * one-hot(ids)·E. tf.layers.embedding gathers rows instead, and the gradient of a gather needs the
 * UnsortedSegmentSum kernel, which tf.js's WASM backend does not have; a matmul trains everywhere and
 * costs little at the course's vocabulary sizes. It also checks the ids: an embedding would silently
 * truncate 2.5 to 2, and a model input declared int32 would truncate before any layer could look, so
 * token inputs are float32 (exact below 2^24). Serialized as 'LabEmbedding'.
 *
 * With `padId` the layer marks padding as Keras's `Embedding(mask_zero=True)` does (for id 0), for any
 * id: its mask `[batch, T]` is true where id ≠ padId, and tf.layers' mask propagation hands it to the
 * recurrent layers after it (they then skip the padded steps; see RecurrentLayer). Padding goes at the
 * end of each row (PyTorch's packed sequences): a row with a real id after a pad, or with no real id,
 * is an error naming the row.
 */
/** Keyword arguments of a layer call. */
type Kwargs = Record<string, unknown>;

export class LabEmbedding extends tf.layers.Layer {
  static className = 'LabEmbedding';
  readonly vocabSize: number;
  readonly embeddingSize: number;
  readonly seed: number;
  /** The id that pads a row at its end (masked out), or undefined for no masking. */
  readonly padId?: number;
  private table?: tf.LayerVariable;
  constructor(args: { vocabSize: number; embeddingSize: number; seed?: number; name?: string; padId?: number }) {
    super(args);
    this.vocabSize = args.vocabSize;
    this.embeddingSize = args.embeddingSize;
    this.seed = args.seed ?? 1;
    if (args.padId !== undefined && (!Number.isInteger(args.padId) || args.padId < 0 || args.padId >= args.vocabSize)) {
      throw new RangeError(`LabEmbedding: padId must be a token id in [0, vocabSize = ${args.vocabSize}); got ${args.padId}`);
    }
    this.padId = args.padId;
    this.supportsMasking = args.padId !== undefined;
  }

  /**
   * The padding mask `[batch, T]` bool (id ≠ padId), or null without padId. An eager `apply` asks for
   * it with no input mask (undefined) only to attach it to the output as `kerasMask`, which nothing
   * here reads; made there, the tensor would outlive the caller's scope, so none is made.
   */
  override computeMask(inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    if (this.padId === undefined || mask === undefined) return null as unknown as tf.Tensor;
    const ids = Array.isArray(inputs) ? inputs[0] : inputs;
    return tf.notEqual(ids, this.padId);                                                       // [batch, T]
  }
  override build(): void {
    this.table = this.addWeight('embeddings', [this.vocabSize, this.embeddingSize], 'float32',
      tf.initializers.randomUniform({ minval: -EMBEDDING_INIT_RANGE, maxval: EMBEDDING_INIT_RANGE, seed: this.seed }));
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [...s, this.embeddingSize];
  }
  /**
   * kwargs `oneStep: true`: the ids are one step of longer sequences (decode feeds the decoder its
   * previous output token by token), so a pad id there is a token like any other, not a padded row.
   */
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs?: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const ids = Array.isArray(inputs) ? inputs[0] : inputs;
      checkTokens(ids, this.vocabSize, `${this.name}: the input`);
      if (this.padId !== undefined && kwargs?.oneStep !== true) checkPadding(ids, this.padId, `${this.name}: the input`);
      const flat = tf.oneHot(tf.cast(tf.reshape(ids, [-1]), 'int32'), this.vocabSize);          // [N, V]
      const rows = tf.matMul(flat, this.table!.read());                                          // [N, E]
      return tf.reshape(rows, [...ids.shape, this.embeddingSize]);                               // [..., E]
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), vocabSize: this.vocabSize, embeddingSize: this.embeddingSize, seed: this.seed, ...(this.padId !== undefined ? { padId: this.padId } : {}) };
  }
}
tf.serialization.registerClass(LabEmbedding);

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

/**
 * Check that token ids `[batch, T]` are padded with `padId` at the end of each row only, and that
 * every row has a real token (PyTorch's packed sequences have lengths ≥ 1).
 *
 * @throws RangeError naming the row and the steps
 */
export function checkPadding(ids: tf.Tensor, padId: number, what: string): void {
  if (ids.rank !== 2) return;   // the layout check belongs to the caller
  const [batch, T] = ids.shape as [number, number];
  const v = ids.dataSync();
  for (let b = 0; b < batch; b++) {
    let L = 0;
    while (L < T && v[b * T + L] !== padId) L++;
    if (L === 0) throw new RangeError(`${what}: row ${b} of the [batch, time] token ids is all padding (padId ${padId}); every sequence needs at least one real token`);
    for (let t = L + 1; t < T; t++) {
      if (v[b * T + t] !== padId) {
        throw new RangeError(`${what}: row ${b} of the [batch, time] token ids has padId ${padId} at step ${L} and then token ${v[b * T + t]} at step ${t}; ` +
          `padding goes at the end of a row (pads only after the last real token)`);
      }
    }
  }
}
