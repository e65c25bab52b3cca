// Error messages from the issue-19 trial: attentionScores and lengths, attend's dtypes, describe on
// tf.js objects, key suggestions by contained words, tf.js-internal keys kept out of key lists.
import { test, describe as suite, before } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { lib, tf, ROOT } from '../helpers.mjs';

const L = lib();
const T = tf();
const { describe } = createRequire(import.meta.url)(path.join(ROOT, 'dist', 'describe.js'));
const throwsMsg = (fn, re, what) => assert.throws(fn, (e) => { assert.match(e.message, re, what); return true; }, what);
const messageOf = (fn) => { try { fn(); } catch (e) { return e.message; } assert.fail('no error'); };

for (const backend of ['wasm', 'cpu']) {
  suite(`trial messages on ${backend}`, () => {
    before(async () => { await L.initBackend({ backend, quiet: true }); });

    test('attentionScores refuses sourceLengths and mask (attend applies them); raw scores unchanged', () => {
      const q = T.tensor3d([[[1, 0], [0, 2]]]), k = T.tensor3d([[[1, 1], [2, 0], [0, 3]]]);
      throwsMsg(() => L.attentionScores(q, k, { score: 'dot', sourceLengths: [2] }),
        /^attentionScores: options\.sourceLengths is not taken: attentionScores returns the raw scores .*attend\(query, keys, \{ score, weights, sourceLengths \}\)/, 'sourceLengths');
      const m = T.tensor2d([[1, 1, 0]]);
      throwsMsg(() => L.attentionScores(q, k, { score: 'dot', mask: m }), /^attentionScores: options\.mask is not taken.*attend/, 'mask');
      // Its unknown-key message lists only what it takes.
      throwsMsg(() => L.attentionScores(q, k, { score: 'dot', lengths: [2] }), /^attentionScores: unknown options key 'lengths'\. Valid keys: score, weights$/, 'unknown key');
      // The trial's call: a batch of 2, sourceLengths [2, 3].
      const q2 = T.ones([2, 1, 3]), k2 = T.ones([2, 3, 3]);
      assert.throws(() => L.attentionScores(q2, k2, { score: 'dot', sourceLengths: [2, 3] }), TypeError);
      const s = L.attentionScores(q, k, { score: 'dot' });
      assert.deepEqual(s.arraySync(), [[[1, 2, 0], [2, 0, 6]]]);         // h_tᵀ h̄_s by hand
      const a = L.attend(q, k, { score: 'dot', sourceLengths: [2] });
      assert.equal(a.weights.arraySync()[0][1][2], 0);
      T.dispose([q, k, m, q2, k2, s, a]);
    });

    test('attend checks dtypes: query, keys and weights must be float32', () => {
      const qi = T.ones([2, 3, 4], 'int32'), ki = T.ones([2, 5, 4], 'int32');
      const q = T.ones([2, 3, 4]), k = T.ones([2, 5, 4]);
      throwsMsg(() => L.attend(qi, ki, { score: 'dot' }), /^attend: query must be a float32 tensor \[batch, Tt, n\]; got an int32 tensor of shape \[2, 3, 4\] \(tf\.cast\(query, 'float32'\)\)/, 'int query');
      throwsMsg(() => L.attend(q, ki, { score: 'dot' }), /^attend: keys must be a float32 tensor \[batch, Ts, n\]; got an int32 tensor of shape \[2, 5, 4\]/, 'int keys');
      const Wa = T.ones([4, 4], 'int32');
      throwsMsg(() => L.attend(q, k, { score: 'general', weights: { Wa } }), /^attend: options\.weights\.Wa must be a float32 tensor \[n, n\]; got an int32 tensor of shape \[4, 4\] \(tf\.cast\(weights\.Wa, 'float32'\)\)/, 'int Wa');
      throwsMsg(() => L.attentionScores(q, ki, { score: 'dot' }), /^attentionScores: keys must be a float32 tensor/, 'attentionScores');
      const ok = L.attend(q, k, { score: 'dot' });
      assert.deepEqual(ok.weights.shape, [2, 3, 5]);
      T.dispose([qi, ki, q, k, Wa, ok]);
    });

    test('decode on a feature model with a tensor start: the tensor by dtype and shape, not its fields', () => {
      const m = L.buildGRU({ topology: 'seq2seq', inputSize: 2, hiddenSize: 8, outputSize: 3, attention: 'general', seed: 1 });
      const src = T.zeros([4, 5, 2]), start = T.zeros([4, 3]);
      const msg = messageOf(() => L.decode(m, src, { start, maxLength: 4 }));
      assert.match(msg, /^decode: options\.start must be a start vector of length outputSize=3; got a float32 tensor of shape \[4, 3\] \(a plain number\[\]: e\.g\. Array\(3\)\.fill\(0\)\)$/);
      assert.doesNotMatch(msg, /isDisposedInternal|kept/);
      T.dispose([src, start]);
    });
  });
}

