// A teacher adds an exercise without editing the library (defineExercise + a checks file beside the
// notebook), as the README's "Adding an exercise" shows — its code blocks are the fixture: the in-notebook
// check (homeworkChecks) passes a correct answer written independently in float64 and fails a wrong one
// with the hint for its mistake, and the release script writes the student version and copies the checks.
// The grader's half runs real kernels: tests/homework.test.mjs ("a teacher's exercise").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT, lib, tf as getTf } from '../helpers.mjs';
import { makeExampleHomework } from '../teacher.mjs';

const L = lib();
const tf = getTf();
tf.zeros([1]).dispose();   // the CPU backend's banner, outside any captured output

/** The lecture's GRU step in float64 from the equations, on nested arrays (columns are examples). */
function gruStep64(x, h, W, { swapZ = false } = {}) {
  const [X, H] = [x.arraySync(), h.arraySync()];
  const A = Object.fromEntries(Object.entries(W).map(([k, v]) => [k, v.arraySync()]));
  const n = H.length, B = H[0].length;
  const sig = (v) => 1 / (1 + Math.exp(-v));
  const lin = (Wx, Wh, b, i, j, hh) => Wx[i].reduce((s, w, k) => s + w * X[k][j], 0) + Wh[i].reduce((s, w, k) => s + w * hh[k][j], 0) + b[i][0];
  const out = [];
  for (let i = 0; i < n; i++) out.push(new Array(B));
  for (let j = 0; j < B; j++) {
    const r = H.map((_, i) => sig(lin(A.Wxr, A.Whr, A.br, i, j, H)));
    const rh = H.map((row, k) => row.map((v, jj) => (jj === j ? r[k] * v : 0)));   // only column j is read
    for (let i = 0; i < n; i++) {
      const z = sig(lin(A.Wxz, A.Whz, A.bz, i, j, H));
      const ht = Math.tanh(lin(A.Wxh, A.Whh, A.bh, i, j, rh));
      const keep = swapZ ? 1 - z : z;
      out[i][j] = keep * H[i][j] + (1 - keep) * ht;
    }
  }
  return out;
}

function quietly(f) {
  const orig = console.log;
  const lines = [];
  console.log = (...a) => lines.push(a.join(' '));
  try { return { result: f(), lines }; } finally { console.log = orig; }
}

