/**
 * Attention over the encoder's states (issue 19): the decoder looks back at every source step instead
 * of only the encoder's final state, the fixed-size bottleneck of a plain encoder–decoder.
 *
 * References: Luong, Pham & Manning 2015, "Effective Approaches to Attention-based Neural Machine
 * Translation" (global attention, §3.1: eqs. 5, 7, 8); Bahdanau, Cho & Bengio 2015, "Neural Machine
 * Translation by Jointly Learning to Align and Translate" (§3.1 eqs. 5–6, the score in appendix A.1.2).
 *
 * The arrangement is Luong's global attention without input feeding. The decoder RNN runs over the
 * (teacher-forced) target as without attention, so training keeps the fused kernels for its recurrent
 * layers; at every target step t its top layer's output h_t is the query over the encoder's top-layer
 * outputs h̄_s, s < the row's source length:
 *
 *   score(h_t, h̄_s) = h_tᵀ h̄_s                      'dot'       (Luong eq. 8)
 *                   = h_tᵀ Wa h̄_s                   'general'   (Luong eq. 8)
 *                   = vᵀ tanh(W1 h_t + W2 h̄_s)       'additive'  (Bahdanau A.1.2: v_aᵀ tanh(W_a s_{i−1} + U_a h_j))
 *   a_t(s) = exp score(h_t, h̄_s) / Σ_{s'} exp score(h_t, h̄_{s'})        (Luong eq. 7, Bahdanau eq. 6)
 *   c_t    = Σ_s a_t(s) h̄_s                                              (Bahdanau eq. 5)
 *   h̃_t    = tanh(Wc [c_t; h_t])                                         (Luong eq. 5)
 *
 * and h̃_t feeds the output head (Luong eq. 6). Bahdanau's decoder used the previous state s_{t−1} as
 * the query and fed c_t into the RNN's input; that makes each decoder step wait for the previous one's
 * attention, a per-step loop in training too. The library places all three scores as Luong does (query
 * h_t after the RNN step, c_t combined after it), so the decoder's recurrence is the plain one and the
 * additive score differs from Bahdanau's model only in where it is used, not in its formula.
 *
 * Masking: a padded source step gets the score −∞ before the softmax, so its weight is exactly 0 and no
 * gradient flows into it (tf.where passes none to the branch it did not take).
 *
 * Weights are stored as [in, out] kernels (Keras's layout, the lecture's row-vector x·W): W1 h_t is
 * computed as h_t·W1 and Wc [c_t; h_t] as [c_t, h_t]·Wc, with W1, W2, Wa [n, n], v [n], Wc [2n, n].
 */
import * as tf from '@tensorflow/tfjs';
import { checkLengths, lengthsFromMask, maskOf } from './lengths';
import { checkOptions } from './options';
import { describe } from './describe';

/** The scores of {@link attend}: Bahdanau's additive score or Luong's dot and general scores. */
export type AttentionScore = 'additive' | 'dot' | 'general';
export const ATTENTION_SCORES: readonly AttentionScore[] = ['additive', 'dot', 'general'];

/** The score's weights (tensors): 'general' takes Wa [n, n]; 'additive' W1 [n, a], W2 [n, a] and v [a]; 'dot' none. */
export interface AttentionScoreWeights {
  Wa?: tf.Tensor2D;
  W1?: tf.Tensor2D;
  W2?: tf.Tensor2D;
  v?: tf.Tensor1D;
}

/** Options of {@link attend} and {@link attentionScores}. */
export interface AttendOptions {
  /** The score function (see the module doc). */
  score: AttentionScore;
  /** Its weights: Wa for 'general', W1, W2, v for 'additive'. */
  weights?: AttentionScoreWeights;
  /** Real source steps per row (1 ≤ L_b ≤ Ts); steps s ≥ L_b get weight 0. Default: every step real. */
  sourceLengths?: readonly number[] | Int32Array;
  /** The same as a mask `[batch, Ts]` (bool or 1/0): true at real steps, then false (padding at the end). Given with sourceLengths, the two must agree row by row (else a RangeError naming the row). */
  mask?: tf.Tensor;
}
const ATTEND_KEYS = ['score', 'weights', 'sourceLengths', 'mask'] as const;

