import { getCallCount, hasFailedCheck, type ProviderScore } from './providerScore.ts';

export type AuditPolicyInit = {
  /** Probability p that an established provider's receipt is audited (default 0.02). */
  baseRate?: number;
  /** p while a provider is new: fewer than `newcomerCalls` calls seen (default 0.1). */
  newcomerRate?: number;
  /** Calls after which a provider is no longer new (default 200). */
  newcomerCalls?: number;
  /** p after any failed audit or canary that did not (yet) end in a slash (default 0.25). */
  suspectRate?: number;
  /** Share of an established provider's traffic that is hidden canaries (default 0.01). */
  canaryRate?: number;
  /** Canary share while new (default 0.03). */
  newcomerCanaryRate?: number;
  /**
   * A provider's first `probationCalls` calls get canaries at `probationCanaryRate` (default 0:
   * no probation). A canary is judged the moment it is answered, unlike an audit whose verdict
   * takes minutes, so a cheater that cheats from its first call is stopped after a few answers
   * instead of a few dozen; canaries look organic, so it cannot tell which calls to answer well.
   */
  probationCalls?: number;
  /** Canary share during probation (default: `newcomerCanaryRate`). */
  probationCanaryRate?: number;
};

/** The audit sampling the network applies to a provider, from its record. */
export type AuditPolicy = {
  /** Probability that one of the provider's receipts is sent to AuditCourt. */
  getAuditRate(score: ProviderScore): number;
  /** Canary calls sent to the provider per organic call it serves. */
  getCanaryRate(score: ProviderScore): number;
  readonly parameters: Required<AuditPolicyInit>;
};

/**
 * How often receipts are audited and canaries sent. New providers are watched harder: a fresh
 * identity costs only the minimum stake, so a cheater that re-registers (sybil) must meet the
 * high newcomer rate on every identity. A provider with an unresolved failure is watched hardest.
 *
 * @example
 * const policy = createAuditPolicy({ baseRate: 0.02, newcomerRate: 0.1, newcomerCalls: 200 })
 * if (rng() < policy.getAuditRate(score)) submitAudit(receipt)
 */
export function createAuditPolicy(init: AuditPolicyInit = {}): AuditPolicy {
  const parameters: Required<AuditPolicyInit> = {
    baseRate: init.baseRate ?? 0.02,
    newcomerRate: init.newcomerRate ?? 0.1,
    newcomerCalls: init.newcomerCalls ?? 200,
    suspectRate: init.suspectRate ?? 0.25,
    canaryRate: init.canaryRate ?? 0.01,
    newcomerCanaryRate: init.newcomerCanaryRate ?? 0.03,
    probationCalls: init.probationCalls ?? 0,
    probationCanaryRate: init.probationCanaryRate ?? init.newcomerCanaryRate ?? 0.03,
  };
  for (const [name, value] of Object.entries(parameters)) {
    if (name !== 'newcomerCalls' && name !== 'probationCalls' && !(value >= 0 && value <= 1)) throw new RangeError(`${name} must be in [0, 1], got ${value}`);
  }
  const isNew = (score: ProviderScore) => getCallCount(score) < parameters.newcomerCalls;
  return {
    parameters,
    getAuditRate(score) {
      if (hasFailedCheck(score)) return Math.max(parameters.suspectRate, parameters.newcomerRate);
      return isNew(score) ? parameters.newcomerRate : parameters.baseRate;
    },
    getCanaryRate(score) {
      if (getCallCount(score) < parameters.probationCalls) return parameters.probationCanaryRate;
      return isNew(score) ? parameters.newcomerCanaryRate : parameters.canaryRate;
    },
  };
}
