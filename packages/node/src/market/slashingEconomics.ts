/**
 * The money side of audits, as explicit parameters. They mirror the contracts: `minStake` is
 * ProviderRegistry's minimum stake (`--min-stake`, devnet 100 tokens), `protocolFeeBps` is
 * Settlement's fee (`--fee-bps`, 250), and the slash fraction, split and verifier bond are what
 * AuditCourt will pass to `ProviderRegistry.slash(provider, amount, recipient)` once it lands
 * (it is being written now: keep these in step with it). Amounts are tokens as JS numbers: this is
 * a model for policy and simulation, not settlement code.
 */
export type SlashingParameters = {
  /** Stake a provider must keep to be active, tokens. */
  minStake: number;
  /** Share of the stake a confirmed cheat takes (0–1). */
  slashFraction: number;
  /** How the slashed amount is shared; the three add up to 1. */
  split: { buyer: number; verifier: number; treasury: number };
  /** What a verifier stakes on each verdict; lost on a verdict a panel overturns, tokens. */
  verifierBond: number;
  /** Protocol fee on every payment, basis points. */
  protocolFeeBps: number;
  /** Gas and time to register a new identity, set an offer and stake, tokens. */
  registrationCost: number;
  /** A confirmed cheat jails the provider for good: it must re-register to serve again. */
  jailForever: boolean;
};

/** Devnet defaults (contracts' defaults where they exist). */
export const defaultSlashingParameters: SlashingParameters = {
  minStake: 100,
  slashFraction: 0.5,
  split: { buyer: 0.3, verifier: 0.4, treasury: 0.3 },
  verifierBond: 5,
  protocolFeeBps: 250,
  registrationCost: 0.05,
  jailForever: true,
};

export type SlashOutcome = { slashed: number; toBuyer: number; toVerifier: number; toTreasury: number; remainingStake: number };

/**
 * What a confirmed cheat costs a provider with `stake` and where the tokens go.
 *
 * @example
 * getSlashOutcome(defaultSlashingParameters, 100) // { slashed: 50, toBuyer: 15, toVerifier: 20, toTreasury: 15, remainingStake: 50 }
 */
export function getSlashOutcome(parameters: SlashingParameters, stake: number): SlashOutcome {
  checkSlashingParameters(parameters);
  const slashed = stake * parameters.slashFraction;
  const toBuyer = slashed * parameters.split.buyer;
  const toVerifier = slashed * parameters.split.verifier;
  return { slashed, toBuyer, toVerifier, toTreasury: slashed - toBuyer - toVerifier, remainingStake: stake - slashed };
}

/** Throws a RangeError naming the first parameter that makes no sense. */
export function checkSlashingParameters(parameters: SlashingParameters): void {
  const { split } = parameters;
  if (!(parameters.slashFraction >= 0 && parameters.slashFraction <= 1)) throw new RangeError(`slashFraction must be in [0, 1], got ${parameters.slashFraction}`);
  if (Math.abs(split.buyer + split.verifier + split.treasury - 1) > 1e-9 || split.buyer < 0 || split.verifier < 0 || split.treasury < 0) {
    throw new RangeError(`slash split must be non-negative and add up to 1, got ${JSON.stringify(split)}`);
  }
  if (!(parameters.minStake >= 0)) throw new RangeError(`minStake must be >= 0, got ${parameters.minStake}`);
  if (!(parameters.protocolFeeBps >= 0 && parameters.protocolFeeBps <= 10_000)) throw new RangeError(`protocolFeeBps must be in [0, 10000], got ${parameters.protocolFeeBps}`);
}

/**
 * Expected profit of one identity that cheats on a share `cheatShare` of its calls, compared with
 * serving honestly, until it is caught: each cheat gains `gainPerCheat` and is caught with
 * probability `detectionPerCheat` (audit p × P(verdict stands) + canary rate), so an identity makes
 * on average 1 / detection cheats before it loses `slashLoss` (slashed stake + registration).
 * Negative exactly when detection × slashLoss > gain: `p × slash > gain`.
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
 * Smallest stake at which cheating does not pay: slashFraction × stake ≥ gain ÷ detection.
 *
 * @example
 * getBreakEvenStake({ gainPerCheat: 0.001, detectionPerCheat: 0.03, slashFraction: 0.5 }) // ≈ 0.067
 */
export function getBreakEvenStake(parameters: { gainPerCheat: number; detectionPerCheat: number; slashFraction: number }): number {
  const { gainPerCheat, detectionPerCheat, slashFraction } = parameters;
  if (detectionPerCheat <= 0 || slashFraction <= 0) return Number.POSITIVE_INFINITY;
  return gainPerCheat / (detectionPerCheat * slashFraction);
}
