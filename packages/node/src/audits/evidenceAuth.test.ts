import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import type { Address } from 'viem';
import { readEvidenceRequest, signEvidenceRequest } from './evidenceAuth.ts';

const account = privateKeyToAccount(generatePrivateKey());
const court = { chainId: 31337, auditCourt: '0x00000000000000000000000000000000000000c0' as Address };
const now = 1_800_000_000;

describe('evidence request signatures', () => {
  it('name the audit and recover to the verifier', async () => {
    const authorization = await signEvidenceRequest({ account, court, auditId: 42n, now });
    expect(await readEvidenceRequest({ authorization, court, now })).toEqual({ auditId: 42n, signer: account.address });
  });

  it('are refused without a header, when expired, or when valid for too long', async () => {
    await expect(readEvidenceRequest({ authorization: undefined, court, now })).rejects.toMatchObject({ code: 'EvidenceAuthMissing' });
    await expect(readEvidenceRequest({ authorization: 'Bearer sk-123', court, now })).rejects.toMatchObject({ code: 'EvidenceAuthMissing' });
    const authorization = await signEvidenceRequest({ account, court, auditId: 1n, now, validForSeconds: 120 });
    // A minute of clock difference is tolerated, not more.
    expect((await readEvidenceRequest({ authorization, court, now: now + 170 })).signer).toBe(account.address);
    await expect(readEvidenceRequest({ authorization, court, now: now + 200 })).rejects.toMatchObject({ code: 'EvidenceAuthExpired' });
    const [scheme, token] = authorization.split(' ');
    const [id, , signature] = token!.split('.');
    const forever = `${scheme} ${id}.${now + 10_000}.${signature}`;
    await expect(readEvidenceRequest({ authorization: forever, court, now })).rejects.toMatchObject({ code: 'EvidenceAuthExpired' });
  });

  it('signed for another court or audit recover to someone else', async () => {
    const authorization = await signEvidenceRequest({ account, court, auditId: 7n, now });
    const elsewhere = await readEvidenceRequest({ authorization, court: { ...court, chainId: 1 }, now });
    expect(elsewhere.signer).not.toBe(account.address);
    const otherAudit = authorization.replace('AgoraAudit 7.', 'AgoraAudit 8.');
    expect((await readEvidenceRequest({ authorization: otherAudit, court, now })).signer).not.toBe(account.address);
  });
});
