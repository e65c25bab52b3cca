// `npm run grade -- [options] submission.ipynb …`: score homework submissions with the hidden checks.
//
// Each submission runs in its own fresh kernel (the dedicated grading kernelspec .jupyter/kernels/
// rnn-lab-grading, written here at run time: a V8 heap limit and RNN_LAB_GRADING=1), in its own
// temporary folder, through scripts/homework/grade.py (nbclient): first the student's code cells, with errors
// allowed and a time limit per cell, then one grader cell per exercise that calls the library's
// gradeExercise(name, fn, { hidden: true, seed }) — a missing function is reported, not fatal. The
// points are read from the RNN_LAB_RESULT lines of the grader cells only (never from student cells).
// A hanging or crashing submission costs at most its own time limit (see grade.py) and is scored with
// what was obtained.
//
// Options:
//   --out FILE          the JSON report (default grades.json); a file there that is not a report is never replaced
//   --csv FILE          also a CSV table, one row per submission (csvTable): file, student, homework, the points
//                       of each exercise, total, max, error; a file there that is not such a table is never replaced
//   --cell-timeout S    time limit per cell, seconds (default 60)
//   --timeout S         time limit per submission, seconds (default 600)
//   --memory MB         heap limit of the kernel's JavaScript, megabytes (default 2048)
//   --jobs N            submissions graded at the same time (default 1)
//   --seed N            seed of the hidden tests (default 20251)
//   --homework ID       grade every submission as this homework (default: from the notebook)
//   --manifest FILE     the release's manifest.json (default homework/release/manifest.json); a homework
//                       with a checks file (<id>.checks.cjs, listed as `checks`) has it copied from beside the
//                       manifest into each submission's folder, where the grader cells' gradeExercise finds it
//   --max-kernels N     kernels one submission may use after hangs or crashes (default 4)
//   --keep DIR          keep each submission's grading files (kernel log, job, result) in DIR/<name>
//                       (DIR/<name>-2, -3, … when taken: nothing there is overwritten)
//
// Exit status (USAGE, printed by --help, says the same): 0 every submission graded; 1 the report was written
// but some entry has an error (not read, no or another homework, a failed grading run); 2 nothing graded.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, JUPYTER_DATA, KERNEL_DISPLAY_NAME, KERNEL_LAUNCHER, jupyterEnv, findPython, INSTALL_HINT, pythonCandidates, libraryBuilt, libFiles } from '../lib/jupyter.mjs';
import { installKernel } from '../kernel.mjs';
import { loadManifest, exerciseTable, MANIFEST, answerIdOf, ANSWER_PLACEHOLDER, QUESTION_HEADING } from './homework-release.mjs';
import { scanArgs } from '../lib/args.mjs';

export const GRADING_KERNEL = 'rnn-lab-grading';
export const DEFAULTS = Object.freeze({ out: 'grades.json', cellTimeout: 60, timeout: 600, memory: 2048, jobs: 1, seed: 20251, maxKernels: 4 });

const USAGE = `usage: npm run grade -- [--out grades.json] [--csv grades.csv] [--cell-timeout 60] [--timeout 600] [--memory 2048]
                      [--jobs 1] [--seed 20251] [--homework ID] [--max-kernels 4] [--keep DIR]
                      [--manifest homework/release/manifest.json] submission.ipynb …
exit status: 0  every submission was graded (whatever its points)
             1  the report was written, but some submission could not be read or graded (its entry's
                error, and the CSV's error column, say why: not a notebook, an unknown homework, a notebook of
                another homework than --homework, a grading run that failed)
             2  nothing was graded: a usage error (bad option, no such file, unknown --homework or
                --manifest), the library not built, Jupyter missing, or --out/--csv refused; 130 after Ctrl-C`;

/** Parse the command line into options and submission paths. */
export function parseArgs(argv) {
  const o = { ...DEFAULTS, homework: undefined, keep: undefined, manifest: undefined, csv: undefined, files: [] };
  const num = (name, v, min) => {
    const x = Number(v);
    if (!Number.isFinite(x) || x < min) throw new Error(`${name} must be a number ≥ ${min}; got ${v}`);
    return x;
  };
  const str = { type: 'string' };
  const spec = { out: str, csv: str, 'cell-timeout': str, timeout: str, memory: str, jobs: str, seed: str, 'max-kernels': str, homework: str, keep: str, manifest: str, help: { type: 'boolean', short: 'h' } };
  for (const a of scanArgs(argv, spec)) {
    // A flag not known to the grader is an error; any other word (even one starting with a single -) is a submission.
    if (a.kind === 'unknown') { if (a.raw.startsWith('--')) throw new Error(`unknown option ${a.raw}`); o.files.push(a.raw); continue; }
    if (a.kind === 'positional') { o.files.push(a.value); continue; }
    const flag = `--${a.name}`;
    const value = () => {
      if (a.value === undefined) throw new Error(`${flag} needs a value`);
      return a.value;
    };
    switch (a.name) {
      case 'out': o.out = value(); break;
      case 'csv': o.csv = value(); break;
      case 'cell-timeout': o.cellTimeout = num(flag, value(), 1); break;
      case 'timeout': o.timeout = num(flag, value(), 1); break;
      case 'memory': o.memory = Math.round(num(flag, value(), 64)); break;
      case 'jobs': o.jobs = Math.round(num(flag, value(), 1)); break;
      case 'seed': o.seed = Math.round(num(flag, value(), 0)); break;
      case 'max-kernels': o.maxKernels = Math.round(num(flag, value(), 1)); break;
      case 'homework': o.homework = value(); break;
      case 'keep': o.keep = value(); break;
      case 'manifest': o.manifest = value(); break;
      case 'help': o.help = true; break;
    }
  }
  return o;
}

