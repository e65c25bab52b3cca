// Sequence lengths and masks (src/lengths.ts): the checks every masked entry point shares.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { ROOT, tf as getTf } from '../helpers.mjs';

const require = createRequire(import.meta.url);
const M = require(path.join(ROOT, 'dist', 'lengths.js'));
const tf = getTf();

test('sequenceMask and lengthsFromMask are inverse; lengths come as arrays, typed arrays or tensors', () => {
  const lengths = [3, 1, 4, 2];
  const mask = M.sequenceMask(lengths, 4);
  assert.deepEqual(mask.arraySync(), [[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 0, 0]]);
  assert.deepEqual([...M.lengthsFromMask('f', 'mask', mask, 4, 4)], lengths);
  const bool = tf.cast(mask, 'bool');                    // Keras masks are booleans
  assert.deepEqual([...M.lengthsFromMask('f', 'mask', bool, 4, 4)], lengths);
  const t = tf.tensor1d(lengths, 'int32');
  assert.deepEqual([...M.checkLengths('f', 'lengths', t, 4, 4)], lengths);
  assert.deepEqual([...M.checkLengths('f', 'lengths', Int32Array.from(lengths), 4, 4)], lengths);
  assert.deepEqual([...M.resolveLengths('f', { lengths, mask }, 4, 4)], lengths);
  assert.equal(M.resolveLengths('f', {}, 4, 4), null);
  assert.equal(M.allFull([4, 4], 4), true);
  assert.equal(M.allFull([4, 3], 4), false);
  tf.dispose([mask, bool, t]);
});

test('bad lengths and masks name the argument, the row and what was expected', () => {
  const before = tf.memory().numTensors;
  const cases = [
    [() => M.checkLengths('f', 'lengths', [2, 0], 2, 4), /^RangeError: f: lengths\[1\] must be an integer from 1 to T = 4 \(the time axis of \[batch, time, features\]\); got 0/],
    [() => M.checkLengths('f', 'lengths', [2, 5], 2, 4), /lengths\[1\] must be an integer from 1 to T = 4.*got 5/],
    [() => M.checkLengths('f', 'lengths', [2, 1.5], 2, 4), /lengths\[1\].*got 1\.5/],
    [() => M.checkLengths('f', 'lengths', [2, NaN], 2, 4), /lengths\[1\].*got NaN/],
    [() => M.checkLengths('f', 'lengths', [2, 3, 4], 2, 4), /f: lengths has 3 lengths but the batch \[batch, time, features\] has 2 sequences/],
    [() => M.checkLengths('f', 'lengths', 'abc', 2, 4), /^TypeError: f: lengths must be a list of sequence lengths/],
    [() => M.lengthsFromMask('f', 'mask', tf.tensor2d([[1, 0, 1, 0]]), 1, 4), /f: mask row 0 must be 1s followed by 0s \(padding at the end\); step 2 is 1 after a 0 at step 1/],
    [() => M.lengthsFromMask('f', 'mask', tf.tensor2d([[1, 1], [0, 0]]), 2, 2), /f: mask row 1 has no real step/],
    [() => M.lengthsFromMask('f', 'mask', tf.tensor2d([[1, 1, 1]]), 1, 4), /f: mask must have shape \[batch, time\] = \[1, 4\].*got \[1, 3\]/],
    [() => M.resolveLengths('f', { lengths: [2], mask: tf.tensor2d([[1, 1, 1, 0]]) }, 1, 4), /f: lengths and mask disagree at row 0: lengths\[0\] = 2, the mask has 3 real steps/],
  ];
  for (const [fn, msg] of cases) assert.throws(fn, msg);
  // the mask tensors made inline above are the only ones allowed to remain
  assert.ok(tf.memory().numTensors - before <= 4, `tensors left: ${tf.memory().numTensors - before}`);
});
