import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { CharVocab, nextCharPairs, softmax, charCrossEntropy, perplexity, sampleText } = require('../../dist/text.js');
const { Rng } = require('../../dist/random.js');

// Independent naive references (no max subtraction): valid for moderate logits only.
const naiveSoftmax = (xs) => {
  const e = Array.from(xs, Math.exp);
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
};
const naiveCrossEntropy = (rows, targets) =>
  rows.reduce((acc, row, t) => acc - Math.log(naiveSoftmax(row)[targets[t]]), 0) / rows.length;
const maxAbsDiff = (a, b) => Math.max(...Array.from(a, (x, i) => Math.abs(x - b[i])));

test('CharVocab.fromText("hello") is [e, h, l, o] and encode/decode round-trip', () => {
  const v = CharVocab.fromText('hello');
  assert.deepEqual([...v.chars], ['e', 'h', 'l', 'o']);
  assert.equal(v.size, 4);
  assert.deepEqual(v.encode('hello'), [1, 0, 2, 2, 3]);
  assert.equal(v.decode([1, 0, 2, 2, 3]), 'hello');
  assert.equal(v.decode(new Int32Array([3, 2])), 'ol');
  assert.deepEqual(v.encode(''), []);
  assert.equal(v.decode([]), '');
  assert.ok(Object.isFrozen(v.chars));
  // Order of the text does not matter; the lecture's own order is available via the constructor.
  assert.deepEqual([...CharVocab.fromText('olleh').chars], ['e', 'h', 'l', 'o']);
  assert.deepEqual(new CharVocab(['h', 'e', 'l', 'o']).encode('hello'), [0, 1, 2, 2, 3]);
  assert.deepEqual([...CharVocab.fromText('hello', { extra: [' ', 'z'] }).chars], [' ', 'e', 'h', 'l', 'o', 'z']);
});

test('CharVocab handles characters outside the BMP and sorts by code point', () => {
  const v = CharVocab.fromText('a😀b😀');
  assert.equal(v.size, 3);
  assert.deepEqual([...v.chars], ['a', 'b', '😀']);
  assert.deepEqual(v.encode('😀a'), [2, 0]);
  assert.equal(v.decode(v.encode('b😀a😀')), 'b😀a😀');
  // U+E000 < U+1F600 by code point, although '😀' (surrogate 0xD83D) sorts first by UTF-16 unit.
  assert.deepEqual([...CharVocab.fromText('😀\uE000').chars], ['\uE000', '😀']);
  // Error positions count code points.
  assert.throws(() => v.encode('😀😀x'), /"x" \(U\+0078\) at position 2/);
});

test('CharVocab.oneHot and JSON round trip', () => {
  const v = CharVocab.fromText('hello');
  assert.deepEqual(v.oneHot([1, 3]), [[0, 1, 0, 0], [0, 0, 0, 1]]);
  assert.deepEqual(v.oneHot([]), []);
  const text = JSON.stringify(v);
  assert.equal(text, '{"chars":["e","h","l","o"]}');
  const back = CharVocab.fromJSON(JSON.parse(text));
  assert.deepEqual([...back.chars], [...v.chars]);
  assert.deepEqual(CharVocab.fromJSON(text).encode('hello'), v.encode('hello'));
  const emoji = CharVocab.fromText('x😀');
  assert.deepEqual(CharVocab.fromJSON(JSON.stringify(emoji)).encode('😀x'), [1, 0]);
});