/**
 * The grading kernelspec: the course kernel with a V8 heap limit (also passed to child processes via
 * NODE_OPTIONS) and RNN_LAB_GRADING=1, so that every check prints its RNN_LAB_RESULT line.
 */
export function installGradingKernel(memoryMb) {
  const base = installKernel();   // the course kernel and node_modules/rnn-lab
  const spec = JSON.parse(fs.readFileSync(path.join(base.kernelDir, 'kernel.json'), 'utf8'));
  const [node, ...rest] = spec.argv;
  const dir = path.join(JUPYTER_DATA, 'kernels', GRADING_KERNEL);
  fs.mkdirSync(dir, { recursive: true });
  const grading = {
    ...spec,
    argv: [node, `--max-old-space-size=${memoryMb}`, ...rest],
    display_name: `${KERNEL_DISPLAY_NAME} · grading`,
    env: { ...spec.env, RNN_LAB_GRADING: '1', NODE_OPTIONS: `--max-old-space-size=${memoryMb}` },
  };
  libFiles().writeFileAtomic(path.join(dir, 'kernel.json'), JSON.stringify(grading, null, 2) + '\n');
  return { name: GRADING_KERNEL, dir };
}

export const REPORT_BY = 'npm run grade (scripts/homework/grade.mjs)';
/** What earlier versions wrote as generatedBy (the script moved to scripts/homework/): still our reports. */
const EARLIER_REPORT_BY = ['npm run grade (scripts/grade.mjs)'];

/**
 * Why `out` must not be written, or null: a folder, or a file that is not a grades report (no
 * generatedBy of ours; reports from before the marker have gradedAt and submissions) is never replaced.
 */
export function outProblem(out) {
  if (!fs.existsSync(out)) return null;
  if (fs.statSync(out).isDirectory()) return `--out ${out} is a folder; give a file path for the JSON report`;
  let json;
  try { json = JSON.parse(fs.readFileSync(out, 'utf8')); } catch { json = null; }
  const ours = json?.generatedBy === REPORT_BY || EARLIER_REPORT_BY.includes(json?.generatedBy) || (typeof json?.gradedAt === 'string' && Array.isArray(json?.submissions));
  return ours ? null : `--out ${out} exists and is not a grades report from an earlier run, so it is not replaced; choose another file`;
}

/**
 * A folder of its own for one submission's kept files: keep/<name>, or keep/<name>-2, -3, … when
 * taken (two submissions with the same file name, or an earlier run): nothing there is overwritten.
 */
export function keepFolder(keep, name) {
  fs.mkdirSync(keep, { recursive: true });
  for (let k = 1; ; k++) {
    const dest = path.join(keep, k === 1 ? name : `${name}-${k}`);
    try { fs.mkdirSync(dest); return dest; } catch (e) { if (e.code !== 'EEXIST') throw e; }
  }
}

function sourceText(cell) {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source ?? '';
}

/**
 * The student id of a submission: the notebook's metadata `"rnn-lab": { "student": "…" }` (a string, or a
 * number written as text), the same object that holds the homework id. null when absent or of another type.
 * A class that collects work through an LMS or Gradescope knows the student from the upload and may leave it
 * empty; a teacher who collects files puts it there (the release leaves it out, so the student adds it).
 */
export function studentOf(nb) {
  const s = nb?.metadata?.['rnn-lab']?.student;
  if (typeof s === 'string' && s.trim()) return s.trim();
  if (typeof s === 'number' && Number.isFinite(s)) return String(s);
  return null;
}

