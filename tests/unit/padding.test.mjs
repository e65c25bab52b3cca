// padSequences against Keras's pad_sequences (its test table, its documented examples, and a
// transcription of its numpy algorithm as an independent oracle), and bucketBatches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lib, tf } from '../helpers.mjs';

const { padSequences, bucketBatches, Rng } = lib();
const T = tf();

/** x as nested arrays, and the tensor freed. */
function pad(seqs, options) {
  const r = padSequences(seqs, options);
  const x = r.x.arraySync();
  r.x.dispose();
  return { ...r, x };
}

/**
 * keras.utils.pad_sequences, transcribed from its numpy code (keras/src/utils/sequence_utils.py):
 *   trunc = s[-maxlen:] if truncating == 'pre' else s[:maxlen]
 *   x[idx, :len(trunc)] = trunc if padding == 'post' else x[idx, -len(trunc):] = trunc
 * with Keras's defaults made explicit by the caller.
 */
function kerasPad(seqs, { maxlen, padding, truncating, value }) {
  const longest = Math.max(...seqs.map((s) => s.length));
  const T_ = maxlen ?? longest;
  const fill = () => (Array.isArray(seqs[0][0]) ? seqs[0][0].map(() => value) : value);
  return seqs.map((s) => {
    const trunc = truncating === 'pre' ? s.slice(Math.max(0, s.length - T_)) : s.slice(0, T_);
    const row = Array.from({ length: T_ }, fill);
    const at = padding === 'post' ? 0 : T_ - trunc.length;
    trunc.forEach((v, i) => { row[at + i] = v; });
    return row;
  });
}

// Keras's own test table (keras/src/utils/sequence_utils_test.py): its calls rely on its defaults
// padding='pre', truncating='pre', so they are passed explicitly here.
const A = [[1], [1, 2], [1, 2, 3]];
const AV = [[[1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]];
const KERAS_TABLE = [
  ['padding pre', A, { maxLength: 3, padding: 'pre', truncating: 'pre' }, [[0, 0, 1], [0, 1, 2], [1, 2, 3]]],
  ['padding post', A, { maxLength: 3, padding: 'post', truncating: 'pre' }, [[1, 0, 0], [1, 2, 0], [1, 2, 3]]],
  ['truncating pre', A, { maxLength: 2, padding: 'pre', truncating: 'pre' }, [[0, 1], [1, 2], [2, 3]]],
  ['truncating post', A, { maxLength: 2, padding: 'pre', truncating: 'post' }, [[0, 1], [1, 2], [1, 2]]],
  ['value', A, { maxLength: 3, padding: 'pre', value: 1 }, [[1, 1, 1], [1, 1, 2], [1, 2, 3]]],
  ['vector padding pre', AV, { maxLength: 3, padding: 'pre' }, [[[0, 0], [0, 0], [1, 1]], [[0, 0], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]],
  ['vector padding post', AV, { maxLength: 3, padding: 'post' }, [[[1, 1], [0, 0], [0, 0]], [[2, 1], [2, 2], [0, 0]], [[3, 1], [3, 2], [3, 3]]]],
  ['vector truncating pre', AV, { maxLength: 2, padding: 'pre', truncating: 'pre' }, [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 2], [3, 3]]]],
  ['vector truncating post', AV, { maxLength: 2, padding: 'pre', truncating: 'post' }, [[[0, 0], [1, 1]], [[2, 1], [2, 2]], [[3, 1], [3, 2]]]],
  ['vector value', AV, { maxLength: 3, padding: 'pre', value: 1 }, [[[1, 1], [1, 1], [1, 1]], [[1, 1], [2, 1], [2, 2]], [[3, 1], [3, 2], [3, 3]]]],
  // keras.utils.pad_sequences's documented examples (sequence [[1], [2, 3], [4, 5, 6]]).
  ['doc: defaults of Keras', [[1], [2, 3], [4, 5, 6]], { padding: 'pre' }, [[0, 0, 1], [0, 2, 3], [4, 5, 6]]],
  ['doc: value=-1', [[1], [2, 3], [4, 5, 6]], { padding: 'pre', value: -1 }, [[-1, -1, 1], [-1, 2, 3], [4, 5, 6]]],
  ["doc: padding='post'", [[1], [2, 3], [4, 5, 6]], { padding: 'post' }, [[1, 0, 0], [2, 3, 0], [4, 5, 6]]],
  ['doc: maxlen=2', [[1], [2, 3], [4, 5, 6]], { maxLength: 2, padding: 'pre' }, [[0, 1], [2, 3], [5, 6]]],
];

for (const [name, seqs, options, want] of KERAS_TABLE) {
  test(`padSequences: Keras's case '${name}'`, () => {
    const got = pad(seqs, options);
    assert.deepEqual(got.x, want, `${name}: got ${JSON.stringify(got.x)}, Keras gives ${JSON.stringify(want)}`);
    // lengths: the real steps kept, min(len, maxLength)
    assert.deepEqual(got.lengths, seqs.map((s) => Math.min(s.length, options.maxLength ?? 3)));
    assert.equal(got.padding, options.padding);
  });
}

