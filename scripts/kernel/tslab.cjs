// Every reach of the course kernel into tslab's internals, in one place.
//
// tslab (https://github.com/yunabe/tslab) exposes only `display` publicly; the course kernel needs its
// TypeScript converter, executor and Jupyter server to report errors the Jupyter way, stop library
// calls on Interrupt and resolve modules from any folder. Everything used here is listed in
// `TSLAB_INTERNALS` and checked by tests/unit/kernel-internals.test.mjs, which fails when an upgrade
// of tslab (pinned at 1.0.22) changes any of it.
'use strict';
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
/** tslab as the project installed it: the same module instances the notebook's `require('tslab')` gets. */
const TSLAB_DIR = path.dirname(require.resolve('tslab/package.json', { paths: [ROOT] }));
const TESTED_VERSION = '1.0.22';

const load = (rel) => require(path.join(TSLAB_DIR, 'dist', rel));

/** The internals used, by module: what each must export (functions/classes) and which methods. */
const TSLAB_INTERNALS = {
  'converter.js': { exports: ['createConverter'] },
  'executor.js': { exports: ['createExecutor'], executorMethods: ['execute', 'inspect', 'complete', 'interrupt', 'reset', 'close', 'locals'] },
  'jupyter.js': {
    exports: ['ZmqServer', 'JupyterHandlerImpl'],
    module: ['lastWriteDisplayData'],
    JupyterHandlerImpl: ['handleKernel', 'handleExecute', 'handleIsComplete', 'handleInspect', 'handleComplete', 'handleShutdown', 'close'],
    ZmqServer: ['handleShellMessage', 'handleExecute', 'publishStatus', 'bindSocket', 'init', 'close'],
  },
  'util.js': { exports: ['TaskQueue', 'TaskCanceledError', 'getVersion'] },
  typescript: { sys: ['readFile', 'fileExists', 'directoryExists', 'realpath', 'readDirectory', 'getDirectories', 'watchFile', 'watchDirectory', 'getModifiedTime'] },
};

function tslabVersion() {
  return require(path.join(TSLAB_DIR, 'package.json')).version;
}

/** The TypeScript instance tslab compiles cells with (its own fork, `@tslab/typescript-for-tslab`). */
function tslabTypeScript() {
  return require(require.resolve('@tslab/typescript-for-tslab', { paths: [TSLAB_DIR] }));
}

/**
 * List what is missing or changed among the internals the kernel uses (empty when all is as in tslab
 * 1.0.22). The test calls it; the kernel calls it at start and says so on stderr when it is not empty.
 */
function checkInternals() {
  const problems = [];
  const version = tslabVersion();
  if (version !== TESTED_VERSION) problems.push(`tslab is ${version}; the course kernel was written against ${TESTED_VERSION}`);
  for (const [file, spec] of Object.entries(TSLAB_INTERNALS)) {
    if (file === 'typescript') {
      const ts = tslabTypeScript();
      for (const m of spec.sys) if (typeof ts.sys[m] !== 'function') problems.push(`@tslab/typescript-for-tslab: ts.sys.${m} is not a function`);
      continue;
    }
    let mod;
    try { mod = load(file); } catch (e) { problems.push(`tslab/dist/${file} cannot be loaded: ${e.message}`); continue; }
    for (const name of spec.exports ?? []) if (typeof mod[name] !== 'function') problems.push(`tslab/dist/${file} no longer exports ${name}`);
    for (const name of spec.module ?? []) if (!(name in mod)) problems.push(`tslab/dist/${file} no longer has ${name}`);
    for (const cls of ['JupyterHandlerImpl', 'ZmqServer']) {
      for (const m of spec[cls] ?? []) {
        if (typeof mod[cls]?.prototype?.[m] !== 'function') problems.push(`tslab/dist/${file}: ${cls}.prototype.${m} is gone`);
      }
    }
  }
  // Fields and message methods the kernel's subclasses use (kernel.cjs makeHandler / makeServer).
  try {
    const { JupyterHandlerImpl, ZmqServer } = load('jupyter.js');
    const h = new JupyterHandlerImpl({}, false);
    if (typeof h.execQueue?.add !== 'function' || typeof h.execQueue?.reset !== 'function') problems.push('JupyterHandlerImpl.execQueue (a TaskQueue with add/reset) is gone');
    if (typeof h.execCount !== 'number') problems.push('JupyterHandlerImpl.execCount is gone');
    if (h.executor === undefined) problems.push('JupyterHandlerImpl.executor is gone');
    if (new ZmqServer(h, 'x').handler !== h) problems.push('ZmqServer.handler is gone');
    const src = require('node:fs').readFileSync(path.join(TSLAB_DIR, 'dist', 'jupyter.js'), 'utf8');
    for (const used of ['createReply()', 'signAndSend(key, sock)', 'this.connInfo = cinfo', 'this.iopub = ', 'this.shell = ',
      'this.bindSocket(this.iopub, cinfo.iopub_port)']) {
      if (!src.includes(used)) problems.push(`tslab/dist/jupyter.js no longer has \`${used}\` (ZmqMessage / ZmqServer internals the kernel uses)`);
    }
    const exe = require('node:fs').readFileSync(path.join(TSLAB_DIR, 'dist', 'executor.js'), 'utf8');
    for (const used of ['vm_1.default.runInThisContext(wrapped', '"(async function(exports, require) { "', '"(function(exports, require) { "']) {
      if (!exe.includes(used)) problems.push(`tslab/dist/executor.js no longer has \`${used}\` (how cells are run, which nameCellScripts relies on)`);
    }
    // The kernel binds its sockets with zeromq's bindSync (zeromq >= 6.0.0-beta.20), tslab's zeromq.
    const zmq = require(require.resolve('zeromq', { paths: [TSLAB_DIR] }));
    for (const kind of ['Publisher', 'Router', 'Reply']) {
      if (typeof zmq[kind]?.prototype?.bindSync !== 'function') problems.push(`zeromq (tslab's): ${kind}.prototype.bindSync is gone`);
    }
  } catch (e) {
    problems.push(`tslab's Jupyter classes cannot be constructed: ${e.message}`);
  }
  return problems;
}

/**
 * Give each cell's script its own file name (`cell-7.ts`) instead of `evalmachine.<anonymous>`, so a
 * stack frame says which cell it is in, also for a function defined in an earlier cell. tslab's
 * executor runs a cell as `vm.runInThisContext(wrapped, { breakOnSigint: true })` with `wrapped`
 * starting with its `(function(exports, require) {` wrapper; other scripts keep their name.
 * @param {() => string | undefined} nameFor the file name for the cell being run now
 */
function nameCellScripts(nameFor) {
  const vm = require('node:vm');
  const run = vm.runInThisContext;
  vm.runInThisContext = function (code, options) {
    const name = typeof code === 'string' && /^\((async )?function\(exports, require\) \{ /.test(code) ? nameFor() : undefined;
    if (!name || (options && typeof options === 'object' && options.filename)) return run.call(this, code, options);
    return run.call(this, code, { ...(typeof options === 'object' ? options : {}), filename: name });
  };
}

module.exports = {
  nameCellScripts,
  ROOT,
  TSLAB_DIR,
  TESTED_VERSION,
  TSLAB_INTERNALS,
  tslabVersion,
  tslabTypeScript,
  checkInternals,
  createConverter: (...a) => load('converter.js').createConverter(...a),
  createExecutor: (...a) => load('executor.js').createExecutor(...a),
  jupyterModule: () => load('jupyter.js'),
  util: () => load('util.js'),
};
