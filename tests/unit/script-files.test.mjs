// The scripts write only what they create: homework release, course site, kernel link, grade report
// and kept folders. Unit level: no notebook is executed, no Jupyter is needed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers.mjs';
import { buildRelease, writeRelease, staleNotebooks } from '../../scripts/homework/homework-release.mjs';
import { foreignPages, writeIndex, GENERATOR_META, parseArgs as courseArgs } from '../../scripts/course/course.mjs';
import { ensureLink } from '../../scripts/kernel.mjs';
import { outProblem, keepFolder, REPORT_BY } from '../../scripts/homework/grade.mjs';

function tmpdir(tag) { return fs.mkdtempSync(path.join(os.tmpdir(), `rnnlab-files-${tag}-`)); }

test("homework release into a folder with a teacher's files keeps them; only the earlier release's stale notebook goes", () => {
  const dir = tmpdir('release');
  try {
    const { files } = buildRelease();
    fs.writeFileSync(path.join(dir, 'teacher-notes.md'), 'answers are elsewhere\n');
    fs.writeFileSync(path.join(dir, 'extra-practice.ipynb'), '{"cells": [], "metadata": {}}\n');
    // An earlier release that also had hw0 (now gone from homework/): its notebook is stale.
    const old = { metadata: { 'rnn-lab': { release: true } }, cells: [] };
    fs.writeFileSync(path.join(dir, 'hw0-old.ipynb'), JSON.stringify(old));
    fs.writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ generatedBy: 'npm run homework:release (scripts/homework-release.mjs)', notebooks: [{ file: 'homework/release/hw0-old.ipynb' }] }));
    assert.deepEqual(staleNotebooks(files, dir), [path.join(dir, 'hw0-old.ipynb')]);
    const r = writeRelease(files, dir);
    assert.equal(r.written.length, files.size, `wrote ${r.written.length} of ${files.size} files`);
    assert.deepEqual(r.removed, [path.join(dir, 'hw0-old.ipynb')]);
    assert.equal(fs.readFileSync(path.join(dir, 'teacher-notes.md'), 'utf8'), 'answers are elsewhere\n', 'the teacher\'s note is kept');
    assert.equal(fs.readFileSync(path.join(dir, 'extra-practice.ipynb'), 'utf8'), '{"cells": [], "metadata": {}}\n', 'the teacher\'s notebook is kept');
    for (const [f, text] of files) assert.equal(fs.readFileSync(path.join(dir, path.basename(f)), 'utf8'), text);
    assert.equal(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')).length, 0, 'no temp files');
    // A second run replaces its own files and keeps the teacher's.
    writeRelease(files, dir);
    assert.ok(fs.existsSync(path.join(dir, 'extra-practice.ipynb')));
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('homework release: a notebook at a release name that no release wrote is an error, and nothing is written', () => {
  const dir = tmpdir('release-foreign');
  try {
    const { files } = buildRelease();
    const name = path.basename([...files.keys()][0]);
    fs.writeFileSync(path.join(dir, name), '{"cells": ["the teacher\'s own"]}');
    assert.throws(() => writeRelease(files, dir), new RegExp(`${name.replace('.', '\\.')} is not from an earlier release .*so not replaced`));
    assert.deepEqual(fs.readdirSync(dir), [name], 'nothing else was written');
    assert.equal(fs.readFileSync(path.join(dir, name), 'utf8'), '{"cells": ["the teacher\'s own"]}');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('course site: unrelated files stay; a page of the same name that the course did not write is reported', () => {
  const site = tmpdir('site');
  try {
    fs.writeFileSync(path.join(site, 'about.txt'), 'mine');
    fs.writeFileSync(path.join(site, '00-welcome.html'), '<html>my own welcome page</html>');
    assert.deepEqual(foreignPages(site, ['00-welcome', '01-rnn']), [path.join(site, '00-welcome.html')]);
    writeIndex(site, `<html><head>${GENERATOR_META}</head></html>`);
    assert.deepEqual(foreignPages(site, ['01-rnn']), [], 'the index the course wrote is its own');
    fs.writeFileSync(path.join(site, '01-rnn.html'), '<head><script src="mathjax/tex-chtml.js" async></script></head>');
    assert.deepEqual(foreignPages(site, ['01-rnn']), [], 'a page from before the marker is recognised as the course\'s');
    assert.equal(fs.readFileSync(path.join(site, 'about.txt'), 'utf8'), 'mine');
    fs.writeFileSync(path.join(site, 'index.html'), '<html>a portfolio</html>');
    assert.deepEqual(foreignPages(site, []), [path.join(site, 'index.html')], 'a foreign index.html is reported');
  } finally { fs.rmSync(site, { recursive: true, force: true }); }
});

test('kernel link: a real folder at node_modules/rnn-lab is never removed; a wrong symlink is replaced', () => {
  const dir = tmpdir('link');
  try {
    fs.mkdirSync(path.join(dir, 'pkg'));
    const link = path.join(dir, 'nm', 'rnn-lab');
    fs.mkdirSync(link, { recursive: true });
    fs.writeFileSync(path.join(link, 'package.json'), '{"name": "rnn-lab"}');
    assert.throws(() => ensureLink(link, '../pkg'), /is a real folder, not the link rnn-lab makes; it is not removed/);
    assert.equal(fs.readFileSync(path.join(link, 'package.json'), 'utf8'), '{"name": "rnn-lab"}');
    fs.rmSync(link, { recursive: true });
    fs.symlinkSync('../elsewhere', link, 'dir');
    assert.equal(ensureLink(link, '../pkg'), true, 'a dangling link is replaced');
    assert.equal(fs.realpathSync(link), fs.realpathSync(path.join(dir, 'pkg')));
    assert.equal(ensureLink(link, '../pkg'), false, 'a correct link is left alone');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('grade: --out never replaces a file that is not a report; --keep never overwrites a kept folder', () => {
  const dir = tmpdir('grade');
  try {
    const notes = path.join(dir, 'notes.txt');
    fs.writeFileSync(notes, 'students');
    assert.match(outProblem(notes), /--out .*notes\.txt exists and is not a grades report from an earlier run, so it is not replaced/);
    assert.match(outProblem(dir), /is a folder/);
    assert.equal(outProblem(path.join(dir, 'new.json')), null);
    fs.writeFileSync(path.join(dir, 'g.json'), JSON.stringify({ generatedBy: REPORT_BY, submissions: [] }));
    assert.equal(outProblem(path.join(dir, 'g.json')), null, 'a report of ours may be replaced');
    fs.writeFileSync(path.join(dir, 'old.json'), JSON.stringify({ gradedAt: '2025-01-01', submissions: [] }));
    assert.equal(outProblem(path.join(dir, 'old.json')), null, 'a report from before the marker may be replaced');
    // The marker names the script where it is (scripts/homework/); a report written under the old path is ours too.
    assert.match(REPORT_BY, /scripts\/homework\/grade\.mjs/);
    assert.ok(fs.existsSync(path.join(ROOT, 'scripts', 'homework', 'grade.mjs')));
    fs.writeFileSync(path.join(dir, 'moved.json'), JSON.stringify({ generatedBy: 'npm run grade (scripts/grade.mjs)' }));
    assert.equal(outProblem(path.join(dir, 'moved.json')), null, 'a report with the marker of the script\'s old place may be replaced');
    fs.writeFileSync(path.join(dir, 'other.json'), JSON.stringify({ generatedBy: 'another tool' }));
    assert.match(outProblem(path.join(dir, 'other.json')), /is not a grades report/);
    const keep = path.join(dir, 'keep');
    const a = keepFolder(keep, 'hw1');
    fs.writeFileSync(path.join(a, 'kernel.log'), 'first student');
    const b = keepFolder(keep, 'hw1');   // another student's hw1.ipynb
    assert.equal(b, path.join(keep, 'hw1-2'));
    assert.equal(fs.readFileSync(path.join(a, 'kernel.log'), 'utf8'), 'first student');
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

test('npm run course reads its flags with node:util parseArgs (scripts/lib/args.mjs): --site, notebook filters, unknown flags rejected', () => {
  assert.deepEqual(courseArgs(['--site', 'out', '00-welcome', '03']), { site: path.resolve('out'), only: ['00-welcome', '03'], maxMemoryMb: 1536 });
  assert.deepEqual(courseArgs(['--site=out']).site, path.resolve('out'));
  assert.match(courseArgs([]).site, /[\\/]site$/);
  // Before, an unknown flag became a notebook filter ("no notebooks match --pdf") and a bare --site the current folder.
  assert.throws(() => courseArgs(['--pdf']), /^Error: unknown option --pdf\nusage: npm run course/);
  assert.throws(() => courseArgs(['00', '--site']), /--site needs a folder/);
  assert.throws(() => courseArgs(['--site', '--pdf']), /--site needs a folder/);
});

test('every course script prints its usage for --help / -h with exit 0; npm start refuses arguments it would ignore', () => {
  const scripts = ['course/start.mjs', 'course/course.mjs', 'course/export.mjs', 'kernel.mjs', 'homework/grade.mjs', 'homework/homework-release.mjs'];
  for (const s of scripts) {
    for (const flag of ['--help', '-h']) {
      const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', s), flag], { encoding: 'utf8', env: { ...process.env, RNN_LAB_NO_BROWSER: '1' }, timeout: 30000 });
      assert.equal(r.status, 0, `${s} ${flag}: exit ${r.status}\n${r.stderr}`);
      assert.match(r.stdout, /^usage: /, `${s} ${flag} prints its usage on stdout`);
    }
  }
  const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts', 'course', 'start.mjs'), '--port', '9999'], { encoding: 'utf8', timeout: 30000 });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^rnn-lab start: unexpected arguments --port 9999\nusage: npm start/);
});

test('npm run bench: --help prints its usage (exit 0); unknown flags, bad cells and missing values are errors (exit 2) before anything runs', () => {
  const bench = (...args) => spawnSync(process.execPath, [path.join(ROOT, 'bench', 'bench.mjs'), ...args], { encoding: 'utf8', timeout: 30000 });
  for (const flag of ['--help', '-h']) {
    const r = bench(flag);
    assert.equal(r.status, 0, `bench ${flag}: exit ${r.status}\n${r.stderr}`);
    assert.match(r.stdout, /^usage: node bench\/bench\.mjs/);
    assert.match(r.stdout, /Ratios above 1× mean rnn-lab is faster/);
  }
  // Reported: --help ran the whole benchmark; --cell was ignored; --cells rnnn crashed with a TypeError.
  const cases = [[['--quick', '--cell', 'lstm'], /^bench: unknown argument --cell\n/], [['--cells', 'rnnn'], /^bench: --cells takes rnn, lstm and gru, comma-separated; got 'rnnn'/],
    [['--steps'], /^bench: --steps needs a value/], [['--repeats', '0'], /^bench: --repeats must be a positive integer; got 0/], [['extra'], /^bench: unknown argument extra/]];
  for (const [args, want] of cases) {
    const r = bench(...args);
    assert.equal(r.status, 2, `bench ${args.join(' ')}: exit ${r.status}`);
    assert.match(r.stderr, want);
    assert.equal(r.stdout, '', 'nothing measured');
  }
});
