// The Gradescope side of the autograder zip (scripts/homework/autograder.mjs writes the zip; its
// `run_autograder` calls this): grade the one notebook in <root>/submission/ with `npm run grade`'s grader
// (scripts/homework/grade.mjs, run as a child process, so the points are exactly that grader's) and write
// <root>/results/results.json in Gradescope's format.
//
//   node scripts/homework/gradescope.mjs --homework ID [--root /autograder] [--manifest FILE]
//        [--cell-timeout 60] [--timeout 600] [--memory 2048] [--seed 20251] [--visibility visible]
//
// The format is Gradescope's "Autograder Specifications", section "Output format"
// (https://gradescope-autograders.readthedocs.io/en/latest/specs/, source: github.com/gradescope/
// autograder_samples docs/specs.md): a top-level `score` (it overrides the sum of the tests when given;
// here it is that sum), `execution_time` in seconds, `output` (shown to the student), `extra_data`
// (stored, not shown), and `tests`, each with `name`, `number`, `score`, `max_score`, `output` and
// `visibility` (hidden | after_due_date | after_published | visible). Nothing printed to stdout reaches the
// student: stdout is the instructor's debugging log (<root>/results/stdout).
//
// A submission that cannot be graded — no .ipynb in the upload, more than one, a file that is not a
// notebook, a notebook that is not this homework's — gets a result that says why, score 0 and every
// exercise at 0, and the process exits 0: for Gradescope this is a graded submission, not a broken
// autograder. Only a failure of the grader itself (no Node, no Jupyter) exits non-zero, still after
// writing a results.json with score 0 that says the autograder failed.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT } from '../lib/jupyter.mjs';
import { scanArgs } from '../lib/args.mjs';
import { DEFAULTS, interruptedText, codeCellName } from './grade.mjs';
import { loadManifest, MANIFEST } from './homework-release.mjs';

export const VISIBILITIES = Object.freeze(['hidden', 'after_due_date', 'after_published', 'visible']);
const USAGE = `usage: node scripts/homework/gradescope.mjs --homework ID [--root /autograder] [--manifest FILE]
         [--cell-timeout ${DEFAULTS.cellTimeout}] [--timeout ${DEFAULTS.timeout}] [--memory ${DEFAULTS.memory}] [--seed ${DEFAULTS.seed}] [--visibility visible]`;

/** Command line → options; an unknown flag, a missing value or a stray word is an error. */
export function parseArgs(argv) {
  const o = { root: process.env.RNN_LAB_AUTOGRADER_ROOT || '/autograder', homework: undefined, manifest: undefined, visibility: 'visible', gradeArgs: [] };
  const str = { type: 'string' };
  const spec = { root: str, homework: str, manifest: str, 'cell-timeout': str, timeout: str, memory: str, seed: str, visibility: str, help: { type: 'boolean', short: 'h' } };
  for (const a of scanArgs(argv, spec)) {
    if (a.kind !== 'option') throw new Error(`unexpected ${a.raw}`);
    if (a.name === 'help') { o.help = true; continue; }
    if (a.value === undefined) throw new Error(`--${a.name} needs a value`);
    switch (a.name) {
      case 'root': o.root = a.value; break;
      case 'homework': o.homework = a.value; break;
      case 'manifest': o.manifest = a.value; break;
      case 'visibility':
        if (!VISIBILITIES.includes(a.value)) throw new Error(`--visibility must be one of ${VISIBILITIES.join(', ')}; got ${a.value}`);
        o.visibility = a.value;
        break;
      default: o.gradeArgs.push(`--${a.name}`, a.value);   // checked by grade.mjs, which rejects bad numbers
    }
  }
  if (!o.help && !o.homework) throw new Error('--homework ID is required (the autograder grades one homework)');
  return o;
}

/**
 * The notebook to grade in a submission folder, or why there is none: { file } | { problem }. Only the
 * folder's top level counts (Gradescope puts uploaded files there); Jupyter's checkpoint copies are ignored.
 */
