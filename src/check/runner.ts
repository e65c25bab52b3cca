/**
 * Automatic checks for the homework notebooks (homework/*.ipynb): `check.rnnStepForward(fn)` runs a
 * student's function and the library's reference on several random inputs with a seed, compares
 * values (and gradients) with stated tolerances, and prints either a pass line with the points or what
 * is wrong — the largest difference, where, expected vs got, and a hint when the answer matches a
 * known mistake (e.g. "the forget gate looks like tanh, not σ").
 *
 * A check never throws because a student's function is wrong or throws (a throw would abort the
 * notebook's following cells); it throws only when it is misused (e.g. given something that is not a
 * function). Every check returns `{ exercise, points, maxPoints, passed, message }`.
 *
 * `{ hidden: true, seed }` selects the hidden test inputs (other shapes and values than the ones the
 * students see) — the grader (`npm run grade`) uses it. With RNN_LAB_GRADING=1 in the environment every
 * check also prints one machine-readable line: `RNN_LAB_RESULT {"exercise":…,"points":…,…}`.
 *
 * Conventions of the homework: the lecture's column vectors. A batch of B inputs is a matrix whose
 * columns are the examples: x_t [m, B], h_t [n, B], and h_t = tanh(W_hh h_{t−1} + W_xh x_t + b_h) with
 * W_xh [n, m], W_hh [n, n], b_h [n, 1]. (The library's layers use tf.js's row batches, x·W; the checks
 * transpose at the edges.)
 */
import * as tf from '@tensorflow/tfjs';
import { checkOptions as checkOptionKeys } from '../options';
import { describe } from '../describe';
import { Rng } from '../random';
import { resetEngineTape } from '../internals';
import * as path from 'path';
import { CheckFailure, ExerciseDef, StudentFn, errorText, makeCtx } from './exercise';
import { CHECKS_SUFFIX, checksFiles, discoverExercises } from './discover';
import { AnswerGuard, libraryAnswerMessage, staticLibraryUses } from './library-answers';
import { HW1_RNN_STEP } from './hw1-rnn-step';
import { HW2_LSTM_STEP } from './hw2-lstm-step';
import { HW3_CHAR_LM } from './hw3-char-lm';
import { HW4_SEQUENCES } from './hw4-sequences';
import { HW5_ATTENTION } from './hw5-attention';

// The registry: a homework module exports its exercises (defineHomework); a new homework is one new
// file in src/check/ and one entry here. Key order is the order of EXERCISES and of `check`.
export const DEFS = { ...HW1_RNN_STEP, ...HW2_LSTM_STEP, ...HW3_CHAR_LM, ...HW4_SEQUENCES, ...HW5_ATTENTION };

/** Options of every check. */
export interface CheckOptions {
  /** Use the hidden test inputs (other shapes and seeds than the visible ones). Default false. */
  hidden?: boolean;
  /** Seed of the test inputs. Default: a fixed seed per exercise (visible) or 4242 (hidden). */
  seed?: number;
  /** Print nothing (the result is still returned; RNN_LAB_RESULT lines are still printed when grading). */
  quiet?: boolean;
}

/** What a check returns. */
export interface CheckResult {
  exercise: string;
  points: number;
  maxPoints: number;
  passed: boolean;
  message: string;
}


/** Exercise names (the keys of {@link check}). */
export type ExerciseName = keyof typeof DEFS;

type Meta<D extends ExerciseDef> = { readonly homework: D['homework']; readonly fn: D['fn']; readonly maxPoints: D['maxPoints']; readonly title: D['title']; readonly retired?: true };

/**
 * The exercises: which homework each belongs to, the function the student writes, and its points. A
 * retired one (`retired: true`) is still checked by `check.X` but is in no homework's notebook or total.
 */
export const EXERCISES: { readonly [K in ExerciseName]: Meta<(typeof DEFS)[K]> } = Object.freeze(Object.fromEntries(
  Object.entries(DEFS).map(([name, d]: [string, ExerciseDef]) => [name, { homework: d.homework, fn: d.fn, maxPoints: d.maxPoints, title: d.title, ...(d.retired ? { retired: true } : {}) }]),
) as { [K in ExerciseName]: Meta<(typeof DEFS)[K]> });

