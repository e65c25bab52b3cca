// A cell option the cell's equations do not read is an error when it is given a value other than its
// default (it would change nothing, silently); the default itself is accepted so saved configs load.
// The reported case: lstmLayer({ resetAfter: true }) and buildGRU({ activation: 'relu' }) were accepted
// and ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();

test('a non-default value of an option the cell does not read is refused, naming the option and the cells that read it', () => {
  const refused = [
    [() => L.lstmLayer({ units: 2, resetAfter: true }), /LabLSTM: option resetAfter is read only by 'gru' cells; the 'lstm' cell's equations do not use it/],
    [() => L.lstmLayer({ units: 2, update: 'z-takes-new' }), /LabLSTM: option update is read only by 'gru' cells/],
    [() => L.lstmLayer({ units: 2, activation: 'relu' }), /LabLSTM: option activation is read only by 'rnn' cells/],
    [() => L.gruLayer({ units: 2, activation: 'relu' }), /LabGRU: option activation is read only by 'rnn' cells/],
    [() => L.gruLayer({ units: 2, unitForgetBias: false }), /LabGRU: option unitForgetBias is read only by 'lstm' cells/],
    [() => L.rnnLayer({ units: 2, resetAfter: true }), /LabRNN: option resetAfter is read only by 'gru' cells/],
    // through the builders, whose spec passes cell options to every layer
    [() => L.buildGRU({ inputSize: 2, hiddenSize: 3, outputSize: 1, activation: 'relu' }), /option activation is read only by 'rnn' cells; the 'gru' cell/],
    [() => L.buildLSTM({ inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: true }), /option resetAfter is read only by 'gru' cells; the 'lstm' cell/],
    // countParams reads the same spec without building: it must not count a different model silently
    [() => L.countParams('lstm', { inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: true }), /^RangeError: countParams: option resetAfter is read only by 'gru' cells/],
    [() => L.countParams('rnn', { inputSize: 2, hiddenSize: 3, outputSize: 1, update: 'z-takes-new' }), /countParams: option update is read only by 'gru' cells/],
  ];
  const before = tf.memory().numTensors;
  for (const [make, message] of refused) assert.throws(make, message);
  assert.equal(tf.memory().numTensors, before, 'a refused layer or model left tensors');
});

test('the options a cell reads, and defaults given explicitly, are accepted; a saved layer config loads again', () => {
  assert.equal(L.gruLayer({ units: 2, resetAfter: true, update: 'z-takes-new' }).cellOptions.resetAfter, true);
  assert.equal(L.rnnLayer({ units: 2, activation: 'relu' }).cellOptions.activation, 'relu');
  assert.equal(L.lstmLayer({ units: 2, unitForgetBias: false }).unitForgetBias, false);
  // GRU with resetAfter: 3(n·m + n² + 2n) + head n·k + k = 3(6 + 9 + 6) + 3 + 1 = 67
  assert.equal(L.countParams('gru', { inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: true }), 67);
  assert.equal(L.countParams('lstm', { inputSize: 2, hiddenSize: 3, outputSize: 1, resetAfter: false }), 4 * (6 + 9 + 3) + 4);
  for (const make of [() => L.lstmLayer({ units: 2, resetAfter: false, update: 'z-keeps-old', activation: 'tanh' }),
    () => L.gruLayer({ units: 2, activation: 'tanh', unitForgetBias: true }), () => L.rnnLayer({ units: 2, activation: 'sigmoid' })]) {
    const layer = make();
    const config = layer.getConfig();            // lists every option, with the defaults of unread ones
    const again = new layer.constructor(config);
    assert.deepEqual(again.getConfig(), config);
  }
});