export function pickNotebook(dir) {
  let names;
  try { names = fs.readdirSync(dir).sort(); } catch (e) { return { problem: `the submission folder ${dir} cannot be read (${e.code ?? e.message})` }; }
  const isFile = (n) => { try { return fs.statSync(path.join(dir, n)).isFile(); } catch { return false; } };   // a dangling link is no notebook
  const notebooks = names.filter((n) => n.toLowerCase().endsWith('.ipynb') && isFile(n));
  if (notebooks.length === 1) return { file: path.join(dir, notebooks[0]) };
  const shown = (list) => list.slice(0, 10).join(', ') + (list.length > 10 ? `, … (${list.length} in all)` : '');
  if (notebooks.length === 0) {
    return { problem: names.length ? `no .ipynb notebook was uploaded (the upload holds: ${shown(names)}). Upload the homework's .ipynb file itself, not a zip or a folder.` : 'the upload is empty: upload the homework\'s .ipynb file.' };
  }
  return { problem: `${notebooks.length} notebooks were uploaded (${shown(notebooks)}); upload exactly one, the homework's notebook.` };
}

/** Run grade.mjs on one file; resolves to { code, stdout, stderr, report }. */
function runGrader(file, o, work) {
  const out = path.join(work, 'grades.json');
  const args = [path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', out, '--homework', o.homework, ...(o.manifest ? ['--manifest', o.manifest] : []), ...o.gradeArgs, file];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); process.stderr.write(d); });
    child.on('close', (code) => {
      let report = null;
      try { report = JSON.parse(fs.readFileSync(out, 'utf8')); } catch { report = null; }
      resolve({ code, stdout, stderr, report });
    });
  });
}

const capital = (s) => s.charAt(0).toUpperCase() + s.slice(1);

/**
 * The cells' trouble in words a student acts on, the cause first: a cell that ran past its limit or crashed
 * the kernel, then the errors (those that follow from it say so), then cells not run. Cells are named as the
 * student finds them (grade.mjs cellLabel: "the 4th code cell (starting `…`)"; Jupyter shows no numbers).
 */
export function cellNotes(entry) {
  const notes = [];
  const name = (c) => c.label ?? `code cell ${c.cell}`;   // a report from before labels: nbformat's index
  for (const c of entry.cells?.timedOut ?? []) {
    const what = c.defines?.length ? `, so what it defines (${c.defines.join(', ')}) does not exist for the cells after it` : '';
    notes.push(capital(`${interruptedText({ ...c, error: c.note }, name(c))}${what}.`));
  }
  for (const c of entry.cells?.errors ?? []) {
    notes.push(capital(`${name(c)} raised an error: ${c.error}${c.after ? ` — it uses ${c.uses.join(', ')}, which ${c.uses.length > 1 ? 'do' : 'does'} not exist because of ${codeCellName(c.after)}` : ''}`));
  }
  if (entry.cells?.skipped?.length) notes.push(`Not run (time ran out): ${entry.cells.skipped.map((c) => (typeof c === 'number' ? `code cell ${c}` : name(c))).join('; ')}.`);
  return notes;
}

/**
 * results.json for a grader report entry (grade.mjs), or for a submission that could not be graded
 * (`problem`). `hw` is the homework's manifest entry: every exercise is a test, graded or not.
 */
