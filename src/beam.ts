/**
 * Beam search for builder token models: seq2seq models (`decode(model, source, { beam })`, or
 * {@link beamSearch}) and language models (many-to-many token models, {@link beamSearch} from a prime).
 *
 * Beam search keeps the k most likely partial outputs at every step instead of the single argmax of
 * greedy decoding: Graves (2012), "Sequence Transduction with Recurrent Neural Networks", and
 * Sutskever, Vinyals & Le (2014), "Sequence to Sequence Learning with Neural Networks" (§3.1); the
 * optional length penalty is GNMT's: Wu et al. (2016), "Google's Neural Machine Translation System", §7.
 */
import * as tf from '@tensorflow/tfjs';
import { checkPositiveInt } from './inputs';
import { checkOptions } from './options';
import { checkModelInput, inputSpecsOf } from './guard';
import { interruptible, stepProgress } from './interrupt';
import { recurrentLayers, specOf } from './build';
import { checkTokens } from './embedding';
import { Lengths, allFull, maskOf } from './lengths';
import { modelLengths } from './forward';
import { describe } from './describe';
import { DecoderAttention, DecoderState, checkDecodeCall, disposeStates, encodeSourceKeys, gatherAttention, sourceLengthsOf, tokenDecoderStep } from './decode';
import { attentionLayerOf } from './attention';

/** Options of {@link beamSearch}, and of `decode` with `beam`. */
export interface BeamSearchOptions {
  /** The beam width k ≥ 1: hypotheses kept per row, and returned per row (k = 1 is greedy decoding). */
  beam: number;
  /** At most this many generated tokens per hypothesis (≥ 1); one that has not produced `end` by then stops there. */
  maxLength: number;
  /**
   * The end token id: a hypothesis that produces it is finished (the token is kept, counted in its
   * length, and its log-probability is in the hypothesis's). Without it every hypothesis has maxLength tokens.
   */
  end?: number;
  /**
   * GNMT's length penalty α (Wu et al. 2016, eq. 14): hypotheses are ranked by
   * score = logProb / lp(len), lp(len) = ((5 + len) / 6)^α, len = its tokens (end included).
   * Any finite number; 0 (the default) ranks by logProb itself; α > 0 favours longer outputs
   * (GNMT used 0.6–0.7), α < 0 shorter ones.
   */
  lengthPenalty?: number;
  /** Seq2seq: the decoder's first input, a start token id (required). Language models: not used (the prime's last token is). */
  start?: number;
  /** Seq2seq: the real length of each source (as in `decode`). */
  sourceLengths?: Lengths;
  /** Seq2seq: the source mask `[batch, Ts]` (as in `decode`). */
  sourceMask?: tf.Tensor;
  /** Language models: the real length of each prime row (1 ≤ L_b ≤ Tp), padded at the end; a `padId` model finds them itself. */
  lengths?: Lengths;
  /** Language models: the same as `lengths`, as a mask `[batch, Tp]` of 1s then 0s. */
  mask?: tf.Tensor;
}
export const BEAM_SEARCH_KEYS = ['beam', 'maxLength', 'end', 'lengthPenalty', 'start', 'sourceLengths', 'sourceMask', 'lengths', 'mask'] as const;

/** What beam search returns: per row, its best hypotheses (at most k), best first. All plain arrays: nothing to dispose. */
export interface BeamSearchResult {
  /** `[batch][≤ k]` token ids of each hypothesis (the generated tokens only), its end token included when it has one. */
  sequences: number[][][];
  /** `[batch][≤ k]` log P(sequence | source or prime): the sum of the log-softmax of each chosen token, the end token's included. */
  logProbs: number[][];
  /** `[batch][≤ k]` the ranking score: logProb / ((5 + len) / 6)^lengthPenalty (= logProbs when lengthPenalty is 0); non-increasing along each row. */
  scores: number[][];
  /** `[batch][≤ k]` tokens per hypothesis (end included): ≤ maxLength. */
  lengths: number[][];
  /** `[batch][≤ k]` true when the hypothesis ends with the end token, false when it stopped at maxLength. */
  ended: boolean[][];
  /**
   * Seq2seq models built with `spec.attention` only: `[batch][≤ k][lengths][Ts]`, each hypothesis'
   * attention weights over the source steps at each of its steps (0 at the row's padded source steps).
   */
  attention?: number[][][][];
}

