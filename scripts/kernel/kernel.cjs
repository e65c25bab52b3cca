// The course's Jupyter kernel: tslab's TypeScript kernel, made to behave as Jupyter tools expect.
// Started by launch.cjs (`node kernel.cjs <connection_file>`). What it changes, and why:
//
// 1. Interrupt reaches the library. A relay thread watches launch.cjs's interrupt channel. When a
//    library call is running it only bumps the shared counter of src/interrupt.ts, and the call stops
//    cleanly after its current step (train returns with stopped: 'interrupted'; decode & co. throw
//    KeyboardInterrupt). Otherwise, or on a second press, it sends this process a real SIGINT: tslab's
//    own interrupt (it breaks a synchronous `while (true) {}`).
// 2. Errors are errors: a failing cell publishes an `error` output and replies with ename/evalue/
//    traceback (tslab 1.0.22 only writes to stderr), the traceback cut to the user's and the library's
//    frames; TypeScript diagnostics are a `TypeScriptError`; an interrupted cell a `KeyboardInterrupt`.
// 3. Queued cells are aborted after an error only when the failed request asked for it
//    (`stop_on_error`, as in the messaging spec); nbconvert's allow_errors runs every later cell.
// 4. Output goes to the cell that made it (AsyncLocalStorage): work left running by an interrupted cell
//    cannot print into a later one.
// 5. Notebooks in any folder resolve rnn-lab, @tensorflow/tfjs, danfojs-node and their types from this
//    checkout (NODE_PATH for Node, set by launch.cjs; the same fallback for the TypeScript checker).
// 6. The library can ask which execution (and, where the frontend sends one, which cell id) its code
//    belongs to, and whether a cell has run again or was deleted since: it keeps plotly.js in exactly
//    one output that still exists (src/display.ts).
// 7. A cell can name an earlier cell's variable in a shorthand property (`train(model, { x, y, lengths })`):
//    tslab leaves that name unrewritten (a ReferenceError); a top-level `export` is an error saying why.
// Every reach into tslab's internals is in tslab.cjs.
'use strict';
const { AsyncLocalStorage } = require('node:async_hooks');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const util = require('node:util');
const { Worker } = require('node:worker_threads');

// The launcher (launch.cjs) this kernel belongs to, watched from the first moment: loading tslab and
// TypeScript below takes seconds, and a launcher killed meanwhile (Ctrl-C on the grader while a kernel
// starts) would otherwise leave this kernel running as an orphan, since the relay thread that watches the
// parent starts only later and would take the adoptive parent for its own. launch.cjs passes its pid.
const LAUNCHER = Number(process.env.RNN_LAB_LAUNCHER_PID) || process.ppid;
new Worker(`
const nap = new Int32Array(new SharedArrayBuffer(4));
for (;;) {
  Atomics.wait(nap, 0, 0, 50);
  if (process.ppid !== ${LAUNCHER}) {
    process.kill(process.pid, 'SIGTERM');
    Atomics.wait(nap, 0, 0, 3000);
    process.kill(process.pid, 'SIGKILL');   // a main thread too busy to die on SIGTERM
  }
}`, { eval: true }).unref();

const T = require('./tslab.cjs');

// The hub's key and layout, from the library itself (dist/interrupt.js has no dependencies: loading it
// does not load tf.js).
const { KERNEL_HUB_KEY: HUB_KEY, INTERRUPTS, RUNNING, CELL_START } = require(path.join(T.ROOT, 'dist', 'interrupt.js'));
/** The longest an error with stop_on_error keeps aborting while the shell socket still holds requests. */
const ABORT_WINDOW_MS = 200;

const cells = new AsyncLocalStorage();
/** Set when the server closes its sockets (shutdown_request): sends still pending then fail, expectedly. */
let shuttingDown = false;
/**
 * What frontends that send cell ids (JupyterLab, Notebook 7: `cellId` and `deletedCells` in an
 * execute_request's metadata) told about their cells: the last execution of each id, and deleted ids.
 * The library asks (hub.cellGone) whether the output that carries plotly.js still exists.
 */
