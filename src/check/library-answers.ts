/**
 * Catching a student function that calls the library's own answer to its exercise (an exercise's
 * `libraryAnswers`, e.g. hw3's clipping exercise and the library's `clipByGlobalNorm`).
 *
 * At run time: while the check calls the student's function (`ctx.call`), each listed export is replaced by
 * a spy that records the call and then does exactly what the export does, everywhere the student's code can
 * reach it:
 * - the module of the library that defines it (`dist/train.js`'s exports object): the library's index
 *   re-exports through a getter that reads it there, so `import * as lab from 'rnn-lab'; lab.clipByGlobalNorm(…)`
 *   and `require('rnn-lab').clipByGlobalNorm(…)` both reach the spy;
 * - tslab's cell scope: tslab compiles `import { clipByGlobalNorm as c } from 'rnn-lab'` to a copy of the
 *   function taken when the import cell ran (`exports.c = …`, read by later cells as `exports.c(…)`), so every
 *   binding of `globalThis.__tslab__.exports` that holds the export itself (any alias) is swapped too;
 * - a dotted name (`RNN_FAMILY.step`, `Rng.prototype.choice`) is a method, replaced on its object.
 * Everything is put back when the call returns or throws. The library's other functions call their own
 * module's functions directly (not through the exports object), so they never trip a spy; a function the
 * check itself hands to the student (hw1's reference `cell`, hw3's `clip`) runs inside {@link libraryCall},
 * which switches the spies off while it runs.
 *
 * Statically, as a backup for a call the visible inputs never reach: the function's compiled source is
 * searched for a tslab binding (`exports.name`) that holds a listed export or the library's module
 * (`exports.lab.clipByGlobalNorm`), and for `require('rnn-lab').name`.
 */
import * as path from 'path';

/** Inside a function the check hands to the student: the library's own calls are not the student's. */
let suspended = 0;

/** Run `thunk` with the spies off: for library code the check passes to the student's function. */
export function libraryCall<T>(thunk: () => T): T {
  suspended++;
  try {
    return thunk();
  } finally {
    suspended--;
  }
}

/** Wrap each method of a helper the check hands to the student in {@link libraryCall}. */
export function trustedHelper<T extends object>(helper: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(helper)) {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    out[k] = typeof v === 'function' ? (...args: any[]) => libraryCall(() => (v as (...a: any[]) => unknown)(...args)) : v;
  }
  return Object.freeze(out) as T;
}

const DIST = path.resolve(__dirname, '..');

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Obj = Record<string, any>;

function libraryIndex(): Obj {
  // Loaded lazily: the index imports the checks, so it cannot be imported here at load time.
  // eslint-disable-next-line @typescript-eslint/no-var-requires
  return require(path.join(DIST, 'index.js'));
}

function tslabScope(): Obj | undefined {
  const t = (globalThis as { __tslab__?: { exports?: Obj } }).__tslab__;
  return t && typeof t.exports === 'object' && t.exports !== null ? t.exports : undefined;
}

/** Where an export lives: the objects and keys that hold the very value `index[name]`. */
function holders(name: string): { value: unknown; places: [Obj, string][] } {
  const index = libraryIndex();
  const parts = name.split('.');
  if (parts.length > 1) {
    let owner: Obj = index;
    for (const p of parts.slice(0, -1)) owner = owner?.[p];
    const key = parts[parts.length - 1];
    if (owner == null || typeof owner[key] !== 'function') return { value: undefined, places: [] };
    return { value: owner[key], places: [[owner, key]] };
  }
  const value = index[name];
  if (typeof value !== 'function') return { value: undefined, places: [] };
  const places: [Obj, string][] = [];
  for (const [file, mod] of Object.entries(require.cache)) {
    if (!mod || !file.startsWith(DIST + path.sep)) continue;
    const d = Object.getOwnPropertyDescriptor(mod.exports, name);
    if (d && 'value' in d && d.value === value && d.writable) places.push([mod.exports, name]);
  }
  return { value, places };
}

/**
 * The names among `names` that are not a function the library exports (`'gruLayer'`, `'GRU_FAMILY.step'`):
 * a misspelt library answer would otherwise never be spied on, and the check would let its calls pass.
 * defineExercise refuses such a name; tests/unit/library-answers.test.mjs checks every built-in exercise's.
 */
export function unresolvedLibraryAnswers(names: readonly string[]): string[] {
  return names.filter((name) => typeof holders(name).value !== 'function');
}

