/**
 * `defineExercise`: a teacher's exercise without editing the library. The teacher gives a reference
 * function, the cases (shapes), how to make the inputs of a case, and known mistakes; the result is an
 * {@link ExerciseDef} like those of the library's homework modules, run by the same runner
 * (`runCheck`), compared by the same helpers (compare.ts: shapes, |got − expected| ≤ atol + rtol·|expected|,
 * the worst entry, hints from mistake simulators) and graded the same way (RNN_LAB_RESULT lines).
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions } from '../options';
import { describe } from '../describe';
import { shapeText } from '../inputs';
import { Rng } from '../random';
import { CheckResult, CheckOptions, runCheck } from './runner';
import { Ctx, EXERCISE_DEF, ExerciseDef, StudentFn, fail, failWith, randint, randn } from './exercise';
import { Arr, TOL_F32, Tol, Variant, expectShape, hintFor, isTensor, mismatch, mismatchText, read, tolText } from './compare';
import { unresolvedLibraryAnswers } from './library-answers';

/** The seeded randomness an exercise's `inputs` and `hidden` get (the check's seed decides it). */
export interface ExerciseRandom {
  /** A float32 tensor of the given shape with entries ~ N(0, std²). Default std 1. */
  normal(shape: number[], std?: number): tf.Tensor;
  /** An integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
}

/** A case: named sizes, e.g. `{ B: 2, m: 3, n: 4 }` (shown in messages as "(B=2, m=3, n=4)"). */
export type ExerciseCase = Record<string, number>;

/** A known mistake: if the student's result matches `wrong(...inputs)`, the student sees `hint`. */
export interface ExerciseHint {
  hint: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  wrong: (...args: any[]) => unknown;
}

/** What {@link defineExercise} takes. */
export interface ExerciseSpec<C extends ExerciseCase = ExerciseCase> {
  /** The exercise's name: `check.<name>(fn)` in the notebook, the key in the grader's report. An identifier. */
  name: string;
  /** Points for passing, a positive integer; the notebook's heading states the same number. */
  points: number;
  /**
   * The right answer: called with the arguments `inputs` made, returns a tf.Tensor, a number, a
   * (nested) number array, or an object of those (`{ h, c }`: each key is compared and must be returned).
   */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  reference: (...args: any[]) => unknown;
  /** The visible cases, in order (at least one). */
  cases: C[];
  /** The grader's cases: a list, or a function drawing them from the hidden seed's randomness. */
  hidden: C[] | ((random: ExerciseRandom) => C[]);
  /** The arguments of one case, in the order of the student's function (and the reference's). */
  inputs: (c: C, random: ExerciseRandom) => unknown[];
  /** Known mistakes, tried in order; the first that matches gives its hint. Default none. */
  hints?: ExerciseHint[];
  /** The function the student writes. Default `name`. */
  fn?: string;
  /** One line for the manifest and reports. Default `name`. */
  title?: string;
  /** Seed of the visible tests. Default: derived from `name`. */
  seed?: number;
  /** Tolerance |got − expected| ≤ atol + rtol·|expected|. Default { atol: 1e-4, rtol: 1e-3 } (float32). */
  tolerance?: Tol;
  /** The homework id. Default: the checks file's name (`hw4-gru.checks.cjs` → 'hw4-gru'). */
  homework?: string;
  /**
   * The library's exports that implement this exercise, e.g. `['GRU_FAMILY.step', 'gruLayer']`: a student
   * function that calls one (or whose source refers to one) scores 0 with a message naming it (see
   * ExerciseDef.libraryAnswers). Default none.
   */
  libraryAnswers?: string[];
}

/** What {@link defineExercise} returns: the exercise's metadata and its check. */
export interface Exercise {
  readonly name: string;
  readonly fn: string;
  readonly title: string;
  readonly maxPoints: number;
  /** Run the check on a student's function, exactly as `check.<name>(fn, options)` does in a notebook. */
  check(fn: StudentFn, options?: CheckOptions): CheckResult;
}

const SPEC_KEYS = ['name', 'points', 'reference', 'cases', 'hidden', 'inputs', 'hints', 'fn', 'title', 'seed', 'tolerance', 'homework', 'libraryAnswers'];
const IDENT = /^[A-Za-z_$][\w$]*$/;

/** A stable seed from the name (FNV-1a), so two exercises do not share their visible inputs. */
function seedOf(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 0x01000193) >>> 0;
  return h % 1_000_000;
}

function randomOf(rng: Rng): ExerciseRandom {
  return { normal: (shape, std = 1) => randn(rng, shape, std), int: (lo, hi) => randint(rng, lo, hi) };
}

