/**
 * Running builder models outside `predict`: greedy decoding of seq2seq models and generation of any
 * length from one-to-many models.
 */
import { checkPositiveInt } from './inputs';
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from './options';
import { checkModelInput, inputSpecsOf } from './guard';
import { interruptible, stepProgress } from './interrupt';
import { recurrentLayers, specOf } from './build';
import { checkTokens } from './embedding';
import { Lengths, allFull, checkLengths, lengthsFromMask, maskOf, refusePrePaddedInput } from './lengths';
import { Rng } from './random';
import { softmax } from './text';
import { describe } from './describe';
import { BeamSearchResult, beamSearchAs } from './beam';
import { LabAttention, attentionLayerOf } from './attention';

/** Options of {@link decode}. */
export interface DecodeOptions {
  /** Steps to generate. */
  maxLength: number;
  /** The decoder's first input: a start token id (token models) or a start vector [outputSize]. */
  start: number | number[];
  /** Token models: stop once every sequence has produced this token (it is kept in the output). */
  end?: number;
  /**
   * Sources of different lengths: source b has `sourceLengths[b]` real steps (1 ≤ L_b ≤ Ts), padded
   * at the end of the time axis with anything valid (a token id, finite values). The decoder starts
   * from each encoder layer's state after step L_b (PyTorch `pack_padded_sequence` semantics), so
   * the padding has no effect. Default: every source has all Ts steps.
   */
  sourceLengths?: Lengths;
  /** The same as `sourceLengths`, as a mask `[batch, Ts]` of 1s then 0s (bool or float); both given must agree. */
  sourceMask?: tf.Tensor;
}
const DECODE_KEYS = ['maxLength', 'start', 'end', 'sourceLengths', 'sourceMask'] as const;

/**
 * Options of {@link decode} with `beam`: beam search (see {@link beamSearch}) instead of greedy
 * decoding, for token models; `decode` then returns a {@link BeamSearchResult}.
 */
export interface BeamDecodeOptions {
  /** The beam width k ≥ 1 (k = 1: the greedy tokens, with their log-probabilities). */
  beam: number;
  /** GNMT's length penalty α (see {@link BeamSearchOptions}); default 0 (none). */
  lengthPenalty?: number;
  /** At most this many tokens per hypothesis. */
  maxLength: number;
  /** The decoder's first input: a start token id. */
  start: number;
  /** The end token: a hypothesis that produces it is finished (the token and its log-probability kept). */
  end?: number;
  /** As in {@link DecodeOptions}. */
  sourceLengths?: Lengths;
  /** As in {@link DecodeOptions}. */
  sourceMask?: tf.Tensor;
}

/** Options of {@link decodeSequences}. */
export interface DecodeSequencesOptions {
  /** At most this many tokens per sequence (≥ 1); a sequence that has not produced `end` by then stops there. */
  maxLength: number;
  /** The decoder's first input: a start token id. */
  start: number;
  /** The end token id: a sequence stops after producing it (it is kept and counted in its length). */
  end: number;
  /**
   * What fills `tokens` after a sequence's end (any integer; it need not be a token id, e.g. −1).
   * Default: `end` (as Hugging Face `generate` does without a pad token). It fills the output only:
   * a padded source needs `sourceLengths` (or a model built with `padId`); a source row ending in this
   * id with neither is an error, since it would be read as tokens.
   */
  padId?: number;
  /** As in {@link DecodeOptions}: the real length of each source. */
  sourceLengths?: Lengths;
  /** As in {@link DecodeOptions}: the source mask `[batch, Ts]`. */
  sourceMask?: tf.Tensor;
  /**
   * Sample each token from softmax(logits / temperature) instead of taking the argmax: one `Rng` for
   * the whole batch (draws go to the unfinished sequences in row order, each step), or one `Rng` per
   * sequence (then each sequence's draws do not depend on the others: it decodes as it would alone
   * with the same `Rng`). Default: greedy (the argmax, ties to the lowest id), like {@link decode}.
   */
  rng?: Rng | Rng[];
  /** Softmax temperature T > 0 for sampling (default 1); only with `rng` (greedy decoding would ignore it). */
  temperature?: number;
}
const DECODE_SEQUENCES_KEYS = ['maxLength', 'start', 'end', 'padId', 'sourceLengths', 'sourceMask', 'rng', 'temperature'] as const;

