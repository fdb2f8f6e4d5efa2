import type { Address, Hex } from 'viem';
import {
  createAuditPolicy,
  getCallCount,
  recordObservation,
  type ScoreObservation,
  createRouter,
  defaultSlashingParameters,
  getEpochRoot,
  getSlashOutcome,
  checkSlashingParameters,
  type AuditPolicyInit,
  type ProviderScore,
  type SlashingParameters,
} from '@agora/node/market';
import { createEventQueue } from './eventQueue.ts';
import { createRng, type Rng } from './rng.ts';

/**
 * How a provider behaves. Cheating = answering with something cheaper than the model it is paid
 * for (a smaller model, a cached answer, noise): it saves most of the compute and is faster.
 * - `honest`: never cheats.
 * - `always`: cheats on every call.
 * - `sometimes`: cheats on a share `sometimesRate` of calls.
 * - `unwatched`: cheats only on calls it believes are not canaries. It flags a share
 *   `unwatchedSuspicion` of calls as "looks like a canary"; canaries are flagged no more often
 *   unless `canaryLeak` > 0 (canaries look organic, so by default its belief carries no signal).
 * - `colluding`: cheats on every call and approves fellow colluders' audits when drawn as their
 *   verifier (AuditCourt draws verifiers among the other providers of the model), escalates every
 *   failed audit hoping for a colluding panel majority.
 * - `sybil`: cheats on every call; when slashed it re-registers a fresh identity with the minimum
 *   stake (paying registration gas) and starts again as a newcomer.
 *
 * The court attacks (issue 9). Each cheats on every call (after `attack.patienceCalls` honest ones,
 * 0 by default) and relies on one hole of the court to escape the slash; the router's quarantine
 * after a failed canary or audit still starves it, whatever the court does.
 * - `squatting`: when the payer's gateway sends the audit of one of its bad receipts (or the canary
 *   service the audit of a failed canary), it front-runs the transaction and opens that audit itself
 *   with an evidence URI that serves nothing, paying the bond. Old rules: anyone may open and
 *   verifiers vote Pass on missing evidence; the payer cannot escalate an audit it did not open.
 *   New rules: only the payer may open (the attempt reverts, costing gas).
 * - `steering`: a coalition; when a fellow's audit (or panel) is drawn, the fellows evaluate offline,
 *   after the seed is public, `attack.steerConfigurations` ways of toggling their offers and apply
 *   one whose draw seats a fellow (a few toggle transactions). Old rules: the draw reads the live
 *   list, so a configuration that works is almost always found. New rules: the draw reads a
 *   snapshot fixed before the seed, toggling can only remove oneself, so the draw is uniform.
 *   Fellows approve each other and escalate their failed audits, like `colluding`.
 * - `bloating`: when it starts cheating it pushes its model's offer list past what one draw can
 *   loop over in a block by registering zero-stake fake offers (`fakeOfferCost` each, shared by the
 *   model's bloaters). Old rules: every draw of that model reverts, so no audit or canary of any
 *   provider of the model is ever judged (and their bonds stay locked). New rules: an offer needs
 *   the minimum stake, its first fake reverts, and a draw costs O(1) anyway.
 * - `unbonding`: requested its unbond a full delay before it starts cheating (it keeps serving on
 *   channels opened earlier); the moment an audit of a bad receipt opens it withdraws. Old rules:
 *   nothing blocks it and the later slash takes 0. New rules: withdrawal reverts while an audit is
 *   open, and the unbonding delay covers the court's windows, so the slash lands.
 * - `copying`: a coalition of verifiers that side with each other's cheats (like `colluding`) and,
 *   seated on a panel, skip the re-execution: old rules let a seat recommit after reading the
 *   others' reveals, so it copies the majority and is paid without the work, and only the first
 *   verifier is fined when overturned, so siding with a fellow is free. New rules: one commitment
 *   per seat (it must do the work) and every minority voter is fined.
 */
export type Strategy =
  | 'honest'
  | 'always'
  | 'sometimes'
  | 'unwatched'
  | 'colluding'
  | 'sybil'
  | 'squatting'
  | 'steering'
  | 'bloating'
  | 'unbonding'
  | 'copying';

export const STRATEGIES: readonly Strategy[] = [
  'honest',
  'always',
  'sometimes',
  'unwatched',
  'colluding',
  'sybil',
  'squatting',
  'steering',
  'bloating',
  'unbonding',
  'copying',
];

/** The strategies that attack the court (issue 9): patient, persistent, each exploiting one old rule. */
export const COURT_ATTACKS: readonly Strategy[] = ['squatting', 'steering', 'bloating', 'unbonding', 'copying'];

/** A mix with every provider honest (the comparison world). */
export const ALL_HONEST_MIX: Record<Strategy, number> = Object.fromEntries(STRATEGIES.map((s) => [s, s === 'honest' ? 1 : 0])) as Record<Strategy, number>;

/** `honestShare` honest, the rest split evenly over the ten cheating strategies. */
export function getEvenMix(honestShare: number): Record<Strategy, number> {
  const cheat = (1 - honestShare) / (STRATEGIES.length - 1);
  return Object.fromEntries(STRATEGIES.map((s) => [s, s === 'honest' ? honestShare : cheat])) as Record<Strategy, number>;
}

/**
 * Which AuditCourt the run plays against.
 * - `new` (issue 9's court): only the payer opens an audit, of a batch of up to `court.batchSize`
 *   sampled receipts of one channel (one slash per failed batch); missing evidence is
 *   Unverifiable, never a Pass; verifiers are drawn from a candidate snapshot fixed at open, in
 *   at most `maxDrawAttempts` tries per seat; an offer needs the minimum stake; stake cannot be
 *   withdrawn while an audit of the provider is open; a seat commits once; every panel minority
 *   voter is fined.
 * - `old` (the court before): anyone opens the audit of one receipt; verifiers vote Pass on
 *   missing evidence; the draw loops over the live offer list (reverting past the block gas
 *   limit); offers need no stake; withdrawal ignores open audits; a panel seat may recommit after
 *   reading reveals; only the first verifier is fined when overturned.
 */
export type CourtRules = 'new' | 'old';

