/**
 * Weights in three notations, one store: the layer keeps tf.js row-vector blocks in the lecture's
 * gate order; this module reads and writes them as
 *  - the lecture's column-vector matrices by name (W_xh [n, m], W_hh [n, n], b_h [n], per gate);
 *  - Keras/tf.layers layouts (gate orders: LSTM i, f, c, o; GRU z, r, h);
 *  - PyTorch state dicts (weight_ih_l{k} [G·n, m], weight_hh_l{k}, bias_ih_l{k}, bias_hh_l{k};
 *    gate orders: LSTM i, f, g, o; GRU r, z, n).
 */
import * as tf from '@tensorflow/tfjs';
import { RecurrentLayer } from './layers';
import { gateOrder, readsOption } from './cells';
import { bidirectionalLayers } from './internals';
import { shapeText } from './inputs';

/** A matrix or vector as nested number arrays. */
export type NumArray = number[] | number[][];

/** A layer's gate order in a layout, as lecture letters (from its CellFamily). */
function orderOf(layer: RecurrentLayer, layout: 'lecture' | 'keras' | 'pytorch', where: string): readonly string[] {
  return gateOrder(layer.family, layout, where);
}

/**
 * The names of a layer's weights in the lecture's notation, e.g. RNN: Wxh, Whh, bh; LSTM: Wxi … Whg,
 * bi … bg; GRU: Wxr, Wxz, Wxh, Whr, Whz, Whh, br, bz, bh (+ bhr, bhz, bhh with resetAfter).
 */
export function lectureNames(layer: RecurrentLayer): string[] {
  const g = orderOf(layer, 'lecture', 'lectureNames');
  const names = [...g.map((k) => `Wx${k}`), ...g.map((k) => `Wh${k}`), ...g.map((k) => `b${k}`)];
  if (layer.hasRecurrentBias) names.push(...g.map((k) => `bh${k}`));
  return names;
}

function permuteBlocks(t: tf.Tensor, from: readonly string[], to: readonly string[], axis: number): tf.Tensor {
  if (from.join() === to.join()) return t.clone();
  const parts = tf.split(t, from.length, axis);
  return tf.concat(to.map((k) => parts[from.indexOf(k)]), axis);
}

function shapeOf(v: unknown): number[] {
  const s: number[] = [];
  let cur = v;
  while (Array.isArray(cur)) { s.push(cur.length); cur = cur[0]; }
  return s;
}

function toTensor(value: unknown, expected: number[], what: string): tf.Tensor {
  const isTensor = value instanceof tf.Tensor;
  const shape = isTensor ? (value as tf.Tensor).shape : shapeOf(value);
  if (shape.join() !== expected.join()) {
    throw new Error(`${what} must have shape ${shapeText(expected)}; got ${shapeText(shape)}`);
  }
  if (isTensor) return (value as tf.Tensor).clone();
  const flat = (value as unknown[]).flat(Infinity) as unknown[];
  if (flat.some((x) => typeof x !== 'number' || !Number.isFinite(x))) {
    throw new Error(`${what} must hold finite numbers; got ${flat.find((x) => typeof x !== 'number' || !Number.isFinite(x))}`);
  }
  return tf.tensor(flat as number[], expected);
}

/**
 * A layer's weights in the lecture's notation and orientation (matrices act on column vectors):
 * `{ Wxh: [n][m], Whh: [n][n], bh: [n] }` for the RNN, per gate for LSTM and GRU.
 *
 * @example
 * ```ts
 * const { Wxf, Whf, bf } = getLectureWeights(lstm);   // forget gate: f = σ(Wxf x + Whf h + bf)
 * ```
 */
export function getLectureWeights(layer: RecurrentLayer, direction = 0): Record<string, NumArray> {
  const v = layer.variablesOf(direction);
  const gates = orderOf(layer, 'lecture', 'getLectureWeights');
  const G = gates.length;
  return tf.tidy(() => {
    const out: Record<string, NumArray> = {};
    const k = tf.split(v.kernel.read(), G, 1);              // G × [m, n]
    const r = tf.split(v.recurrent_kernel.read(), G, 1);    // G × [n, n]
    const b = tf.split(v.bias.read(), G, 0);                // G × [n]
    const rb = v.recurrent_bias ? tf.split(v.recurrent_bias.read(), G, 0) : undefined;
    gates.forEach((g, i) => {
      out[`Wx${g}`] = k[i].transpose().arraySync() as number[][];   // [n, m]
      out[`Wh${g}`] = r[i].transpose().arraySync() as number[][];   // [n, n]
      out[`b${g}`] = b[i].arraySync() as number[];
      if (rb) out[`bh${g}`] = rb[i].arraySync() as number[];
    });
    return out;
  });
}

