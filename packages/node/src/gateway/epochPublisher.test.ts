// The epoch publisher against a real EVM node: what it posts, what it skips, how it survives a
// restart and a failed post. Each test publishes from its own fresh account, so no test sees
// another's epochs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestClient, http, parseEther } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { AgoraError, createAgoraClient, getScoreRoot, verifyScoreOnChain, type AgoraWalletClient } from '@agora/sdk';
import { startDevnet, type Devnet } from '../devnet/startDevnet.ts';
import { hashEpochScoreLeaf } from '../market/epochRoot.ts';
import { createProviderScore, recordObservation, type ProviderScore } from '../market/providerScore.ts';
import { createEpochPublisher } from './epochPublisher.ts';

const HOUR = 3600;
const modelId = `0x${'33'.repeat(32)}` as const;
let devnet: Devnet;

beforeAll(async () => {
  devnet = await startDevnet();
});
afterAll(() => devnet?.stop());

/** A client for a new account, funded with gas money unless `funded` is false. */
async function newPublisher({ funded = true } = {}): Promise<AgoraWalletClient> {
  const account = privateKeyToAccount(generatePrivateKey());
  if (funded) await fund(account.address);
  return createAgoraClient({ transport: http(devnet.rpcUrl), deployment: devnet.deployment, account, pollingInterval: 20 });
}

function fund(address: `0x${string}`) {
  return createTestClient({ mode: 'anvil', transport: http(devnet.rpcUrl) }).setBalance({ address, value: parseEther('1') });
}

function makeScores(count: number): ProviderScore[] {
  return Array.from({ length: count }, (_, i) => {
    const score = createProviderScore({ provider: `0x${(0xc0 + i).toString(16).padStart(40, '0')}`, modelId, price: 2_000 + i, quotedLatencyMs: 500 });
    for (let j = 0; j <= i; j++) recordObservation(score, { kind: 'delivered', latencyMs: 300 + 25 * j });
    return score;
  });
}

/** A clock standing at the start of an hour-long epoch, moved by hand. */
function fakeClock(epoch: number) {
  let ms = epoch * HOUR * 1000;
  return { now: () => ms, advance: (seconds: number) => void (ms += seconds * 1000) };
}

