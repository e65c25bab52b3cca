// The shared checks every public function uses: unknown option keys and bad inputs are errors that
// name the argument, the nearest valid key, the expected layout and the first bad index.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { ROOT, tf as getTf, lib as await_lib } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const { checkOptions, nearestKey, editDistance } = require(path.join(ROOT, 'dist', 'options.js'));
const { checkFinite, firstNonFinite, checkInputShape, unravel } = require(path.join(ROOT, 'dist', 'inputs.js'));
const tf = getTf();

test('editDistance is the Levenshtein distance (case-insensitive)', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('hiddenSise', 'hiddenSize'), 1);
  assert.equal(editDistance('', 'abc'), 3);
  assert.equal(editDistance('Epochs', 'epochs'), 0);
});

test('an unknown key names the nearest valid one; a far one lists the valid keys only', () => {
  const valid = ['inputSize', 'hiddenSize', 'outputSize'];
  assert.throws(() => checkOptions('buildLSTM', { inputSize: 1, hiddenSise: 4, outputSize: 1 }, valid, 'spec'),
    /buildLSTM: unknown spec key 'hiddenSise' — did you mean 'hiddenSize'\? Valid keys: inputSize, hiddenSize, outputSize/);
  assert.throws(() => checkOptions('f', { colour: 1 }, valid), (e) => !/did you mean/.test(e.message) && /unknown options key 'colour'/.test(e.message));
  assert.equal(nearestKey('batchsize', ['batchSize', 'epochs']), 'batchSize');
  checkOptions('f', undefined, valid);
  checkOptions('f', { hiddenSize: 2 }, valid);
  assert.throws(() => checkOptions('f', 3, valid), /f: options must be an object with keys inputSize, hiddenSize, outputSize; got 3/);
  assert.throws(() => checkOptions('f', [1], valid), /got an array of length 1/);
  assert.throws(() => checkOptions('f', null, valid), /got null/);
});

test('firstNonFinite finds the first NaN/Inf in row-major order, with the count; checks leak nothing', () => {
  const t = tf.tensor3d([1, 2, 3, 4, Infinity, 6, NaN, 8], [2, 2, 2]);
  const ok = tf.ones([3]);
  const ints = tf.tensor1d([1, 2], 'int32');
  const y = tf.tensor2d([[1], [NaN]]);
  const before = tf.memory().numTensors;
  assert.deepEqual(firstNonFinite(t), { index: [1, 0, 0], value: Infinity, count: 2 });
  assert.equal(firstNonFinite(ok), null);
  assert.equal(firstNonFinite(ints), null);
  assert.deepEqual(unravel(7, [2, 2, 2]), [1, 1, 1]);
  assert.throws(() => checkFinite('train', 'data.y', y, '[batch, outputs]'),
    /train: data.y has NaN at \[1, 0\] \(the first of 1 non-finite value; shape \[2, 1\], layout \[batch, outputs\]\)/);
  assert.equal(tf.memory().numTensors, before, 'the checks leaked tensors');
  tf.dispose([t, ok, ints, y]);
});