/**
 * Set some or all of a layer's weights from the lecture's notation (column-vector matrices).
 * Unknown names and wrong shapes are errors that say what was expected.
 *
 * @example
 * ```ts
 * setLectureWeights(rnn, { Whh: [[0.5, 0], [0, 0.5]] });
 * ```
 */
export function setLectureWeights(layer: RecurrentLayer, weights: Record<string, unknown>, direction = 0): void {
  const v = layer.variablesOf(direction);
  const gates = orderOf(layer, 'lecture', 'setLectureWeights');
  const G = gates.length;
  const n = layer.units;
  const m = layer.inputSize!;
  const known = lectureNames(layer);
  for (const name of Object.keys(weights)) {
    if (!known.includes(name)) throw new Error(`setLectureWeights: unknown weight '${name}' for a ${layer.kind.toUpperCase()} layer; expected one of ${known.join(', ')}`);
  }
  tf.tidy(() => {
    const k = tf.split(v.kernel.read(), G, 1);
    const r = tf.split(v.recurrent_kernel.read(), G, 1);
    const b = tf.split(v.bias.read(), G, 0);
    const rb = v.recurrent_bias ? tf.split(v.recurrent_bias.read(), G, 0) : undefined;
    gates.forEach((g, i) => {
      if (`Wx${g}` in weights) k[i] = toTensor(weights[`Wx${g}`], [n, m], `setLectureWeights: Wx${g}`).transpose();
      if (`Wh${g}` in weights) r[i] = toTensor(weights[`Wh${g}`], [n, n], `setLectureWeights: Wh${g}`).transpose();
      if (`b${g}` in weights) b[i] = toTensor(weights[`b${g}`], [n], `setLectureWeights: b${g}`);
      if (rb && `bh${g}` in weights) rb[i] = toTensor(weights[`bh${g}`], [n], `setLectureWeights: bh${g}`);
    });
    v.kernel.write(tf.concat(k, 1));
    v.recurrent_kernel.write(tf.concat(r, 1));
    v.bias.write(tf.concat(b, 0));
    if (rb) v.recurrent_bias.write(tf.concat(rb, 0));
  });
}

/**
 * The layer's weights as tf.layers (Keras) stores them for simpleRNN / lstm / gru:
 * [kernel [m, G·n], recurrentKernel [n, G·n], bias [G·n]] in Keras gate order; a resetAfter GRU's
 * bias is [2, 3n] (input bias, recurrent bias) as in Keras.
 */
export function toKerasWeights(layer: RecurrentLayer, direction = 0): tf.Tensor[] {
  const v = layer.variablesOf(direction);
  const from = orderOf(layer, 'lecture', 'toKerasWeights');
  const to = orderOf(layer, 'keras', 'toKerasWeights');
  return tf.tidy(() => {
    const kernel = permuteBlocks(v.kernel.read(), from, to, 1);
    const rec = permuteBlocks(v.recurrent_kernel.read(), from, to, 1);
    let bias = permuteBlocks(v.bias.read(), from, to, 0);
    if (v.recurrent_bias) bias = tf.stack([bias, permuteBlocks(v.recurrent_bias.read(), from, to, 0)]);
    return [kernel, rec, bias];
  });
}

/** A tf.js activation as serialized in a config: 'tanh', 'hardSigmoid', … */
function kerasActivation(a: unknown): string {
  return typeof a === 'object' && a !== null && 'className' in a ? String((a as { className: unknown }).className) : String(a);
}

/**
 * The weights of a tf.js recurrent layer (or of one direction of a Bidirectional), after checking
 * that it computes what `layer` computes with them: same cell, activation and gate activation.
 */
function weightsOfKerasLayer(layer: RecurrentLayer, keras: tf.layers.Layer, direction: number): tf.Tensor[] {
  let inner = keras;
  if (keras.getClassName() === 'Bidirectional') {
    const bi = bidirectionalLayers(keras);
    inner = direction === 0 ? bi.forward : bi.backward;
  }
  const cls = inner.getClassName();
  const who = `fromKerasWeights: the tf.js layer '${keras.name}'`;
  orderOf(layer, 'keras', 'fromKerasWeights');   // throws for a cell without a Keras equivalent
  const want = layer.family.keras!.className;
  if (cls !== want) throw new Error(`${who} is a ${cls}; '${layer.name}' is ${layer.kind.toUpperCase()} (expected a ${want})`);
  if (!keras.built && inner.weights.length === 0) throw new Error(`${who} is not built; apply it to an input first`);
  const c = inner.getConfig();
  const act = kerasActivation(c.activation ?? 'tanh');
  // Keras's `activation`: the Elman cell's, else the candidate's tanh.
  const wantAct = readsOption(layer.family, 'activation') ? layer.cellOptions.activation : 'tanh';
  const fix = 'the same weights would compute a different function. Use fromKerasLayer(kerasLayer), which copies the activations too';
  if (act !== wantAct) throw new Error(`${who} has activation '${act}' but '${layer.name}' computes '${wantAct}': ${fix}`);
  if (readsOption(layer.family, 'recurrentActivation')) {
    const gate = kerasActivation(c.recurrentActivation ?? 'hardSigmoid');
    if (gate !== layer.cellOptions.recurrentActivation) {
      throw new Error(`${who} has recurrentActivation '${gate}' but '${layer.name}' has '${layer.cellOptions.recurrentActivation}': ${fix}, or build '${layer.name}' with recurrentActivation: '${gate}'`);
    }
  }
  const w = inner.getWeights();
  // useBias: false — tf.js keeps no bias; here it is zero.
  return w.length === 2 ? [w[0], w[1], tf.zeros([layer.gateCount * layer.units])] : w;
}

