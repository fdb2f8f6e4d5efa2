import type { Address, Hex } from 'viem';
import type { SignedInferenceReceipt } from '@agora/sdk';
import { openDurableDatabase } from '../store/openDurableDatabase.ts';

/** What a verifier needs to re-execute one audited call: exactly what its receipt hashes. */
export type AuditEvidence = { input: unknown; params: Record<string, unknown>; output: unknown };

/** Why the opener audits a batch: sampled organic calls, or one canary answered wrongly. */
export type AuditReason = 'sampled' | 'canary';

/** One receipt of a batch, with the call it covers. */
export type EvidenceLeaf = {
  receiptDigest: Hex;
  /** The provider's signed receipt (its `signature` is what verifiers check against the audit's provider). */
  receipt: SignedInferenceReceipt;
  evidence: AuditEvidence;
};

/**
 * A batch of one channel's sampled receipts (or one wrong canary), from its first receipt until its
 * audit ends. `receiptsRoot` is set when the batch is sealed: from then on no receipt joins it and
 * it is what the audit is opened with.
 */
export type EvidenceBatch = {
  batchId: number;
  channelId: Hex;
  provider: Address;
  modelId: Hex;
  reason: AuditReason;
  /** Unix ms of the first receipt: a batch is sealed at most `batchMaxWaitMs` after it. */
  createdAt: number;
  receiptsRoot: Hex | undefined;
  receiptCount: number;
  auditId: bigint | undefined;
  /** Verifiers the evidence was handed to (lower-case addresses). */
  servedTo: Address[];
  /** Times the batch was opened again after an audit that judged nothing (kept across restarts). */
  reopens: number;
};

/**
 * The evidence of the audits this node opens, kept until each audit ends: the court stores only a
 * merkle root over a batch of receipts, and drawn verifiers fetch every receipt and its call from
 * the opener. Each sampled receipt is written (durably) as it is sampled, and the batch's root
 * before `openAudit` is sent, so a verifier drawn right away, or after a restart, finds it all.
 *
 * @example
 * const evidence = openEvidenceStore({ path: join(stateDir, 'evidence.db') })
 * const batch = evidence.add({ channelId, provider, modelId, reason: 'sampled', leaf })
 */
