import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import Database from 'better-sqlite3';
import { openEvidenceStore, type EvidenceLeaf } from './evidenceStore.ts';

const provider = '0x00000000000000000000000000000000000000aa' as Address;
const modelId = `0x${'11'.repeat(32)}` as Hex;
const channelId = `0x${'22'.repeat(32)}` as Hex;
const leaf = (n: number): EvidenceLeaf => ({
  receiptDigest: `0x${n.toString(16).padStart(64, '0')}`,
  receipt: { modelId, inputHash: modelId, paramsHash: modelId, outputHash: modelId, channelId, cumulativeAmount: 2n ** 70n + BigInt(n), provider, signature: '0x12' },
  evidence: { input: { a: n }, params: {}, output: [n] },
});

describe('evidence store', () => {
  it('keeps a batch, its receipts and their calls from the first receipt until the audit ends', () => {
    const store = openEvidenceStore({ path: ':memory:' });
    const { batch } = store.add({ channelId, provider, modelId, reason: 'sampled', leaf: leaf(1), now: 5 });
    expect(store.add({ channelId, provider, modelId, reason: 'sampled', leaf: leaf(2) })).toMatchObject({ added: true, batch: { batchId: batch.batchId, receiptCount: 2 } });
    expect(store.listCollecting()).toMatchObject([{ batchId: batch.batchId, createdAt: 5, receiptsRoot: undefined }]);
    const root = `0x${'ee'.repeat(32)}` as Hex;
    expect(store.seal(batch.batchId, root)).toBe(true);
    expect(store.seal(batch.batchId, root)).toBe(false);
    expect(store.listUnopened()).toMatchObject([{ batchId: batch.batchId, receiptsRoot: root }]);
    store.setAuditId(batch.batchId, 7n);
    expect(store.listUnopened()).toEqual([]);
    store.markServed(batch.batchId, '0x00000000000000000000000000000000000000BB');
    expect(store.getByAudit(7n)).toMatchObject({ batchId: batch.batchId, auditId: 7n, receiptCount: 2, servedTo: ['0x00000000000000000000000000000000000000bb'] });
    expect(store.getByRoot(root)?.batchId).toBe(batch.batchId);
    // Amounts beyond 2^53 survive the round trip.
    expect(store.getLeaves(batch.batchId)).toEqual([leaf(1), leaf(2)]);
    store.delete(batch.batchId);
    expect(store.getByAudit(7n)).toBeUndefined();
    expect(store.getLeaves(batch.batchId)).toEqual([]);
    store.close();
  });

  it('keeps the evidence across a restart (on disk before the audit is opened)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agora-evidence-')), 'evidence.db');
    const first = openEvidenceStore({ path });
    const { batch } = first.add({ channelId, provider, modelId, reason: 'canary', leaf: leaf(3) });
    first.close();
    const second = openEvidenceStore({ path });
    expect(second.get(batch.batchId)).toMatchObject({ reason: 'canary', receiptCount: 1 });
    expect(second.getLeaves(batch.batchId)).toEqual([leaf(3)]);
    second.close();
  });

  it('counts reopens on disk, and gives a store written before they were counted the column', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agora-evidence-')), 'evidence.db');
    const old = new Database(path);
    old.exec(`CREATE TABLE audit_batches (batch_id INTEGER PRIMARY KEY AUTOINCREMENT, channel_id TEXT NOT NULL, provider TEXT NOT NULL,
      model_id TEXT NOT NULL, reason TEXT NOT NULL, receipts_root TEXT UNIQUE, audit_id TEXT, served_to TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL)`);
    old.close();
    const store = openEvidenceStore({ path });
    const { batch } = store.add({ channelId, provider, modelId, reason: 'canary', leaf: leaf(9) });
    store.seal(batch.batchId, `0x${'cd'.repeat(32)}`);
    store.setAuditId(batch.batchId, 3n);
    store.markServed(batch.batchId, provider);
    store.unlinkAudit(batch.batchId);
    expect(store.get(batch.batchId)).toMatchObject({ auditId: undefined, servedTo: [], reopens: 1 });
    expect(store.listUnopened().map((b) => b.batchId)).toEqual([batch.batchId]);
    store.close();
    expect(openEvidenceStore({ path }).get(batch.batchId)?.reopens).toBe(1);
  });
});
