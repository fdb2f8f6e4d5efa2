import type { Address, Hex } from 'viem';
import {
  createAuditPolicy,
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
 */
export type Strategy = 'honest' | 'always' | 'sometimes' | 'unwatched' | 'colluding' | 'sybil';

export const STRATEGIES: readonly Strategy[] = ['honest', 'always', 'sometimes', 'unwatched', 'colluding', 'sybil'];

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
  sometimesRate: number;
  unwatchedSuspicion: number;
  canaryLeak: number;
  /** Probability a colluding verifier approves a fellow colluder's cheat. */
  collusionApproveRate: number;
  /** Share of passed audits the network's auditor re-checks with a panel of 3 (catches collusion). */
  secondOpinionRate: number;
  audit: Required<AuditPolicyInit>;
  slashing: SlashingParameters;
  router: { explorationShare: number; newcomerCalls: number; eliteSize: number; refreshEvery: number };
  /** Share of models verified in `tolerance` mode (LLMs); the rest `exact`. */
  toleranceShare: number;
  /** Tolerance verification (one prefill over prompt + output) as a share of generating the call. */
  prefillFactor: number;
  /** Compute a cheated call still spends, as a share of an honest one. */
  cheatCostFactor: number;
  /** How much faster a cheated call answers. */
  cheatSpeedup: number;
  /** Seconds from a receipt to a verifier's verdict (draw, commit, reveal). */
  verdictDelaySeconds: number;
  /** Seconds an escalation to the panel takes. */
  panelDelaySeconds: number;
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
    mix: { honest: 0.8, always: 0.04, sometimes: 0.04, unwatched: 0.04, colluding: 0.04, sybil: 0.04 },
    sometimesRate: 0.1,
    unwatchedSuspicion: 0.3,
    canaryLeak: 0,
    collusionApproveRate: 1,
    secondOpinionRate: 0.05,
    audit: createAuditPolicy({ baseRate: 0.02, newcomerRate: 0.1, newcomerCalls: 200, suspectRate: 0.25, canaryRate: 0.01, newcomerCanaryRate: 0.03 }).parameters,
    slashing: defaultSlashingParameters,
    router: { explorationShare: 0.05, newcomerCalls: 10, eliteSize: 64, refreshEvery: 1000 },
    toleranceShare: 0.5,
    prefillFactor: 0.2,
    cheatCostFactor: 0.1,
    cheatSpeedup: 2,
    verdictDelaySeconds: 600,
    panelDelaySeconds: 1800,
    timeoutSeconds: 10,
    maxAttempts: 3,
    priceMedian: 0.002,
    latencyMedianMs: 800,
    bestShare: 0.1,
    window: Math.max(1000, Math.round(calls / 200)),
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
  organicCalls: number;
  canaryCalls: number;
  cheats: number;
  /** Cheated organic calls buyers received and no audit or canary caught. */
  undetectedCheats: number;
  revenue: number;
  computeCost: number;
  /** What cheating saved in compute. */
  costSaved: number;
  slashed: number;
  registration: number;
  /** Penalties paid as an overturned verifier. */
  verifierPenalties: number;
  /** Bounties earned as a verifier. */
  bounties: number;
  /** Payment for verification work. */
  verificationPay: number;
  /** revenue − compute − slashed − registration − penalties + bounties + verification pay. */
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
  canaryWork: number;
  audits: number;
  panels: number;
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
  /** Position in its model's active list (for O(1) removal). */
  slot: number;
  score: ProviderScore;
};

type Call = { identity: Identity; canary: boolean; cheated: boolean; timedOut: boolean; attempt: number; latencyMs: number };

type SimEvent =
  | { kind: 'arrival' }
  | { kind: 'complete'; call: Call }
  | { kind: 'verdict'; call: Call }
  | { kind: 'panel'; call: Call; verifier: Identity; firstVerdictPassed: boolean }
  | { kind: 'slash'; identity: Identity; verifiers: Identity[] };

