import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditOfRootParameters = { receiptsRoot: Hex };
/** The audit id, or undefined when the root is not being audited (never was, or was freed). */
export type GetAuditOfRootReturnType = bigint | undefined;

/**
 * The audit of a batch root: how an opener finds the audit it opened when the transaction's
 * answer was lost. A root is freed again when its audit is cancelled or ends Unverifiable.
 *
 * @example
 * const auditId = await getAuditOfRoot(client, { receiptsRoot: batch.root })
 */
export async function getAuditOfRoot(client: AgoraClient, { receiptsRoot }: GetAuditOfRootParameters): Promise<GetAuditOfRootReturnType> {
  const auditId = await readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'getAuditOfRoot', args: [receiptsRoot] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading the audit of root ${receiptsRoot}`);
  });
  return auditId === 0n ? undefined : auditId;
}
