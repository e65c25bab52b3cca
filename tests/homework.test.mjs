// Homework: the release (student versions without solution text, an up-to-date manifest) and the
// grader (`npm run grade`) end to end: source notebooks score full points, released ones 0, a
// deliberately wrong solution loses exactly its exercise's points, and hanging, throwing, looping and
// memory-hungry submissions are scored within their time limits without stopping the grader.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, needs } from './helpers.mjs';
import { findPython, INSTALL_HINT, listNotebooks } from '../scripts/lib/jupyter.mjs';
import { buildRelease, stripSolutions, releaseNotebook, distinctiveLines, notebookExercises, RELEASE_DIR, HOMEWORK_DIR } from '../scripts/homework/homework-release.mjs';
import { parseArgs, graderCell, exerciseResult, identifyHomework, homeworkMismatch, cellLabel, declaredNames, traceLost, explainMissing, summaryLine } from '../scripts/homework/grade.mjs';
import { gradescopeResult } from '../scripts/homework/gradescope.mjs';
import { makeExampleHomework, exampleNotebook } from './teacher.mjs';

const require = createRequire(import.meta.url);
const { EXERCISES, loadChecksFile } = require(path.join(ROOT, 'dist', 'check.js'));
const SOURCES = listNotebooks(HOMEWORK_DIR);
const RELEASED = listNotebooks(RELEASE_DIR);
const text = (cell) => [].concat(cell.source).join('');
const readNb = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));

// ---------------------------------------------------------------------------------------------
// The release (no Jupyter needed)
// ---------------------------------------------------------------------------------------------

test('there are at least four homework notebooks, each with a released student version', () => {
  assert.ok(SOURCES.length >= 4, `homework/ has ${SOURCES.length} notebooks`);
  assert.deepEqual(RELEASED.map((f) => path.basename(f)), SOURCES.map((f) => path.basename(f)));
  for (const name of ['hw1-rnn-step', 'hw2-lstm-step', 'hw3-char-lm', 'hw4-sequences', 'hw5-attention']) assert.ok(SOURCES.some((f) => f.endsWith(`${name}.ipynb`)), name);
});

test('the committed release is what npm run homework:release writes (run it after editing a homework)', () => {
  const { files, leaks } = buildRelease();
  assert.deepEqual(leaks, []);
  for (const [file, content] of files) {
    assert.ok(fs.existsSync(file), `${path.relative(ROOT, file)} is missing: run npm run homework:release`);
    assert.equal(fs.readFileSync(file, 'utf8'), content, `${path.relative(ROOT, file)} is out of date: run npm run homework:release`);
  }
});

test('the release contains no solution text', () => {
  const known = [
    'tf.matMul(Whh, da, true)', 'tf.sub(1, tf.square(h))', 'dhNext = g.dhPrev', 'tf.sigmoid(pre(W.Wxf, W.Whf, W.bf))',
    'tf.mul(o, tf.tanh(c))', '(fPlus - fMinus) / (2 * eps)', 'Math.sqrt(sumSq)',
    'const dcTotal = tf.add(dc, tf.mul(tf.mul(dh, og), tf.sub(1, tf.square(tanhC))));', 'dcPrev: tf.mul(dcTotal, fg)',
    'state = cell.forward(x, state.h, state.c, W);', 'tf.add(dhs[t], dhNext)', 'tf.matMul(W.Whh, tf.mul(r, hPrev))',
    'logits.map((z) => z / temperature)', 'Math.exp(total / logits.length)', 'opts.optimizer.applyGradients(clipped.grads)',
  ];
  for (const file of RELEASED) {
    const raw = fs.readFileSync(file, 'utf8');
    const rel = path.relative(ROOT, file);
    assert.doesNotMatch(raw, /BEGIN SOLUTION|END SOLUTION/, `${rel}: a solution marker`);
    const nb = JSON.parse(raw);
    const code = nb.cells.map(text).join('\n');
    for (const line of known) assert.ok(!code.includes(line), `${rel} contains the solution line "${line}"`);
    // Every distinctive line of the source's solution blocks is gone.
    const source = readNb(path.join(HOMEWORK_DIR, path.basename(file)));
    const removed = source.cells.filter((c) => c.cell_type === 'code').flatMap((c) => stripSolutions(text(c)).removed);
    assert.ok(removed.length > 0, `${rel}: the source has solution blocks`);
    for (const line of distinctiveLines(removed)) assert.ok(!code.includes(line), `${rel} contains "${line}"`);
    // …while each exercise's function keeps its signature and throws 'not implemented'.
    const blocks = source.cells.map(text).join('\n').match(/BEGIN SOLUTION/g).length;
    assert.equal(code.match(/throw new Error\('not implemented'\);/g)?.length, blocks, `${rel}: one stub per solution block`);
    for (const c of nb.cells.filter((cc) => cc.cell_type === 'code')) {
      assert.deepEqual(c.outputs, []);
      assert.equal(c.execution_count, null);
    }
  }
  // And the sources do contain the known lines (so the search above means something).
  const all = SOURCES.map((f) => readNb(f).cells.map(text).join('\n')).join('\n');
  for (const line of known) assert.ok(all.includes(line), `the sources no longer contain "${line}": update this test`);
});