const emptyTotals = (): StrategyTotals => ({
  actors: 0,
  identities: 0,
  caught: 0,
  organicCalls: 0,
  canaryCalls: 0,
  cheats: 0,
  undetectedCheats: 0,
  revenue: 0,
  computeCost: 0,
  costSaved: 0,
  slashed: 0,
  registration: 0,
  verifierPenalties: 0,
  bounties: 0,
  verificationPay: 0,
  profit: 0,
});

/** Which strategy each of `providers` providers follows, drawn from `mix` with its own stream. */
function drawStrategies(parameters: SimParameters): Strategy[] {
  const rng = createRng(parameters.seed, 'strategies');
  const total = STRATEGIES.reduce((sum, s) => sum + Math.max(0, parameters.mix[s]), 0);
  if (!(total > 0)) throw new RangeError('mix must give some share to at least one strategy');
  return Array.from({ length: parameters.providers }, () => {
    let u = rng() * total;
    for (const s of STRATEGIES) {
      u -= Math.max(0, parameters.mix[s]);
      if (u < 0) return s;
    }
    return 'honest';
  });
}

/**
 * Runs the market as a discrete-event simulation: buyers' calls arrive as a Poisson stream, the
 * node's router picks a provider for each, providers answer (or cheat, or time out) after their
 * latency, receipts are audited at the node's audit policy rate and verdicts land after the
 * court's delay, canaries are sent at the policy's rate, confirmed cheats are slashed with the
 * node's slashing parameters and jailed for good. The scoring, routing, audit sampling and slash
 * split are the `@agora/node` market code itself. Deterministic for a given parameter set.
 *
 * @example
 * const result = simulate(defaultSimParameters({ providers: 200, calls: 5_000, seed: 7 }))
 */