/** One CSV field as RFC 4180 writes it: quoted (quotes doubled) when it holds a comma, a quote, CR or LF. */
export function csvField(value) {
  const v = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

export const HAND_GRADED = 'to be graded by hand';

/**
 * The student's answers to a homework's written questions (the manifest's `questions`), read from the
 * submission notebook itself (no kernel needed): the markdown cell whose metadata is
 * `"rnn-lab": { "answer": "<question id>" }`, or, if the student's editor lost that metadata, the markdown
 * cells right after the question's heading (up to the next code cell or heading). The placeholder
 * (`*Your answer here.*`) is not an answer. Each entry: { question, title, points: null, maxPoints,
 * status: 'to be graded by hand', answered, answer, message } — never added to the automatic points.
 */
export function questionAnswers(nb, questions = []) {
  const cells = Array.isArray(nb?.cells) ? nb.cells : [];
  return questions.map((q) => {
    let parts = cells.filter((c) => c?.cell_type === 'markdown' && answerIdOf(c) === q.question).map(sourceText);
    if (parts.length === 0) {
      const at = cells.findIndex((c) => c?.cell_type === 'markdown' && (QUESTION_HEADING.exec(sourceText(c))?.[2] ?? null) === q.title);
      if (at >= 0) {
        for (let k = at + 1; k < cells.length && cells[k]?.cell_type === 'markdown' && !/^#+\s/m.test(sourceText(cells[k])); k++) parts.push(sourceText(cells[k]));
      }
    }
    const answer = parts.join('\n\n').split(ANSWER_PLACEHOLDER).join('').trim();
    const answered = answer.length > 0;
    return {
      question: q.question, title: q.title, points: null, maxPoints: q.points, status: HAND_GRADED, answered, answer,
      message: `${HAND_GRADED} (${q.points} point${q.points === 1 ? '' : 's'})${answered ? '' : ': no answer was written (the answer cell is empty or still holds the placeholder)'}`,
    };
  });
}

export const CSV_FIRST_COLUMNS = Object.freeze(['file', 'student', 'homework']);
export const CSV_LAST_COLUMNS = Object.freeze(['total', 'max', 'error']);
/** The column, just before total, that says why each exercise lost points (the check's message, as in grades.json). */
export const FEEDBACK_COLUMN = 'feedback';

/** Longest reason kept in the CSV (a spreadsheet cell stays readable; grades.json has the whole message). */
const FEEDBACK_CHARS = 400;

/** One line per exercise of `entry` that lost points: `exercise points/max: the check's message` (on one line, cut at 400 characters). */
export function feedbackOf(entry) {
  return (entry.exercises ?? []).filter((x) => x.maxPoints !== undefined && x.points < x.maxPoints)
    .map((x) => {
      const why = String(x.message ?? '').replace(/\s+/g, ' ').trim() || 'no message';
      return `${x.exercise} ${x.points}/${x.maxPoints}: ${why.length > FEEDBACK_CHARS ? `${why.slice(0, FEEDBACK_CHARS - 1)}…` : why}`;
    }).join('\n');
}

/**
 * The report as a CSV table (RFC 4180: CRLF line ends, a header row): one row per submission, in the
 * report's order, with columns file, student, homework, one column per exercise of the homeworks present
 * (the union, in manifest order; an exercise id that two of those homeworks share is written
 * `homework/exercise`), total, max and error (why a submission was not graded). An exercise column is
 * empty for a submission of another homework or one that was not graded; total and max are the report's
 * points and maxPoints (0 and 0 for a submission that could not be read): the automatic points only. When the
 * report has written questions (graded by hand), each adds two columns before total, `<question>` ("to be
 * graded by hand (N points)", or "…: no answer was written") and `<question> answer` (the student's text), and
 * columns `hand max` and `max with hand` give the points still to be graded by hand and the homework's whole
 * maximum (automatic + by hand, the notebook's total row). The `feedback` column, just before total, has a
 * line per exercise that lost points, `exercise points/max: reason` (the check's message on one line, cut at
 * 400 characters; grades.json keeps it whole), so a teacher reading the table sees why without opening the report.
 */
export function csvTable(report, manifest) {
  const subs = report.submissions;
  const present = new Set(subs.map((e) => e.homework).filter(Boolean));
  const columns = [];   // { homework, exercise }
  const order = [...manifest.notebooks.map((n) => n.homework).filter((h) => present.has(h)), ...[...present].filter((h) => !manifest.notebooks.some((n) => n.homework === h))];
  for (const h of order) {
    const fromManifest = manifest.notebooks.find((n) => n.homework === h)?.exercises.map((x) => x.exercise);
    const fromReport = subs.filter((e) => e.homework === h).flatMap((e) => e.exercises.map((x) => x.exercise));
    for (const exercise of [...new Set([...(fromManifest ?? []), ...fromReport])]) columns.push({ homework: h, exercise });
  }
  // Written questions (graded by hand), as the report lists them: "to be graded by hand (N points)" and the answer.
  const qcolumns = [];   // { homework, question }
  for (const h of order) {
    for (const question of [...new Set(subs.filter((e) => e.homework === h).flatMap((e) => (e.questions ?? []).map((q) => q.question)))]) qcolumns.push({ homework: h, question });
  }
  const shared = (x) => columns.filter((c) => c.exercise === x).length + qcolumns.filter((c) => c.question === x).length > 1;
  const name = (h, x) => (shared(x) ? `${h}/${x}` : x);
  const header = [...CSV_FIRST_COLUMNS, ...columns.map((c) => name(c.homework, c.exercise)),
    ...qcolumns.flatMap((c) => [name(c.homework, c.question), `${name(c.homework, c.question)} answer`]), ...(qcolumns.length ? ['hand max', 'max with hand'] : []), FEEDBACK_COLUMN, ...CSV_LAST_COLUMNS];
  const rows = subs.map((e) => {
    const points = new Map(e.exercises.map((x) => [x.exercise, x.points]));
    const qs = new Map((e.questions ?? []).map((q) => [q.question, q]));
    const qcells = qcolumns.flatMap((c) => {
      const q = c.homework === e.homework ? qs.get(c.question) : undefined;
      return q ? [q.message, q.answer] : ['', ''];
    });
    return [e.submission, e.student, e.homework, ...columns.map((c) => (c.homework === e.homework ? points.get(c.exercise) : '')), ...qcells,
      ...(qcolumns.length ? [e.handMaxPoints ?? '', e.totalMaxPoints ?? ''] : []), feedbackOf(e), e.points, e.maxPoints, e.error];
  });
  return [header, ...rows].map((r) => r.map(csvField).join(',') + '\r\n').join('');
}

/** Why `csv` must not be written, or null: a folder, or a file whose first line is not a header of csvTable. */
export function csvProblem(csv) {
  if (!fs.existsSync(csv)) return null;
  if (fs.statSync(csv).isDirectory()) return `--csv ${csv} is a folder; give a file path for the CSV table`;
  const first = fs.readFileSync(csv, 'utf8').split(/\r?\n/, 1)[0];
  return first.startsWith(`${CSV_FIRST_COLUMNS.join(',')},`) ? null : `--csv ${csv} exists and is not a grades table from an earlier run, so it is not replaced; choose another file`;
}

const ordinal = (n) => {
  const t = n % 100;
  return `${n}${t >= 11 && t <= 13 ? 'th' : ({ 1: 'st', 2: 'nd', 3: 'rd' })[n % 10] ?? 'th'}`;
};

/**
 * A student's code cell as the student finds it: "the 4th code cell (starting `/** Gradients of one step;
 * each has…`)". Jupyter shows no cell numbers, so code cells are counted from 1 at the top of the notebook
 * (empty ones too, markdown cells not), with the cell's first non-blank line (40 characters at most) to
 * find it by. Every grader message names cells this way; the report's `cell` fields keep nbformat's 0-based
 * index over all cells, for scripts.
 */
export function cellLabel(codeCell, source) {
  const first = (source.split('\n').map((l) => l.trim()).find((l) => l) ?? '').replace(/\s+/g, ' ').replace(/`/g, "'");
  return `${codeCellName(codeCell)} (starting \`${first.length > 40 ? `${first.slice(0, 40).trimEnd()}…` : first}\`)`;
}

/** "the 4th code cell": the short form of cellLabel, where the start of the cell is given elsewhere. */
export const codeCellName = (codeCell) => `the ${ordinal(codeCell)} code cell`;

// Top-level declarations of a cell (a notebook's top level is not indented): what a later cell can use.
const DECLARATION = /^(?:export\s+)?(?:declare\s+)?(?:async\s+)?(?:abstract\s+)?(?:function\s*\*?\s*|(?:const|let|var|class|type|interface|enum|namespace)\s+)([A-Za-z_$][\w$]*)/gm;

/** The names a cell declares at its top level (functions, variables, classes, types, interfaces, enums). */
export function declaredNames(source) {
  return [...new Set([...source.matchAll(DECLARATION)].map((m) => m[1]))];
}

/** Whether an error says that `name` is missing: TypeScript's "Cannot find name 'X'" (any 'X'), or "X is not defined". */
function mentions(error, name) {
  return error.includes(`'${name}'`) || new RegExp(`(^|[^\\w$])${name.replace(/\$/g, '\\$')} is not defined`).test(error);
}

/**
 * What was lost with the student cells that ran past their limit or crashed the kernel. Such a cell leaves
 * none of its declarations behind (tslab keeps a cell's declarations only when it completes; a crashed
 * cell is skipped by the fresh kernel), so a later cell that uses one fails to compile ("Cannot find name
 * 'RnnStepGrads'") and what that cell declares is lost in turn. `cells`: the student cells in notebook
 * order, each { source, label, status, error, limit }. Returns `lost`: name → { root (the interrupted
 * cell), via (the failed cell that declared it, or null), uses (what `via` missed) }, and `causes`: failed
 * cell → { root, uses } for each failure so explained. A failure that names nothing lost is the cell's own.
 */
export function traceLost(cells) {
  const lost = new Map();
  const causes = new Map();
  for (const c of cells) {
    const names = declaredNames(c.source);
    if (c.status === 'timeout' || c.status === 'died') {
      for (const n of names) lost.set(n, { root: c, via: null, uses: [] });
      continue;
    }
    const uses = c.status === 'error' ? [...lost.keys()].filter((n) => mentions(c.error ?? '', n)) : [];
    if (uses.length) {
      const root = lost.get(uses[0]).root;
      causes.set(c, { root, uses });
      for (const n of names) lost.set(n, { root, via: c, uses });
      continue;
    }
    for (const n of names) lost.delete(n);   // declared again, or lost for a reason of its own
  }
  return { lost, causes };
}

/**
 * "the 4th code cell (…) ran longer than the time limit (20 s) and was interrupted", or "… crashed the
 * kernel and was skipped"; `subject` replaces the cell's label as the sentence's subject.
 */
export function interruptedText(c, subject = c.label) {
  if (c.status === 'died') return `${subject} crashed the kernel${/out of memory/.test(c.error ?? c.note ?? '') ? ' (it ran out of memory)' : ''} and was skipped`;
  return `${subject} ran longer than the time limit${c.limit ? ` (${c.limit} s)` : ''} and was interrupted`;
}

const fixLost = (c) => `${c.status === 'died' ? 'Fix that cell' : 'Make that cell finish within the limit'} (Kernel → Restart & Run All runs the notebook as the grader does) and submit again.`;

/**
 * An exercise's result with the reason its function is missing, when that reason is a cell that ran past
 * its limit or crashed the kernel (traceLost): the check itself can only say that no such function exists.
 * Points are unchanged: nothing can bring back what an interrupted cell would have declared.
 */
export function explainMissing(result, trace) {
  const x = trace.lost.get(result.function);
  if (!x || result.points > 0 || !result.message.startsWith(`no function named ${result.function} is defined`)) return result;
  const root = `${interruptedText(x.root)}, so what it defines does not exist`;
  const why = x.via
    ? `${x.via.label}, which defines it, failed (it uses ${x.uses.join(', ')}) because ${root}`
    : `${interruptedText(x.root, `${x.root.label}, which defines it,`)}, so what it defines does not exist`;
  return { ...result, message: `no function named ${result.function} is defined: ${why}. ${fixLost(x.root)}` };
}

/** Which homework a submission is: its metadata, else its file name, else the checks it calls. */
export function identifyHomework(nb, file, manifest, forced) {
  const known = manifest.notebooks;
  const byId = (id) => known.find((n) => n.homework === id);
  if (forced) {
    const hw = byId(forced);
    if (!hw) throw new Error(`--homework ${forced}: unknown; known: ${known.map((n) => n.homework).join(', ')}`);
    return hw;
  }
  const meta = nb.metadata?.['rnn-lab']?.homework;
  if (meta && byId(meta)) return byId(meta);
  const base = path.basename(file);
  const named = known.find((n) => base.includes(n.homework));
  if (named) return named;
  const text = (nb.cells ?? []).map(sourceText).join('\n');
  let best = null;
  let bestHits = 0;
  for (const n of known) {
    const hits = n.exercises.filter((e) => text.includes(`check.${e.exercise}(`) || new RegExp(`\\bfunction\\s+${e.function}\\b`).test(text)).length;
    if (hits > bestHits) { best = n; bestHits = hits; }
  }
  return best;
}

/**
 * Why a notebook must not be graded as the forced homework `forced` (`--homework`, which the Gradescope
 * autograder always passes), or null: its metadata `"rnn-lab": { "homework" }` names another homework (the
 * release writes the manifest's id there, so any other id is another homework's notebook, known here or
 * not), or, without that metadata, its file name holds another known homework's id and not `forced`'s.
 * Grading it anyway would score 0 with a "no function named …" message for every exercise, which sends the
 * student looking for a bug in the right notebook instead of uploading it.
 */
export function homeworkMismatch(nb, file, manifest, forced) {
  if (!forced) return null;
  const meta = nb?.metadata?.['rnn-lab']?.homework;
  const fix = `upload your ${forced} notebook`;
  if (typeof meta === 'string' && meta.trim()) {
    return meta.trim() === forced ? null
      : `this notebook is ${meta.trim()}'s, not ${forced}'s (its metadata "rnn-lab": { "homework": ${JSON.stringify(meta.trim())} } says so): ${fix}`;
  }
  const base = path.basename(file);
  if (base.includes(forced)) return null;
  const other = manifest.notebooks.find((n) => n.homework !== forced && base.includes(n.homework));
  return other ? `this notebook is ${other.homework}'s, not ${forced}'s (its file name ${base} says so, and it has no "rnn-lab" homework metadata): ${fix}` : null;
}

/** The grader's cell for one exercise: never a compile error, whatever the student's notebook defines. */
export function graderCell(ex, seed) {
  return [
    `{`,
    `  // rnn-lab grader: hidden check of ${ex.exercise}`,
    `  // @ts-ignore`,
    `  const fn = typeof ${ex.function} === 'undefined' ? undefined : ${ex.function};`,
    `  require('rnn-lab').gradeExercise(${JSON.stringify(ex.exercise)}, fn, { hidden: true, seed: ${seed} });`,
    `}`,
  ].join('\n');
}

const RESULT_LINE = /^RNN_LAB_RESULT (\{.*\})\s*$/gm;

/** The result of one exercise from its grader cell's outcome. */
export function exerciseResult(ex, cell, cellTimeout) {
  const base = { exercise: ex.exercise, function: ex.function, maxPoints: ex.points };
  if (cell) {
    for (const m of (cell.stdout ?? '').matchAll(RESULT_LINE)) {
      let r;
      try { r = JSON.parse(m[1]); } catch { continue; }
      if (r.exercise !== ex.exercise) continue;
      const points = Math.max(0, Math.min(ex.points, Number(r.points) || 0));
      return { ...base, points, passed: points === ex.points, message: String(r.message ?? '') };
    }
  }
  let message;
  switch (cell?.status) {
    case 'timeout': message = `the hidden check did not finish within ${cellTimeout} s: does ${ex.function} loop forever?`; break;
    case 'died': message = `the kernel died during the hidden check of ${ex.function} (out of memory?)`; break;
    case 'error': message = `the hidden check could not run: ${(cell.error || 'unknown error').split('\n')[0].slice(0, 300)}`; break;
    case 'not-run': message = 'not graded: the submission ran out of time (or hung the kernel too often) before this check'; break;
    default: message = 'the hidden check printed no result';
  }
  return { ...base, points: 0, passed: false, message };
}

/** Whether `pid` is still one of our kernels (a finished kernel's pid may have been reused). */
function isOurKernel(pid) {
  try { process.kill(pid, 0); } catch { return false; }
  try {
    // The kernelspec runs KERNEL_LAUNCHER; 'tslab' matches kernels started from an older kernelspec.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmdline.includes(KERNEL_LAUNCHER) || cmdline.includes('tslab');
  } catch {
    return true;   // no /proc (macOS): the pid is alive and was ours a moment ago
  }
}

/** Kill the kernels listed in a job's pid file (they run in their own sessions). */
function killKernels(pidFile) {
  if (!fs.existsSync(pidFile)) return;
  for (const pid of fs.readFileSync(pidFile, 'utf8').split('\n').map(Number).filter((p) => p > 0)) {
    if (isOurKernel(pid)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  }
}

/** grade.py runs now, with the pid file of its kernels: what Ctrl-C must stop. */
const running = new Map();
/** Per-submission working folders (copies of the notebook, job files), removed when a grading ends. */
const workDirs = new Set();
let stopping = false;
/**
 * grade.py and its kernels run in their own process groups (so a submission cannot signal the grader),
 * so the terminal's Ctrl-C reaches only this process: stop them before exiting, or they would go on
 * running students' code with nobody to collect it.
 */
function stopOnSignals() {
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (stopping) return;
      stopping = true;
      for (const [child, pidFile] of running) {
        try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
        killKernels(pidFile);
      }
      for (const dir of workDirs) fs.rmSync(dir, { recursive: true, force: true });
      console.error(`rnn-lab grade: stopped by ${sig}; ${running.size} submission(s) being graded were stopped, no report written`);
      process.exit(128 + (os.constants.signals[sig] ?? 0));
    });
  }
}

/** Run grade.py for one job; kill it (and the kernels it started) if it overruns its deadline. */
function runPython(python, jobFile, outFile, pidFile, hardLimitS) {
  return new Promise((resolve) => {
    const child = spawn(python, [path.join(ROOT, 'scripts', 'homework', 'grade.py'), '--job', jobFile, '--out', outFile], {
      cwd: ROOT, env: jupyterEnv({ RNN_LAB_GRADING: '1' }), stdio: ['ignore', 'pipe', 'pipe'], detached: true,
    });
    running.set(child, pidFile);
    let stderr = '';
    child.stdout.on('data', () => {});
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-20000); });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, hardLimitS * 1000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      // Kernels are started in their own sessions: kill any this submission left behind.
      killKernels(pidFile);
      resolve({ code, signal, killed, stderr });
    });
  });
}