type Hyp = { tokens: number[]; logProb: number; score: number; ended: boolean; attention?: number[][] };

/** GNMT's lp(len) = ((5 + len) / 6)^α (Wu et al. 2016, eq. 14). */
const penalty = (len: number, alpha: number): number => (alpha === 0 ? 1 : ((5 + len) / 6) ** alpha);

/** Descending by score; stable (Array.prototype.sort is), and −∞ scores compare without NaN. */
const byScore = (a: { score: number }, b: { score: number }): number => (a.score > b.score ? -1 : a.score < b.score ? 1 : 0);

/**
 * Beam search over a token model (seq2seq or language model): the k best outputs of each row, ranked
 * by their (length-penalized) log-probability.
 *
 * - **seq2seq** (`input` = source ids `[batch, Ts]`): the encoder runs over each source (its own
 *   length with `sourceLengths`/`sourceMask`, or a `padId` model's padding, as in `decode`), and the
 *   decoder starts from `start`. The same as `decode(model, source, { beam, … })`.
 * - **language model** (a unidirectional many-to-many token model; `input` = prime ids `[batch, Tp]`,
 *   rows padded at the end with `lengths`/`mask`, or a `padId` model): the model reads each prime,
 *   and the hypotheses continue it (the prime is not part of the returned sequences).
 *
 * The search, per row, batched over rows and hypotheses (one decoder step per output position for all
 * live hypotheses of all rows): every live hypothesis is extended by every token, and the extensions
 * are ranked by logProb. Walking them best first, an extension by `end` becomes a finished hypothesis
 * when it ranks among the row's k best extensions (the Hugging Face / fairseq rule, so that k = 1 is
 * greedy decoding exactly), and the first k other extensions stay live (at step maxLength they are
 * finished unended). A row keeps its k best finished hypotheses by score and stops when it has k of
 * them and no live one can reach a better score (its logProb can only fall; its penalty can at most
 * become lp(maxLength) for α > 0, lp(len + 1) for α < 0); the search stops when every row has, or at maxLength.
 * A row returns fewer than k hypotheses only when fewer exist (tiny vocabularies and maxLength).
 * Ties keep the lower hypothesis, then the lower token id.
 *
 * Log-probabilities: `log y` for a softmax head, `logSoftmax(y)` for a linear (logits) head; a sigmoid
 * head is an error (no distribution over tokens).
 *
 * Interrupt (the course kernel's ■) stops it between steps with a `KeyboardInterrupt` whose `partial`
 * holds each row's finished hypotheses so far (`number[][][]`); no tensor is left behind.
 *
 * @returns `{ sequences, logProbs, scores, lengths, ended }`, `[batch][≤ k]` each, best first (see {@link BeamSearchResult})
 * @throws TypeError for an unknown option key; RangeError naming the option: `beam` not a positive
 *   integer, `maxLength` < 1, `end`/`start` not a token id, `lengthPenalty` not a finite number,
 *   `start` or `sourceLengths` for a language model, `lengths` for a seq2seq model; Error for a model
 *   that is not a token seq2seq or unidirectional many-to-many model, or has a sigmoid head; KeyboardInterrupt when interrupted
 * @example
 * ```ts
 * const { sequences, logProbs } = beamSearch(s2s, src, { beam: 4, start: 1, end: 2, maxLength: 12, lengthPenalty: 0.6 });
 * sequences[0][0];   // row 0's best output, e.g. [5, 4, 3, 2]
 * const lm = beamSearch(charLm, tf.tensor2d([vocab.encode('ma')], [1, 2], 'int32'), { beam: 5, end: vocab.encode('\n')[0], maxLength: 10 });
 * ```
 */
