// A class's setup, end to end (issue 18 items 1–2): the Dockerfile's steps run here, one by one, since no
// image can be built on these machines. As root: every instruction of the Dockerfile is interpreted
// (ARG, ENV, USER, WORKDIR, COPY; each RUN line runs with /bin/sh -c, as the user USER names, with the
// build args and ENV of that point), with the build args a teacher could pass relocated to a temporary
// folder: the course (RNN_LAB_COURSE), the kernel's PREFIX (a Python venv of /usr/bin/python3, so that its
// Jupyter sees PREFIX/share/jupyter without JUPYTER_PATH as /usr/bin/python3's sees /usr/local), and a
// throw-away notebook user (NB_USER, a free NB_UID, NB_HOME) that the Dockerfile's own `setup.sh account`
// line creates and this test removes, also on failure. Then, as that user with no JUPYTER_PATH: a lesson and a
// solved homework run in ~/rnn-lab with the installed kernel; the user part keeps a student's edits; the
// teacher grades with `npm run grade`. Needs root, useradd and runuser (CI runs as root).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from './helpers.mjs';

const DOCKERFILE = path.join(ROOT, 'Dockerfile');
const SYS_PY = '/usr/bin/python3';
const PATH_ENV = [...new Set([path.dirname(process.execPath), '/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])].join(':');

/**
 * The Dockerfile as a list of instructions { op, args, line }: comments dropped, `\` continuations
 * joined. An instruction this interpreter does not know is an error (no step is silently skipped).
 */
export function parseDockerfile(text) {
  const out = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    let s = lines[i];
    if (/^\s*(#|$)/.test(s)) continue;
    const start = i + 1;
    while (/\\\s*$/.test(s)) {
      s = s.replace(/\\\s*$/, ' ');
      i++;
      while (i < lines.length && /^\s*#/.test(lines[i])) i++;   // Docker drops comment lines inside a continuation
      if (i >= lines.length) throw new Error(`Dockerfile line ${start}: a continuation at the end of the file`);
      s += lines[i];
    }
    const m = s.trim().match(/^([A-Za-z]+)\s+(.*)$/);
    if (!m) throw new Error(`Dockerfile line ${start}: cannot parse ${JSON.stringify(s)}`);
    const op = m[1].toUpperCase();
    if (!['FROM', 'ARG', 'ENV', 'USER', 'WORKDIR', 'COPY', 'RUN', 'EXPOSE', 'CMD'].includes(op)) {
      throw new Error(`Dockerfile line ${start}: ${op} is not an instruction tests/hub.test.mjs can execute; teach it or use RUN scripts/hub/setup.sh`);
    }
    out.push({ op, args: m[2].trim(), line: start });
  }
  return out;
}

/**
 * A matcher for .dockerignore's patterns as this project writes them (Docker's rules: relative to the
 * context, `*` within one path segment, a pattern that names a folder excludes all below it). A pattern
 * this matcher does not handle (`!`, `**`, `?`, `[`) is an error, so the copy never silently keeps a file.
 */
export function dockerIgnored(text) {
  const pats = text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const res = pats.map((p) => {
    if (/[!?[]|\*\*/.test(p)) throw new Error(`.dockerignore pattern ${p}: not handled by this test's matcher`);
    const body = p.replace(/^\/+|\/+$/g, '').split('/').map((seg) => seg.split('*').map((x) => x.replace(/[.+^${}()|\\]/g, '\\$&')).join('[^/]*')).join('/');
    return new RegExp(`^${body}(/.*)?$`);
  });
  return (file) => res.some((re) => re.test(file));
}

/** Docker's ${VAR} / $VAR substitution in ENV, USER, WORKDIR, COPY (an unset variable is an error here). */
function expand(s, vars, where) {
  return s.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g, (_, a, b) => {
    const k = a ?? b;
    if (!(k in vars)) throw new Error(`${where}: $${k} is not set by an ARG or ENV before it`);
    return vars[k];
  });
}

function freeUid() {
  for (let uid = 23000 + Math.floor(Math.random() * 5000); uid < 40000; uid++) {
    if (spawnSync('getent', ['passwd', String(uid)]).status !== 0 && spawnSync('getent', ['group', String(uid)]).status !== 0) return uid;
  }
  throw new Error('no free uid between 23000 and 40000');
}

/** spawn, resolved with { status, stdout, stderr, seconds }; killed (its process group) after `timeout` ms. */
function spawnAsync(cmd, args, opts) {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { ...opts, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ } }, opts.timeout ?? 300000);
    child.on('close', (status, signal) => { clearTimeout(timer); resolve({ status, signal, stdout, stderr, seconds: (Date.now() - t0) / 1000 }); });
  });
}

/** nbclient runner, run by the notebook user with PREFIX's Python: executes a notebook in its own folder. */
const RUNNER = `
import json, sys, os, nbformat
from nbclient import NotebookClient
nb = nbformat.read(sys.argv[1], as_version=4)
client = NotebookClient(nb, timeout=300, allow_errors=True, kernel_name=nb.metadata.kernelspec.name,
                        resources={"metadata": {"path": os.path.dirname(sys.argv[1])}})
client.execute()
km = client.km
errors, text = [], []
for i, c in enumerate(nb.cells):
    for o in c.get("outputs", []):
        if o.output_type == "error":
            errors.append({"cell": i, "ename": o.ename, "evalue": o.evalue[:300]})
        elif o.output_type == "stream":
            text.append(o.text)
print(json.dumps({"kernel": nb.metadata.kernelspec.name, "errors": errors, "text": "".join(text)}))
`;

test('Dockerfile steps as root, a throw-away hub user runs a lesson and a homework with the system kernel, the teacher grades it', { timeout: 600000 }, async (t) => {
  const isRoot = process.getuid?.() === 0;
  const tools = ['useradd', 'userdel', 'runuser'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
  if (!needs(t, 'root with useradd/userdel/runuser (to simulate a hub user)', isRoot && tools, `running as uid ${process.getuid?.()}; run as root`)) return;
  if (!needs(t, 'Debian\'s Jupyter at /usr/bin/python3', spawnSync(SYS_PY, ['-c', 'import nbclient, ipykernel']).status === 0, 'apt-get install python3-nbclient python3-ipykernel')) return;

  const started = Date.now();
  const steps = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-hub-')));
  fs.chmodSync(base, 0o755);   // the notebook user reads the course and the prefix below it
  const user = `rnnhub${crypto.randomBytes(3).toString('hex')}`;
  assert.notEqual(spawnSync('getent', ['passwd', user]).status, 0, `user ${user} exists already`);
  const uid = freeUid();
  // What `docker build --build-arg …` would pass; everything else comes from the Dockerfile.
  const buildArgs = {
    RNN_LAB_COURSE: path.join(base, 'course'), PREFIX: path.join(base, 'prefix'),
    NB_USER: user, NB_UID: String(uid), NB_HOME: path.join(base, 'home'),
  };
  let userCreated = false;
  const log = [];
  try {
    // PREFIX as a venv of Debian's Python: its Jupyter lists PREFIX/share/jupyter (ENV_JUPYTER_PATH), the
    // place /usr/local is for /usr/bin/python3, without this test writing into /usr/local.
    execFileSync(SYS_PY, ['-m', 'venv', '--without-pip', '--system-site-packages', buildArgs.PREFIX]);
    const py = path.join(buildArgs.PREFIX, 'bin', 'python');
    const extraEnv = { RNN_LAB_PYTHON: py, npm_config_prefer_offline: 'true' };

    // ---- interpret the Dockerfile ----
    const vars = {};
    let runAs = 'root';
    let cwd = '/';
    let cmd;
    const runLines = [];
    const argNames = new Set();
    for (const s of steps) {
      const where = `Dockerfile line ${s.line} (${s.op})`;
      switch (s.op) {
        case 'FROM': assert.match(s.args, /^node:(\d+)-bookworm/, `${where}: a Debian bookworm node image`); assert.ok(Number(s.args.match(/^node:(\d+)/)[1]) >= 20, `${where}: Node ≥ 20`); break;
        case 'ARG': {
          const [k, ...v] = s.args.split('=');
          argNames.add(k);
          vars[k] = k in buildArgs ? buildArgs[k] : expand(v.join('='), vars, where);
          break;
        }
        case 'ENV': {
          const m = s.args.match(/^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/);
          assert.ok(m, `${where}: ENV KEY=value expected, got ${s.args}`);
          vars[m[1]] = expand(m[2], vars, where);
          break;
        }
        case 'USER': runAs = expand(s.args, vars, where); break;
        case 'WORKDIR': cwd = expand(s.args, vars, where); fs.mkdirSync(cwd, { recursive: true }); break;
        case 'COPY': {
          const [src, dest, ...more] = expand(s.args, vars, where).split(/\s+/);
          assert.ok(src === '.' && dest && more.length === 0, `${where}: only COPY . DEST is interpreted; got ${s.args}`);
          // The build context as .dockerignore leaves it: the files git does not ignore, less .dockerignore's patterns.
          const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
          const ignored = dockerIgnored(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
          for (const f of files) if (!ignored(f)) fs.cpSync(path.join(ROOT, f), path.join(dest, f), { preserveTimestamps: true });
          break;
        }
        case 'RUN': {
          const t0 = Date.now();
          const env = { PATH: PATH_ENV, HOME: runAs === 'root' ? '/root' : (vars.HOME ?? buildArgs.NB_HOME), ...vars, ...extraEnv };
          const argv = runAs === 'root'
            ? ['/bin/sh', '-c', s.args]
            : ['runuser', '-u', runAs, '--', '/usr/bin/env', '-i', ...Object.entries(env).map(([k, v]) => `${k}=${v}`), '/bin/sh', '-c', s.args];
          const r = spawnSync(argv[0], argv.slice(1), { cwd, env: runAs === 'root' ? env : { PATH: PATH_ENV }, encoding: 'utf8', timeout: 300000 });
          if (s.args.includes('setup.sh" account') || s.args.includes('setup.sh account')) userCreated = spawnSync('getent', ['passwd', user]).status === 0;
          log.push(`RUN (${runAs}) ${s.args} → exit ${r.status} in ${((Date.now() - t0) / 1000).toFixed(1)} s\n${r.stdout}${r.stderr}`);
          assert.equal(r.status, 0, `${where} failed as ${runAs}: ${s.args}\n${r.stdout}\n${r.stderr}`);
          runLines.push({ ...s, runAs, cwd, env });
          break;
        }
        case 'EXPOSE': break;
        case 'CMD': cmd = JSON.parse(s.args); break;
      }
    }
    for (const k of Object.keys(buildArgs)) assert.ok(argNames.has(k), `the Dockerfile has no ARG ${k}: the test could not relocate it`);
    t.diagnostic(log.join('\n'));
    assert.deepEqual(runLines.map((r) => [r.args.match(/setup\.sh"? (\w+)/)?.[1], r.runAs]),
      [['system', 'root'], ['account', 'root'], ['user', user]], 'RUN lines: setup.sh system and account as root, then user as NB_USER');
    assert.ok(userCreated, `setup.sh account did not create ${user}`);
    assert.equal(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim(), String(uid), 'NB_USER has NB_UID');

    const home = buildArgs.NB_HOME;
    const course = buildArgs.RNN_LAB_COURSE;
    // runuser with a clean environment: no JUPYTER_PATH or anything else of root's.
    const userArgv = (argv, env = {}) => ['-u', user, '--', '/usr/bin/env', '-i', `PATH=${PATH_ENV}`, `HOME=${home}`, `USER=${user}`,
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`), ...argv];
    const asUser = (argv, opts = {}) => spawnSync('runuser', userArgv(argv, opts.env), { cwd: opts.cwd ?? home, encoding: 'utf8', timeout: opts.timeout ?? 300000 });
    const userRun = runLines.find((r) => r.runAs === user);
    const rerunUserPart = () => asUser(['/bin/sh', '-c', userRun.args], { env: Object.fromEntries(Object.entries(userRun.env).filter(([k]) => k !== 'PATH')) });

    // ---- CMD: `jupyter` on the notebook user's PATH (Binder starts it) ----
    assert.equal(cmd?.[0], 'jupyter', `CMD starts jupyter; got ${JSON.stringify(cmd)}`);
    const which = asUser(['/bin/sh', '-c', 'command -v jupyter && command -v jupyterhub-singleuser']);
    assert.equal(which.status, 0, `jupyter and jupyterhub-singleuser on the notebook user's PATH (${PATH_ENV}): ${which.stdout}${which.stderr}`);

    // ---- the kernel: in PREFIX, listed by the user's Jupyter without JUPYTER_PATH ----
    const specDir = path.join(buildArgs.PREFIX, 'share', 'jupyter', 'kernels', 'rnn-lab');
    const spec = JSON.parse(fs.readFileSync(path.join(specDir, 'kernel.json'), 'utf8'));
    assert.equal(spec.argv[1], path.join(course, 'scripts', 'kernel', 'launch.cjs'), 'the system kernel starts the course checkout\'s launcher');
    const listed = asUser([py, '-c', 'import json; from jupyter_client.kernelspec import KernelSpecManager; print(json.dumps(KernelSpecManager().find_kernel_specs()))']);
    assert.equal(listed.status, 0, listed.stderr);
    assert.equal(JSON.parse(listed.stdout)['rnn-lab'], specDir, `the notebook user's Jupyter lists rnn-lab at ${specDir}; got ${listed.stdout}`);

    // ---- the user part: the course as plain files owned by the student ----
    const dir = path.join(home, 'rnn-lab');
    const expected = [
      ...fs.readdirSync(path.join(course, 'notebooks')).filter((f) => f.endsWith('.ipynb')).map((f) => [path.join('notebooks', f), path.join(course, 'notebooks', f)]),
      ...fs.readdirSync(path.join(course, 'homework', 'release')).filter((f) => f.endsWith('.ipynb') || f.endsWith('.checks.cjs')).map((f) => [path.join('homework', f), path.join(course, 'homework', 'release', f)]),
    ];
    assert.ok(expected.length >= 17, `14 lessons and 3 homework expected; found ${expected.length}`);
    for (const [rel, src] of expected) {
      const dest = path.join(dir, rel);
      assert.ok(fs.existsSync(dest), `${rel} copied into ${dir}`);
      assert.ok(fs.readFileSync(dest).equals(fs.readFileSync(src)), `${rel} is the course's file byte for byte`);
      assert.equal(fs.statSync(dest).uid, uid, `${rel} belongs to the student`);
    }

    // A student's work: the solved homework 1 (the teacher's source notebook stands for it) over the copy, and a new file.
    const hw1 = path.join(dir, 'homework', 'hw1-rnn-step.ipynb');
    const solved = path.join(ROOT, 'homework', 'hw1-rnn-step.ipynb');                    // not in the image (.dockerignore)
    assert.equal(asUser(['cp', solved, hw1]).status, 0);
    assert.equal(asUser(['/bin/sh', '-c', `echo '{"mine": 1}' > ${path.join(dir, 'notebooks', 'mine.ipynb')}`]).status, 0);
    // The course changes one lesson the student did not touch: the next user part updates it.
    const lesson1 = path.join(course, 'notebooks', '01-sequences-and-windows.ipynb');
    fs.appendFileSync(lesson1, '\n');
    const again = rerunUserPart();
    assert.equal(again.status, 0, again.stderr);
    t.diagnostic(again.stdout.trim());
    assert.ok(fs.readFileSync(hw1).equals(fs.readFileSync(solved)), 'the student\'s edited homework is kept byte for byte');
    assert.equal(fs.readFileSync(path.join(dir, 'notebooks', 'mine.ipynb'), 'utf8'), '{"mine": 1}\n', 'a student\'s own file is untouched');
    assert.ok(fs.readFileSync(path.join(dir, 'notebooks', '01-sequences-and-windows.ipynb')).equals(fs.readFileSync(lesson1)), 'an unedited copy follows the course');
    assert.match(again.stdout, /1 updated from the course, .* 1 kept as you left them/, again.stdout);
    assert.match(again.stdout, /kept \(yours, differs from the course\): homework\/hw1-rnn-step\.ipynb/);

    // ---- the system part again: idempotent, npm ci not repeated ----
    const sysRun = runLines.find((r) => /setup\.sh"? system/.test(r.args));
    const t1 = Date.now();
    const sys2 = spawnSync('/bin/sh', ['-c', sysRun.args], { cwd: sysRun.cwd, env: sysRun.env, encoding: 'utf8', timeout: 120000 });
    assert.equal(sys2.status, 0, sys2.stderr);
    assert.match(sys2.stdout, /npm ci skipped/);
    t.diagnostic(`system part again: ${((Date.now() - t1) / 1000).toFixed(1)} s`);

    // ---- at the same time (2 cores: the kernels mostly wait on each other's start-up): as the student, no
    // JUPYTER_PATH, a lesson and the solved homework in ~/rnn-lab; and the teacher grading that folder ----
    const runner = path.join(base, 'run_nb.py');
    fs.writeFileSync(runner, RUNNER, { mode: 0o644 });
    const manifest = JSON.parse(fs.readFileSync(path.join(course, 'homework', 'release', 'manifest.json'), 'utf8'));
    const hw1Spec = manifest.notebooks.find((n) => n.homework === 'hw1-rnn-step');
    const hw2Spec = manifest.notebooks.find((n) => n.homework === 'hw2-lstm-step');
    const lesson = path.join(dir, 'notebooks', '00-welcome.ipynb');
    const hw2 = path.join(dir, 'homework', 'hw2-lstm-step.ipynb');   // untouched: every exercise a stub
    const grades = path.join(base, 'grades.json');
    const nbEnv = { PYDEVD_DISABLE_FILE_VALIDATION: '1', JUPYTER_PLATFORM_DIRS: '1' };
    const [lessonRun, hw1Run, gradeRun] = await Promise.all([
      spawnAsync('runuser', userArgv([py, runner, lesson], nbEnv), { cwd: path.dirname(lesson), env: { PATH: PATH_ENV } }),
      spawnAsync('runuser', userArgv([py, runner, hw1], nbEnv), { cwd: path.dirname(hw1), env: { PATH: PATH_ENV } }),
      // The teacher (root here) in the course folder; the grader writes only its own report and temporary folders.
      spawnAsync('npm', ['run', 'grade', '--', '--out', grades, hw1, hw2], { cwd: course, env: sysRun.env }),
    ]);
    for (const [nb, r] of [[lesson, lessonRun], [hw1, hw1Run]]) {
      assert.equal(r.status, 0, `${nb} as ${user}: ${r.stdout}\n${r.stderr.slice(-3000)}`);
      const res = JSON.parse(r.stdout.trim().split('\n').pop());
      t.diagnostic(`${path.basename(nb)} as ${user}: ${r.seconds.toFixed(1)} s, ${res.errors.length} error outputs`);
      assert.equal(res.kernel, 'rnn-lab');
      assert.deepEqual(res.errors, [], `${path.basename(nb)} ran without errors in ${path.dirname(nb)}`);
      if (nb === hw1) {
        for (const e of hw1Spec.exercises) assert.ok(res.text.includes(`✔ ${e.exercise}: ${e.points}/${e.points} points`), `the check of ${e.exercise} gives ${e.points}/${e.points} (manifest) in the student's kernel; output:\n${res.text.slice(0, 2000)}`);
      }
    }
    assert.equal(spawnSync('sh', ['-c', `find ${course} -user ${user} | head -1`], { encoding: 'utf8' }).stdout, '', 'the student\'s kernel wrote nothing into the course');

    t.diagnostic(`npm run grade (2 submissions): ${gradeRun.seconds.toFixed(1)} s\n${gradeRun.stdout.split('\n').filter((l) => /\d+\/\d+ {2}hw/.test(l)).join('\n')}`);
    assert.equal(gradeRun.status, 0, `${gradeRun.stdout}\n${gradeRun.stderr}`);
    const report = JSON.parse(fs.readFileSync(grades, 'utf8'));
    const s1 = report.submissions.find((s) => path.resolve(course, s.submission) === hw1);
    const s2 = report.submissions.find((s) => path.resolve(course, s.submission) === hw2);
    assert.ok(s1 && s2, `the report has both submissions: ${report.submissions.map((s) => s.submission).join(', ')}`);
    assert.equal(s1.homework, 'hw1-rnn-step');
    assert.deepEqual(s1.exercises.map((e) => [e.exercise, e.points]), hw1Spec.exercises.map((e) => [e.exercise, e.points]), 'the solved homework: full points per exercise (manifest)');
    assert.equal(s1.points, hw1Spec.maxPoints);
    assert.equal(s2.homework, 'hw2-lstm-step');
    assert.deepEqual(s2.exercises.map((e) => [e.exercise, e.points]), hw2Spec.exercises.map((e) => [e.exercise, 0]), 'the untouched homework: 0 per exercise');
    t.diagnostic(`whole test: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    // The throw-away user goes whatever happened (only the one this test named, and only if it exists).
    if (spawnSync('getent', ['passwd', user]).status === 0) {
      const d = spawnSync('userdel', [user], { encoding: 'utf8' });
      if (d.status !== 0) t.diagnostic(`userdel ${user} failed: ${d.stderr}`);
    }
    if (spawnSync('getent', ['group', user]).status === 0) spawnSync('groupdel', [user]);
    fs.rmSync(base, { recursive: true, force: true });
    assert.notEqual(spawnSync('getent', ['passwd', user]).status, 0, `the throw-away user ${user} was removed`);
  }
});

test('setup.sh account never renames or moves an account that holds NB_UID (only the node images\' "node"); setup.sh system refuses a PREFIX no Jupyter reads before it installs anything', (t) => {
  const isRoot = process.getuid?.() === 0;
  const tools = ['useradd', 'userdel'].every((c) => spawnSync('sh', ['-c', `command -v ${c}`]).status === 0);
  if (!needs(t, 'root with useradd/userdel', isRoot && tools, `running as uid ${process.getuid?.()}; run as root`)) return;
  const base = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-acct-')));
  const victim = `rnnv${crypto.randomBytes(3).toString('hex')}`;
  const uid = freeUid();
  const setup = path.join(ROOT, 'scripts', 'hub', 'setup.sh');
  try {
    // Reported by a trial: the account of a shared server holding the uid was renamed and its home moved.
    assert.equal(spawnSync('useradd', ['--uid', String(uid), '--create-home', '--home-dir', path.join(base, 'victim'), victim]).status, 0);
    fs.writeFileSync(path.join(base, 'victim', 'data.txt'), 'important');
    const r = spawnSync('bash', [setup, 'account'], { env: { PATH: process.env.PATH, NB_USER: `${victim}x`, NB_UID: String(uid), NB_HOME: path.join(base, 'new') }, encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`uid ${uid} belongs to user ${victim}; setup\\.sh never renames or moves an existing account`));
    assert.equal(spawnSync('getent', ['passwd', victim], { encoding: 'utf8' }).stdout.split(':')[5], path.join(base, 'victim'), 'the account is unchanged');
    assert.equal(fs.readFileSync(path.join(base, 'victim', 'data.txt'), 'utf8'), 'important');
    assert.equal(fs.existsSync(path.join(base, 'new')), false);
    // Its own advice, NB_USER = that account: kept as it is, no second home made (a re-trial found /home/<user> created).
    const env0 = { PATH: process.env.PATH, NB_USER: victim, NB_UID: String(uid) };
    const same = spawnSync('bash', [setup, 'account'], { env: env0, encoding: 'utf8' });
    assert.equal(same.status, 0, same.stdout + same.stderr);
    assert.match(same.stdout, new RegExp(`user ${victim} \\(uid ${uid}\\) exists, home ${path.join(base, 'victim').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    assert.equal(fs.existsSync(`/home/${victim}`), false, 'no home made at the default path');
    const moved = spawnSync('bash', [setup, 'account'], { env: { ...env0, NB_HOME: path.join(base, 'elsewhere') }, encoding: 'utf8' });
    assert.equal(moved.status, 1);
    assert.match(moved.stderr, /does not move an existing account's home/);
    const root = spawnSync('bash', [setup, 'account'], { env: { PATH: process.env.PATH, NB_USER: 'x', NB_UID: '0' }, encoding: 'utf8' });
    assert.equal(root.status, 1);
    assert.match(root.stderr, /NB_UID 0 is root/);
    // A PREFIX outside every Jupyter data path: refused at once, naming the way to a throw-away install.
    const t0 = Date.now();
    const p = spawnSync('bash', [setup, 'system'], { env: { PATH: process.env.PATH, PREFIX: path.join(base, 'prefix') }, encoding: 'utf8', timeout: 120000 });
    assert.equal(p.status, 1, p.stdout + p.stderr);
    assert.match(p.stderr, /PREFIX=.*prefix: Jupyter of \/usr\/bin\/python3 does not read .*share\/jupyter.*a venv: .* -m venv --system-site-packages DIR.*DIR\/bin\/python -m notebook/);
    assert.doesNotMatch(p.stderr, /nonexistent/, 'the paths listed are real ones');
    assert.doesNotMatch(p.stdout, /npm ci in/, 'nothing was installed first');
    assert.equal(fs.existsSync(path.join(base, 'prefix')), false);
    assert.ok(Date.now() - t0 < 60000);
  } finally {
    spawnSync('userdel', ['--remove', victim]);
    fs.rmSync(base, { recursive: true, force: true });
  }
  assert.notEqual(spawnSync('getent', ['passwd', victim]).status, 0, 'the throw-away user was removed');
});

test('devcontainer.json: valid JSON that builds the Dockerfile and runs the user part after creation', () => {
  const file = path.join(ROOT, '.devcontainer', 'devcontainer.json');
  // The spec allows JSONC; this file keeps to plain JSON, so any JSON parser (and this test) reads it.
  const dc = JSON.parse(fs.readFileSync(file, 'utf8'));
  // The spec resolves both build.dockerfile and build.context against the folder of devcontainer.json.
  assert.equal(path.resolve(path.dirname(file), dc.build.dockerfile), DOCKERFILE, 'build.dockerfile is the Dockerfile');
  assert.equal(path.resolve(path.dirname(file), dc.build.context), ROOT);
  const df = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  const arg = (k) => df.find((s) => s.op === 'ARG' && s.args.startsWith(`${k}=`))?.args.slice(k.length + 1);
  assert.equal(dc.remoteUser, arg('NB_USER'), 'the devcontainer works as the Dockerfile\'s notebook user');
  assert.equal(dc.postCreateCommand, '"$RNN_LAB_COURSE/scripts/hub/setup.sh" user', 'postCreate runs the user part of the course in the image');
  assert.ok(df.some((s) => s.op === 'ENV' && s.args === 'RNN_LAB_COURSE=${RNN_LAB_COURSE}'), 'the image keeps RNN_LAB_COURSE in its environment, where postCreateCommand reads it');
  const known = new Set(['name', 'build', 'remoteUser', 'containerUser', 'forwardPorts', 'postCreateCommand', 'customizations']);
  for (const k of Object.keys(dc)) assert.ok(known.has(k), `unexpected devcontainer property ${k}`);
});

test('Dockerfile: uid 1000 named jovyan by default, RUN lines call only scripts/hub/setup.sh, .dockerignore keeps build output out', () => {
  const df = parseDockerfile(fs.readFileSync(DOCKERFILE, 'utf8'));
  const arg = (k) => df.find((s) => s.op === 'ARG' && s.args.startsWith(`${k}=`))?.args.slice(k.length + 1);
  assert.equal(arg('NB_UID'), '1000');
  assert.equal(arg('NB_USER'), 'jovyan');
  for (const s of df.filter((x) => x.op === 'RUN')) {
    assert.match(s.args, /^"\$\{RNN_LAB_COURSE\}\/scripts\/hub\/setup\.sh" (system|account|user)$/, `Dockerfile line ${s.line}: RUN only calls setup.sh`);
  }
  const ignore = fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8').split('\n').map((l) => l.trim());
  for (const p of ['node_modules', 'dist', '.jupyter', '.git']) assert.ok(ignore.includes(p), `.dockerignore lists ${p}`);
  // No solution reaches the image students get (found by a trial: homework/*.ipynb and the checks' tests were copied).
  const isIgnored = dockerIgnored(fs.readFileSync(path.join(ROOT, '.dockerignore'), 'utf8'));
  const files = execFileSync('git', ['ls-files', '-z'], { cwd: ROOT, encoding: 'utf8' }).split('\0').filter(Boolean);
  const kept = files.filter((f) => !isIgnored(f));
  const withSolutions = kept.filter((f) => /\.(ipynb|mjs|cjs|ts)$/.test(f) && fs.readFileSync(path.join(ROOT, f), 'utf8').includes('BEGIN SOLUTION') && !/^(scripts|README)/.test(f));
  assert.deepEqual(withSolutions, [], 'files of the image that hold solution blocks');
  assert.ok(files.some((f) => /^homework\/[^/]+\.ipynb$/.test(f) && isIgnored(f)), 'the solution notebooks exist in the repository and are ignored');
  assert.ok(kept.some((f) => f.startsWith('homework/release/')), 'the student versions are in the image');
  assert.equal(isIgnored('tests/unit/check.test.mjs'), true);
  assert.equal(isIgnored('homework/release/hw1-rnn-step.ipynb'), false);
});

test('parseDockerfile: continuations joined, comments dropped, an unknown instruction is an error', () => {
  assert.deepEqual(parseDockerfile('# c\nFROM node:20-bookworm\nRUN a \\\n  # inner\n  b\n').map((s) => [s.op, s.args, s.line]), [['FROM', 'node:20-bookworm', 2], ['RUN', 'a    b', 3]]);
  assert.throws(() => parseDockerfile('FROM x\nADD . /x\n'), /line 2: ADD is not an instruction/);
});

test('copyCourse (the user part): copies, updates only its own unedited copies, keeps everything else, removes nothing', async () => {
  const { copyCourse, RECORD } = await import('../scripts/hub/copy-course.mjs');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rnnlab-copy-'));
  try {
    const course = path.join(tmp, 'course');
    const dir = path.join(tmp, 'home', 'rnn-lab');
    const put = (f, text) => { fs.mkdirSync(path.dirname(f), { recursive: true }); fs.writeFileSync(f, text); };
    put(path.join(course, 'notebooks', '00-a.ipynb'), 'A1');
    put(path.join(course, 'notebooks', '01-b.ipynb'), 'B1');
    put(path.join(course, 'notebooks', 'notes.txt'), 'not a notebook');
    put(path.join(course, 'homework', 'release', 'hw1.ipynb'), 'H1');
    put(path.join(course, 'homework', 'release', 'hw1.checks.cjs'), 'C1');
    put(path.join(course, 'homework', 'release', 'manifest.json'), '{}');
    put(path.join(dir, 'notebooks', '01-b.ipynb'), 'the student\'s own 01-b, there before');

    const first = copyCourse(dir, course);
    assert.deepEqual(first, { copied: ['notebooks/00-a.ipynb', 'homework/hw1.checks.cjs', 'homework/hw1.ipynb'], updated: [], same: [], kept: ['notebooks/01-b.ipynb'] });
    assert.equal(fs.readFileSync(path.join(dir, 'notebooks', '01-b.ipynb'), 'utf8'), 'the student\'s own 01-b, there before', 'a file the script did not write is never overwritten');
    assert.ok(!fs.existsSync(path.join(dir, 'notebooks', 'notes.txt')) && !fs.existsSync(path.join(dir, 'homework', 'manifest.json')), 'only notebooks and checks files are copied');

    // The student edits hw1; the course changes 00-a and hw1 and drops hw1.checks.cjs.
    fs.writeFileSync(path.join(dir, 'homework', 'hw1.ipynb'), 'H1 + my answers');
    fs.writeFileSync(path.join(course, 'notebooks', '00-a.ipynb'), 'A2');
    fs.writeFileSync(path.join(course, 'homework', 'release', 'hw1.ipynb'), 'H2');
    fs.rmSync(path.join(course, 'homework', 'release', 'hw1.checks.cjs'));
    fs.writeFileSync(path.join(dir, 'notebooks', 'mine.ipynb'), 'M');
    const second = copyCourse(dir, course);
    assert.deepEqual(second, { copied: [], updated: ['notebooks/00-a.ipynb'], same: [], kept: ['notebooks/01-b.ipynb', 'homework/hw1.ipynb'] });
    assert.equal(fs.readFileSync(path.join(dir, 'notebooks', '00-a.ipynb'), 'utf8'), 'A2', 'an unedited copy follows the course');
    assert.equal(fs.readFileSync(path.join(dir, 'homework', 'hw1.ipynb'), 'utf8'), 'H1 + my answers', 'an edited copy is kept');
    assert.equal(fs.readFileSync(path.join(dir, 'homework', 'hw1.checks.cjs'), 'utf8'), 'C1', 'a file the course dropped is not removed');
    assert.equal(fs.readFileSync(path.join(dir, 'notebooks', 'mine.ipynb'), 'utf8'), 'M');
    assert.deepEqual(copyCourse(dir, course), { copied: [], updated: [], same: ['notebooks/00-a.ipynb'], kept: ['notebooks/01-b.ipynb', 'homework/hw1.ipynb'] }, 'a third run changes nothing');

    fs.writeFileSync(path.join(dir, RECORD), 'not json');
    assert.throws(() => copyCourse(dir, course), /\.rnn-lab-copied\.json is not the JSON this script writes/);
    assert.throws(() => copyCourse(dir, path.join(tmp, 'nowhere')), /course folder .*notebooks is missing/);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
