// `npm run homework:release`: write the students' versions of the homework notebooks.
//
// Source notebooks (homework/*.ipynb) hold the solutions between marker lines inside the function
// bodies of code cells:
//
//     function rnnStepForward(x: tf.Tensor2D, …): tf.Tensor2D {
//       // BEGIN SOLUTION: compute a_t and return h_t
//       …
//       // END SOLUTION
//     }
//
// The release (homework/release/*.ipynb) replaces each block by a TODO comment (the text after
// "BEGIN SOLUTION:" if any) and `throw new Error('not implemented')`, so the signature stays and the
// stub compiles; clears every output; and writes homework/release/manifest.json with the notebooks,
// their exercises (from the `check.<exercise>(<function>)` cells) and points (from the library's
// EXERCISES, or from the checks file beside the notebook, which must agree with the "(N points)" in each
// exercise's heading). It then verifies that no solution line and no marker made it into the release.
//
// Written questions, graded by hand: a markdown cell starting with the heading
// `## Question k · Title (N points, graded by hand)` and the question's text, followed by the student's
// answer cell: a markdown cell with the metadata `"rnn-lab": { "answer": "<question id>" }`. In the source
// the answer cell holds the teacher's model answer between `<!-- BEGIN ANSWER -->` and `<!-- END ANSWER -->`;
// the release replaces that block with the placeholder `*Your answer here.*` (ANSWER_PLACEHOLDER) and refuses
// an answer cell with anything else outside the markers (a model answer that would leak), markers anywhere
// else, a question heading without its answer cell, and an answer cell without a question. The manifest lists
// the questions with their points (`questions`, `handPoints`); the total row counts exercises and questions.
//
// A teacher's checks (exercises made by defineExercise) live beside the notebook, homework/<name>.checks.cjs
// for homework/<name>.ipynb: the release reads their points and copies the file beside the student version
// (the in-notebook checks, homeworkChecks(), load it from there; the grader copies it next to each submission).
//
//     node scripts/homework/homework-release.mjs               write homework/release/
//     node scripts/homework/homework-release.mjs --check       exit 1 if the committed release is not up to date
//     node scripts/homework/homework-release.mjs --dir DIR     the homework folder DIR (release into DIR/release/)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { ROOT, listNotebooks, libraryBuilt, libFiles } from '../lib/jupyter.mjs';
import { scanArgs } from '../lib/args.mjs';

export const HOMEWORK_DIR = path.join(ROOT, 'homework');
export const RELEASE_DIR = path.join(HOMEWORK_DIR, 'release');
export const MANIFEST = path.join(RELEASE_DIR, 'manifest.json');

