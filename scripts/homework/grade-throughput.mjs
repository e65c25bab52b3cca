// `npm run grade:throughput -- [--count 60] [--jobs 2] [--cell-timeout 20] [--out FILE.json]`: how fast
// `npm run grade` gets through a class, and how much memory its kernels take at once.
//
// It writes `count` submissions into a temporary folder, cycling through SUBMISSION_KINDS (correct, released,
// wrong, hanging, throwing, kernel-crashing and unreadable notebooks of the three homeworks), runs
// `node scripts/homework/grade.mjs --jobs N` on them once, and samples every 0.5 s the resident memory
// (VmRSS from /proc) of the processes that run carries a mark of this run in its environment: the kernels
// (launch.cjs and its kernel.cjs child), grade.py, and the grader itself. RSS counts shared pages in every
// process, so the sums overstate what the machine needs a little; other users' processes are not counted.
// It prints submissions per minute, the peak sums, and each submission's points (and writes them to --out).
// Linux only (/proc).
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../lib/jupyter.mjs';
import { scanArgs } from '../lib/args.mjs';

export const HOMEWORK_DIR = path.join(ROOT, 'homework');
const text = (cell) => [].concat(cell.source).join('');

/**
 * A submission made from a homework's source notebook (its solutions) or released notebook: `replace`
 * pairs [from, to] in the first code cell holding `from`, `insert` pairs [after, source] adding a code cell
 * after the first cell holding `after`, and `raw` replaces the whole file (an unreadable upload). Every
 * edit must apply: a homework edited so that a variant no longer means anything is an error, not a silent
 * correct submission. `student` sets the notebook's metadata["rnn-lab"].student.
 */
export function writeSubmission(file, { homework, release = false, replace = [], insert = [], raw, student } = {}) {
  if (raw !== undefined) { fs.writeFileSync(file, raw); return file; }
  const src = path.join(HOMEWORK_DIR, ...(release ? ['release'] : []), `${homework}.ipynb`);
  const nb = JSON.parse(fs.readFileSync(src, 'utf8'));
  for (const [from, to] of replace) {
    const cell = nb.cells.find((c) => c.cell_type === 'code' && text(c).includes(from));
    if (!cell) throw new Error(`writeSubmission: ${homework}: no code cell contains ${JSON.stringify(from)}`);
    cell.source = text(cell).split(from).join(to);
  }
  for (const [after, source] of insert) {
    const i = nb.cells.findIndex((c) => text(c).includes(after));
    if (i < 0) throw new Error(`writeSubmission: ${homework}: no cell contains ${JSON.stringify(after)}`);
    nb.cells.splice(i + 1, 0, { cell_type: 'code', id: `added${i}`, metadata: {}, source, outputs: [], execution_count: null });
  }
  if (student !== undefined) nb.metadata = { ...nb.metadata, 'rnn-lab': { ...nb.metadata?.['rnn-lab'], student } };
  fs.writeFileSync(file, JSON.stringify(nb));
  return file;
}