export type CourtParameters = {
  /** Receipts per audit at most (new rules; old rules audit one receipt each). */
  batchSize: number;
  /** Seconds a channel's batch collects sampled receipts before it is opened (new rules). */
  batchSeconds: number;
  /** Draw attempts per open seat (new rules). */
  maxDrawAttempts: number;
  /** Seconds after which an audit whose draw found nobody is cancelled (new rules). */
  drawTimeoutSeconds: number;
  /** Block gas limit, which bounds one old-rules draw. */
  blockGasLimit: number;
  /** Gas an old-rules draw spends per offer of the model (the `isActive` call of each). */
  drawGasPerOffer: number;
  /** Gas an old-rules draw spends besides its loop. */
  drawGasBase: number;
  /** Seconds between requesting an unbond and withdrawing it. */
  unbondingDelaySeconds: number;
};

export type AttackParameters = {
  /** Calls a court attacker's identity serves honestly before it cheats. */
  patienceCalls: number;
  /** Share of the payer's audit transactions a squatter manages to front-run. */
  frontRunRate: number;
  /** Offer toggle configurations steering fellows evaluate per draw (offline, after the seed is public). */
  steerConfigurations: number;
  /** Gas of one plain transaction (a toggle, a reverted call), tokens. */
  txCost: number;
  /** Gas of creating one fake provider with an offer, tokens. */
  fakeOfferCost: number;
};

export type SimParameters = {
  /** Provider identities at the start. */
  providers: number;
  /** Organic calls issued by buyers. */
  calls: number;
  seed: number;
  models: number;
  /** Buyers' calls per second, network-wide (default providers ÷ 50). */
  callsPerSecond: number;
  /** Share of providers following each strategy (normalised). */
  mix: Record<Strategy, number>;
  rules: CourtRules;
  court: CourtParameters;
  attack: AttackParameters;
  sometimesRate: number;
  unwatchedSuspicion: number;
  canaryLeak: number;
  /** Probability a colluding verifier approves a fellow colluder's cheat. */
  collusionApproveRate: number;
  /** Share of passed audits the network's auditor re-checks with a panel of 3 (catches collusion). */
  secondOpinionRate: number;
  audit: Required<AuditPolicyInit>;
  slashing: SlashingParameters;
  router: { explorationShare: number; newcomerCalls: number; eliteSize: number; refreshEvery: number; rankNewcomers: boolean; newcomerSample: number };
  /** Share of models verified in `tolerance` mode (LLMs); the rest `exact`. */
  toleranceShare: number;
  /** Tolerance verification (one prefill over prompt + output) as a share of generating the call. */
  prefillFactor: number;
  /** Compute a cheated call still spends, as a share of an honest one. */
  cheatCostFactor: number;
  /** How much faster a cheated call answers. */
  cheatSpeedup: number;
  /** Seconds from opening an audit to a verifier's verdict (draw, commit, reveal). */
  verdictDelaySeconds: number;
  /** Seconds an escalation to the panel takes. */
  panelDelaySeconds: number;
  /** The payer audits all it holds of a provider once one of its failures is upheld. */
  sweepAfterConviction: boolean;
  /** Seconds the caller waits on a silent provider before trying another. */
  timeoutSeconds: number;
  /** Providers tried per call. */
  maxAttempts: number;
  /** Median price of a call, tokens. */
  priceMedian: number;
  /** Median latency of a call, ms. */
  latencyMedianMs: number;
  /** Best-value set: this top share of each model's providers by true value. */
  bestShare: number;
  /** Organic calls per window when measuring the router's share to the best-value set. */
  window: number;
};

/** Defaults: the parameters the table in docs/economics.md was measured with. */
export function defaultSimParameters(overrides: Partial<SimParameters> = {}): SimParameters {
  const providers = overrides.providers ?? 1000;
  const calls = overrides.calls ?? 100_000;
  return {
    providers,
    calls,
    seed: 1,
    models: 10,
    callsPerSecond: providers / 50,
    mix: getEvenMix(0.8),
    rules: 'new',
    court: {
      batchSize: 32,
      batchSeconds: 60,
      maxDrawAttempts: 24,
      drawTimeoutSeconds: 600,
      blockGasLimit: 30_000_000,
      drawGasPerOffer: 10_300,
      drawGasBase: 150_000,
      // ≥ draw timeout + 2 × (commit + reveal) + escalation window: here ≥ 600 + 600 + 1800.
      unbondingDelaySeconds: 3600,
    },
    attack: { patienceCalls: 0, frontRunRate: 1, steerConfigurations: 65_536, txCost: 0.008, fakeOfferCost: 0.04 },
    sometimesRate: 0.1,
    unwatchedSuspicion: 0.3,
    canaryLeak: 0,
    collusionApproveRate: 1,
    secondOpinionRate: 0.05,
    audit: createAuditPolicy({
      baseRate: 0.02,
      newcomerRate: 0.1,
      newcomerCalls: 200,
      suspectRate: 0.25,
      canaryRate: 0.01,
      newcomerCanaryRate: 0.03,
      probationCalls: 10,
      probationCanaryRate: 0.25,
    }).parameters,
    slashing: defaultSlashingParameters,
    router: { explorationShare: 0.03, newcomerCalls: 10, eliteSize: 64, refreshEvery: 1000, rankNewcomers: true, newcomerSample: 16 },
    toleranceShare: 0.5,
    prefillFactor: 0.2,
    cheatCostFactor: 0.1,
    cheatSpeedup: 2,
    verdictDelaySeconds: 600,
    panelDelaySeconds: 1800,
    sweepAfterConviction: true,
    timeoutSeconds: 10,
    maxAttempts: 3,
    priceMedian: 0.002,
    latencyMedianMs: 800,
    bestShare: 0.1,
    // A fixed window, so the convergence figure means the same at every scale.
    window: 5000,
    ...overrides,
  };
}

