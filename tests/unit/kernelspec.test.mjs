// `npm run kernel:install` / `kernel:uninstall` (scripts/kernel.mjs): the course kernel registered where
// Jupyter itself looks (--user, --sys-prefix, --prefix DIR), checked with Jupyter's own kernelspec listing
// (jupyter_client's KernelSpecApp, the code behind `jupyter kernelspec list`). Each run gets a temporary
// HOME and no JUPYTER_* variables, so nothing outside a temporary folder is written. The kernel is never
// started (only its kernelspec is listed).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, needs } from '../helpers.mjs';
import { findPython, INSTALL_HINT, KERNEL_DIR } from '../../scripts/lib/jupyter.mjs';
import { writeKernelSpec } from '../../scripts/kernel.mjs';

const SCRIPT = path.join(ROOT, 'scripts', 'kernel.mjs');
const LAUNCHER = path.join(ROOT, 'scripts', 'kernel', 'launch.cjs');
const PYTHON = findPython(['jupyter_client', 'jupyter_core']);

function tmpdir(tag) { return fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), `rnnlab-kspec-${tag}-`))); }

/** process.env without JUPYTER_* (and XDG_DATA_HOME), HOME a temporary folder, the test's Python chosen. */
function cleanEnv(home, extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('JUPYTER_') && k !== 'XDG_DATA_HOME'));
  return { ...env, HOME: home, RNN_LAB_PYTHON: PYTHON ?? '', PYDEVD_DISABLE_FILE_VALIDATION: '1', ...extra };
}

function kernelCli(env, ...args) {
  const r = spawnSync(process.execPath, [SCRIPT, ...args], { env, encoding: 'utf8', cwd: os.tmpdir() });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, all: `exit ${r.status}\nstdout: ${r.stdout}\nstderr: ${r.stderr}` };
}