test('the manifest lists every notebook, exercise and point, in agreement with the library and the notebooks', () => {
  const manifest = JSON.parse(fs.readFileSync(path.join(RELEASE_DIR, 'manifest.json'), 'utf8'));
  assert.equal(manifest.notebooks.length, SOURCES.length);
  // A homework's own checks (a checks file beside its notebook, listed as `checks`) add to the library's.
  const own = (nb) => (nb.checks ? Object.fromEntries([...loadChecksFile(path.join(RELEASE_DIR, nb.checks))].map(([k, { def }]) => [k, def])) : {});
  const library = manifest.notebooks.flatMap((n) => n.exercises.map((e) => e.exercise)).filter((e) => !manifest.notebooks.some((n) => e in own(n))).sort();
  // A retired exercise (EXERCISES[x].retired) is still callable but in no homework: neither in a notebook nor in a total.
  const retired = Object.keys(EXERCISES).filter((e) => EXERCISES[e].retired);
  assert.ok(retired.includes('lstmParamCount'), 'lstmParamCount left hw2 (issue 17) and is retired');
  assert.deepEqual(library, Object.keys(EXERCISES).filter((e) => !retired.includes(e)).sort(), 'every check of the library that is not retired is used by exactly one homework');
  for (const nb of manifest.notebooks) {
    assert.ok(fs.existsSync(path.join(ROOT, nb.file)), nb.file);
    assert.equal(nb.maxPoints, nb.exercises.reduce((s, e) => s + e.points, 0));
    const table = { ...EXERCISES, ...own(nb) };
    for (const e of nb.exercises) {
      assert.equal(e.points, table[e.exercise].maxPoints, e.exercise);
      assert.equal(table[e.exercise].homework, nb.homework, `${e.exercise} belongs to ${nb.homework}`);
      assert.equal(e.function, table[e.exercise].fn);
    }
    // The notebook states each exercise's points in its heading and its total in the table.
    const md = readNb(path.join(ROOT, nb.source)).cells.filter((c) => c.cell_type === 'markdown').map(text).join('\n');
    // The total row counts the exercises and the written questions (graded by hand: handPoints).
    assert.match(md, new RegExp(`\\*\\*total\\*\\* \\| \\| \\*\\*${nb.maxPoints + (nb.handPoints ?? 0)}\\*\\*`));
  }
});