/** The spies of one exercise's library answers; `during` arms them around a call of the student's function. */
export class AnswerGuard {
  /** The listed exports the student's function called (in the order first seen). */
  readonly called = new Set<string>();

  constructor(readonly names: readonly string[]) {}

  /** Where each listed export lives (found once per check: a sampling check calls the student thousands of times). */
  private plan?: { name: string; original: (...a: unknown[]) => unknown; spy: (...a: unknown[]) => unknown; places: [Obj, string][] }[];

  private makePlan() {
    const scope = tslabScope();
    const plan: NonNullable<AnswerGuard['plan']> = [];
    for (const name of this.names) {
      const { value, places } = holders(name);
      if (typeof value !== 'function') continue;
      const original = value as (...a: unknown[]) => unknown;
      const called = this.called;
      const spy = function (this: unknown, ...args: unknown[]): unknown {
        if (suspended === 0) called.add(name);
        return original.apply(this, args);
      };
      Object.defineProperty(spy, 'name', { value: original.name });
      // tslab's cell scope: every binding that holds the export itself, under any alias.
      if (scope && !name.includes('.')) for (const key of Object.keys(scope)) if (scope[key] === original) places.push([scope, key]);
      plan.push({ name, original, spy, places });
    }
    return plan;
  }

  during<T>(thunk: () => T): T {
    const restore: (() => void)[] = [];
    try {
      for (const { original, spy, places } of (this.plan ??= this.makePlan())) {
        for (const [obj, key] of places) {
          try {
            if (obj[key] !== original) continue;   // rebound since: not the library's any more
            obj[key] = spy;
            if (obj[key] === spy) restore.push(() => { obj[key] = original; });
          } catch { /* frozen: the static search still sees it */ }
        }
      }
      return thunk();
    } finally {
      for (const r of restore.reverse()) r();
    }
  }
}

/** The value at `chain` below `base` through own data properties only (a getter is never run); undefined where it stops. */
function dataPath(base: unknown, chain: string[]): unknown {
  let v = base;
  for (const key of chain) {
    if (v == null || (typeof v !== 'object' && typeof v !== 'function')) return undefined;
    const d = Object.getOwnPropertyDescriptor(v, key);
    if (!d || !('value' in d)) return undefined;
    v = d.value;
  }
  return v;
}

/** Names `src` declares itself (functions, variables, classes, parameters): a bare name among them is the student's own. */
function declaredNames(src: string, ID: string): Set<string> {
  const out = new Set<string>();
  for (const m of src.matchAll(new RegExp(`\\b(?:function\\*?|const|let|var|class)\\s+(${ID})`, 'g'))) out.add(m[1]);
  for (const m of src.matchAll(new RegExp(`\\b(?:const|let|var)\\s*[{\\[]([^}\\]=]*)[}\\]]`, 'g'))) {
    for (const id of m[1].matchAll(new RegExp(ID, 'g'))) out.add(id[0]);                                       // destructuring
  }
  // Parameters of `function f(…)` and `(…) =>` (not `if (…) {`): each one's name, before any default value,
  // whose names are not declared (`impl = helper` declares impl, not helper).
  const lists = [
    ...src.matchAll(new RegExp(`\\bfunction\\b\\s*\\*?\\s*(?:${ID})?\\s*\\(([^()]*)\\)`, 'g')),
    ...src.matchAll(/\(([^()]*)\)\s*=>/g),
  ];
  for (const m of lists) {
    for (const param of m[1].split(',')) for (const id of param.split('=')[0].matchAll(new RegExp(ID, 'g'))) out.add(id[0]);
  }
  for (const m of src.matchAll(new RegExp(`(?:^|[^.\\w$])(${ID})\\s*=>`, 'g'))) out.add(m[1]);                           // x => …
  return out;
}

/**
 * The listed exports that `fn`'s source refers to (compiled by tslab: `exports.alias`, `exports.lab.name`,
 * or `require('rnn-lab').name`), whatever it was called — also through a notebook binding the function
 * names bare (tslab keeps a cell's own `const helper = lab.attend` as a local of that cell, so a function in
 * the same cell says `helper`, not `exports.helper`) and through properties of a binding (`tools.f` for
 * `const tools = { f: lab.attend }`), read without running getters. A bare name the function declares
 * itself (its own helper, a parameter) is the student's, whatever the notebook binds to that name.
 */