/** Options of {@link attentionScores}: the score and its weights (no lengths: raw scores cover every source step). */
export type AttentionScoresOptions = Pick<AttendOptions, 'score' | 'weights'>;

function checkScore(where: string, name: string, score: unknown): AttentionScore {
  if (!ATTENTION_SCORES.includes(score as AttentionScore)) throw new RangeError(`${where}: ${name} must be one of ${ATTENTION_SCORES.map((s) => `'${s}'`).join(', ')}; got ${describe(score)}`);
  return score as AttentionScore;
}

function checkShape(where: string, name: string, t: unknown, shape: (number | null | undefined)[], layout: string): void {
  const ok = t instanceof tf.Tensor && t.rank === shape.length && shape.every((d, i) => d === null || (t as tf.Tensor).shape[i] === d);
  if (!ok) throw new RangeError(`${where}: ${name} must be a tensor ${layout} = [${shape.map((d) => d ?? '·').join(', ')}]; got ${t instanceof tf.Tensor ? `shape [${t.shape.join(', ')}]` : describe(t)}`);
  // tf.js's batched matMul takes float32 only, and fails with "BatchMatMul for non non-float32 tensors".
  if ((t as tf.Tensor).dtype !== 'float32') throw new TypeError(`${where}: ${name} must be a float32 tensor ${layout}; got ${describe(t)} (tf.cast(${name.replace(/^options\./, '')}, 'float32'))`);
}

/**
 * The raw scores score(h_t, h̄_s) `[batch, Tt, Ts]` of queries `[batch, Tt, n]` over keys `[batch, Ts, n]`
 * (no mask, no softmax). Not tidied: call inside tf.tidy.
 */
function rawScores(query: tf.Tensor3D, keys: tf.Tensor3D, score: AttentionScore, w: AttentionScoreWeights): tf.Tensor3D {
  const [b, Tt, n] = query.shape;
  const Ts = keys.shape[1];
  if (score === 'dot') return tf.matMul(query, keys, false, true);                                        // [b, Tt, Ts]
  if (score === 'general') {
    const qW = tf.reshape(tf.matMul(tf.reshape(query, [b * Tt, n]), w.Wa!), [b, Tt, -1]);               // [b, Tt, n] = h_tᵀ Wa
    return tf.matMul(qW, keys, false, true);                                                             // [b, Tt, Ts]
  }
  const a = w.v!.shape[0];
  const q1 = tf.reshape(tf.matMul(tf.reshape(query, [b * Tt, n]), w.W1!), [b, Tt, 1, a]);              // [b, Tt, 1, a] = W1 h_t
  const k2 = tf.reshape(tf.matMul(tf.reshape(keys, [b * Ts, -1]), w.W2!), [b, 1, Ts, a]);              // [b, 1, Ts, a] = W2 h̄_s
  const e = tf.tanh(tf.add(q1, k2));                                                                    // [b, Tt, Ts, a]
  return tf.reshape(tf.matMul(tf.reshape(e, [b * Tt * Ts, a]), tf.reshape(w.v!, [a, 1])), [b, Tt, Ts]); // [b, Tt, Ts] = vᵀ tanh(…)
}

/** The mask `[batch, Ts]` bool from options (null: every step real). Not tidied. */
function maskFrom(where: string, o: { sourceLengths?: unknown; mask?: unknown }, b: number, Ts: number): tf.Tensor2D | null {
  if (o.mask != null) {
    const L = lengthsFromMask(where, 'options.mask', o.mask, b, Ts, { layout: '[batch, Ts]' });
    if (o.sourceLengths != null) {
      const given = checkLengths(where, 'options.sourceLengths', o.sourceLengths, b, Ts, '[batch, Ts, n] keys');
      const r = given.findIndex((x, i) => x !== L[i]);
      if (r >= 0) throw new RangeError(`${where}: options.sourceLengths[${r}] = ${given[r]} but options.mask row ${r} has ${L[r]} real steps`);
    }
    return tf.cast(o.mask as tf.Tensor, 'bool') as tf.Tensor2D;
  }
  if (o.sourceLengths != null) {
    const L = checkLengths(where, 'options.sourceLengths', o.sourceLengths, b, Ts, '[batch, Ts, n] keys');
    return tf.cast(maskOf(L, Ts), 'bool') as tf.Tensor2D;
  }
  return null;
}

