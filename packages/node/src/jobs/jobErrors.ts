import { jobErrorCodes } from '@agora/sdk';

/**
 * Reasons a provider reports with `failJob` (the buyer is refunded in full for each): the sdk's
 * codes plus `deadlinePassed`, used when an accepted job could not be delivered in time (after a
 * restart, say), so the buyer is refunded without having to reclaim.
 */
export const jobFailureCodes = { ...jobErrorCodes, deadlinePassed: 6 } as const;

const DESCRIPTIONS: Record<number, string> = {
  [jobFailureCodes.inputUnavailable]: 'the provider could not download the input',
  [jobFailureCodes.inputHashMismatch]: 'the input at the URL did not match its hash',
  [jobFailureCodes.inputTooLarge]: 'the input was larger than the provider accepts',
  [jobFailureCodes.modelError]: 'the model failed on the input',
  [jobFailureCodes.unsupported]: 'the model cannot take this input',
  [jobFailureCodes.deadlinePassed]: 'the deadline passed before the provider could deliver',
};

/** A failure code in words, e.g. `2 (the input at the URL did not match its hash)`. */
export function describeJobFailure(code: number): string {
  return `${code} (${DESCRIPTIONS[code] ?? 'unknown reason'})`;
}
