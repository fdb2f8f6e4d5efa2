import { describe, expect, it } from 'vitest';
import type { Address } from 'viem';
import { createRouter } from './router.ts';

const modelId = `0x${'44'.repeat(32)}` as const;
const addr = (i: number) => `0x${i.toString(16).padStart(40, '0')}` as Address;

/** mulberry32: a small seeded generator, so these tests pick the same way every run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('router', () => {
  it('prefers the better-value provider after enough calls', () => {
    const router = createRouter({ explorationShare: 0.05, rng: seeded(1), newcomerCalls: 10, eliteSize: 4, refreshEvery: 50 });
    // Same quote and price; one really answers in 300 ms, the other in 900 ms and times out 20 % of the time.
    const fast = addr(1);
    const slow = addr(2);
    router.addOffer({ provider: fast, modelId, price: 1000, quotedLatencyMs: 500 });
    router.addOffer({ provider: slow, modelId, price: 1000, quotedLatencyMs: 500 });
    const rng = seeded(2);
    const counts = new Map<string, number>();
    for (let call = 0; call < 2000; call++) {
      const pick = router.pick(modelId)!;
      if (call >= 1000) counts.set(pick.provider, (counts.get(pick.provider) ?? 0) + 1);
      if (pick.provider === fast) router.record(fast, modelId, { kind: 'delivered', latencyMs: 300 });
      else if (rng() < 0.2) router.record(slow, modelId, { kind: 'timeout' });
      else router.record(slow, modelId, { kind: 'delivered', latencyMs: 900 });
    }
    expect(counts.get(fast) ?? 0).toBeGreaterThan(900);
  });

  it('prefers the cheaper of two equally good providers', () => {
    const router = createRouter({ rng: seeded(3), eliteSize: 4, refreshEvery: 20 });
    const cheap = addr(1);
    const dear = addr(2);
    router.addOffer({ provider: cheap, modelId, price: 1000, quotedLatencyMs: 500 });
    router.addOffer({ provider: dear, modelId, price: 3000, quotedLatencyMs: 500 });
    let cheapPicks = 0;
    for (let call = 0; call < 1000; call++) {
      const pick = router.pick(modelId)!;
      router.record(pick.provider, modelId, { kind: 'delivered', latencyMs: 500 });
      if (call >= 500 && pick.provider === cheap) cheapPicks++;
    }
    expect(cheapPicks).toBeGreaterThan(450);
  });

  it('gives a newcomer traffic through the exploration share even when established providers are better', () => {
    const router = createRouter({ explorationShare: 0.1, rng: seeded(4), newcomerCalls: 1000, eliteSize: 1, refreshEvery: 10 });
    const incumbent = addr(1);
    router.addOffer({ provider: incumbent, modelId, price: 1000, quotedLatencyMs: 500 });
    for (let i = 0; i < 1000; i++) router.record(incumbent, modelId, { kind: 'delivered', latencyMs: 100 });
    router.pick(modelId); // graduates the incumbent
    const newcomer = addr(2);
    router.addOffer({ provider: newcomer, modelId, price: 1000, quotedLatencyMs: 500 });
    let newcomerPicks = 0;
    let explored = 0;
    for (let call = 0; call < 2000; call++) {
      const pick = router.pick(modelId)!;
      if (pick.provider === newcomer) newcomerPicks++;
      if (pick.explored) explored++;
    }
    expect(newcomerPicks).toBeGreaterThan(100);
    expect(newcomerPicks).toBeLessThan(400);
    expect(explored).toBe(newcomerPicks);
  });

  it('gives no traffic to a removed offer and skips providers that cannot take the call', () => {
    const router = createRouter({ rng: seeded(5), newcomerCalls: 1 });
    router.addOffer({ provider: addr(1), modelId, price: 1000, quotedLatencyMs: 500 });
    router.addOffer({ provider: addr(2), modelId, price: 1000, quotedLatencyMs: 500 });
    router.addOffer({ provider: addr(3), modelId, price: 1000, quotedLatencyMs: 500 });
    router.removeOffer(addr(1), modelId);
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) {
      const pick = router.pick(modelId, { accept: (p) => p !== addr(2) })!;
      router.record(pick.provider, modelId, { kind: 'delivered', latencyMs: 500 });
      seen.add(pick.provider);
    }
    expect([...seen]).toEqual([addr(3)]);
    expect(router.pick(modelId, { accept: () => false })).toBeUndefined();
    expect(router.pick(`0x${'55'.repeat(32)}`)).toBeUndefined();
  });

  it('stops sending work to a provider with a failed canary unless told not to', () => {
    for (const quarantineFailures of [true, false]) {
      const router = createRouter({ rng: seeded(6), newcomerCalls: 1, quarantineFailures });
      router.addOffer({ provider: addr(1), modelId, price: 1000, quotedLatencyMs: 100 });
      router.addOffer({ provider: addr(2), modelId, price: 1000, quotedLatencyMs: 500 });
      router.record(addr(1), modelId, { kind: 'canary', passed: false });
      let picks = 0;
      for (let i = 0; i < 200; i++) if (router.pick(modelId)!.provider === addr(1)) picks++;
      if (quarantineFailures) expect(picks).toBe(0);
      else expect(picks).toBeGreaterThan(100);
    }
  });

  it('explores the best public offers first when sampling newcomers', () => {
    const picks = (newcomerSample: number) => {
      const router = createRouter({ explorationShare: 1, rng: seeded(7), newcomerCalls: 1000, newcomerSample });
      // Same quote; provider i charges 1000 + i, so a lower index is a better offer.
      for (let i = 1; i <= 200; i++) router.addOffer({ provider: addr(i), modelId, price: 1000 + 10 * i, quotedLatencyMs: 500 });
      let cheapest = 0;
      for (let call = 0; call < 400; call++) if (Number.parseInt(router.pick(modelId)!.provider, 16) <= 20) cheapest++;
      return cheapest;
    };
    // Uniform exploration sends about a tenth of the picks to the best tenth; a sample of 16 most.
    expect(picks(1)).toBeLessThan(80);
    expect(picks(16)).toBeGreaterThan(200);
    expect(() => createRouter({ newcomerSample: 0 })).toThrow(RangeError);
  });

  it('ranks newcomers by their offer when asked, so a cold start goes to the best offers', () => {
    const bestShare = (rankNewcomers: boolean) => {
      const router = createRouter({ explorationShare: 0, rng: seeded(8), eliteSize: 8, rankNewcomers });
      for (let i = 1; i <= 200; i++) router.addOffer({ provider: addr(i), modelId, price: 1000 + 10 * i, quotedLatencyMs: 500 });
      let best = 0;
      for (let call = 0; call < 400; call++) {
        const pick = router.pick(modelId)!;
        router.record(pick.provider, modelId, { kind: 'delivered', latencyMs: 500 });
        if (Number.parseInt(pick.provider, 16) <= 20) best++;
      }
      return best;
    };
    expect(bestShare(false)).toBeLessThan(100);
    expect(bestShare(true)).toBeGreaterThan(360);
  });
});
