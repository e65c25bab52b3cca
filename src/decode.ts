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
        // Every encoder layer but the last was built with returnSequences (see build.ts), so `output`
        // is already the next layer's [batch, T, n] input; the last one's output is not read.
        x = output;
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
