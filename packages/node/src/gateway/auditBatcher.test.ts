import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { keccak256, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createReceiptBatchTree, hashInferenceReceipt, signInferenceReceipt, verifyReceiptInBatch } from '@agora/sdk';
import { openEvidenceStore, type EvidenceBatch, type EvidenceStore } from '../audits/evidenceStore.ts';
import { createAuditBatcher } from './auditBatcher.ts';
import type { ServedCall } from './gatewayAuditor.ts';

const provider = privateKeyToAccount(keccak256(toHex('batcher test provider')));
const domain = { chainId: 31337, paymentChannels: '0x00000000000000000000000000000000000000cc' as const };
const modelId = keccak256(toHex('model'));
const channel = (n: number) => keccak256(toHex(`channel ${n}`));

let n = 0;
async function call(channelId: Hex): Promise<ServedCall> {
  const i = ++n;
  const input = { i };
  const receipt = await signInferenceReceipt(provider, domain, {
    modelId,
    inputHash: keccak256(toHex(`input ${i}`)),
    paramsHash: keccak256(toHex('{}')),
    outputHash: keccak256(toHex(`output ${i}`)),
    channelId,
    cumulativeAmount: BigInt(i) * 1000n,
  });
  return { provider: provider.address, modelId, input, params: {}, output: { i }, receipt };
}

let store: EvidenceStore;
let sealed: EvidenceBatch[];
let clock: number;
const make = (init: { batchSize?: number; batchMaxWaitMs?: number } = {}) =>
  createAuditBatcher({ evidence: store, domain, batchSize: 3, batchMaxWaitMs: 30_000, ...init, onSealed: (b) => sealed.push(b), now: () => clock });

beforeEach(() => {
  vi.useFakeTimers();
  store = openEvidenceStore({ path: ':memory:' });
  sealed = [];
  clock = 1_000_000;
});
afterEach(() => {
  vi.useRealTimers();
  store.close();
});

describe('audit batcher', () => {
  it('gathers one channel’s sampled receipts and seals the batch when it is full, with the root of exactly those receipts', async () => {
    const batcher = make();
    const calls = [await call(channel(1)), await call(channel(1)), await call(channel(1))];
    batcher.add(calls[0]!, 'sampled');
    batcher.add(calls[1]!, 'sampled');
    expect(sealed).toEqual([]);
    batcher.add(calls[2]!, 'sampled');
    expect(sealed).toHaveLength(1);
    const digests = calls.map((c) => hashInferenceReceipt(domain, c.receipt));
    expect(sealed[0]).toMatchObject({ channelId: channel(1), reason: 'sampled', receiptCount: 3, receiptsRoot: createReceiptBatchTree(digests).root, auditId: undefined });
    // The evidence of every leaf is on disk, and each leaf proves against the root.
    const leaves = store.getLeaves(sealed[0]!.batchId);
    expect(leaves.map((l) => l.receiptDigest).sort()).toEqual([...digests].sort());
    expect(leaves.find((l) => l.receiptDigest === digests[1])).toMatchObject({ receipt: calls[1]!.receipt, evidence: { input: calls[1]!.input, params: {}, output: calls[1]!.output } });
    const tree = createReceiptBatchTree(digests);
    for (const d of digests) expect(verifyReceiptInBatch({ root: sealed[0]!.receiptsRoot!, receiptDigest: d, proof: tree.getProof(d) })).toBe(true);
    // The next receipt starts a new batch.
    batcher.add(await call(channel(1)), 'sampled');
    expect(store.listCollecting()).toHaveLength(1);
    batcher.stop();
  });

  it('keeps channels apart: each has its own batch and root', async () => {
    const batcher = make();
    for (let i = 0; i < 3; i++) {
      batcher.add(await call(channel(1)), 'sampled');
      batcher.add(await call(channel(2)), 'sampled');
    }
    expect(sealed.map((b) => b.channelId).sort()).toEqual([channel(1), channel(2)].sort());
    expect(sealed[0]!.receiptsRoot).not.toBe(sealed[1]!.receiptsRoot);
    batcher.stop();
  });

  it('seals a batch that is not full batchMaxWaitMs after its first receipt, not before', async () => {
    const batcher = make();
    batcher.add(await call(channel(1)), 'sampled');
    clock += 20_000;
    vi.advanceTimersByTime(20_000);
    batcher.add(await call(channel(1)), 'sampled'); // joins; the deadline stays the first receipt's
    clock += 9_999;
    vi.advanceTimersByTime(9_999);
    expect(sealed).toEqual([]);
    clock += 1;
    vi.advanceTimersByTime(1);
    expect(sealed).toHaveLength(1);
    expect(sealed[0]!.receiptCount).toBe(2);
    batcher.stop();
  });

  it('seals a wrong canary alone and at once, apart from the channel’s open batch', async () => {
    const batcher = make();
    batcher.add(await call(channel(1)), 'sampled');
    batcher.add(await call(channel(1)), 'canary');
    expect(sealed).toHaveLength(1);
    expect(sealed[0]).toMatchObject({ reason: 'canary', receiptCount: 1 });
    expect(store.listCollecting()).toMatchObject([{ reason: 'sampled', receiptCount: 1 }]);
    batcher.stop();
  });

  it('ignores a receipt it already keeps', async () => {
    const batcher = make();
    const c = await call(channel(1));
    expect(batcher.add(c, 'sampled')).toMatchObject({ receiptCount: 1 });
    expect(batcher.add(c, 'sampled')).toBeUndefined();
    expect(store.listCollecting()[0]!.receiptCount).toBe(1);
    batcher.stop();
  });

  it('after a restart, seals an overdue batch at once and a fresh one when due', async () => {
    const first = make();
    first.add(await call(channel(1)), 'sampled');
    clock += 25_000;
    first.add(await call(channel(2)), 'sampled');
    first.stop();
    clock += 10_000; // the node was down: channel 1's batch is overdue, channel 2's has 20 s left
    const second = make();
    second.resume();
    vi.advanceTimersByTime(0);
    expect(sealed.map((b) => b.channelId)).toEqual([channel(1)]);
    clock += 20_000;
    vi.advanceTimersByTime(20_000);
    expect(sealed.map((b) => b.channelId)).toEqual([channel(1), channel(2)]);
    second.stop();
  });

  it('refuses a batch size the court cannot take', () => {
    expect(() => make({ batchSize: 65 })).toThrow(/batchSize must be an integer in 1..64/);
    expect(() => make({ batchSize: 0 })).toThrow(RangeError);
  });
});