export function simulate(parameters: SimParameters): SimResult {
  checkSlashingParameters(parameters.slashing);
  const p = parameters;
  const population = createRng(p.seed, 'population');
  const routing = createRng(p.seed, 'routing');
  const arrivals = createRng(p.seed, 'arrivals');
  const chance = createRng(p.seed, 'chance');
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

  function register(actor: number): Identity {
    const t = traits[actor]!;
    const strategy = strategies[actor]!;
    const index = identities.length;
    const address = `0x${(index + 1).toString(16).padStart(40, '0')}` as Address;
    const modelId = modelIds[t.model]!;
    const score = router.addOffer({ provider: address, modelId, price: t.price, quotedLatencyMs: t.latencyMs * t.quoteFactor });
    const identity: Identity = { index, address, actor, strategy, modelId, ...t, stake: p.slashing.minStake, inFlight: 0, active: true, slot: activeByModel[t.model]!.length, score };
    identities.push(identity);
    byAddress.set(address, identity);
    activeByModel[t.model]!.push(identity);
    totals[strategy].identities++;
    totals[strategy].registration += p.slashing.registrationCost;
    actorProfit[actor]! -= p.slashing.registrationCost;
    return identity;
  }

  function deactivate(identity: Identity) {
    identity.active = false;
    router.removeOffer(identity.address, identity.modelId);
    const list = activeByModel[identity.model]!;
    const last = list.pop()!;
    if (last !== identity) {
      list[identity.slot] = last;
      last.slot = identity.slot;
    }
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
  };
  const best = new Set<number>();
  for (let m = 0; m < p.models; m++) {
    const ranked = identities
      .filter((i) => i.model === m)
      .map((i) => ({ i, value: ((1 - i.timeoutRate) * (1 - cheatShare[i.strategy]) * (1000 / i.latencyMs)) / i.price }))
      .sort((a, b) => b.value - a.value);
    for (const { i } of ranked.slice(0, Math.max(1, Math.round(ranked.length * p.bestShare)))) best.add(i.actor);
  }

  const queue = createEventQueue<SimEvent>();
  let now = 0;
  let issued = 0;
  let unserved = 0;
  let usefulWork = 0;
  let auditWork = 0;
  let panelWork = 0;
  let canaryWork = 0;
  let audits = 0;
  let panels = 0;
  const treasury = { fees: 0, slashes: 0, canaryPay: 0, verificationPay: 0 };
  const bestShareByWindow: number[] = [];
  let windowCalls = 0;
  let windowBest = 0;
  let callsToBestShare: number | undefined;

  const credit = (identity: Identity, field: 'revenue' | 'bounties' | 'verificationPay', amount: number) => {
    totals[identity.strategy][field] += amount;
    actorProfit[identity.actor]! += amount;
  };
  const debit = (identity: Identity, field: 'computeCost' | 'slashed' | 'verifierPenalties', amount: number) => {
    totals[identity.strategy][field] += amount;
    actorProfit[identity.actor]! -= amount;
  };

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
      default:
        return true;
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

  function route(model: number, attempt: number, exclude: Identity | undefined): Identity | undefined {
    const pick = router.pick(modelIds[model]!, {
      accept: (address) => {
        const identity = byAddress.get(address)!;
        return identity.inFlight < identity.slots && identity !== exclude;
      },
    });
    return pick && byAddress.get(pick.provider);
  }

  function randomVerifier(model: number, exclude: Identity): Identity | undefined {
    const list = activeByModel[model]!;
    for (let tries = 0; tries < 8 && list.length > 1; tries++) {
      const v = list[chance.int(list.length)]!;
      if (v !== exclude) return v;
    }
    return undefined;
  }

  /** Pays a verifier at its own cost for `work` units of re-execution. */
  function payVerification(verifier: Identity, work: number) {
    const amount = work * verifier.costPerCall;
    debit(verifier, 'computeCost', amount);
    credit(verifier, 'verificationPay', amount * 1.2);
    actorVerifying[verifier.actor]! += amount * 0.2;
    treasury.verificationPay += amount * 1.2;
  }

  function slash(identity: Identity, verifiers: Identity[]) {
    if (!identity.active) return;
    const out = getSlashOutcome(p.slashing, identity.stake);
    identity.stake = out.remainingStake;
    debit(identity, 'slashed', out.slashed);
    totals[identity.strategy].caught++;
    treasury.slashes += out.toTreasury;
    for (const v of verifiers) {
      credit(v, 'bounties', out.toVerifiers / verifiers.length);
      actorVerifying[v.actor]! += out.toVerifiers / verifiers.length;
    }
    // Canaries have no verifier: the bounty goes to the treasury that ran them.
    if (verifiers.length === 0) treasury.slashes += out.toVerifiers;
    deactivate(identity);
    if (identity.strategy === 'sybil') register(identity.actor);
  }

  function onComplete(call: Call) {
    const { identity } = call;
    identity.inFlight--;
    if (call.timedOut) {
      router.record(identity.address, identity.modelId, { kind: 'timeout' });
      if (call.canary) return;
      if (call.attempt + 1 < p.maxAttempts) {
        const next = route(identity.model, call.attempt + 1, identity);
        if (next) return dispatch(next, false, call.attempt + 1);
      }
      unserved++;
      return;
    }
    router.record(identity.address, identity.modelId, { kind: 'delivered', latencyMs: call.latencyMs });
    const t = totals[identity.strategy];
    const fullCost = identity.costPerCall;
    const spent = call.cheated ? fullCost * p.cheatCostFactor : fullCost;
    credit(identity, 'revenue', identity.price * feeShare);
    debit(identity, 'computeCost', spent);
    actorServing[identity.actor]! += identity.price * feeShare - spent;
    t.costSaved += fullCost - spent;
    treasury.fees += identity.price * (1 - feeShare);
    if (call.cheated) t.cheats++;
    if (call.canary) {
      t.canaryCalls++;
      canaryWork++;
      treasury.canaryPay += identity.price;
      router.record(identity.address, identity.modelId, { kind: 'canary', passed: !call.cheated });
      // A known answer needs no verifier: the canary's sender opens the audit and wins it.
      if (call.cheated) queue.push(now + p.verdictDelaySeconds, { kind: 'slash', identity, verifiers: [] });
      return;
    }
    t.organicCalls++;
    usefulWork++;
    if (chance() < policy.getAuditRate(identity.score)) {
      audits++;
      queue.push(now + p.verdictDelaySeconds, { kind: 'verdict', call });
    } else if (call.cheated) {
      t.undetectedCheats++;
    }
  }

  function onVerdict(call: Call) {
    const { identity } = call;
    const verifier = randomVerifier(identity.model, identity);
    if (!verifier) return;
    const work = verifyFactor(identity.model);
    auditWork += work;
    payVerification(verifier, work);
    if (!call.cheated) {
      router.record(identity.address, identity.modelId, { kind: 'audit', passed: true });
      return;
    }
    const colluding = identity.strategy === 'colluding' && verifier.strategy === 'colluding';
    if (colluding && chance() < p.collusionApproveRate) {
      totals[identity.strategy].undetectedCheats++;
      router.record(identity.address, identity.modelId, { kind: 'audit', passed: true });
      if (chance() < p.secondOpinionRate) queue.push(now + p.panelDelaySeconds, { kind: 'panel', call, verifier, firstVerdictPassed: true });
      return;
    }
    // The failing verdict is public (AuditCourt emits it) before any escalation is decided.
    router.record(identity.address, identity.modelId, { kind: 'audit', passed: false });
    // Only a colluder escalates a failed audit: the others know a panel of honest re-executions upholds it.
    if (identity.strategy === 'colluding') queue.push(now + p.panelDelaySeconds, { kind: 'panel', call, verifier, firstVerdictPassed: false });
    else slash(identity, [verifier]);
  }

  function onPanel(call: Call, verifier: Identity, firstVerdictPassed: boolean) {
    const { identity } = call;
    const work = verifyFactor(identity.model);
    const panel: Identity[] = [];
    for (let k = 0; k < 3; k++) {
      const member = randomVerifier(identity.model, identity);
      if (!member) continue;
      panel.push(member);
      panelWork += work;
      payVerification(member, work);
    }
    panels++;
    const approving = panel.filter((m) => identity.strategy === 'colluding' && m.strategy === 'colluding' && chance() < p.collusionApproveRate).length;
    const upheldCheat = panel.length - approving > approving;
    if (upheldCheat) {
      if (firstVerdictPassed) {
        debit(verifier, 'verifierPenalties', p.slashing.verifierPenalty);
        actorVerifying[verifier.actor]! -= p.slashing.verifierPenalty;
      }
      slash(identity, firstVerdictPassed ? panel : [verifier, ...panel]);
    } else if (!firstVerdictPassed) {
      // The honest verifier is overturned by a colluding majority and pays for it.
      debit(verifier, 'verifierPenalties', p.slashing.verifierPenalty);
      actorVerifying[verifier.actor]! -= p.slashing.verifierPenalty;
      totals[identity.strategy].undetectedCheats++;
    }
  }

  function onArrival() {
    issued++;
    const model = arrivals.int(p.models);
    const identity = route(model, 0, undefined);
    if (identity) {
      if (best.has(identity.actor)) windowBest++;
      dispatch(identity, false, 0);
      // The network's canary service sends this provider a known-answer call now and then.
      if (chance() < policy.getCanaryRate(identity.score) && identity.inFlight < identity.slots) dispatch(identity, true, 0);
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
      case 'verdict':
        onVerdict(e.call);
        break;
      case 'panel':
        onPanel(e.call, e.verifier, e.firstVerdictPassed);
        break;
      case 'slash':
        slash(e.identity, e.verifiers);
        break;
    }
  }

  for (const s of STRATEGIES) {
    const t = totals[s];
    t.profit = t.revenue - t.computeCost - t.slashed - t.registration - t.verifierPenalties + t.bounties + t.verificationPay;
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
    canaryWork,
    audits,
    panels,
    unserved,
    callsToBestShare,
    bestShareByWindow,
    treasury,
    epochRoot: getEpochRoot(router.getScores()),
    simulatedSeconds: now,
  };
}
