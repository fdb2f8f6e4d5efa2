/** What every verifier returns: a verdict, the numbers it rests on, and why it failed. */
export type VerificationResult<Metrics> = {
  /** `pass`: the output is what the model computes (within tolerance); `fail`: it is not. */
  verdict: 'pass' | 'fail';
  metrics: Metrics;
  /** One sentence per failed check; empty on `pass`. */
  reasons: string[];
};