/**
 * Grade one submission. Resolves to its report entry (never rejects for a bad submission).
 * @param {string} file
 * @param {object} o options (parseArgs), plus python, kernel, manifest
 */
export async function gradeSubmission(file, o) {
  const t0 = Date.now();
  const entry = { submission: file, student: null, homework: null, points: 0, maxPoints: 0, exercises: [], cells: { total: 0, errors: [], timedOut: [], skipped: [] }, kernels: 0, seconds: 0 };
  let nb;
  try {
    nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    if (!Array.isArray(nb.cells)) throw new Error('it has no cells');
  } catch (e) {
    entry.error = `cannot read the notebook: ${e.message.replace(/\s+/g, ' ').trim()}`;
    entry.seconds = (Date.now() - t0) / 1000;
    return entry;
  }
  entry.student = studentOf(nb);
  const mismatch = homeworkMismatch(nb, file, o.manifest, o.homework);
  if (mismatch) {
    entry.error = mismatch;
    entry.seconds = (Date.now() - t0) / 1000;
    return entry;
  }
  const hw = identifyHomework(nb, file, o.manifest, o.homework);
  if (!hw) {
    entry.error = `cannot tell which homework this is (no rnn-lab.homework metadata, no homework id in the file name, no known check calls); use --homework ID${o.whence ? ` (${o.whence})` : ''}`;
    entry.seconds = (Date.now() - t0) / 1000;
    return entry;
  }
  entry.homework = hw.homework;
  entry.maxPoints = hw.maxPoints;
  if (hw.questions?.length) {
    // Written questions: read from the notebook, reported with their points, never added to `points`.
    entry.questions = questionAnswers(nb, hw.questions);
    entry.handMaxPoints = hw.questions.reduce((s, q) => s + q.points, 0);
    entry.totalMaxPoints = entry.maxPoints + entry.handMaxPoints;
  }
  const cells = [];
  let codeCell = 0;
  nb.cells.forEach((c, i) => {
    if (c.cell_type !== 'code') return;
    codeCell++;
    const source = sourceText(c);
    if (source.trim()) cells.push({ source, role: 'student', origIndex: i, codeCell, label: cellLabel(codeCell, source) });
  });
  entry.cells.total = cells.length;
  for (const ex of hw.exercises) cells.push({ source: graderCell(ex, o.seed), role: 'grader', exercise: ex.exercise });

  // A folder of its own, outside the project; node_modules is linked so that imports resolve.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-grade-'));
  workDirs.add(work);
  fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(work, 'node_modules'), 'dir');
  // The homework's own checks (defineExercise), where homeworkChecks() and gradeExercise look: the kernel's folder.
  if (hw.checks) fs.copyFileSync(path.join(o.manifestDir, hw.checks), path.join(work, path.basename(hw.checks)));
  const job = {
    cells, kernel: o.kernel, cellTimeout: o.cellTimeout, timeout: o.timeout, maxKernels: o.maxKernels, cwd: work,
    pidFile: path.join(work, 'kernels.pid'), kernelLog: path.join(work, 'kernel.log'),
  };
  const jobFile = path.join(work, 'job.json');
  const outFile = path.join(work, 'result.json');
  fs.writeFileSync(jobFile, JSON.stringify(job));
  const run = await runPython(o.python, jobFile, outFile, job.pidFile, o.timeout + 60);
  let result = null;
  try { result = JSON.parse(fs.readFileSync(outFile, 'utf8')); } catch { result = null; }
  if (!result) {
    entry.error = run.killed
      ? `grading was stopped after ${o.timeout + 60} s`
      : `scripts/homework/grade.py failed (exit ${run.code}${run.signal ? `, ${run.signal}` : ''}): ${run.stderr.trim().split('\n').slice(-5).join(' | ')}`;
  }
  // grade.py answers for every cell of the job, in its order.
  const rcells = (result?.cells ?? cells.map(() => ({ status: 'not-run', stdout: '', error: '' }))).map((r, i) => ({ ...cells[i], ...r, source: cells[i].source, label: cells[i].label, codeCell: cells[i].codeCell }));
  const student = rcells.filter((c) => c.role === 'student');
  const trace = traceLost(student.map((c) => ({ ...c, limit: c.limit ?? o.cellTimeout })));
  const traced = new Map([...trace.causes].map(([c, v]) => [c.origIndex, v]));
  for (const c of student) {
    const where = { cell: c.origIndex, codeCell: c.codeCell, label: c.label };
    if (c.status === 'error') {
      const cause = traced.get(c.origIndex);
      entry.cells.errors.push({ ...where, error: (c.error || '').split('\n').slice(0, 3).join(' ').slice(0, 500), ...(cause ? { after: cause.root.codeCell, uses: cause.uses } : {}) });
    }
    if (c.status === 'timeout' || c.status === 'died') entry.cells.timedOut.push({ ...where, status: c.status, seconds: c.seconds, limit: c.limit ?? o.cellTimeout, note: c.error, defines: declaredNames(c.source) });
    if (c.status === 'not-run') entry.cells.skipped.push(where);
  }
  entry.exercises = hw.exercises.map((ex) => explainMissing(exerciseResult(ex, rcells.find((c) => c.role === 'grader' && c.exercise === ex.exercise), o.cellTimeout), trace));
  entry.points = entry.exercises.reduce((s, e) => s + e.points, 0);
  entry.kernels = result?.kernels ?? 0;
  entry.outcome = result?.outcome ?? 'failed';
  if (result?.events?.length) entry.events = result.events;
  entry.seconds = Math.round((Date.now() - t0) / 100) / 10;
  if (o.keep) {
    const dest = keepFolder(o.keep, path.basename(file, '.ipynb'));
    for (const f of ['job.json', 'result.json', 'kernel.log']) if (fs.existsSync(path.join(work, f))) fs.copyFileSync(path.join(work, f), path.join(dest, f), fs.constants.COPYFILE_EXCL);
    entry.kept = dest;
  }
  fs.rmSync(work, { recursive: true, force: true });
  workDirs.delete(work);
  return entry;
}

