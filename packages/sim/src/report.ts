import { STRATEGIES, type SimResult, type Strategy } from './simulate.ts';

/** One strategy's line of the economics table. */
export type StrategyRow = {
  strategy: Strategy;
  actors: number;
  identities: number;
  /** Share of identities slashed. */
  caughtShare: number;
  callsPerIdentity: number;
  cheatsPerIdentity: number;
  profitPerIdentity: number;
  profitPerCall: number;
  /** Mean over the strategy's actors of (profit here − the same actor's profit in the all-honest world). */
  versusHonestPerActor: number;
  /** Slashes per cheat. */
  detectionPerCheat: number;
  /** Compute saved per cheat ÷ detection: the smallest slash at which cheating stops paying. */
  breakEvenSlash: number;
  /** Audits of its bad receipts that ended without a slash (squatted, steered, stuck, overturned), per identity. */
  escapedPerIdentity: number;
  /** Failed audits whose slash found the stake withdrawn, per identity. */
  dodgedPerIdentity: number;
};

export type EconomicsReport = {
  rows: StrategyRow[];
  /** Σ serving income (payments − compute) of the actors honest in the mixed world, there ÷ in the all-honest world. */
  honestIncomeRatio: number;
  honestIncome: { mixed: number; allHonest: number };
  /** What those honest actors earned as verifiers (bounties + pay − compute − penalties). */
  honestVerifying: { mixed: number; allHonest: number };
  /** (audit + panel + canary work) ÷ useful work. */
  /** (audit + panel + sweep + canary work) ÷ useful work. */
  overhead: {
    mixed: { audits: number; sweeps: number; canaries: number; total: number };
    allHonest: { audits: number; sweeps: number; canaries: number; total: number };
  };
  callsToBestShare: { mixed: number | undefined; allHonest: number | undefined };
  finalBestShare: { mixed: number; allHonest: number };
  /** Cheated organic answers buyers kept and never learnt of (no upheld failed audit covered them), ÷ organic calls. */
  undetectedCheatShare: number;
  /** Cheated organic answers delivered at all, ÷ organic calls. */
  cheatShare: number;
  unservedShare: number;
  rules: string;
};

/**
 * Compares a mixed world with the all-honest world of the same providers.
 *
 * @example
 * const report = getEconomicsReport(simulate(params), simulate({ ...params, mix: allHonest }))
 */
export function getEconomicsReport(mixed: SimResult, allHonest: SimResult): EconomicsReport {
  const rows = STRATEGIES.filter((s) => mixed.byStrategy[s].actors > 0).map((strategy): StrategyRow => {
    const t = mixed.byStrategy[strategy];
    const calls = t.organicCalls + t.canaryCalls;
    let delta = 0;
    for (let a = 0; a < mixed.actorStrategy.length; a++) {
      if (mixed.actorStrategy[a] === strategy) delta += mixed.actorProfit[a]! - allHonest.actorProfit[a]!;
    }
    const detection = t.cheats > 0 ? t.caught / t.cheats : 0;
    return {
      strategy,
      actors: t.actors,
      identities: t.identities,
      caughtShare: t.caught / t.identities,
      callsPerIdentity: calls / t.identities,
      cheatsPerIdentity: t.cheats / t.identities,
      profitPerIdentity: t.profit / t.identities,
      profitPerCall: calls > 0 ? t.profit / calls : 0,
      versusHonestPerActor: delta / t.actors,
      detectionPerCheat: detection,
      breakEvenSlash: t.cheats > 0 && detection > 0 ? t.costSaved / t.cheats / detection : Number.NaN,
      escapedPerIdentity: t.auditsEscaped / t.identities,
      dodgedPerIdentity: t.slashesDodged / t.identities,
    };
  });
  let honestMixed = 0;
  let honestAlone = 0;
  let verifyingMixed = 0;
  let verifyingAlone = 0;
  for (let a = 0; a < mixed.actorStrategy.length; a++) {
    if (mixed.actorStrategy[a] !== 'honest') continue;
    honestMixed += mixed.actorServing[a]!;
    honestAlone += allHonest.actorServing[a]!;
    verifyingMixed += mixed.actorVerifying[a]!;
    verifyingAlone += allHonest.actorVerifying[a]!;
  }
  const overheadOf = (r: SimResult) => ({
    audits: (r.auditWork + r.panelWork) / r.usefulWork,
    sweeps: r.sweepWork / r.usefulWork,
    canaries: r.canaryWork / r.usefulWork,
    total: (r.auditWork + r.panelWork + r.sweepWork + r.canaryWork) / r.usefulWork,
  });
  const undetected = STRATEGIES.reduce((n, s) => n + mixed.byStrategy[s].undetectedCheats, 0);
  const cheats = STRATEGIES.reduce((n, s) => n + mixed.byStrategy[s].cheats - mixed.byStrategy[s].canaryCheats, 0);
  return {
    rows,
    honestIncomeRatio: honestMixed / honestAlone,
    honestIncome: { mixed: honestMixed, allHonest: honestAlone },
    honestVerifying: { mixed: verifyingMixed, allHonest: verifyingAlone },
    overhead: { mixed: overheadOf(mixed), allHonest: overheadOf(allHonest) },
    callsToBestShare: { mixed: mixed.callsToBestShare, allHonest: allHonest.callsToBestShare },
    finalBestShare: { mixed: mixed.bestShareByWindow.at(-1) ?? 0, allHonest: allHonest.bestShareByWindow.at(-1) ?? 0 },
    undetectedCheatShare: undetected / mixed.usefulWork,
    cheatShare: cheats / mixed.usefulWork,
    unservedShare: mixed.unserved / mixed.parameters.calls,
    rules: mixed.parameters.rules,
  };
}

