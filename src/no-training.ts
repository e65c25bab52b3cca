/**
 * A switch for testing the lessons' claims: with `RNN_LAB_NO_TRAINING=1` in the environment when the
 * library loads, no tf.js optimizer takes a step. Gradients are still computed (so every code path,
 * progress line and figure runs as usual) and then dropped, so `train`, `model.fit`,
 * `optimizer.minimize` and `optimizer.applyGradients` leave the weights where they were.
 *
 * A claim that a model *learned* something must then fail: tests/claims-falsify.test.mjs executes the
 * lessons so and expects each such claim to fail with its baseline in the message. A claim that still
 * holds without training was true of the untrained model, so it was not evidence of learning.
 */
import { replaceOptimizerSteps } from './internals';

/** The environment variable that turns optimizer steps off (value `1`). */
export const NO_TRAINING_ENV = 'RNN_LAB_NO_TRAINING';

let disabled = false;

/** Whether optimizer steps are off in this process (see {@link NO_TRAINING_ENV}). */
export function trainingDisabled(): boolean {
  return disabled;
}

/**
 * Turn every tf.js optimizer's step into a no-op for the rest of the process (gradients are disposed
 * as a step would). Called when the library loads with {@link NO_TRAINING_ENV}=1; there is no way back,
 * as a half-trained run would mean nothing.
 */
export function disableTraining(): void {
  if (disabled) return;
  replaceOptimizerSteps(NO_TRAINING_ENV, function noStep(grads) {
    // applyGradients owns nothing it is given; minimize() disposes the gradients after it returns.
    void grads;
  });
  disabled = true;
}

/** Apply the switch from the environment (the library's entry point calls it once). */
export function applyTrainingSwitch(env: Record<string, string | undefined> = process.env): void {
  const v = env[NO_TRAINING_ENV];
  if (v === undefined || v === '' || v === '0') return;
  if (v !== '1') throw new Error(`${NO_TRAINING_ENV} must be 1 (optimizer steps off) or 0/unset; got '${v}'`);
  disableTraining();
}