const lastRunOf = new Map();
const deletedCells = new Set();
const MAX_CELL_IDS = 10000;
/** The cell running now: output made outside any cell's async context while it runs goes there. */
let current = null;
/** Between cells, output with no cell context (the kernel's own messages) goes to the server's log. */
const ctx = () => cells.getStore() ?? current;

// ---- 5. modules from anywhere -----------------------------------------------------------------------

/**
 * Let the TypeScript checker fall back to this checkout's node_modules after the notebook folder's own
 * node_modules chain, as Node does with NODE_PATH: paths under `<fs root>/node_modules/<pkg>` that do
 * not exist are read from `<ROOT>/node_modules/<pkg>`.
 */
function typesFromCheckout(cwd) {
  const ts = T.tslabTypeScript();
  const top = path.join(path.parse(cwd).root, 'node_modules');
  const fallback = path.join(T.ROOT, 'node_modules');
  if (path.resolve(cwd).startsWith(T.ROOT + path.sep) || path.resolve(cwd) === T.ROOT) return;   // found the usual way
  const forward = (p) => {
    if (typeof p !== 'string' || !(p === top || p.startsWith(top + '/'))) return p;
    if (p === top) return fs.existsSync(top) ? p : fallback;
    const parts = p.slice(top.length + 1).split('/');
    const pkg = parts[0].startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
    return fs.existsSync(path.join(top, pkg)) ? p : path.join(fallback, p.slice(top.length + 1));
  };
  const sys = ts.sys;
  for (const m of ['readFile', 'fileExists', 'realpath', 'readDirectory', 'getDirectories', 'watchFile', 'watchDirectory', 'getModifiedTime']) {
    const orig = sys[m];
    if (typeof orig !== 'function') continue;
    sys[m] = function (p, ...rest) { return orig.call(this, forward(p), ...rest); };
  }
  const dirExists = sys.directoryExists;
  sys.directoryExists = function (p) { return p === top || dirExists.call(this, forward(p)); };
}

// ---- 1. interrupt -----------------------------------------------------------------------------------

function installHub() {
  const state = new Int32Array(new SharedArrayBuffer(4 * 4));
  const hub = {
    state,
    onInterrupted(what, message) {
      const c = ctx();
      if (c && !c.interrupted) c.interrupted = { what, message };
    },
    /** Send a display_data / update_display_data to the cell that made it (for the library's figures). */
    display(content, update = false) {
      const c = ctx();
      if (!c) throw new Error('rnn-lab kernel: display outside a cell');
      c.writeDisplayData(content, update);
    },
    /** The execution the calling code belongs to, and its cell's id where the frontend sends one. */
    cell() {
      const c = ctx();
      return c ? { execution: c.count, cellId: c.cellId, code: c.code } : undefined;
    },
    /** Whether the cell `cellId` ran again after execution `since`, or the frontend reported it deleted. */
    cellGone(cellId, since) {
      return deletedCells.has(cellId) || (lastRunOf.get(cellId) ?? 0) > since;
    },
  };
  globalThis[HUB_KEY] = hub;
  return hub;
}

// The relay thread: polls the channel file's size (launch.cjs appends a byte per SIGINT) and its
// parent (launch.cjs killed: end the kernel too rather than linger holding the ports).
const RELAY = `
const { workerData } = require('node:worker_threads');
const fs = require('node:fs');
const state = new Int32Array(workerData.sab);
const nap = new Int32Array(new SharedArrayBuffer(4));
const parent = workerData.launcher;
let seen = fs.fstatSync(workerData.fd).size;
for (;;) {
  Atomics.wait(nap, 0, 0, 10);
  if (process.ppid !== parent) { process.kill(process.pid, 'SIGTERM'); break; }
  const size = fs.fstatSync(workerData.fd).size;
  for (; seen < size; seen++) {
    const pending = Atomics.load(state, ${INTERRUPTS}) !== Atomics.load(state, ${CELL_START});
    Atomics.add(state, ${INTERRUPTS}, 1);
    // The library stops at its next step; a second press (or no library call running) is tslab's SIGINT.
    if (Atomics.load(state, ${RUNNING}) === 0 || pending) process.kill(process.pid, 'SIGINT');
  }
}`;

