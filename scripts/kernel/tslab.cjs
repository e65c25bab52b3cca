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
  'converter.js': { exports: ['createConverter'], converterMethods: ['convert', 'inspect', 'complete', 'addModule', 'close'] },
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
    // withEarlierCellShorthands: tslab rewrites a use of an earlier cell's name to `exports.x` only where
    // getSymbolAtLocation gives that name's declaration, and the executor hands convert the earlier cells'
    // declarations as text (prevDecl) and prints diagnostics by their start line and character.
    const conv = require('node:fs').readFileSync(path.join(TSLAB_DIR, 'dist', 'converter.js'), 'utf8');
    for (const used of ['function wrapPrevIdentifier(node)', 'checker.getSymbolAtLocation(node)',
      'ts.factory.createPropertyAccessExpression(ts.factory.createIdentifier("exports"), node)', 'pos.character -= srcPrefixOffsets.char']) {
      if (!conv.includes(used)) problems.push(`tslab/dist/converter.js no longer has \`${used}\` (how earlier cells' names are rewritten, which withEarlierCellShorthands completes)`);
    }
    for (const used of ['convs.node.convert(prevDecl, src)', 'prevDecl = converted.declOutput', 'diag.start.line + 1, diag.start.character + 1']) {
      if (!exe.includes(used)) problems.push(`tslab/dist/executor.js no longer has \`${used}\` (what withEarlierCellShorthands wraps)`);
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

// ---- earlier cells' names in a shorthand property; `export` ---------------------------------------

/**
 * The value names tslab's declarations of earlier cells (`prevDecl`, the text its converter gets with
 * each cell: `declare const x = 1;`, `declare function f(…)`, `import * as tf from '…'`, …) make
 * visible: variables (also those a destructuring declared), functions, classes, enums, namespaces and
 * imports. Types and interfaces are left out: they are not values.
 * @param {string} prevDecl
 * @returns {Set<string>}
 */
function earlierCellNames(prevDecl) {
  const ts = tslabTypeScript();
  const names = new Set();
  if (!prevDecl) return names;
  const sf = ts.createSourceFile('__prev__.d.ts', prevDecl, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const bind = (name) => {
    if (!name) return;
    if (ts.isIdentifier(name)) names.add(name.text);
    else if (ts.isObjectBindingPattern(name) || ts.isArrayBindingPattern(name)) for (const e of name.elements) if (!ts.isOmittedExpression(e)) bind(e.name);
  };
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) for (const d of st.declarationList.declarations) bind(d.name);
    else if (ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st) || ts.isEnumDeclaration(st) || ts.isModuleDeclaration(st) || ts.isImportEqualsDeclaration(st)) bind(st.name);
    else if (ts.isImportDeclaration(st) && st.importClause && !st.importClause.isTypeOnly) {
      const c = st.importClause;
      bind(c.name);
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) bind(c.namedBindings.name);
      else if (c.namedBindings) for (const e of c.namedBindings.elements) if (!e.isTypeOnly) bind(e.name);
    }
  }
  return names;
}

/**
 * Rewrite a cell so that tslab sees every use of an earlier cell's name: a shorthand property `{ x }`
 * (in an object literal, also nested, or in a destructuring assignment `({ x } = o)`, `({ x = 1 } = o)`)
 * whose name an earlier cell declared becomes `{ x: x }`. Text is only inserted (`: x` after the name,
 * never a line break), so lines stay; `toOriginal` maps an offset in the rewritten text back.
 * Also lists each top-level `export` (tslab already makes every top-level name visible to later cells;
 * its own `export {…}` then conflicts, and `export { x }` of an earlier cell's `x` sets it to undefined).
 * @param {string} src the cell as written
 * @param {Set<string>} earlier names from {@link earlierCellNames}
 * @returns {{ code: string, inserted: {at: number, text: string}[], exports: {start: number, end: number}[], toOriginal: (offset: number) => number }}
 */