/**
 * Load weights in the Keras layout (see {@link toKerasWeights}); shapes are checked.
 *
 * Given a tf.js layer (tf.layers.simpleRNN / lstm / gru, or a bidirectional one: `direction` picks
 * its forward (0) or backward (1) layer), its weights are read and its activations checked against
 * `layer`'s: tf.layers.lstm and gru default to recurrentActivation 'hardSigmoid', rnn-lab to
 * 'sigmoid', and the same weights then give different outputs, so a mismatch is an error. Given only
 * arrays [kernel, recurrentKernel, bias], matching the activations is the caller's job; to convert a
 * tf.js layer with everything that defines it, use {@link fromKerasLayer}.
 *
 * @example
 * ```ts
 * const lab = lstmLayer({ units: 8, recurrentActivation: 'hardSigmoid' });
 * lab.build([null, null, 3]);
 * fromKerasWeights(lab, kerasLstm);                  // checked: same gates
 * fromKerasWeights(lab, kerasLstm.getWeights());     // unchecked arrays
 * ```
 */
export function fromKerasWeights(layer: RecurrentLayer, weights: tf.Tensor[] | tf.layers.Layer, direction = 0): void {
  if (weights instanceof tf.layers.Layer) {
    const own = weightsOfKerasLayer(layer, weights, direction);
    try {
      fromKerasWeights(layer, own, direction);
    } finally {
      if (own.length === 3 && weights.getWeights().length === 2) own[2].dispose();
    }
    return;
  }
  const v = layer.variablesOf(direction);
  const from = orderOf(layer, 'keras', 'fromKerasWeights');
  const to = orderOf(layer, 'lecture', 'fromKerasWeights');
  const n = layer.units;
  const G = to.length;
  const m = layer.inputSize!;
  if (!Array.isArray(weights) || weights.length !== 3) {
    throw new Error(`fromKerasWeights: weights must be [kernel, recurrentKernel, bias] or a tf.js recurrent layer; got ${Array.isArray(weights) ? weights.length + ' tensors' : typeof weights}`);
  }
  const biasShape = layer.hasRecurrentBias ? [2, G * n] : [G * n];
  const [k, r, b] = weights;
  tf.tidy(() => {
    v.kernel.write(permuteBlocks(toTensor(k, [m, G * n], 'fromKerasWeights: kernel'), from, to, 1));
    v.recurrent_kernel.write(permuteBlocks(toTensor(r, [n, G * n], 'fromKerasWeights: recurrentKernel'), from, to, 1));
    const bias = toTensor(b, biasShape, 'fromKerasWeights: bias');
    if (layer.hasRecurrentBias) {
      const [bi, bh] = tf.unstack(bias);
      v.bias.write(permuteBlocks(bi, from, to, 0));
      v.recurrent_bias.write(permuteBlocks(bh, from, to, 0));
    } else {
      v.bias.write(permuteBlocks(bias, from, to, 0));
    }
  });
}

/** Multiply the z blocks by −1: converts a GRU between the two update conventions (σ(−a) = 1 − σ(a)). */
function flipZ(t: tf.Tensor, axis: number, order: readonly string[]): tf.Tensor {
  const parts = tf.split(t, order.length, axis);
  return tf.concat(parts.map((p, i) => (order[i] === 'z' ? tf.neg(p) : p)), axis);
}

/** Whether the layer's z gate is PyTorch's 1 − z (a GRU with update 'z-takes-new'; PyTorch keeps the old state with z). */
function flipsZ(layer: RecurrentLayer): boolean {
  return readsOption(layer.family, 'update') && layer.cellOptions.update === 'z-takes-new';
}