const BEGIN = /^(\s*)\/\/\s*BEGIN SOLUTION\b[:\s—-]*(.*)$/;
const END = /^\s*\/\/\s*END SOLUTION\b/;
const CHECK_CALL = /\bcheck\.(\w+)\(\s*([A-Za-z_$][\w$]*)/g;

/** What a released answer cell says (and all it says) until the student writes there. */
export const ANSWER_PLACEHOLDER = '*Your answer here.*';
const ANSWER_BLOCK = /<!--\s*BEGIN ANSWER\s*-->[\s\S]*?<!--\s*END ANSWER\s*-->/g;
const ANSWER_MARKER = /<!--\s*(BEGIN|END) ANSWER\s*-->/;
/** A written question's heading: `## Question 2 · Title (3 points, graded by hand)`. */
export const QUESTION_HEADING = /^#+\s*Question\s+(\w+)\s*[·:.—-]?\s*(.*?)\s*\((\d+)\s+points?,\s*graded by hand\)\s*$/m;

const USAGE = 'usage: node scripts/homework/homework-release.mjs [--check] [--dir DIR]';

/** The built library's check module. */
function checkModule() {
  if (!libraryBuilt()) throw new Error('the library is not built (dist/ is missing): run `npm run build` first');
  const require = createRequire(import.meta.url);
  return require(path.join(ROOT, 'dist', 'check.js'));
}

/** The library's exercise table (points, function names), from the built library. */
export function exerciseTable() {
  return checkModule().EXERCISES;
}

/** The checks file beside a homework notebook: homework/<name>.checks.cjs for homework/<name>.ipynb. */
export function checksFileOf(notebook) {
  return path.join(path.dirname(notebook), path.basename(notebook, '.ipynb') + checkModule().CHECKS_SUFFIX);
}

/** The first line of a checks file's copy in the release: marks it as the release's (isReleaseOutput). */
const CHECKS_COPY = '// rnn-lab release: a copy of';

/**
 * The exercise table a notebook's check calls are read against: the library's, plus the exercises of
 * the checks file beside the notebook (when there is one). Also returns that file's text, for the copy.
 */
export function notebookTable(notebook, table = exerciseTable()) {
  const file = checksFileOf(notebook);
  if (!fs.existsSync(file)) return { table, checks: null };
  const own = {};
  for (const [name, { def }] of checkModule().loadChecksFile(file)) {
    if (Object.hasOwn(table, name)) throw new Error(`${file}: '${name}' is already an exercise of the library; choose another name`);
    own[name] = { homework: def.homework, fn: def.fn, maxPoints: def.maxPoints, title: def.title };
  }
  return { table: { ...table, ...own }, checks: { file, text: fs.readFileSync(file, 'utf8') } };
}

function sourceText(cell) {
  return Array.isArray(cell.source) ? cell.source.join('') : cell.source ?? '';
}

/**
 * Split a code cell's source into solution-free text and the solution lines it removed.
 * Throws on unbalanced or nested markers (with the cell's position in `where`).
 */
export function stripSolutions(source, where = 'cell') {
  const lines = source.split('\n');
  const out = [];
  const removed = [];
  let open = null;
  lines.forEach((line, k) => {
    const b = BEGIN.exec(line);
    if (b) {
      if (open) throw new Error(`${where}, line ${k + 1}: BEGIN SOLUTION inside another solution block (opened on line ${open.line})`);
      open = { line: k + 1, indent: b[1], todo: b[2].trim() };
      return;
    }
    if (END.test(line)) {
      if (!open) throw new Error(`${where}, line ${k + 1}: END SOLUTION without a BEGIN SOLUTION`);
      out.push(`${open.indent}// TODO: ${open.todo || 'write your code here'}`);
      out.push(`${open.indent}throw new Error('not implemented');`);
      open = null;
      return;
    }
    if (open) removed.push(line);
    else out.push(line);
  });
  if (open) throw new Error(`${where}: BEGIN SOLUTION on line ${open.line} is never closed by END SOLUTION`);
  return { source: out.join('\n'), removed };
}

/** Exercises of a notebook: its check calls, with the points stated in the preceding exercise heading. */
export function notebookExercises(nb, table, where) {
  const exercises = [];
  let heading = null;
  nb.cells.forEach((cell, i) => {
    const text = sourceText(cell);
    if (cell.cell_type === 'markdown') {
      const h = /^#+\s*Exercise\b.*$/m.exec(text);
      if (h) heading = { text: h[0], cell: i };
      return;
    }
    if (cell.cell_type !== 'code') return;
    for (const m of text.matchAll(CHECK_CALL)) {
      const [, exercise, fn] = m;
      const meta = table[exercise];
      if (!meta) throw new Error(`${where}: cell ${i} calls check.${exercise}, which is not an exercise of the library (known: ${Object.keys(table).join(', ')})`);
      if (meta.retired) throw new Error(`${where}: cell ${i} calls check.${exercise}, a retired exercise (still callable, but in no homework's notebook or total): remove that check`);
      const stated = heading && /\((\d+)\s+points?\)/.exec(heading.text);
      if (!stated) throw new Error(`${where}: no "## Exercise … (N points)" heading before the check of ${exercise} in cell ${i}`);
      if (Number(stated[1]) !== meta.maxPoints) {
        throw new Error(`${where}: the heading "${heading.text}" states ${stated[1]} points but check.${exercise} gives ${meta.maxPoints}`);
      }
      if (exercises.some((e) => e.exercise === exercise)) continue;
      exercises.push({ exercise, function: fn, points: meta.maxPoints, title: meta.title });
    }
  });
  return exercises;
}

/**
 * A points table's total row (`| **total** | | **N** |`) must equal the sum of the exercises' points:
 * students read the total there, the grader scores the sum.
 */
export function checkTotalRow(nb, exercises, where, questions = []) {
  const sum = exercises.reduce((s, e) => s + e.points, 0) + questions.reduce((s, q) => s + q.points, 0);
  for (const [i, cell] of nb.cells.entries()) {
    if (cell.cell_type !== 'markdown') continue;
    const m = /^\|\s*\*\*total\*\*\s*\|[^\n]*?\*\*(\d+)\*\*\s*\|\s*$/im.exec(sourceText(cell));
    if (m && Number(m[1]) !== sum) {
      const parts = [...exercises.map((e) => `${e.exercise} ${e.points}`), ...questions.map((q) => `${q.question} ${q.points} by hand`)];
      throw new Error(`${where}: the points table's total row in cell ${i} says ${m[1]}, but the ${questions.length ? "exercises' and questions'" : "exercises'"} points add up to ${sum} (${parts.join(', ')})`);
    }
  }
}

/** The question id of an answer cell (its metadata "rnn-lab": { "answer": id }), or null. */
export function answerIdOf(cell) {
  const id = cell?.metadata?.['rnn-lab']?.answer;
  return typeof id === 'string' && id.trim() ? id.trim() : null;
}

/**
 * A source answer cell's text in the release: the model answer (between the BEGIN/END ANSWER markers)
 * replaced by the placeholder. Throws when anything but blank space or the placeholder is outside the
 * markers (it would reach the students), or the markers are unbalanced. Returns { text, removed }.
 */
export function blankAnswer(text, where = 'answer cell') {
  const removed = [];
  const outside = text.replace(ANSWER_BLOCK, (block) => { removed.push(block); return '\u0000'; });
  if (ANSWER_MARKER.test(outside)) throw new Error(`${where}: an unbalanced <!-- BEGIN ANSWER --> / <!-- END ANSWER --> marker`);
  const rest = outside.replace(/\u0000/g, '').split(ANSWER_PLACEHOLDER).join('').trim();
  if (rest) {
    throw new Error(`${where}: text outside <!-- BEGIN ANSWER --> … <!-- END ANSWER --> would reach the students ` +
      `("${rest.slice(0, 60)}${rest.length > 60 ? '…' : ''}"): put the model answer between the markers (the release replaces them with ${ANSWER_PLACEHOLDER})`);
  }
  const lines = removed.join('\n').split('\n').map((l) => l.replace(ANSWER_MARKER, '').trim());
  return { text: ANSWER_PLACEHOLDER, removed: lines };
}

/**
 * The written questions of a notebook, in order: { question (the answer cell's id), number, title, points,
 * cell (the heading cell's index), answerCell }. Each `## Question … (N points, graded by hand)` heading
 * must be followed by its answer cell (the next cell; the question's text is in the heading's cell), each
 * answer cell must follow a question heading, and ids are unique.
 */
export function notebookQuestions(nb, where) {
  const questions = [];
  nb.cells.forEach((cell, i) => {
    const text = sourceText(cell);
    const id = answerIdOf(cell);
    if (id) {
      if (cell.cell_type !== 'markdown') throw new Error(`${where}: cell ${i} is the answer cell of '${id}' but a ${cell.cell_type} cell; answers are markdown cells`);
      const prev = nb.cells[i - 1];
      if (!prev || prev.cell_type !== 'markdown' || !QUESTION_HEADING.test(sourceText(prev))) {
        throw new Error(`${where}: the answer cell of '${id}' (cell ${i}) does not follow a "## Question k · Title (N points, graded by hand)" cell`);
      }
      return;   // its question (the cell before) lists it
    }
    if (cell.cell_type !== 'markdown') return;
    const h = QUESTION_HEADING.exec(text);
    if (!h) {
      if (/^#+\s*Question\b/m.test(text) && /graded by hand/i.test(text)) throw new Error(`${where}: cell ${i}: a question heading must read "## Question k · Title (N points, graded by hand)"`);
      return;
    }
    const next = nb.cells[i + 1];
    const nextId = answerIdOf(next);
    if (!nextId) throw new Error(`${where}: the question "${h[0].trim()}" (cell ${i}) has no answer cell after it: a markdown cell with the metadata "rnn-lab": { "answer": "<question id>" }`);
    if (questions.some((q) => q.question === nextId)) throw new Error(`${where}: two answer cells for the question id '${nextId}'`);
    questions.push({ question: nextId, number: h[1], title: h[2] || `Question ${h[1]}`, points: Number(h[3]), cell: i, answerCell: i + 1 });
  });
  for (const q of questions) if (!(q.points > 0)) throw new Error(`${where}: question ${q.number} gives ${q.points} points; give a positive number`);
  return questions;
}

/** A cell source as nbformat stores it: a list of lines, each but the last ending in a newline. */
function splitLines(text) {
  if (text === '') return [];
  const lines = text.split('\n');
  return lines.map((l, k) => (k < lines.length - 1 ? `${l}\n` : l)).filter((l) => l !== '');
}

/** The student version of a source notebook, and the solution lines it removed. */
export function releaseNotebook(nb, where = 'notebook') {
  const removed = [];
  const cells = nb.cells.map((cell, i) => {
    const text = sourceText(cell);
    if (cell.cell_type !== 'code') {
      if (/BEGIN SOLUTION|END SOLUTION/.test(text)) {
        throw new Error(`${where}: solution markers are only allowed in code cells (cell ${i} is ${cell.cell_type})`);
      }
      if (answerIdOf(cell)) {
        const r = blankAnswer(text, `${where}, cell ${i} (the answer cell of '${answerIdOf(cell)}')`);
        removed.push(...r.removed);
        return { ...cell, source: splitLines(r.text) };
      }
      if (ANSWER_MARKER.test(text)) throw new Error(`${where}: cell ${i} has an ANSWER marker but is no answer cell (its metadata has no "rnn-lab": { "answer": "<question id>" }): the model answer would reach the students`);
      return { ...cell, source: splitLines(text) };
    }
    if (ANSWER_MARKER.test(text)) throw new Error(`${where}: cell ${i} is a code cell with an ANSWER marker; model answers belong in a markdown answer cell`);
    const r = stripSolutions(text, `${where}, cell ${i}`);
    removed.push(...r.removed);
    return { ...cell, source: splitLines(r.source), outputs: [], execution_count: null, metadata: {} };
  });
  const metadata = JSON.parse(JSON.stringify(nb.metadata ?? {}));
  metadata['rnn-lab'] = { ...(metadata['rnn-lab'] ?? {}), release: true };
  return { nb: { ...nb, metadata, cells }, removed };
}

/** Solution lines worth searching for in the release: long enough not to occur by accident. */
export function distinctiveLines(lines) {
  return [...new Set(lines.map((l) => l.trim()))].filter((l) => l.length >= 24 && !l.startsWith('//') && !/^[{}()[\];,\s]*$/.test(l));
}

/** JSON as nbformat writes it: keys sorted, one-space indent, trailing newline. */
export function notebookJson(nb) {
  const sort = (v) => (Array.isArray(v) ? v.map(sort) : v && typeof v === 'object'
    ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sort(v[k])])) : v);
  return JSON.stringify(sort(nb), null, 1) + '\n';
}