const AFTER_HW1_CHECK = 'check.rnnStepForward(rnnStepForward);';
/** The kinds of submission a class hands in; the throughput run and the grader tests cycle through them. */
export const SUBMISSION_KINDS = Object.freeze({
  'hw1-correct': { homework: 'hw1-rnn-step' },
  'hw2-correct': { homework: 'hw2-lstm-step' },
  'hw3-correct': { homework: 'hw3-char-lm' },
  'hw1-released': { homework: 'hw1-rnn-step', release: true },
  // a missing transpose in the backward pass (loses rnnStepBackward's 4 points)
  'hw1-wrong': { homework: 'hw1-rnn-step', replace: [['dhPrev: tf.matMul(Whh, da, true),', 'dhPrev: tf.matMul(Whh, da),']] },
  // a tanh forget gate (loses lstmStepForward's 4 points)
  'hw2-wrong': { homework: 'hw2-lstm-step', replace: [['const f = tf.sigmoid(pre(W.Wxf', 'const f = tf.tanh(pre(W.Wxf']] },
  // clipping by the squared norm (loses clipByGlobalNorm's 2 points)
  'hw3-wrong': { homework: 'hw3-char-lm', replace: [['const norm = Math.sqrt(sumSq);', 'const norm = sumSq;']] },
  // a cell that never ends: interrupted at the cell limit, the rest is graded
  'hw1-hangs': { homework: 'hw1-rnn-step', insert: [[AFTER_HW1_CHECK, 'while (true) {}']] },
  // a cell that throws at the top level
  'hw1-throws': { homework: 'hw1-rnn-step', insert: [[AFTER_HW1_CHECK, "throw new Error('student crash');"]] },
  // a cell that kills the kernel: a fresh kernel re-runs the other cells
  'hw2-kills-kernel': { homework: 'hw2-lstm-step', insert: [['check.lstmStepForward(lstmStepForward);', 'process.exit(3);']] },
  'hw1-kills-kernel': { homework: 'hw1-rnn-step', insert: [[AFTER_HW1_CHECK, 'process.exit(3);']] },
  // both: a cell that never ends, then one that throws
  'hw1-hangs-and-throws': { homework: 'hw1-rnn-step', insert: [[AFTER_HW1_CHECK, 'while (true) {}'], ['check.rnnStepBackward(rnnStepBackward);', "throw new Error('student crash');"]] },
  // not JSON (a truncated upload)
  'unreadable': { raw: '{"cells": [ {"cell_type": "code", "sou' },
  // JSON, but not a notebook of a known homework
  'unknown-homework': { raw: JSON.stringify({ nbformat: 4, nbformat_minor: 5, metadata: {}, cells: [{ cell_type: 'code', metadata: {}, source: 'const x = 1;', outputs: [], execution_count: null }] }) },
});

/** The class of the throughput run: every kind once per cycle (the combined ones are for the tests). */
export const CLASS_KINDS = Object.freeze(['hw1-correct', 'hw2-correct', 'hw3-correct', 'hw1-released', 'hw1-wrong', 'hw2-wrong', 'hw3-wrong', 'hw1-hangs', 'hw1-throws', 'hw2-kills-kernel', 'unreadable', 'unknown-homework']);

/** `count` submissions in `dir`, cycling through `kinds` (names of SUBMISSION_KINDS): [{ file, kind }]. */
export function makeSubmissions(dir, count, kinds = CLASS_KINDS) {
  const out = [];
  for (let k = 0; k < count; k++) {
    const kind = kinds[k % kinds.length];
    const spec = SUBMISSION_KINDS[kind];
    if (!spec) throw new Error(`makeSubmissions: unknown kind ${JSON.stringify(kind)}; known: ${Object.keys(SUBMISSION_KINDS).join(', ')}`);
    // The homework id in the file name, as Gradescope/LMS downloads usually keep the assignment's file name.
    const name = `s${String(k + 1).padStart(3, '0')}-${kind}${spec.homework ? `-${spec.homework}` : ''}.ipynb`;
    out.push({ file: writeSubmission(path.join(dir, name), { ...spec, student: `student${k + 1}` }), kind });
  }
  return out;
}

