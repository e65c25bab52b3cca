// Grades out (issue 18, item 5): `npm run grade -- --csv FILE` and the Gradescope autograder
// (`npm run homework:autograder`). run_autograder runs for real, in a temporary root, against this
// checkout's grader, on a correct, a wrong, a hanging and unreadable submissions; its results.json is
// checked against Gradescope's documented format (the schema below is written from the doc, not from the
// code) and its grades against `npm run grade`'s for the same files; the CSV rows against the JSON report.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';
import { findPython, INSTALL_HINT } from '../scripts/lib/jupyter.mjs';
import { csvField, csvTable, csvProblem, studentOf, parseArgs as gradeArgs } from '../scripts/homework/grade.mjs';
import { pickNotebook, gradescopeResult, parseArgs as gsArgs } from '../scripts/homework/gradescope.mjs';
import { parseArgs as agArgs, zipBytes } from '../scripts/homework/autograder.mjs';
import { writeSubmission, SUBMISSION_KINDS } from '../scripts/homework/grade-throughput.mjs';

const hasJupyter = () => findPython(['nbclient', 'nbformat', 'jupyter_client']);
const MANIFEST = JSON.parse(fs.readFileSync(path.join(ROOT, 'homework', 'release', 'manifest.json'), 'utf8'));
const HW1 = MANIFEST.notebooks.find((n) => n.homework === 'hw1-rnn-step');

// ---------------------------------------------------------------------------------------------
// Gradescope's results.json format, from "Autograder Specifications" → "Output format"
// (https://gradescope-autograders.readthedocs.io/en/latest/specs/; github.com/gradescope/autograder_samples
// docs/specs.md): written here from the doc so that the code under test is checked against it.
// ---------------------------------------------------------------------------------------------
const VISIBILITY = ['hidden', 'after_due_date', 'after_published', 'visible'];
const TOP_KEYS = ['score', 'execution_time', 'output', 'visibility', 'stdout_visibility', 'extra_data', 'tests', 'leaderboard'];
const TEST_KEYS = ['score', 'max_score', 'name', 'number', 'output', 'tags', 'visibility', 'extra_data'];
const isNum = (x) => typeof x === 'number' && Number.isFinite(x);
const isObj = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);

/** The schema's violations (empty when valid). */
function gradescopeViolations(r) {
  const bad = [];
  if (!isObj(r)) return ['results.json is not a JSON object'];
  for (const k of Object.keys(r)) if (!TOP_KEYS.includes(k)) bad.push(`unknown top-level key ${k}`);
  if ('score' in r && !isNum(r.score)) bad.push('score is not a number');
  if ('execution_time' in r && !isNum(r.execution_time)) bad.push('execution_time is not a number (seconds)');
  if ('output' in r && typeof r.output !== 'string') bad.push('output is not a string');
  for (const k of ['visibility', 'stdout_visibility']) if (k in r && !VISIBILITY.includes(r[k])) bad.push(`${k} ${r[k]} is not one of ${VISIBILITY}`);
  if ('extra_data' in r && !isObj(r.extra_data)) bad.push('extra_data is not an object');
  if ('tests' in r && !Array.isArray(r.tests)) bad.push('tests is not an array');
  if (!('score' in r) && !(Array.isArray(r.tests) && r.tests.length && r.tests.every((t) => 'score' in t))) bad.push('no top-level score and not every test has one');
  (Array.isArray(r.tests) ? r.tests : []).forEach((t, i) => {
    if (!isObj(t)) { bad.push(`tests[${i}] is not an object`); return; }
    for (const k of Object.keys(t)) if (!TEST_KEYS.includes(k)) bad.push(`tests[${i}]: unknown key ${k}`);
    for (const k of ['score', 'max_score']) if (k in t && !isNum(t[k])) bad.push(`tests[${i}].${k} is not a number`);
    for (const k of ['name', 'number', 'output']) if (k in t && typeof t[k] !== 'string') bad.push(`tests[${i}].${k} is not a string`);
    if ('tags' in t && !(Array.isArray(t.tags) && t.tags.every((x) => typeof x === 'string'))) bad.push(`tests[${i}].tags is not a list of strings`);
    if ('visibility' in t && !VISIBILITY.includes(t.visibility)) bad.push(`tests[${i}].visibility ${t.visibility}`);
  });
  return bad;
}