/** One summary line per submission. */
export function summaryLine(e) {
  if (!e.homework) return `??  ${e.submission}: not graded — ${e.error}`;
  const parts = e.exercises.map((x) => `${x.exercise} ${x.points}/${x.maxPoints}`).join(', ');
  const notes = [];
  // The cause first: a cell that timed out or crashed takes its declarations with it, and the errors of
  // the cells that used them follow from it (`after`).
  const lost = e.cells.timedOut;
  if (lost.length) notes.push(`${lost.length} cell${lost.length > 1 ? 's' : ''} timed out or crashed the kernel (${lost.map((c) => codeCellName(c.codeCell)).join(', ')})`);
  const errors = e.cells.errors;
  if (errors.length) {
    const follow = errors.filter((c) => c.after).length;
    notes.push(`${errors.length} cell error${errors.length > 1 ? 's' : ''}${follow ? ` (${follow} follow${follow > 1 ? '' : 's'} from it)` : ''}`);
  }
  if (e.questions?.length) {
    const empty = e.questions.filter((q) => !q.answered).length;
    notes.push(`+ ${e.handMaxPoints} points ${HAND_GRADED} (${e.questions.map((q) => q.question).join(', ')}${empty ? `; ${empty} not answered` : ''})`);
  }
  if (e.error) notes.push(e.error);
  return `${String(e.points).padStart(3)}/${e.maxPoints}  ${e.homework}  ${e.submission}  (${parts}${notes.length ? `; ${notes.join('; ')}` : ''}) ${e.seconds.toFixed(1)} s`;
}