const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const pct = (x: number) => `${(x * 100).toFixed(2)} %`;

/** The report as the markdown the CLI prints and docs/economics.md records. */
export function formatEconomicsReport(report: EconomicsReport): string {
  const lines = [
    '| strategy | actors | identities | slashed | calls / identity | cheats / identity | profit / identity | profit / call | vs same actors honest | slashes / cheat | break-even slash | bad audits escaped / identity | slashes dodged / identity |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...report.rows.map((r) =>
      `| ${r.strategy} | ${r.actors} | ${r.identities} | ${pct(r.caughtShare)} | ${fmt(r.callsPerIdentity, 1)} | ${fmt(r.cheatsPerIdentity, 1)} | ${fmt(r.profitPerIdentity, 4)} | ${fmt(r.profitPerCall, 5)} | ${fmt(r.versusHonestPerActor, 4)} | ${fmt(r.detectionPerCheat, 4)} | ${fmt(r.breakEvenSlash, 4)} | ${fmt(r.escapedPerIdentity, 2)} | ${fmt(r.dodgedPerIdentity, 2)} |`,
    ),
    '',
    `honest providers' serving income (payments − compute): ${fmt(report.honestIncome.mixed, 2)} with cheaters vs ${fmt(report.honestIncome.allHonest, 2)} in the all-honest world (ratio ${fmt(report.honestIncomeRatio, 3)}); ` +
      `as verifiers they earned ${fmt(report.honestVerifying.mixed, 2)} (bounties included) vs ${fmt(report.honestVerifying.allHonest, 2)}`,
    `verification overhead (share of useful compute): audits ${pct(report.overhead.mixed.audits)} + sweeps of convicted providers ${pct(report.overhead.mixed.sweeps)} + canaries ${pct(report.overhead.mixed.canaries)} = ${pct(report.overhead.mixed.total)} (all-honest world: ${pct(report.overhead.allHonest.total)})`,
    `router: organic calls until ≥ 80 % of a window goes to the best-value set: ${report.callsToBestShare.mixed ?? 'not reached'} (all-honest world: ${report.callsToBestShare.allHonest ?? 'not reached'}); share in the last window ${pct(report.finalBestShare.mixed)} (all-honest ${pct(report.finalBestShare.allHonest)})`,
    `cheated answers buyers kept without ever learning: ${pct(report.undetectedCheatShare)} of organic calls (cheated answers delivered: ${pct(report.cheatShare)}); calls no provider could take: ${pct(report.unservedShare)}`,
  ];
  return lines.join('\n');
}
