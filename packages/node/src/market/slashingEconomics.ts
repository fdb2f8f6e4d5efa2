/**
 * The money side of audits, as explicit parameters. They mirror the contracts: `minStake` is
 * ProviderRegistry's minimum stake (`--min-stake`, devnet 100 tokens), `protocolFeeBps` is
 * Settlement's fee (`--fee-bps`, 250), and `slashAmount`, `refundBps`, `bountyBps`,
 * `verifierPenalty`, `auditBond` and `escalationBond` are AuditCourt's deploy-time `Config`
 * (contracts/src/AuditCourt.sol, in progress: keep these in step with it). A confirmed failure takes
 * `min(slashAmount, stake)` through `ProviderRegistry.slash`: `refundBps` of it to the buyer,
 * `bountyBps` to the verifiers who found it, the rest to the treasury. Amounts are tokens as JS
 * numbers: this is a model for policy and simulation, not settlement code.
 */
export type SlashingParameters = {
  /** Stake a provider must keep to be active, tokens. */
  minStake: number;
  /** Stake taken from a provider found failing, tokens (less if it has less). */
  slashAmount: number;
  /** Share of a slash credited to the buyer, basis points. */
  refundBps: number;
  /** Share of a slash split among the verifiers that found the failure, basis points. */
  bountyBps: number;
  /** Stake taken from a verifier that was overturned by a panel or did not answer, tokens. */
  verifierPenalty: number;
  /** What opening an audit costs; returned when the provider is found failing, tokens. */
  auditBond: number;
  /** What escalating to the panel of 3 costs; returned to the winning side, tokens. */
  escalationBond: number;
  /** Protocol fee on every payment, basis points. */
  protocolFeeBps: number;
  /** Gas to register a new identity, set an offer and stake, tokens. */
  registrationCost: number;
};

/** Devnet defaults (the contracts' defaults where they exist). */
export const defaultSlashingParameters: SlashingParameters = {
  minStake: 100,
  slashAmount: 50,
  refundBps: 3000,
  bountyBps: 4000,
  verifierPenalty: 10,
  auditBond: 0.01,
  escalationBond: 0.05,
  protocolFeeBps: 250,
  registrationCost: 0.05,
};

export type SlashOutcome = { slashed: number; toBuyer: number; toVerifiers: number; toTreasury: number; remainingStake: number };

/**
 * What a confirmed failure costs a provider with `stake` and where the tokens go.
 *
 * @example
 * getSlashOutcome(defaultSlashingParameters, 100) // { slashed: 50, toBuyer: 15, toVerifiers: 20, toTreasury: 15, remainingStake: 50 }
 */
export function getSlashOutcome(parameters: SlashingParameters, stake: number): SlashOutcome {
  checkSlashingParameters(parameters);
  const slashed = Math.min(parameters.slashAmount, Math.max(0, stake));
  const toBuyer = (slashed * parameters.refundBps) / 10_000;
  const toVerifiers = (slashed * parameters.bountyBps) / 10_000;
  return { slashed, toBuyer, toVerifiers, toTreasury: slashed - toBuyer - toVerifiers, remainingStake: stake - slashed };
}

/** Throws a RangeError naming the first parameter that makes no sense. */
export function checkSlashingParameters(parameters: SlashingParameters): void {
  for (const name of ['minStake', 'slashAmount', 'verifierPenalty', 'auditBond', 'escalationBond', 'registrationCost'] as const) {
    if (!(parameters[name] >= 0)) throw new RangeError(`${name} must be >= 0, got ${parameters[name]}`);
  }
  for (const name of ['refundBps', 'bountyBps', 'protocolFeeBps'] as const) {
    if (!(parameters[name] >= 0 && parameters[name] <= 10_000)) throw new RangeError(`${name} must be in [0, 10000], got ${parameters[name]}`);
  }
  if (parameters.refundBps + parameters.bountyBps > 10_000) {
    throw new RangeError(`refundBps + bountyBps must be <= 10000, got ${parameters.refundBps + parameters.bountyBps}`);
  }
}

/**
 * Expected profit, over serving honestly, of one identity that cheats until it is caught: each
 * cheat gains `gainPerCheat` and is caught with probability `detectionPerCheat` (audit p ×
 * P(the verdict stands) + canary share), so an identity makes on average 1 ÷ detection cheats
 * before it loses `slashLoss` (slashed stake + a new registration). Negative exactly when
 * detection × slashLoss > gain — the design's `p × slash > gain`.
 *
 * @example
 * getCheatingExpectedValue({ gainPerCheat: 0.001, detectionPerCheat: 0.03, slashLoss: 50 }) // ≈ -49.97
 */
export function getCheatingExpectedValue(parameters: { gainPerCheat: number; detectionPerCheat: number; slashLoss: number }): number {
  const { gainPerCheat, detectionPerCheat, slashLoss } = parameters;
  if (detectionPerCheat <= 0) return Number.POSITIVE_INFINITY;
  return gainPerCheat / detectionPerCheat - slashLoss;
}

/**
 * Smallest slash (so smallest stake) at which cheating does not pay: gain ÷ detection.
 *
 * @example
 * getBreakEvenSlash({ gainPerCheat: 0.001, detectionPerCheat: 0.03 }) // ≈ 0.033 tokens
 */
export function getBreakEvenSlash(parameters: { gainPerCheat: number; detectionPerCheat: number }): number {
  const { gainPerCheat, detectionPerCheat } = parameters;
  if (detectionPerCheat <= 0) return Number.POSITIVE_INFINITY;
  return gainPerCheat / detectionPerCheat;
}