describe('createEpochPublisher', () => {
  it('posts the root for the current epoch, and the kept tree proves each score on-chain', async () => {
    const client = await newPublisher();
    const clock = fakeClock(480_000);
    const scores = makeScores(3);
    const publisher = createEpochPublisher({ client, getScores: () => scores, epochSeconds: HOUR, now: clock.now, uri: 'https://gw.example/scores' });

    const result = await publisher.publishNow();
    expect(result).toEqual({ epoch: 480_000n, root: expect.stringMatching(/^0x[0-9a-f]{64}$/), leafCount: 3 });
    expect(await getScoreRoot(client, { publisher: client.account.address })).toMatchObject({
      epoch: 480_000n,
      root: result!.root,
      leafCount: 3,
      uri: 'https://gw.example/scores',
    });

    const latest = publisher.getLatest()!;
    expect(latest).toMatchObject({ epoch: 480_000n, root: result!.root, hash: expect.stringMatching(/^0x/) });
    expect(latest.leaves).toHaveLength(3);
    for (const leaf of latest.leaves) {
      const proof = latest.tree.getProof(hashEpochScoreLeaf(leaf));
      expect(await verifyScoreOnChain(client, { publisher: client.account.address, epoch: latest.epoch, leaf, proof })).toBe(true);
    }
  });

  it('skips an epoch without scores, a second root in one epoch, and an unchanged root', async () => {
    const client = await newPublisher();
    const clock = fakeClock(480_000);
    let scores: ProviderScore[] = [];
    const publisher = createEpochPublisher({ client, getScores: () => scores, epochSeconds: HOUR, now: clock.now });
    const latestOnChain = async () => (await getScoreRoot(client, { publisher: client.account.address }))?.epoch;

    expect(await publisher.publishNow()).toBeUndefined();
    expect(await latestOnChain()).toBeUndefined();

    scores = makeScores(2);
    const first = await publisher.publishNow();
    expect(first?.epoch).toBe(480_000n);

    // Same epoch, new evidence: waits for the next epoch.
    recordObservation(scores[0]!, { kind: 'timeout' });
    clock.advance(HOUR - 1);
    expect(await publisher.publishNow()).toBeUndefined();

    // Next epoch: the changed root goes out.
    clock.advance(1);
    const second = await publisher.publishNow();
    expect(second).toMatchObject({ epoch: 480_001n, leafCount: 2 });
    expect(second!.root).not.toBe(first!.root);

    // Later epochs without new evidence: the epoch-480001 root still stands; nothing is posted.
    clock.advance(5 * HOUR);
    expect(await publisher.publishNow()).toBeUndefined();
    expect(await latestOnChain()).toBe(480_001n);
    expect(publisher.getLatest()).toMatchObject({ epoch: 480_001n, root: second!.root });
  });

  it('picks up after a restart from what the chain holds instead of colliding with it', async () => {
    const client = await newPublisher();
    const clock = fakeClock(480_000);
    const scores = makeScores(4);
    const before = createEpochPublisher({ client, getScores: () => scores, epochSeconds: HOUR, now: clock.now });
    const posted = await before.publishNow();

    // Same epoch, same scores: nothing to post, but the tree is there to serve proofs for it.
    const after = createEpochPublisher({ client, getScores: () => scores, epochSeconds: HOUR, now: clock.now });
    expect(await after.publishNow()).toBeUndefined();
    expect(after.getLatest()).toMatchObject({ epoch: 480_000n, root: posted!.root, hash: undefined });

    // Same epoch, different scores: the chain already has this epoch, so it waits.
    recordObservation(scores[1]!, { kind: 'audit', passed: false });
    const again = createEpochPublisher({ client, getScores: () => scores, epochSeconds: HOUR, now: clock.now });
    expect(await again.publishNow()).toBeUndefined();
    clock.advance(HOUR);
    expect(await again.publishNow()).toMatchObject({ epoch: 480_001n, leafCount: 4 });
  });

  it('rejects a failed post from publishNow and posts once the cause is fixed', async () => {
    const client = await newPublisher({ funded: false });
    const clock = fakeClock(480_000);
    const publisher = createEpochPublisher({ client, getScores: () => makeScores(2), epochSeconds: HOUR, now: clock.now });
    const failure = await publisher.publishNow().catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(AgoraError);
    expect(publisher.getLatest()).toBeUndefined();

    await fund(client.account.address);
    expect(await publisher.publishNow()).toMatchObject({ epoch: 480_000n, leafCount: 2 });
  });

  it('refuses an epoch length that is not a whole number of seconds', async () => {
    const client = await newPublisher({ funded: false });
    expect(() => createEpochPublisher({ client, getScores: () => [], epochSeconds: 0 })).toThrow(expect.objectContaining({ code: 'InvalidEpochLength' }));
    expect(() => createEpochPublisher({ client, getScores: () => [], epochSeconds: 1.5 })).toThrow(expect.objectContaining({ code: 'InvalidEpochLength' }));
  });

  it('on its timer, logs failures (a throwing score source, an unfunded account) and keeps going until it posts', async () => {
    const client = await newPublisher({ funded: false });
    const events: { level: string; event: string; fields: Record<string, unknown> }[] = [];
    const waiters: (() => void)[] = [];
    const log = (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => {
      events.push({ level, event, fields });
      waiters.splice(0).forEach((wake) => wake());
    };
    /** Resolves once `count` events have been logged. */
    const logged = async (count: number) => {
      while (events.length < count) await new Promise<void>((resolve) => waiters.push(resolve));
    };

    let calls = 0;
    const scores = makeScores(2);
    const publisher = createEpochPublisher({
      client,
      getScores: () => {
        if (++calls === 1) throw new Error('score source broke');
        return scores;
      },
      // One-second epochs and the real clock: this is the timer's own schedule.
      epochSeconds: 1,
      log,
    });
    publisher.start();
    try {
      await logged(1);
      expect(events[0]).toMatchObject({ level: 'warn', event: 'score root not published, will retry next epoch', fields: { error: 'score source broke' } });
      await logged(2);
      expect(events[1]).toMatchObject({ level: 'warn', event: 'score root not published, will retry next epoch' });
      await fund(client.account.address);
      await logged(3);
      expect(events[2]).toMatchObject({ level: 'info', event: 'score root published', fields: { leafCount: 2 } });
    } finally {
      await publisher.stop();
    }
    const onChain = await getScoreRoot(client, { publisher: client.account.address });
    expect(onChain?.root).toBe(publisher.getLatest()?.root);
    expect(String(onChain?.epoch)).toBe(events[2]!.fields.epoch);
  }, 20_000);
});
