/**
 * PyTorch interchange for builder models: their weights as a PyTorch state dict and back. Every
 * recurrent key (`rnn.weight_ih_l0`, `encoder.bias_hh_l1`, `rnn.weight_hh_l0_reverse`, …) is built by
 * {@link torchKey}, the one place that knows PyTorch's naming; the per-layer gate reordering is in
 * weights.ts (layerToTorch / layerFromTorch).
 */
import { shapeText } from './inputs';
import * as tf from '@tensorflow/tfjs';
import { RecurrentLayer } from './layers';
import { layerFromTorch, layerToTorch } from './weights';
import { recurrentLayers, specOf } from './build';

/**
 * The four tensors of one nn.RNN/nn.LSTM/nn.GRU layer-direction, in PyTorch's names and state-dict
 * order: weight_ih [G·n, m], weight_hh [G·n, n], bias_ih [G·n], bias_hh [G·n].
 */
export const TORCH_PARAMS = ['weight_ih', 'weight_hh', 'bias_ih', 'bias_hh'] as const;
/** One of {@link TORCH_PARAMS}. */
export type TorchParam = typeof TORCH_PARAMS[number];

/** Builder layers stored as `<name>.weight` (an nn.Embedding each), where present. */
const EMBEDDING_LAYERS = ['embedding', 'decoder_embedding'];

/**
 * The PyTorch state-dict key of one tensor of a builder model's recurrent layer. The layer's stack
 * (`rnn`, `encoder`, `decoder`) becomes the module name and its depth k PyTorch's `_l{k}` suffix;
 * direction 1 (the backward half of a bidirectional layer) adds `_reverse`, as nn.RNN/LSTM/GRU do.
 *
 * @param layerName a builder layer name like `rnn_l1` (stack, `_l`, depth)
 * @param param one of {@link TORCH_PARAMS}
 * @param direction 0 (forward) or 1 (backward)
 * @throws Error when the name is not of the form `<stack>_l<k>`
 * @example
 * ```ts
 * torchKey('rnn_l1', 'weight_ih', 1);   // 'rnn.weight_ih_l1_reverse'
 * torchKey('encoder_l0', 'bias_hh', 0); // 'encoder.bias_hh_l0'
 * ```
 */
export function torchKey(layerName: string, param: TorchParam, direction: number): string {
  const m = /^(.*)_l(\d+)$/.exec(layerName);
  if (!m) throw new Error(`${layerName}: recurrent layers of builder models are named like rnn_l0`);
  return `${m[1]}.${param}_l${Number(m[2])}${direction === 1 ? '_reverse' : ''}`;
}

/** Shapes of the four PyTorch tensors of one layer-direction, by {@link TORCH_PARAMS} name. */
function torchParamShapes(layer: RecurrentLayer): Record<TorchParam, number[]> {
  const Gn = layer.gateCount * layer.units;
  return { weight_ih: [Gn, layer.inputSize!], weight_hh: [Gn, layer.units], bias_ih: [Gn], bias_hh: [Gn] };
}

/**
 * The model's weights as a PyTorch state dict (nested number arrays): for each recurrent layer k and
 * direction, `rnn.weight_ih_l{k}[_reverse]` [G·n, m], `rnn.weight_hh_l{k}` [G·n, n],
 * `rnn.bias_ih_l{k}`, `rnn.bias_hh_l{k}` [G·n] (PyTorch gate orders), plus `head.weight` [k, n·dirs],
 * `head.bias`, and `embedding.weight` where present. Seq2seq models use `encoder.`/`decoder.`.
 * Load it in PyTorch into `nn.LSTM(m, n, num_layers, batch_first=True, bidirectional=…)` named `rnn`
 * and an `nn.Linear` named `head`.
 *
 * Padded batches: the weights do not change with masking, but PyTorch's recurrent modules have no
 * mask argument. What rnn-lab computes with `lengths`, a `mask` or `padId` is what PyTorch computes on
 * `pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)`, unpacked with
 * `pad_packed_sequence(out, batch_first=True, total_length=T)`; fed the padded tensor directly, PyTorch
 * runs over the padding (and its backward direction starts at the padding).
 *
 * @example
 * ```ts
 * const sd = torchWeights(model);   // JSON.stringify(sd) → Python: rnn.load_state_dict(…)
 * // Python, for a padded batch: out, h_n = rnn(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
 * ```
 */
export function torchWeights(model: tf.LayersModel): Record<string, NumArrayT> {
  specOf(model);
  noAttention('torchWeights', model);
  const out: Record<string, NumArrayT> = {};
  for (const layer of recurrentLayers(model)) {
    for (let d = 0; d < layer.directions; d++) {
      const w = layerToTorch(layer, d);
      for (const p of TORCH_PARAMS) out[torchKey(layer.name, p, d)] = w[p];
    }
  }
  for (const name of EMBEDDING_LAYERS) {
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
 * expected shape and what was given. Weights are the same for padded batches; a model trained in
 * PyTorch on `pack_padded_sequence` batches computes here what it computed there when given the same
 * `lengths` (or `mask`, or `padId`) — see {@link torchWeights}.
 *
 * @example
 * ```ts
 * loadTorchWeights(model, JSON.parse(fs.readFileSync('state_dict.json', 'utf8')));
 * ```
 */
export function loadTorchWeights(model: tf.LayersModel, stateDict: Record<string, unknown>): void {
  specOf(model);
  noAttention('loadTorchWeights', model);
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
    for (let d = 0; d < layer.directions; d++) {
      layerFromTorch(layer, stateDict, d, (p) => torchKey(layer.name, p as TorchParam, d));
    }
  }
  const check = (key: string, value: unknown, shape: number[]): tf.Tensor => {
    let s: number[] = [];
    for (let cur = value; Array.isArray(cur); cur = cur[0]) s.push(cur.length);
    if (s.join() !== shape.join()) throw new Error(`loadTorchWeights: ${key} must have shape ${shapeText(shape)}; got ${shapeText(s)}`);
    return tf.tensor(value as number[], shape);
  };
  for (const name of EMBEDDING_LAYERS) {
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
  noAttention('torchWeightsShapes', model);
  const out: Record<string, number[]> = {};
  for (const layer of recurrentLayers(model)) {
    const shapes = torchParamShapes(layer);
    for (let d = 0; d < layer.directions; d++) {
      for (const p of TORCH_PARAMS) out[torchKey(layer.name, p, d)] = shapes[p];
    }
  }
  for (const name of EMBEDDING_LAYERS) {
    const l = model.layers.find((x) => x.name === name);
    if (l) out[`${name}.weight`] = l.getWeights()[0].shape as number[];
  }
  const [kIn, kOut] = model.getLayer('head').getWeights()[0].shape as number[];
  out['head.weight'] = [kOut, kIn];
  out['head.bias'] = [kOut];
  return out;
}

/** Attention layers have no PyTorch module of one agreed layout: refuse rather than drop their weights silently. */
function noAttention(where: string, model: tf.LayersModel): void {
  let score: string | undefined;
  try { score = specOf(model).attention; } catch { return; }   // not a builder model: the caller says so
  if (score !== undefined) {
    throw new Error(`${where}: this model has attention (spec.attention '${score}'), whose weights (Wa / W1, W2, v / Wc) have no PyTorch state-dict keys here; save it with model.save and load it with tf.loadLayersModel`);
  }
}