export function beamSearch(model: tf.LayersModel, input: tf.Tensor, options: BeamSearchOptions): BeamSearchResult {
  return beamSearchAs('beamSearch', model, input, options);
}

/** {@link beamSearch} with errors naming `where` (decode with `beam` calls it as 'decode'). */
export function beamSearchAs(where: string, model: tf.LayersModel, input: tf.Tensor, options: BeamSearchOptions): BeamSearchResult {
  if (options == null || typeof options !== 'object') throw new TypeError(`${where}: options { beam, maxLength, end?, lengthPenalty?, start?, … } are required; got ${describe(options)}`);
  checkOptions(where, options, BEAM_SEARCH_KEYS);
  const k = checkPositiveInt(where, 'options.beam', options.beam);
  const alpha = options.lengthPenalty ?? 0;
  if (typeof alpha !== 'number' || !Number.isFinite(alpha)) throw new RangeError(`${where}: options.lengthPenalty must be a finite number (GNMT's α, e.g. 0.6; 0 = none); got ${describe(options.lengthPenalty)}`);
  const spec = specOf(model);
  const seq2seq = spec.topology === 'seq2seq';
  if (seq2seq) {
    checkDecodeCall(where, model, input, options);
    if (spec.vocabSize === undefined) throw new Error(`${where}: beam search needs a token model (built with vocabSize); this seq2seq model outputs vectors`);
    for (const key of ['lengths', 'mask'] as const) {
      if (options[key] !== undefined) throw new RangeError(`${where}: options.${key} is for a language model's prime; a seq2seq model's sources take options.source${key === 'lengths' ? 'Lengths' : 'Mask'}`);
    }
  } else {
    if (spec.topology !== 'many-to-many' || spec.vocabSize === undefined || spec.bidirectional) {
      throw new Error(`${where}: the model must be a seq2seq token model or a unidirectional many-to-many token model (a language model); got topology '${spec.topology ?? 'many-to-one'}'${spec.vocabSize === undefined ? ' without vocabSize' : ''}${spec.bidirectional ? ', bidirectional' : ''}`);
    }
    checkModelInput(where, 'prime', input, inputSpecsOf(spec)[0]);
    checkPositiveInt(where, 'options.maxLength', options.maxLength);
    for (const key of ['start', 'sourceLengths', 'sourceMask'] as const) {
      if (options[key] !== undefined) throw new RangeError(`${where}: options.${key} is for seq2seq models; a language model continues its prime (its real lengths: options.lengths or options.mask)`);
    }
    if (options.end !== undefined && (!Number.isInteger(options.end) || options.end < 0 || options.end >= spec.vocabSize)) {
      throw new RangeError(`${where}: options.end must be a token id in [0, ${spec.vocabSize}); got ${describe(options.end)}`);
    }
  }
  const V = spec.vocabSize!;
  if (spec.outputSize !== V) throw new Error(`${where}: the head must give one score per token (outputSize = vocabSize = ${V}); got outputSize ${spec.outputSize}`);
  if (spec.outputActivation === 'sigmoid') throw new Error(`${where}: beam search needs a softmax or linear (logits) head; this model's head is sigmoid, which is no distribution over tokens`);
  const batch = input.shape[0];
  const lengths = seq2seq
    ? sourceLengthsOf(where, model, input, options, batch, input.shape[1]!)
    : modelLengths(spec, input, { lengths: options.lengths, mask: options.mask }, where);
  checkTokens(input, V, `${where}: ${seq2seq ? 'source' : 'prime'}`);

  const dec = recurrentLayers(model).filter((l) => !seq2seq || l.name.startsWith('decoder_'));
  const embed = model.getLayer(seq2seq ? 'decoder_embedding' : 'embedding');
  const head = model.getLayer('head');
  const softmaxHead = spec.outputActivation === 'softmax';
  const logProbsOf = (y: tf.Tensor2D): tf.Tensor2D => (softmaxHead ? tf.log(y) : tf.logSoftmax(y));
  const end = options.end ?? -1;
  const maxLength = options.maxLength;
  const op = interruptible(where);

  // Attention (seq2seq models built with spec.attention): the rows' keys and source mask, gathered
  // per live hypothesis at each step; each hypothesis keeps its steps' weights.
  const attnLayer = seq2seq ? attentionLayerOf(model) : null;
  let rowAttention: DecoderAttention | null = null;
  let Ts = 0;
  let weights: Float32Array | null = null;                                       // the last step's [n × Ts]

  /** One decoder step for n hypotheses (of batch rows `rows`): their last tokens and states → log-probabilities [n × V] and the new states. */
  const step = (prev: Int32Array, states: DecoderState[], rows: number[]): { logp: Float32Array; next: DecoderState[] } => {
    const out = tf.tidy(() => {
      const attention = rowAttention ? gatherAttention(rowAttention, tf.tensor1d(rows, 'int32')) : null;
      const { next, y, weights: w } = tokenDecoderStep(embed, dec, head, prev, states, attention);
      return { next, logp: logProbsOf(y), w } as unknown as tf.TensorContainer;   // [n, V], [n, Ts]
    }) as unknown as { next: DecoderState[]; logp: tf.Tensor2D; w?: tf.Tensor2D };
    const logp = out.logp.dataSync() as Float32Array;
    weights = out.w ? (out.w.dataSync() as Float32Array) : null;
    tf.dispose([out.logp, out.w ?? []].flat());
    return { logp, next: out.next };
  };
  const weightRow = (i: number): number[] => Array.from(weights!.subarray(i * Ts, (i + 1) * Ts));

  let states: DecoderState[] = [];
  const finished: Hyp[][] = Array.from({ length: batch }, () => []);
  try {
    // The first log-probabilities, one live hypothesis (empty) per row.
    let logp: Float32Array;
    if (seq2seq) {
      const enc = tf.tidy(() => {
        const e = encodeSourceKeys(model, input, true, lengths, op);
        return { states: e.states, keys: attnLayer ? e.keys : undefined } as unknown as tf.TensorContainer;
      }) as unknown as { states: DecoderState[]; keys?: tf.Tensor3D };
      if (attnLayer) {
        Ts = input.shape[1]!;
        rowAttention = { layer: attnLayer, keys: enc.keys!, mask: allFull(lengths, Ts) ? null : tf.tidy(() => tf.cast(maskOf(lengths!, Ts), 'bool')) };
      }
      try {
        ({ logp, next: states } = step(new Int32Array(batch).fill(options.start!), enc.states, Array.from({ length: batch }, (_, b) => b)));
      } finally {
        disposeStates(enc.states);
      }
    } else {
      // The prime, each row to its own length: every layer's state after step L_b (held through the
      // padding when lengths are given), and the head on the last layer's: the next-token log-probabilities.
      const r = tf.tidy(() => {
        let x: tf.Tensor = model.getLayer('embedding').apply(input) as tf.Tensor;
        const next: DecoderState[] = dec.map((layer, l) => {
          const where2 = { name: layer.name, index: l, count: dec.length };
          const { output, directions } = layer.forwardSequence(x, lengths ? { lengths } : {}, (t, T, d) => op.throwIfStopped(() => `reading the prime: ${stepProgress(t, T, d, where2)}`));
          x = output;
          const d = directions[0];
          return { h: d.h[d.h.length - 1], c: d.c ? d.c[d.c.length - 1] : undefined };
        });
        return { next, logp: logProbsOf(head.apply(next[next.length - 1].h) as tf.Tensor2D) } as unknown as tf.TensorContainer;
      }) as unknown as { next: DecoderState[]; logp: tf.Tensor2D };
      states = r.next;
      logp = r.logp.dataSync() as Float32Array;
      r.logp.dispose();
    }
    // Live hypotheses, in the order of the state rows; `row` is the batch row each belongs to.
    let live: (Hyp & { row: number })[] = Array.from({ length: batch }, (_, b) => ({ row: b, tokens: [], logProb: 0, score: 0, ended: false, ...(attnLayer ? { attention: [] } : {}) }));
    for (let t = 0; t < maxLength; t++) {
      if (op.reason) op.throwIfStopped(`${t}/${maxLength} steps`, finished.map((f) => f.map((h) => h.tokens.slice())));
      const len = t + 1;                                                          // tokens after this step
      const last = len === maxLength;
      const lp = penalty(len, alpha);
      const nextLive: (Hyp & { row: number; parent: number })[] = [];
      // Candidates row by row: live is grouped by row (rows in order, each row's hypotheses best first).
      let i0 = 0;
      while (i0 < live.length) {
        const row = live[i0].row;
        let i1 = i0;
        while (i1 < live.length && live[i1].row === row) i1++;
        const cands: { parent: number; token: number; score: number }[] = [];
        for (let i = i0; i < i1; i++) {
          const base = live[i].logProb;
          for (let v = 0; v < V; v++) cands.push({ parent: i, token: v, score: base + logp[i * V + v] });
        }
        cands.sort(byScore);
        const pool = finished[row];
        let kept = 0;
        for (let r = 0; r < cands.length && kept < k; r++) {
          const c = cands[r];
          const tokens = [...live[c.parent].tokens, c.token];
          // With attention: the parent's weights and this step's (the same for every token of one parent).
          const at = weights ? { attention: [...live[c.parent].attention!, weightRow(c.parent)] } : {};
          if (c.token === end) {
            if (r < k) pool.push({ tokens, logProb: c.score, score: c.score / lp, ended: true, ...at });
          } else if (last) {
            pool.push({ tokens, logProb: c.score, score: c.score / lp, ended: false, ...at });
            kept++;
          } else {
            nextLive.push({ row, parent: c.parent, tokens, logProb: c.score, score: c.score, ended: false, ...at });
            kept++;
          }
        }
        pool.sort(byScore);
        if (pool.length > k) pool.length = k;
        // Done when k are finished and no live hypothesis can beat the worst: a live logProb s ≤ 0 only
        // falls, and its penalized score is at most s / max lp over the lengths still possible.
        const best = nextLive.find((h) => h.row === row);
        const lpMax = alpha > 0 ? penalty(maxLength, alpha) : alpha < 0 ? penalty(len + 1, alpha) : 1;
        if (last || !best || (pool.length >= k && best.logProb / lpMax <= pool[k - 1].score)) {
          while (nextLive.length && nextLive[nextLive.length - 1].row === row) nextLive.pop();
        }
        i0 = i1;
      }
      if (nextLive.length === 0) break;
      // The live hypotheses' states: gathered from their parents' rows.
      const idx = tf.tensor1d(nextLive.map((h) => h.parent), 'int32');
      const gathered = states.map((s) => ({ h: tf.gather(s.h, idx) as tf.Tensor2D, c: s.c ? (tf.gather(s.c, idx) as tf.Tensor2D) : undefined }));
      idx.dispose();
      disposeStates(states);
      states = gathered;
      live = nextLive.map(({ row, tokens, logProb, score, ended, attention }) => ({ row, tokens, logProb, score, ended, ...(attention ? { attention } : {}) }));
      const s = step(Int32Array.from(live, (h) => h.tokens[h.tokens.length - 1]), states, live.map((h) => h.row));
      disposeStates(states);
      states = s.next;
      logp = s.logp;
    }
  } finally {
    disposeStates(states);
    if (rowAttention) { rowAttention.keys.dispose(); rowAttention.mask?.dispose(); }
    op.end();
  }
  return {
    sequences: finished.map((f) => f.map((h) => h.tokens)),
    logProbs: finished.map((f) => f.map((h) => h.logProb)),
    scores: finished.map((f) => f.map((h) => h.score)),
    lengths: finished.map((f) => f.map((h) => h.tokens.length)),
    ended: finished.map((f) => f.map((h) => h.ended)),
    ...(attnLayer ? { attention: finished.map((f) => f.map((h) => h.attention!)) } : {}),
  };
}
