import { describe, expect, it } from 'vitest';
import { defaultSlashingParameters, getBreakEvenSlash, getCheatingExpectedValue, getSlashOutcome } from './slashingEconomics.ts';

describe('slashing economics', () => {
  it('splits a slash between buyer, verifiers and treasury without losing tokens', () => {
    const out = getSlashOutcome(defaultSlashingParameters, 100);
    expect(out).toEqual({ slashed: 50, toBuyer: 15, toVerifiers: 20, toTreasury: 15, remainingStake: 50 });
  });

  it('takes no more than the stake there is', () => {
    expect(getSlashOutcome(defaultSlashingParameters, 20).slashed).toBe(20);
    expect(getSlashOutcome(defaultSlashingParameters, 20).remainingStake).toBe(0);
  });

  it('refuses shares that add up to more than the slash', () => {
    expect(() => getSlashOutcome({ ...defaultSlashingParameters, refundBps: 6000, bountyBps: 5000 }, 100)).toThrow(RangeError);
  });

  it('makes cheating lose exactly when detection × loss exceeds the gain', () => {
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: 11 })).toBeCloseTo(-1);
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: 9 })).toBeCloseTo(1);
    const slash = getBreakEvenSlash({ gainPerCheat: 1, detectionPerCheat: 0.1 });
    expect(slash).toBeCloseTo(10);
    expect(getCheatingExpectedValue({ gainPerCheat: 1, detectionPerCheat: 0.1, slashLoss: slash })).toBeCloseTo(0);
  });
});