/**
 * Build the release in memory: { files: Map<path, text>, manifest, leaks }.
 * @param {{ homeworkDir?: string, releaseDir?: string }} [where] the sources (default homework/) and
 *   the release folder (default <homeworkDir>/release)
 */
/** A path as messages and the manifest give it: relative to the checkout inside it, absolute outside. */
function shown(file) {
  const rel = path.relative(ROOT, file);
  return rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(file) : rel;
}

export function buildRelease({ homeworkDir = HOMEWORK_DIR, releaseDir = path.join(homeworkDir, 'release') } = {}) {
  const library = exerciseTable();
  const sources = listNotebooks(homeworkDir);
  if (sources.length === 0) throw new Error(`no homework notebooks in ${shown(homeworkDir)}/`);
  const files = new Map();
  const manifest = { generatedBy: 'npm run homework:release (scripts/homework/homework-release.mjs)', notebooks: [] };
  const leaks = [];
  for (const file of sources) {
    const rel = shown(file);
    const nb = JSON.parse(fs.readFileSync(file, 'utf8'));
    const { nb: released, removed } = releaseNotebook(nb, rel);
    if (removed.length === 0) throw new Error(`${rel}: no BEGIN SOLUTION … END SOLUTION blocks; is it a homework source?`);
    const { table, checks } = notebookTable(file, library);
    const exercises = notebookExercises(nb, table, rel);
    if (exercises.length === 0) throw new Error(`${rel}: no check.<exercise>(…) calls`);
    const questions = notebookQuestions(nb, rel);
    checkTotalRow(nb, exercises, rel, questions);
    // The grader recognises a renamed submission by this id (a student's file name is theirs to choose).
    const id = nb.metadata?.['rnn-lab']?.homework ?? path.basename(file, '.ipynb');
    released.metadata['rnn-lab'] = { ...released.metadata['rnn-lab'], homework: id };
    const text = notebookJson(released);
    const name = path.basename(file);
    // Nothing of the solutions may remain: no marker and no distinctive solution line.
    if (/BEGIN SOLUTION|END SOLUTION/.test(text)) leaks.push(`${name}: a solution marker`);
    if (/BEGIN ANSWER|END ANSWER/.test(text)) leaks.push(`${name}: a model answer marker`);
    const plain = released.cells.map((c) => sourceText(c)).join('\n');
    for (const line of distinctiveLines(removed)) if (plain.includes(line)) leaks.push(`${name}: "${line}"`);
    files.set(path.join(releaseDir, name), text);
    let checksName;
    if (checks) {
      checksName = path.basename(checks.file);
      files.set(path.join(releaseDir, checksName), `${CHECKS_COPY} ${shown(checks.file)}, written by npm run homework:release; edit that file, not this one.\n${checks.text}`);
    }
    const title = (/^#\s+(.+)$/m.exec(sourceText(nb.cells.find((c) => c.cell_type === 'markdown') ?? { source: '' })) ?? [, name])[1];
    manifest.notebooks.push({
      homework: id,
      file: shown(path.join(releaseDir, name)),
      source: rel,
      ...(checksName ? { checks: checksName } : {}),
      title,
      // maxPoints: what the grader scores automatically; handPoints: the questions, graded by hand.
      maxPoints: exercises.reduce((s, e) => s + e.points, 0),
      exercises,
      ...(questions.length ? {
        handPoints: questions.reduce((s, q) => s + q.points, 0),
        totalPoints: exercises.reduce((s, e) => s + e.points, 0) + questions.reduce((s, q) => s + q.points, 0),
        questions: questions.map((q) => ({ question: q.question, title: q.title, points: q.points })),
      } : {}),
    });
  }
  files.set(path.join(releaseDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { files, manifest, leaks };
}

/** Read the manifest of the committed release (or build it in memory when there is none). */
export function loadManifest(file = MANIFEST) {
  if (fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, 'utf8'));
  if (file !== MANIFEST) throw new Error(`no release manifest at ${file}: run the release first`);
  return buildRelease().manifest;
}

/**
 * Whether `file` is something this script wrote: a released notebook (metadata rnn-lab.release), its
 * manifest (generatedBy), or the copy of a checks file (its first line).
 */
export function isReleaseOutput(file) {
  if (file.endsWith('.cjs')) {
    try { return fs.readFileSync(file, 'utf8').startsWith(CHECKS_COPY); } catch { return false; }
  }
  let json;
  try { json = JSON.parse(fs.readFileSync(file, 'utf8')); } catch { return false; }
  return path.basename(file) === 'manifest.json'
    ? typeof json?.generatedBy === 'string' && json.generatedBy.includes('homework-release.mjs')
    : json?.metadata?.['rnn-lab']?.release === true;
}

/**
 * Notebooks in `dir` that an earlier release wrote (listed in its manifest, and marked as released)
 * and this release no longer has. Anything else in the folder — a teacher's own notebook or file —
 * is not the release's and is never counted as stale.
 */
export function staleNotebooks(files, dir) {
  const manifest = path.join(dir, 'manifest.json');
  if (!fs.existsSync(manifest) || !isReleaseOutput(manifest)) return [];
  const listed = (JSON.parse(fs.readFileSync(manifest, 'utf8')).notebooks ?? [])
    .flatMap((n) => [n.file, n.checks].filter((f) => f).map((f) => path.join(dir, path.basename(String(f)))));
  const names = new Set([...files.keys()].map((f) => path.basename(f)));
  return listed.filter((f) => /\.(ipynb|cjs)$/.test(f) && !names.has(path.basename(f)) && fs.existsSync(f) && isReleaseOutput(f));
}

/**
 * Write a release (Map of path → text; each written as dir/<basename>) into `dir`: every file
 * atomically; a file already there is replaced only if an earlier release wrote it (else an error
 * naming it, before anything is written); stale notebooks of the earlier release are removed after.
 * Nothing else in `dir` is touched.
 */
export function writeRelease(files, dir) {
  const { writeFileAtomic } = libFiles();
  const targets = [...files].map(([f, text]) => [path.join(dir, path.basename(f)), text]);
  const foreign = targets.map(([f]) => f).filter((f) => fs.existsSync(f) && !isReleaseOutput(f));
  if (foreign.length) {
    throw new Error(`${foreign.map((f) => shown(f)).join(', ')} ${foreign.length === 1 ? 'is' : 'are'} not from an earlier release (no rnn-lab release marker), so not replaced; move ${foreign.length === 1 ? 'it' : 'them'} away or rename the homework`);
  }
  const stale = staleNotebooks(files, dir);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, text] of targets) writeFileAtomic(f, text);
  for (const f of stale) fs.rmSync(f);
  return { written: targets.map(([f]) => f), removed: stale };
}

