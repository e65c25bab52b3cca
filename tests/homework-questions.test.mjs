// Written questions graded by hand, and the library's answer flagged by the grader. The release keeps a
// question and blanks its answer cell (refusing a model answer outside its markers), the manifest lists the
// questions with their points, the total row counts exercises and questions, and the grader (JSON, CSV,
// Gradescope, the summary line) reports each question as "to be graded by hand" with its points and the
// student's answer, never adding those points to the automatic score. End to end (Jupyter): a submission whose
// clipByGlobalNorm calls the library's scores 0 for that exercise with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { releaseNotebook, notebookQuestions, checkTotalRow, blankAnswer, buildRelease, ANSWER_PLACEHOLDER, RELEASE_DIR, HOMEWORK_DIR } from '../scripts/homework/homework-release.mjs';
import { questionAnswers, csvTable, summaryLine, HAND_GRADED } from '../scripts/homework/grade.mjs';
import { gradescopeResult } from '../scripts/homework/gradescope.mjs';

const text = (cell) => [].concat(cell.source).join('');
const readNb = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const md = (source, metadata = {}) => ({ cell_type: 'markdown', metadata, source });
const code = (source) => ({ cell_type: 'code', metadata: {}, source, outputs: [], execution_count: null });
const answerCell = (id, source) => md(source, { 'rnn-lab': { answer: id } });

/** A small homework source: one exercise (2 points) and one question (3 points). */
function sourceNb({ answer = '<!-- BEGIN ANSWER -->\nThe bias is added to every column, so the chain rule sums over them.\n<!-- END ANSWER -->', total = 5 } = {}) {
  return {
    metadata: {},
    cells: [
      md(`# HW\n\n| exercise | function | points |\n|---|---|---|\n| **total** | | **${total}** |`),
      md('## Exercise 1 · Step (2 points)'),
      code('function rnnStepForward() {\n  // BEGIN SOLUTION: return h\n  return 1;\n  // END SOLUTION\n}'),
      code('check.rnnStepForward(rnnStepForward);'),
      md('## Question 1 · Why a sum (3 points, graded by hand)\n\nExplain why db_h sums over the batch.'),
      answerCell('whySum', answer),
    ],
  };
}