test('checkInputShape names the argument, the layout and what was given', () => {
  const x = tf.ones([4, 10]);
  assert.throws(() => checkInputShape('predict', 'x', x, { shape: [null, 1] }),
    /predict: x must have rank 3, layout \[batch, time, features=1\]; got shape \[4, 10\] \(one sequence\?/);
  assert.throws(() => checkInputShape('predict', 'x', tf.ones([4, 10, 2]), { shape: [null, 1] }), /axis 2 is 2, expected 1/);
  assert.throws(() => checkInputShape('decode', 'source', tf.ones([2, 3, 1]), { shape: [null], tokens: true }), /layout \[batch, time\] token ids; got shape \[2, 3, 1\]/);
  assert.throws(() => checkInputShape('predict', 'x', [[1]], { shape: [null, 1] }), /x must be a tf.Tensor with layout \[batch, time, features=1\]; got an array of length 1/);
  assert.throws(() => checkInputShape('predict', 'x', tf.ones([0, 3, 1]), { shape: [null, 1] }), /x is empty/);
  checkInputShape('predict', 'x', tf.ones([2, 3, 1]), { shape: [null, 1] });
});

test('option typos in the data generators, the fused-kernel settings and the homework checks name the nearest key', () => {
  const lib = await_lib();
  assert.throws(() => lib.sineWaves(2, 5, 1, { noize: 0.1 }), /sineWaves: unknown options key 'noize' — did you mean 'noise'\?/);
  assert.throws(() => lib.setFusedThreads(1, { minRow: 2 }), /setFusedThreads: unknown options key 'minRow' — did you mean 'minRows'\?/);
  const x = tf.ones([1, 2, 1]), k = tf.ones([1, 1]), r = tf.ones([1, 1]), b = tf.zeros([1]);
  assert.throws(() => lib.fusedSequence('rnn', x, k, r, b, null, null, { return: 'last' }), /fusedSequence: unknown options key 'return' — did you mean 'returns'\?/);
  tf.dispose([x, k, r, b]);
  assert.throws(() => lib.check.rnnStepForward(() => 0, { hiden: true }), /check.rnnStepForward: unknown options key 'hiden' — did you mean 'hidden'\?/);
  // valid keys still pass
  const d = lib.sineWaves(2, 5, 1, { noise: 0.1, minFreq: 0.05 });
  tf.dispose([d.x, d.y]);
});

test('messages: a separator when no key is near, "an object", tensors by shape, token ids by [row, step]', () => {
  const lib = await_lib();
  assert.throws(() => checkOptions('f', { weights: 1 }, ['x', 'y'], 'data'), /unknown data key 'weights'\. Valid keys: x, y$/);
  const { describe } = require(path.join(ROOT, 'dist', 'describe.js'));
  assert.equal(describe({}), 'an object');
  assert.equal(describe(() => 0), 'a function');
  const t = tf.ones([2, 3]);
  assert.equal(describe(t), 'a float32 tensor of shape [2, 3]');
  t.dispose();
  const m = lib.buildGRU({ vocabSize: 6, hiddenSize: 4, outputSize: 2, seed: 1 });
  const ids = tf.tensor2d([[0, 1, 2], [3, 9, 4]]);
  assert.throws(() => m.predict(ids), /must be integer token ids in \[0, 6\); got 9 at \[1, 1\] \(shape \[2, 3\], layout \[batch, time\] token ids\)/);
  ids.dispose();
});

test('importing the library silences tf.js\'s tfjs-node banner, also without initBackend', () => {
  const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'index.js'))});
    const tf = require(${JSON.stringify(path.join(ROOT, 'node_modules', '@tensorflow', 'tfjs'))});
    tf.setBackend('cpu'); tf.ones([2]).dataSync(); process.stdout.write(tf.getBackend());`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'cpu');
  assert.doesNotMatch(r.stderr, /looks like you are running TensorFlow\.js in Node\.js/, `stderr: ${r.stderr}`);
});

// Fresh-user trial: train(…, { lr }) and buildLSTM({ units }) got no suggestion (too far for the typo
// match), and lstmLayer({ dropout }) was only "unknown key".
test('names brought from Keras or PyTorch get the rnn-lab name; features rnn-lab lacks say so', () => {
  const L = await_lib();
  const cases = [
    [() => L.buildLSTM({ inputSize: 1, hiddenSize: 2, outputSize: 1, units: 3 }), /^TypeError: buildLSTM: unknown spec key 'units' — did you mean 'hiddenSize'\?/],
    [() => L.lstmLayer({ units: 2, hidden_size: 3 }), /^TypeError: LabLSTM: unknown options key 'hidden_size' — did you mean 'units'\?/],
    [() => L.buildGRU({ inputSize: 1, hidden_size: 2, outputSize: 1 }), /unknown spec key 'hidden_size' — did you mean 'hiddenSize'\?/],
    [() => L.lstmLayer({ units: 2, recurrent_dropout: 0.1 }), /^TypeError: LabLSTM: unknown options key 'recurrent_dropout' — did you mean 'recurrentDropout'\?/],
    [() => L.lstmLayer({ units: 2, zoneout: 0.1 }), /^TypeError: LabLSTM: options key 'zoneout' is not supported: rnn-lab layers have no zoneout/],
    [() => L.gruLayer({ units: 2, stateful: true }), /options key 'stateful' is not supported: rnn-lab layers are not stateful/],
    // the builder called is named, not an internal 'build'
    [() => L.buildLSTM({ hiddenSize: 2, outputSize: 1 }), /^RangeError: buildLSTM: spec\.inputSize \(or vocabSize for token inputs\) must be a positive integer; got undefined/],
    [() => L.buildGRU({ inputSize: 1, hiddenSize: 2, outputSize: 1, topology: 'one-to-many' }), /^RangeError: buildGRU: a one-to-many model needs spec\.sequenceLength/],
    [() => L.countParams('rnn', { inputSize: 1, hiddenSize: 0, outputSize: 1 }), /^RangeError: countParams: spec\.hiddenSize must be a positive integer; got 0/],
  ];
  for (const [fn, msg] of cases) assert.throws(fn, msg);
  const m = L.buildRNN({ inputSize: 1, hiddenSize: 2, outputSize: 1 });
  const tf = getTf();
  const x = tf.zeros([2, 3, 1]), y = tf.zeros([2, 1]);
  return assert.rejects(L.train(m, { x, y }, { epochs: 1, lr: 0.1 }), /train: unknown options key 'lr' — did you mean 'learningRate'\?/).finally(() => { tf.dispose([x, y]); m.dispose(); });
});
