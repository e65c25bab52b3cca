/**
 * Parameter counts from a spec alone, by the lecture's formulas (no model is built).
 */
import { CellKind, cellDefaults } from './family';
import { cellFamily, checkUnreadOptions, directionParams } from './cells';
import { ModelSpec, checkSpec } from './build';

/**
 * The lecture's parameter count of a spec: per layer and direction RNN n·m + n² + n, LSTM
 * 4(n·m + n² + n), GRU 3(n·m + n² + n), or 3(n·m + n² + 2n) with resetAfter — in general
 * G(n·m + n² + B·n) for a cell of G gate blocks and B bias blocks (cells.ts `directionParams`, so a
 * registered cell is counted too); plus embedding and head (and learned initial states), and a seq2seq
 * model's attention (Wc 2n², plus Wa n² for 'general', W1, W2, v 2n² + n for 'additive'). Equals
 * `model.countParams()`. Throws a RangeError naming the registered kinds for an unknown `cell`.
 */
export function countParams(cell: CellKind, spec: ModelSpec): number {
  const { numLayers, topology } = checkSpec(spec, 'countParams');
  const family = cellFamily(cell, 'countParams');
  checkUnreadOptions('countParams', family, spec);
  const options = cellDefaults(spec);
  const n = spec.hiddenSize;
  const dirs = spec.bidirectional ? 2 : 1;
  const tokens = spec.vocabSize !== undefined;
  const emb = spec.embeddingSize ?? n;
  const perLayer = (m: number) => directionParams(family, n, m, options, spec.initialState === 'learned');
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
    // Attention (attention.ts): Wc [2n, n]; 'general' Wa [n, n]; 'additive' W1, W2 [n, n] and v [n].
    if (spec.attention !== undefined) total += 2 * n * n + (spec.attention === 'general' ? n * n : spec.attention === 'additive' ? 2 * n * n + n : 0);
  } else {
    if (tokens) total += spec.vocabSize! * emb;
    total += stack(tokens ? emb : spec.inputSize!, dirs);
    total += n * dirs * spec.outputSize + spec.outputSize;
  }
  return total;
}