test('padSequences: every option combination equals the transcription of Keras\'s algorithm (random ragged data, maxLength shorter and longer)', () => {
  const rng = new Rng(3);
  let cases = 0;
  for (const F of [undefined, 3]) {
    const seqs = Array.from({ length: 7 }, () => Array.from({ length: 1 + rng.int(6) },
      () => (F === undefined ? rng.int(50) - 25 : Array.from({ length: F }, () => rng.normal()))));
    const longest = Math.max(...seqs.map((s) => s.length));
    for (const padding of ['pre', 'post']) {
      for (const truncating of ['pre', 'post']) {
        for (const maxLength of [undefined, 1, 2, longest - 1, longest, longest + 3]) {
          for (const value of [0, -7.5]) {
            const got = pad(seqs, { maxLength, padding, truncating, value });
            const want = kerasPad(seqs, { maxlen: maxLength, padding, truncating, value });
            const diff = Math.max(...got.x.flat(2).map((v, i) => Math.abs(v - want.flat(2)[i])));
            assert.ok(diff <= 1e-6, `F=${F} padding=${padding} truncating=${truncating} maxLength=${maxLength} value=${value}: max |diff| ${diff} (tolerance 1e-6: float32 storage)`);
            assert.equal(got.x.length, seqs.length);
            cases++;
          }
        }
      }
    }
  }
  assert.equal(cases, 2 * 2 * 2 * 6 * 2);
});

test('padSequences: defaults are padding "post" (rnn-lab pads at the end) and truncating "pre" (Keras\'s), maxLength = the longest, value 0, float32', () => {
  const r = padSequences([[1, 2, 3, 4], [5]], { maxLength: 3 });
  assert.deepEqual(r.x.arraySync(), [[2, 3, 4], [5, 0, 0]]);
  assert.equal(r.x.dtype, 'float32');
  assert.equal(r.padding, 'post');
  r.x.dispose();
  const s = pad([[1], [2, 3, 4]]);
  assert.deepEqual(s.x, [[1, 0, 0], [2, 3, 4]]);
  const i = padSequences([[1], [2, 3]], { dtype: 'int32', value: 9 });
  assert.equal(i.x.dtype, 'int32');
  assert.deepEqual(i.x.arraySync(), [[1, 9], [2, 3]]);
  i.x.dispose();
});

test('padSequences: round trip — each row\'s first lengths[b] steps are the sequence, the rest the value; shapes [batch, T] and [batch, T, features]', () => {
  const rng = new Rng(11);
  for (const F of [undefined, 2]) {
    const seqs = Array.from({ length: 9 }, () => Array.from({ length: 1 + rng.int(8) },
      () => (F === undefined ? rng.normal() : [rng.normal(), rng.normal()])));
    const before = T.memory().numTensors;
    const r = padSequences(seqs, { value: -3 });
    const longest = Math.max(...seqs.map((s) => s.length));
    assert.deepEqual(r.x.shape, F === undefined ? [9, longest] : [9, longest, 2]);
    const x = r.x.arraySync();
    r.x.dispose();
    assert.equal(T.memory().numTensors, before, 'padSequences leaves only x, which was disposed');
    let maxDiff = 0;
    seqs.forEach((s, b) => {
      assert.equal(r.lengths[b], s.length);
      const back = x[b].slice(0, r.lengths[b]);
      back.flat().forEach((v, i) => { maxDiff = Math.max(maxDiff, Math.abs(v - s.flat()[i])); });
      for (const v of x[b].slice(r.lengths[b]).flat()) assert.equal(v, -3);
    });
    assert.ok(maxDiff <= 1e-6, `round trip max |diff| ${maxDiff} (tolerance 1e-6: float32)`);
  }
});

test('padSequences: errors name the function, the argument and the row', () => {
  const throwsWith = (fn, re) => assert.throws(fn, (e) => { assert.match(e.message, re); return true; });
  throwsWith(() => padSequences([[1, 2], []]), /padSequences: seqs\[1\] is empty: a sequence of length 0 cannot be masked/);
  throwsWith(() => padSequences([[1, 2], [3, NaN]]), /padSequences: seqs\[1\]\[1\] must be a finite number; got NaN/);
  throwsWith(() => padSequences([[[1, 2]], [[3, 4], [5]]]), /padSequences: seqs\[1\]\[1\] has 1 features, but seqs\[0\]\[0\] has 2/);
  throwsWith(() => padSequences([[[1, 2]], [[3, 4], [5, undefined]]]), /seqs\[1\]\[1\]\[1\] must be a finite number/);
  throwsWith(() => padSequences([[1, 2], [[3, 4]]]), /seqs\[1\]\[0\] is a vector, but seqs\[0\] is a sequence of numbers/);
  throwsWith(() => padSequences([[[1, 2]], [3]]), /seqs\[1\]\[0\] must be a feature vector of width 2/);
  throwsWith(() => padSequences([[1], 'ab']), /seqs\[1\] must be a sequence/);
  throwsWith(() => padSequences([]), /seqs is an empty list/);
  throwsWith(() => padSequences('abc'), /seqs must be a list of sequences/);
  throwsWith(() => padSequences([[1]], { maxLenght: 3 }), /unknown options key 'maxLenght' — did you mean 'maxLength'/);
  throwsWith(() => padSequences([[1]], { padding: 'end' }), /options.padding must be 'post' or 'pre'/);
  throwsWith(() => padSequences([[1]], { truncating: 'both' }), /options.truncating must be 'post' or 'pre'/);
  throwsWith(() => padSequences([[1]], { maxLength: 0 }), /options.maxLength must be a positive integer; got 0/);
  throwsWith(() => padSequences([[1]], { value: NaN }), /options.value \(the padding value\) must be a finite number; got NaN/);
  throwsWith(() => padSequences([[1.5]], { dtype: 'int32' }), /seqs\[0\]\[0\] must be an integer with dtype 'int32'; got 1.5/);
});