test('describe names tf.js objects and containers without their internals', () => {
  const t = T.zeros([4, 3]), i = T.tensor1d([1, 2], 'int32');
  assert.equal(describe(t), 'a float32 tensor of shape [4, 3]');
  assert.equal(describe(i), 'an int32 tensor of shape [2]');
  const d = T.ones([2]); d.dispose();
  assert.equal(describe(d), 'a disposed float32 tensor of shape [2]');
  assert.equal(describe(T.input({ shape: [null, 3] })), 'a symbolic float32 tensor of shape [null, null, 3]');
  const m = L.buildGRU({ inputSize: 2, hiddenSize: 4, outputSize: 1, seed: 1 });
  assert.match(describe(m), /^a tf\.js LayersModel '[^']+' \(\d+ layers\)$/);
  assert.equal(describe(m.getLayer('head')), "a tf.js layer 'head' (Dense)");
  assert.equal(describe(new Map([[1, 2], [3, 4]])), 'a Map of 2 entries');
  assert.equal(describe(new Set([1])), 'a Set of 1 value');
  assert.equal(describe(new Float32Array(5)), 'a Float32Array of length 5');
  assert.equal(describe(new Int32Array(2)), 'an Int32Array of length 2');
  assert.equal(describe(new L.Rng(1)), 'a Rng object');
  assert.equal(describe({ a: 1 }), 'an object with keys {a}');
  for (const v of [t, m, m.getLayer('head')]) assert.ok(describe(v).length < 60, describe(v));
  // Through a public error: a tensor where options were expected.
  throwsMsg(() => L.buildGRU(t), /spec must be an object with keys .*; got a float32 tensor of shape \[4, 3\]$/, 'spec as tensor');
  T.dispose([t, i]);
});

test('key suggestions: a key holding a valid key as whole words (dropoutRate → dropout); typo matches kept', () => {
  const spec = { inputSize: 2, hiddenSize: 4, outputSize: 1 };
  throwsMsg(() => L.buildLSTM({ ...spec, dropoutRate: 0.2 }), /^buildLSTM: unknown spec key 'dropoutRate' — did you mean 'dropout'\?/, 'dropoutRate');
  throwsMsg(() => L.buildGRU({ ...spec, recurrentDropoutRate: 0.2 }), /unknown spec key 'recurrentDropoutRate' — did you mean 'recurrentDropout'\?/, 'longest contained key');
  throwsMsg(() => L.buildRNN({ ...spec, randomSeed: 3 }), /unknown spec key 'randomSeed' — did you mean 'seed'\?/, 'randomSeed');
  throwsMsg(() => L.lstmLayer({ units: 4, dropout_rate: 0.1 }), /unknown options key 'dropout_rate' — did you mean 'dropout'\?/, 'snake case');
  throwsMsg(() => L.buildLSTM({ inputSize: 2, hiddenUnits: 4, outputSize: 1 }), /unknown spec key 'hiddenUnits' — did you mean 'hiddenSize'\?/, 'hiddenUnits (spec)');
  throwsMsg(() => L.lstmLayer({ hiddenUnits: 4 }), /unknown options key 'hiddenUnits' — did you mean 'units'\?/, 'hiddenUnits (layer)');
  // Existing suggestions are unchanged.
  throwsMsg(() => L.buildLSTM({ inputSize: 2, hiddenSise: 4, outputSize: 1 }), /did you mean 'hiddenSize'\?/, 'typo');
  throwsMsg(() => L.buildLSTM({ ...spec, num_layers: 2 }), /did you mean 'numLayers'\?/, 'PyTorch name');
  // Not inside a word: 'seedling' does not suggest 'seed'; nothing near → no suggestion.
  throwsMsg(() => L.buildLSTM({ ...spec, seedling: 1 }), /unknown spec key 'seedling'\. Valid keys/, 'not a word');
  throwsMsg(() => L.buildLSTM({ ...spec, wibble: 1 }), /unknown spec key 'wibble'\. Valid keys/, 'nothing near');
});

test('tf.js-internal layer keys are accepted but not listed or suggested', () => {
  const msg = messageOf(() => L.lstmLayer({ units: 4, foo: 1 }));
  assert.match(msg, /^LabLSTM: unknown options key 'foo'\. Valid keys: units, /);
  for (const k of ['customObjects', 'weights', 'inputDType']) assert.doesNotMatch(msg, new RegExp(`\\b${k}\\b`), k);
  assert.match(msg, /recurrentDropout/);
  const dmsg = messageOf(() => new L.LabDropout({ rate: 0.1, foo: 1 }));
  for (const k of ['customObjects', 'weights', 'inputDType']) assert.doesNotMatch(dmsg, new RegExp(`\\b${k}\\b`), `LabDropout ${k}`);
  assert.doesNotMatch(messageOf(() => L.lstmLayer({ units: 4, weight: 1 })), /did you mean 'weights'/);
  // Still accepted (deserialization passes them), and a saved layer config round-trips.
  const layer = L.lstmLayer({ units: 3, customObjects: {}, inputDType: 'float32' });
  const again = L.LabLSTM.fromConfig(L.LabLSTM, { ...layer.getConfig(), customObjects: {} });
  assert.equal(again.units, 3);
  assert.ok(L.RECURRENT_LAYER_KEYS.includes('customObjects'), 'the public key list is unchanged');
  // attend's own `weights` key is still listed.
  const q = T.ones([1, 1, 2]);
  assert.match(messageOf(() => L.attend(q, q, { score: 'dot', foo: 1 })), /Valid keys: score, weights, sourceLengths, mask/);
  q.dispose();
});
