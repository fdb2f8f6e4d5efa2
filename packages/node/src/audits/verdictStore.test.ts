import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keccak256, toHex } from 'viem';
import { openVerdictStore } from './verdictStore.ts';

const court = { chainId: 31337, auditCourt: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707' } as const;
const salt = keccak256(toHex('salt'));
const path = () => join(mkdtempSync(join(tmpdir(), 'agora-verdicts-')), 'verdicts.db');

describe('verdict store', () => {
  it('keeps a committed verdict and its salt across a crash, so the restarted verifier can still reveal', () => {
    const file = path();
    const before = openVerdictStore({ path: file, court });
    before.save({ auditId: 7n, stage: 0, verdict: 'Fail', salt, reasons: ['output hash differs'] });
    before.markCommitted(7n, 0);
    before.close(); // the process dies here, between commit and reveal

    const after = openVerdictStore({ path: file, court });
    expect(after.listUnfinished()).toEqual([
      expect.objectContaining({ auditId: 7n, stage: 0, verdict: 'Fail', salt, reasons: ['output hash differs'], committed: true, revealed: false, finished: false }),
    ]);
    after.markRevealed(7n, 0);
    expect(after.get(7n, 0)).toMatchObject({ revealed: true, finished: true });
    expect(after.listUnfinished()).toEqual([]);
    after.close();
  });

  it('never changes a saved verdict: a second decision returns the first (its commitment may be on-chain)', () => {
    const store = openVerdictStore({ path: ':memory:', court });
    store.save({ auditId: 1n, stage: 0, verdict: 'Pass', salt, reasons: [] });
    const again = store.save({ auditId: 1n, stage: 0, verdict: 'Fail', salt: keccak256(toHex('other')), reasons: ['x'] });
    expect(again).toMatchObject({ verdict: 'Pass', salt, committed: false });
    // A panel seat is another verdict of the same audit.
    expect(store.save({ auditId: 1n, stage: 1, verdict: 'Fail', salt, reasons: [] }).verdict).toBe('Fail');
    store.markFinished(1n);
    expect(store.listUnfinished()).toEqual([]);
    store.close();
  });

  it('keeps each court apart: audit ids restart at 1 on a new deployment', () => {
    const file = path();
    const old = openVerdictStore({ path: file, court });
    old.save({ auditId: 1n, stage: 0, verdict: 'Fail', salt, reasons: [] });
    old.close();
    const fresh = openVerdictStore({ path: file, court: { ...court, auditCourt: '0x0000000000000000000000000000000000000001' } });
    expect(fresh.get(1n, 0)).toBeUndefined();
    expect(fresh.listUnfinished()).toEqual([]);
    fresh.close();
  });
});
