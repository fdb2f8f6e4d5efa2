import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient, AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type SetAuditorParameters = { auditor: Address; /** False withdraws the permission. */ allowed: boolean };
export type SetAuditorReturnType = TransactionResult;

/**
 * Lets `auditor` open and escalate audits of the caller's channels (or stops it): a buyer whose
 * gateway runs under another wallet names that wallet here. Only a channel's payer may audit it.
 *
 * @example
 * await setAuditor(buyerClient, { auditor: gatewayWallet, allowed: true })
 */
export async function setAuditor(client: AgoraWalletClient, { auditor, allowed }: SetAuditorParameters): Promise<SetAuditorReturnType> {
  return sendContractTransaction(
    client,
    { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'setAuditor', args: [auditor, allowed] },
    `${allowed ? 'Allowing' : 'Disallowing'} ${auditor} to audit this account's channels`,
  );
}

export type IsAuditorParameters = { buyer: Address; auditor: Address };

/**
 * Whether `buyer` allowed `auditor` (with `setAuditor`) to open audits of its channels.
 *
 * @example
 * const allowed = await isAuditor(client, { buyer, auditor })
 */
export async function isAuditor(client: AgoraClient, { buyer, auditor }: IsAuditorParameters): Promise<boolean> {
  return readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'isAuditor', args: [buyer, auditor] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading whether ${auditor} audits for ${buyer}`);
  });
}