/** What the issue asks of our results on top of the format: a total, one test per exercise with all fields. */
function assertOurResult(r, where) {
  assert.deepEqual(gradescopeViolations(r), [], `${where}: ${JSON.stringify(r).slice(0, 400)}`);
  assert.equal(r.tests.length, HW1.exercises.length + (HW1.questions?.length ?? 0), `${where}: one test per exercise and per written question`);
  for (const t of r.tests) for (const k of ['name', 'score', 'max_score', 'output', 'visibility']) assert.ok(k in t, `${where}: a test without ${k}`);
  assert.equal(r.score, r.tests.reduce((s, t) => s + t.score, 0), `${where}: score is the sum of the tests`);
  assert.ok(r.tests.every((t) => t.score >= 0 && t.score <= t.max_score), where);
  assert.equal(typeof r.output, 'string');
}

/** An RFC 4180 reader, independent of the writer: quoted fields, doubled quotes, CRLF records. */
function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let i = 0;
  let quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    assert.ok(c !== '\n' && c !== '\r' && c !== '"', `a bare ${JSON.stringify(c)} at ${i}: not RFC 4180`);
    field += c; i++;
  }
  assert.equal(field + row.join(''), '', 'the last record ends with CRLF');
  return rows;
}

/** The CSV rows as the JSON report says they must be (columns named by the header). */
function assertCsvMatchesReport(csv, report) {
  const [header, ...rows] = parseCsv(csv);
  assert.deepEqual(header.slice(0, 3), ['file', 'student', 'homework']);
  assert.deepEqual(header.slice(-3), ['total', 'max', 'error']);
  assert.equal(rows.length, report.submissions.length, 'one row per submission');
  // Written questions (graded by hand): `<id>`, `<id> answer` and `hand max`, checked against each entry's questions.
  const questionIds = new Set(report.submissions.flatMap((e) => (e.questions ?? []).map((q) => q.question)));
  const isQuestionCol = (h) => h === 'hand max' || h === 'max with hand' || questionIds.has(h.replace(/ answer$/, '').replace(/^.*\//, ''));
  assert.equal(header.at(-4), 'feedback');
  const exerciseCols = header.slice(3, -4).filter((h) => !isQuestionCol(h));
  rows.forEach((row, k) => {
    const e = report.submissions[k];
    assert.equal(row.length, header.length);
    const cell = Object.fromEntries(header.map((h, i) => [h, row[i]]));
    assert.equal(cell.file, e.submission);
    assert.equal(cell.student, e.student ?? '');
    assert.equal(cell.homework, e.homework ?? '');
    assert.equal(Number(cell.total), e.points, `${e.submission} total`);
    assert.equal(Number(cell.max), e.maxPoints, `${e.submission} max`);
    assert.equal(cell.error, e.error ?? '');
    for (const col of exerciseCols) {
      const x = e.exercises.find((y) => y.exercise === col || `${e.homework}/${y.exercise}` === col);
      assert.equal(cell[col], x ? String(x.points) : '', `${e.submission}: column ${col}`);
    }
    for (const x of e.exercises) assert.ok(exerciseCols.includes(x.exercise), `no column for ${x.exercise}`);
    for (const q of e.questions ?? []) {
      assert.equal(cell[q.question], q.message, `${e.submission}: column ${q.question}`);
      assert.equal(cell[`${q.question} answer`], q.answer, `${e.submission}: column ${q.question} answer`);
      assert.equal(cell['hand max'], String(e.handMaxPoints));
      assert.equal(cell['max with hand'], String(e.totalMaxPoints));
      assert.equal(e.totalMaxPoints, e.maxPoints + e.handMaxPoints);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Without Jupyter
// ---------------------------------------------------------------------------------------------

test('CSV: RFC 4180 quoting, a column per exercise (union over homeworks, blank where n/a), student ids', () => {
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('say "hi"'), '"say ""hi"""');
  assert.equal(csvField('two\nlines'), '"two\nlines"');
  assert.equal(csvField(null), '');
  assert.equal(csvField(2.5), '2.5');
  const report = { submissions: [
    { submission: 'sub/o\'neil, "al".ipynb', student: 's,1', homework: 'hw1-rnn-step', points: 6, maxPoints: 10,
      exercises: [{ exercise: 'rnnStepForward', points: 2, maxPoints: 2 }, { exercise: 'rnnStepBackward', points: 0, maxPoints: 4, message: 'dWxh differs,\nby 0.5\n  hint: transpose' }, { exercise: 'bptt', points: 4, maxPoints: 4 }] },
    { submission: 'b.ipynb', student: null, homework: 'hw2-lstm-step', points: 5, maxPoints: 20,
      exercises: [{ exercise: 'lstmStepForward', points: 0 }, { exercise: 'lstmGradCheck', points: 0 }, { exercise: 'lstmStepBackward', points: 5 },
        { exercise: 'lstmForward', points: 0 }, { exercise: 'lstmBackward', points: 0 }, { exercise: 'gruStep', points: 0 }] },
    { submission: 'c.ipynb', student: null, homework: null, points: 0, maxPoints: 0, exercises: [], error: 'cannot read the notebook: x' },
  ] };
  const csv = csvTable(report, MANIFEST);
  const [header, ...rows] = parseCsv(csv);
  assert.deepEqual(header, ['file', 'student', 'homework', 'rnnStepForward', 'rnnStepBackward', 'bptt', 'lstmStepForward', 'lstmGradCheck', 'lstmStepBackward', 'lstmForward', 'lstmBackward', 'gruStep', 'feedback', 'total', 'max', 'error']);
  assert.deepEqual(rows[0], ['sub/o\'neil, "al".ipynb', 's,1', 'hw1-rnn-step', '2', '0', '4', '', '', '', '', '', '', 'rnnStepBackward 0/4: dWxh differs, by 0.5 hint: transpose', '6', '10', '']);
  assert.deepEqual(rows[1], ['b.ipynb', '', 'hw2-lstm-step', '', '', '', '0', '0', '5', '0', '0', '0', '', '5', '20', '']);
  assert.deepEqual(rows[2], ['c.ipynb', '', '', '', '', '', '', '', '', '', '', '', '', '0', '0', 'cannot read the notebook: x']);
  assertCsvMatchesReport(csv, report);
  // feedback: a line per exercise that lost points (partial points too), the reason on one line, cut at 400 characters.
  const long = 'x'.repeat(500);
  const fb = parseCsv(csvTable({ submissions: [{ submission: 'd.ipynb', homework: 'hw1-rnn-step', points: 3, maxPoints: 10,
    exercises: [{ exercise: 'rnnStepForward', points: 1, maxPoints: 2, message: 'half the cases' }, { exercise: 'rnnStepBackward', points: 0, maxPoints: 4, message: long },
      { exercise: 'bptt', points: 2, maxPoints: 4 }] }] }, MANIFEST))[1].at(-4).split('\n');
  assert.deepEqual(fb.map((l) => l.slice(0, 22)), ['rnnStepForward 1/2: ha', 'rnnStepBackward 0/4: x', 'bptt 2/4: no message']);
  assert.equal(fb[1], `rnnStepBackward 0/4: ${'x'.repeat(399)}…`);
  // An exercise id shared by two homeworks gets the homework in its column name.
  const twin = { notebooks: [{ homework: 'a', exercises: [{ exercise: 'x' }] }, { homework: 'b', exercises: [{ exercise: 'x' }] }] };
  const both = csvTable({ submissions: [
    { submission: '1', homework: 'a', points: 1, maxPoints: 1, exercises: [{ exercise: 'x', points: 1 }] },
    { submission: '2', homework: 'b', points: 0, maxPoints: 1, exercises: [{ exercise: 'x', points: 0 }] }] }, twin);
  assert.deepEqual(parseCsv(both), [['file', 'student', 'homework', 'a/x', 'b/x', 'feedback', 'total', 'max', 'error'], ['1', '', 'a', '1', '', '', '1', '1', ''], ['2', '', 'b', '', '0', '', '0', '1', '']]);
  // Student ids: metadata["rnn-lab"].student, a string or a number; anything else is no id.
  assert.equal(studentOf({ metadata: { 'rnn-lab': { student: ' ada42 ' } } }), 'ada42');
  assert.equal(studentOf({ metadata: { 'rnn-lab': { student: 1234 } } }), '1234');
  assert.equal(studentOf({ metadata: { 'rnn-lab': { student: { id: 1 } } } }), null);
  assert.equal(studentOf({ metadata: {} }), null);
  // --csv is an option of grade (with a value); a file there that is not our table is never replaced.
  assert.equal(gradeArgs(['--csv', 'g.csv', 'a.ipynb']).csv, 'g.csv');
  assert.throws(() => gradeArgs(['a.ipynb', '--csv']), /--csv needs a value/);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-csv-'));
  try {
    fs.writeFileSync(path.join(dir, 'notes.csv'), 'name,grade\r\n');
    assert.match(csvProblem(path.join(dir, 'notes.csv')), /is not a grades table .* not replaced/);
    fs.writeFileSync(path.join(dir, 'old.csv'), csv);
    assert.equal(csvProblem(path.join(dir, 'old.csv')), null);
    assert.match(csvProblem(dir), /is a folder/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('autograder: which notebook, results for unreadable uploads, options', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-pick-'));
  try {
    const sub = (files) => {
      fs.rmSync(path.join(dir, 's'), { recursive: true, force: true });
      fs.mkdirSync(path.join(dir, 's', '.ipynb_checkpoints'), { recursive: true });
      for (const f of files) fs.writeFileSync(path.join(dir, 's', f), '{}');
      return pickNotebook(path.join(dir, 's'));
    };
    assert.equal(sub(['hw.ipynb', 'notes.txt']).file, path.join(dir, 's', 'hw.ipynb'));
    assert.match(sub(['hw.zip']).problem, /no \.ipynb notebook was uploaded \(the upload holds: .ipynb_checkpoints, hw.zip\)/);
    assert.match(sub(['a.ipynb', 'b.ipynb']).problem, /^2 notebooks were uploaded \(a.ipynb, b.ipynb\); upload exactly one/);
    assert.match(pickNotebook(path.join(dir, 'none')).problem, /cannot be read/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const r = gradescopeResult({ hw: HW1, problem: 'no .ipynb notebook was uploaded', visibility: 'after_due_date', seconds: 0.4 });
  assertOurResult(r, 'problem');
  assert.equal(r.score, 0);
  assert.match(r.output, /could not be graded: no \.ipynb notebook was uploaded/);
  assert.deepEqual(r.tests.map((t) => t.max_score), [...HW1.exercises.map((e) => e.points), ...(HW1.questions ?? []).map(() => 0)]);
  assert.ok(r.tests.every((t) => t.visibility === 'after_due_date' && /^not graded: no \.ipynb/.test(t.output)));
  // The validator itself rejects what the doc does not allow (so that passing it means something).
  assert.ok(gradescopeViolations({ ...r, visibility: 'always' }).length > 0);
  assert.ok(gradescopeViolations({ ...r, tests: [{ ...r.tests[0], points: 1 }] }).length > 0);
  assert.ok(gradescopeViolations({ tests: [{ name: 'x' }] }).length > 0);
  // A notebook of another homework (grade.mjs's entry for it: an error, no exercises): one message, score 0.
  const other = gradescopeResult({ hw: HW1, entry: { submission: 'x/eve.ipynb', student: null, homework: null, points: 0, maxPoints: 0, exercises: [],
    cells: { total: 0, errors: [], timedOut: [], skipped: [] }, error: "this notebook is hw2-lstm-step's, not hw1-rnn-step's (…): upload your hw1-rnn-step notebook" } });
  assertOurResult(other, 'another homework');
  assert.equal(other.score, 0);
  assert.deepEqual(other.output.split('\n'), ["Your submission could not be graded: this notebook is hw2-lstm-step's, not hw1-rnn-step's (…): upload your hw1-rnn-step notebook", 'Score 0. Fix the upload and submit again.']);
  assert.throws(() => gsArgs(['--root', '/x']), /--homework ID is required/);
  assert.throws(() => gsArgs(['--homework', 'h', '--visibility', 'sometimes']), /must be one of hidden, after_due_date/);
  assert.throws(() => gsArgs(['--homework', 'h', 'stray']), /unexpected stray/);
  assert.throws(() => agArgs(['hw1-rnn-step', 'hw2-lstm-step']), /one homework per autograder/);
  assert.throws(() => agArgs(['hw1-rnn-step', '--root', 'rel/dir']), /absolute path/);
  assert.throws(() => agArgs(['hw1-rnn-step', '--cell-timeout', 'soon']), /integer ≥ 1/);
  assert.throws(() => agArgs(['hw1-rnn-step', '--bogus']), /unknown option --bogus/);
});

/** Build the autograder zip and unpack it as Gradescope does: <root>/source/…, run_autograder copied to <root>. */
function unpackAutograder(root, args) {
  const zip = path.join(root, 'autograder.zip');
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'homework', 'autograder.mjs'), ...args, '--out', zip], { cwd: ROOT, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  // Python's zipfile, an independent reader of the zip (and of the Unix modes kept in it).
  const py = spawnSync('python3', ['-c', `
import json, os, sys, zipfile
z = zipfile.ZipFile(sys.argv[1]); out = sys.argv[2]; names = []
assert z.testzip() is None
for info in z.infolist():
    z.extract(info, out); mode = (info.external_attr >> 16) & 0o777
    os.chmod(os.path.join(out, info.filename), mode); names.append([info.filename, mode])
print(json.dumps(names))`, zip, path.join(root, 'source')], { encoding: 'utf8' });
  assert.equal(py.status, 0, py.stderr);
  fs.copyFileSync(path.join(root, 'source', 'run_autograder'), path.join(root, 'run_autograder'));
  fs.chmodSync(path.join(root, 'run_autograder'), 0o755);
  return new Map(JSON.parse(py.stdout));
}

test('autograder zip: setup.sh and run_autograder at the root (executable, bash -n), the course without solutions', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-zip-'));
  try {
    const names = unpackAutograder(root, ['hw1-rnn-step', '--cell-timeout', '30']);
    assert.equal(names.get('setup.sh'), 0o755);
    assert.equal(names.get('run_autograder'), 0o755);
    for (const f of ['course/package.json', 'course/package-lock.json', 'course/tsconfig.json', 'course/scripts/homework/grade.mjs', 'course/scripts/homework/grade.py',
      'course/scripts/homework/gradescope.mjs', 'course/scripts/kernel/launch.cjs', 'course/src/index.ts', 'course/src/fused/recurrent.wasm', 'grading/manifest.json']) {
      assert.ok(names.has(f), `the zip lacks ${f}`);
    }
    assert.ok(![...names.keys()].some((n) => /^course\/(homework|notebooks|dist|node_modules|tests)\//.test(n)), 'solutions, lessons, builds or tests in the zip');
    const wasm = fs.readFileSync(path.join(root, 'source', 'course', 'src', 'fused', 'recurrent.wasm'));
    assert.ok(wasm.equals(fs.readFileSync(path.join(ROOT, 'src', 'fused', 'recurrent.wasm'))), 'binary files survive the zip');
    const m = JSON.parse(fs.readFileSync(path.join(root, 'source', 'grading', 'manifest.json'), 'utf8'));
    assert.deepEqual(m.notebooks, [HW1]);
    for (const f of ['setup.sh', 'run_autograder']) {
      const n = spawnSync('bash', ['-n', path.join(root, 'source', f)], { encoding: 'utf8' });
      assert.equal(n.status, 0, `${f}: ${n.stderr}`);
    }
    assert.match(fs.readFileSync(path.join(root, 'run_autograder'), 'utf8'), /--homework hw1-rnn-step --visibility visible --cell-timeout 30/);
    // The same course gives the same bytes (fixed times, sorted files).
    assert.ok(zipBytes([{ name: 'a', data: 'x' }]).equals(zipBytes([{ name: 'a', data: 'x' }])));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('setup.sh, dry run with every command stubbed: packages, Node ≥ 20 from NodeSource when missing, the Jupyter venv when too old, npm ci', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-setup-'));
  try {
    unpackAutograder(root, ['hw1-rnn-step']);
    const stubs = path.join(root, 'stubs');
    fs.mkdirSync(stubs);
    const log = path.join(root, 'log');
    const stub = (name, body = '') => fs.writeFileSync(path.join(stubs, name), `#!/bin/bash\necho "${name} $* @$PWD" >> "$STUB_LOG"\n${body}\n`, { mode: 0o755 });
    stub('apt-get');
    stub('npm');
    stub('curl', 'while [ "$#" -gt 0 ]; do if [ "$1" = -o ]; then echo \'echo "nodesource-setup" >> "$STUB_LOG"\' > "$2"; fi; shift; done');
    stub('node', '[ "$1" = -p ] && echo "$STUB_NODE_MAJOR"');
    stub('python3', 'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin"; printf \'#!/bin/bash\\necho "pip $*" >> "$STUB_LOG"\\n\' > "$3/bin/pip"; chmod +x "$3/bin/pip"; exit 0; fi\nexit "$STUB_JUPYTER_TOO_OLD"');
    // Only the stubs and the few real tools the scripts use are on PATH (so a real node or npm cannot run).
    const tools = path.join(root, 'tools');
    fs.mkdirSync(tools);
    for (const tool of ['bash', 'dirname', 'mkdir', 'chmod']) {
      const real = spawnSync('bash', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim();
      assert.ok(real, `${tool} not found`);
      fs.symlinkSync(real, path.join(tools, tool));
    }
    const run = (env) => {
      fs.rmSync(log, { force: true });
      fs.rmSync(path.join(root, 'venv'), { recursive: true, force: true });
      const r = spawnSync(path.join(tools, 'bash'), [path.join(root, 'source', 'setup.sh')], { encoding: 'utf8', cwd: root,
        env: { PATH: `${stubs}:${tools}`, STUB_LOG: log, TMPDIR: root, RNN_LAB_JUPYTER_VENV: path.join(root, 'venv'), ...env } });
      assert.equal(r.status, 0, r.stderr);
      return fs.readFileSync(log, 'utf8').trim().split('\n').map((l) => l.replace(/ @.*$/, (at) => (at.includes('/course') ? ' @course' : '')));
    };
    // Ubuntu 22.04 as Gradescope gives it: no Node, Jupyter libraries too old.
    fs.renameSync(path.join(stubs, 'node'), path.join(root, 'node-stub'));
    const fresh = run({ STUB_JUPYTER_TOO_OLD: '1' });
    fs.renameSync(path.join(root, 'node-stub'), path.join(stubs, 'node'));
    assert.equal(fresh[0], 'apt-get update');
    assert.match(fresh[1], /^apt-get install -y .*python3-nbclient python3-nbformat python3-jupyter-client/);
    assert.ok(fresh.some((l) => /^python3 -c import sys, nbclient, jupyter_client/.test(l)), fresh.join('\n'));
    assert.ok(fresh.includes('python3 -m venv ' + path.join(root, 'venv')), fresh.join('\n'));
    assert.ok(fresh.includes('pip install --no-cache-dir nbclient==0.7.2 nbformat==5.5.0 jupyter_client==7.4.9'), fresh.join('\n'));
    assert.ok(fresh.some((l) => l.startsWith('curl -fsSL https://deb.nodesource.com/setup_20.x')), fresh.join('\n'));
    assert.ok(fresh.includes('nodesource-setup'));
    assert.ok(fresh.includes('apt-get install -y nodejs'));
    assert.equal(fresh.at(-1), 'npm ci --no-audit --no-fund @course', 'npm ci last, in course/');
    // An image with Node 22 and new enough Jupyter libraries (24.04 + NodeSource): nothing extra.
    const ready = run({ STUB_NODE_MAJOR: '22', STUB_JUPYTER_TOO_OLD: '0' });
    assert.ok(!ready.some((l) => /^curl |^nodesource|^python3 -m venv|^pip /.test(l)), ready.join('\n'));
    assert.equal(ready.at(-1), 'npm ci --no-audit --no-fund @course');
    // Node 18 is replaced.
    assert.ok(run({ STUB_NODE_MAJOR: '18', STUB_JUPYTER_TOO_OLD: '0' }).some((l) => l.startsWith('curl ')));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

// ---------------------------------------------------------------------------------------------
// With Jupyter: run_autograder for real, and npm run grade on the same files
// ---------------------------------------------------------------------------------------------

function runNode(args, env = {}) {
  return new Promise((resolve) => {
    const child = spawn(args[0], args.slice(1), { cwd: ROOT, env: { ...process.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('run_autograder on a correct, a wrong, a hanging and unreadable submissions: Gradescope format, grades equal npm run grade, CSV rows equal the JSON', async (t) => {
  if (!needs(t, 'Jupyter (nbclient)', hasJupyter(), INSTALL_HINT)) return;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-gs-'));
  const cellTimeout = 20;
  const seed = 77;
  try {
    const root = path.join(tmp, 'autograder');
    fs.mkdirSync(root);
    unpackAutograder(root, ['hw1-rnn-step', '--cell-timeout', String(cellTimeout), '--seed', String(seed)]);
    const files = path.join(tmp, 'files');
    fs.mkdirSync(files);
    const make = (name, spec) => writeSubmission(path.join(files, name), spec);
    const subs = {
      correct: make('ada-hw1-rnn-step.ipynb', { ...SUBMISSION_KINDS['hw1-correct'], student: 'ada' }),
      wrong: make('bob, "the builder"-hw1-rnn-step.ipynb', SUBMISSION_KINDS['hw1-wrong']),
      hanging: make('cy-hw1-rnn-step.ipynb', SUBMISSION_KINDS['hw1-hangs']),
      unreadable: make('dee-hw1-rnn-step.ipynb', SUBMISSION_KINDS.unreadable),
    };
    const results = {};
    const t0 = Date.now();
    for (const [kind, file] of Object.entries(subs)) {
      fs.rmSync(path.join(root, 'submission'), { recursive: true, force: true });
      fs.mkdirSync(path.join(root, 'submission'));
      fs.copyFileSync(file, path.join(root, 'submission', path.basename(file)));
      fs.writeFileSync(path.join(root, 'submission', 'README.txt'), 'other files in the upload are ignored');
      const r = await runNode(['bash', path.join(root, 'run_autograder')], { RNN_LAB_AUTOGRADER_ROOT: root, RNN_LAB_COURSE: ROOT });
      assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
      results[kind] = JSON.parse(fs.readFileSync(path.join(root, 'results', 'results.json'), 'utf8'));
      assertOurResult(results[kind], kind);
    }
    // Uploads that are not one notebook: a result that says why, never a crash.
    for (const [kind, names, pattern] of [['no notebook', ['hw.zip'], /no \.ipynb notebook was uploaded/], ['two notebooks', ['a.ipynb', 'b.ipynb'], /2 notebooks were uploaded/]]) {
      fs.rmSync(path.join(root, 'submission'), { recursive: true, force: true });
      fs.mkdirSync(path.join(root, 'submission'));
      for (const n of names) fs.copyFileSync(subs.correct, path.join(root, 'submission', n));
      const r = await runNode(['bash', path.join(root, 'run_autograder'), '--root', root], { RNN_LAB_COURSE: ROOT });
      assert.equal(r.code, 0, `${kind}: ${r.stderr}`);
      const res = JSON.parse(fs.readFileSync(path.join(root, 'results', 'results.json'), 'utf8'));
      assertOurResult(res, kind);
      assert.equal(res.score, 0);
      assert.match(res.output, pattern);
    }
    // Another homework's notebook (a correct hw2, metadata "rnn-lab".homework = hw2-lstm-step) uploaded to
    // hw1's autograder: one clear message, score 0, no kernel started, exit 0 (a graded upload).
    const otherHw = make('eve-hw2.ipynb', SUBMISSION_KINDS['hw2-correct']);
    assert.equal(JSON.parse(fs.readFileSync(otherHw, 'utf8')).metadata['rnn-lab'].homework, 'hw2-lstm-step');
    const sayOther = /this notebook is hw2-lstm-step's, not hw1-rnn-step's \(its metadata "rnn-lab": \{ "homework": "hw2-lstm-step" \} says so\): upload your hw1-rnn-step notebook/;
    {
      fs.rmSync(path.join(root, 'submission'), { recursive: true, force: true });
      fs.mkdirSync(path.join(root, 'submission'));
      fs.copyFileSync(otherHw, path.join(root, 'submission', 'eve-hw2.ipynb'));
      const r = await runNode(['bash', path.join(root, 'run_autograder')], { RNN_LAB_AUTOGRADER_ROOT: root, RNN_LAB_COURSE: ROOT });
      assert.equal(r.code, 0, `another homework: ${r.stderr}`);
      const res = JSON.parse(fs.readFileSync(path.join(root, 'results', 'results.json'), 'utf8'));
      assertOurResult(res, 'another homework');
      assert.equal(res.score, 0);
      assert.match(res.output, new RegExp(`^Your submission could not be graded: ${sayOther.source}`));
      assert.ok(res.tests.every((x) => x.score === 0 && sayOther.test(x.output)), JSON.stringify(res.tests));
      assert.doesNotMatch(JSON.stringify(res), /no function named/);
      assert.equal(res.extra_data.kernels, 0, 'not run at all');
    }
    const autograderSeconds = (Date.now() - t0) / 1000;

    // npm run grade on the same files, two at a time, with the same limits and seed.
    const out = path.join(tmp, 'grades.json');
    const csv = path.join(tmp, 'grades.csv');
    const g = await runNode([process.execPath, path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', out, '--csv', csv, '--jobs', '2',
      '--cell-timeout', String(cellTimeout), '--seed', String(seed), ...Object.values(subs)]);
    assert.equal(g.code, 1, `an unreadable submission makes grade exit 1: ${g.stderr}`);
    const report = JSON.parse(fs.readFileSync(out, 'utf8'));
    const entry = Object.fromEntries(report.submissions.map((e) => [e.submission, e]));
    for (const [kind, file] of Object.entries(subs)) {
      const e = entry[file];
      const r = results[kind];
      if (e.error && !e.exercises.length) {
        assert.equal(r.score, 0, kind);
        assert.ok(r.output.includes(e.error), `${kind}: results.json says why (${e.error}): ${r.output}`);
        assert.ok(r.tests.every((x) => x.score === 0 && x.output.includes(e.error)), kind);
        continue;
      }
      assert.equal(r.score, e.points, `${kind}: results.json ${r.score} vs npm run grade ${e.points}`);
      assert.deepEqual(r.tests.slice(0, e.exercises.length).map((x) => [x.score, x.max_score, x.output]), e.exercises.map((x) => [x.points, x.maxPoints, x.message]), kind);
      assert.equal(r.extra_data.student, e.student, kind);
    }
    // …and the grades are the ones these submissions deserve (independent of both programs).
    assert.equal(results.correct.score, 10);
    assert.equal(results.wrong.score, 6);
    assert.equal(results.wrong.tests[1].score, 0);
    assert.match(results.wrong.tests[1].output, /a transpose is missing/);
    assert.equal(results.hanging.score, 10, 'the hanging cell is interrupted, the rest is graded');
    assert.match(results.hanging.output, new RegExp(`ran longer than the time limit \\(${cellTimeout} s\\) and was interrupted`));
    assert.match(results.unreadable.output, /could not be graded: cannot read the notebook/);
    assert.equal(entry[subs.correct].student, 'ada');
    assertCsvMatchesReport(fs.readFileSync(csv, 'utf8'), report);
    // npm run grade --homework hw1-rnn-step on it: the same message in the report and the CSV's error column, exit 1.
    const outOther = path.join(tmp, 'other.json');
    const csvOther = path.join(tmp, 'other.csv');
    const go = await runNode([process.execPath, path.join(ROOT, 'scripts', 'homework', 'grade.mjs'), '--out', outOther, '--csv', csvOther, '--homework', 'hw1-rnn-step', otherHw, subs.correct]);
    assert.equal(go.code, 1, `a submission not graded makes grade exit 1: ${go.stderr}`);
    const reportOther = JSON.parse(fs.readFileSync(outOther, 'utf8'));
    const [eOther, eCorrect] = reportOther.submissions;
    assert.match(eOther.error, new RegExp(`^${sayOther.source}$`));
    assert.deepEqual([eOther.homework, eOther.points, eOther.maxPoints, eOther.exercises], [null, 0, 0, []]);
    assert.equal(eCorrect.points, 10, 'the right notebook beside it is graded as usual');
    assert.match(go.stdout, /^\?\? +\S*eve-hw2\.ipynb: not graded — this notebook is hw2-lstm-step's/m);
    const csvRows = parseCsv(fs.readFileSync(csvOther, 'utf8'));
    assert.match(csvRows[1].at(-1), sayOther);
    assertCsvMatchesReport(fs.readFileSync(csvOther, 'utf8'), reportOther);
    t.diagnostic(`run_autograder: ${autograderSeconds.toFixed(1)} s for 6 uploads; npm run grade --jobs 2: ${report.seconds} s for 4`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});

test('run_autograder --help prints its usage and exits 0; an unknown argument exits 2', async () => {
  // Found by a re-trial: --help was "unexpected argument".
  const { runScript } = await import('../scripts/homework/autograder.mjs');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-ag-help-'));
  try {
    const file = path.join(dir, 'run_autograder');
    fs.writeFileSync(file, runScript({ homework: 'hw1-rnn-step', root: '/autograder', visibility: 'visible', gradeArgs: [] }), { mode: 0o755 });
    const help = spawnSync('bash', [file, '--help'], { encoding: 'utf8' });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^usage: run_autograder \[--root DIR\].*hw1-rnn-step.*\/autograder/);
    assert.equal(fs.existsSync('/autograder/results/results.json') && fs.statSync('/autograder/results/results.json').mtimeMs > Date.now() - 5000, false, '--help grades nothing');
    const bad = spawnSync('bash', [file, '--bogus'], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unexpected argument --bogus/);
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});