test("a teacher's exercise from the README: the in-notebook check passes a right answer and explains a wrong one", () => {
  const { tmp, dir } = makeExampleHomework();
  try {
    const check = L.homeworkChecks(dir);
    assert.equal(typeof check.gruStepForward, 'function', 'the checks file beside the notebook is found');
    for (const name of Object.keys(L.EXERCISES)) assert.equal(typeof check[name], 'function', `the library's ${name} is kept`);
    assert.ok(Object.isFrozen(check));

    const before = tf.memory().numTensors;
    for (const options of [undefined, { hidden: true, seed: 20251 }, { hidden: true, seed: 7 }]) {
      const { result, lines } = quietly(() => check.gruStepForward(gruStep64, options));
      assert.equal(result.passed, true, `${JSON.stringify(options)}: ${result.message}`);
      assert.deepEqual([result.points, result.maxPoints], [3, 3]);
      assert.match(lines.join('\n'), /^✔ gruStepForward.*: 3\/3 points — all \d tests pass: the result matches the reference \(tolerance 1e-4 \+ 1e-3·\|expected\|\)/m);
    }
    // Two hidden seeds draw different shapes (4 random cases each): the hidden cases are really drawn.
    const shapes = (seed) => { const seen = []; quietly(() => check.gruStepForward((x, h, W) => { seen.push(`${x.shape}|${h.shape}`); return gruStep64(x, h, W); }, { hidden: true, seed })); return seen; };
    assert.notDeepEqual(shapes(1), shapes(2));

    // z and 1 − z swapped: 0 points, the largest difference and where, and the hint for this mistake.
    const swapped = quietly(() => check.gruStepForward((x, h, W) => gruStep64(x, h, W, { swapZ: true }))).result;
    assert.equal(swapped.passed, false);
    assert.equal(swapped.points, 0);
    assert.match(swapped.message, /^test 1 of 3 \(B=2, m=3, n=4\): the result is wrong in \d+ of 8 entries: the largest difference is [\d.e-]+ at \[\d, \d\]/);
    assert.match(swapped.message, /Hint: z and 1 − z are swapped/);
    // A wrong answer that matches no known mistake: the difference, no hint; a transposed one: named.
    const plain = quietly(() => check.gruStepForward((x, h) => h)).result;
    assert.equal(plain.points, 0);
    assert.doesNotMatch(plain.message, /Hint/);
    const transposed = quietly(() => check.gruStepForward((x, h, W) => tf.transpose(tf.tensor(gruStep64(x, h, W))))).result;
    assert.match(transposed.message, /has shape \[2, 4\] but should have shape \[4, 2\].*it looks transposed/);
    const stub = quietly(() => check.gruStepForward(() => { throw new Error('not implemented'); })).result;
    assert.match(stub.message, /^not implemented yet/);
    assert.equal(tf.memory().numTensors, before, 'the checks leak no tensors');

    // The grader's entry point finds the same file in the kernel's folder (the grader copies it there).
    const cwd = process.cwd();
    process.chdir(dir);
    try {
      const r = quietly(() => L.gradeExercise('gruStepForward', gruStep64, { hidden: true, seed: 3 })).result;
      assert.equal(r.points, 3, r.message);
      assert.match(quietly(() => L.gradeExercise('gruStepForward', undefined)).result.message, /no function named gruStepForward/);
    } finally {
      process.chdir(cwd);
    }
    assert.throws(() => L.gradeExercise('gruStepForward', gruStep64), /unknown exercise 'gruStepForward'.*checks file \(\*\.checks\.cjs\)/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('defineExercise and checks files: bad definitions are errors that name the field or the file', () => {
  const ok = { name: 'double', points: 1, reference: (x) => tf.mul(x, 2), cases: [{ n: 3 }], hidden: [{ n: 5 }], inputs: ({ n }, r) => [r.normal([n, 1])] };
  const ex = L.defineExercise(ok);
  assert.deepEqual([ex.name, ex.fn, ex.maxPoints, ex.title], ['double', 'double', 1, 'double']);
  assert.equal(quietly(() => ex.check((x) => tf.add(x, x))).result.points, 1);
  assert.throws(() => L.defineExercise({ ...ok, hiddn: [] }), /defineExercise: unknown spec key 'hiddn' — did you mean 'hidden'\?/);
  assert.throws(() => L.defineExercise({ ...ok, points: 0 }), /defineExercise\('double'\): spec.points must be a positive integer; got 0/);
  assert.throws(() => L.defineExercise({ ...ok, cases: [] }), /spec.cases must be a non-empty array/);
  assert.throws(() => L.defineExercise({ ...ok, name: 'two words' }), /spec.name must be an identifier/);
  assert.throws(() => L.defineExercise({ ...ok, hints: [{ hint: 'x' }] }), /spec.hints\[0\] must be \{ hint: string, wrong: function \}/);
  // A reference that throws is the teacher's bug, and the message says so.
  const broken = L.defineExercise({ ...ok, reference: () => { throw new Error('oops'); } });
  assert.match(quietly(() => broken.check((x) => x)).result.message, /the reference threw \(oops\)/);

  const { tmp, dir } = makeExampleHomework();
  try {
    fs.writeFileSync(path.join(dir, 'hw5-bad.checks.cjs'), 'module.exports = [{ name: "x" }];');
    assert.throws(() => L.homeworkChecks(dir), /hw5-bad\.checks\.cjs: export 0 is not an exercise made by defineExercise/);
    fs.writeFileSync(path.join(dir, 'hw5-bad.checks.cjs'),
      'const { defineExercise } = require("rnn-lab");\nmodule.exports = [defineExercise({ name: "bptt", points: 1, reference: (x) => x, cases: [{ n: 1 }], hidden: [{ n: 1 }], inputs: () => [1] })];');
    assert.throws(() => L.homeworkChecks(dir), /'bptt' is already an exercise of the library/);
    fs.rmSync(path.join(dir, 'hw5-bad.checks.cjs'));
    assert.deepEqual(Object.keys(L.homeworkChecks(path.join(tmp))).sort(), Object.keys(L.EXERCISES).sort(), 'no checks file: the library\'s checks');
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

const release = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'homework-release.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });

test("the release script writes the student version of a teacher's homework and copies its checks file", () => {
  const { tmp, dir } = makeExampleHomework();
  try {
    const r = release('--dir', dir);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /hw4-gru\.ipynb: 1 exercises, 3 points \(gruStepForward 3\)/);
    const out = path.join(dir, 'release');
    const nb = JSON.parse(fs.readFileSync(path.join(out, 'hw4-gru.ipynb'), 'utf8'));
    const codeText = nb.cells.filter((c) => c.cell_type === 'code').map((c) => c.source.join('')).join('\n');
    assert.match(codeText, /function gruStepForward\(x: tf\.Tensor2D, hPrev: tf\.Tensor2D, W: GruWeights\): tf\.Tensor2D \{\n {2}\/\/ TODO: the gates r and z, the candidate h̃, then h_t\n {2}throw new Error\('not implemented'\);\n\}/);
    assert.doesNotMatch(codeText, /BEGIN SOLUTION|tf\.sub\(1, z\)/);
    const copy = fs.readFileSync(path.join(out, 'hw4-gru.checks.cjs'), 'utf8');
    assert.match(copy.split('\n')[0], /^\/\/ rnn-lab release: a copy of .*hw4-gru\.checks\.cjs/);
    assert.equal(copy.slice(copy.indexOf('\n') + 1), fs.readFileSync(path.join(dir, 'hw4-gru.checks.cjs'), 'utf8'));
    const manifest = JSON.parse(fs.readFileSync(path.join(out, 'manifest.json'), 'utf8'));
    assert.deepEqual(manifest.notebooks.map((n) => [n.homework, n.maxPoints, n.checks, n.exercises]),
      [['hw4-gru', 3, 'hw4-gru.checks.cjs', [{ exercise: 'gruStepForward', function: 'gruStepForward', points: 3, title: 'GRU step, forward' }]]]);
    // The release folder's copy works for the student's notebook there: the stub scores 0, "not implemented".
    const stub = quietly(() => L.homeworkChecks(out).gruStepForward(() => { throw new Error('not implemented'); })).result;
    assert.match(stub.message, /^not implemented yet/);
    // A second run replaces its own files; --check sees them up to date, then out of date after an edit.
    assert.equal(release('--dir', dir).status, 0);
    assert.equal(release('--dir', dir, '--check').status, 0);
    fs.appendFileSync(path.join(dir, 'hw4-gru.checks.cjs'), '\n// edited\n');
    const stale = release('--dir', dir, '--check');
    assert.equal(stale.status, 1);
    assert.match(stale.stderr, /is out of date \(.*hw4-gru\.checks\.cjs\)/);
    // The heading must state the checks file's points.
    const src = path.join(dir, 'hw4-gru.ipynb');
    fs.writeFileSync(src, fs.readFileSync(src, 'utf8').replace('(3 points)', '(2 points)'));
    const bad = release('--dir', dir);
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /states 2 points but check\.gruStepForward gives 3/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('homework-release flags go through scripts/lib/args.mjs: an unknown flag or a stray word is an error with the usage line', () => {
  for (const [args, pattern] of [[['--bogus'], /unknown option --bogus/], [['extra'], /unexpected argument extra/], [['--dir'], /--dir needs a folder/]]) {
    const r = release(...args);
    assert.equal(r.status, 1, args.join(' '));
    assert.match(r.stderr, pattern);
    assert.match(r.stderr, /usage: node scripts\/homework\/homework-release\.mjs \[--check\] \[--dir DIR\]/);
  }
});

// A fresh-user trial found these: a homework folder outside the checkout (no node_modules beside it), a
// total row that disagrees with the exercises, --check's advice for a --dir release, a student without the
// checks file, and the grader's advice when a homework is not in its manifest.
test('a homework folder outside the checkout: its checks file finds rnn-lab and tf.js; release, --check and the metadata are right', () => {
  const { tmp, dir, ex } = makeExampleHomework();
  try {
    fs.rmSync(path.join(tmp, 'node_modules'));                // no link: nothing beside the folder resolves
    const checks = path.join(dir, 'hw4-gru.checks.cjs');
    fs.writeFileSync(checks, `const tfjs = require('@tensorflow/tfjs');\nif (typeof tfjs.tensor !== 'function') throw new Error('no tf.js');\n${ex.checks}`);
    const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k !== 'NODE_PATH'));
    const run = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'homework-release.mjs'), ...args], { encoding: 'utf8', cwd: tmp, env });
    const r = run('--dir', dir);
    assert.equal(r.status, 0, r.stderr);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'release', 'manifest.json'), 'utf8'));
    assert.equal(manifest.notebooks[0].file, path.join(dir, 'release', 'hw4-gru.ipynb'), 'outside the checkout the manifest holds absolute paths');
    assert.match(manifest.generatedBy, /scripts\/homework\/homework-release\.mjs/);
    const student = JSON.parse(fs.readFileSync(path.join(dir, 'release', 'hw4-gru.ipynb'), 'utf8'));
    assert.equal(student.metadata['rnn-lab'].homework, 'hw4-gru');
    fs.appendFileSync(checks, '// edited\n');
    const c = run('--dir', dir, '--check');
    assert.equal(c.status, 1);
    assert.match(c.stderr, new RegExp(`out of date .*run node scripts/homework/homework-release\\.mjs --dir ${dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    // A total row that says 4 while the exercise gives 3.
    const nbFile = path.join(dir, 'hw4-gru.ipynb');
    const nb = JSON.parse(fs.readFileSync(nbFile, 'utf8'));
    nb.cells[0].source = nb.cells[0].source.replace(/\*\*total\*\* \| \| \*\*(\d+)\*\*/, (_, p) => `**total** | | **${Number(p) + 1}**`);
    fs.writeFileSync(nbFile, JSON.stringify(nb));
    const t = run('--dir', dir);
    assert.equal(t.status, 1);
    assert.match(t.stderr, /the points table's total row in cell 0 says \d+, but the exercises' points add up to \d+ \(gruStepForward \d+\)/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('homeworkChecks: an exercise whose checks file is missing is named, with the folder and what to do', () => {
  const empty = fs.mkdtempSync(path.join(ROOT, '.tmp-teacher-'));
  try {
    const c = L.homeworkChecks(empty);
    assert.equal(typeof c.rnnStepForward, 'function', 'library exercises stay');
    assert.equal(c.then, undefined, 'not a thenable (await and display read .then)');
    assert.throws(() => c.gruStepForward(() => 0),
      new RegExp(`^Error: homeworkChecks: no exercise 'gruStepForward' in the library's checks or in a checks file in ${empty.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(no \\*\\.checks\\.cjs file there\\)\\. A homework's checks file, <homework id>\\.checks\\.cjs, must sit beside the notebook`));
  } finally {
    fs.rmSync(empty, { recursive: true, force: true });
  }
});

test('the grader: --homework not in the manifest and a missing --manifest say which manifest and how to point at another', () => {
  const grade = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), ...args], { encoding: 'utf8', cwd: ROOT });
  const sub = path.join(ROOT, 'homework', 'release', 'hw1-rnn-step.ipynb');
  const a = grade('--homework', 'hw9-none', '--out', path.join(ROOT, '.tmp-never.json'), sub);
  assert.equal(a.status, 2);
  assert.match(a.stderr, /^grade: --homework hw9-none is not in the manifest \(homeworks known from homework\/release\/manifest\.json: hw1-rnn-step, hw2-lstm-step, hw3-char-lm, hw4-sequences, hw5-attention; a homework released with `homework-release\.mjs --dir DIR` is graded with --manifest DIR\/release\/manifest\.json\)$/m);
  assert.doesNotMatch(a.stderr, /\n\s+at /, 'no stack trace for a wrong flag');
  const b = grade('--manifest', '/nonexistent/manifest.json', '--out', path.join(ROOT, '.tmp-never.json'), sub);
  assert.equal(b.status, 2);
  assert.match(b.stderr, /--manifest \/nonexistent\/manifest\.json: no such file; a release writes it as <homework folder>\/release\/manifest\.json/);
  assert.ok(!fs.existsSync(path.join(ROOT, '.tmp-never.json')));
});
