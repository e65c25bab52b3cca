/**
 * The homework's column convention at the library's edges: a batch of B examples is a matrix whose
 * columns are the examples (x_t [m, B], h_t [n, B]); the library's layers take rows ([B, m]), so the
 * references transpose in and out. Shared by the RNN and LSTM homework.
 */
import * as tf from '@tensorflow/tfjs';
import { RecurrentLayer } from '../layers';
import { setLectureWeights } from '../weights';
import { Ctx, randint } from './exercise';

/** Transpose a column batch to rows or back. */
export const T = (t: tf.Tensor): tf.Tensor2D => tf.transpose(t) as tf.Tensor2D;

/** Build a library layer on m inputs without running it. */
export function builtLayer<L extends RecurrentLayer>(layer: L, m: number): L {
  layer.build([null, 1, m]);
  return layer;
}

export function disposeLayer(layer: RecurrentLayer): void {
  for (const w of layer.weights) w.dispose();
}

/**
 * Run `use` on a library layer built on m inputs that holds the lecture's column-form weights W (Wx· [n, m],
 * Wh· [n, n], biases b· [n, 1]); the layer's weights are freed afterwards. The references of the homework.
 */
export function withLectureLayer<L extends RecurrentLayer, R>(layer: L, m: number, W: Record<string, tf.Tensor>, use: (layer: L) => R): R {
  builtLayer(layer, m);
  try {
    const biases: tf.Tensor[] = [];
    const lw: Record<string, tf.Tensor> = {};
    for (const [k, v] of Object.entries(W)) {
      if (k.startsWith('b')) biases.push((lw[k] = tf.reshape(v, [-1])));
      else lw[k] = v;
    }
    setLectureWeights(layer, lw);      // copies into the layer's variables
    tf.dispose(biases);
    return use(layer);
  } finally {
    disposeLayer(layer);
  }
}

export interface RnnCase {
  B: number;
  m: number;
  n: number;
}

export function rnnCases(ctx: Ctx, visible: RnnCase[]): RnnCase[] {
  if (!ctx.hidden) return visible;
  const r = ctx.rng;
  return [
    { B: 1, m: 2, n: 1 },
    ...Array.from({ length: 4 }, () => ({ B: randint(r, 1, 5), m: randint(r, 1, 6), n: randint(r, 2, 7) })),
  ];
}

