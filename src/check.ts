/**
 * Automatic checks for the homework notebooks (homework/*.ipynb). The code lives in src/check/:
 * - runner.ts — the registry of exercises (EXERCISES), `check`, `gradeExercise`, printing and points;
 * - exercise.ts — what an exercise is (ExerciseDef, defineHomework), the failure and context types,
 *   seeded random inputs;
 * - compare.ts — reading a student's result and comparing it with tolerances, hints from mistake simulators;
 * - column.ts — the homework's column-vector convention at the library's edges;
 * - hw1-rnn-step.ts, hw2-lstm-step.ts, hw3-char-lm.ts, hw4-sequences.ts, hw5-attention.ts — one module per homework: references, cases,
 *   hints and mistake simulators of its exercises;
 * - define.ts — `defineExercise`, the same exercise record made from a teacher's reference, cases and hints;
 * - discover.ts — checks files beside a homework notebook (`<id>.checks.cjs`) for the release, the
 *   notebook (`homeworkChecks`) and the grader (`gradeExercise`).
 * This file keeps the module's public names (rnn-lab exports check, gradeExercise, EXERCISES and the
 * types from here; tests and scripts require dist/check.js).
 */
export { check, gradeExercise, EXERCISES, recoverEngine, homeworkChecks } from './check/runner';
export type { CheckOptions, CheckResult, ExerciseName } from './check/runner';
export { defineExercise } from './check/define';
export type { Exercise, ExerciseSpec, ExerciseCase, ExerciseHint, ExerciseRandom } from './check/define';
// For scripts/homework (the release reads the checks file beside each notebook).
export { CHECKS_SUFFIX, loadChecksFile } from './check/discover';
export type { LstmWeights, LstmStepGrads, LstmCache, GruWeights } from './check/hw2-lstm-step';
import * as tf from '@tensorflow/tfjs';
import { REFERENCE_RNN_CELL, rnnStepLayer, rnnStepRef } from './check/hw1-rnn-step';
import { beamRef, attentionScores64, attentionWeights64 } from './check/hw5-attention';
import { LstmWeights, lstmStepLayer, lstmStepRef, randomLstm64, lstm64Loss, lstm64GradWxf, lstm64Forward, lstmStepBackwardByHand, lstmStepGradsRef, REFERENCE_LSTM_CELL, gruStepLayer } from './check/hw2-lstm-step';

/**
 * The library's reference implementations used by the checks, for tests and for teachers (not for
 * students' notebooks: using them would skip the exercise).
 */
export const checkReference = Object.freeze({
  rnnStepForward: (x: tf.Tensor2D, hPrev: tf.Tensor2D, Wxh: tf.Tensor2D, Whh: tf.Tensor2D, bh: tf.Tensor2D) => rnnStepLayer(x, hPrev, Wxh, Whh, bh),
  rnnStepBackward: REFERENCE_RNN_CELL.backward,
  rnnStepRef,
  lstmStepForward: (x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights) => lstmStepLayer(x, h, c, W),
  lstmStepRef,
  lstm64: { random: randomLstm64, loss: lstm64Loss, gradWxf: lstm64GradWxf, forward: lstm64Forward },
  /** The LSTM step backward by hand (x, hPrev, cPrev, W, dh, dc) → { dx, dhPrev, dcPrev, dW }, and by autodiff of lstmStepRef. */
  lstmStepBackward: (x: tf.Tensor2D, h: tf.Tensor2D, c: tf.Tensor2D, W: LstmWeights, dh: tf.Tensor2D, dc: tf.Tensor2D) => lstmStepBackwardByHand(x, h, c, W, dh, dc),
  lstmStepGradsRef,
  /** The cell handed to a student's lstmForward / lstmBackward. */
  lstmCell: REFERENCE_LSTM_CELL,
  gruStepForward: gruStepLayer,
  /** Additive attention in float64: the scores e[j][b] (s, hs, Wa, Ua, va) and the masked softmax over j, [T, B] flat. */
  attentionScores: attentionScores64,
  attentionWeights: attentionWeights64,
  /** The check's beam search (step, state0, startToken, endToken, k, maxLength) → [{ tokens, score }], best first. */
  beamSearch: beamRef,
});