/** Parse the command line: { check, dir, help }; throws (with the usage line) on anything else. */
export function parseArgs(argv) {
  const o = { check: false, dir: HOMEWORK_DIR, help: false };
  for (const a of scanArgs(argv, { check: { type: 'boolean' }, dir: { type: 'string' }, help: { type: 'boolean', short: 'h' } })) {
    if (a.kind !== 'option') throw new Error(`${a.kind === 'unknown' || a.raw.startsWith('-') ? 'unknown option' : 'unexpected argument'} ${a.raw}\n${USAGE}`);
    if (a.name === 'dir') {
      if (!a.value || a.value.startsWith('--')) throw new Error(`--dir needs a folder\n${USAGE}`);
      o.dir = path.resolve(a.value);
    } else o[a.name] = true;
  }
  return o;
}

function main(argv) {
  const o = parseArgs(argv);
  if (o.help) { console.log(USAGE); return 0; }
  const checkOnly = o.check;
  const releaseDir = path.join(o.dir, 'release');
  const { files, manifest, leaks } = buildRelease({ homeworkDir: o.dir, releaseDir });
  if (leaks.length) {
    console.error(`homework:release: solution text would leak into the release:\n  ${leaks.join('\n  ')}`);
    return 1;
  }
  const stale = staleNotebooks(files, releaseDir);
  if (checkOnly) {
    const outdated = [...files].filter(([f, text]) => !fs.existsSync(f) || fs.readFileSync(f, 'utf8') !== text).map(([f]) => f);
    const bad = [...outdated, ...stale].map((f) => shown(f));
    if (bad.length) {
      const command = o.dir === HOMEWORK_DIR ? 'npm run homework:release' : `node scripts/homework/homework-release.mjs --dir ${shown(o.dir)}`;
      console.error(`${shown(releaseDir)} is out of date (${bad.join(', ')}): run ${command}`);
      return 1;
    }
    const count = manifest.notebooks.length;
    console.log(`${shown(releaseDir)} is up to date (${count} notebook${count === 1 ? '' : 's'})`);
    return 0;
  }
  writeRelease(files, releaseDir);
  for (const nb of manifest.notebooks) {
    const list = nb.exercises.map((e) => `${e.exercise} ${e.points}`).join(', ');
    const qs = nb.questions ? `; ${nb.questions.length} question${nb.questions.length > 1 ? 's' : ''} graded by hand, ${nb.handPoints} points (${nb.questions.map((q) => `${q.question} ${q.points}`).join(', ')})` : '';
    console.log(`${nb.file}: ${nb.exercises.length} exercises, ${nb.maxPoints} points (${list})${qs}`);
  }
  console.log(`wrote ${shown(path.join(releaseDir, 'manifest.json'))}; no solution text in the release`);
  return 0;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (e) {
    console.error(`homework:release: ${e.message}`);
    process.exitCode = 1;
  }
}
