import type { Address, Hex } from 'viem';
import type { CommittableVerdict } from '@agora/sdk';
import { openDurableDatabase } from '../store/openDurableDatabase.ts';

/** A verdict this verifier reached on one stage of an audit, with the salt of its commitment. */
export type StoredVerdict = {
  auditId: bigint;
  stage: number;
  verdict: CommittableVerdict;
  /** The 32 random bytes the commitment hides the verdict with; the reveal needs them. */
  salt: Hex;
  /** Why the verdict is what it is (verification reasons, missing evidence, …). */
  reasons: string[];
  committed: boolean;
  revealed: boolean;
  /** Nothing more to do for it: revealed, its seat replaced, or its audit ended. */
  finished: boolean;
  decidedAt: number;
  updatedAt: number;
};

export type VerdictStoreInit = {
  /** SQLite file; `:memory:` for tests that do not need durability. */
  path: string;
  /** The court the verdicts are for: audit ids restart at 1 on every deployment, so they are kept apart. */
  court: { chainId: number; auditCourt: Address };
};

type Row = {
  audit_id: string;
  stage: number;
  verdict: CommittableVerdict;
  salt: string;
  reasons: string;
  committed: number;
  revealed: number;
  finished: number;
  decided_at: number;
  updated_at: number;
};

/**
 * The verdicts this verifier decided, durably. A verdict and its salt are saved before the commit
 * is sent: a verifier that committed but lost its salt cannot reveal and is fined and jailed, so a
 * crash anywhere between deciding and revealing must leave the salt on disk. Once saved, a verdict
 * is never changed (the commitment on-chain may already hide it).
 *
 * @example
 * const verdicts = openVerdictStore({ path: join(stateDir, 'verdicts.db'), court: { chainId, auditCourt } })
 * const saved = verdicts.save({ auditId, stage: 0, verdict: 'Pass', salt, reasons: [] })
 * await commitVerdict(client, { auditId, verdict: saved.verdict, salt: saved.salt })
 * verdicts.markCommitted(auditId, 0)
 */
export function openVerdictStore(init: VerdictStoreInit) {
  const db = openDurableDatabase(init.path);
  // `audit_verdicts`, not the earlier court's `verdicts` table: its CHECK knew no Unverifiable, and
  // its audits (single receipts) are not this court's.
  db.exec(`
    CREATE TABLE IF NOT EXISTS audit_verdicts (
      court      TEXT NOT NULL,
      audit_id   TEXT NOT NULL,
      stage      INTEGER NOT NULL,
      verdict    TEXT NOT NULL CHECK (verdict IN ('Pass', 'Fail', 'Unverifiable')),
      salt       TEXT NOT NULL,
      reasons    TEXT NOT NULL,
      committed  INTEGER NOT NULL DEFAULT 0,
      revealed   INTEGER NOT NULL DEFAULT 0,
      finished   INTEGER NOT NULL DEFAULT 0,
      decided_at INTEGER NOT NULL,
      updated_at INTEGER NOT NULL,
      PRIMARY KEY (court, audit_id, stage)
    );
  `);
  const court = `${init.court.chainId}:${init.court.auditCourt.toLowerCase()}`;
  const insert = db.prepare(
    `INSERT OR IGNORE INTO audit_verdicts (court, audit_id, stage, verdict, salt, reasons, decided_at, updated_at)
     VALUES (@court, @auditId, @stage, @verdict, @salt, @reasons, @now, @now)`,
  );
  const select = db.prepare<[string, string, number], Row>('SELECT * FROM audit_verdicts WHERE court = ? AND audit_id = ? AND stage = ?');
  const selectUnfinished = db.prepare<[string], Row>('SELECT * FROM audit_verdicts WHERE court = ? AND finished = 0');
  const setCommitted = db.prepare<[number, string, string, number]>('UPDATE audit_verdicts SET committed = 1, updated_at = ? WHERE court = ? AND audit_id = ? AND stage = ?');
  const setRevealed = db.prepare<[number, string, string, number]>('UPDATE audit_verdicts SET revealed = 1, finished = 1, updated_at = ? WHERE court = ? AND audit_id = ? AND stage = ?');
  const setFinished = db.prepare<[number, string, string]>('UPDATE audit_verdicts SET finished = 1, updated_at = ? WHERE court = ? AND audit_id = ? AND finished = 0');

  const toVerdict = (row: Row): StoredVerdict => ({
    auditId: BigInt(row.audit_id),
    stage: row.stage,
    verdict: row.verdict,
    salt: row.salt as Hex,
    reasons: JSON.parse(row.reasons) as string[],
    committed: row.committed === 1,
    revealed: row.revealed === 1,
    finished: row.finished === 1,
    decidedAt: row.decided_at,
    updatedAt: row.updated_at,
  });
  const get = (auditId: bigint, stage: number): StoredVerdict | undefined => {
    const row = select.get(court, auditId.toString(), stage);
    return row ? toVerdict(row) : undefined;
  };

  return {
    get,
    /**
     * Saves a decided verdict and its salt (on disk when this returns). If the stage already has
     * one, that one is kept and returned: use what this returns for the commit.
     */
    save(verdict: { auditId: bigint; stage: number; verdict: CommittableVerdict; salt: Hex; reasons: string[] }): StoredVerdict {
      insert.run({ court, auditId: verdict.auditId.toString(), stage: verdict.stage, verdict: verdict.verdict, salt: verdict.salt, reasons: JSON.stringify(verdict.reasons), now: Date.now() });
      return get(verdict.auditId, verdict.stage)!;
    },
    /** Records that the commitment is on-chain. */
    markCommitted(auditId: bigint, stage: number): void {
      setCommitted.run(Date.now(), court, auditId.toString(), stage);
    },
    /** Records that the verdict is revealed (and so finished). */
    markRevealed(auditId: bigint, stage: number): void {
      setRevealed.run(Date.now(), court, auditId.toString(), stage);
    },
    /** Records that nothing more can be done for the audit's verdicts (its seat was replaced, or it ended). */
    markFinished(auditId: bigint): void {
      setFinished.run(Date.now(), court, auditId.toString());
    },
    /** Verdicts not finished, oldest audit first: what a restarted verifier must still commit or reveal. */
    listUnfinished(): StoredVerdict[] {
      return selectUnfinished
        .all(court)
        .map(toVerdict)
        .sort((a, b) => (a.auditId < b.auditId ? -1 : a.auditId > b.auditId ? 1 : a.stage - b.stage));
    },
    close(): void {
      db.close();
    },
  };
}

export type VerdictStore = ReturnType<typeof openVerdictStore>;