/** Seed of the hidden inputs when the grader gives none. */
const HIDDEN_SEED = 4242;

function checkOptions(exercise: string, options: unknown): { hidden: boolean; seed?: number; quiet: boolean } {
  if (options === undefined) return { hidden: false, quiet: false };
  checkOptionKeys(`check.${exercise}`, options, ['hidden', 'seed', 'quiet']);
  const o = options as CheckOptions;
  if (o.seed !== undefined && (typeof o.seed !== 'number' || !Number.isSafeInteger(o.seed))) {
    throw new TypeError(`check.${exercise}: options.seed must be an integer; got ${describe(o.seed)}`);
  }
  return { hidden: o.hidden === true, seed: o.seed, quiet: o.quiet === true };
}

function finish(exercise: string, maxPoints: number, passed: boolean, message: string, hidden: boolean, quiet: boolean): CheckResult {
  const points = passed ? maxPoints : 0;
  const result: CheckResult = { exercise, points, maxPoints, passed, message };
  // In a notebook the returned object is displayed after the check's lines: keep that to one short line.
  Object.defineProperty(result, Symbol.for('nodejs.util.inspect.custom'), {
    value: () => `${exercise} → ${points}/${maxPoints} points`,
    enumerable: false,
  });
  if (!quiet) {
    const mark = passed ? '✔' : '✘';
    console.log(`${mark} ${exercise}${hidden ? ' (hidden tests)' : ''}: ${points}/${maxPoints} points — ${message}`);
  }
  if (process.env.RNN_LAB_GRADING === '1') {
    console.log(`RNN_LAB_RESULT ${JSON.stringify({ exercise, points, maxPoints, passed, hidden, message })}`);
  }
  return result;
}

/**
 * Undo what an interrupted computation left in tf.js's engine. Interrupting a cell (Jupyter's stop
 * button, or the grader's time limit) stops JavaScript without running `finally` blocks, so a training
 * step cut off inside tf.variableGrads leaves the gradient tape open (or the tape switched off), and
 * every later gradient computation fails. A check never runs inside a gradient computation, so an
 * open tape at its start can only be such a leftover.
 */
export function recoverEngine(): boolean {
  return resetEngineTape();
}

/**
 * Run one exercise's check: the library's (`check.X`) and a teacher's (`defineExercise`) alike, so
 * both print, score and report RNN_LAB_RESULT lines the same way.
 */
export function runCheck(exercise: string, def: ExerciseDef, fn: unknown, options: unknown): CheckResult {
  const body = def.run;
  const o = checkOptions(exercise, options);
  if (typeof fn !== 'function') {
    throw new TypeError(`check.${exercise}: pass your function itself, e.g. check.${exercise}(${def.fn}); got ${describe(fn)}`);
  }
  if (recoverEngine() && !o.quiet) {
    console.log('(an interrupted cell had left tf.js in the middle of a gradient computation; the check reset it)');
  }
  const seed = o.seed ?? (o.hidden ? HIDDEN_SEED : def.visibleSeed);
  const answers = def.libraryAnswers ?? [];
  const guard = answers.length ? new AnswerGuard(answers) : undefined;
  const ctx = makeCtx(new Rng(seed), o.hidden, seed, guard);
  let passed = false;
  let message: string;
  try {
    message = tf.tidy(() => body(fn as StudentFn, ctx));
    passed = true;
  } catch (e) {
    const prefix = ctx.label ? `${ctx.label}: ` : '';
    if (e instanceof CheckFailure) message = (e.bare ? '' : prefix) + e.message;
    // Anything else is a student function returning something so odd that the check tripped over it.
    else message = `${prefix}could not check your function's result (${errorText(e)})`;
  }
  // The library's own answer to this exercise, called (the spies) or referred to (the source): 0 points.
  if (guard) {
    const called = [...guard.called];
    const referred = called.length ? [] : staticLibraryUses(fn, answers);
    if (called.length || referred.length) {
      passed = false;
      message = libraryAnswerMessage(def.fn, called.length ? called : referred, called.length ? 'calls' : 'refers to');
    }
  }
  return finish(exercise, def.maxPoints, passed, message, o.hidden, o.quiet);
}