function startRelay(hub) {
  const fd = Number(process.env.RNN_LAB_INTERRUPT_FD);
  if (!Number.isInteger(fd) || fd < 0) return false;
  try { fs.fstatSync(fd); } catch { return false; }
  const w = new Worker(RELAY, { eval: true, workerData: { sab: hub.state.buffer, fd, launcher: LAUNCHER } });
  w.unref();
  w.on('error', (e) => process.stderr.write(`rnn-lab kernel: the interrupt relay stopped: ${e.message}\n`));
  return true;
}

// ---- 2. errors as errors ----------------------------------------------------------------------------

/** Frames a student has no use for: Node's, tslab's, the kernel's, and other packages' (tf.js's engine). */
const NOT_USER_FRAME = [
  /\(node:/, /^\s*at node:/, /\(<anonymous>\)/, /scripts[\\/]kernel[\\/]/,
  /node_modules[\\/](?!rnn-lab[\\/])/,
  /dist[\\/]interrupt\.js/,                              // where the library raises KeyboardInterrupt
];

/** A compiled cell statement as the student wrote it: tslab's `exports.` bookkeeping taken out. */
function readable(code) {
  return code.replace(/^exports\.tsLastExpr = /, '').replace(/\bexports\.(\w+) = \1 = /g, '$1 = ')
    .replace(/^exports\.(\w+) = \1;$/, '').replace(/\bexports\./g, '');
}
const red = (s) => `\u001b[0;31m${s}\u001b[0m`;
/** How a WebAssembly trap of tf.js's wasm backend reads (out of memory, or memory corrupted by it). */
const WASM_BROKEN = /^RuntimeError: (memory access out of bounds|table index is out of bounds|Aborted\(|unreachable|index out of bounds)/;

function interruptedBySignal(e) {
  return e && typeof e === 'object' &&
    (e.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED' || e.message === 'Interrupted asynchronously');
}

/** Jupyter's error content for a thrown value: ename, evalue, traceback (the user's and library frames). */
function errorContent(thrown) {
  if (interruptedBySignal(thrown)) {
    return { ename: 'KeyboardInterrupt', evalue: 'the cell was interrupted', traceback: [`${red('KeyboardInterrupt')}: the cell was interrupted`] };
  }
  if (!(thrown instanceof Error) && !(thrown && typeof thrown === 'object' && typeof thrown.message === 'string')) {
    const evalue = util.inspect(thrown);
    return { ename: thrown === null ? 'null' : typeof thrown, evalue, traceback: [`${red('Uncaught')} ${evalue}`] };
  }
  const ename = String(thrown.name || thrown.constructor?.name || 'Error');
  const evalue = String(thrown.message);
  const traceback = [`${red(ename)}: ${evalue}`];
  const frames = String(thrown.stack ?? '').split('\n').filter((l) => /^\s+at /.test(l));
  for (const f of frames) {
    if (NOT_USER_FRAME.some((re) => re.test(f))) continue;
    // Cell positions are in the compiled JavaScript, not the cell's TypeScript: quote the statement instead.
    const m = /cell-(\d+)\.ts:(\d+):\d+/.exec(f);
    let line = f.replace(/^\s+/, '    ').replace(/^(\s+at )Proxy\./, '$1');   // tslab keeps cell functions on a Proxy
    if (m) {
      const code = readable(compiledCells.get(Number(m[1]))?.[Number(m[2]) - 1]?.trim() ?? '');
      if (!code) continue;                               // the wrapper tslab puts around the cell
      line = line.replace(/cell-(\d+)\.ts:\d+:\d+/, 'cell [$1]') + `   ${code.length > 100 ? code.slice(0, 97) + '...' : code}`;
    }
    traceback.push(line);
  }
  if (thrown.cause !== undefined) {
    const c = errorContent(thrown.cause);
    traceback.push('', 'Caused by:', ...c.traceback);
  }
  return { ename, evalue, traceback };
}

/** TypeScript diagnostics as one error: `1:7 - Type 'string' is not assignable to type 'number'.` per line. */
function diagnosticsContent(lines) {
  const evalue = lines.join('\n');
  return { ename: 'TypeScriptError', evalue, traceback: [red('TypeScriptError'), ...lines] };
}

/** What a finished cell amounts to: null (ok) or Jupyter's error content. */
function outcome(c, ok) {
  const diags = c.errors.filter((a) => a.length > 1 && typeof a[0] === 'string' && a[0].startsWith('%s%d:%d'));
  if (diags.length > 0) return diagnosticsContent(diags.map((a) => util.format(...a)));
  const thrown = c.errors.find((a) => a.length === 1);
  if (thrown) {
    const err = errorContent(thrown[0]);
    if (err.ename === 'KeyboardInterrupt' && c.interrupted) {
      // A loop of calls: the headline is the call the press stopped, then why the cell ended.
      err.evalue = `${c.interrupted.message}; then ${err.evalue}`;
      err.traceback[0] = `${red('KeyboardInterrupt')}: ${err.evalue}`;
    }
    if (WASM_BROKEN.test(`${err.ename}: ${err.evalue}`)) {
      err.traceback.push('', `${red('The WebAssembly backend of tf.js failed')} (most often an operation too large for its 4 GB memory).`,
        'Its memory is now in an unknown state and later tf.js calls may fail: restart the kernel (Kernel → Restart) and use smaller tensors.');
    }
    return err;
  }
  if (!ok) return { ename: 'Error', evalue: 'the cell failed', traceback: [`${red('Error')}: the cell failed`] };
  if (c.interrupted) {
    const evalue = c.interrupted.message;
    return { ename: 'KeyboardInterrupt', evalue, traceback: [`${red('KeyboardInterrupt')}: ${evalue}`] };
  }
  return null;
}

// ---- the kernel -------------------------------------------------------------------------------------

class ConverterSet {
  // An earlier cell's name in a shorthand property `{ x }` is rewritten as tslab 1.0.22 does not (tslab.cjs).
  get node() { return this._node ??= remembering(T.withEarlierCellShorthands(T.createConverter({ isJS: false, isBrowser: false }))); }
  get browser() { return this._browser ??= T.withEarlierCellShorthands(T.createConverter({ isJS: false, isBrowser: true })); }
  close() { this._node?.close(); this._browser?.close(); }
}

/** The compiled JavaScript of recent cells by execution count: a traceback quotes the statement a frame points at. */
const compiledCells = new Map();
const KEEP_COMPILED = 500;

function remembering(conv) {
  const convert = conv.convert.bind(conv);
  conv.convert = (prevDecl, src) => {
    const r = convert(prevDecl, src);
    const c = ctx();
    if (c && r.output) {
      compiledCells.set(c.count, r.output.split('\n'));
      if (compiledCells.size > KEEP_COMPILED) compiledCells.delete(compiledCells.keys().next().value);
    }
    return r;
  };
  return conv;
}

/** A failed cell whose request had stop_on_error: rejecting its task makes tslab's queue abort those behind it. */
class CellFailed extends Error {
  constructor(reply) { super('cell failed'); this.reply = reply; }
}

function makeHandler(hub) {
  const { JupyterHandlerImpl } = T.jupyterModule();
  const { TaskCanceledError } = T.util();
  return class CourseHandler extends JupyterHandlerImpl {
    handleKernel() {
      return { status: 'ok', ...super.handleKernel() };   // the spec's reply has a status; tslab's lacks it
    }

    async handleExecute(req, writeStream, writeDisplayData, publish, metadata = {}) {
      // Deletions count when they are reported, not when the request's turn in the queue comes.
      if (Array.isArray(metadata.deletedCells)) {
        for (const id of metadata.deletedCells) if (typeof id === 'string' && deletedCells.size < MAX_CELL_IDS) deletedCells.add(id);
      }
      const cellId = typeof metadata.cellId === 'string' ? metadata.cellId : undefined;
      const stopOnError = req.stop_on_error !== false;      // the spec's default is true
      try {
        return await this.execQueue.add(() => this.runCell(req, writeStream, writeDisplayData, publish, stopOnError, cellId));
      } catch (e) {
        if (e instanceof CellFailed) {
          // The reply goes out only once the queue takes requests again: a request the client sends
          // after reading this error reply must run (CI once saw it aborted, sent within the window).
          await this.abortReceived();
          return e.reply;
        }
        if (e instanceof TaskCanceledError) return { status: 'aborted', execution_count: null };
        const err = errorContent(e);
        process.stderr.write(`rnn-lab kernel: unexpected error: ${e?.stack ?? e}\n`);
        return { status: 'error', execution_count: this.execCount, ...err };
      }
    }

    /**
     * After an error with stop_on_error, abort the requests already sent to this kernel (Run All's
     * queue), as ipykernel does by flushing its shell socket, and nothing sent later: the queue stays
     * rejected until the shell socket holds no more received messages, then a moment more. Resolves
     * when the queue takes requests again; the failed cell's reply is sent after that.
     */
    abortReceived() {
      const deadline = Date.now() + ABORT_WINDOW_MS;
      const shell = this.server?.shell;
      return new Promise((resolve) => {
        const drain = () => {
          if (shell?.readable && Date.now() < deadline) setImmediate(drain);
          else setImmediate(() => { this.execQueue.reset(); resolve(); });
        };
        setImmediate(drain);
      });
    }

    async runCell(req, writeStream, writeDisplayData, publish, stopOnError, cellId) {
      const count = ++this.execCount;
      if (cellId !== undefined) {
        lastRunOf.delete(cellId);                          // re-inserted last: the map stays in run order
        lastRunOf.set(cellId, count);
        if (lastRunOf.size > MAX_CELL_IDS) lastRunOf.delete(lastRunOf.keys().next().value);
      }
      if (!req.silent) publish('execute_input', { code: req.code, execution_count: count });
      Atomics.store(hub.state, CELL_START, Atomics.load(hub.state, INTERRUPTS));
      Atomics.store(hub.state, RUNNING, 0);               // a call cut short by tslab's interrupt never ended
      const code = crypto.createHash('sha1').update(String(req.code)).digest('hex').slice(0, 16);
      const c = { count, cellId, code, writeStream, writeDisplayData, errors: [], interrupted: null, done: false };
      current = c;
      let ok;
      try {
        ok = await cells.run(c, () => this.executor.execute(req.code));
        // A promise the cell did not await (a forgotten `await train(…)`) rejects on the next turn: count it.
        await new Promise((resolve) => setImmediate(resolve));
      } finally {
        c.done = true;
        if (current === c) current = null;
      }
      const err = outcome(c, ok);
      if (err?.ename === 'KeyboardInterrupt' && c.errors.some((a) => interruptedBySignal(a[0]))) {
        // JavaScript was stopped wherever it was, maybe inside tf.js: put the engine back in order.
        const terminated = c.errors.some((a) => a[0]?.code === 'ERR_SCRIPT_EXECUTION_INTERRUPTED');
        const repaired = hub.recover?.(terminated);
        if (repaired) {
          err.evalue += `; ${repaired}`;
          err.traceback[0] = `${red('KeyboardInterrupt')}: ${err.evalue}`;
        }
      }
      if (!err) return { status: 'ok', execution_count: count, user_expressions: {}, payload: [] };
      publish('error', err);
      const reply = { status: 'error', execution_count: count, ...err, user_expressions: {}, payload: [] };
      if (stopOnError) throw new CellFailed(reply);
      return reply;
    }
  };
}

function makeServer() {
  const { ZmqServer } = T.jupyterModule();
  return class CourseServer extends ZmqServer {
    close() {
      shuttingDown = true;
      return super.close();
    }

    /**
     * Bind at once, in tslab's order (iopub first). tslab binds asynchronously on libuv's thread pool:
     * while a bind is pending zeromq refuses every send on that socket ("Socket is blocked by a bind or
     * unbind operation"), so a kernel_info request answered before iopub was bound lost its status
     * messages, and a bind that never completed left the client waiting 60 s. A failed bind (the port
     * was taken between Jupyter choosing it and the kernel starting) rejects `init`, which ends the
     * process with a message naming the address, so Jupyter reports a dead kernel instead of a silent one.
     */
    async bindSocket(sock, port) {
      const { transport, ip } = this.connInfo;
      const address = `${transport}://${ip}:${port}`;
      try {
        sock.bindSync(address);
      } catch (e) {
        throw new Error(`cannot bind ${address}: ${e.message}`);
      }
    }

    handleShellMessage(sock, ...frames) {
      // Comms (ipywidgets opens one when a notebook loads): tslab has none and logs each as an
      // "unknown msg_type"; ipykernel ignores a comm it has no target for, and so does this kernel.
      if (/^comm_(open|msg|close)$/.test(msgType(frames))) return Promise.resolve();
      return super.handleShellMessage(sock, ...frames);
    }

    async handleExecute(sock, msg) {
      const publish = (type, content) => {
        const m = msg.createReply();
        m.header.msg_type = type;
        m.content = content;
        m.signAndSend(this.connInfo.key, this.iopub);
      };
      const writeStream = (name, text) => publish('stream', { name, text });
      const writeDisplayData = (data, update) => publish(update ? 'update_display_data' : 'display_data', data);
      const reply = msg.createReply();
      reply.header.msg_type = 'execute_reply';
      reply.content = await this.handler.handleExecute(msg.content, writeStream, writeDisplayData, publish, msg.metadata ?? {});
      reply.signAndSend(this.connInfo.key, sock);
    }
  };
}

/** The msg_type of a raw Jupyter message (identities, '<IDS|MSG>', signature, header, …); '' if unreadable. */
function msgType(frames) {
  const i = frames.findIndex((f) => Buffer.isBuffer(f) && f.toString() === '<IDS|MSG>');
  try { return i < 0 ? '' : String(JSON.parse(frames[i + 2].toString()).msg_type ?? ''); } catch { return ''; }
}

/** Route stdout/stderr and tslab's display to the cell whose async context wrote them. */
function routeOutput() {
  const decoder = new util.TextDecoder();
  for (const name of ['stdout', 'stderr']) {
    const stream = process[name];
    const original = stream.write.bind(stream);
    stream.write = (chunk, encoding, cb) => {
      const c = ctx();
      if (!c) return original(chunk, encoding, cb);
      c.writeStream(name, typeof chunk === 'string' ? chunk : decoder.decode(chunk));
      const done = typeof encoding === 'function' ? encoding : cb;
      if (typeof done === 'function') process.nextTick(done);
      return true;
    };
  }
  const jupyter = T.jupyterModule();
  Object.defineProperty(jupyter, 'lastWriteDisplayData', {
    configurable: true,
    get: () => ctx()?.writeDisplayData ?? null,
    set: () => {},                                       // tslab sets it per request; the cell's own wins
  });
}

/**
 * An error nobody caught (a forgotten `await`, a throwing timer) must not end the session: it fails the
 * cell it came from while that cell runs, and is logged otherwise. The kernel alone handles these two
 * process events: tf.js's WebAssembly backend (emscripten) adds handlers that rethrow, which would
 * kill the kernel, so other handlers are not installed (the server log says so once).
 */
function ownErrorEvents() {
  const report = (what) => (e) => {
    // Node reports an uncaught error outside the async context it came from: the cell running now is
    // its most likely origin; between cells, its own (finished) cell gets a readable note.
    const c = cells.getStore() ?? current;
    if (c && !c.done) { c.errors.push([e]); return; }
    // Shutting down: a message still on its way (a late figure update, a status) meets closed sockets.
    if (shuttingDown && /Socket is closed/.test(String(e?.message))) return;
    const { traceback } = errorContent(e);
    process.stderr.write(`${what} after its cell had finished (the kernel goes on):\n${traceback.join('\n')}\n`);
  };
  const own = new Map([['uncaughtException', report('Uncaught exception')], ['unhandledRejection', report('Unhandled promise rejection')]]);
  for (const [event, handler] of own) process.on(event, handler);
  const told = new Set();
  for (const method of ['on', 'addListener', 'prependListener', 'once', 'prependOnceListener']) {
    const original = process[method];
    process[method] = function (event, listener) {
      if (own.has(event) && listener !== own.get(event)) {
        const from = (new Error().stack ?? '').split('\n').slice(2, 3).join('').trim();
        // tf.js's WebAssembly backend always adds them (known, expected: not worth a line in the log).
        if (!told.has(event) && !/tfjs-backend-wasm/.test(from)) {
          told.add(event);
          // To the server's log, not to the cell that loaded the library (fd 2 is not routed).
          fs.writeSync(2, `rnn-lab kernel: a '${event}' handler was not installed (${from}); the kernel reports such errors in the cell\n`);
        }
        return this;
      }
      return original.call(this, event, listener);
    };
  }
}

function main(argv) {
  const configPath = argv[0] === '--config-path' ? argv[1] : argv[0];
  if (!configPath) {
    console.error('usage: node scripts/kernel/kernel.cjs <connection_file>   (start it through launch.cjs)');
    process.exit(2);
  }
  const problems = T.checkInternals();
  if (problems.length > 0) console.error(`rnn-lab kernel: tslab changed; some features may not work:\n  ${problems.join('\n  ')}`);
  typesFromCheckout(process.cwd());
  T.nameCellScripts(() => { const c = ctx(); return c ? `cell-${c.count}.ts` : undefined; });
  // tf.js's engine adds several frames per op; keep enough to reach the student's cell in a traceback.
  Error.stackTraceLimit = Math.max(Error.stackTraceLimit, 50);
  const hub = installHub();
  const relay = startRelay(hub);
  routeOutput();

  const convs = new ConverterSet();
  convs.node;                                            // warm the converter, as tslab does
  const executor = T.createExecutor(process.cwd(), convs, {
    log: (...a) => console.log(...a),
    // tslab's executor reports a thrown value or compile diagnostics here and nowhere else.
    error: (...a) => { const c = ctx(); if (c) c.errors.push(a); else console.error(...a); },
  });
  const Handler = makeHandler(hub);
  const Server = makeServer();
  const handler = new Handler(executor, false);
  const server = new Server(handler, configPath);
  handler.server = server;                               // to see whether the shell socket holds requests

  process.on('SIGINT', () => {
    // With the relay, a SIGINT arrives here only when no library call was running or on a second press.
    // Without it (kernel.cjs started by hand), decide here: an async library call stops at its next step.
    if (!relay) {
      const pending = Atomics.load(hub.state, INTERRUPTS) !== Atomics.load(hub.state, CELL_START);
      Atomics.add(hub.state, INTERRUPTS, 1);
      if (Atomics.load(hub.state, RUNNING) > 0 && !pending) return;
    }
    executor.interrupt();
  });
  ownErrorEvents();
  server.init().catch((e) => {
    fs.writeSync(2, `rnn-lab kernel: cannot open its Jupyter sockets (${e.message}); exiting so that Jupyter can start it again on new ports\n`);
    process.exit(1);
  });
}

if (require.main === module) main(process.argv.slice(2));

module.exports = { errorContent, typesFromCheckout, compiledCells, outcome };