test('CharVocab errors name the character, position, index, value and valid range', () => {
  const v = CharVocab.fromText('hello');
  assert.throws(
    () => v.encode('help'),
    (e) => /unknown character "p"/.test(e.message) && /position 3/.test(e.message) && /"e", "h", "l", "o"/.test(e.message),
  );
  // A large vocabulary is listed only as a prefix.
  const big = CharVocab.fromText('abcdefghijklmnopqrstuvwxyz');
  assert.throws(() => big.encode('A'), (e) => /"A"/.test(e.message) && /position 0/.test(e.message) && /"t", … \(6 more\)/.test(e.message) && !/"z"/.test(e.message));
  for (const bad of [1.5, -1, 4]) {
    assert.throws(() => v.decode([0, bad]), (e) => e instanceof RangeError && new RegExp(`ids\\[1\\] = ${String(bad).replace('.', '\\.')} is not a valid id`).test(e.message) && /\[0, 4\)/.test(e.message));
  }
  assert.throws(() => v.decode([NaN]), /ids\[0\] = NaN/);
  assert.throws(() => v.oneHot([0, 9]), /oneHot: ids\[1\] = 9 .*\[0, 4\)/);
  assert.throws(() => new CharVocab(['a', 'b', 'a']), /duplicate character "a" \(U\+0061\) at chars\[0\] and chars\[2\]/);
  assert.throws(() => new CharVocab(['a', 'bc']), /chars\[1\] must be a single character .*got "bc"/);
  assert.throws(() => new CharVocab(['']), /chars\[0\] must be a single character .*got ""/);
  assert.throws(() => new CharVocab([]), /chars must not be empty/);
  assert.throws(() => CharVocab.fromText(''), /vocabulary would be empty/);
  assert.throws(() => CharVocab.fromText('ab', { extra: ['xy'] }), /options\.extra\[0\] must be a single character, got "xy"/);
  assert.throws(() => CharVocab.fromJSON({ letters: [] }), /expected an object \{ chars: string\[\] \}/);
});

test('nextCharPairs: targets are the inputs shifted by one', () => {
  const v = CharVocab.fromText('hello');
  const { inputs, targets } = nextCharPairs(v.encode('hello'), 4);
  assert.deepEqual(inputs, [v.encode('hell')]);
  assert.deepEqual(targets, [v.encode('ello')]);

  const ids = Array.from({ length: 10 }, (_, i) => i * 10);
  const p = nextCharPairs(ids, 3, 2);
  assert.deepEqual(p.inputs, [[0, 10, 20], [20, 30, 40], [40, 50, 60], [60, 70, 80]]);
  for (let w = 0; w < p.inputs.length; w++) {
    const start = 2 * w;
    for (let t = 0; t < 3; t++) assert.equal(p.targets[w][t], ids[start + t + 1]);
  }
  // Default stride = seqLength; the leftover that cannot form a full window is dropped.
  assert.deepEqual(nextCharPairs(ids, 4).inputs, [[0, 10, 20, 30], [40, 50, 60, 70]]);
  assert.deepEqual(nextCharPairs(ids, 4).targets, [[10, 20, 30, 40], [50, 60, 70, 80]]);
  assert.equal(nextCharPairs(ids, 1, 1).inputs.length, 9);

  assert.throws(() => nextCharPairs([1, 2, 3, 4], 4), (e) => /length 4/.test(e.message) && /seqLength 4/.test(e.message) && /at least 5/.test(e.message));
  assert.throws(() => nextCharPairs([1, 2, 3], 0), /seqLength must be a positive integer, got 0/);
  assert.throws(() => nextCharPairs([1, 2, 3], 1.5), /seqLength must be a positive integer, got 1\.5/);
  assert.throws(() => nextCharPairs([1, 2, 3], 1, 0), /stride must be a positive integer, got 0/);
});

