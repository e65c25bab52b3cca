/**
 * Parameter counts from a spec alone, by the lecture's formulas (no model is built).
 */
import { CellKind } from './family';
import { FAMILIES } from './layers';
import { ModelSpec, checkSpec } from './build';

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