function checkCases(where: string, arg: string, cases: unknown): void {
  if (!Array.isArray(cases) || cases.length === 0) throw new TypeError(`${where}: ${arg} must be a non-empty array of cases such as { B: 2, m: 3, n: 4 }; got ${describe(cases)}`);
  cases.forEach((c, k) => {
    if (c == null || typeof c !== 'object' || Array.isArray(c)) throw new TypeError(`${where}: ${arg}[${k}] must be an object of named sizes such as { B: 2, m: 3, n: 4 }; got ${describe(c)}`);
    for (const [key, v] of Object.entries(c)) {
      if (typeof v !== 'number' || !Number.isFinite(v)) throw new TypeError(`${where}: ${arg}[${k}].${key} must be a finite number; got ${describe(v)}`);
    }
  });
}

/** The outputs of a result: one unnamed output, or the keys of a plain object. */
function outputsOf(value: unknown): Record<string, unknown> | null {
  if (value != null && typeof value === 'object' && !Array.isArray(value) && !ArrayBuffer.isView(value) && !isTensor(value)) {
    return value as Record<string, unknown>;
  }
  return null;
}

/**
 * Define a homework exercise outside the library: a teacher's check, run by the same runner, compared
 * with the same tolerances and shape rules, hinted and graded like the library's own (`check.X`).
 *
 * For each case (the visible `cases`, or with `{ hidden: true }` the `hidden` ones), `inputs(case, random)`
 * makes the arguments from the check's seed; the student's function and `reference` are called with them;
 * each output must have the reference's shape (`[n]` is accepted for `[n, 1]`; a transpose is named) and
 * its values within the tolerance. On a mismatch the message gives the largest difference, where, expected
 * vs got, and the hint of the first `hints` entry whose `wrong(...)` the student's answer matches.
 *
 * Keep it in a checks file beside the homework notebook, `homework/<id>.checks.cjs`, exporting a list of
 * exercises (`module.exports = [defineExercise({ … })]`): the release copies it into homework/release/,
 * `homeworkChecks()` in the notebook and the grader's `gradeExercise` find it there.
 *
 * Errors: TypeError naming `defineExercise`, the argument and what was given for a missing or wrong
 * field (an unknown key names the nearest valid one). A reference that throws is the teacher's error: the
 * check scores 0 with a message that says "the reference threw (…)", never blaming the student's function.
 *
 * @example
 * ```ts
 * const double = defineExercise({
 *   name: 'double', points: 1,
 *   reference: (x) => tf.mul(x, 2),
 *   cases: [{ n: 3 }], hidden: [{ n: 5 }],
 *   inputs: ({ n }, random) => [random.normal([n, 1])],
 *   hints: [{ hint: 'multiply by 2, do not add 2', wrong: (x) => tf.add(x, 2) }],
 * });
 * double.check((x) => tf.mul(2, x));   // ✔ double: 1/1 points — all 1 tests pass …
 * ```
 */