/** Σ over batches of Σ_b (longest in batch − L_b): the padded steps a batching costs. */
function paddedSteps(lengths, batches) {
  return batches.reduce((sum, rows) => {
    const L = rows.map((r) => lengths[r]);
    const longest = Math.max(...L);
    return sum + L.reduce((a, l) => a + longest - l, 0);
  }, 0);
}

test('bucketBatches: every row exactly once, seeded and reproducible, and fewer padded steps than random batching (counts printed)', () => {
  const rng = new Rng(7);
  const lengths = Array.from({ length: 203 }, () => 2 + rng.int(29));            // names-like: 2 … 30
  const batchSize = 16;
  const a = bucketBatches(lengths, { batchSize, seed: 5 });
  const rows = a.flat().sort((x, y) => x - y);
  assert.deepEqual(rows, Array.from({ length: 203 }, (_, i) => i), 'every row exactly once');
  assert.equal(a.length, Math.ceil(203 / batchSize));
  assert.equal(a.filter((b) => b.length !== batchSize).length, 1, 'one short batch (203 = 12·16 + 11)');
  assert.deepEqual(bucketBatches(lengths, { batchSize, seed: 5 }), a, 'same seed, same batches');
  assert.notDeepEqual(bucketBatches(lengths, { batchSize, seed: 6 }), a, 'another seed, another order');
  // Random batching: the same permutation train uses without bucketing.
  const order = new Rng(5).permutation(203);
  const random = Array.from({ length: Math.ceil(203 / batchSize) }, (_, i) => order.slice(i * batchSize, (i + 1) * batchSize));
  const bucketed = paddedSteps(lengths, a);
  const randomSteps = paddedSteps(lengths, random);
  const wide = paddedSteps(lengths, bucketBatches(lengths, { batchSize, seed: 5, bucketWidth: 8 }));
  const real = lengths.reduce((s, l) => s + l, 0);
  console.log(`padded steps: bucketed ${bucketed}, bucketWidth 8 ${wide}, random ${randomSteps} (real steps ${real})`);
  assert.ok(bucketed < randomSteps / 4, `bucketing must cut padding: ${bucketed} vs random ${randomSteps}`);
  assert.ok(bucketed <= wide && wide < randomSteps, `a wider bucket pads more, still less than random: ${bucketed} ≤ ${wide} < ${randomSteps}`);
});

test('bucketBatches: shuffle false gives batches in increasing length; the batch order is shuffled otherwise', () => {
  const lengths = [5, 2, 9, 3, 8, 2, 7, 1];
  const sorted = bucketBatches(lengths, { batchSize: 3, shuffle: false });
  const seq = sorted.flat().map((r) => lengths[r]);
  assert.deepEqual(seq, [...lengths].sort((x, y) => x - y));
  const maxima = (bs) => bs.map((b) => Math.max(...b.map((r) => lengths[r])));
  const orders = new Set([1, 2, 3, 4, 5, 6].map((seed) => maxima(bucketBatches(lengths, { batchSize: 3, seed })).join()));
  assert.ok(orders.size > 1, `six seeds gave one batch order only: ${[...orders]}`);
});

test('bucketBatches: errors name the argument', () => {
  assert.throws(() => bucketBatches([3, 0, 2], { batchSize: 2 }), /bucketBatches: lengths\[1\] must be a positive integer; got 0/);
  assert.throws(() => bucketBatches([3, 2], {}), /bucketBatches: options.batchSize must be a positive integer/);
  assert.throws(() => bucketBatches([3, 2], { batchSize: 2, bucketWidht: 2 }), /unknown options key 'bucketWidht' — did you mean 'bucketWidth'/);
  assert.throws(() => bucketBatches([3, 2], { batchSize: 2, bucketWidth: 0.5 }), /options.bucketWidth must be a positive integer/);
  assert.throws(() => bucketBatches(3, { batchSize: 2 }), /lengths must be a list/);
});