/** Grade many submissions, `jobs` at a time. */
export async function gradeAll(files, o) {
  const results = new Array(files.length);
  let next = 0;
  const worker = async () => {
    while (next < files.length) {
      const k = next++;
      results[k] = await gradeSubmission(files[k], o);
      if (!o.quiet) console.log(summaryLine(results[k]));
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.jobs, files.length) }, worker));
  return results;
}

export async function main(argv) {
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    console.error(`grade: ${e.message}\n${USAGE}`);
    return 2;
  }
  if (o.help || o.files.length === 0) {
    (o.help ? console.log : console.error)(USAGE);
    return o.help ? 0 : 2;
  }
  if (!libraryBuilt()) {
    console.error('grade: the library is not built (dist/ is missing): run `npm run build`');
    return 2;
  }
  const bad = outProblem(o.out) ?? (o.csv ? csvProblem(o.csv) : null);
  if (bad) {
    console.error(`grade: ${bad}`);
    return 2;
  }
  const missing = o.files.filter((f) => !fs.existsSync(f));
  if (missing.length) {
    console.error(`grade: no such file: ${missing.join(', ')}`);
    return 2;
  }
  exerciseTable();   // fails early with a clear message when dist/ is stale
  const manifestFile = path.resolve(o.manifest ?? MANIFEST);
  if (o.manifest && !fs.existsSync(manifestFile)) {
    console.error(`grade: --manifest ${o.manifest}: no such file; a release writes it as <homework folder>/release/manifest.json`);
    return 2;
  }
  const manifest = loadManifest(manifestFile);
  const known = manifest.notebooks.map((n) => n.homework);
  // Where the homeworks the grader knows come from, and how to point it at another release.
  const whence = `homeworks known from ${path.relative(process.cwd(), manifestFile) || manifestFile}: ${known.join(', ')}; ` +
    'a homework released with `homework-release.mjs --dir DIR` is graded with --manifest DIR/release/manifest.json';
  if (o.homework && !known.includes(o.homework)) {
    console.error(`grade: --homework ${o.homework} is not in the manifest (${whence})`);
    return 2;
  }
  const python = findPython(['nbclient', 'nbformat', 'jupyter_client']);
  if (!python) {
    console.error(`grade: Jupyter (nbclient) was not found in ${pythonCandidates().join(', ')}. ${INSTALL_HINT}`);
    return 2;
  }
  const kernel = installGradingKernel(o.memory).name;
  const t0 = Date.now();
  const results = await gradeAll(o.files, { ...o, python, kernel, manifest, manifestDir: path.dirname(manifestFile), whence });
  const report = {
    generatedBy: REPORT_BY,
    gradedAt: new Date().toISOString(),
    options: { cellTimeout: o.cellTimeout, timeout: o.timeout, memoryMb: o.memory, seed: o.seed },
    seconds: Math.round((Date.now() - t0) / 100) / 10,
    submissions: results,
  };
  const again = outProblem(o.out);   // something may have appeared there while grading ran
  if (again) throw new Error(again);
  const againCsv = o.csv ? csvProblem(o.csv) : null;
  if (againCsv) throw new Error(againCsv);
  fs.mkdirSync(path.dirname(path.resolve(o.out)), { recursive: true });
  libFiles().writeFileAtomic(o.out, JSON.stringify(report, null, 2) + '\n');
  if (o.csv) {
    fs.mkdirSync(path.dirname(path.resolve(o.csv)), { recursive: true });
    libFiles().writeFileAtomic(o.csv, csvTable(report, manifest));
  }
  console.log(`graded ${results.length} submission${results.length === 1 ? '' : 's'} in ${report.seconds.toFixed(1)} s; report: ${o.out}${o.csv ? `, table: ${o.csv}` : ''}`);
  // 1 whenever an entry carries an error: unreadable, of no (or another) homework, or a grading run that
  // failed (grade.py crashed or was stopped) — all of them are in the report, but a script must notice.
  return results.some((r) => !r.homework || r.error) ? 1 : 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  stopOnSignals();
  main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (e) => {
    console.error(`grade: ${e.stack || e.message}`);
    process.exitCode = 2;
  });
}
