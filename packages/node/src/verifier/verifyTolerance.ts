import type { LlamaContinuationScore } from '../runtimes/gguf/llamaRuntime.ts';
import type { VerificationResult } from './verificationResult.ts';

/**
 * Where an honest language-model output must land. Chosen from measured rates on honest and
 * substituted outputs (`npm run bench:verify`, docs/verification.md).
 */
export type ToleranceThresholds = {
  /** Least fraction of scored tokens the declared decoding could have produced (see {@link ToleranceMetrics.agreement}). */
  minAgreement: number;
  /** Largest rank any scored token may have under the verifier's model. */
  maxRank: number;
  /** Largest |claimed completion tokens − tokens the verifier counts in the text| (stop-string tokens excepted). */
  maxTokenCountDelta: number;
};

/**
 * Defaults: agreement ≥ 0.75, no token ranked beyond 75, token count within ±3. On the devnet
 * model they rejected no honest output and every substituted, truncated, random and 3-token
 * edited output (docs/verification.md).
 */
export const defaultToleranceThresholds: Readonly<ToleranceThresholds> = Object.freeze({ minAgreement: 0.75, maxRank: 75, maxTokenCountDelta: 3 });

/**
 * node-llama-cpp samples among the 40 most likely tokens when no top-K is given: an honest sampled
 * token always ranks within it on the provider's hardware.
 */
export const defaultSamplingTopK = 40;

/** How the provider says it decoded, from the call's params. */
export type ToleranceDecoding = {
  /** Temperature 0: each token must be the model's most likely one. */
  greedy: boolean;
  /** Sampler top-K (node-llama-cpp's default 40 when the call set none). */
  topK?: number | undefined;
  /** The call's `max_tokens`. */
  maxTokens: number;
  /** Tokens of the longest stop string the call set (0 without stop strings). */
  stopTokens?: number | undefined;
  /**
   * The context size the output was generated in (the served model's: the model's trained
   * context, at most 4096). A `length` finish short of `maxTokens` is honest only when the
   * context was full. Unknown: that check is skipped.
   */
  contextSize?: number | undefined;
};

/** What the provider claims about its output besides the text. */
export type ToleranceClaim = {
  finishReason: 'stop' | 'length';
  usage: { promptTokens: number; completionTokens: number };
};

/** The numbers a tolerance verdict is made of. */
export type ToleranceMetrics = {
  /** Tokens of the claimed text, plus the end-of-generation token when the claim says the model stopped on its own. */
  scoredTokens: number;
  /**
   * Fraction of scored tokens the declared decoding could have produced from the verifier's
   * distribution: rank 1 for greedy decoding, rank ≤ top-K for sampling. 1 for no scored token.
   */
  agreement: number;
  /** Fraction of scored tokens that are the verifier's most likely token (reported, not judged). */
  top1: number;
  /** Largest rank among scored tokens (1 when none). */
  maxRank: number;
  /** Mean natural-log probability of scored tokens (reported, not judged; 0 when none). */
  meanLogProbability: number;
  /** Claimed completion tokens − tokens the verifier counts (text tokens, + 1 for a natural stop). */
  tokenCountDelta: number;
  /** Claimed prompt tokens − prompt tokens the verifier's template renders. */
  promptTokenDelta: number;
};

/** Parameters of {@link verifyTolerance}. */
export type VerifyToleranceParameters = {
  /** The verifier's one-pass score of the claimed text ({@link LlamaRuntime.scoreContinuation}). */
  score: LlamaContinuationScore;
  claim: ToleranceClaim;
  decoding: ToleranceDecoding;
  thresholds?: Partial<ToleranceThresholds> | undefined;
};

/**
 * Judges a language-model output from the verifier's per-token scores of it: whether the claimed
 * tokens are ones the declared decoding could have drawn from this model (agreement, worst rank),
 * and whether the claimed usage matches the text (token count, prompt size, a plausible stop).
 * Never compares regenerated text: sampling and hardware make honest texts differ.
 *
 * @example
 * const score = await runtime.scoreContinuation(input.messages, output.text)
 * const { verdict, reasons } = verifyTolerance({ score, claim: output, decoding: { greedy: true, maxTokens: 256 } })
 */