/** Money and work of one strategy's identities over a run, tokens. */
export type StrategyTotals = {
  /** Real operators (a sybil's identities belong to one actor). */
  actors: number;
  identities: number;
  /** Identities slashed. */
  caught: number;
  /** Failed audits whose slash took nothing (the stake had been withdrawn). */
  slashesDodged: number;
  /** Audits of this strategy's bad receipts that ended other than in a slash (squatted, steered, stuck, overturned). */
  auditsEscaped: number;
  organicCalls: number;
  canaryCalls: number;
  cheats: number;
  /** Of `cheats`, canaries answered wrongly. */
  canaryCheats: number;
  /** Cheated organic calls buyers received and no upheld failed audit covered. */
  undetectedCheats: number;
  revenue: number;
  computeCost: number;
  /** What cheating saved in compute. */
  costSaved: number;
  slashed: number;
  registration: number;
  /** What the attacks themselves cost: squatters' bonds, toggles, fake offers, reverted transactions. */
  attackCosts: number;
  /** Penalties paid as an overturned or minority verifier. */
  verifierPenalties: number;
  /** Bounties earned as a verifier (and bonds of passed audits). */
  bounties: number;
  /** Payment for verification work. */
  verificationPay: number;
  /** revenue − compute − slashed − registration − attack costs − penalties + bounties + verification pay. */
  profit: number;
};

export type SimResult = {
  parameters: SimParameters;
  byStrategy: Record<Strategy, StrategyTotals>;
  /** Profit of every actor, by actor index (to compare worlds actor by actor). */
  actorProfit: Float64Array;
  /** What every actor earned serving calls: payments − the compute they spent on them. */
  actorServing: Float64Array;
  /** What every actor earned verifying: bounties + verification pay − its compute − penalties. */
  actorVerifying: Float64Array;
  actorStrategy: Strategy[];
  /** Useful work: organic calls delivered (one unit per call). */
  usefulWork: number;
  auditWork: number;
  panelWork: number;
  /** Re-execution of convicted providers' held receipts (`sweepAfterConviction`). */
  sweepWork: number;
  canaryWork: number;
  /** Audits opened (a batch counts once). */
  audits: number;
  /** Receipts those audits covered. */
  auditedReceipts: number;
  panels: number;
  /** Audits whose draw could never happen (old rules: past the block gas limit); their bonds stay locked. */
  stuckAudits: number;
  /** Audits cancelled because no eligible verifier was found before the draw timeout (new rules). */
  cancelledAudits: number;
  /** Organic calls no provider could take. */
  unserved: number;
  /** Calls (organic, issued so far) at the end of the first window whose share to the best set reached 80 %; undefined if none. */
  callsToBestShare: number | undefined;
  /** Share of organic calls to the best-value set, per window. */
  bestShareByWindow: number[];
  treasury: { fees: number; slashes: number; canaryPay: number; verificationPay: number };
  epochRoot: Hex;
  simulatedSeconds: number;
};

type Identity = {
  index: number;
  address: Address;
  actor: number;
  strategy: Strategy;
  modelId: Hex;
  model: number;
  latencyMs: number;
  price: number;
  costPerCall: number;
  timeoutRate: number;
  slots: number;
  stake: number;
  inFlight: number;
  active: boolean;
  /** When its offer (and stake) became active: the new-rules draw only seats those active before an audit opened. */
  activeSince: number;
  /** Position in its model's active list (for O(1) removal). */
  slot: number;
  /** Position in its model's steering list, or -1. */
  steerSlot: number;
  score: ProviderScore;
  /** Audits of it not yet ended. */
  openAudits: number;
  /** When its requested unbond can be withdrawn (unbonding attackers), else Infinity. */
  unbondReadyAt: number;
  /** A withdrawal it wants as soon as the court lets it (new rules block it while audits are open). */
  wantsWithdrawal: boolean;
  /** Sampled receipts waiting for their channel's batch to be opened (new rules). */
  batch: Batch;
  /** Delivered organic receipts the payer holds that no audit has covered since the last passed one. */
  unaudited: Batch;
  /** The payer has audited all its held receipts after a conviction. */
  swept: boolean;
  /** Its stake left through an unbond while audits were open. */
  withdrew: boolean;
  /** It has been replaced by a fresh identity (a slashed sybil). */
  replaced: boolean;
  slashed: boolean;
};

type Call = { identity: Identity; canary: boolean; cheated: boolean; timedOut: boolean; attempt: number; latencyMs: number };

/** Receipts as counts: the court and the payer need how many and how many were answered wrongly. */
type Batch = { count: number; bad: number };

type Vote = 'pass' | 'fail';

type Audit = {
  provider: Identity;
  /** Receipts (leaves) in the audit. */
  count: number;
  /** Leaves answered wrongly (organic calls unless a canary's). */
  bad: number;
  /** A canary's audit: its opener knows the right answer. */
  canary: boolean;
  /** Part of the sweep of a convicted provider's held receipts. */
  sweep: boolean;
  /** Opened by a squatter with evidence that serves nothing (old rules). */
  squatted: boolean;
  openedAt: number;
  seats: Identity[];
  votes: Vote[];
};

type SimEvent =
  | { kind: 'arrival' }
  | { kind: 'complete'; call: Call }
  | { kind: 'batch'; identity: Identity; batch: Batch }
  | { kind: 'draw'; audit: Audit }
  | { kind: 'verdict'; audit: Audit }
  | { kind: 'panel'; audit: Audit };

const emptyTotals = (): StrategyTotals => ({
  actors: 0,
  identities: 0,
  caught: 0,
  slashesDodged: 0,
  auditsEscaped: 0,
  organicCalls: 0,
  canaryCalls: 0,
  cheats: 0,
  canaryCheats: 0,
  undetectedCheats: 0,
  revenue: 0,
  computeCost: 0,
  costSaved: 0,
  slashed: 0,
  registration: 0,
  attackCosts: 0,
  verifierPenalties: 0,
  bounties: 0,
  verificationPay: 0,
  profit: 0,
});

/** Which strategy each of `providers` providers follows, drawn from `mix` with its own stream. */
function drawStrategies(parameters: SimParameters): Strategy[] {
  const rng = createRng(parameters.seed, 'strategies');
  const total = STRATEGIES.reduce((sum, s) => sum + Math.max(0, parameters.mix[s] ?? 0), 0);
  if (!(total > 0)) throw new RangeError('mix must give some share to at least one strategy');
  return Array.from({ length: parameters.providers }, () => {
    let u = rng() * total;
    for (const s of STRATEGIES) {
      u -= Math.max(0, parameters.mix[s] ?? 0);
      if (u < 0) return s;
    }
    return 'honest';
  });
}