/**
 * Attention weights from raw scores: padded steps set to −∞, then softmax over the source axis.
 * `mask` [batch, Ts] bool or null. Not tidied.
 */
function maskedSoftmax(scores: tf.Tensor3D, mask: tf.Tensor | null): tf.Tensor3D {
  if (!mask) return tf.softmax(scores, -1) as tf.Tensor3D;                                               // [b, Tt, Ts]
  const m = tf.broadcastTo(tf.expandDims(tf.cast(mask, 'bool'), 1), scores.shape);                       // [b, Tt, Ts]
  const masked = tf.where(m, scores, tf.fill(scores.shape, -Infinity));                                  // −∞ at padded steps
  return tf.softmax(masked, -1) as tf.Tensor3D;                                                          // exactly 0 there
}

/** The options attentionScores takes: raw scores have no lengths. */
const SCORES_KEYS = ['score', 'weights'] as const;

function checkCall(where: string, query: unknown, keys: unknown, options: AttendOptions, valid: readonly string[] = ATTEND_KEYS): { score: AttentionScore; w: AttentionScoreWeights } {
  const shape = valid.length > 2 ? '{ score, weights?, sourceLengths?, mask? }' : '{ score, weights? }';
  if (options == null || typeof options !== 'object') throw new TypeError(`${where}: options ${shape} are required; got ${describe(options)}`);
  checkOptions(where, options, valid);
  const score = checkScore(where, 'options.score', options.score);
  checkShape(where, 'query', query, [null, null, null], '[batch, Tt, n]');
  const [b, , n] = (query as tf.Tensor).shape;
  checkShape(where, 'keys', keys, [b, null, score === 'additive' ? null : n], `[batch, Ts, ${score === 'additive' ? 'n̄' : 'n'}]`);
  const nk = (keys as tf.Tensor).shape[2];
  const w = options.weights ?? {};
  if (typeof w !== 'object') throw new TypeError(`${where}: options.weights must be an object { Wa } or { W1, W2, v }; got ${describe(w)}`);
  checkOptions(where, w, ['Wa', 'W1', 'W2', 'v'], 'options.weights');
  const need = score === 'general' ? ['Wa'] : score === 'additive' ? ['W1', 'W2', 'v'] : [];
  for (const k of Object.keys(w)) if (!need.includes(k)) throw new RangeError(`${where}: options.weights.${k} is not a weight of the '${score}' score (it takes ${need.length ? need.join(', ') : 'none'})`);
  if (score === 'general') checkShape(where, 'options.weights.Wa', w.Wa, [n, nk], '[n, n]');
  if (score === 'additive') {
    checkShape(where, 'options.weights.v', w.v, [null], '[a]');
    const a = (w.v as tf.Tensor).shape[0];
    checkShape(where, 'options.weights.W1', w.W1, [n, a], '[n, a]');
    checkShape(where, 'options.weights.W2', w.W2, [nk, a], '[n̄, a]');
  }
  return { score, w };
}

/**
 * The attention scores score(h_t, h̄_s) of queries `[batch, Tt, n]` over keys `[batch, Ts, n]`:
 * `[batch, Tt, Ts]`, before masking and softmax (see the module doc for the three scores), at every
 * source step, padded or not: `sourceLengths` and `mask` are refused (attend applies them).
 *
 * @throws RangeError naming the argument for a bad score, shape or weight; TypeError for a tensor that
 *   is not float32, or for options.sourceLengths / options.mask
 */
export function attentionScores(query: tf.Tensor3D, keys: tf.Tensor3D, options: AttentionScoresOptions): tf.Tensor3D {
  // Raw scores have no padding to respect: the lengths would be silently unused, so they are refused.
  const o = (options ?? {}) as AttendOptions;
  if (o.sourceLengths != null || o.mask != null) {
    const key = o.sourceLengths != null ? 'sourceLengths' : 'mask';
    throw new TypeError(`attentionScores: options.${key} is not taken: attentionScores returns the raw scores at every source step (no mask, no softmax); ` +
      `attend(query, keys, { score, weights, ${key} }) applies the source lengths (weight 0 at padded steps)`);
  }
  const { score, w } = checkCall('attentionScores', query, keys, options, SCORES_KEYS);
  return tf.tidy(() => rawScores(query, keys, score, w));
}

