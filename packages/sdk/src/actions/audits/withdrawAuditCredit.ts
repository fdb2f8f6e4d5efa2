import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type WithdrawAuditCreditParameters = Record<string, never>;
export type WithdrawAuditCreditReturnType = TransactionResult & { amount: bigint };

/**
 * Withdraws everything the AuditCourt credited to the client's account: returned bonds, refunds,
 * bounties, verifier pay, treasury shares.
 * @throws {ContractRevertedError} `AuditCourtNothingToWithdraw` when nothing is credited.
 *
 * @example
 * const { amount } = await withdrawAuditCredit(client)
 */
export async function withdrawAuditCredit(client: AgoraWalletClient, _params: WithdrawAuditCreditParameters = {}): Promise<WithdrawAuditCreditReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'withdraw', args: [] },
    'Withdrawing credit from the AuditCourt',
  );
  return { ...result, amount: getEventArgs(result.receipt, 'Withdrawn').amount as bigint };
}