/** What {@link decodeSequences} returns. */
export interface DecodedSequences {
  /** Token ids [batch, max(lengths)] (int32); row b holds its `lengths[b]` tokens, then `padId`. */
  tokens: tf.Tensor2D;
  /** Tokens per sequence, its end token included; `maxLength` for a sequence that never produced `end`. */
  lengths: number[];
  /** The ragged result: sequence b's tokens, its end token included, without padding. */
  sequences: number[][];
  /**
   * Models built with `spec.attention` only: `[batch][lengths[b]][Ts]`, the attention weights of each
   * decoded step over the source steps (0 at a row's padded source steps; each step's weights sum to 1).
   */
  attention?: number[][][];
}

/**
 * The real length of each source from options.sourceLengths / options.sourceMask and, for a model built
 * with `padId`, from the padding in the source ids (all given must agree); null when nothing says so.
 */
export function sourceLengthsOf(where: string, model: tf.LayersModel, source: tf.Tensor, options: { sourceLengths?: unknown; sourceMask?: unknown }, batch: number, Ts: number): Int32Array | null {
  const layout = source.rank === 2 ? '[batch, time]' : '[batch, time, features]';
  if (options.sourceLengths != null || options.sourceMask != null) refusePrePaddedInput(where, 'source', source);
  const fromLengths = options.sourceLengths == null ? null : checkLengths(where, 'options.sourceLengths', options.sourceLengths, batch, Ts, layout);
  const fromMask = options.sourceMask == null ? null : lengthsFromMask(where, 'options.sourceMask', options.sourceMask, batch, Ts, { layout });
  if (fromLengths && fromMask) {
    const b = fromLengths.findIndex((L, i) => L !== fromMask[i]);
    if (b >= 0) throw new RangeError(`${where}: options.sourceLengths and options.sourceMask disagree at row ${b}: sourceLengths[${b}] = ${fromLengths[b]}, the mask has ${fromMask[b]} real steps`);
  }
  const given = fromLengths ?? fromMask;
  // A model built with padId knows its padding: decoding over the pads would change every answer silently.
  const padId = specOf(model).padId;
  if (padId === undefined || source.rank !== 2) return given;
  const fromIds = tf.tidy(() => lengthsFromMask(where, 'source', tf.notEqual(source, padId), batch, Ts, { layout, padId }));
  const b = given ? given.findIndex((L, i) => L !== fromIds[i]) : -1;
  if (b >= 0) throw new RangeError(`${where}: ${fromLengths ? 'options.sourceLengths' : 'options.sourceMask'} and the padding of source disagree at row ${b}: ${given![b]} real steps given, source has ${fromIds[b]} tokens before padId ${padId}`);
  return fromIds;
}

export type DecoderState = { h: tf.Tensor2D; c?: tf.Tensor2D };

/** What a decoder step needs for attention: the layer, the keys of its n rows `[n, Ts, H]` and their source mask `[n, Ts]` (null: all real). */
export interface DecoderAttention {
  layer: LabAttention;
  keys: tf.Tensor3D;
  mask: tf.Tensor | null;
}

/**
 * One decoder step of a token model for n rows: their previous tokens [n] through the embedding, each
 * decoder layer's step from its state, attention (when `attention` is given) and the head. Not tidied:
 * the caller's tidy keeps what it returns. Returns the new states per layer, the head's output y [n, V]
 * and, with attention, the step's weights [n, Ts].
 */
export function tokenDecoderStep(embed: tf.layers.Layer, dec: ReturnType<typeof recurrentLayers>, head: tf.layers.Layer, prev: Int32Array, states: DecoderState[],
  attention?: DecoderAttention | null): { next: DecoderState[]; y: tf.Tensor2D; weights?: tf.Tensor2D } {
  const n = prev.length;
  let inp = tf.reshape(embed.apply(tf.tensor2d(prev, [n, 1], 'int32'), { oneStep: true }) as tf.Tensor, [n, -1]) as tf.Tensor2D;  // [n, E]
  const next: DecoderState[] = dec.map((layer, l) => {
    const r = layer.step(inp, states[l]);
    inp = r.h;                                                                    // [n, H]
    return { h: r.h, c: r.c };
  });
  if (!attention) return { next, y: head.apply(inp) as tf.Tensor2D };              // [n, V]
  const a = attention.layer.step(inp, attention.keys, attention.mask);            // h̃_t [n, H], weights [n, Ts]
  return { next, y: head.apply(a.output) as tf.Tensor2D, weights: a.weights };
}

