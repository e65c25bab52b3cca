/**
 * What every homework check is made of: the student's function type, the failure a test raises (its
 * message is what the student sees), the context a check body runs in, the seeded random inputs, and
 * {@link ExerciseDef}, the one record a homework module gives per exercise (see src/check/registry.ts).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../random';

// Student functions have whatever signature they were given; the checks validate at run time so
// that a type difference never becomes a compile error in a check cell (which would stop Run All).
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type StudentFn = (...args: any[]) => any;

/** A failed test: its message is what the student sees. */
export class CheckFailure extends Error {
  /** Whether the message stands alone (no "test k of N" prefix), e.g. "not implemented yet". */
  bare = false;
}

export function fail(message: string, bare = false): never {
  const e = new CheckFailure(message);
  e.bare = bare;
  throw e;
}

/** Problems found in one test, and the hints for them (each hint once). */
export function failWith(problems: string[], hints: string[]): never {
  const unique = [...new Set(hints.filter((h) => h))];
  fail(problems.join(' — ') + (unique.length ? ` Hint: ${unique.join(' ')}` : ''));
}



export function errorText(e: unknown): string {
  if (e instanceof Error) return `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}`;
  return String(e);
}

export interface Ctx {
  rng: Rng;
  hidden: boolean;
  seed: number;
  /** Label of the current test, prefixed to failure messages. */
  label: string;
  /** Call the student's function: its exceptions become a failure that says so. */
  call<T>(thunk: () => T): T;
}

/** Runs a call of the student's function (the spies of an exercise's libraryAnswers: library-answers.ts). */
export interface CallGuard {
  during<T>(thunk: () => T): T;
}

export function makeCtx(rng: Rng, hidden: boolean, seed: number, guard?: CallGuard): Ctx {
  const ctx: Ctx = {
    rng, hidden, seed, label: '',
    call<T>(thunk: () => T): T {
      let out: T;
      try {
        out = guard ? guard.during(thunk) : thunk();
      } catch (e) {
        if (e instanceof CheckFailure) throw e;
        const text = errorText(e);
        if (/not implemented/i.test(text)) {
          fail('not implemented yet — the function still throws "not implemented". Replace the TODO with your code.', true);
        }
        fail(`your function threw ${text}`);
      }
      if (out != null && typeof (out as { then?: unknown }).then === 'function') {
        fail('your function returned a Promise; it must be synchronous (no async/await)');
      }
      return out;
    },
  };
  return ctx;
}

/**
 * One exercise of a homework module: its metadata (what {@link EXERCISES} lists), the seed of its
 * visible tests, and the check body. `run` returns the pass message or throws with {@link fail}; the
 * runner turns that into points, prints, and never lets a student's error escape.
 */
export interface ExerciseDef {
  /** The homework notebook's id, `hw<k>-…` (tests: one homework = one notebook homework/<id>.ipynb). */
  homework: string;
  /** The name of the function the student writes (the grader looks it up in the notebook). */
  fn: string;
  /** Points for passing; the notebook's heading states the same number. */
  maxPoints: number;
  title: string;
  /** Seed of the visible tests (hidden tests use the grader's seed). */
  visibleSeed: number;
  run: (fn: StudentFn, ctx: Ctx) => string;
  /**
   * A retired exercise: still callable (`check.X`, `gradeExercise`, listed in EXERCISES with
   * `retired: true`), but in no homework's notebook or total — the release refuses a notebook that
   * calls it, so the grader (which grades a homework's manifest entries) never grades it. `homework`
   * then names the homework it came from.
   */
  retired?: boolean;
  /**
   * The library's own exports that implement this exercise — what a student must not call instead of writing
   * it: an export's name (`'clipByGlobalNorm'`, `'softmax'`) or a method (`'RNN_FAMILY.step'`,
   * `'Rng.prototype.choice'`). While the check calls the student's function (`ctx.call`) each is replaced by a
   * spy (on the library module that defines it and on every tslab binding that holds it, so an alias
   * `import { clipByGlobalNorm as c }` is caught too); a call of one, or (a backup for branches the tests never
   * reach) a reference to one in the function's compiled source, scores the exercise 0 with a message naming
   * it ("your clipByGlobalNorm calls the library's clipByGlobalNorm, which is this exercise's answer; write it
   * yourself …"), in the notebook's check and in the grader alike. Library code that the check itself hands to
   * the student (a reference `cell`, a `clip` function) runs with the spies off (`libraryCall`). Default none.
   */
  libraryAnswers?: readonly string[];
}

/**
 * Where an exercise made by `defineExercise` keeps its {@link ExerciseDef}. A registered symbol
 * (Symbol.for), so that a checks file that loaded the library through another path still hands the
 * runner an exercise it recognises.
 */
export const EXERCISE_DEF = Symbol.for('rnn-lab.exerciseDef');

/** The definition inside a `defineExercise` result, or undefined for anything else. */
export function exerciseDefOf(value: unknown): ExerciseDef | undefined {
  if (value == null || typeof value !== 'object') return undefined;
  const def = (value as { [EXERCISE_DEF]?: ExerciseDef })[EXERCISE_DEF];
  return def && typeof def.run === 'function' ? def : undefined;
}

/** A homework module's exercises, typed so their names stay a literal union (ExerciseName). */
export function defineHomework<D extends Record<string, ExerciseDef>>(defs: D): D {
  return defs;
}

// ---------------------------------------------------------------------------------------------
// Random inputs
// ---------------------------------------------------------------------------------------------

export function randn(rng: Rng, shape: number[], std = 1): tf.Tensor2D {
  const size = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(size);
  for (let i = 0; i < size; i++) v[i] = rng.normal(0, std);
  const t: tf.Tensor = tf.tensor(v, shape);
  return t as tf.Tensor2D;
}

export function randint(rng: Rng, lo: number, hi: number): number {
  return lo + rng.int(hi - lo + 1);
}