export function defineExercise<C extends ExerciseCase>(spec: ExerciseSpec<C>): Exercise {
  const where = 'defineExercise';
  if (spec == null || typeof spec !== 'object') throw new TypeError(`${where}: spec must be an object { name, points, reference, cases, hidden, inputs, hints? }; got ${describe(spec)}`);
  checkOptions(where, spec, SPEC_KEYS, 'spec');
  const { name } = spec;
  if (typeof name !== 'string' || !IDENT.test(name)) throw new TypeError(`${where}: spec.name must be an identifier (the check is called as check.<name>); got ${describe(name)}`);
  const at = `${where}('${name}')`;
  if (!Number.isSafeInteger(spec.points) || spec.points <= 0) throw new TypeError(`${at}: spec.points must be a positive integer; got ${describe(spec.points)}`);
  for (const key of ['reference', 'inputs'] as const) {
    if (typeof spec[key] !== 'function') throw new TypeError(`${at}: spec.${key} must be a function; got ${describe(spec[key])}`);
  }
  checkCases(at, 'spec.cases', spec.cases);
  if (typeof spec.hidden !== 'function') checkCases(at, 'spec.hidden', spec.hidden);
  const hints = spec.hints ?? [];
  if (!Array.isArray(hints)) throw new TypeError(`${at}: spec.hints must be an array of { hint, wrong }; got ${describe(hints)}`);
  hints.forEach((h, k) => {
    checkOptions(at, h, ['hint', 'wrong'], `spec.hints[${k}]`);
    if (typeof h?.hint !== 'string' || typeof h.wrong !== 'function') throw new TypeError(`${at}: spec.hints[${k}] must be { hint: string, wrong: function }; got ${describe(h)}`);
  });
  const fn = spec.fn ?? name;
  if (typeof fn !== 'string' || !IDENT.test(fn)) throw new TypeError(`${at}: spec.fn must be an identifier (the student's function name); got ${describe(fn)}`);
  if (spec.title !== undefined && typeof spec.title !== 'string') throw new TypeError(`${at}: spec.title must be a string; got ${describe(spec.title)}`);
  if (spec.homework !== undefined && (typeof spec.homework !== 'string' || !spec.homework)) throw new TypeError(`${at}: spec.homework must be a non-empty string; got ${describe(spec.homework)}`);
  if (spec.seed !== undefined && !Number.isSafeInteger(spec.seed)) throw new TypeError(`${at}: spec.seed must be an integer; got ${describe(spec.seed)}`);
  const answers = spec.libraryAnswers ?? [];
  if (!Array.isArray(answers) || answers.some((a) => typeof a !== 'string' || !/^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/.test(a))) {
    throw new TypeError(`${at}: spec.libraryAnswers must be an array of the library's export names, such as ['gruLayer', 'GRU_FAMILY.step']; got ${describe(answers)}`);
  }
  const unknown = unresolvedLibraryAnswers(answers);
  if (unknown.length) {
    throw new RangeError(`${at}: spec.libraryAnswers names ${unknown.map((a) => `'${a}'`).join(', ')}, which ${unknown.length > 1 ? 'are not functions' : 'is not a function'} the library exports (import { … } from 'rnn-lab'; a dotted name reaches a method, e.g. 'GRU_FAMILY.step'): a misspelt name would never be caught`);
  }
  const tol = spec.tolerance ?? TOL_F32;
  checkOptions(at, tol, ['atol', 'rtol'], 'spec.tolerance');
  if (!(tol.atol >= 0) || !(tol.rtol >= 0)) throw new TypeError(`${at}: spec.tolerance must be { atol ≥ 0, rtol ≥ 0 }; got ${describe(tol)}`);

  const run = (student: StudentFn, ctx: Ctx): string => {
    const random = randomOf(ctx.rng);
    const cases = ctx.hidden ? (typeof spec.hidden === 'function' ? spec.hidden(random) : spec.hidden) : spec.cases;
    if (ctx.hidden && typeof spec.hidden === 'function') checkCases(at, 'spec.hidden(random)', cases);
    let names: string[] = [];
    cases.forEach((cs, k) => {
      ctx.label = `test ${k + 1} of ${cases.length} (${Object.entries(cs).map(([key, v]) => `${key}=${v}`).join(', ')})`;
      const args = spec.inputs(cs, random);
      if (!Array.isArray(args)) throw new TypeError(`${at}: spec.inputs must return the array of arguments; got ${describe(args)}`);
      let expected: unknown;
      try {
        expected = spec.reference(...args);
      } catch (e) {
        throw new Error(`${at}: the reference threw (${e instanceof Error ? e.message : String(e)}): the exercise's reference, not the student's function, is wrong`);
      }
      const keyed = outputsOf(expected);
      names = keyed ? Object.keys(keyed) : ['the result'];
      // Arrays are copied so that a student function that changes its inputs cannot change the hints'.
      const out = ctx.call(() => student(...args.map((a) => (Array.isArray(a) ? a.slice() : a))));
      if (keyed && (out == null || typeof out !== 'object')) fail(`return an object { ${names.join(', ')} }; got ${describe(out)}`);
      const missing = keyed ? names.filter((q) => (out as Record<string, unknown>)[q] == null) : [];
      if (missing.length) fail(`the result has no ${missing.join(', ')}: return { ${names.join(', ')} }`);
      const problems: string[] = [];
      const found: string[] = [];
      for (const q of names) {
        const exp: Arr = read(keyed ? keyed[q] : expected, `the reference's ${q}`);
        const got = read(keyed ? (out as Record<string, unknown>)[q] : out, q);
        expectShape(got, exp.shape, q, `the shape of the reference's ${q}, ${shapeText(exp.shape)}`);
        const m = mismatch(got.data, exp.data, tol);
        if (!m) continue;
        const variants: Variant[] = hints.map((h) => ({
          hint: h.hint,
          value: () => {
            const w = h.wrong(...args);
            return read(keyed ? (outputsOf(w) ?? {})[q] : w, q).data;
          },
        }));
        problems.push(mismatchText(q, got, exp.data, m, tol) + '.');
        found.push(hintFor(got.data, variants, tol));
      }
      if (problems.length) failWith(problems, found);
    });
    ctx.label = '';
    const what = names.length === 1 ? names[0] : names.join(', ');
    return `all ${cases.length} tests pass: ${what} ${names.length === 1 ? 'matches' : 'match'} the reference (${tolText(tol)}).`;
  };
  const def: ExerciseDef & { name: string } = {
    name, homework: spec.homework ?? '', fn, maxPoints: spec.points, title: spec.title ?? name, visibleSeed: spec.seed ?? seedOf(name), run,
    ...(answers.length ? { libraryAnswers: Object.freeze([...answers]) } : {}),
  };
  const exercise: Exercise = {
    name, fn, title: def.title, maxPoints: def.maxPoints,
    check: (f, options) => runCheck(name, def, f, options),
  };
  Object.defineProperty(exercise, EXERCISE_DEF, { value: Object.freeze(def), enumerable: false });
  return Object.freeze(exercise);
}