export function gradescopeResult({ hw, entry = null, problem = null, visibility = 'visible', seconds = 0 }) {
  const why = problem ?? entry?.error ?? null;
  const graded = new Map((entry?.exercises ?? []).map((x) => [x.exercise, x]));
  const tests = hw.exercises.map((ex, k) => {
    const r = graded.get(ex.exercise);
    return {
      name: `Exercise ${k + 1} · ${ex.title ?? ex.exercise} (${ex.function})`,
      number: String(k + 1),
      score: r ? r.points : 0,
      max_score: ex.points,
      output: r ? r.message : `not graded: ${why ?? 'the grader reported no result for this exercise'}`,
      visibility,
    };
  });
  const score = tests.reduce((s, t) => s + t.score, 0);
  // Written questions: one test each, worth 0 here (max_score 0, so Gradescope's automatic total is not
  // inflated), whose output says "to be graded by hand", the points, and the student's answer.
  const answers = new Map((entry?.questions ?? []).map((q) => [q.question, q]));
  const handMax = (hw.questions ?? []).reduce((s, q) => s + q.points, 0);
  (hw.questions ?? []).forEach((q, k) => {
    const a = answers.get(q.question);
    tests.push({
      name: `Question ${k + 1} · ${q.title} (${q.points} point${q.points === 1 ? '' : 's'}, graded by hand)`,
      number: String(hw.exercises.length + k + 1),
      score: 0,
      max_score: 0,
      output: a ? `${a.message}.${a.answered ? `\nYour answer:\n${a.answer}` : ''}` : why ? `not graded: ${why}` : `to be graded by hand (${q.points} points): no answer cell was found`,
      visibility,
    });
  });
  const lines = [];
  if (why && !entry?.exercises?.length) lines.push(`Your submission could not be graded: ${why}`, 'Score 0. Fix the upload and submit again.');
  else {
    lines.push(handMax
      ? `${hw.title ?? hw.homework}: ${score}/${hw.maxPoints} points graded automatically; the written questions (${handMax} points) are to be graded by hand, so the total is out of ${hw.maxPoints + handMax}.`
      : `${hw.title ?? hw.homework}: ${score}/${hw.maxPoints} points.`);
    if (why) lines.push(why);
    lines.push(...cellNotes(entry ?? {}));
  }
  const result = { score, execution_time: Math.round(seconds), output: lines.join('\n'), visibility, tests };
  result.extra_data = { homework: hw.homework, student: entry?.student ?? null, submission: entry ? path.basename(entry.submission) : null, ...(entry ? { outcome: entry.outcome ?? null, kernels: entry.kernels } : {}) };
  return result;
}

/** Write JSON atomically (a half-written results.json would be read as a broken autograder). */
function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

export async function main(argv) {
  let o;
  try { o = parseArgs(argv); } catch (e) { console.error(`gradescope: ${e.message}\n${USAGE}`); return 2; }
  if (o.help) { console.log(USAGE); return 0; }
  const t0 = Date.now();
  const resultsFile = path.join(o.root, 'results', 'results.json');
  const manifestFile = path.resolve(o.manifest ?? MANIFEST);
  const hw = loadManifest(manifestFile).notebooks.find((n) => n.homework === o.homework);
  if (!hw) {
    console.error(`gradescope: ${o.homework} is not in ${manifestFile}`);
    writeJson(resultsFile, { score: 0, output: `The autograder is misconfigured (homework ${o.homework} is unknown to it); your instructor has been told by this message. Your upload was not graded.`, tests: [] });
    return 1;
  }
  const pick = pickNotebook(path.join(o.root, 'submission'));
  if (pick.problem) {
    writeJson(resultsFile, gradescopeResult({ hw, problem: pick.problem, visibility: o.visibility, seconds: (Date.now() - t0) / 1000 }));
    console.log(`not graded: ${pick.problem}`);
    return 0;
  }
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-gradescope-'));
  try {
    const run = await runGrader(pick.file, o, work);
    const entry = run.report?.submissions?.[0];
    if (!entry) {
      const tail = run.stderr.trim().split('\n').slice(-5).join(' | ');
      writeJson(resultsFile, { score: 0, execution_time: Math.round((Date.now() - t0) / 1000), output: 'The autograder failed before grading your notebook (a problem of the autograder, not of your work): your instructor will look at it.', tests: [], extra_data: { graderExit: run.code, graderError: tail } });
      console.error(`gradescope: grade.mjs exited ${run.code} without a report: ${tail}`);
      return 1;
    }
    writeJson(resultsFile, gradescopeResult({ hw, entry, visibility: o.visibility, seconds: (Date.now() - t0) / 1000 }));
    return 0;
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    console.error(`gradescope: ${e.stack || e.message}`);
    process.exitCode = 2;
  });
}
