import { describe, expect, it } from 'vitest';
import { defaultSlashingParameters, getBreakEvenStake, getCheatingExpectedValue, getSlashOutcome } from './slashingEconomics.ts';

describe('slashing economics', () => {
  it('splits a slash between buyer, verifier and treasury without losing tokens', () => {
    const out = getSlashOutcome(defaultSlashingParameters, 100);
    expect(out.slashed).toBe(50);
    expect(out.toBuyer + out.toVerifier + out.toTreasury).toBeCloseTo(50);
    expect(out.remainingStake).toBe(50);
  });

  it('refuses a split that does not add up to 1', () => {
    expect(() => getSlashOutcome({ ...defaultSlashingParameters, split: { buyer: 0.5, verifier: 0.5, treasury: 0.5 } }, 100)).toThrow(RangeError);
  });

  it('makes cheating lose exactly when detection × loss exceeds the gain', () => {
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: 11 })).toBeCloseTo(-1);
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: 9 })).toBeCloseTo(1);
    const stake = getBreakEvenStake({ gainPerCheat: 1, detectionPerCheat: 0.1, slashFraction: 0.5 });
    expect(stake).toBeCloseTo(20);
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: stake * 0.5 })).toBeCloseTo(0);
  });
});
