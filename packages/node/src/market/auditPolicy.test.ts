import { describe, expect, it } from 'vitest';
import { createAuditPolicy } from './auditPolicy.ts';
import { createProviderScore, recordObservation } from './providerScore.ts';

const score = () => createProviderScore({ provider: '0x00000000000000000000000000000000000000b2', modelId: `0x${'33'.repeat(32)}`, price: 1, quotedLatencyMs: 1 });

describe('audit policy', () => {
  const policy = createAuditPolicy({ baseRate: 0.02, newcomerRate: 0.1, newcomerCalls: 5, canaryRate: 0.01, newcomerCanaryRate: 0.04, suspectRate: 0.3 });

  it('watches newcomers harder until they have served newcomerCalls calls', () => {
    const s = score();
    expect(policy.getAuditRate(s)).toBe(0.1);
    expect(policy.getCanaryRate(s)).toBe(0.04);
    for (let i = 0; i < 5; i++) recordObservation(s, { kind: 'delivered', latencyMs: 1 });
    expect(policy.getAuditRate(s)).toBe(0.02);
    expect(policy.getCanaryRate(s)).toBe(0.01);
  });

  it('watches a provider with a failed audit hardest', () => {
    const s = score();
    for (let i = 0; i < 5; i++) recordObservation(s, { kind: 'delivered', latencyMs: 1 });
    recordObservation(s, { kind: 'canary', passed: false });
    expect(policy.getAuditRate(s)).toBe(0.3);
  });

  it('refuses rates outside [0, 1]', () => {
    expect(() => createAuditPolicy({ baseRate: 1.5 })).toThrow(RangeError);
  });

  it('sends a provider on probation canaries at the probation rate for its first calls only', () => {
    const probation = createAuditPolicy({ newcomerCalls: 5, newcomerCanaryRate: 0.04, canaryRate: 0.01, probationCalls: 2, probationCanaryRate: 0.5 });
    const s = score();
    expect(probation.getCanaryRate(s)).toBe(0.5);
    recordObservation(s, { kind: 'delivered', latencyMs: 1 });
    expect(probation.getCanaryRate(s)).toBe(0.5);
    recordObservation(s, { kind: 'timeout' });
    expect(probation.getCanaryRate(s)).toBe(0.04);
    // Off by default: today's rates.
    expect(policy.parameters.probationCalls).toBe(0);
    expect(policy.getCanaryRate(score())).toBe(0.04);
  });
});
