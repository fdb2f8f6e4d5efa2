import type { Address, Hex } from 'viem';

/**
 * Beta priors (pseudo-counts of passes and failures) and the weight of a provider's own latency
 * quote. A newcomer's score is the prior's mean: neutral, close to a typical honest provider, so it
 * is neither favoured nor starved before the network has seen its work.
 */
export type ScorePrior = {
  /** Audits by a verifier (re-execution): passes, failures. */
  audit: readonly [pass: number, fail: number];
  /** Hidden known-answer calls. */
  canary: readonly [pass: number, fail: number];
  /** Calls answered vs calls that timed out or failed. */
  delivery: readonly [delivered: number, failed: number];
  /** Liveness probes answered vs missed. */
  uptime: readonly [up: number, down: number];
  /** The quote counts as this many observed calls at exactly the quoted latency. */
  latencyQuoteWeight: number;
};

/** Priors that make a newcomer look like an average honest provider (~0.95 audit pass, ~0.9 delivery). */
export const defaultScorePrior: ScorePrior = {
  audit: [19, 1],
  canary: [19, 1],
  delivery: [18, 2],
  uptime: [9, 1],
  latencyQuoteWeight: 3,
};

/**
 * What the network has seen of one provider serving one model. Only evidence goes in: audit and
 * canary verdicts (from AuditCourt events), delivered calls and timeouts (from signed receipts and
 * the caller's own clock), probes, and the price of the on-chain offer. The provider's latency
 * quote is the one self-report, and it is only a prior that observed latencies wash out.
 */
export type ProviderScore = {
  provider: Address;
  modelId: Hex;
  /** Offer price per call in token base units (the on-chain `pricePerUnit`). */
  price: number;
  /** Latency the provider quoted for this model, ms. */
  quotedLatencyMs: number;
  auditPass: number;
  auditFail: number;
  canaryPass: number;
  canaryFail: number;
  delivered: number;
  timeouts: number;
  probesUp: number;
  probesDown: number;
  /** Σ observed latency ÷ quoted latency over delivered calls. */
  latencyRatioSum: number;
};

/** One piece of evidence about a (provider, model). */
export type ScoreObservation =
  | { kind: 'audit'; passed: boolean }
  | { kind: 'canary'; passed: boolean }
  | { kind: 'delivered'; latencyMs: number }
  | { kind: 'timeout' }
  | { kind: 'probe'; up: boolean }
  | { kind: 'price'; price: number };

/** The posterior means and the value the router ranks by. */
export type ScoreSummary = {
  auditPassRate: number;
  canaryPassRate: number;
  deliveryRate: number;
  uptime: number;
  /** Expected observed ÷ quoted latency (1 = keeps its quote, 2 = twice as slow as quoted). */
  latencyRatio: number;
  /** Expected latency of a call, ms. */
  expectedLatencyMs: number;
  /** P(a call is answered and correct) = audit × canary × delivery × uptime. */
  quality: number;
  /** Variance of `quality` (delta method over the Beta posteriors), for Thompson sampling. */
  qualityVariance: number;
  /** Calls per second of latency: 1000 ÷ expected latency. */
  speed: number;
  /** Expected value per token: quality × speed ÷ price. */
  value: number;
  /** Calls seen (delivered + timed out). */
  calls: number;
};

/**
 * A fresh score for a (provider, model): no evidence yet, so its summary is the prior's.
 *
 * @example
 * const score = createProviderScore({ provider, modelId, price: 2_000, quotedLatencyMs: 800 })
 */
export function createProviderScore(init: { provider: Address; modelId: Hex; price: number; quotedLatencyMs: number }): ProviderScore {
  if (!(init.price > 0)) throw new RangeError(`price must be > 0, got ${init.price}`);
  if (!(init.quotedLatencyMs > 0)) throw new RangeError(`quotedLatencyMs must be > 0, got ${init.quotedLatencyMs}`);
  return {
    provider: init.provider,
    modelId: init.modelId,
    price: init.price,
    quotedLatencyMs: init.quotedLatencyMs,
    auditPass: 0,
    auditFail: 0,
    canaryPass: 0,
    canaryFail: 0,
    delivered: 0,
    timeouts: 0,
    probesUp: 0,
    probesDown: 0,
    latencyRatioSum: 0,
  };
}

/**
 * Adds one observation to a score, in place (the simulator records millions; copying each time
 * would dominate its run time), and returns the same score.
 *
 * @example
 * recordObservation(score, { kind: 'delivered', latencyMs: 640 })
 * recordObservation(score, { kind: 'audit', passed: false })
 */
export function recordObservation(score: ProviderScore, observation: ScoreObservation): ProviderScore {
  switch (observation.kind) {
    case 'audit':
      if (observation.passed) score.auditPass++;
      else score.auditFail++;
      break;
    case 'canary':
      if (observation.passed) score.canaryPass++;
      else score.canaryFail++;
      break;
    case 'delivered':
      score.delivered++;
      score.latencyRatioSum += Math.max(0, observation.latencyMs) / score.quotedLatencyMs;
      break;
    case 'timeout':
      score.timeouts++;
      break;
    case 'probe':
      if (observation.up) score.probesUp++;
      else score.probesDown++;
      break;
    case 'price':
      if (!(observation.price > 0)) throw new RangeError(`price must be > 0, got ${observation.price}`);
      score.price = observation.price;
      break;
  }
  return score;
}

/**
 * Whether the provider was ever caught answering wrongly (a failed audit or canary): the router
 * stops routing to it and the audit policy watches it hardest.
 */
export function hasFailedCheck(score: ProviderScore): boolean {
  return score.auditFail > 0 || score.canaryFail > 0;
}

/** Calls the network has seen a provider answer or miss for this model. */
export function getCallCount(score: ProviderScore): number {
  return score.delivered + score.timeouts;
}

/**
 * Posterior means of every rate, the expected latency and the value `quality × speed ÷ price`.
 *
 * @example
 * const { value, quality } = getScoreSummary(score)
 */
export function getScoreSummary(score: ProviderScore, prior: ScorePrior = defaultScorePrior): ScoreSummary {
  const [a, b] = beta(prior.audit[0] + score.auditPass, prior.audit[1] + score.auditFail);
  const [c, cv] = beta(prior.canary[0] + score.canaryPass, prior.canary[1] + score.canaryFail);
  const [d, dv] = beta(prior.delivery[0] + score.delivered, prior.delivery[1] + score.timeouts);
  const [u, uv] = beta(prior.uptime[0] + score.probesUp, prior.uptime[1] + score.probesDown);
  const quality = a * c * d * u;
  // Delta method: the relative variance of a product of independent factors is about the sum of theirs.
  const qualityVariance = quality * quality * (b / (a * a) + cv / (c * c) + dv / (d * d) + uv / (u * u));
  const latencyRatio = (prior.latencyQuoteWeight + score.latencyRatioSum) / (prior.latencyQuoteWeight + score.delivered);
  const expectedLatencyMs = score.quotedLatencyMs * latencyRatio;
  const speed = 1000 / expectedLatencyMs;
  return {
    auditPassRate: a,
    canaryPassRate: c,
    deliveryRate: d,
    uptime: u,
    latencyRatio,
    expectedLatencyMs,
    quality,
    qualityVariance,
    speed,
    value: (quality * speed) / score.price,
    calls: getCallCount(score),
  };
}

/** Mean and variance of Beta(α, β). */
function beta(alpha: number, betaCount: number): [mean: number, variance: number] {
  const n = alpha + betaCount;
  const mean = alpha / n;
  return [mean, (mean * (1 - mean)) / (n + 1)];
}