function rewriteCell(src, earlier) {
  const ts = tslabTypeScript();
  const sf = ts.createSourceFile('__cell__.ts', src, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const inserted = [];
  const visit = (node) => {
    if (ts.isShorthandPropertyAssignment(node) && earlier.has(node.name.text)) {
      inserted.push({ at: node.name.end, text: `: ${node.name.text}` });
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  const exports = [];
  for (const st of sf.statements) {
    const mod = ts.canHaveModifiers(st) ? ts.getModifiers(st)?.find((m) => m.kind === ts.SyntaxKind.ExportKeyword) : undefined;
    if (mod) exports.push({ start: mod.getStart(sf), end: mod.end });
    else if (ts.isExportDeclaration(st) || ts.isExportAssignment(st)) exports.push({ start: st.getStart(sf), end: st.end });
  }
  inserted.sort((a, b) => a.at - b.at);
  let code = '';
  let from = 0;
  for (const { at, text } of inserted) { code += src.slice(from, at) + text; from = at; }
  code += src.slice(from);
  const toOriginal = (offset) => {
    let shift = 0;
    for (const { at, text } of inserted) {
      if (offset <= at + shift) break;
      if (offset < at + shift + text.length) return at;     // inside an inserted `: x`: at the name's end
      shift += text.length;
    }
    return offset - shift;
  };
  return { code, inserted, exports, toOriginal };
}

/**
 * Wrap a tslab converter's `convert(prevDecl, src)` (what the executor calls for each cell) so that an
 * earlier cell's name in a shorthand property works, and a top-level `export` is an error that says why.
 *
 * Why: tslab runs a cell with its top-level names on `exports` and rewrites an identifier that resolves
 * to an earlier cell's declaration to `exports.x` (converter.js `wrapPrevIdentifier`, which asks
 * `checker.getSymbolAtLocation`). For the name of a shorthand property that gives the property, not the
 * variable, so `{ x }` stays a bare `x`: `ReferenceError: x is not defined` in an object literal, and in
 * `({ x } = o)` a sloppy-mode global `x` while the earlier cell's `x` keeps its value. Expanded to
 * `{ x: x }`, the value is an ordinary identifier and tslab rewrites it. Diagnostics' positions are
 * mapped back to the cell as written.
 * @param {{ convert: (prevDecl: string, src: string) => any }} conv a converter from createConverter
 */
function withEarlierCellShorthands(conv) {
  const convert = conv.convert.bind(conv);
  conv.convert = (prevDecl, src) => {
    const cell = rewriteCell(src, earlierCellNames(prevDecl));
    if (cell.exports.length > 0) {
      return {
        diagnostics: cell.exports.map(({ start, end }) => ({
          start: position(src, start), end: position(src, end), category: 1, code: 0,
          messageText: '`export` has no use in a notebook cell: every top-level name of a cell is already visible in later cells. Remove `export`.',
        })),
      };
    }
    if (cell.inserted.length === 0) return convert(prevDecl, src);
    const r = convert(prevDecl, cell.code);
    for (const d of r.diagnostics ?? []) {
      if (d.fileName) continue;                            // in another file (a module the cell imports)
      for (const k of ['start', 'end']) if (d[k] && typeof d[k].offset === 'number') d[k] = position(src, cell.toOriginal(d[k].offset));
    }
    return r;
  };
  return conv;
}

/** tslab's diagnostic position (0-based offset, line, character) of `offset` in `text`. */
function position(text, offset) {
  const before = text.slice(0, offset);
  const line = before.split('\n').length - 1;
  return { offset, line, character: offset - (before.lastIndexOf('\n') + 1) };
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
  earlierCellNames,
  rewriteCell,
  withEarlierCellShorthands,
  createConverter: (...a) => load('converter.js').createConverter(...a),
  createExecutor: (...a) => load('executor.js').createExecutor(...a),
  jupyterModule: () => load('jupyter.js'),
  util: () => load('util.js'),
};