/** Throw when a layer has no PyTorch nn.RNN/LSTM/GRU equivalent, saying what to build instead. */
function checkTorchCompatible(layer: RecurrentLayer, verb: string): void {
  const torch = layer.family.pytorch;
  if (!torch) throw new Error(`${layer.name}: a ${layer.kind.toUpperCase()} layer ${verb}: PyTorch has no such recurrent module (its CellFamily has no pytorch entry)`);
  if (torch.needsRecurrentBias && !layer.hasRecurrentBias) {
    throw new Error(`${layer.name}: a reset-before GRU (the lecture's W_hh(r⊙h)) ${verb}: PyTorch's GRU applies r after the recurrent matmul. Build with resetAfter: true`);
  }
  if (layer.initialStateMode === 'learned') {
    throw new Error(`${layer.name}: a learned initial state (h0${layer.family.hasCell ? ', c0' : ''}) ${verb}: PyTorch's recurrent modules have no such parameter. Build with initialState: 'zeros' (or pass h0 explicitly in PyTorch)`);
  }
  if (readsOption(layer.family, 'recurrentActivation') && layer.cellOptions.recurrentActivation !== 'sigmoid') {
    throw new Error(`${layer.name}: gates with recurrentActivation '${layer.cellOptions.recurrentActivation}' ${verb}: PyTorch's LSTM and GRU use σ`);
  }
  if (torch.activations && !torch.activations.includes(layer.cellOptions.activation)) {
    throw new Error(`${layer.name}: an Elman RNN with activation '${layer.cellOptions.activation}' ${verb}: PyTorch's nn.RNN supports only tanh and relu`);
  }
}

/** PyTorch tensors of one layer-direction: [weight_ih, weight_hh, bias_ih, bias_hh]. */
export function layerToTorch(layer: RecurrentLayer, direction = 0): { weight_ih: number[][]; weight_hh: number[][]; bias_ih: number[]; bias_hh: number[] } {
  checkTorchCompatible(layer, 'has no PyTorch equivalent');
  const v = layer.variablesOf(direction);
  const from = orderOf(layer, 'lecture', 'torchWeights');
  const to = orderOf(layer, 'pytorch', 'torchWeights');
  const flip = flipsZ(layer);
  return tf.tidy(() => {
    const prep = (t: tf.Tensor, axis: number) => {
      const p = permuteBlocks(t, from, to, axis);
      return flip ? flipZ(p, axis, to) : p;
    };
    const wih = prep(v.kernel.read(), 1).transpose();          // [G·n, m]
    const whh = prep(v.recurrent_kernel.read(), 1).transpose(); // [G·n, n]
    const bih = prep(v.bias.read(), 0);
    const bhh = v.recurrent_bias ? prep(v.recurrent_bias.read(), 0) : tf.zerosLike(bih);
    return {
      weight_ih: wih.arraySync() as number[][], weight_hh: whh.arraySync() as number[][],
      bias_ih: bih.arraySync() as number[], bias_hh: bhh.arraySync() as number[],
    };
  });
}

/** Load one layer-direction from PyTorch tensors (shapes checked; RNN/LSTM biases are summed). */
export function layerFromTorch(layer: RecurrentLayer, w: Record<string, unknown>, direction: number, keyOf: (p: string) => string): void {
  checkTorchCompatible(layer, 'cannot load PyTorch weights');
  const v = layer.variablesOf(direction);
  const from = orderOf(layer, 'pytorch', 'loadTorchWeights');
  const to = orderOf(layer, 'lecture', 'loadTorchWeights');
  const G = to.length;
  const n = layer.units;
  const m = layer.inputSize!;
  const flip = flipsZ(layer);
  tf.tidy(() => {
    const prep = (t: tf.Tensor, axis: number) => {
      const p = flip ? flipZ(t, axis, from) : t;
      return permuteBlocks(p, from, to, axis);
    };
    const wih = toTensor(w[keyOf('weight_ih')], [G * n, m], `loadTorchWeights: ${keyOf('weight_ih')}`);
    const whh = toTensor(w[keyOf('weight_hh')], [G * n, n], `loadTorchWeights: ${keyOf('weight_hh')}`);
    const bih = toTensor(w[keyOf('bias_ih')], [G * n], `loadTorchWeights: ${keyOf('bias_ih')}`);
    const bhh = toTensor(w[keyOf('bias_hh')], [G * n], `loadTorchWeights: ${keyOf('bias_hh')}`);
    v.kernel.write(prep(wih.transpose(), 1));
    v.recurrent_kernel.write(prep(whh.transpose(), 1));
    if (v.recurrent_bias) {
      v.bias.write(prep(bih, 0));
      v.recurrent_bias.write(prep(bhh, 0));
    } else {
      v.bias.write(prep(tf.add(bih, bhh), 0));
    }
  });
}