/**
 * The attention inputs of decoding: the encoder's top-layer outputs `[batch, Ts, H]` and the source
 * mask `[batch, Ts]` bool (null when every source is full); null for a model without attention. Not tidied.
 */
export function decoderAttention(model: tf.LayersModel, keys: tf.Tensor, lengths: Int32Array | null): DecoderAttention | null {
  const layer = attentionLayerOf(model);
  if (!layer) return null;
  const Ts = keys.shape[1]!;
  return { layer, keys: keys as tf.Tensor3D, mask: allFull(lengths, Ts) ? null : tf.cast(maskOf(lengths!, Ts), 'bool') };
}

/** The rows `idx` [n] of decoding's attention inputs (gathered: the rows still decoding, or the hypotheses' rows). Not tidied. */
export function gatherAttention(a: DecoderAttention, idx: tf.Tensor1D): DecoderAttention {
  return { layer: a.layer, keys: tf.gather(a.keys, idx) as tf.Tensor3D, mask: a.mask ? tf.gather(a.mask, idx) : null };
}

/**
 * Run the encoder over the source and return each layer's final state, the decoder's initial state.
 * With ragged `lengths`, row b's final state is its state after step L_b: the encoder runs forward
 * only (build refuses a bidirectional seq2seq), so that state never saw the padding after it, and
 * picking it from the per-step trace gives PyTorch's packed-sequence final state exactly.
 */
export function encodeSource(model: tf.LayersModel, source: tf.Tensor, tokens: boolean, lengths: Int32Array | null, op: ReturnType<typeof interruptible>): DecoderState[] {
  return encodeSourceKeys(model, source, tokens, lengths, op).states;
}

/**
 * {@link encodeSource} with the top encoder layer's output: its per-step outputs `[batch, Ts, H]` (the
 * attention keys) for a model built with attention, whose top layer returns its sequence. Outputs at a
 * row's padded steps are not 0 here (the encoder runs over them), but attention masks them out.
 */
export function encodeSourceKeys(model: tf.LayersModel, source: tf.Tensor, tokens: boolean, lengths: Int32Array | null, op: ReturnType<typeof interruptible>): { states: DecoderState[]; keys: tf.Tensor } {
  const enc = recurrentLayers(model).filter((l) => l.name.startsWith('encoder_'));
  const batch = source.shape[0];
  const Ts = source.shape[1]!;
  const ragged = !allFull(lengths, Ts);
  // [batch, 2] indices (row, step L_b − 1) into the [batch, Ts, n] stack of per-step states.
  const last = ragged ? tf.tensor2d(Array.from(lengths!, (L, b) => [b, L - 1]), [batch, 2], 'int32') : null;
  const pick = (steps: tf.Tensor2D[]) => (ragged ? (tf.gatherND(tf.stack(steps, 1), last!) as tf.Tensor2D) : steps[steps.length - 1]);  // [batch, n]
  let x: tf.Tensor = tokens ? (model.getLayer('embedding').apply(source) as tf.Tensor) : source;
  const states: DecoderState[] = [];
  for (const [l, layer] of enc.entries()) {
    const where = { name: layer.name, index: l, count: enc.length };
    const { output, directions } = layer.forwardSequence(x, {}, (t, T, d) => op.throwIfStopped(() => `encoding the source: ${stepProgress(t, T, d, where)}`));
    const d = directions[0];
    states.push({ h: pick(d.h), c: d.c ? pick(d.c) : undefined });
    // Every encoder layer but the last was built with returnSequences (see build.ts), so `output`
    // is already the next layer's [batch, T, n] input; the last one's output is read by attention only.
    x = output;
  }
  return { states, keys: x };
}

