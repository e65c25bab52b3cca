// forwardModel's result holds the model's own layers (result.layers[i].layer): freeing the result the
// tf.js way — tf.dispose(result), or a tf.tidy returning it and a later dispose — must free the result's
// tensors and never the model's weights (a new user's trial disposed the weights this way, 2026-12-01).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

test('tf.dispose(forwardModel(…)) frees the result, not the model (with lengths; and a tidied, bidirectional GRU)', () => {
  for (const [what, make, opts] of [
    ['LSTM, lengths', () => L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 1, seed: 1 }), (x) => ({ lengths: [4, 2, 3] })],
    ['GRU ×2 bidirectional, collectGates, in tf.tidy', () => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, numLayers: 2, bidirectional: true, seed: 2 }), () => ({ collectGates: true })],
  ]) {
    const model = make();
    const x = tf.randomNormal([3, 4, 2], 0, 1, 'float32', 7);
    const before = model.apply(x).arraySync();
    const weights = tf.memory().numTensors;
    const r = what.includes('tidy') ? tf.tidy(() => L.forwardModel(model, x, opts(x))) : L.forwardModel(model, x, opts(x));
    assert.equal(r.layers[0].layer, L.recurrentLayers(model)[0], 'result.layers[i].layer is still the model\'s layer');
    assert.equal(r.layers[0].name, L.recurrentLayers(model)[0].name);
    const made = tf.memory().numTensors - weights;
    tf.dispose(r);
    const after = tf.memory().numTensors;
    const again = model.apply(x);                     // threw "LayersVariable … is already disposed" before the fix
    const diff = Math.max(...again.arraySync().flat(2).map((v, i) => Math.abs(v - before.flat(2)[i])));
    console.log(`  ${what}: the result held ${made} tensors; after tf.dispose(result) ${after - weights} left; the model still runs (max |Δ| ${diff})`);
    assert.equal(after, weights, 'tf.dispose(result) freed every tensor of the result and nothing else');
    assert.equal(diff, 0);
    tf.dispose([again, x]);
    model.dispose();
  }
});
