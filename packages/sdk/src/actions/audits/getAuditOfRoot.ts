import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditOfRootParameters = { channelId: Hex; receiptsRoot: Hex };
/** The audit id, or undefined when the root is not being audited (never was, or was freed). */
export type GetAuditOfRootReturnType = bigint | undefined;

/**
 * The audit of a channel's batch root: how an opener finds the audit it opened when the
 * transaction's answer was lost. Roots are claimed per channel (the same root on another channel is
 * another batch, and cannot block this one); a root is freed again when its audit is cancelled or
 * ends Unverifiable.
 *
 * @example
 * const auditId = await getAuditOfRoot(client, { channelId, receiptsRoot: batch.root })
 */
export async function getAuditOfRoot(client: AgoraClient, { channelId, receiptsRoot }: GetAuditOfRootParameters): Promise<GetAuditOfRootReturnType> {
  const auditId = await readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'getAuditOfRoot', args: [channelId, receiptsRoot] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading the audit of root ${receiptsRoot} on channel ${channelId}`);
  });
  return auditId === 0n ? undefined : auditId;
}