/** The checks decode and decodeSequences share: a seq2seq model, the source, maxLength, start and end. */
export function checkDecodeCall(where: string, model: tf.LayersModel, source: tf.Tensor, options: { maxLength?: unknown; start?: unknown; end?: unknown }): ReturnType<typeof specOf> {
  const spec = specOf(model);
  if (spec.topology !== 'seq2seq') throw new Error(`${where}: the model must be a seq2seq model; got topology '${spec.topology ?? 'many-to-one'}'`);
  checkModelInput(where, 'source', source, inputSpecsOf(spec)[0]);
  checkPositiveInt(where, 'options.maxLength', options?.maxLength);
  const tokens = spec.vocabSize !== undefined;
  if (tokens && (!Number.isInteger(options.start) || (options.start as number) < 0 || (options.start as number) >= spec.vocabSize!)) {
    throw new RangeError(`${where}: options.start must be a token id in [0, ${spec.vocabSize}); got ${options.start}`);
  }
  if (tokens && options.end !== undefined && (!Number.isInteger(options.end) || (options.end as number) < 0 || (options.end as number) >= spec.vocabSize!)) {
    throw new RangeError(`${where}: options.end must be a token id in [0, ${spec.vocabSize}); got ${options.end}`);
  }
  return spec;
}

/**
 * Greedy decoding for a seq2seq model: encode the source, then run the decoder one step at a time,
 * feeding back its own previous output (the argmax token, or the output vector) instead of the
 * teacher-forced target used in training.
 *
 * Interrupt (the course kernel's ■) stops it between steps with a `KeyboardInterrupt` whose message
 * says how many steps were done and whose `partial` holds the outputs so far as nested number arrays
 * ([batch][steps] ids, or [batch][steps][outputSize]); no tensor is left behind.
 *
 * Sources of different lengths, padded at the end: give `sourceLengths` (or `sourceMask`); each
 * sequence is then decoded as if its source were given alone, unpadded. For each sequence to stop
 * at its own end token with padding after it, use {@link decodeSequences}.
 *
 * Beam search (token models): with `options.beam` = k, decode returns each row's k best hypotheses
 * with their log-probabilities, `{ sequences, logProbs, scores, lengths, ended }` (`[batch][≤ k]`,
 * best first; plain arrays), ranked by logProb or, with `lengthPenalty` α, by GNMT's
 * logProb / ((5 + len) / 6)^α (Wu et al. 2016); see {@link beamSearch} (Graves 2012; Sutskever et al. 2014).
 *
 * @returns token ids [batch, steps] (int32) for token models, else outputs [batch, steps, outputSize];
 *   with `beam`, a {@link BeamSearchResult}
 * @throws KeyboardInterrupt when interrupted (see above); TypeError for an unknown option; RangeError
 *   naming the option for a `beam` that is not a positive integer, a `lengthPenalty` that is not a
 *   finite number or is given without `beam`
 * @example
 * ```ts
 * const ids = decode(s2s, tf.tensor2d([[3, 4, 5]], [1, 3], 'int32'), { start: 1, end: 2, maxLength: 10 });
 * // two sources of 3 and 2 tokens, the second padded with 0
 * const two = decode(s2s, tf.tensor2d([[3, 4, 5], [6, 7, 0]], [2, 3], 'int32'), { start: 1, maxLength: 10, sourceLengths: [3, 2] });
 * // the 4 best outputs of each source, with their log-probabilities
 * const { sequences, logProbs } = decode(s2s, src, { beam: 4, start: 1, end: 2, maxLength: 10, lengthPenalty: 0.6 });
 * ```
 */
