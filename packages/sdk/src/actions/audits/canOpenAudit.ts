import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type CanOpenAuditParameters = { channelId: Hex; account: Address };

/**
 * Whether `account` may open (and escalate against a Pass or Unverifiable) audits of a channel's
 * receipts: its buyer, its voucher signer, or an auditor the buyer allowed with `setAuditor`.
 *
 * @example
 * if (!(await canOpenAudit(client, { channelId, account: client.account.address }))) …
 */
export async function canOpenAudit(client: AgoraClient, { channelId, account }: CanOpenAuditParameters): Promise<boolean> {
  return readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'canOpenAudit', args: [channelId, account] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading whether ${account} may audit channel ${channelId}`);
  });
}