/**
 * Attention of queries `[batch, Tt, n]` (the decoder's top-layer outputs h_t) over keys `[batch, Ts, n]`
 * (the encoder's top-layer outputs h̄_s): the weights a_t(s) = softmax over real source steps of
 * score(h_t, h̄_s) `[batch, Tt, Ts]` (0 at padded steps, each row summing to 1 over the real ones) and
 * the contexts c_t = Σ_s a_t(s) h̄_s `[batch, Tt, n]`.
 *
 * @example
 * ```ts
 * const { context, weights } = attend(hDec, hEnc, { score: 'dot', sourceLengths: [5, 3] });
 * ```
 * @throws TypeError for an unknown option; RangeError naming the argument for a bad score, shape,
 *   weight or lengths
 */
export function attend(query: tf.Tensor3D, keys: tf.Tensor3D, options: AttendOptions): { context: tf.Tensor3D; weights: tf.Tensor3D } {
  const { score, w } = checkCall('attend', query, keys, options);
  const [b, Ts] = keys.shape;
  return tf.tidy(() => {
    const mask = maskFrom('attend', options, b, Ts);
    const weights = maskedSoftmax(rawScores(query, keys, score, w), mask);                             // [b, Tt, Ts]
    return { context: tf.matMul(weights, keys) as tf.Tensor3D, weights };                              // [b, Tt, n]
  }) as { context: tf.Tensor3D; weights: tf.Tensor3D };
}

/** Arguments of {@link LabAttention}. */
export interface LabAttentionArgs {
  /** The score function. */
  score: AttentionScore;
  /** Width n of the queries and keys (the decoder's and encoder's hidden size); also of h̃_t and of the additive score's tanh layer. */
  units: number;
  /** Seed of the initializers (glorot-uniform, one stream per weight). Default 1. */
  seed?: number;
  /**
   * A padId token model's pad id: the layer then takes a third input, the source ids `[batch, Ts]`, and
   * masks the steps holding padId. (tf.js's functional executor hands a layer only its first input's
   * mask, so the keys' mask from the encoder would not arrive.) Default: no third input.
   */
  padId?: number;
  name?: string;
}

/** What {@link LabAttention.attendAll} returns: h̃ `[batch, Tt, n]`, weights `[batch, Tt, Ts]`, contexts `[batch, Tt, n]`. */
export interface AttentionOutput {
  output: tf.Tensor3D;
  weights: tf.Tensor3D;
  context: tf.Tensor3D;
}

/**
 * The attention layer of a builder's seq2seq model (`spec.attention`; layer name `attention`):
 * inputs `[query [batch, Tt, n], keys [batch, Ts, n]]` — the decoder's and the encoder's top-layer
 * outputs — and output the attentional hidden states h̃_t = tanh(Wc [c_t; h_t]) `[batch, Tt, n]` for the
 * head. The real source steps: with `padId`, a third input, the source ids `[batch, Ts]` (steps ≠ padId);
 * else kwargs `mask: [queryMask, keyMask]` when given by hand; else all. The output's mask is the query's. Weights: 'general' Wa [n, n]; 'additive' W1 [n, n], W2 [n, n], v [n]; all Wc
 * [2n, n] (no biases, as in Luong eqs. 5 and 8). Serialized as 'LabAttention'.
 */