export function openEvidenceStore(init: { path: string }) {
  const db = openDurableDatabase(init.path);
  // New tables (the single-receipt `audit_evidence` of the earlier court is left alone): a batch
  // and its leaves.
  db.exec(`
    CREATE TABLE IF NOT EXISTS audit_batches (
      batch_id      INTEGER PRIMARY KEY AUTOINCREMENT,
      channel_id    TEXT NOT NULL,
      provider      TEXT NOT NULL,
      model_id      TEXT NOT NULL,
      reason        TEXT NOT NULL,
      receipts_root TEXT UNIQUE,
      audit_id      TEXT,
      served_to     TEXT NOT NULL DEFAULT '[]',
      created_at    INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_batches_by_audit ON audit_batches (audit_id);
    CREATE TABLE IF NOT EXISTS audit_leaves (
      receipt_digest TEXT PRIMARY KEY,
      batch_id       INTEGER NOT NULL REFERENCES audit_batches (batch_id) ON DELETE CASCADE,
      receipt        TEXT NOT NULL,
      evidence       TEXT NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_leaves_by_batch ON audit_leaves (batch_id);
  `);
  db.pragma('foreign_keys = ON');
  // Stores written before reopens were counted get the column (every batch starts at 0).
  const columns = db.prepare<[], { name: string }>('PRAGMA table_info(audit_batches)').all();
  if (!columns.some((column) => column.name === 'reopens')) db.exec('ALTER TABLE audit_batches ADD COLUMN reopens INTEGER NOT NULL DEFAULT 0');
  type BatchRow = {
    batch_id: number;
    channel_id: string;
    provider: string;
    model_id: string;
    reason: string;
    receipts_root: string | null;
    audit_id: string | null;
    served_to: string;
    reopens: number;
    created_at: number;
    receipt_count: number;
  };
  type LeafRow = { receipt_digest: string; receipt: string; evidence: string };
  const toBatch = (row: BatchRow): EvidenceBatch => ({
    batchId: row.batch_id,
    channelId: row.channel_id as Hex,
    provider: row.provider as Address,
    modelId: row.model_id as Hex,
    reason: row.reason as AuditReason,
    createdAt: row.created_at,
    receiptsRoot: (row.receipts_root ?? undefined) as Hex | undefined,
    receiptCount: row.receipt_count,
    auditId: row.audit_id === null ? undefined : BigInt(row.audit_id),
    servedTo: JSON.parse(row.served_to) as Address[],
    reopens: row.reopens,
  });
  const toLeaf = (row: LeafRow): EvidenceLeaf => ({
    receiptDigest: row.receipt_digest as Hex,
    receipt: JSON.parse(row.receipt, (key, value) => (key === 'cumulativeAmount' ? BigInt(value) : value)) as SignedInferenceReceipt,
    evidence: JSON.parse(row.evidence) as AuditEvidence,
  });
  const SELECT = 'SELECT b.*, (SELECT COUNT(*) FROM audit_leaves l WHERE l.batch_id = b.batch_id) AS receipt_count FROM audit_batches b';
  const byId = db.prepare<[number], BatchRow>(`${SELECT} WHERE b.batch_id = ?`);
  const byRoot = db.prepare<[string], BatchRow>(`${SELECT} WHERE b.receipts_root = ?`);
  const byAudit = db.prepare<[string], BatchRow>(`${SELECT} WHERE b.audit_id = ?`);
  const collectingFor = db.prepare<[string, string], BatchRow>(`${SELECT} WHERE b.channel_id = ? AND b.reason = ? AND b.receipts_root IS NULL ORDER BY b.batch_id LIMIT 1`);
  const collecting = db.prepare<[], BatchRow>(`${SELECT} WHERE b.receipts_root IS NULL ORDER BY b.created_at`);
  const unopened = db.prepare<[], BatchRow>(`${SELECT} WHERE b.receipts_root IS NOT NULL AND b.audit_id IS NULL ORDER BY b.created_at`);
  const leavesOf = db.prepare<[number], LeafRow>('SELECT receipt_digest, receipt, evidence FROM audit_leaves WHERE batch_id = ? ORDER BY receipt_digest');
  const leafExists = db.prepare<[string], { batch_id: number }>('SELECT batch_id FROM audit_leaves WHERE receipt_digest = ?');
  const insertBatch = db.prepare('INSERT INTO audit_batches (channel_id, provider, model_id, reason, created_at) VALUES (?, ?, ?, ?, ?)');
  const insertLeaf = db.prepare('INSERT INTO audit_leaves (receipt_digest, batch_id, receipt, evidence) VALUES (?, ?, ?, ?)');
  const setRoot = db.prepare('UPDATE audit_batches SET receipts_root = ? WHERE batch_id = ? AND receipts_root IS NULL');
  const setAudit = db.prepare('UPDATE audit_batches SET audit_id = ? WHERE batch_id = ?');
  const setServedTo = db.prepare('UPDATE audit_batches SET served_to = ? WHERE batch_id = ?');
  const unlink = db.prepare("UPDATE audit_batches SET audit_id = NULL, served_to = '[]', reopens = reopens + 1 WHERE batch_id = ?");
  const remove = db.prepare('DELETE FROM audit_batches WHERE batch_id = ?');

  const get = (batchId: number): EvidenceBatch | undefined => {
    const row = byId.get(batchId);
    return row ? toBatch(row) : undefined;
  };

  /** One transaction: the receipt joins its channel's open batch (or a new one), or is ignored if already kept. */
  const add = db.transaction((record: { channelId: Hex; provider: Address; modelId: Hex; reason: AuditReason; leaf: EvidenceLeaf; now: number }) => {
    const digest = record.leaf.receiptDigest.toLowerCase();
    const existing = leafExists.get(digest);
    if (existing) return { batch: get(existing.batch_id)!, added: false };
    const channelId = record.channelId.toLowerCase();
    // A canary is audited on its own, at once; sampled receipts gather per channel.
    const open = record.reason === 'sampled' ? collectingFor.get(channelId, 'sampled') : undefined;
    const batchId = open
      ? open.batch_id
      : Number(insertBatch.run(channelId, record.provider.toLowerCase(), record.modelId.toLowerCase(), record.reason, record.now).lastInsertRowid);
    insertLeaf.run(
      digest,
      batchId,
      JSON.stringify(record.leaf.receipt, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)),
      JSON.stringify(record.leaf.evidence),
    );
    return { batch: get(batchId)!, added: true };
  });

  return {
    /**
     * Keeps a sampled receipt and its call in its channel's open batch (a new batch for a canary,
     * or when the channel has none open); a receipt kept before is ignored (`added: false`).
     */
    add(record: { channelId: Hex; provider: Address; modelId: Hex; reason: AuditReason; leaf: EvidenceLeaf; now?: number }): { batch: EvidenceBatch; added: boolean } {
      return add({ ...record, now: record.now ?? Date.now() });
    },
    /** Fixes a batch's root: no receipt joins it any more. False if it was sealed already. */
    seal(batchId: number, receiptsRoot: Hex): boolean {
      return setRoot.run(receiptsRoot.toLowerCase(), batchId).changes === 1;
    },
    /** Links the batch to the audit the court opened for its root. */
    setAuditId(batchId: number, auditId: bigint) {
      setAudit.run(auditId.toString(), batchId);
    },
    /** Unlinks a batch from an audit that ended without judging it (Unverifiable, cancelled), so it is opened again; counts the reopen. */
    unlinkAudit(batchId: number) {
      unlink.run(batchId);
    },
    /** Notes that `verifier` was handed the evidence (an escalation against a verifier that never got it would be unfair). */
    markServed(batchId: number, verifier: Address) {
      const batch = get(batchId);
      if (!batch) return;
      setServedTo.run(JSON.stringify([...new Set([...batch.servedTo, verifier.toLowerCase()])]), batchId);
    },
    get,
    getByRoot(receiptsRoot: Hex): EvidenceBatch | undefined {
      const row = byRoot.get(receiptsRoot.toLowerCase());
      return row ? toBatch(row) : undefined;
    },
    getByAudit(auditId: bigint): EvidenceBatch | undefined {
      const row = byAudit.get(auditId.toString());
      return row ? toBatch(row) : undefined;
    },
    /** Every receipt of a batch with its call, by receipt digest. */
    getLeaves: (batchId: number): EvidenceLeaf[] => leavesOf.all(batchId).map(toLeaf),
    /** Batches still gathering receipts, oldest first. */
    listCollecting: (): EvidenceBatch[] => collecting.all().map(toBatch),
    /** Sealed batches whose audit was never opened (the node stopped, or the open failed). */
    listUnopened: (): EvidenceBatch[] => unopened.all().map(toBatch),
    /** Forgets a batch and its evidence once its audit has ended (or will never be opened). */
    delete(batchId: number) {
      remove.run(batchId);
    },
    close() {
      db.close();
    },
  };
}

export type EvidenceStore = ReturnType<typeof openEvidenceStore>;