test('the release keeps a question, blanks its answer cell, and refuses a model answer that would leak', () => {
  const nb = sourceNb();
  const { nb: out, removed } = releaseNotebook(nb, 'hw.ipynb');
  assert.equal(text(out.cells[4]), text(nb.cells[4]), 'the question is kept as it is');
  assert.equal(text(out.cells[5]), ANSWER_PLACEHOLDER, 'the answer cell holds only the placeholder');
  assert.deepEqual(out.cells[5].metadata, { 'rnn-lab': { answer: 'whySum' } }, 'the answer cell keeps its id');
  assert.ok(removed.some((l) => l.includes('chain rule sums over them')), 'the model answer is among the removed lines');
  // The questions and their points; the total row counts exercises and questions.
  assert.deepEqual(notebookQuestions(nb, 'hw').map((q) => [q.question, q.title, q.points]), [['whySum', 'Why a sum', 3]]);
  checkTotalRow(nb, [{ exercise: 'rnnStepForward', points: 2 }], 'hw', notebookQuestions(nb, 'hw'));
  assert.throws(() => checkTotalRow(sourceNb({ total: 2 }), [{ exercise: 'rnnStepForward', points: 2 }], 'hw', notebookQuestions(nb, 'hw')),
    /says 2, but the exercises' and questions' points add up to 5 \(rnnStepForward 2, whySum 3 by hand\)/);
  // A model answer outside the markers, unbalanced markers, a marker in another cell: refused.
  assert.throws(() => releaseNotebook(sourceNb({ answer: 'The bias is added to every column.' }), 'hw.ipynb'), /text outside <!-- BEGIN ANSWER --> … <!-- END ANSWER --> would reach the students \("The bias is added/);
  assert.throws(() => releaseNotebook(sourceNb({ answer: '<!-- BEGIN ANSWER -->\nx' }), 'hw.ipynb'), /unbalanced/);
  const stray = sourceNb();
  stray.cells[4].source += '\n<!-- BEGIN ANSWER -->secret<!-- END ANSWER -->';
  assert.throws(() => releaseNotebook(stray, 'hw.ipynb'), /has an ANSWER marker but is no answer cell/);
  // The placeholder alone (or nothing) next to the markers is fine.
  assert.equal(blankAnswer(`${ANSWER_PLACEHOLDER}\n\n<!-- BEGIN ANSWER -->\nx\n<!-- END ANSWER -->`).text, ANSWER_PLACEHOLDER);
  // A question without its answer cell, and an answer cell without a question.
  const lost = sourceNb();
  lost.cells.splice(5, 1);
  assert.throws(() => notebookQuestions(lost, 'hw'), /has no answer cell after it/);
  const orphan = sourceNb();
  orphan.cells.splice(4, 1);
  assert.throws(() => notebookQuestions(orphan, 'hw'), /does not follow a "## Question k · Title \(N points, graded by hand\)" cell/);
});

test('the committed hw1 and hw3 releases have their questions, empty answer cells, and the manifest lists them', () => {
  const { manifest } = buildRelease();
  const byId = Object.fromEntries(manifest.notebooks.map((n) => [n.homework, n]));
  assert.deepEqual(byId['hw1-rnn-step'].questions.map((q) => [q.question, q.points]), [['dbhSum', 2], ['vanishingDh0', 2]]);
  assert.deepEqual(byId['hw3-char-lm'].questions.map((q) => [q.question, q.points]), [['globalVsEntry', 2]]);
  for (const id of ['hw1-rnn-step', 'hw3-char-lm']) {
    const n = byId[id];
    assert.equal(n.handPoints, n.questions.reduce((s, q) => s + q.points, 0));
    assert.equal(n.totalPoints, n.maxPoints + n.handPoints);
    const released = readNb(path.join(RELEASE_DIR, `${id}.ipynb`));
    const source = readNb(path.join(HOMEWORK_DIR, `${id}.ipynb`));
    const answers = released.cells.filter((c) => c.metadata?.['rnn-lab']?.answer);
    assert.equal(answers.length, n.questions.length);
    for (const c of answers) assert.equal(text(c), ANSWER_PLACEHOLDER);
    const raw = JSON.stringify(released);
    assert.doesNotMatch(raw, /BEGIN ANSWER|END ANSWER/);
    // No line of a model answer reaches the students; the question texts do.
    for (const c of source.cells.filter((cc) => cc.metadata?.['rnn-lab']?.answer)) {
      for (const line of text(c).split('\n').filter((l) => l.length > 30 && !/ANSWER/.test(l))) assert.ok(!released.cells.some((r) => text(r).includes(line)), `${id}: "${line}"`);
    }
    for (const q of n.questions) assert.ok(released.cells.some((c) => text(c).includes(`${q.title} (${q.points} points, graded by hand)`)), q.question);
    const md2 = released.cells.filter((c) => c.cell_type === 'markdown').map(text).join('\n');
    assert.match(md2, new RegExp(`\\*\\*total\\*\\* \\| \\| \\*\\*${n.totalPoints}\\*\\*`), `${id}: the total row counts exercises and questions`);
    // Hints are collapsed, and the TODO lines give no recipe.
    assert.match(md2, /<details><summary>Hint<\/summary>/);
  }
  const todos = (id) => readNb(path.join(RELEASE_DIR, `${id}.ipynb`)).cells.map(text).join('\n').match(/\/\/ TODO: .*/g);
  assert.ok(!todos('hw1-rnn-step').some((l) => /delta|1 - h\^2|tanh\(a_t\)|backward from/.test(l)), todos('hw1-rnn-step').join('\n'));
  assert.ok(!todos('hw3-char-lm').some((l) => /logsumexp|cumulative|rescale only/.test(l)), todos('hw3-char-lm').join('\n'));
});

const QUESTIONS = [{ question: 'whySum', title: 'Why a sum', points: 3 }, { question: 'decay', title: 'Decay', points: 2 }];

test('the grader reads each answer from its cell: the text, or "no answer", always to be graded by hand', () => {
  const nb = { cells: [
    md('## Question 1 · Why a sum (3 points, graded by hand)\n\ntext'), answerCell('whySum', 'Because the bias is **broadcast**.\n\nSo the chain rule sums.'),
    md('## Question 2 · Decay (2 points, graded by hand)\n\ntext'), answerCell('decay', ANSWER_PLACEHOLDER),
  ] };
  const [a, b] = questionAnswers(nb, QUESTIONS);
  assert.deepEqual(a, { question: 'whySum', title: 'Why a sum', points: null, maxPoints: 3, status: HAND_GRADED, answered: true,
    answer: 'Because the bias is **broadcast**.\n\nSo the chain rule sums.', message: 'to be graded by hand (3 points)' });
  assert.equal(b.answered, false);
  assert.equal(b.answer, '');
  assert.match(b.message, /^to be graded by hand \(2 points\): no answer was written/);
  // An editor that dropped the cell's metadata: the markdown after the heading is the answer.
  const lost = { cells: [md('## Question 1 · Why a sum (3 points, graded by hand)\n\ntext'), md('my own words'), code('x'), md('## Question 2 · Decay (2 points, graded by hand)')] };
  const [c, d] = questionAnswers(lost, QUESTIONS);
  assert.equal(c.answer, 'my own words');
  assert.equal(d.answered, false);
});

test('the report, the CSV, Gradescope and the summary line state the automatic points and the points pending by hand', () => {
  const questions = questionAnswers({ cells: [answerCell('whySum', 'line one, "quoted"\nline two')] }, QUESTIONS);
  const entry = { submission: 'a.ipynb', student: 's1', homework: 'hw1-rnn-step', points: 6, maxPoints: 10, handMaxPoints: 5, totalMaxPoints: 15,
    exercises: [{ exercise: 'rnnStepForward', points: 2, maxPoints: 2, message: 'ok' }, { exercise: 'rnnStepBackward', points: 0, maxPoints: 4, message: 'no' }, { exercise: 'bptt', points: 4, maxPoints: 4, message: 'ok' }],
    questions, cells: { total: 3, errors: [], timedOut: [], skipped: [] }, seconds: 1 };
  const manifest = { notebooks: [{ homework: 'hw1-rnn-step', title: 'HW1', maxPoints: 10, exercises: [
    { exercise: 'rnnStepForward', function: 'rnnStepForward', points: 2 }, { exercise: 'rnnStepBackward', function: 'rnnStepBackward', points: 4 }, { exercise: 'bptt', function: 'bptt', points: 4 }],
  questions: QUESTIONS, handPoints: 5 }] };
  const csv = csvTable({ submissions: [entry] }, manifest);
  const lines = csv.split('\r\n');
  assert.equal(lines[0], 'file,student,homework,rnnStepForward,rnnStepBackward,bptt,whySum,whySum answer,decay,decay answer,hand max,max with hand,feedback,total,max,error');
  assert.equal(csv.split('\r\n').slice(1).join('\r\n'),
    'a.ipynb,s1,hw1-rnn-step,2,0,4,to be graded by hand (3 points),"line one, ""quoted""\nline two",to be graded by hand (2 points): no answer was written (the answer cell is empty or still holds the placeholder),,5,15,rnnStepBackward 0/4: no,6,10,\r\n');
  assert.match(summaryLine(entry), /^ {2}6\/10 {2}hw1-rnn-step {2}a\.ipynb {2}\(rnnStepForward 2\/2, rnnStepBackward 0\/4, bptt 4\/4; \+ 5 points to be graded by hand \(whySum, decay; 1 not answered\)\)/);
  const gs = gradescopeResult({ hw: manifest.notebooks[0], entry });
  assert.equal(gs.score, 6, 'the questions add nothing to the automatic score');
  assert.match(gs.output, /^HW1: 6\/10 points graded automatically; the written questions \(5 points\) are to be graded by hand, so the total is out of 15\./);
  const q = gs.tests.filter((t) => /graded by hand/.test(t.name));
  assert.deepEqual(q.map((t) => [t.name, t.score, t.max_score]), [['Question 1 · Why a sum (3 points, graded by hand)', 0, 0], ['Question 2 · Decay (2 points, graded by hand)', 0, 0]]);
  assert.match(q[0].output, /^to be graded by hand \(3 points\)\.\nYour answer:\nline one, "quoted"\nline two$/);
  assert.match(q[1].output, /no answer was written/);
});

const hasJupyter = () => findPython(['nbclient', 'nbformat', 'jupyter_client']);

function grade(args) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), ...args], { cwd: ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test("the grader: a clipByGlobalNorm that calls the library's scores 0 with the reason; answers and empty answers are reported", async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hwq-test-'));
  try {
    // hw3's solutions, but clipByGlobalNorm returns the library's result (imported under an alias), and an answer.
    const nb = readNb(path.join(HOMEWORK_DIR, 'hw3-char-lm.ipynb'));
    const setup = nb.cells.find((c) => c.cell_type === 'code' && text(c).includes("from 'rnn-lab'"));
    setup.source = text(setup).replace("import { initBackend, check,", "import { clipByGlobalNorm as libClip, initBackend, check,");
    const clip = nb.cells.find((c) => c.cell_type === 'code' && text(c).includes('function clipByGlobalNorm'));
    clip.source = text(clip).replace('return { grads: clipped, norm };', 'const viaLib = libClip(grads, maxNorm);\n  return { grads: viaLib.grads, norm: viaLib.norm };');
    const ans = nb.cells.find((c) => c.metadata?.['rnn-lab']?.answer === 'globalVsEntry');
    ans.source = 'One scalar for every entry keeps the direction; per entry it turns towards the diagonal.';
    const lib = path.join(dir, 'hw3-library.ipynb');
    fs.writeFileSync(lib, JSON.stringify(nb));
    // A third: the library's function kept in a const of the very cell that defines clipByGlobalNorm (tslab keeps
    // it local to the cell, so the function says `clipHelper`, not exports.clipHelper, and the scope's spies miss it).
    const local = readNb(path.join(HOMEWORK_DIR, 'hw3-char-lm.ipynb'));
    const clip2 = local.cells.find((c) => c.cell_type === 'code' && text(c).includes('function clipByGlobalNorm'));
    clip2.source = `import * as lab from 'rnn-lab';\nconst clipHelper = lab.clipByGlobalNorm;\n${text(clip2).replace('return { grads: clipped, norm };', 'const viaLib = clipHelper(grads, maxNorm);\n  return { grads: viaLib.grads, norm: viaLib.norm };')}`;
    const localFile = path.join(dir, 'hw3-local-alias.ipynb');
    fs.writeFileSync(localFile, JSON.stringify(local));
    const released = path.join(RELEASE_DIR, 'hw1-rnn-step.ipynb');
    const out = path.join(dir, 'grades.json');
    const csvFile = path.join(dir, 'grades.csv');
    const r = await grade(['--out', out, '--csv', csvFile, '--jobs', '2', lib, released, localFile]);
    console.log(r.stdout.trim());
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    const [e3, e1] = [lib, released].map((f) => report.submissions.find((s) => s.submission === f));
    const ex = Object.fromEntries(e3.exercises.map((x) => [x.exercise, x]));
    assert.equal(ex.clipByGlobalNorm.points, 0);
    assert.match(ex.clipByGlobalNorm.message, /^your clipByGlobalNorm calls the library's clipByGlobalNorm, which is this exercise's answer; write it yourself/);
    for (const name of ['sampleWithTemperature', 'perplexity', 'trainingLoop']) assert.equal(ex[name].points, ex[name].maxPoints, `${name}: ${ex[name].message}`);
    assert.equal(e3.points, 8);
    assert.equal(e3.maxPoints, 10);
    const eLocal = report.submissions.find((x) => x.submission === localFile);
    const exLocal = Object.fromEntries(eLocal.exercises.map((x) => [x.exercise, x]));
    assert.equal(exLocal.clipByGlobalNorm.points, 0, exLocal.clipByGlobalNorm.message);
    assert.match(exLocal.clipByGlobalNorm.message, /^your clipByGlobalNorm (calls|refers to) the library's clipByGlobalNorm, which is this exercise's answer/);
    assert.equal(eLocal.points, 8);
    assert.equal(e3.handMaxPoints, 2);
    assert.deepEqual(e3.questions.map((q) => [q.question, q.maxPoints, q.points, q.status, q.answered, q.answer]),
      [['globalVsEntry', 2, null, 'to be graded by hand', true, 'One scalar for every entry keeps the direction; per entry it turns towards the diagonal.']]);
    assert.equal(e1.points, 0);
    assert.equal(e1.handMaxPoints, 4);
    assert.ok(e1.questions.every((q) => !q.answered && /no answer was written/.test(q.message)), JSON.stringify(e1.questions));
    const csv = fs.readFileSync(csvFile, 'utf8');
    const header = csv.split('\r\n')[0];
    assert.match(header, /,bptt,clipByGlobalNorm,.*,trainingLoop,dbhSum,dbhSum answer,vanishingDh0,vanishingDh0 answer,globalVsEntry,globalVsEntry answer,hand max,max with hand,feedback,total,max,error$/);
    assert.match(csv, /clipByGlobalNorm 0\/2: [^\r\n]*calls the library's clipByGlobalNorm/, 'the feedback column gives the reason');
    assert.match(csv, /to be graded by hand \(2 points\),One scalar for every entry keeps the direction; per entry it turns towards the diagonal\./);
    assert.match(r.stdout, /^ *8\/10 {2}hw3-char-lm .*\+ 2 points to be graded by hand \(globalVsEntry\)/m);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