test('a retired exercise cannot go back into a notebook: the release refuses its check call', () => {
  const nb = (call, points) => ({ cells: [{ cell_type: 'markdown', source: `## Exercise 1 · Something (${points} points)` }, { cell_type: 'code', source: call }] });
  assert.throws(() => notebookExercises(nb('check.lstmParamCount(lstmParamCount);', 2), EXERCISES, 'x.ipynb'),
    /^Error: x\.ipynb: cell 1 calls check\.lstmParamCount, a retired exercise \(still callable, but in no homework's notebook or total\): remove that check$/);
  assert.deepEqual(notebookExercises(nb('check.gruStep(gruStepForward);', 3), EXERCISES, 'x.ipynb'),
    [{ exercise: 'gruStep', function: 'gruStepForward', points: 3, title: EXERCISES.gruStep.title }]);
});

test('stripSolutions keeps the signature, writes a TODO stub, and rejects unbalanced markers', () => {
  const src = 'function f(x: number): number {\n  // BEGIN SOLUTION: return twice x\n  return 2 * x;\n  // END SOLUTION\n}\nf(1);';
  const r = stripSolutions(src);
  assert.equal(r.source, "function f(x: number): number {\n  // TODO: return twice x\n  throw new Error('not implemented');\n}\nf(1);");
  assert.deepEqual(r.removed, ['  return 2 * x;']);
  assert.match(stripSolutions('{\n    // BEGIN SOLUTION\n    a();\n    // END SOLUTION\n}').source, /^ {4}\/\/ TODO: write your code here$/m);
  assert.throws(() => stripSolutions('// BEGIN SOLUTION\nx'), /never closed/);
  assert.throws(() => stripSolutions('x\n// END SOLUTION'), /without a BEGIN/);
  assert.throws(() => stripSolutions('// BEGIN SOLUTION\n// BEGIN SOLUTION\n// END SOLUTION'), /inside another/);
  const nb = { metadata: {}, cells: [{ cell_type: 'markdown', metadata: {}, source: 'see // BEGIN SOLUTION' }] };
  assert.throws(() => releaseNotebook(nb), /only allowed in code cells/);
});

test('grader helpers: options, the hidden-check cell, results only from RNN_LAB_RESULT lines, homework identification', () => {
  const o = parseArgs(['--out', 'x.json', '--cell-timeout=5', '--jobs', '2', 'a.ipynb', 'b.ipynb']);
  assert.equal(o.out, 'x.json');
  assert.equal(o.cellTimeout, 5);
  assert.equal(o.jobs, 2);
  assert.deepEqual(o.files, ['a.ipynb', 'b.ipynb']);
  assert.throws(() => parseArgs(['--cell-timeout', 'soon']), /must be a number/);
  assert.throws(() => parseArgs(['--bogus']), /unknown option/);
  const cell = graderCell({ exercise: 'bptt', function: 'bptt' }, 7);
  assert.match(cell, /@ts-ignore\n {2}const fn = typeof bptt === 'undefined' \? undefined : bptt;/);
  assert.match(cell, /gradeExercise\("bptt", fn, \{ hidden: true, seed: 7 \}\)/);
  const ex = { exercise: 'bptt', function: 'bptt', points: 4 };
  const line = (p) => `RNN_LAB_RESULT ${JSON.stringify({ exercise: 'bptt', points: p, maxPoints: 4, message: 'm' })}`;
  assert.equal(exerciseResult(ex, { status: 'ok', stdout: `noise\n${line(4)}\n` }, 60).points, 4);
  assert.equal(exerciseResult(ex, { status: 'ok', stdout: line(99) }, 60).points, 4, 'points are capped at the maximum');
  assert.match(exerciseResult(ex, { status: 'timeout', stdout: '' }, 60).message, /did not finish within 60 s/);
  assert.match(exerciseResult(ex, { status: 'error', stdout: '', error: 'boom' }, 60).message, /could not run: boom/);
  assert.equal(exerciseResult(ex, { status: 'ok', stdout: line(4).replace('bptt', 'other') }, 60).points, 0);
  const manifest = { notebooks: [
    { homework: 'hw1-rnn-step', exercises: [{ exercise: 'bptt', function: 'bptt' }] },
    { homework: 'hw3-char-lm', exercises: [{ exercise: 'perplexity', function: 'perplexity' }] },
  ] };
  const nb = (meta, src = '') => ({ metadata: meta, cells: [{ cell_type: 'code', source: src }] });
  assert.equal(identifyHomework(nb({ 'rnn-lab': { homework: 'hw3-char-lm' } }), 'x.ipynb', manifest).homework, 'hw3-char-lm');
  assert.equal(identifyHomework(nb({}), 'alice-hw1-rnn-step.ipynb', manifest).homework, 'hw1-rnn-step');
  assert.equal(identifyHomework(nb({}, 'function perplexity() {}'), 'alice.ipynb', manifest).homework, 'hw3-char-lm');
  assert.equal(identifyHomework(nb({}), 'alice.ipynb', manifest), null);
  // --homework forced: a notebook that says it is another homework's is not graded as this one.
  assert.match(homeworkMismatch(nb({ 'rnn-lab': { homework: 'hw2-lstm-step' } }), 'bob.ipynb', manifest, 'hw1-rnn-step'),
    /^this notebook is hw2-lstm-step's, not hw1-rnn-step's \(its metadata .*\): upload your hw1-rnn-step notebook$/);
  assert.equal(homeworkMismatch(nb({ 'rnn-lab': { homework: 'hw1-rnn-step' } }), 'bob-hw3-char-lm.ipynb', manifest, 'hw1-rnn-step'), null, 'the metadata wins over the file name');
  assert.match(homeworkMismatch(nb({}), 'bob-hw3-char-lm.ipynb', manifest, 'hw1-rnn-step'), /hw3-char-lm's, not hw1-rnn-step's \(its file name bob-hw3-char-lm.ipynb says so/);
  assert.equal(homeworkMismatch(nb({}), 'bob.ipynb', manifest, 'hw1-rnn-step'), null, 'nothing says otherwise');
  assert.equal(homeworkMismatch(nb({ 'rnn-lab': { homework: 'hw2-lstm-step' } }), 'bob.ipynb', manifest, undefined), null, 'not forced');
});

test('grader messages: cells named as a student finds them; a timed-out cell named as the cause of what it took with it', () => {
  // Ordinals written out here, not computed.
  assert.equal(cellLabel(1, '\n  import * as tf from x;\nmore'), 'the 1st code cell (starting `import * as tf from x;`)');
  assert.equal(cellLabel(2, 'a'), 'the 2nd code cell (starting `a`)');
  assert.equal(cellLabel(3, 'a'), 'the 3rd code cell (starting `a`)');
  assert.equal(cellLabel(11, 'a'), 'the 11th code cell (starting `a`)');
  assert.equal(cellLabel(12, 'a'), 'the 12th code cell (starting `a`)');
  assert.equal(cellLabel(22, 'a'), 'the 22nd code cell (starting `a`)');
  assert.equal(cellLabel(4, '/** Gradients of one step; each has the shape of it */'), 'the 4th code cell (starting `/** Gradients of one step; each has the…`)');
  assert.deepEqual(declaredNames('type G = {};\nexport function f(): G {\n  const local = 1;\n}\ninterface I {}\nconst x = 1, y = 2;\nwhile (true) {}'), ['G', 'f', 'I', 'x']);
  // The hw1 trial: cell 4 times out; 5 and 6 fail on what it declared; 7 fails on what 6 declared; 8 is its own error.
  const cells = [
    { source: 'export function fwd() {}', label: 'C1', codeCell: 1, status: 'ok' },
    { source: 'type G = {};\nexport function back(): G {}\nwhile (true) {}', label: 'C4', codeCell: 4, status: 'timeout', limit: 6 },
    { source: 'check.back(back);', label: 'C5', codeCell: 5, status: 'error', error: "TypeScriptError: 1:23 - Cannot find name 'back'." },
    { source: 'export function bptt(): G {}', label: 'C6', codeCell: 6, status: 'error', error: "TypeScriptError: 4:118 - Cannot find name 'G'." },
    { source: 'check.bptt(bptt);', label: 'C7', codeCell: 7, status: 'error', error: 'ReferenceError: bptt is not defined' },
    { source: 'export function other() { oops(); }', label: 'C8', codeCell: 8, status: 'error', error: "TypeScriptError: Cannot find name 'oops'." },
  ];
  const trace = traceLost(cells);
  assert.deepEqual([...trace.causes].map(([c, v]) => [c.label, v.root.label, v.uses]), [['C5', 'C4', ['back']], ['C6', 'C4', ['G']], ['C7', 'C4', ['bptt']]]);
  assert.equal(trace.lost.get('other'), undefined, "a cell's own error is not blamed on the timeout");
  const missing = (fn) => ({ exercise: fn, function: fn, points: 0, maxPoints: 4, passed: false, message: `no function named ${fn} is defined (was its cell deleted, renamed, or did it fail to compile?)` });
  assert.equal(explainMissing(missing('back'), trace).message,
    'no function named back is defined: C4, which defines it, ran longer than the time limit (6 s) and was interrupted, so what it defines does not exist. ' +
    'Make that cell finish within the limit (Kernel → Restart & Run All runs the notebook as the grader does) and submit again.');
  assert.match(explainMissing(missing('bptt'), trace).message, /^no function named bptt is defined: C6, which defines it, failed \(it uses G\) because C4 ran longer than the time limit \(6 s\) and was interrupted, so what it defines does not exist\./);
  assert.equal(explainMissing(missing('other'), trace).message, missing('other').message, 'not explained when it does not follow from the timeout');
  assert.equal(explainMissing(missing('fwd'), trace).message, missing('fwd').message);
  const wrong = { ...missing('back'), message: 'test 1 of 5: dh is wrong' };
  assert.equal(explainMissing(wrong, trace), wrong, 'only a missing function is explained');
  // Without a timeout nothing is blamed; a kernel crash is named as such.
  assert.equal(traceLost(cells.map((c) => ({ ...c, status: c.status === 'timeout' ? 'ok' : c.status }))).lost.size, 0);
  const died = traceLost(cells.map((c) => (c.status === 'timeout' ? { ...c, status: 'died', error: 'the kernel died while running this cell: it ran out of memory (…)' } : c)));
  assert.match(explainMissing(missing('back'), died).message, /: C4, which defines it, crashed the kernel \(it ran out of memory\) and was skipped, so what it defines does not exist\. Fix that cell/);
  // The summary and Gradescope put the cause first.
  const entry = { submission: 's.ipynb', homework: 'hw1-rnn-step', student: null, points: 2, maxPoints: 10, seconds: 1,
    exercises: [{ exercise: 'back', points: 0, maxPoints: 4, message: 'm' }],
    cells: { total: 6, timedOut: [{ cell: 7, codeCell: 4, label: 'the 4th code cell (starting `type G`)', status: 'timeout', limit: 6, defines: ['G', 'back'] }],
      errors: [{ cell: 8, codeCell: 5, label: 'the 5th code cell (starting `check`)', error: "Cannot find name 'back'.", after: 4, uses: ['back'] },
        { cell: 13, codeCell: 8, label: 'the 8th code cell (starting `x`)', error: "Cannot find name 'oops'." }], skipped: [] } };
  assert.match(summaryLine(entry), /; 1 cell timed out or crashed the kernel \(the 4th code cell\); 2 cell errors \(1 follows from it\)\)/);
  const hw = { homework: 'hw1-rnn-step', title: 'HW1', maxPoints: 10, exercises: [{ exercise: 'back', function: 'back', points: 4 }] };
  assert.deepEqual(gradescopeResult({ hw, entry }).output.split('\n'), [
    'HW1: 0/10 points.',
    'The 4th code cell (starting `type G`) ran longer than the time limit (6 s) and was interrupted, so what it defines (G, back) does not exist for the cells after it.',
    "The 5th code cell (starting `check`) raised an error: Cannot find name 'back'. — it uses back, which does not exist because of the 4th code cell",
    "The 8th code cell (starting `x`) raised an error: Cannot find name 'oops'.",
  ]);
});

// ---------------------------------------------------------------------------------------------
// The grader, end to end (Jupyter)
// ---------------------------------------------------------------------------------------------

const hasJupyter = () => findPython(['nbclient', 'nbformat', 'jupyter_client']);

/** Run `node scripts/homework/grade.mjs …` and resolve to { code, stdout, stderr, seconds, report }. */
function grade(args, out) {
  return new Promise((resolve) => {
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', out, ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => {
      const report = fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null;
      resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000, report });
    });
  });
}

