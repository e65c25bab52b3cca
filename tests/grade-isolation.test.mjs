// Grading throughput (issue 18, item 6): with `--jobs 2`, no submission's fault changes another's grade.
// Seven submissions — correct, wrong, hanging and throwing, kernel-killing, of three homeworks, and two that
// cannot be graded — are graded together, two at a time, and each alone (its own grader process, one
// submission); every grade must be the same. The throughput itself is measured by
// `npm run grade:throughput` (see README, Homework), not here: it takes minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { makeSubmissions } from '../scripts/homework/grade-throughput.mjs';

// Five kernels' worth of work (the cost is mostly the alone runs); the faults first, so that they overlap
// the healthy submissions in the run with --jobs 2.
const KINDS = ['hw1-hangs-and-throws', 'hw1-kills-kernel', 'hw2-wrong', 'hw3-correct', 'unreadable', 'hw1-wrong', 'unknown-homework'];
const CELL_TIMEOUT = 12;   // a normal cell takes a second or two; the hanging one costs this much

function grade(out, files, jobs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', out, '--jobs', String(jobs), '--cell-timeout', String(CELL_TIMEOUT), ...files], { cwd: ROOT });
    let stderr = '';
    child.stderr.on('data', (d) => { stderr += d; });
    child.stdout.on('data', () => {});
    child.on('close', (code) => resolve({ code, stderr, report: fs.existsSync(out) ? JSON.parse(fs.readFileSync(out, 'utf8')) : null }));
  });
}

/** What must not depend on the neighbours: the grade, per exercise, with its message, and why not graded. */
const gradeOf = (e) => ({ homework: e.homework, points: e.points, maxPoints: e.maxPoints, error: e.error ?? null,
  exercises: e.exercises.map((x) => [x.exercise, x.points, x.message]) });

test('--jobs 2: each of 7 submissions (hanging and throwing, kernel-killing, wrong, correct, unreadable, of three homeworks) gets the grade it gets alone', async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', findPython(['nbclient', 'nbformat', 'jupyter_client']), INSTALL_HINT)) return;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-iso-'));
  try {
    const subs = makeSubmissions(dir, KINDS.length, KINDS);
    const t0 = Date.now();
    const together = await grade(path.join(dir, 'together.json'), subs.map((s) => s.file), 2);
    const togetherS = (Date.now() - t0) / 1000;
    assert.equal(together.code, 1, `two submissions cannot be graded, so grade exits 1: ${together.stderr}`);
    const t1 = Date.now();
    const alone = [];
    for (const [k, s] of subs.entries()) {
      const r = await grade(path.join(dir, `alone-${k}.json`), [s.file], 1);
      assert.ok(r.report, `${s.kind}: no report: ${r.stderr}`);
      alone.push(r.report.submissions[0]);
    }
    const aloneS = (Date.now() - t1) / 1000;
    const byFile = new Map(together.report.submissions.map((e) => [e.submission, e]));
    for (const [k, s] of subs.entries()) {
      assert.deepEqual(gradeOf(byFile.get(s.file)), gradeOf(alone[k]), `${s.kind}: graded with others vs alone`);
    }
    // The faults did happen (else this test would show nothing) and cost only their own exercises.
    const g = Object.fromEntries(subs.map((s) => [s.kind, byFile.get(s.file)]));
    const faulty = g['hw1-hangs-and-throws'];
    assert.deepEqual(faulty.cells.timedOut.map((c) => c.status), ['timeout'], JSON.stringify(faulty.cells));
    assert.equal(faulty.cells.errors.length, 1);
    assert.match(faulty.cells.errors[0].error, /student crash/);
    assert.equal(faulty.points, 10);
    assert.equal(g['hw1-kills-kernel'].kernels, 2, 'the kernel died and a fresh one finished the submission');
    assert.deepEqual(g['hw1-kills-kernel'].cells.timedOut.map((c) => c.status), ['died']);
    assert.equal(g['hw1-kills-kernel'].points, 10);
    assert.equal(g['hw3-correct'].points, 10);
    assert.equal(g['hw2-wrong'].points, 17, 'a tanh forget gate costs lstmStepForward\'s 3 of 20 points');
    assert.equal(g['hw1-wrong'].points, 6);
    assert.match(g.unreadable.error, /cannot read the notebook/);
    assert.match(g['unknown-homework'].error, /cannot tell which homework/);
    t.diagnostic(`together (--jobs 2): ${togetherS.toFixed(1)} s; alone, one after another: ${aloneS.toFixed(1)} s`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
