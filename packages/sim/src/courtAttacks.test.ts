import { describe, expect, it } from 'vitest';
import { COURT_ATTACKS, defaultSimParameters, simulate, STRATEGIES } from './simulate.ts';

// Two small worlds with every strategy (the default mix), one per court.
const params = defaultSimParameters({ providers: 1000, calls: 50_000, seed: 5 });
const fixed = simulate(params);
const old = simulate({ ...params, rules: 'old' });

describe('court attacks (issue 9)', () => {
  it('makes every cheating strategy lose money under the new rules', () => {
    for (const s of STRATEGIES) {
      if (s === 'honest') continue;
      expect(fixed.byStrategy[s].cheats, s).toBeGreaterThan(0);
      expect(fixed.byStrategy[s].caught, s).toBeGreaterThan(0);
      expect(fixed.byStrategy[s].profit, s).toBeLessThan(0);
    }
    expect(fixed.byStrategy.honest.profit).toBeGreaterThan(0);
    expect(fixed.byStrategy.honest.caught).toBe(0);
  });

  it('squatting: old rules let the cheater open the audits of its bad receipts first and pass on missing evidence', () => {
    expect(old.byStrategy.squatting.auditsEscaped).toBeGreaterThan(0);
    expect(old.byStrategy.squatting.caught).toBe(0);
    expect(old.byStrategy.squatting.attackCosts).toBeGreaterThan(0);
    expect(old.byStrategy.squatting.profit).toBeGreaterThan(0);
    // New rules: its opens revert (only the payer may open), so every failed audit is its own.
    expect(fixed.byStrategy.squatting.auditsEscaped).toBe(0);
  });

  it('steering: old rules let colluders toggle offers into the draw; the snapshot draw does not', () => {
    // Ten fellows per model, so that a panel majority is within their reach.
    const mix = { ...params.mix, steering: 0.1 };
    const steerOld = simulate({ ...params, rules: 'old', mix });
    const steerNew = simulate({ ...params, mix });
    expect(steerOld.byStrategy.steering.auditsEscaped).toBeGreaterThan(0);
    expect(steerOld.byStrategy.steering.caught).toBe(0);
    expect(steerOld.byStrategy.steering.attackCosts).toBeGreaterThan(0);
    expect(steerOld.byStrategy.steering.profit).toBeGreaterThan(0);
    expect(steerNew.byStrategy.steering.caught).toBeGreaterThan(0);
    expect(steerNew.byStrategy.steering.attackCosts).toBe(0);
    expect(steerNew.byStrategy.steering.profit).toBeLessThan(0);
  });

  it('bloating: zero-stake fakes push old draws past the block gas limit; new offers need stake', () => {
    expect(old.stuckAudits).toBeGreaterThan(0);
    expect(old.byStrategy.bloating.caught).toBe(0);
    expect(fixed.stuckAudits).toBe(0);
  });

  it('an old-rules draw over more offers than a block can loop over is stuck for every audit', () => {
    const court = { ...params.court, blockGasLimit: 200_000 };
    const crowded = simulate({ ...params, calls: 5_000, court, rules: 'old' });
    expect(crowded.stuckAudits).toBe(crowded.audits);
    expect(simulate({ ...params, calls: 5_000, court }).stuckAudits).toBe(0);
  });

  it('unbonding: old rules let the stake leave while an audit is open; new rules block the withdrawal', () => {
    expect(old.byStrategy.unbonding.slashesDodged).toBeGreaterThan(0);
    expect(old.byStrategy.unbonding.slashed).toBe(0);
    expect(fixed.byStrategy.unbonding.slashesDodged).toBe(0);
  });

  it('copying: only the new rules fine panellists who side with a fellow cheater', () => {
    const copyOld = simulate({ ...params, rules: 'old', mix: { ...params.mix, copying: 0.5 } });
    const copyNew = simulate({ ...params, mix: { ...params.mix, copying: 0.5 } });
    expect(copyOld.panels).toBeGreaterThan(0);
    expect(copyNew.byStrategy.copying.verifierPenalties).toBeGreaterThan(copyOld.byStrategy.copying.verifierPenalties);
  });

  it('lists the five court attacks as strategies', () => {
    expect(COURT_ATTACKS.every((s) => STRATEGIES.includes(s))).toBe(true);
  });
});