/** VmRSS in kB of every live process whose environment holds `mark`, by role. */
export function sampleRss(mark) {
  const s = { kernels: 0, python: 0, grader: 0, count: 0 };
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(mark)) continue;
      const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${d}/status`, 'utf8'))?.[1] ?? 0);
      const role = /kernel\.cjs|launch\.cjs/.test(cmd) ? 'kernels' : /grade\.py/.test(cmd) ? 'python' : 'grader';
      s[role] += rss;
      s.count++;
    } catch { /* gone, or not ours to read */ }
  }
  return s;
}

const USAGE = 'usage: npm run grade:throughput -- [--count 60] [--jobs 2] [--cell-timeout 20] [--out FILE.json]';

export async function main(argv) {
  const o = { count: 60, jobs: 2, cellTimeout: 20, out: undefined };
  const spec = { count: { type: 'string' }, jobs: { type: 'string' }, 'cell-timeout': { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' } };
  for (const a of scanArgs(argv, spec)) {
    if (a.kind !== 'option') { console.error(`grade:throughput: unexpected ${a.raw}\n${USAGE}`); return 2; }
    if (a.name === 'help') { console.log(USAGE); return 0; }
    if (a.name === 'out') { o.out = a.value; continue; }
    const x = Number(a.value);
    if (!Number.isInteger(x) || x < 1) { console.error(`grade:throughput: --${a.name} must be an integer ≥ 1; got ${a.value}\n${USAGE}`); return 2; }
    o[a.name === 'cell-timeout' ? 'cellTimeout' : a.name] = x;
  }
  if (!fs.existsSync('/proc/self/status')) { console.error('grade:throughput: needs /proc (Linux) to sample memory'); return 2; }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-throughput-'));
  const mark = `RNN_LAB_THROUGHPUT_MARK=${process.pid}-${Date.now()}`;
  try {
    const subs = makeSubmissions(dir, o.count);
    const loadBefore = os.loadavg()[0];   // other work on the machine slows grading: say how much there was
    const report = path.join(dir, 'grades.json');
    const t0 = Date.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', report, '--jobs', String(o.jobs), '--cell-timeout', String(o.cellTimeout), ...subs.map((s) => s.file)],
      { cwd: ROOT, env: { ...process.env, [mark.split('=')[0]]: mark.split('=')[1] }, stdio: ['ignore', 'inherit', 'inherit'] });
    const peak = { kernels: 0, total: 0, samples: 0 };
    const timer = setInterval(() => {
      const s = sampleRss(mark);
      peak.kernels = Math.max(peak.kernels, s.kernels);
      peak.total = Math.max(peak.total, s.kernels + s.python + s.grader);
      peak.samples++;
    }, 500);
    const code = await new Promise((resolve) => child.on('close', resolve));
    clearInterval(timer);
    const seconds = (Date.now() - t0) / 1000;
    const graded = JSON.parse(fs.readFileSync(report, 'utf8'));
    const kindOf = new Map(subs.map((s) => [s.file, s.kind]));
    const summary = {
      count: o.count, jobs: o.jobs, cellTimeout: o.cellTimeout, cores: os.availableParallelism(), loadAverage: { before: loadBefore, after: os.loadavg()[0] },
      exitCode: code, seconds: Math.round(seconds * 10) / 10, perMinute: Math.round((o.count / seconds) * 60 * 10) / 10,
      peakKernelRssMb: Math.round(peak.kernels / 1024), peakTotalRssMb: Math.round(peak.total / 1024), samples: peak.samples,
      submissions: graded.submissions.map((e) => ({ kind: kindOf.get(e.submission), file: path.basename(e.submission), points: e.points, maxPoints: e.maxPoints, seconds: e.seconds, kernels: e.kernels, error: e.error,
        exercises: e.exercises.map((x) => `${x.exercise} ${x.points}/${x.maxPoints}${x.passed ? '' : `: ${x.message.slice(0, 160)}`}`),
        cells: { errors: e.cells.errors.length, timedOut: e.cells.timedOut.map((c) => `${c.label ?? `cell ${c.cell}`} ${c.status} ${c.seconds} s`), skipped: e.cells.skipped.length }, events: e.events })),
    };
    console.log(`\n${o.count} submissions, --jobs ${o.jobs}, --cell-timeout ${o.cellTimeout}, ${summary.cores} cores: ${summary.seconds} s, ` +
      `${summary.perMinute} submissions/minute; peak RSS of the kernels ${summary.peakKernelRssMb} MB, of all grading processes ${summary.peakTotalRssMb} MB (${peak.samples} samples); ` +
      `load average ${loadBefore.toFixed(1)} before, ${os.loadavg()[0].toFixed(1)} after`);
    if (o.out) fs.writeFileSync(o.out, JSON.stringify(summary, null, 2) + '\n');
    return code;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    console.error(`grade:throughput: ${e.stack || e.message}`);
    process.exitCode = 2;
  });
}