/** A copy of a source notebook with string replacements in its code (each must apply) and extra cells. */
function variant(dir, source, name, { replace = [], insert = [], remove = [] } = {}) {
  const nb = readNb(path.join(HOMEWORK_DIR, `${source}.ipynb`));
  for (const what of remove) {
    const i = nb.cells.findIndex((c) => c.cell_type === 'code' && text(c).includes(what));
    assert.ok(i >= 0, `${source}: no code cell contains ${JSON.stringify(what)}`);
    nb.cells.splice(i, 1);
  }
  for (const [from, to] of replace) {
    const cell = nb.cells.find((c) => c.cell_type === 'code' && text(c).includes(from));
    assert.ok(cell, `${source}: no code cell contains ${JSON.stringify(from)}`);
    cell.source = text(cell).split(from).join(to);
  }
  for (const [after, src] of insert) {
    const i = nb.cells.findIndex((c) => text(c).includes(after));
    assert.ok(i >= 0, `${source}: no cell contains ${JSON.stringify(after)}`);
    nb.cells.splice(i + 1, 0, { cell_type: 'code', id: `added${i}`, metadata: {}, source: src, outputs: [], execution_count: null });
  }
  const file = path.join(dir, `${name}.ipynb`);
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

const byExercise = (entry) => Object.fromEntries(entry.exercises.map((e) => [e.exercise, e]));
/** Seconds the grader took for the clean hw1 source (first grader test), the baseline for the time bounds. */
let baselineHw1 = null;

test('the grader: solutions score full points, released notebooks 0, a wrong solution loses exactly its exercise', async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hw-test-'));
  try {
    const wrong = {
      // a missing transpose in the backward pass: W_hh δ instead of W_hhᵀ δ
      'hw1-missing-transpose': variant(dir, 'hw1-rnn-step', 'hw1-missing-transpose', { replace: [['dhPrev: tf.matMul(Whh, da, true),', 'dhPrev: tf.matMul(Whh, da),']] }),
      // a forget gate with tanh instead of σ
      'hw2-tanh-forget': variant(dir, 'hw2-lstm-step', 'hw2-tanh-forget', { replace: [['const f = tf.sigmoid(pre(W.Wxf', 'const f = tf.tanh(pre(W.Wxf']] }),
      // the step backward without the path from c_t through h_t (only the upstream dc)
      'hw2-dc-only': variant(dir, 'hw2-lstm-step', 'hw2-dc-only', { replace: [['const dcTotal = tf.add(dc, tf.mul(tf.mul(dh, og), tf.sub(1, tf.square(tanhC))));', 'const dcTotal = dc;']] }),
      // clipping by the squared norm (the slide's slip) and the temperature applied after the softmax
      'hw3-two-slips': variant(dir, 'hw3-char-lm', 'hw3-two-slips', { replace: [
        ['const norm = Math.sqrt(sumSq);', 'const norm = sumSq;'],
        ['logits.map((z) => z / temperature)', 'logits.map((z) => z)'],
        ['weights.map((w) => w / total)', 'weights.map((w) => w / total / temperature)'],
      ] }),
      // a repeated word's embedding gradient assigned instead of accumulated, and the loss divided by the batch size
      'hw4-two-slips': variant(dir, 'hw4-sequences', 'hw4-two-slips', { replace: [
        ['dW[i * V + v] += g[i][b];', 'dW[i * V + v] = g[i][b];'],
        ['const N = mask.flat().reduce((a, b) => a + b, 0);', 'const N = mask[0].length;'],
      ] }),
      // the mask applied after the softmax, and beam search that forgets to add the log-probabilities
      'hw5-two-slips': variant(dir, 'hw5-attention', 'hw5-two-slips', { replace: [
        ['const masked = tf.where(real, e, tf.fill(e.shape, -Infinity));', 'const masked = e;'],
        ['return tf.transpose(tf.softmax(tf.transpose(masked))) as tf.Tensor2D;', 'return tf.mul(tf.transpose(tf.softmax(tf.transpose(masked))), tf.cast(real, \'float32\')) as tf.Tensor2D;'],
        ['score: h.score + lp,', 'score: lp,'],
      ] }),
    };
    const files = [...SOURCES, ...RELEASED, ...Object.values(wrong)];
    const out = path.join(dir, 'grades.json');
    const r = await grade(['--cell-timeout', '60', '--jobs', '2', ...files], out);
    console.log(r.stdout.trim());
    assert.equal(r.code, 0, r.stderr);
    const entries = Object.fromEntries(r.report.submissions.map((s) => [s.submission, s]));
    baselineHw1 = entries[SOURCES.find((f) => f.endsWith('hw1-rnn-step.ipynb'))].seconds;
    for (const f of SOURCES) {
      const e = entries[f];
      assert.equal(e.points, e.maxPoints, `${f}: ${JSON.stringify(e.exercises)}`);
      assert.deepEqual(e.cells.errors, [], `${f}: cell errors`);
    }
    for (const f of RELEASED) {
      const e = entries[f];
      assert.equal(e.points, 0, f);
      assert.ok(e.exercises.every((x) => /not implemented yet/.test(x.message)), `${f}: ${JSON.stringify(e.exercises)}`);
      // …and the released notebook ran to the end: no error, no timeout, no cell left unrun.
      assert.deepEqual(e.cells.errors, [], `${f}: a released cell failed`);
      assert.deepEqual(e.cells.timedOut, []);
      assert.deepEqual(e.cells.skipped, []);
      assert.equal(e.outcome, 'done');
    }
    const expectLoss = (file, broken) => {
      const e = entries[file];
      const ex = byExercise(e);
      const lost = broken.reduce((s, [name]) => s + EXERCISES[name].maxPoints, 0);
      assert.equal(e.points, e.maxPoints - lost, `${path.basename(file)}: ${JSON.stringify(e.exercises)}`);
      for (const [name, pattern] of broken) {
        assert.equal(ex[name].points, 0);
        assert.match(ex[name].message, pattern);
      }
      for (const x of e.exercises) if (!broken.some(([name]) => name === x.exercise)) assert.equal(x.points, x.maxPoints, `${x.exercise} should be unaffected`);
      console.log(`  ${path.basename(file)}: ${e.points}/${e.maxPoints} — ${broken.map(([name]) => `${name}: ${ex[name].message}`).join(' | ')}`);
    };
    expectLoss(wrong['hw1-missing-transpose'], [['rnnStepBackward', /a transpose is missing/]]);
    expectLoss(wrong['hw2-tanh-forget'], [['lstmStepForward', /forget gate looks like tanh, not σ/]]);
    expectLoss(wrong['hw2-dc-only'], [['lstmStepBackward', /c_t reaches the loss twice/]]);
    expectLoss(wrong['hw3-two-slips'], [['clipByGlobalNorm', /squared norm/], ['sampleWithTemperature', /after the softmax|temperature has no effect/]]);
    expectLoss(wrong['hw4-two-slips'], [['embeddingBackward', /OVERWRITE its column/], ['temporalSoftmaxLoss', /batch size B \(CS231n's convention\)/]]);
    expectLoss(wrong['hw5-two-slips'], [['attentionWeights', /mask seems to be applied AFTER the softmax/], ['beamSearch', /only its last token's log-probability|only the last token's log-probability/]]);
    assert.match(r.stdout, /^ *10\/10 {2}hw1-rnn-step/m, 'a summary line per submission');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the grader: hanging, throwing, looping, memory-hungry and tf.js-breaking submissions are scored within their limits', async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hw-test-'));
  const limit = 20;
  try {
    const after = 'check.rnnStepForward(rnnStepForward);';
    const files = {
      // a cell that never ends, and a cell that throws at the top level
      hangs: variant(dir, 'hw1-rnn-step', 'hw1-hangs', { insert: [[after, 'while (true) {}'], ['check.rnnStepBackward(rnnStepBackward);', "throw new Error('student crash');"]] }),
      // bptt never returns (and the student removed the cells that call it): the hidden check hits the limit
      loops: variant(dir, 'hw1-rnn-step', 'hw1-bptt-loops', {
        replace: [['const hs = [h0];', 'while (xs.length > 0) {}\n  const hs = [h0];']],
        remove: ['check.bptt(bptt);', 'This part runs once exercises 1-3 work'],
      }),
      // a cell that exhausts the kernel's heap: the kernel dies and a fresh one re-runs the other cells
      memory: variant(dir, 'hw1-rnn-step', 'hw1-memory', { insert: [[after, 'const hog: number[][] = [];\nwhile (true) hog.push(new Array(1e6).fill(1.5));']] }),
      // an op too large for tf.js's WebAssembly memory: the kernel lives, its tf.js does not; a fresh
      // kernel re-runs the checks, which would otherwise all fail whatever the answers
      wasm: variant(dir, 'hw3-char-lm', 'hw3-wasm-trap', { insert: [['check.clipByGlobalNorm(clipByGlobalNorm);', "import * as tfw from '@tensorflow/tfjs';\nconst pairs = tfw.matMul(tfw.ones([40000, 8]), tfw.ones([8, 40000]));"]] }),
    };
    const out = path.join(dir, 'grades.json');
    // Three at a time: two of them spend most of their time waiting for a limit to pass.
    const r = await grade(['--cell-timeout', String(limit), '--memory', '512', '--jobs', '3', ...Object.values(files)], out);
    // A hang may cost one cell limit on top of a normal run. On a loaded machine a normal run of hw1 can
    // itself take most of a limit, so the bound is 3 limits or the measured normal run plus a limit.
    const normal = baselineHw1 ?? 30;
    const bound = (hangs) => Math.max(3 * limit, hangs * limit + 2 * normal + 10);
    console.log(r.stdout.trim());
    assert.equal(r.code, 0, r.stderr);
    const entries = Object.fromEntries(r.report.submissions.map((s) => [s.submission, s]));

    const hangs = entries[files.hangs];
    assert.equal(hangs.points, 10, JSON.stringify(hangs.exercises));
    assert.equal(hangs.cells.timedOut.length, 1);
    assert.equal(hangs.cells.errors.length, 1);
    assert.match(hangs.cells.errors[0].error, /student crash/);
    assert.ok(hangs.seconds < bound(1), `a hanging cell: ${hangs.seconds} s for the submission (limit ${limit} s per cell, normal run ${normal} s)`);

    const loops = entries[files.loops];
    const ex = byExercise(loops);
    assert.equal(ex.bptt.points, 0);
    assert.match(ex.bptt.message, /did not finish within 20 s/);
    assert.equal(loops.points, 6, 'only bptt is lost');
    assert.ok(loops.seconds < bound(1), `a looping function: ${loops.seconds} s for the submission (limit ${limit} s, normal run ${normal} s)`);

    const memory = entries[files.memory];
    assert.equal(memory.points, 10, JSON.stringify(memory.exercises));
    assert.equal(memory.cells.timedOut.length, 1);
    assert.equal(memory.cells.timedOut[0].status, 'died');
    assert.match(memory.cells.timedOut[0].note, /ran out of memory/);
    assert.equal(memory.kernels, 2, 'a fresh kernel re-ran the other cells');
    assert.ok(memory.seconds < 3 * normal + 30, `a kernel killed by memory: ${memory.seconds} s (normal run ${normal} s)`);
    const wasm = entries[files.wasm];
    assert.equal(wasm.points, wasm.maxPoints, `a trap in tf.js's WebAssembly memory cost points: ${JSON.stringify(wasm.exercises)}`);
    assert.equal(wasm.cells.errors.length, 1, JSON.stringify(wasm.cells));
    assert.match(wasm.cells.errors[0].error, /^RuntimeError: /);
    assert.equal(wasm.kernels, 2, 'a fresh kernel re-ran the other cells and the checks');
    console.log(`  grader wall time ${r.seconds.toFixed(1)} s; per submission: hangs ${hangs.seconds} s, loops ${loops.seconds} s, memory ${memory.seconds} s, wasm ${wasm.seconds} s`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the grader: a timed-out cell that declares a type used later is named as the cause in the later exercises, first in the notes', async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hw-test-'));
  const limit = 6;   // a normal hw1 cell takes a second or two
  try {
    // The trial's submission: a loop after the correct rnnStepBackward, in the cell that declares the type
    // RnnStepGrads, which bptt's cell uses.
    const nb = readNb(path.join(HOMEWORK_DIR, 'hw1-rnn-step.ipynb'));
    const code = nb.cells.filter((c) => c.cell_type === 'code');
    const hang = code.findIndex((c) => /^type RnnStepGrads\b/m.test(text(c)) && /^(export )?function rnnStepBackward\b/m.test(text(c)));
    const later = code.findIndex((c) => /^(export )?function bptt\b/m.test(text(c)));
    assert.ok(hang >= 0 && later > hang && /RnnStepGrads/.test(text(code[later])), 'hw1: RnnStepGrads, rnnStepBackward, then bptt using the type');
    code[hang].source = `${text(code[hang])}\nwhile (true) {}\n`;
    const file = path.join(dir, 'dave-hw1-rnn-step.ipynb');
    fs.writeFileSync(file, JSON.stringify(nb));
    const first = (c) => text(c).split('\n').find((l) => l.trim()).trim().slice(0, 20);
    const esc = (x) => x.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
    // Written from the notebook here: code cells counted from 1 (hang + 1), and the cell's first line.
    const hangName = `the ${['1st', '2nd', '3rd'][hang] ?? `${hang + 1}th`} code cell (starting \`${first(code[hang])}`;
    const laterName = `the ${later + 1}th code cell (starting \`${first(code[later])}`;
    const out = path.join(dir, 'grades.json');
    const r = await grade(['--cell-timeout', String(limit), file], out);
    console.log(r.stdout.trim());
    assert.equal(r.code, 0, r.stderr);
    const e = r.report.submissions[0];
    const ex = byExercise(e);
    assert.equal(e.cells.timedOut.length, 1, JSON.stringify(e.cells));
    assert.equal(e.cells.timedOut[0].codeCell, hang + 1);
    assert.equal(ex.rnnStepForward.points, ex.rnnStepForward.maxPoints, 'a cell before the loop keeps its points');
    assert.equal(ex.rnnStepBackward.points, 0);
    assert.equal(ex.bptt.points, 0);
    const interrupted = `ran longer than the time limit \\(${limit} s\\) and was interrupted, so what it defines does not exist`;
    assert.match(ex.rnnStepBackward.message, new RegExp(`^no function named rnnStepBackward is defined: ${esc(hangName)}[^)]*\\), which defines it, ${interrupted}`));
    assert.match(ex.bptt.message, new RegExp(`^no function named bptt is defined: ${esc(laterName)}[^)]*\\), which defines it, failed \\(it uses RnnStepGrads\\) because ${esc(hangName)}[^)]*\\) ${interrupted}`));
    for (const x of [ex.rnnStepBackward, ex.bptt]) assert.doesNotMatch(x.message, /was its cell deleted/);
    // Every error of a later cell is traced to it; the summary line names the timeout before the errors.
    assert.ok(e.cells.errors.length >= 2 && e.cells.errors.every((c) => c.after === hang + 1), JSON.stringify(e.cells.errors));
    assert.match(r.stdout, new RegExp(`1 cell timed out or crashed the kernel \\(${esc(hangName.split(' (')[0])}\\); ${e.cells.errors.length} cell errors \\(${e.cells.errors.length} follow from it\\)`));
    // Gradescope's output: the timeout is the first note, the errors after it say where they come from.
    const hw = JSON.parse(fs.readFileSync(path.join(RELEASE_DIR, 'manifest.json'), 'utf8')).notebooks.find((n) => n.homework === 'hw1-rnn-step');
    const lines = gradescopeResult({ hw, entry: e }).output.split('\n');
    assert.match(lines[1], new RegExp(`^The ${esc(hangName.slice(4))}.* ran longer than the time limit \\(${limit} s\\) and was interrupted, so what it defines \\(RnnStepGrads, rnnStepBackward\\) does not exist`));
    assert.ok(lines.slice(2).every((l) => / raised an error: .* which (do|does) not exist because of the /.test(l)), lines.join('\n'));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("the grader: a teacher's exercise (the README's GRU checks file) scores a right and a wrong submission", async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const { tmp, dir, ex } = makeExampleHomework();
  try {
    const rel = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'homework-release.mjs'), '--dir', dir], { encoding: 'utf8', cwd: ROOT });
    assert.equal(rel.status, 0, rel.stderr);
    // z and 1 − z swapped in the student's solution
    const from = 'tf.add(tf.mul(z, hPrev), tf.mul(tf.sub(1, z), hTilde))';
    assert.ok(ex.solution.includes(from), 'the README solution changed: update this test');
    const wrong = path.join(tmp, 'bob-hw4-gru.ipynb');
    fs.writeFileSync(wrong, JSON.stringify(exampleNotebook(ex, { solution: ex.solution.replace(from, 'tf.add(tf.mul(tf.sub(1, z), hPrev), tf.mul(z, hTilde))') })));
    const right = path.join(dir, 'hw4-gru.ipynb');
    const stub = path.join(dir, 'release', 'hw4-gru.ipynb');
    const out = path.join(tmp, 'grades.json');
    const r = await grade(['--manifest', path.join(dir, 'release', 'manifest.json'), '--jobs', '2', right, stub, wrong], out);
    console.log(r.stdout.trim());
    assert.equal(r.code, 0, r.stderr);
    const entries = Object.fromEntries(r.report.submissions.map((s) => [s.submission, s]));
    const ok = entries[right];
    assert.equal(ok.homework, 'hw4-gru');
    assert.deepEqual([ok.points, ok.maxPoints], [3, 3], JSON.stringify(ok.exercises));
    assert.deepEqual(ok.cells.errors, [], 'the notebook ran: homeworkChecks() found the checks file in the kernel\'s folder');
    assert.match(ok.exercises[0].message, /^all 4 tests pass/, 'the hidden cases (four) were graded');
    assert.equal(entries[stub].points, 0);
    assert.match(entries[stub].exercises[0].message, /not implemented yet/);
    assert.deepEqual(entries[stub].cells.errors, []);
    const bad = entries[wrong];
    assert.equal(bad.points, 0, JSON.stringify(bad.exercises));
    assert.match(bad.exercises[0].message, /is wrong in .* Hint: z and 1 − z are swapped/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

/** Pids of live processes whose environment holds `mark` (grade.py, kernels, their launchers). */
function markedProcesses(mark) {
  const pids = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`RNN_LAB_TEST_MARK=${mark}`)) {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        if (!/\) Z /.test(stat)) pids.push({ pid: Number(d), cmd: fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').join(' ') });
      }
    } catch { /* gone, or not ours to read */ }
  }
  return pids;
}

// Twice: while the kernel starts, 0.6 s after its process appears (the client still waits for it to be ready: a Ctrl-C
// there once left the kernel running, unrecorded) and 3 s later, inside the hanging cell.
for (const [when, waitFor, waitMs] of [['while the kernel starts', 'kernel.cjs', 600], ['inside a hanging cell', 'kernel.cjs', 3000]]) test(`Ctrl-C on the grader ${when} stops grade.py and the kernels running submissions, and writes no report`, async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  if (!fs.existsSync('/proc/self/environ')) { t.skip('needs /proc to find the processes the grader started'); return; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hw-int-'));
  const mark = `${process.pid}-${Date.now()}`;
  try {
    const hangs = variant(dir, 'hw1-rnn-step', 'hw1-hangs-forever', { insert: [['check.rnnStepForward(rnnStepForward);', 'while (true) {}']] });
    const out = path.join(dir, 'grades.json');
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', out, '--cell-timeout', '120', hangs],
      { cwd: ROOT, env: { ...process.env, RNN_LAB_TEST_MARK: mark } });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    const exited = new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    // Wait until the kernel's launcher has started (it and kernel.cjs carry the mark), or the kernel itself.
    const deadline = Date.now() + 60000;
    while (Date.now() < deadline && !markedProcesses(mark).some((p) => p.cmd.includes(waitFor))) await new Promise((r) => setTimeout(r, 50));
    const before = markedProcesses(mark);
    assert.ok(before.some((p) => p.cmd.includes(waitFor)), `no ${waitFor} started within 60 s:\n${stderr}`);
    await new Promise((r) => setTimeout(r, waitMs));
    const t0 = Date.now();
    child.kill('SIGINT');
    const { code } = await exited;
    let left = markedProcesses(mark);
    while (Date.now() - t0 < 10000 && left.length > 0) { await new Promise((r) => setTimeout(r, 250)); left = markedProcesses(mark); }
    t.diagnostic(`${when}: before Ctrl-C: ${before.length} processes (${before.map((p) => path.basename(p.cmd.split(' ')[1] ?? p.cmd)).join(', ')}); ${left.length} left ${((Date.now() - t0) / 1000).toFixed(1)} s after`);
    assert.equal(code, 130, stderr);
    assert.match(stderr, /stopped by SIGINT; 1 submission\(s\) being graded were stopped, no report written/);
    assert.deepEqual(left.map((p) => p.cmd), [], 'processes still running 10 s after Ctrl-C');
    assert.ok(!fs.existsSync(out), 'a report was written after Ctrl-C');
  } finally {
    for (const p of markedProcesses(mark)) { try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } }
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
