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
export function expectClaim(condition: boolean, message: string): void {
  if (typeof message !== 'string' || message.length === 0) {
    throw new TypeError('expectClaim: message must be a non-empty string stating the claim and its numbers');
  }
  if (!condition) throw new ClaimError(`Claim does not hold: ${message}`);
  console.log(`✔ claim holds: ${message}`);
}
