/**
 * Claims: each lesson states what its own run shows and checks it, so a notebook whose claim
 * does not hold fails loudly instead of teaching something its numbers contradict.
 */

/** The error thrown by {@link expectClaim}; its message states the numbers that were seen. */
export class ClaimError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ClaimError';
  }
}

/**
 * Throw a {@link ClaimError} unless `condition` holds; print a pass line when it does.
 *
 * @param condition whether the claim holds on this run
 * @param message what is claimed, with the numbers measured (shown in both cases)
 * @example
 * ```ts
 * expectClaim(lstmLoss < 0.5 * rnnLoss, `LSTM beats RNN at T=50: ${lstmLoss} vs ${rnnLoss}`);
 * ```
 */
export function expectClaim(condition: boolean, message: string, ...extra: never[]): void {
  // A number or tensor in the condition's place is truthy whatever it holds: a claim checked by
  // accident. An extra argument (e.g. a tolerance) would be ignored.
  if (typeof condition !== 'boolean') {
    throw new TypeError(`expectClaim: condition must be a boolean (a comparison such as loss < 0.1); got ${typeof condition}`);
  }
  if (extra.length > 0) throw new TypeError(`expectClaim: takes (condition, message); got ${2 + extra.length} arguments — put tolerances into the condition`);
  if (typeof message !== 'string' || message.length === 0) {
    throw new TypeError('expectClaim: message must be a non-empty string stating the claim and its numbers');
  }
  if (!condition) {
    if (claimsReported()) { console.log(`✘ claim fails: ${message}`); return; }
    throw new ClaimError(`Claim does not hold: ${message}`);
  }
  console.log(`✔ claim holds: ${message}`);
}

/**
 * The environment variable that makes a failing claim print `✘ claim fails: …` and let the notebook go
 * on, instead of throwing: with value `report`. For testing every claim of a lesson in one run (with
 * `RNN_LAB_NO_TRAINING=1`, each claim of learning must fail, each check must still hold); never for
 * teaching, where a failing claim must stop the run.
 */
export const CLAIMS_ENV = 'RNN_LAB_CLAIMS';

function claimsReported(): boolean {
  const v = process.env[CLAIMS_ENV];
  if (v === undefined || v === '' || v === 'throw') return false;
  if (v === 'report') return true;
  throw new Error(`${CLAIMS_ENV} must be 'report' (print failing claims and go on) or 'throw' / unset; got '${v}'`);
}