export function verifyTolerance({ score, claim, decoding, thresholds: overrides }: VerifyToleranceParameters): VerificationResult<ToleranceMetrics> {
  const thresholds = { ...defaultToleranceThresholds, ...overrides };
  const stopTokens = decoding.stopTokens ?? 0;
  // A stop string ends generation too; only a stop without one says the model chose to end.
  const naturalStop = claim.finishReason === 'stop' && stopTokens === 0;
  const scored = naturalStop && score.end ? [...score.tokens, score.end] : score.tokens;
  const allowedRank = decoding.greedy ? 1 : (decoding.topK ?? defaultSamplingTopK);

  const agreeing = scored.filter((token) => token.rank <= allowedRank).length;
  const metrics: ToleranceMetrics = {
    scoredTokens: scored.length,
    agreement: scored.length === 0 ? 1 : agreeing / scored.length,
    top1: scored.length === 0 ? 1 : scored.filter((token) => token.rank === 1).length / scored.length,
    maxRank: scored.reduce((max, token) => Math.max(max, token.rank), 1),
    meanLogProbability: scored.length === 0 ? 0 : scored.reduce((sum, token) => sum + Math.log(token.probability), 0) / scored.length,
    tokenCountDelta: claim.usage.completionTokens - (score.tokens.length + (naturalStop ? 1 : 0)),
    promptTokenDelta: claim.usage.promptTokens - score.promptTokens,
  };

  const reasons: string[] = [];
  if (metrics.agreement < thresholds.minAgreement) {
    reasons.push(
      `Only ${agreeing} of ${scored.length} tokens (${percent(metrics.agreement)}) are ones ${decoding.greedy ? 'greedy decoding' : `top-${allowedRank} sampling`} could pick from this model; at least ${percent(thresholds.minAgreement)} must be.`,
    );
  }
  if (metrics.maxRank > thresholds.maxRank) {
    const worst = scored.find((token) => token.rank === metrics.maxRank)!;
    reasons.push(`Token ${JSON.stringify(worst.text)} ranks ${metrics.maxRank} under this model; no token may rank beyond ${thresholds.maxRank}.`);
  }
  // Ending on its own means the sampler picked the end token: it must be one the decoding could
  // pick. Greedy gets rank ≤ 3, not 1: honest greedy tokens were seen at rank 2 (near-ties that
  // another batch size orders differently).
  const endRankLimit = decoding.greedy ? 3 : allowedRank;
  if (naturalStop && score.end && score.end.rank > endRankLimit) {
    reasons.push(`The output claims the model chose to stop, but its end token ranks ${score.end.rank} there; ${decoding.greedy ? 'greedy decoding' : `top-${allowedRank} sampling`} could not have picked it.`);
  }
  // Stop-string tokens count in usage but are cut from the text.
  const slack = claim.finishReason === 'stop' ? stopTokens : 0;
  if (metrics.tokenCountDelta < -thresholds.maxTokenCountDelta || metrics.tokenCountDelta > thresholds.maxTokenCountDelta + slack) {
    reasons.push(
      `The receipt's usage claims ${claim.usage.completionTokens} completion tokens but the text is ${score.tokens.length} tokens${naturalStop ? ' plus the end token' : ''}; at most ±${thresholds.maxTokenCountDelta} apart.`,
    );
  }
  if (metrics.promptTokenDelta !== 0) {
    reasons.push(`The usage claims ${claim.usage.promptTokens} prompt tokens but the model's template renders the input as ${score.promptTokens}.`);
  }
  if (claim.usage.completionTokens > decoding.maxTokens) {
    reasons.push(`The usage claims ${claim.usage.completionTokens} completion tokens, more than max_tokens ${decoding.maxTokens}.`);
  }
  // The runtime keeps one context slot free for chat and none for completion: ≥ contextSize − 1 is full.
  const contextFull = decoding.contextSize === undefined || score.promptTokens + claim.usage.completionTokens >= decoding.contextSize - 1;
  if (claim.finishReason === 'length' && claim.usage.completionTokens < decoding.maxTokens && !contextFull) {
    reasons.push(`The output claims it ended at the length limit after ${claim.usage.completionTokens} tokens, but max_tokens was ${decoding.maxTokens} and the context was not full.`);
  }
  return { verdict: reasons.length === 0 ? 'pass' : 'fail', metrics, reasons };
}

const percent = (fraction: number) => `${(fraction * 100).toFixed(1)}%`;