/**
 * Run an exercise's check for the grader: a missing or non-function `fn` is reported as 0 points
 * (never thrown), and anything unexpected is caught, so a grading cell never fails.
 *
 * @example
 * ```ts
 * gradeExercise('bptt', typeof bptt === 'undefined' ? undefined : bptt, { hidden: true, seed: 7 });
 * ```
 */
export function gradeExercise(exercise: string, fn: unknown, options: CheckOptions = {}): CheckResult {
  const def: ExerciseDef | undefined = Object.hasOwn(DEFS, exercise) ? DEFS[exercise as ExerciseName] : teacherExercise(exercise);
  const o = checkOptions(exercise, options);
  if (typeof fn !== 'function') {
    const msg = fn === undefined
      ? `no function named ${def.fn} is defined (was its cell deleted, renamed, or did it fail to compile?)`
      : `${def.fn} is not a function (got ${describe(fn)})`;
    return finish(exercise, def.maxPoints, false, msg, o.hidden, o.quiet);
  }
  try {
    return runCheck(exercise, def, fn, options);
  } catch (e) {
    return finish(exercise, def.maxPoints, false, `the check could not run: ${errorText(e)}`, o.hidden, o.quiet);
  }
}

/** A teacher's exercise from the checks files in the current folder (the grader copies the homework's there). */
function teacherExercise(exercise: string): ExerciseDef {
  const found = discoverExercises(process.cwd(), Object.keys(DEFS)).get(exercise);
  if (found) return found.def;
  const files = checksFiles(process.cwd()).map((f) => path.basename(f));
  throw new TypeError(`gradeExercise: unknown exercise '${exercise}'; expected one of ${Object.keys(EXERCISES).join(', ')}` +
    ` or an exercise of a checks file (*${CHECKS_SUFFIX}) in ${process.cwd()}${files.length ? ` (found: ${files.join(', ')})` : ' (there is none)'}`);
}

type Check = (fn: StudentFn, options?: CheckOptions) => CheckResult;

/**
 * The homework checks, one per exercise. Each runs your function on random inputs (seeded) against
 * the library's reference, prints a pass line with the points or what is wrong, and returns
 * `{ exercise, points, maxPoints, passed, message }`. It never throws because your function is wrong
 * or throws; only misuse (e.g. passing something that is not a function) throws.
 *
 * Signatures expected (column vectors: x [m, B], h [n, B], W_xh [n, m], W_hh [n, n], b_h [n, 1]):
 * - `rnnStepForward(x, hPrev, Wxh, Whh, bh) → h`
 * - `rnnStepBackward(dh, x, hPrev, h, Wxh, Whh) → { dx, dhPrev, dWxh, dWhh, dbh }`
 * - `bptt(xs, h0, Wxh, Whh, bh, dhs, cell) → { dWxh, dWhh, dbh, dh0 }` (cell: { forward, backward })
 * - `lstmStepForward(x, hPrev, cPrev, W) → { h, c }` (W: Wxi … Whg, bi … bg)
 * - `gradCheck(f, x, analytic, eps) → { numeric, maxRelError }` (plain number arrays)
 * - `lstmParamCount(m, n) → number` (retired: in no homework any more)
 * - `lstmStepBackward(x, hPrev, cPrev, W, dh, dc) → { dx, dhPrev, dcPrev, dW: { Wxi, …, bg } }`
 * - `lstmForward(xs, h0, c0, W, cell) → { hs, cache }` (cache: { xs, h0, c0, W, hs, cs }; cell: { forward, backward })
 * - `lstmBackward(dhs, cache, cell) → { dxs, dh0, dc0, dW }`
 * - `gruStepForward(x, hPrev, W) → h` (check.gruStep; W: Wxr … Whh, br, bz, bh)
 * - `clipByGlobalNorm(grads, maxNorm) → { grads, norm }`
 * - `sampleWithTemperature(logits, temperature, rng) → index`
 * - `perplexity(logits, targets) → number`
 * - `trainLoop(model, batches, { optimizer, maxNorm, epochs, clip, loss }) → { losses, norms }`
 * - `rnnForward(xs, h0, Wxh, Whh, bh) → { hs, cache }` (xs: T tensors [m, B]; hs: h_1 … h_T; cache { xs, h0, hs, Wxh, Whh })
 * - `rnnBackward(dhs, cache) → { dxs, dh0, dWxh, dWhh, dbh }`
 * - `embeddingForward(ids, W) → xs` (ids [T][B], W [m, V]: T tensors [m, B])
 * - `embeddingBackward(dxs, ids, V) → dW` ([m, V])
 * - `temporalSoftmaxLoss(logits, targets, mask) → { loss, dlogits }` (T tensors [V, B]; mean over real steps)
 * - `generate(step, h0, startId, endId, maxLength, uniform) → ids`
 *
 * @example
 * ```ts
 * check.rnnStepForward(rnnStepForward);                       // visible tests
 * check.rnnStepForward(rnnStepForward, { hidden: true, seed: 7 });  // the grader's hidden tests
 * ```
 */