/** Coalitions whose members approve each other's bad receipts when drawn as verifiers. */
const COALITIONS: ReadonlySet<Strategy> = new Set(['colluding', 'steering', 'copying']);

/**
 * Runs the market as a discrete-event simulation: buyers' calls arrive as a Poisson stream, the
 * node's router picks a provider for each, providers answer (or cheat, or time out) after their
 * latency, receipts are sampled at the node's audit policy rate and opened as AuditCourt audits
 * under `rules` (batches per channel under the new rules), verifiers are drawn as that court
 * draws them, verdicts land after the court's delay and can be escalated to a panel, canaries are
 * sent at the policy's rate and their failures audited too, upheld failures are slashed with the
 * node's slashing parameters. The scoring, routing, audit sampling and slash split are the
 * `@agora/node` market code itself. Deterministic for a given parameter set.
 *
 * @example
 * const result = simulate(defaultSimParameters({ providers: 200, calls: 5_000, seed: 7 }))
 */
export function simulate(parameters: SimParameters): SimResult {
  checkSlashingParameters(parameters.slashing);
  const p = parameters;
  const oldRules = p.rules === 'old';
  if (p.rules !== 'old' && p.rules !== 'new') throw new RangeError(`rules must be "new" or "old", got ${String(p.rules)}`);
  if (!(p.court.batchSize >= 1)) throw new RangeError(`court.batchSize must be >= 1, got ${p.court.batchSize}`);
  const population = createRng(p.seed, 'population');
  const routing = createRng(p.seed, 'routing');
  const arrivals = createRng(p.seed, 'arrivals');
  const chance = createRng(p.seed, 'chance');
  const draws = createRng(p.seed, 'draws');
  const policy = createAuditPolicy(p.audit);
  const router = createRouter({ ...p.router, rng: routing });
  const feeShare = 1 - p.slashing.protocolFeeBps / 10_000;

  const modelIds: Hex[] = Array.from({ length: p.models }, (_, m) => `0x${(m + 1).toString(16).padStart(64, '0')}` as Hex);
  const tolerance = Array.from({ length: p.models }, (_, m) => m < Math.round(p.models * p.toleranceShare));
  const verifyFactor = (model: number) => (tolerance[model] ? p.prefillFactor : 1);

  const strategies = drawStrategies(p);
  const identities: Identity[] = [];
  const byAddress = new Map<string, Identity>();
  const activeByModel: Identity[][] = modelIds.map(() => []);
  /** New rules: every identity that ever offered the model, in order, never removed (the registry's candidate list). */
  const candidatesByModel: Identity[][] = modelIds.map(() => []);
  /** Active steering fellows per model (old rules need their count and a member per draw). */
  const steerersByModel: Identity[][] = modelIds.map(() => []);
  /** Zero-stake fake offers per model (old rules; bloating). */
  const fakeOffers = modelIds.map(() => 0);
  const totals = Object.fromEntries(STRATEGIES.map((s) => [s, emptyTotals()])) as Record<Strategy, StrategyTotals>;
  const actorProfit = new Float64Array(p.providers);
  const actorServing = new Float64Array(p.providers);
  const actorVerifying = new Float64Array(p.providers);

  type Traits = Pick<Identity, 'model' | 'latencyMs' | 'price' | 'costPerCall' | 'timeoutRate' | 'slots'> & { quoteFactor: number };
  const traits: Traits[] = [];
  for (let i = 0; i < p.providers; i++) {
    // Drawn in the same order whatever the strategy, so both worlds have the same providers.
    const latencyMs = population.logNormal(p.latencyMedianMs, 0.5);
    const price = p.priceMedian * Math.sqrt(p.latencyMedianMs / latencyMs) * population.logNormal(1, 0.3);
    traits.push({
      model: i % p.models,
      latencyMs,
      price,
      costPerCall: price * population.uniform(0.4, 0.7),
      timeoutRate: population.uniform(0.002, 0.05),
      slots: 1 + population.int(8),
      quoteFactor: population.uniform(0.8, 1.1),
    });
  }

  const queue = createEventQueue<SimEvent>();
  let now = 0;

  function register(actor: number): Identity {
    const t = traits[actor]!;
    const strategy = strategies[actor]!;
    const index = identities.length;
    const address = `0x${(index + 1).toString(16).padStart(40, '0')}` as Address;
    const modelId = modelIds[t.model]!;
    const score = router.addOffer({ provider: address, modelId, price: t.price, quotedLatencyMs: t.latencyMs * t.quoteFactor });
    const identity: Identity = {
      index,
      address,
      actor,
      strategy,
      modelId,
      ...t,
      stake: p.slashing.minStake,
      inFlight: 0,
      active: true,
      activeSince: now,
      slot: activeByModel[t.model]!.length,
      steerSlot: -1,
      score,
      openAudits: 0,
      // It asked for its unbond a full delay before it starts cheating (it keeps serving on the
      // channels opened before), so the stake can leave the moment an audit puts it in danger.
      unbondReadyAt: strategy === 'unbonding' ? now : Number.POSITIVE_INFINITY,
      wantsWithdrawal: false,
      batch: { count: 0, bad: 0 },
      unaudited: { count: 0, bad: 0 },
      swept: false,
      withdrew: false,
      replaced: false,
      slashed: false,
    };
    identities.push(identity);
    byAddress.set(address, identity);
    activeByModel[t.model]!.push(identity);
    candidatesByModel[t.model]!.push(identity);
    if (strategy === 'steering') {
      identity.steerSlot = steerersByModel[t.model]!.length;
      steerersByModel[t.model]!.push(identity);
    }
    totals[strategy].identities++;
    totals[strategy].registration += p.slashing.registrationCost;
    actorProfit[actor]! -= p.slashing.registrationCost;
    return identity;
  }

  function deactivate(identity: Identity) {
    if (!identity.active) return;
    identity.active = false;
    router.removeOffer(identity.address, identity.modelId);
    const list = activeByModel[identity.model]!;
    const last = list.pop()!;
    if (last !== identity) {
      list[identity.slot] = last;
      last.slot = identity.slot;
    }
    if (identity.steerSlot >= 0) {
      const fellows = steerersByModel[identity.model]!;
      const lastFellow = fellows.pop()!;
      if (lastFellow !== identity) {
        fellows[identity.steerSlot] = lastFellow;
        lastFellow.steerSlot = identity.steerSlot;
      }
      identity.steerSlot = -1;
    }
  }

  /** A slashed sybil comes back as a fresh identity. */
  function replace(identity: Identity) {
    if (identity.replaced) return;
    identity.replaced = true;
    deactivate(identity);
    register(identity.actor);
  }

  for (let actor = 0; actor < p.providers; actor++) {
    totals[strategies[actor]!].actors++;
    register(actor);
  }

  // The best-value set: the top `bestShare` of each model's providers by true value per token.
  const cheatShare: Record<Strategy, number> = {
    honest: 0,
    always: 1,
    sometimes: p.sometimesRate,
    unwatched: 1 - p.unwatchedSuspicion,
    colluding: 1,
    sybil: 1,
    squatting: 1,
    steering: 1,
    bloating: 1,
    unbonding: 1,
    copying: 1,
  };
  const best = new Uint8Array(p.providers);
  {
    const byModel: { actor: number; value: number }[][] = modelIds.map(() => []);
    for (const i of identities) {
      byModel[i.model]!.push({ actor: i.actor, value: ((1 - i.timeoutRate) * (1 - cheatShare[i.strategy]) * (1000 / i.latencyMs)) / i.price });
    }
    for (const ranked of byModel) {
      ranked.sort((a, b) => b.value - a.value);
      for (const { actor } of ranked.slice(0, Math.max(1, Math.round(ranked.length * p.bestShare)))) best[actor] = 1;
    }
  }

  let issued = 0;
  let unserved = 0;
  let usefulWork = 0;
  let auditWork = 0;
  let panelWork = 0;
  let sweepWork = 0;
  let canaryWork = 0;
  let audits = 0;
  let auditedReceipts = 0;
  let panels = 0;
  let stuckAudits = 0;
  let cancelledAudits = 0;
  const treasury = { fees: 0, slashes: 0, canaryPay: 0, verificationPay: 0 };
  const bestShareByWindow: number[] = [];
  let windowCalls = 0;
  let windowBest = 0;
  let callsToBestShare: number | undefined;

  const credit = (identity: Identity, field: 'revenue' | 'bounties' | 'verificationPay', amount: number) => {
    totals[identity.strategy][field] += amount;
    actorProfit[identity.actor]! += amount;
  };
  const debit = (identity: Identity, field: 'computeCost' | 'slashed' | 'verifierPenalties' | 'attackCosts', amount: number) => {
    totals[identity.strategy][field] += amount;
    actorProfit[identity.actor]! -= amount;
  };

  /** Whether a court attacker's identity has served its honest stretch (and, unbonding, can withdraw). */
  function attacking(identity: Identity): boolean {
    if (getCallCount(identity.score) < p.attack.patienceCalls) return false;
    return identity.strategy !== 'unbonding' || now >= identity.unbondReadyAt;
  }

  function decidesToCheat(identity: Identity, canary: boolean): boolean {
    switch (identity.strategy) {
      case 'honest':
        return false;
      case 'sometimes':
        return chance() < p.sometimesRate;
      case 'unwatched': {
        const flagged = canary ? p.unwatchedSuspicion + p.canaryLeak * (1 - p.unwatchedSuspicion) : p.unwatchedSuspicion;
        return chance() >= flagged;
      }
      case 'always':
      case 'colluding':
      case 'sybil':
        return true;
      default:
        return attacking(identity);
    }
  }

  /** Sends a call to a provider: it answers after its latency, or goes silent until the timeout. */
  function dispatch(identity: Identity, canary: boolean, attempt: number) {
    identity.inFlight++;
    const timedOut = chance() < identity.timeoutRate;
    const cheated = !timedOut && decidesToCheat(identity, canary);
    let latencyMs = identity.latencyMs * chance.logNormal(1, 0.3);
    if (cheated) latencyMs /= p.cheatSpeedup;
    const call: Call = { identity, canary, cheated, timedOut, attempt, latencyMs };
    queue.push(now + (timedOut ? p.timeoutSeconds : latencyMs / 1000), { kind: 'complete', call });
  }

  // One accept check for every pick (a closure per call would cost more than the pick).
  let routeExclude: Identity | undefined;
  const pickParameters = {
    accept: (address: Address) => {
      const identity = byAddress.get(address)!;
      return identity.inFlight < identity.slots && identity !== routeExclude;
    },
  };
  function route(model: number, exclude: Identity | undefined): Identity | undefined {
    routeExclude = exclude;
    const pick = router.pick(modelIds[model]!, pickParameters);
    return pick && byAddress.get(pick.provider);
  }

  /**
   * Evidence goes straight into the identity's score (the object the router holds): the same
   * as `router.record` without its key lookup, which a run of millions of calls would pay each time.
   */
  const observe = (identity: Identity, observation: ScoreObservation) => recordObservation(identity.score, observation);

  /** Pays a verifier at its own cost for `work` units of re-execution. */
  function payVerification(verifier: Identity, work: number, didWork: boolean) {
    const amount = work * verifier.costPerCall;
    if (didWork) debit(verifier, 'computeCost', amount);
    credit(verifier, 'verificationPay', amount * 1.2);
    actorVerifying[verifier.actor]! += amount * 1.2 - (didWork ? amount : 0);
    treasury.verificationPay += amount * 1.2;
  }

  const fellows = (a: Identity, b: Identity) => a.strategy === b.strategy && COALITIONS.has(a.strategy);
  const excluded = (c: Identity, audit: Audit) => c === audit.provider || audit.seats.includes(c);

  /**
   * Seats `count` verifiers for an audit as the court would, or returns 'blocked' (old rules: the
   * draw's loop over the model's offers no longer fits in a block) or undefined (new rules: no
   * eligible candidate within the attempts).
   */
  function drawSeats(audit: Audit, count: number): Identity[] | 'blocked' | undefined {
    const model = audit.provider.model;
    const seats: Identity[] = [];
    if (oldRules) {
      const live = activeByModel[model]!;
      if (p.court.drawGasBase + (live.length + fakeOffers[model]!) * p.court.drawGasPerOffer > p.court.blockGasLimit) return 'blocked';
      const provider = audit.provider;
      if (provider.strategy === 'steering') {
        // The seed is public before assignVerifiers runs: the fellows try toggle configurations
        // offline; each gives an independent draw over the list it leaves. They need one seat
        // (stage 0) or a majority of the panel.
        const fellowsHere = steerersByModel[model]!.filter((f) => f !== provider && !audit.seats.includes(f));
        const f = fellowsHere.length / Math.max(1, live.length - 1);
        const need = count === 1 ? 1 : Math.floor(count / 2) + 1;
        const perTry = count === 1 ? f : 3 * f * f * (1 - f) + f * f * f;
        const found = 1 - Math.pow(1 - perTry, p.attack.steerConfigurations);
        if (fellowsHere.length >= need && draws() < found) {
          // A couple of offers removed and re-added: four transactions.
          debit(provider, 'attackCosts', 4 * p.attack.txCost);
          for (let k = 0; k < need; k++) {
            const i = k + draws.int(fellowsHere.length - k);
            [fellowsHere[k], fellowsHere[i]] = [fellowsHere[i]!, fellowsHere[k]!];
            seats.push(fellowsHere[k]!);
          }
        }
      }
      for (let tries = 0; seats.length < count && tries < 64 && live.length > 1; tries++) {
        const c = live[draws.int(live.length)]!;
        if (!excluded(c, audit) && !seats.includes(c)) seats.push(c);
      }
      return seats.length > 0 ? seats : undefined;
    }
    // New rules: indices into the append-only candidate list; eligible = active since before the
    // audit opened (a snapshot nobody can change after the seed), staked, not the provider.
    const candidates = candidatesByModel[model]!;
    for (let k = 0; k < p.court.maxDrawAttempts * count && seats.length < count; k++) {
      const c = candidates[draws.int(candidates.length)]!;
      if (c.active && c.activeSince <= audit.openedAt && !excluded(c, audit) && !seats.includes(c)) seats.push(c);
    }
    return seats.length > 0 ? seats : undefined;
  }

  /** How a verifier votes on an audit. */
  function voteOf(verifier: Identity, audit: Audit): Vote {
    // Old rules: missing evidence was voted Pass (there was nothing to find wrong).
    if (audit.squatted) return 'pass';
    if (audit.bad === 0) return 'pass';
    if (fellows(verifier, audit.provider) && chance() < p.collusionApproveRate) return 'pass';
    return 'fail';
  }

  /** The payer (or the canary service) opens an audit of receipts of one provider. */
  function openAudit(provider: Identity, receipts: Batch, canary: boolean, sweep = false) {
    const { count, bad } = receipts;
    const audit: Audit = { provider, count, bad, canary, sweep, squatted: false, openedAt: now, seats: [], votes: [] };
    if (provider.strategy === 'squatting' && bad > 0 && chance() < p.attack.frontRunRate) {
      if (oldRules) {
        // It front-runs the payer's transaction with its own open of the same receipt; the
        // payer's then reverts (already audited). It pays the bond, which goes to the verifiers.
        audit.squatted = true;
        debit(provider, 'attackCosts', p.slashing.auditBond);
      } else {
        // Only the payer may open: the squatter's transaction reverts.
        debit(provider, 'attackCosts', p.attack.txCost);
      }
    }
    audits++;
    auditedReceipts += count;
    provider.openAudits++;
    if (provider.strategy === 'unbonding' && bad > 0 && now >= provider.unbondReadyAt && !provider.wantsWithdrawal) {
      provider.wantsWithdrawal = true;
      tryWithdraw(provider);
    }
    queue.push(now, { kind: 'draw', audit });
  }

  /** An unbonding attacker takes its stake out (old rules: whenever; new rules: once no audit of it is open). */
  function tryWithdraw(identity: Identity) {
    if (identity.stake <= 0) return;
    if (!oldRules && identity.openAudits > 0) {
      debit(identity, 'attackCosts', p.attack.txCost);
      return;
    }
    identity.stake = 0;
    identity.withdrew = true;
    // No stake, no new channels: it leaves with its stake (old rules) instead of being slashed.
    deactivate(identity);
  }

  function onDraw(audit: Audit) {
    const seats = drawSeats(audit, 1);
    if (seats === 'blocked') {
      // Old rules: assignVerifiers runs out of gas whoever calls it, for ever.
      stuckAudits++;
      escaped(audit);
      return;
    }
    if (!seats) {
      if (now - audit.openedAt + 60 < p.court.drawTimeoutSeconds) queue.push(now + 60, { kind: 'draw', audit });
      else {
        cancelledAudits++;
        closeAudit(audit);
        escaped(audit);
      }
      return;
    }
    audit.seats.push(seats[0]!);
    queue.push(now + p.verdictDelaySeconds, { kind: 'verdict', audit });
  }

  /** The audit of bad receipts ended without a slash: their buyers never learn. */
  function escaped(audit: Audit) {
    if (audit.bad === 0) return;
    totals[audit.provider.strategy].auditsEscaped++;
  }

  function closeAudit(audit: Audit) {
    const provider = audit.provider;
    provider.openAudits--;
    if (provider.wantsWithdrawal && provider.openAudits === 0 && provider.stake > 0) tryWithdraw(provider);
  }

  /** Router evidence from a verdict: a pass per leaf checked, or one failure. */
  function recordVerdict(audit: Audit, vote: Vote) {
    const { provider } = audit;
    if (audit.squatted || audit.canary) {
      // A squatted audit still reads as a pass to anyone watching the chain.
      if (audit.squatted && vote === 'pass') observe(provider, { kind: 'audit', passed: true });
      return;
    }
    if (vote === 'fail') {
      observe(provider, { kind: 'audit', passed: false });
    } else for (let i = 0; i < audit.count; i++) observe(provider, { kind: 'audit', passed: true });
  }

  function onVerdict(audit: Audit) {
    const { provider } = audit;
    const verifier = audit.seats[0]!;
    const work = verifyFactor(provider.model) * (audit.squatted ? 0 : audit.count);
    if (audit.sweep) sweepWork += work;
    else auditWork += work;
    payVerification(verifier, work, true);
    const vote = voteOf(verifier, audit);
    audit.votes.push(vote);
    recordVerdict(audit, vote);
    if (vote === 'fail') {
      // Only a coalition member escalates a failed audit: others know honest re-executions uphold it.
      if (COALITIONS.has(provider.strategy)) return escalate(audit);
      return finalize(audit, 'fail');
    }
    // A pass. The opener may escalate it: the canary service knows its answer was wrong; the payer
    // re-checks a share of passes. A squatted audit's opener is the squatter, who never escalates.
    if (!audit.squatted && ((audit.canary && audit.bad > 0) || chance() < p.secondOpinionRate)) return escalate(audit);
    finalize(audit, 'pass');
  }

  function escalate(audit: Audit) {
    const seats = drawSeats(audit, 3);
    if (seats === 'blocked' || !seats) {
      // Old rules past the gas limit: the panel never sits and the first verdict is never settled.
      if (seats === 'blocked') stuckAudits++;
      return finalize(audit, audit.votes[0]!);
    }
    audit.seats.push(...seats);
    queue.push(now + p.panelDelaySeconds, { kind: 'panel', audit });
  }

  function onPanel(audit: Audit) {
    const { provider } = audit;
    const work = verifyFactor(provider.model) * (audit.squatted ? 0 : audit.count);
    panels++;
    const addWork = (w: number) => {
      if (audit.sweep) sweepWork += w;
      else panelWork += w;
    };
    const panel = audit.seats.slice(1);
    const votes: (Vote | undefined)[] = panel.map((member) => {
      // Old rules: a copier commits last, after the others revealed, and copies their majority.
      if (member.strategy === 'copying' && oldRules && !fellows(member, provider)) return undefined;
      return voteOf(member, audit);
    });
    const honestFails = votes.filter((v) => v === 'fail').length;
    const honestPasses = votes.filter((v) => v === 'pass').length;
    for (let k = 0; k < panel.length; k++) {
      const copied = votes[k] === undefined;
      if (copied) votes[k] = honestFails > honestPasses ? 'fail' : 'pass';
      addWork(copied ? 0 : work);
      payVerification(panel[k]!, work, !copied);
    }
    const fails = votes.filter((v) => v === 'fail').length;
    const outcome: Vote = fails * 2 > votes.length ? 'fail' : 'pass';
    audit.votes.push(...(votes as Vote[]));
    // Fines: old rules fine only the first verifier when overturned; new rules every voter in the minority.
    for (let k = 0; k < audit.seats.length; k++) {
      if (audit.votes[k] === outcome) continue;
      if (oldRules && k > 0) continue;
      const v = audit.seats[k]!;
      debit(v, 'verifierPenalties', p.slashing.verifierPenalty);
      actorVerifying[v.actor]! -= p.slashing.verifierPenalty;
    }
    if (outcome !== audit.votes[0]) recordVerdict(audit, outcome);
    finalize(audit, outcome);
  }

  function finalize(audit: Audit, outcome: Vote) {
    const winners = audit.seats.filter((_, k) => audit.votes[k] === outcome);
    const provider = audit.provider;
    if (outcome === 'pass') {
      escaped(audit);
      // The opener's bond goes to the verifiers (a squatter's included).
      if (audit.squatted) for (const v of winners) credit(v, 'bounties', p.slashing.auditBond / winners.length);
      // The payer now trusts what it holds from before this audit.
      if (!audit.canary && !audit.sweep && !provider.swept) provider.unaudited = { count: 0, bad: 0 };
    } else {
      if (!audit.canary) caughtCheats[provider.strategy] += audit.bad;
      if (!oldRules && provider.slashed) {
        // A channel's failures cost its provider one slash in all (a bad receipt cannot be farmed
        // under many roots): a later Fail there takes a bond's worth of stake for its verifiers.
        const fee = Math.min(p.slashing.auditBond, provider.stake);
        provider.stake -= fee;
        debit(provider, 'slashed', fee);
        for (const v of winners) credit(v, 'bounties', fee / winners.length);
        if (winners.length === 0) treasury.slashes += fee;
      } else {
        slash(provider, winners);
      }
      sweep(provider);
    }
    // The court slashes before it tells the registry the audit is closed (which frees a withdrawal).
    closeAudit(audit);
  }

  const caughtCheats = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;

  function slash(identity: Identity, verifiers: Identity[]) {
    const out = getSlashOutcome(p.slashing, identity.stake);
    if (out.slashed === 0) {
      // Its stake left before the verdict (old rules): the failure costs it nothing.
      if (identity.withdrew) totals[identity.strategy].slashesDodged++;
      return;
    }
    identity.stake = out.remainingStake;
    debit(identity, 'slashed', out.slashed);
    // Old rules: later failed receipts of the same identity take what stake is left; it is caught once.
    if (!identity.slashed) totals[identity.strategy].caught++;
    identity.slashed = true;
    treasury.slashes += out.toTreasury;
    for (const v of verifiers) {
      credit(v, 'bounties', out.toVerifiers / verifiers.length);
      actorVerifying[v.actor]! += out.toVerifiers / verifiers.length;
    }
    if (verifiers.length === 0) treasury.slashes += out.toVerifiers;
    // Jailed and below the minimum stake: it serves nothing more. A sybil comes back under a new name.
    deactivate(identity);
    if (identity.strategy === 'sybil') replace(identity);
  }

  /** A receipt sampled for audit joins its channel's batch (new rules) or is opened alone (old). */
  function sample(call: Call) {
    const identity = call.identity;
    const bad = call.cheated ? 1 : 0;
    if (oldRules || p.court.batchSize === 1) return openAudit(identity, { count: 1, bad }, false);
    const batch = identity.batch;
    batch.count++;
    batch.bad += bad;
    if (batch.count === 1) queue.push(now + p.court.batchSeconds, { kind: 'batch', identity, batch });
    if (batch.count >= p.court.batchSize) {
      identity.batch = { count: 0, bad: 0 };
      openAudit(identity, batch, false);
    }
  }

  function onBatch(identity: Identity, batch: Batch) {
    // Already opened when it filled up.
    if (identity.batch !== batch) return;
    identity.batch = { count: 0, bad: 0 };
    openAudit(identity, batch, false);
  }

  /**
   * After a provider's first upheld failure the payer audits every receipt of it that it holds
   * and no audit has covered since the last pass (batches of `batchSize`, one receipt each under
   * the old rules): their buyers learn which answers were wrong (the gateway can re-serve them),
   * and each failed batch takes what stake is left. The court judges them like any audit.
   */
  function sweep(identity: Identity) {
    if (!p.sweepAfterConviction || identity.swept) return;
    identity.swept = true;
    const held = identity.unaudited;
    identity.unaudited = { count: 0, bad: 0 };
    if (held.count === 0) return;
    const size = oldRules ? 1 : p.court.batchSize;
    const batches: Batch[] = [];
    for (let left = held.count; left > 0; left -= size) batches.push({ count: Math.min(size, left), bad: 0 });
    // Which receipts were wrong is unknown to the payer: spread them over the batches at random.
    for (let k = 0; k < held.bad; k++) {
      for (;;) {
        const b = batches[chance.int(batches.length)]!;
        if (b.bad < b.count) {
          b.bad++;
          break;
        }
      }
    }
    for (const b of batches) openAudit(identity, b, false, true);
  }

  /** Bloaters push their model's offer list past one draw's gas (old rules) once they start cheating. */
  function bloat(identity: Identity) {
    const model = identity.model;
    const perDraw = Math.floor((p.court.blockGasLimit - p.court.drawGasBase) / p.court.drawGasPerOffer) + 1;
    const needed = perDraw - activeByModel[model]!.length - fakeOffers[model]!;
    if (needed <= 0) return;
    if (!oldRules) {
      // setOffer needs the minimum stake: the first fake's offer reverts and it stops there.
      debit(identity, 'attackCosts', p.attack.fakeOfferCost);
      bloatTried[model] = 1;
      return;
    }
    debit(identity, 'attackCosts', needed * p.attack.fakeOfferCost);
    fakeOffers[model]! += needed;
  }
  const bloatTried = new Uint8Array(p.models);

  function onComplete(call: Call) {
    const { identity } = call;
    identity.inFlight--;
    if (call.timedOut) {
      observe(identity, { kind: 'timeout' });
      if (call.canary) return;
      if (call.attempt + 1 < p.maxAttempts) {
        const next = route(identity.model, identity);
        if (next) return dispatch(next, false, call.attempt + 1);
      }
      unserved++;
      return;
    }
    observe(identity, { kind: 'delivered', latencyMs: call.latencyMs });
    const t = totals[identity.strategy];
    const fullCost = identity.costPerCall;
    const spent = call.cheated ? fullCost * p.cheatCostFactor : fullCost;
    credit(identity, 'revenue', identity.price * feeShare);
    debit(identity, 'computeCost', spent);
    actorServing[identity.actor]! += identity.price * feeShare - spent;
    t.costSaved += fullCost - spent;
    treasury.fees += identity.price * (1 - feeShare);
    if (call.cheated) {
      t.cheats++;
      if (identity.strategy === 'bloating' && !bloatTried[identity.model] && identity.active) bloat(identity);
    }
    if (call.canary) {
      t.canaryCalls++;
      if (call.cheated) t.canaryCheats++;
      canaryWork++;
      treasury.canaryPay += identity.price;
      observe(identity, { kind: 'canary', passed: !call.cheated });
      if (call.cheated) {
        // The canary service knows the answer: it opens the audit that gets the provider slashed.
        openAudit(identity, { count: 1, bad: 1 }, true);
      }
      return;
    }
    t.organicCalls++;
    usefulWork++;
    if (chance() < policy.getAuditRate(identity.score)) sample(call);
    else {
      identity.unaudited.count++;
      if (call.cheated) identity.unaudited.bad++;
    }
    if (call.cheated) organicCheats[identity.strategy]++;
  }
  const organicCheats = Object.fromEntries(STRATEGIES.map((s) => [s, 0])) as Record<Strategy, number>;

  function onArrival() {
    issued++;
    const model = arrivals.int(p.models);
    const identity = route(model, undefined);
    if (identity) {
      if (best[identity.actor]) windowBest++;
      dispatch(identity, false, 0);
      // The network's canary service sends this provider a known-answer call now and then.
      // It is a call like any other: a provider cannot tell it apart by waiting for a free slot.
      if (chance() < policy.getCanaryRate(identity.score)) dispatch(identity, true, 0);
    } else unserved++;
    if (++windowCalls === p.window) {
      const share = windowBest / windowCalls;
      bestShareByWindow.push(share);
      if (callsToBestShare === undefined && share >= 0.8) callsToBestShare = issued;
      windowCalls = 0;
      windowBest = 0;
    }
    if (issued < p.calls) queue.push(now - Math.log(1 - arrivals()) / p.callsPerSecond, { kind: 'arrival' });
  }

  queue.push(0, { kind: 'arrival' });
  // Events keep flowing after the last call until every verdict is in: cheats are still paid for.
  for (let next = queue.pop(); next; next = queue.pop()) {
    now = next.time;
    const e = next.event;
    switch (e.kind) {
      case 'arrival':
        onArrival();
        break;
      case 'complete':
        onComplete(e.call);
        break;
      case 'batch':
        onBatch(e.identity, e.batch);
        break;
      case 'draw':
        onDraw(e.audit);
        break;
      case 'verdict':
        onVerdict(e.audit);
        break;
      case 'panel':
        onPanel(e.audit);
        break;
    }
  }

  for (const s of STRATEGIES) {
    const t = totals[s];
    t.undetectedCheats = organicCheats[s] - caughtCheats[s];
    t.profit = t.revenue - t.computeCost - t.slashed - t.registration - t.attackCosts - t.verifierPenalties + t.bounties + t.verificationPay;
  }
  return {
    parameters: p,
    byStrategy: totals,
    actorProfit,
    actorServing,
    actorVerifying,
    actorStrategy: strategies,
    usefulWork,
    auditWork,
    panelWork,
    sweepWork,
    canaryWork,
    audits,
    auditedReceipts,
    panels,
    stuckAudits,
    cancelledAudits,
    unserved,
    callsToBestShare,
    bestShareByWindow,
    treasury,
    epochRoot: getEpochRoot(router.getScores()),
    simulatedSeconds: now,
  };
}