export class LabAttention extends tf.layers.Layer {
  static className = 'LabAttention';
  readonly score: AttentionScore;
  readonly units: number;
  readonly seed: number;
  readonly padId?: number;
  private w: Record<string, tf.LayerVariable> = {};
  constructor(args: LabAttentionArgs) {
    super(args);
    this.score = checkScore('LabAttention', 'score', args.score);
    if (!Number.isInteger(args.units) || args.units < 1) throw new RangeError(`LabAttention: units must be a positive integer; got ${describe(args.units)}`);
    this.units = args.units;
    this.seed = args.seed ?? 1;
    if (args.padId !== undefined && (!Number.isInteger(args.padId) || args.padId < 0)) throw new RangeError(`LabAttention: padId must be a token id (an integer ≥ 0); got ${describe(args.padId)}`);
    this.padId = args.padId;
    this.supportsMasking = true;
  }
  override build(): void {
    const n = this.units;
    // One seed per weight, so no two start equal.
    const add = (name: string, shape: number[], k: number) => {
      this.w[name] = this.addWeight(name, shape, 'float32', tf.initializers.glorotUniform({ seed: this.seed + k }));
    };
    if (this.score === 'general') add('Wa', [n, n], 1);
    if (this.score === 'additive') { add('W1', [n, n], 2); add('W2', [n, n], 3); add('v', [n], 4); }
    add('Wc', [2 * n, n], 5);
    this.built = true;
  }
  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const q = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return [q[0], q[1], this.units];
  }
  /** The output's mask is the query's (its padded target steps stay padding); the keys' mask is used up. */
  override computeMask(_inputs: tf.Tensor | tf.Tensor[], mask?: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return ((Array.isArray(mask) ? mask[0] : mask) ?? null) as unknown as tf.Tensor;
  }
  /** The score's weights as tensors (reads of the layer's variables). */
  scoreWeights(): AttentionScoreWeights {
    const r = (k: string) => this.w[k]?.read();
    return this.score === 'general' ? { Wa: r('Wa') as tf.Tensor2D } : this.score === 'additive' ? { W1: r('W1') as tf.Tensor2D, W2: r('W2') as tf.Tensor2D, v: r('v') as tf.Tensor1D } : {};
  }
  /**
   * The whole computation on tensors: query `[batch, Tt, n]`, keys `[batch, Ts, n]`, keyMask `[batch, Ts]`
   * (bool or 1/0; null = every step real) → h̃, weights and contexts. Not tidied (callers tidy).
   */
  attendAll(query: tf.Tensor3D, keys: tf.Tensor3D, keyMask: tf.Tensor | null): AttentionOutput {
    if (!this.built) this.build();
    const [b, Tt, n] = query.shape;
    const weights = maskedSoftmax(rawScores(query, keys, this.score, this.scoreWeights()), keyMask);   // [b, Tt, Ts]
    const context = tf.matMul(weights, keys) as tf.Tensor3D;                                            // [b, Tt, n] c_t
    const cat = tf.reshape(tf.concat([context, query], 2), [b * Tt, 2 * n]);                            // [b·Tt, 2n] [c_t; h_t]
    const output = tf.reshape(tf.tanh(tf.matMul(cat, this.w.Wc.read())), [b, Tt, this.units]) as tf.Tensor3D;  // [b, Tt, n] h̃_t
    return { output, weights, context };
  }
  /** One decoder step: h_t `[batch, n]` → h̃_t `[batch, n]` and its weights `[batch, Ts]`. Not tidied. */
  step(h: tf.Tensor2D, keys: tf.Tensor3D, keyMask: tf.Tensor | null): { output: tf.Tensor2D; weights: tf.Tensor2D } {
    const r = this.attendAll(tf.expandDims(h, 1) as tf.Tensor3D, keys, keyMask);
    return { output: tf.squeeze(r.output, [1]) as tf.Tensor2D, weights: tf.squeeze(r.weights, [1]) as tf.Tensor2D };
  }
  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>): tf.Tensor {
    checkOptions(`${this.name}.apply`, kwargs ?? {}, ['mask', 'training'], 'kwargs');
    const want = this.padId === undefined ? 2 : 3;
    if (!Array.isArray(inputs) || inputs.length !== want) {
      throw new TypeError(`${this.name}.apply: inputs must be [query [batch, Tt, n], keys [batch, Ts, n]${want === 3 ? ', source ids [batch, Ts]' : ''}]; got ${describe(inputs)}`);
    }
    const mask = kwargs?.mask;
    return tf.tidy(() => {
      const keyMask = want === 3 ? tf.notEqual(inputs[2], this.padId!) : ((Array.isArray(mask) ? mask[1] : null) ?? null);   // [batch, Ts]
      return this.attendAll(inputs[0] as tf.Tensor3D, inputs[1] as tf.Tensor3D, keyMask as tf.Tensor | null).output;
    });
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), score: this.score, units: this.units, seed: this.seed, ...(this.padId !== undefined ? { padId: this.padId } : {}) };
  }
}
tf.serialization.registerClass(LabAttention);

/** A builder seq2seq model's attention layer (named `attention`), or null when it was built without `spec.attention`. */
export function attentionLayerOf(model: tf.LayersModel): LabAttention | null {
  const l = model.layers.find((x) => x.name === 'attention');
  return l instanceof LabAttention ? l : null;
}