export const check: Readonly<Record<ExerciseName, Check>> = Object.freeze(Object.fromEntries(
  (Object.keys(DEFS) as ExerciseName[]).map((name) => [name, (fn: StudentFn, options?: CheckOptions) => runCheck(name, DEFS[name], fn, options)]),
) as Record<ExerciseName, Check>);

/**
 * The checks of a homework notebook: the library's (`check`) and those of every checks file
 * (`<homework id>.checks.cjs`, exercises made by `defineExercise`) in `dir` — by default the kernel's
 * folder, which Jupyter makes the notebook's folder, and where the release and the grader put the
 * homework's checks file. Each is called like the library's: `check.gruStepForward(gruStepForward)`.
 * The files are read afresh on each call, so an edited checks file takes effect when the cell re-runs.
 *
 * Errors: an Error naming the file when a checks file cannot be loaded or exports something other than
 * `defineExercise` results, and when a name is defined twice (by two files, or by a file and the library).
 *
 * @param dir the folder holding the checks files. Default `process.cwd()`.
 * @example
 * ```ts
 * import { homeworkChecks } from 'rnn-lab';
 * const check = homeworkChecks();          // + homework/hw4-gru.checks.cjs, beside hw4-gru.ipynb
 * check.gruStepForward(gruStepForward);    // ✔ gruStepForward: 3/3 points — …
 * ```
 */
export function homeworkChecks(dir: string = process.cwd()): Readonly<Record<ExerciseName, Check>> & Readonly<Record<string, Check>> {
  if (typeof dir !== 'string') throw new TypeError(`homeworkChecks: dir must be a folder path (a string); got ${describe(dir)}`);
  const found = discoverExercises(dir, Object.keys(DEFS));
  const teacher = Object.fromEntries([...found].map(([name, { def }]) => [name, (fn: StudentFn, options?: CheckOptions) => runCheck(name, def, fn, options)]));
  const all = Object.freeze({ ...check, ...teacher });
  // A student who downloaded the notebook without its checks file would otherwise call `undefined` and
  // read "check.x is not a function": name the exercise, the folder looked in and what was found there.
  return new Proxy(all, {
    get(target, key, receiver) {
      if (typeof key !== 'string' || key in target || !/^[A-Za-z_$][\w$]*$/.test(key) || NOT_EXERCISES.has(key)) return Reflect.get(target, key, receiver);
      const files = checksFiles(dir).map((f) => path.basename(f));
      throw new Error(`homeworkChecks: no exercise '${key}' in the library's checks or in a checks file in ${dir} ` +
        `(${files.length ? `found ${files.join(', ')}` : `no *${CHECKS_SUFFIX} file there`}). A homework's checks file, <homework id>${CHECKS_SUFFIX}, ` +
        `must sit beside the notebook (Jupyter runs the notebook in its own folder): copy it there, or ask for it with the notebook.`);
    },
  });
}

/** Property names tools read from any object (promises, JSON, inspection): never exercise names. */
const NOT_EXERCISES = new Set(['then', 'toJSON', 'constructor', 'inspect', 'nodeType', 'asymmetricMatch', '$$typeof']);
