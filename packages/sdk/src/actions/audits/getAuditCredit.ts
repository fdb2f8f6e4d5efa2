import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditCreditParameters = { account: Address };
export type GetAuditCreditReturnType = bigint;

/**
 * What `account` can take from the AuditCourt with `withdrawAuditCredit`.
 *
 * @example
 * const owed = await getAuditCredit(client, { account })
 */
export async function getAuditCredit(client: AgoraClient, { account }: GetAuditCreditParameters): Promise<GetAuditCreditReturnType> {
  return readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'withdrawableOf', args: [account] });
}
