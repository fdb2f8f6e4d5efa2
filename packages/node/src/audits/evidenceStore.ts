import type { Address, Hex } from 'viem';
import type { SignedInferenceReceipt } from '@agora/sdk';
import { openDurableDatabase } from '../store/openDurableDatabase.ts';

/** What a verifier needs to re-execute an audited call: exactly what the receipt hashes. */
export type AuditEvidence = { input: unknown; params: Record<string, unknown>; output: unknown };

/** Why the opener audits a receipt: a sampled organic call, or a canary answered wrongly. */
export type AuditReason = 'sampled' | 'canary';

/** An audit this node opened (or is opening), with its evidence. */
export type EvidenceRecord = {
  receiptDigest: Hex;
  auditId: bigint | undefined;
  provider: Address;
  modelId: Hex;
  reason: AuditReason;
  evidence: AuditEvidence;
  /** The provider's signed receipt, kept so an audit interrupted before it was opened can still be. */
  receipt: SignedInferenceReceipt;
  /** Verifiers the evidence was handed to (lower-case addresses). */
  servedTo: Address[];
};

/**
 * The evidence of the audits this node opens, kept until each audit ends: the court stores only
 * the receipt's hashes, and drawn verifiers fetch the call itself from the opener. It is written
 * before `openAudit` is sent (durably), so a verifier drawn right away, or after a restart, finds it.
 *
 * @example
 * const evidence = openEvidenceStore({ path: join(stateDir, 'evidence.db') })
 * evidence.save({ receiptDigest, provider, modelId, reason: 'sampled', evidence: { input, params, output } })
 */
export function openEvidenceStore(init: { path: string }) {
  const db = openDurableDatabase(init.path);
  db.exec(`
    CREATE TABLE IF NOT EXISTS audit_evidence (
      receipt_digest TEXT PRIMARY KEY,
      audit_id       TEXT,
      provider       TEXT NOT NULL,
      model_id       TEXT NOT NULL,
      reason         TEXT NOT NULL,
      evidence       TEXT NOT NULL,
      receipt        TEXT NOT NULL,
      served_to      TEXT NOT NULL DEFAULT '[]',
      created_at     INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS audit_evidence_by_audit ON audit_evidence (audit_id);
  `);
  type Row = { receipt_digest: string; audit_id: string | null; provider: string; model_id: string; reason: string; evidence: string; receipt: string; served_to: string };
  const toRecord = (row: Row): EvidenceRecord => ({
    receiptDigest: row.receipt_digest as Hex,
    auditId: row.audit_id === null ? undefined : BigInt(row.audit_id),
    provider: row.provider as Address,
    modelId: row.model_id as Hex,
    reason: row.reason as AuditReason,
    evidence: JSON.parse(row.evidence) as AuditEvidence,
    receipt: JSON.parse(row.receipt, (key, value) => (key === 'cumulativeAmount' ? BigInt(value) : value)) as SignedInferenceReceipt,
    servedTo: JSON.parse(row.served_to) as Address[],
  });
  const insert = db.prepare(
    'INSERT OR IGNORE INTO audit_evidence (receipt_digest, provider, model_id, reason, evidence, receipt, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
  );
  const setAudit = db.prepare('UPDATE audit_evidence SET audit_id = ? WHERE receipt_digest = ?');
  const byDigest = db.prepare<[string], Row>('SELECT * FROM audit_evidence WHERE receipt_digest = ?');
  const byAudit = db.prepare<[string], Row>('SELECT * FROM audit_evidence WHERE audit_id = ?');
  const remove = db.prepare('DELETE FROM audit_evidence WHERE receipt_digest = ?');
  const setServedTo = db.prepare('UPDATE audit_evidence SET served_to = ? WHERE receipt_digest = ?');
  const unopened = db.prepare<[], Row>('SELECT * FROM audit_evidence WHERE audit_id IS NULL ORDER BY created_at');

  return {
    /** Keeps a call's evidence under its receipt digest (a second save of the same receipt is ignored). */
    save(record: Omit<EvidenceRecord, 'auditId' | 'servedTo'>) {
      insert.run(
        record.receiptDigest.toLowerCase(),
        record.provider.toLowerCase(),
        record.modelId.toLowerCase(),
        record.reason,
        JSON.stringify(record.evidence),
        JSON.stringify(record.receipt, (_key, value) => (typeof value === 'bigint' ? value.toString() : value)),
        Date.now(),
      );
    },
    /** Links the evidence to the audit the court opened for it. */
    setAuditId(receiptDigest: Hex, auditId: bigint) {
      setAudit.run(auditId.toString(), receiptDigest.toLowerCase());
    },
    /** Notes that `verifier` was handed the evidence (an escalation against a verifier that never got it would be unfair). */
    markServed(receiptDigest: Hex, verifier: Address) {
      const row = byDigest.get(receiptDigest.toLowerCase());
      if (!row) return;
      const servedTo = new Set(JSON.parse(row.served_to) as string[]).add(verifier.toLowerCase());
      setServedTo.run(JSON.stringify([...servedTo]), receiptDigest.toLowerCase());
    },
    get(receiptDigest: Hex): EvidenceRecord | undefined {
      const row = byDigest.get(receiptDigest.toLowerCase());
      return row ? toRecord(row) : undefined;
    },
    getByAudit(auditId: bigint): EvidenceRecord | undefined {
      const row = byAudit.get(auditId.toString());
      return row ? toRecord(row) : undefined;
    },
    /** Evidence saved for an audit that was never opened (the node stopped, or the open failed). */
    listUnopened: (): EvidenceRecord[] => unopened.all().map(toRecord),
    /** Forgets the evidence once its audit has ended (or will never be opened). */
    delete(receiptDigest: Hex) {
      remove.run(receiptDigest.toLowerCase());
    },
    close() {
      db.close();
    },
  };
}

export type EvidenceStore = ReturnType<typeof openEvidenceStore>;