export function staticLibraryUses(fn: unknown, names: readonly string[]): string[] {
  if (typeof fn !== 'function' || names.length === 0) return [];
  let index: Obj;
  try { index = libraryIndex(); } catch { return []; }
  const found = new Set<string>();
  scanSource(fn, names, index, tslabScope(), found, new Set([fn]), 0);
  return names.filter((n) => found.has(n));
}

/** How deep {@link staticLibraryUses} follows the notebook's own functions (a wrapper of a wrapper of the answer). */
const WRAPPER_DEPTH = 3;

/**
 * One function's source for {@link staticLibraryUses}; a notebook function it names (bare, `exports.f` or
 * `utils.f`) that is not the library's is read in turn, to {@link WRAPPER_DEPTH} levels, so a wrapper that
 * closes over a cell-local alias (`const lc = lab.clipByGlobalNorm; const wrap = (g, m) => lc(g, m)`) is seen.
 */
function scanSource(fn: unknown, names: readonly string[], index: Obj, scope: Obj | undefined, found: Set<string>, seen: Set<unknown>, depth: number): void {
  let src: string;
  try { src = Function.prototype.toString.call(fn); } catch { return; }
  const follow = (v: unknown) => {
    if (typeof v !== 'function' || depth >= WRAPPER_DEPTH || seen.has(v) || Object.values(index).includes(v)) return;
    seen.add(v);
    scanSource(v, names, index, scope, found, seen, depth + 1);
  };
  const resolve = (n: string) => { let v: unknown = index; for (const p of n.split('.')) v = (v as Obj)?.[p]; return v; };
  const startsWith = (chain: string[], parts: string[]) => parts.every((p, k) => chain[k] === p);
  const ID = '[A-Za-z_$][\\w$]*';
  if (scope) {
    const own = declaredNames(src, ID);
    const refs = [
      ...[...src.matchAll(new RegExp(`\\bexports\\.(${ID})((?:\\s*\\.\\s*${ID})*)`, 'g'))].map((m) => [m[1], m[2]] as const),
      // A bare name (not a property, not an object key) that the notebook binds and the function does not declare.
      ...[...src.matchAll(new RegExp(`(?<![.\\w$])(${ID})((?:\\s*\\.\\s*${ID})*)(?!\\s*:(?!:))`, 'g'))]
        .filter((m) => m[1] !== 'exports' && !own.has(m[1]) && Object.prototype.hasOwnProperty.call(scope, m[1])).map((m) => [m[1], m[2]] as const),
    ];
    for (const [name, rest] of refs) {
      const v = dataPath(scope, [name]);
      if (v == null) continue;
      const chain = rest.split('.').map((s) => s.trim()).filter((s) => s);
      for (const n of names) {
        const parts = n.split('.');
        const target = resolve(n);
        if (v === target) found.add(n);                                                  // the export, under any alias
        else if (parts.length > 1 && v === index[parts[0]] && startsWith(chain, parts.slice(1))) found.add(n);   // RNN_FAMILY.step
        else if (v === index && startsWith(chain, parts)) found.add(n);                  // import * as lab: lab.name
        else if (typeof target === 'function' && chain.some((_, k) => dataPath(v, chain.slice(0, k + 1)) === target)) found.add(n);   // tools.f
      }
      if (v !== index) {
        follow(v);                                                                       // a notebook function: read it too
        // utils.f of a plain object the notebook made (not a module such as tf, whose functions are not the student's)
        if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) follow(dataPath(v, chain.slice(0, 1)));
      }
    }
  }
  for (const m of src.matchAll(new RegExp(`require\\(\\s*['"]rnn-lab['"]\\s*\\)((?:\\s*\\.\\s*${ID})+)`, 'g'))) {
    const chain = m[1].split('.').map((s) => s.trim()).filter((s) => s);
    for (const n of names) if (startsWith(chain, n.split('.'))) found.add(n);
  }
}

/** The student-facing reason an exercise scores 0 because the library's answer was used. */
export function libraryAnswerMessage(fnName: string, used: string[], how: 'calls' | 'refers to'): string {
  const list = used.map((n) => `the library's ${n.replace('.prototype.', '.')}`);
  const text = list.length === 1 ? list[0] : `${list.slice(0, -1).join(', ')} and ${list[list.length - 1]}`;
  return `your ${fnName} ${how} ${text}, which ${used.length === 1 ? 'is' : 'are'} this exercise's answer; write it yourself ` +
    `(with tf.js operations or plain arrays). 0 points until it no longer uses ${used.length === 1 ? 'it' : 'them'}.`;
}
