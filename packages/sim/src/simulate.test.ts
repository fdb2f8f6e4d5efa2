import { describe, expect, it } from 'vitest';
import { getEconomicsReport } from './report.ts';
import { ALL_HONEST_MIX, defaultSimParameters, simulate, STRATEGIES } from './simulate.ts';

const small = defaultSimParameters({ providers: 300, calls: 20_000, seed: 7 });
const allHonest = { ...small, mix: ALL_HONEST_MIX };

describe('simulate', () => {
  const mixed = simulate(small);

  it('is a pure function of its parameters and seed', () => {
    const again = simulate(small);
    expect(again.byStrategy).toEqual(mixed.byStrategy);
    expect(again.epochRoot).toBe(mixed.epochRoot);
    expect(simulate({ ...small, seed: 8 }).epochRoot).not.toBe(mixed.epochRoot);
  });

  it('serves every call it can and accounts for every organic call delivered', () => {
    const organic = STRATEGIES.reduce((n, s) => n + mixed.byStrategy[s].organicCalls, 0);
    expect(organic).toBe(mixed.usefulWork);
    expect(organic + mixed.unserved).toBeLessThanOrEqual(small.calls);
    expect(organic).toBeGreaterThan(small.calls * 0.95);
  });

  it('makes cheating lose money at the default audit rate and stake', () => {
    for (const s of ['always', 'unwatched', 'colluding', 'sybil'] as const) {
      expect(mixed.byStrategy[s].caught).toBeGreaterThan(0);
      expect(mixed.byStrategy[s].profit).toBeLessThan(0);
    }
    const cheaters = STRATEGIES.filter((s) => s !== 'honest').reduce((sum, s) => sum + mixed.byStrategy[s].profit, 0);
    expect(cheaters).toBeLessThan(0);
    expect(mixed.byStrategy.honest.profit).toBeGreaterThan(0);
    expect(mixed.byStrategy.honest.caught).toBe(0);
  });

  it('lets cheating pay when nobody audits and no canary is sent', () => {
    const unwatched = simulate({ ...small, audit: { ...small.audit, baseRate: 0, newcomerRate: 0, suspectRate: 0, canaryRate: 0, newcomerCanaryRate: 0, probationCanaryRate: 0 } });
    expect(unwatched.byStrategy.always.caught).toBe(0);
    expect(unwatched.byStrategy.always.profit).toBeGreaterThan(0);
    expect(unwatched.auditWork + unwatched.canaryWork).toBe(0);
  });

  it('reports overhead, honest income against the all-honest world and routing convergence', () => {
    const report = getEconomicsReport(mixed, simulate(allHonest));
    expect(report.rows.map((r) => r.strategy)).toEqual([...STRATEGIES]);
    expect(report.overhead.mixed.total).toBeGreaterThan(0);
    expect(report.overhead.mixed.total).toBeLessThan(0.2);
    expect(report.honestIncome.allHonest).toBeGreaterThan(0);
    expect(report.callsToBestShare.allHonest).toBeDefined();
    expect(report.rows.find((r) => r.strategy === 'sybil')!.identities).toBeGreaterThan(report.rows.find((r) => r.strategy === 'sybil')!.actors);
  });
});