/** Jupyter's view: `jupyter kernelspec list --json` (KernelSpecApp; Debian ships no `jupyter-kernelspec` command). */
function kernelspecs(env) {
  const r = spawnSync(PYTHON, ['-m', 'jupyter_client.kernelspecapp', 'list', '--json'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `kernelspec list failed: ${r.stderr}`);
  return JSON.parse(r.stdout).kernelspecs;
}

/** Jupyter's user data folder in `env`, as Jupyter reports it (`jupyter --data-dir`). */
function dataDir(env) {
  const r = spawnSync(PYTHON, ['-c', 'from jupyter_core.paths import jupyter_data_dir; print(jupyter_data_dir())'], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

function checkOurSpec(spec, where) {
  assert.deepEqual(spec.argv, [process.execPath, LAUNCHER, '{connection_file}'], `${where}: argv`);
  assert.equal(spec.display_name, 'TypeScript (rnn-lab)', `${where}: display name`);
  assert.equal(spec.language, 'typescript', `${where}: language`);
  assert.equal(spec.interrupt_mode, 'signal', `${where}: interrupt_mode`);
  assert.deepEqual(spec.env, { RNN_LAB_NOTEBOOK: '1', TF_CPP_MIN_LOG_LEVEL: '2' }, `${where}: env`);
  assert.deepEqual(spec.metadata, { 'rnn-lab': { root: ROOT } }, `${where}: metadata`);
}

const FOREIGN = JSON.stringify({ argv: ['python3', '-m', 'someone_else', '-f', '{connection_file}'], display_name: 'Not ours', language: 'python' }, null, 1);

test('install --user: `jupyter kernelspec list` finds rnn-lab in the user data folder without JUPYTER_PATH; uninstall removes it', (t) => {
  if (!needs(t, 'Jupyter (jupyter_client)', PYTHON, INSTALL_HINT)) return;
  const home = tmpdir('home');
  try {
    const env = cleanEnv(home);
    const data = dataDir(env);
    assert.ok(data.startsWith(home + path.sep), `Jupyter's data dir ${data} must be inside the temporary HOME ${home}`);
    const dir = path.join(data, 'kernels', 'rnn-lab');
    assert.equal(kernelspecs(env)['rnn-lab'], undefined, 'not listed before install');

    const r = kernelCli(env, 'install', '--user');
    assert.equal(r.status, 0, r.all);
    assert.ok(r.stdout.includes(`written to ${dir}`), `prints where it wrote: ${r.all}`);
    const listed = kernelspecs(env)['rnn-lab'];
    assert.ok(listed, `rnn-lab listed: ${JSON.stringify(Object.keys(kernelspecs(env)))}`);
    assert.equal(listed.resource_dir, dir);
    checkOurSpec(listed.spec, 'kernelspec list');
    for (const logo of ['logo-32x32.png', 'logo-64x64.png']) {
      assert.deepEqual(fs.readFileSync(path.join(dir, logo)), fs.readFileSync(path.join(ROOT, 'scripts', 'kernel', logo)), `${logo} copied`);
    }
    assert.deepEqual(fs.readdirSync(dir).sort(), ['kernel.json', 'logo-32x32.png', 'logo-64x64.png'], 'no temporary files left');

    const u = kernelCli(env, 'uninstall', '--user');
    assert.equal(u.status, 0, u.all);
    assert.match(u.stdout, /removed from/);
    assert.equal(kernelspecs(env)['rnn-lab'], undefined, 'no longer listed after uninstall');
    assert.equal(fs.existsSync(dir), false, 'the empty kernels/rnn-lab folder is removed');

    const again = kernelCli(env, 'uninstall', '--user');
    assert.equal(again.status, 0, again.all);
    assert.match(again.stdout, /no kernel\.json in .*; nothing removed/);
  } finally { fs.rmSync(home, { recursive: true, force: true }); }
});

test('a kernel.json at kernels/rnn-lab that rnn-lab did not write is neither replaced nor removed', (t) => {
  if (!needs(t, 'Jupyter (jupyter_client)', PYTHON, INSTALL_HINT)) return;
  const home = tmpdir('foreign');
  try {
    const env = cleanEnv(home);
    const dir = path.join(dataDir(env), 'kernels', 'rnn-lab');
    const file = path.join(dir, 'kernel.json');
    fs.mkdirSync(dir, { recursive: true });
    for (const content of [FOREIGN, '{ not json']) {
      fs.writeFileSync(file, content);
      const i = kernelCli(env, 'install', '--user');
      assert.equal(i.status, 1, i.all);
      assert.ok(i.stderr.includes(`${file} is a kernelspec that rnn-lab did not write`), i.all);
      assert.match(i.stderr, /so it is not replaced/);
      assert.equal(fs.readFileSync(file, 'utf8'), content, 'the foreign kernel.json is unchanged');
      assert.deepEqual(fs.readdirSync(dir), ['kernel.json'], 'nothing written beside it');
      const u = kernelCli(env, 'uninstall', '--user');
      assert.equal(u.status, 1, u.all);
      assert.match(u.stderr, /did not write .*so it is not removed/);
      assert.equal(fs.readFileSync(file, 'utf8'), content, 'the foreign kernel.json is still there');
    }
  } finally { fs.rmSync(home, { recursive: true, force: true }); }
});

test('install --prefix DIR writes DIR/share/jupyter/kernels/rnn-lab, listed with JUPYTER_PATH=DIR/share/jupyter; re-install rewrites our older spec', (t) => {
  if (!needs(t, 'Jupyter (jupyter_client)', PYTHON, INSTALL_HINT)) return;
  const home = tmpdir('home');
  const prefix = tmpdir('prefix');
  try {
    const env = cleanEnv(home);
    const dir = path.join(prefix, 'share', 'jupyter', 'kernels', 'rnn-lab');
    const r = kernelCli(env, 'install', '--prefix', prefix);
    assert.equal(r.status, 0, r.all);
    assert.ok(r.stdout.includes(`written to ${dir}`), r.all);
    const withPath = kernelspecs({ ...env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') })['rnn-lab'];
    assert.equal(withPath?.resource_dir, dir, `listed from the prefix: ${JSON.stringify(withPath)}`);
    checkOurSpec(withPath.spec, '--prefix');
    assert.equal(kernelspecs(env)['rnn-lab'], undefined, 'not in the user folder: unlisted without JUPYTER_PATH');

    // As after moving the checkout: our spec with other paths is rewritten with this checkout's.
    const file = path.join(dir, 'kernel.json');
    const old = JSON.parse(fs.readFileSync(file, 'utf8'));
    old.argv = ['/old/node', '/old/checkout/scripts/kernel/launch.cjs', '{connection_file}'];
    old.display_name = 'stale';
    old.metadata['rnn-lab'].root = '/old/checkout';
    fs.writeFileSync(file, JSON.stringify(old));
    const again = kernelCli(env, 'install', `--prefix=${prefix}`);
    assert.equal(again.status, 0, again.all);
    assert.match(again.stdout, /it pointed to \/old\/checkout before/);
    checkOurSpec(JSON.parse(fs.readFileSync(file, 'utf8')), 're-install');

    // Uninstall keeps a file it did not write, and so the folder.
    fs.writeFileSync(path.join(dir, 'notes.txt'), 'mine');
    const u = kernelCli(env, 'uninstall', '--prefix', prefix);
    assert.equal(u.status, 0, u.all);
    assert.match(u.stdout, /other files kept there: notes\.txt/);
    assert.deepEqual(fs.readdirSync(dir), ['notes.txt']);
    assert.equal(kernelspecs({ ...env, JUPYTER_PATH: path.join(prefix, 'share', 'jupyter') })['rnn-lab'], undefined, 'no longer listed');
  } finally {
    fs.rmSync(home, { recursive: true, force: true });
    fs.rmSync(prefix, { recursive: true, force: true });
  }
});

test('--print-dir: --sys-prefix is <sys.prefix>/share/jupyter/kernels/rnn-lab, --user is Jupyter\'s data dir; nothing is written', (t) => {
  if (!needs(t, 'Jupyter (jupyter_client)', PYTHON, INSTALL_HINT)) return;
  const home = tmpdir('home');
  try {
    const env = cleanEnv(home);
    const sysPrefix = spawnSync(PYTHON, ['-c', 'import sys; print(sys.prefix)'], { encoding: 'utf8' }).stdout.trim();
    const sysDir = path.join(sysPrefix, 'share', 'jupyter', 'kernels', 'rnn-lab');
    const existedBefore = fs.existsSync(sysDir);
    for (const cmd of ['install', 'uninstall']) {
      const s = kernelCli(env, cmd, '--sys-prefix', '--print-dir');
      assert.equal(s.status, 0, s.all);
      assert.equal(s.stdout.trim(), sysDir);
      const u = kernelCli(env, cmd, '--print-dir', '--user');
      assert.equal(u.status, 0, u.all);
      assert.equal(u.stdout.trim(), path.join(dataDir(env), 'kernels', 'rnn-lab'));
      const p = kernelCli(env, cmd, '--print-dir');
      assert.equal(p.stdout.trim(), path.join(ROOT, '.jupyter', 'kernels', 'rnn-lab'), 'no flag: inside the project');
    }
    assert.equal(fs.existsSync(sysDir), existedBefore, `${sysDir} untouched`);
    assert.deepEqual(fs.readdirSync(home), [], 'nothing written in HOME');
  } finally { fs.rmSync(home, { recursive: true, force: true }); }
});

test('bad flags and a missing Jupyter are errors that say what to do; nothing is written', () => {
  const home = tmpdir('flags');
  try {
    const env = cleanEnv(home);
    const cases = [
      [['install', '--usr'], 2, /unknown option '--usr' — did you mean '--user'\? Valid options: --user, --sys-prefix, --prefix DIR, --print-dir/],
      [['uninstall', '--sys_prefix'], 2, /unknown option '--sys_prefix' — did you mean '--sys-prefix'\?/],
      [['install', 'user'], 2, /unknown option 'user'/],
      [['install', '--user', '--prefix', home], 2, /choose one place; got --user and --prefix/],
      [['install', '--prefix'], 2, /--prefix needs a folder: --prefix DIR; got nothing/],
      [['install', '--user=yes'], 2, /--user takes no value; got --user=yes/],
      [['instal', '--user'], 2, /unknown command 'instal'\nusage: node scripts\/kernel\.mjs install\|uninstall/],
    ];
    for (const [args, status, re] of cases) {
      const r = kernelCli(env, ...args);
      assert.equal(r.status, status, `${args.join(' ')}: ${r.all}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    const noPy = { ...env, RNN_LAB_PYTHON: path.join(home, 'no-such-python') };
    for (const flag of ['--user', '--sys-prefix']) {
      const r = kernelCli(noPy, 'install', flag);
      assert.equal(r.status, 1, r.all);
      assert.ok(r.stderr.includes(`Jupyter (jupyter_core) was not found in ${noPy.RNN_LAB_PYTHON}`), r.all);
      assert.ok(r.stderr.includes(INSTALL_HINT), `the install hint: ${r.all}`);
    }
    assert.deepEqual(fs.readdirSync(home), [], 'nothing written');
    // --prefix needs no Python.
    const prefix = path.join(home, 'p');
    const r = kernelCli(noPy, 'install', '--prefix', prefix);
    assert.equal(r.status, 0, r.all);
    checkOurSpec(JSON.parse(fs.readFileSync(path.join(prefix, 'share', 'jupyter', 'kernels', 'rnn-lab', 'kernel.json'), 'utf8')), '--prefix without Python');
  } finally { fs.rmSync(home, { recursive: true, force: true }); }
});

test('no flag: the project kernel (what npm install writes) is what Jupyter lists through the project\'s JUPYTER_PATH', (t) => {
  if (!needs(t, 'Jupyter (jupyter_client)', PYTHON, INSTALL_HINT)) return;
  const home = tmpdir('home');
  try {
    const env = cleanEnv(home);
    // In process, without installKernel's node_modules/rnn-lab link: in a git worktree node_modules is
    // shared with the main checkout, whose link is not this test's to rewrite.
    assert.equal(writeKernelSpec(KERNEL_DIR).dir, path.join(ROOT, '.jupyter', 'kernels', 'rnn-lab'));
    const listed = kernelspecs({ ...env, JUPYTER_PATH: path.join(ROOT, '.jupyter') })['rnn-lab'];
    assert.equal(listed?.resource_dir, path.join(ROOT, '.jupyter', 'kernels', 'rnn-lab'));
    checkOurSpec(listed.spec, 'project');
    assert.equal(fs.existsSync(path.join(dataDir(env), 'kernels', 'rnn-lab')), false, 'nothing in the user data folder');
  } finally { fs.rmSync(home, { recursive: true, force: true }); }
});