export function decode(model: tf.LayersModel, source: tf.Tensor, options: BeamDecodeOptions): BeamSearchResult;
export function decode(model: tf.LayersModel, source: tf.Tensor, options: DecodeOptions): tf.Tensor;
export function decode(model: tf.LayersModel, source: tf.Tensor, options: DecodeOptions | BeamDecodeOptions): tf.Tensor | BeamSearchResult {
  const spec0 = specOf(model);
  if (spec0.topology !== 'seq2seq') throw new Error(`decode: the model must be a seq2seq model; got topology '${spec0.topology ?? 'many-to-one'}'`);
  if (options === undefined) throw new TypeError(`decode: options { maxLength, start, end? } are required; got undefined`);
  checkOptions('decode', options, [...DECODE_KEYS, 'beam', 'lengthPenalty']);
  if ((options as BeamDecodeOptions).beam !== undefined) return beamSearchAs('decode', model, source, options as BeamDecodeOptions);
  if ((options as BeamDecodeOptions).lengthPenalty !== undefined) throw new RangeError(`decode: options.lengthPenalty (${describe((options as BeamDecodeOptions).lengthPenalty)}) only applies to beam search; give options.beam too (greedy decoding would ignore it)`);
  const spec = checkDecodeCall('decode', model, source, options);
  const tokens = spec.vocabSize !== undefined;
  const sourceLengths = sourceLengthsOf('decode', model, source, options, source.shape[0], source.shape[1]!);
  if (!tokens && options.end !== undefined) throw new RangeError(`decode: options.end is for token models (vocabSize); this model outputs vectors, so it would be ignored`);
  if (!tokens && (!Array.isArray(options.start) || options.start.length !== spec.outputSize)) {
    throw new RangeError(`decode: options.start must be a start vector of length outputSize=${spec.outputSize}; got ${describe(options.start)}${(options.start as unknown) instanceof tf.Tensor ? ' (a plain number[]: e.g. Array(' + spec.outputSize + ').fill(0))' : ''}`);
  }
  const dec = recurrentLayers(model).filter((l) => l.name.startsWith('decoder_'));
  const head = model.getLayer('head');
  const op = interruptible('decode');
  try {
    // Everything runs in one tidy: an interrupt (thrown between steps) frees all of it.
    return tf.tidy(() => {
      if (tokens) checkTokens(source, spec.vocabSize!, 'decode: source');
      const batch = source.shape[0];
      const { states, keys } = encodeSourceKeys(model, source, tokens, sourceLengths, op);
      const attention = decoderAttention(model, keys, sourceLengths);
      let prev: tf.Tensor = tokens ? tf.fill([batch], options.start as number, 'int32') : tf.tile(tf.tensor2d([options.start as number[]]), [batch, 1]);
      const outs: tf.Tensor[] = [];
      let done = tokens && options.end !== undefined ? tf.zeros([batch], 'bool') : null;
      for (let t = 0; t < options.maxLength; t++) {
        // The outputs so far are read only when stopping (one read-back, as plain arrays: no tensor escapes).
        if (op.reason) op.throwIfStopped(`${t}/${options.maxLength} steps`, t > 0 ? tf.stack(outs, 1).arraySync() : []);
        let inp = (tokens ? tf.squeeze(model.getLayer('decoder_embedding').apply(tf.reshape(prev, [batch, 1]), { oneStep: true }) as tf.Tensor, [1]) : prev) as tf.Tensor2D;
        dec.forEach((layer, l) => {
          const r = layer.step(inp, states[l]);
          states[l] = { h: r.h, c: r.c };
          inp = r.h;
        });
        if (attention) inp = attention.layer.step(inp, attention.keys, attention.mask).output;   // h̃_t [batch, H]
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
 * Decode a batch in which each sequence stops at its own end token: a seq2seq token model is run
 * step by step as in {@link decode} (greedy by default, or sampled with `rng`), but once sequence b
 * produces `end` it gets no further decoder steps — the finished rows leave the batch, so they cost
 * nothing and cannot affect the others — and its later positions in `tokens` are `padId`. A sequence
 * that never produces `end` stops at `maxLength`. Each sequence's tokens are those it would get
 * decoded alone (a batch of 1, its source unpadded); with sampling, when each has its own `Rng`.
 *
 * Semantics follow Hugging Face `generate` (`eos_token_id`, `pad_token_id`; the end token is kept)
 * and PyTorch packed sequences for the sources (`sourceLengths`, see {@link DecodeOptions}).
 *
 * Interrupt (the course kernel's ■) stops it between steps with a `KeyboardInterrupt` whose
 * `partial` holds the sequences so far (number[][]); no tensor is left behind.
 *
 * @returns `{ tokens: [batch, max(lengths)] int32 padded with padId, lengths, sequences }`
 * @throws RangeError naming the option: `end`/`start` not a token id, `maxLength` < 1, `padId` not an
 *   integer, bad `sourceLengths`/`sourceMask`, `temperature` without `rng`, a wrong number of `rng`s;
 *   Error for a model that is not a seq2seq token model; KeyboardInterrupt when interrupted
 * @example
 * ```ts
 * const src = tf.tensor2d([[3, 4, 5], [6, 7, 0]], [2, 3], 'int32');        // second source: 2 tokens + pad
 * const { tokens, lengths, sequences } = decodeSequences(s2s, src, { start: 1, end: 2, padId: 0, maxLength: 10, sourceLengths: [3, 2] });
 * // sequences: e.g. [[5, 4, 3, 2], [7, 6, 2]]; lengths [4, 3]; tokens [[5, 4, 3, 2], [7, 6, 2, 0]]
 * ```
 */
export function decodeSequences(model: tf.LayersModel, source: tf.Tensor, options: DecodeSequencesOptions): DecodedSequences {
  const where = 'decodeSequences';
  if (options == null || typeof options !== 'object') throw new TypeError(`${where}: options { maxLength, start, end, padId?, sourceLengths?, rng?, temperature? } are required; got ${describe(options)}`);
  checkOptions(where, options, DECODE_SEQUENCES_KEYS);
  const spec = checkDecodeCall(where, model, source, options);
  const V = spec.vocabSize;
  if (V === undefined) throw new Error(`${where}: the model must take and produce token ids (built with vocabSize); this one outputs vectors — use decode`);
  if (options.end === undefined) throw new RangeError(`${where}: options.end (the end token id, in [0, ${V})) is required; without it use decode`);
  const padId = options.padId ?? options.end;
  if (!Number.isInteger(padId) || padId < -(2 ** 31) || padId > 2 ** 31 - 1) throw new RangeError(`${where}: options.padId must be an int32 integer (it need not be a token id, e.g. -1); got ${describe(options.padId)}`);
  const batch = source.shape[0];
  const rngs = options.rng === undefined ? null : Array.isArray(options.rng) ? options.rng : [options.rng];
  if (rngs) {
    rngs.forEach((r, i) => { if (!(r instanceof Rng)) throw new TypeError(`${where}: options.rng${Array.isArray(options.rng) ? `[${i}]` : ''} must be an Rng; got ${describe(r)}`); });
    if (Array.isArray(options.rng) && rngs.length !== batch) throw new RangeError(`${where}: options.rng has ${rngs.length} Rngs but the source has ${batch} sequences; give one per sequence, or a single Rng`);
    if (spec.outputActivation === 'sigmoid') throw new RangeError(`${where}: sampling (options.rng) needs a softmax or linear (logits) head; this model's head is sigmoid, which is no distribution over tokens`);
  }
  const temperature = options.temperature ?? 1;
  if (options.temperature !== undefined) {
    if (!rngs) throw new RangeError(`${where}: options.temperature (${describe(options.temperature)}) only applies to sampling; give options.rng too (greedy decoding would ignore it)`);
    if (typeof temperature !== 'number' || Number.isNaN(temperature) || temperature <= 0) throw new RangeError(`${where}: options.temperature must be a number > 0; got ${describe(options.temperature)}`);
  }
  const sourceLengths = sourceLengthsOf(where, model, source, options, batch, source.shape[1]!);
  // options.padId fills the output only. A model built without padId does not know the source's
  // padding: a source row ending in options.padId is almost surely padded, and would be read as tokens.
  if (options.padId !== undefined && spec.padId === undefined && sourceLengths === null && source.rank === 2) {
    const ids = source.dataSync();
    const Ts = source.shape[1]!;
    const b = Array.from({ length: batch }, (_, i) => i).find((i) => ids[i * Ts + Ts - 1] === options.padId);
    if (b !== undefined) {
      throw new RangeError(`${where}: source row ${b} ends in ${options.padId}, the options.padId, but options.padId only fills the output (tokens after each end); ` +
        'this model was built without padId, so it reads the source padding as tokens: give options.sourceLengths (the real source lengths; Ts if the ids are real tokens)');
    }
  }
  checkTokens(source, V, `${where}: source`);
  const dec = recurrentLayers(model).filter((l) => l.name.startsWith('decoder_'));
  const embed = model.getLayer('decoder_embedding');
  const head = model.getLayer('head');
  const softmaxHead = spec.outputActivation === 'softmax';
  const sequences: number[][] = Array.from({ length: batch }, () => []);
  const attnLayer = attentionLayerOf(model);
  const weightRows: number[][][] | null = attnLayer ? Array.from({ length: batch }, () => []) : null;
  const Ts = source.shape[1]!;
  const op = interruptible(where);
  let states: DecoderState[] = [];
  let attention: DecoderAttention | null = null;
  const disposeAttention = () => { if (attention) { attention.keys.dispose(); attention.mask?.dispose(); } };
  try {
    // (The tidy returns tensors only: it would walk a layer object's every field.)
    const enc = tf.tidy(() => {
      const e = encodeSourceKeys(model, source, true, sourceLengths, op);
      const a = decoderAttention(model, e.keys, sourceLengths);
      return { states: e.states, keys: a?.keys, mask: a?.mask ?? undefined } as unknown as tf.TensorContainer;
    }) as unknown as { states: DecoderState[]; keys?: tf.Tensor3D; mask?: tf.Tensor };
    states = enc.states;
    attention = attnLayer ? { layer: attnLayer, keys: enc.keys!, mask: enc.mask ?? null } : null;
    let active = Array.from({ length: batch }, (_, b) => b);                       // the rows still decoding
    let prev = new Int32Array(batch).fill(options.start);
    for (let t = 0; t < options.maxLength; t++) {
      if (op.reason) op.throwIfStopped(`${t}/${options.maxLength} steps`, sequences.map((s) => s.slice()));
      const n = active.length;
      // One step for the active rows only; the per-step tidy keeps just the new states and the outputs.
      const step = tf.tidy(() => {
        const { next, y, weights } = tokenDecoderStep(embed, dec, head, prev, states, attention);   // y [n, V], weights [n, Ts]
        return { next, ids: tf.cast(tf.argMax(y, 1), 'int32'), y: rngs ? y : undefined, weights } as unknown as tf.TensorContainer;
      }) as unknown as { next: DecoderState[]; ids: tf.Tensor1D; y?: tf.Tensor2D; weights?: tf.Tensor2D };
      disposeStates(states);
      states = step.next;
      if (step.weights) {
        const w = step.weights.dataSync();
        step.weights.dispose();
        active.forEach((b, i) => weightRows![b].push(Array.from(w.subarray(i * Ts, (i + 1) * Ts))));
      }
      let ids: Int32Array;
      if (rngs) {
        const y = step.y!.dataSync();
        ids = new Int32Array(n);
        for (let i = 0; i < n; i++) {
          const row = y.subarray(i * V, (i + 1) * V);
          // A softmax head gives probabilities; sampling at temperature T needs their logs (−∞ for a 0).
          const logits = softmaxHead ? Array.from(row, Math.log) : row;
          ids[i] = (rngs.length === 1 ? rngs[0] : rngs[active[i]]).choice(softmax(logits, temperature));
        }
      } else {
        ids = step.ids.dataSync() as Int32Array;
      }
      tf.dispose([step.ids, step.y]);
      const keep: number[] = [];
      active.forEach((b, i) => {
        sequences[b].push(ids[i]);
        if (ids[i] !== options.end) keep.push(i);
      });
      if (keep.length === 0) break;
      if (keep.length < n) {
        // Finished rows leave the batch: later steps run on the others only.
        const idx = tf.tensor1d(keep, 'int32');
        const kept = states.map((s) => ({ h: tf.gather(s.h, idx) as tf.Tensor2D, c: s.c ? (tf.gather(s.c, idx) as tf.Tensor2D) : undefined }));
        if (attention) {
          const a = gatherAttention(attention, idx);
          disposeAttention();
          attention = a;
        }
        idx.dispose();
        disposeStates(states);
        states = kept;
        active = keep.map((i) => active[i]);
      }
      prev = Int32Array.from(keep, (i) => ids[i]);
    }
  } finally {
    disposeStates(states);
    disposeAttention();
    op.end();
  }
  const lengths = sequences.map((s) => s.length);
  const width = Math.max(...lengths);
  const flat = new Int32Array(batch * width).fill(padId);
  sequences.forEach((s, b) => flat.set(s, b * width));
  return { tokens: tf.tensor2d(flat, [batch, width], 'int32'), lengths, sequences, ...(weightRows ? { attention: weightRows } : {}) };
}

export function disposeStates(states: DecoderState[]): void {
  for (const s of states) { s.h.dispose(); s.c?.dispose(); }
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
