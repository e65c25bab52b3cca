// train's options.optimizer: a bad value is one error naming options.optimizer and what was given, on every
// path (fusedStep true, false, unset) and every kind of data (tensors, ragged arrays, with validation), before
// anything is made: no tensors are left behind (a ragged source's tensors once leaked when the optimizer was
// made after the data and the name was checked only then).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf as getTf } from '../helpers.mjs';

const L = lib();
const tf = getTf();
await L.initBackend({ backend: process.env.RNN_LAB_BACKEND ?? 'wasm', quiet: true });

test('a bad options.optimizer is the same clear error on every path and data kind, and leaks nothing', async () => {
  const model = L.buildLSTM({ inputSize: 3, hiddenSize: 8, outputSize: 2, seed: 3 });
  const ragged = { x: [[[1, 2, 3]], [[1, 2, 3], [0, 0, 1]]], y: [[1, 0], [0, 1]] };
  const tensors = { x: tf.randomNormal([4, 5, 3], 0, 1, 'float32', 1), y: tf.randomNormal([4, 2], 0, 1, 'float32', 2) };
  const adamObject = tf.train.adam(0.01);
  const cases = [
    ['adagrad', /options\.optimizer must be 'sgd', 'momentum', 'rmsprop' or 'adam'; got 'adagrad'/],
    ['Adam', /got 'Adam'/],
    ['', /got ''/],
    [42, /must be 'sgd'.*; got 42$/],
    [['adam'], /must be 'sgd'.*; got an array/],
    [null, /must be 'sgd'.*; got null/],
    [adamObject, /train makes the optimizer, with options\.learningRate\); got a tf\.train optimizer object/],
  ];
  const before = tf.memory().numTensors;
  let n = 0;
  for (const [optimizer, message] of cases) {
    for (const data of [ragged, tensors, { ...ragged, validation: ragged }]) {
      for (const fusedStep of [true, false, undefined]) {
        const { validation, ...d } = data;
        await assert.rejects(
          L.train(model, d, { epochs: 1, verbose: false, optimizer, ...(fusedStep === undefined ? {} : { fusedStep }), ...(validation ? { validation } : {}) }),
          (e) => {
            assert.match(e.message, /^train: options\.optimizer must be/, `optimizer ${String(optimizer)}, fusedStep ${fusedStep}`);
            assert.match(e.message, message);
            return true;
          });
        n++;
      }
    }
  }
  console.log(`${n} bad optimizer calls: tensors before ${before}, after ${tf.memory().numTensors}`);
  assert.equal(tf.memory().numTensors, before, 'a refused call left tensors behind');
  // The valid names still train, on both paths.
  for (const optimizer of ['sgd', 'momentum', 'rmsprop', 'adam']) {
    for (const fusedStep of [true, false]) {
      const r = await L.train(model, tensors, { epochs: 1, batchSize: 4, verbose: false, optimizer, fusedStep });
      assert.equal(r.steps.length, 1);
    }
  }
  adamObject.dispose();
  tf.dispose(Object.values(tensors));
  model.dispose();
});
