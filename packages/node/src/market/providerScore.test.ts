import { describe, expect, it } from 'vitest';
import { createProviderScore, getScoreSummary, recordObservation } from './providerScore.ts';

const provider = '0x00000000000000000000000000000000000000a1';
const modelId = `0x${'11'.repeat(32)}` as const;
const fresh = () => createProviderScore({ provider, modelId, price: 1000, quotedLatencyMs: 500 });

describe('provider scores', () => {
  it('start a newcomer at the prior: neutral quality, its quoted latency', () => {
    const s = getScoreSummary(fresh());
    expect(s.calls).toBe(0);
    expect(s.expectedLatencyMs).toBe(500);
    expect(s.auditPassRate).toBeCloseTo(0.95);
    expect(s.deliveryRate).toBeCloseTo(0.9);
  });

  it('go down on a failed audit or canary and up on passes', () => {
    const base = getScoreSummary(fresh());
    const failed = getScoreSummary(recordObservation(fresh(), { kind: 'audit', passed: false }));
    const passed = getScoreSummary(recordObservation(fresh(), { kind: 'audit', passed: true }));
    const canaryFailed = getScoreSummary(recordObservation(fresh(), { kind: 'canary', passed: false }));
    expect(failed.auditPassRate).toBeLessThan(base.auditPassRate);
    expect(failed.value).toBeLessThan(base.value);
    expect(passed.value).toBeGreaterThan(base.value);
    expect(canaryFailed.quality).toBeLessThan(base.quality);
  });

  it('go down on timeouts and up on deliveries', () => {
    const late = fresh();
    const good = fresh();
    for (let i = 0; i < 20; i++) {
      recordObservation(late, { kind: 'timeout' });
      recordObservation(good, { kind: 'delivered', latencyMs: 500 });
    }
    expect(getScoreSummary(late).deliveryRate).toBeLessThan(0.5);
    expect(getScoreSummary(good).deliveryRate).toBeGreaterThan(0.9);
  });

  it('learn the real latency whatever was quoted', () => {
    const liar = fresh();
    for (let i = 0; i < 200; i++) recordObservation(liar, { kind: 'delivered', latencyMs: 1500 });
    const s = getScoreSummary(liar);
    expect(s.expectedLatencyMs).toBeGreaterThan(1450);
    expect(s.value).toBeLessThan(getScoreSummary(fresh()).value / 2);
  });

  it('value halves when the price doubles', () => {
    const cheap = getScoreSummary(fresh());
    const dear = getScoreSummary(recordObservation(fresh(), { kind: 'price', price: 2000 }));
    expect(dear.value).toBeCloseTo(cheap.value / 2);
  });

  it('refuse a non-positive price', () => {
    expect(() => createProviderScore({ provider, modelId, price: 0, quotedLatencyMs: 1 })).toThrow(RangeError);
  });
});