test('softmax: sums to 1, shift-invariant, matches the naive formula, and temperature scales logits first', () => {
  const logits = [1.5, -0.3, 2.2, 0, -4];
  const p = softmax(logits);
  assert.ok(p instanceof Float64Array);
  const sum = p.reduce((a, b) => a + b, 0);
  const dNaive = maxAbsDiff(p, naiveSoftmax(logits));
  const dShift = maxAbsDiff(p, softmax(logits.map((x) => x + 100)));
  console.log(`softmax: |sum - 1| = ${Math.abs(sum - 1).toExponential(2)}, max diff vs naive ${dNaive.toExponential(2)}, vs logits+100 ${dShift.toExponential(2)}`);
  assert.ok(Math.abs(sum - 1) < 1e-12);
  assert.ok(dNaive < 1e-12);
  assert.ok(dShift < 1e-12);

  for (const T of [0.5, 2, 3.7]) {
    const d = maxAbsDiff(softmax(logits, T), naiveSoftmax(logits.map((x) => x / T)));
    console.log(`softmax T=${T}: max diff vs naive softmax(logits / T) ${d.toExponential(2)}`);
    assert.ok(d < 1e-12);
  }
  const cold = softmax(logits, 1e-3);
  console.log(`softmax T=1e-3: p[argmax] = ${cold[2]}, max of the others ${Math.max(cold[0], cold[1], cold[3], cold[4]).toExponential(2)}`);
  assert.ok(cold[2] > 1 - 1e-12);
  const hot = softmax(logits, 1e6);
  const dUniform = maxAbsDiff(hot, new Array(5).fill(0.2));
  console.log(`softmax T=1e6: max diff vs uniform ${dUniform.toExponential(2)}`);
  assert.ok(dUniform < 1e-5);

  // Large logits do not overflow.
  const big = softmax([1000, 999, -1000]);
  assert.ok(maxAbsDiff(big, naiveSoftmax([1, 0, -2000])) < 1e-12);
  assert.ok(Number.isNaN(naiveSoftmax([1000, 999])[0]), 'the naive formula really does overflow here');
  // -Infinity masks a class.
  assert.deepEqual([...softmax([0, -Infinity])], [1, 0]);

  assert.throws(() => softmax(logits, 0), /^RangeError: softmax: temperature must be a number > 0 \(Infinity gives the uniform distribution\), got 0 \(T = 0 is the argmax/);
  assert.throws(() => softmax(logits, -1), /temperature .* got -1/);
  assert.throws(() => softmax(logits, NaN), /temperature .* got NaN/);
  assert.throws(() => softmax([]), /logits must not be empty/);
  assert.throws(() => softmax([1, NaN]), /logits\[1\] .* got NaN/);
});

test('charCrossEntropy: equals the naive mean of -log softmax and is stable for huge logits', () => {
  const rng = new Rng(1);
  const rows = Array.from({ length: 6 }, () => Array.from({ length: 5 }, () => rng.normal(0, 3)));
  const targets = [0, 4, 2, 2, 1, 3];
  const ce = charCrossEntropy(rows, targets);
  const ref = naiveCrossEntropy(rows, targets);
  console.log(`charCrossEntropy: ${ce} vs naive ${ref}, |diff| ${Math.abs(ce - ref).toExponential(2)}`);
  assert.ok(Math.abs(ce - ref) < 1e-12);

  // Shift invariance: adding 1000 to every logit changes nothing (the naive formula gives NaN here).
  const shifted = rows.map((r) => r.map((x) => x + 1000));
  const ceShifted = charCrossEntropy(shifted, targets);
  console.log(`charCrossEntropy with logits + 1000: |diff| ${Math.abs(ceShifted - ce).toExponential(2)}`);
  assert.ok(Math.abs(ceShifted - ce) < 1e-9);
  assert.ok(Number.isNaN(naiveCrossEntropy(shifted, targets)));

  // Confidently right costs ~0; confidently wrong costs ~the logit gap (no -log(0) = Infinity).
  assert.ok(charCrossEntropy([[1000, 0, -1000]], [0]) < 1e-300);
  assert.equal(charCrossEntropy([[1000, 0, -1000]], [1]), 1000);
  assert.equal(charCrossEntropy([[1000, 0, -1000]], [2]), 2000);
  // The lecture's uniform guess over 4 characters.
  assert.ok(Math.abs(charCrossEntropy([[0, 0, 0, 0]], [2]) - Math.log(4)) < 1e-15);

  assert.throws(() => charCrossEntropy([[0, 1], [1, 0]], [0]), /logits has 2 time steps but targets has 1/);
  assert.throws(() => charCrossEntropy([[0, 1], [1, 0, 2]], [0, 1]), /logits\[1\] has length 3 but logits\[0\] has length 2/);
  assert.throws(() => charCrossEntropy([[0, 1]], [2]), /targets\[0\] = 2 must be an integer in \[0, 2\)/);
  assert.throws(() => charCrossEntropy([[0, 1]], [0.5]), /targets\[0\] = 0\.5/);
  assert.throws(() => charCrossEntropy([], []), /must not be empty/);
  assert.throws(() => charCrossEntropy([[0, NaN]], [0]), /logits\[0\]\[1\] .* got NaN/);
});

test('perplexity is exp(cross-entropy): uniform logits over V classes give V', () => {
  for (const V of [2, 4, 27, 100]) {
    const rows = Array.from({ length: 7 }, (_, t) => new Array(V).fill(t * 3.3 - 5));
    const targets = rows.map((_, t) => (t * 5) % V);
    const ppl = perplexity(charCrossEntropy(rows, targets));
    console.log(`perplexity of uniform logits over ${V} classes: ${ppl} (|diff| ${Math.abs(ppl - V).toExponential(2)})`);
    assert.ok(Math.abs(ppl - V) < 1e-12 * V);
  }
  assert.equal(perplexity(0), 1);
  assert.throws(() => perplexity(-0.5), /meanCrossEntropyNats must be a number >= 0 .* got -0\.5/);
  assert.throws(() => perplexity(NaN), /meanCrossEntropyNats .* got NaN/);
});

/**
 * A fake model that knows "hello": its state counts the characters read so far, which is what
 * distinguishes the first 'l' (followed by 'l') from the second (followed by 'o').
 */
function helloStepper(vocab, fed = []) {
  const word = 'hello';
  return {
    step(id, state) {
      fed.push(id);
      const n = (state ?? 0) + 1;
      const logits = new Array(vocab.size).fill(0);
      if (n < word.length) logits[vocab.encode(word[n])[0]] = 10;
      return { logits, state: n };
    },
  };
}

test('sampleText feeds the prime with its state and generates "hello" greedily', () => {
  const v = CharVocab.fromText('hello');
  const fed = [];
  assert.equal(sampleText(helloStepper(v, fed), v, { prime: 'h', length: 4, greedy: true, rng: new Rng(0) }), 'hello');
  // Each generated character except the last is fed back in.
  assert.deepEqual(fed, v.encode('hell'));
  assert.equal(sampleText(helloStepper(v), v, { prime: 'hel', length: 2, greedy: true, rng: new Rng(0) }), 'hello');
  assert.equal(sampleText(helloStepper(v), v, { prime: 'hel', length: 0, rng: new Rng(0) }), 'hel');
  // Sampling at a low temperature also gives "hello" (logit gap 10 / 0.1 = 100).
  assert.equal(sampleText(helloStepper(v), v, { prime: 'h', length: 4, temperature: 0.1, rng: new Rng(3) }), 'hello');
});

test('sampleText samples from softmax(logits / temperature) and is reproducible from the seed', () => {
  const v = new CharVocab(['a', 'b', 'c', 'd']);
  const logits = [0, 1, 2, 3];
  const constant = { step: (_id, s) => ({ logits, state: s }) };
  const n = 20000;
  for (const T of [1, 2.5]) {
    const text = sampleText(constant, v, { prime: 'a', length: n, temperature: T, rng: new Rng(4) });
    const counts = [0, 0, 0, 0];
    for (const id of v.encode(text.slice(1))) counts[id]++;
    const expected = naiveSoftmax(logits.map((x) => x / T));
    const d = maxAbsDiff(counts.map((c) => c / n), expected);
    // Largest SE is sqrt(0.25/20000) ≈ 0.0035; allow ~4 SE.
    console.log(`sampleText T=${T}: frequencies ${counts.map((c) => (c / n).toFixed(4)).join(' ')} vs ${expected.map((p) => p.toFixed(4)).join(' ')}; max |diff| ${d.toExponential(2)} (tolerance 0.015)`);
    assert.ok(d < 0.015);
  }

  // A stepper whose logits depend on the input and state: the same seed gives the same text.
  const mixing = {
    step: (id, s) => {
      const h = ((s ?? 1) * 31 + id * 7) % 101;
      return { logits: [Math.sin(h), Math.cos(h), h / 50, -h / 70], state: h };
    },
  };
  const opts = (seed) => ({ prime: 'ab', length: 60, rng: new Rng(seed) });
  const s1 = sampleText(mixing, v, opts(42));
  assert.equal(s1.length, 62);
  assert.ok(s1.startsWith('ab'));
  assert.equal(sampleText(mixing, v, opts(42)), s1);
  assert.notEqual(sampleText(mixing, v, opts(43)), s1);
});

test('sampleText rejects bad inputs with informative messages', () => {
  const v = CharVocab.fromText('hello');
  const s = helloStepper(v);
  const rng = new Rng(0);
  assert.throws(() => sampleText(s, v, { prime: '', length: 3, rng }), /prime must be a non-empty string, got ""/);
  assert.throws(() => sampleText(s, v, { prime: 'hx', length: 3, rng }), /unknown character "x" .* at position 1/);
  assert.throws(() => sampleText(s, v, { prime: 'h', length: -1, rng }), /length must be a non-negative integer, got -1/);
  assert.throws(() => sampleText(s, v, { prime: 'h', length: 2.5, rng }), /length must be a non-negative integer, got 2\.5/);
  assert.throws(() => sampleText(s, v, { prime: 'h', length: 2, temperature: 0, rng }), /sampleText: options\.temperature must be a number > 0 .*got 0 \(T = 0 is the argmax: use greedy: true\)/);
  assert.throws(() => sampleText(s, v, { prime: 'h', length: 2 }), /rng must be an Rng/);
  const wrong = { step: (_id, st) => ({ logits: [0, 0, 0], state: st }) };
  assert.throws(() => sampleText(wrong, v, { prime: 'h', length: 2, rng }), (e) => /returned 3 logits/.test(e.message) && /vocabulary has 4 characters/.test(e.message));
  assert.throws(() => sampleText({}, v, { prime: 'h', length: 2, rng }), /stepper must be an object with a step/);
  assert.throws(() => sampleText(s, ['h'], { prime: 'h', length: 2, rng }), /vocab must be a CharVocab/);
});

// ---------- issue 11, item 6: extreme but legal inputs ----------

test('softmax at extreme temperatures: subtract the max before dividing by T (finite for every T > 0)', () => {
  // The cases: dividing first gave 2/1e-308 = Infinity and Infinity − Infinity = NaN.
  const cases = [
    [[2, 1], 1e-308, [1, 0]],
    [[-1, -2], 1e-320, [1, 0]],                     // a denormal temperature
    [[-1, -2], 5e-324, [1, 0]],                     // the smallest denormal
    [[3, 3, 1], 1e-300, [0.5, 0.5, 0]],             // ties at tiny T split evenly
    [[1, 2, 3], Infinity, [1 / 3, 1 / 3, 1 / 3]],   // T = Infinity: uniform
    [[0, -Infinity, 5], Infinity, [0.5, 0, 0.5]],   // … over the classes that are not masked
    [[0, -Infinity, 5], 1e-310, [0, 0, 1]],
    // the second instance of the kind: x − max itself overflows (−1e308 − 1e308); the true value is softmax([1, −1])
    [[1e308, -1e308], 1e308, naiveSoftmax([1, -1])],
    [[1.7e308, -1.7e308], 1, [1, 0]],
  ];
  for (const [logits, T, want] of cases) {
    const p = softmax(logits, T);
    const d = maxAbsDiff(p, want);
    console.log(`softmax([${logits}], ${T}) = [${Array.from(p)}] (want [${want}], max diff ${d.toExponential(2)}, tol 1e-15)`);
    assert.ok(p.every(Number.isFinite), 'finite');
    assert.ok(d <= 1e-15, `max diff ${d}`);
  }
  // and a grid: always finite, summing to 1
  let worst = 0;
  for (const logits of [[2, 1], [-1, -2], [1e308, -1e308, 0], [-1e-300, 1e-300], [5, 5, 5]]) {
    for (const T of [5e-324, 1e-320, 1e-308, 1e-100, 1e-3, 1, 1e3, 1e100, 1e308, Infinity]) {
      const p = softmax(logits, T);
      assert.ok(p.every((v) => Number.isFinite(v) && v >= 0), `softmax([${logits}], ${T}) = [${Array.from(p)}]`);
      worst = Math.max(worst, Math.abs(p.reduce((a, b) => a + b, 0) - 1));
    }
  }
  console.log(`softmax over 5 logit sets × 10 temperatures: all finite, max |Σp − 1| ${worst.toExponential(2)} (tol 1e-15)`);
  assert.ok(worst <= 1e-15);
  for (const bad of [0, -1, -Infinity, NaN, '1']) {
    assert.throws(() => softmax([1, 2], bad), (e) => e instanceof RangeError && /^softmax: temperature must be a number > 0/.test(e.message), `T = ${bad}`);
  }
});

test('charCrossEntropy: exact for large logits and per character over several sequences; perplexity of that mean', () => {
  // (max − x_y) + log Σ… keeps the small loss of a confidently right prediction that
  // logsumexp(x) − x_y cancels to 0 at 1e17 (float64 spacing 16 there).
  const got = charCrossEntropy([[1e17, 1e17 - 16]], [0]);
  const want = Math.log1p(Math.exp(-16));
  console.log(`charCrossEntropy([[1e17, 1e17 − 16]], [0]) = ${got} (want log1p(e^−16) = ${want}, rel tol 1e-9)`);
  assert.ok(Math.abs(got - want) / want <= 1e-9);
  // Two sequences of 1 and 3 characters: the mean is over the 4 characters, not the mean of the 2 means.
  const rng = new Rng(3);
  const seqs = [1, 3].map((T) => Array.from({ length: T }, () => Array.from({ length: 4 }, () => rng.normal(0, 2))));
  const targets = [[2], [0, 3, 1]];
  const perChar = seqs.flatMap((rows, s) => rows.map((row, t) => -Math.log(naiveSoftmax(row)[targets[s][t]])));
  const wantMean = perChar.reduce((a, b) => a + b, 0) / 4;
  const meanOfMeans = (perChar[0] + (perChar[1] + perChar[2] + perChar[3]) / 3) / 2;
  const many = charCrossEntropy(seqs, targets);
  console.log(`charCrossEntropy over sequences of 1 and 3 characters: ${many} (want per-character ${wantMean}; mean of means would be ${meanOfMeans}); perplexity ${perplexity(many)} vs ${Math.exp(wantMean)} (tol 1e-12)`);
  assert.ok(Math.abs(many - meanOfMeans) > 0.05, 'the example discriminates');
  assert.ok(Math.abs(many - wantMean) <= 1e-12);
  assert.ok(Math.abs(perplexity(many) - Math.exp(wantMean)) <= 1e-12 * Math.exp(wantMean));
  assert.throws(() => charCrossEntropy(seqs, [[2]]), /logits has 2 sequences but targets has 1/);
  assert.throws(() => charCrossEntropy(seqs, [[2], [0, 3]]), /logits\[1\] has 3 time steps but targets\[1\] has 2/);
  assert.throws(() => charCrossEntropy([[[0, 1]], [[0, 1, 2]]], [[0], [0]]), /logits\[1\]\[0\] has length 3 but logits\[0\]\[0\] has length 2/);
  assert.equal(perplexity(800), Infinity, 'beyond ln(MAX_VALUE) the perplexity is Infinity (documented)');
});

test('sampleText: as T → 0 sampling gives the argmax every time; errors name the temperature; unknown keys are named', () => {
  const v = CharVocab.fromText('hello');
  // logits depend on the input id, with a unique maximum each step
  const table = [[0.3, 1.2, -0.5, 0.9], [2.0, 0.1, 0.2, 1.9], [0.0, 0.5, 1.1, 1.0], [1.3, 1.4, 0.2, -2]];
  const stepper = { step: (id, st) => ({ logits: table[id], state: st }) };
  const greedy = sampleText(stepper, v, { prime: 'h', length: 12, greedy: true, rng: new Rng(0) });
  let same = 0;
  for (const T of [1e-300, 1e-320]) {
    for (let seed = 0; seed < 20; seed++) {
      const t = sampleText(stepper, v, { prime: 'h', length: 12, temperature: T, rng: new Rng(seed) });
      assert.equal(t, greedy, `T ${T}, seed ${seed}`);
      same++;
    }
  }
  // T = Infinity samples uniformly: all 4 characters appear in 400 draws, each near 1/4
  const hot = sampleText(stepper, v, { prime: 'h', length: 400, temperature: Infinity, rng: new Rng(5) }).slice(1);
  const freq = v.chars.map((c) => Array.from(hot).filter((h) => h === c).length / 400);
  console.log(`sampleText: ${same} runs at T = 1e-300 / 1e-320 all equal the greedy text "${greedy}"; T = Infinity frequencies ${freq.map((f) => f.toFixed(3)).join(' ')} (each within 0.25 ± 0.08)`);
  assert.ok(freq.every((f) => Math.abs(f - 0.25) <= 0.08));
  const rng = new Rng(0);
  for (const bad of [-1, NaN, 0]) {
    assert.throws(() => sampleText(stepper, v, { prime: 'h', length: 2, temperature: bad, rng }), new RegExp(`^RangeError: sampleText: options\\.temperature must be a number > 0 .*got ${bad}`));
  }
  assert.throws(() => sampleText(stepper, v, { prime: 'h', length: 2, temprature: 0.5, rng }), /^TypeError: sampleText: unknown options key 'temprature' — did you mean 'temperature'\?/);
  assert.throws(() => sampleText(stepper, v, { prime: 'h', length: 2, greedy: true, temperature: 0.5, rng }), /sampleText: options\.temperature \(0\.5\) has no effect with greedy: true/);
  assert.throws(() => CharVocab.fromText('ab', { extras: ['c'] }), /CharVocab\.fromText: unknown options key 'extras' — did you mean 'extra'\?/);
});
