import { readContract } from 'viem/actions';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type EscalateAuditParameters = { auditId: bigint; /** Approve the escalation bond first if short (default true). */ approve?: boolean };
export type EscalateAuditReturnType = TransactionResult & { drawBlock: bigint };

/**
 * Escalates a first verdict to a panel of three and pays the escalation bond (returned if the
 * panel agrees with the escalator): the provider against a Fail; the channel's payer (the opener,
 * the channel's buyer or signer, or an auditor the buyer allowed) against a Pass or an
 * Unverifiable, within the escalation window.
 * @throws {ContractRevertedError} `AuditCourtCannotEscalate` for anyone else, or after the window.
 *
 * @example
 * await escalateAudit(providerClient, { auditId })
 */
export async function escalateAudit(client: AgoraWalletClient, { auditId, approve = true }: EscalateAuditParameters): Promise<EscalateAuditReturnType> {
  const court = requireAuditCourt(client.deployment);
  if (approve) {
    const { escalationBond } = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getConfig' });
    await ensureAllowance(client, { spender: court, amount: escalationBond });
  }
  const result = await sendContractTransaction(
    client,
    { address: court, abi: auditCourtAbi, functionName: 'escalateAudit', args: [auditId] },
    `Escalating audit ${auditId}`,
  );
  return { ...result, drawBlock: BigInt(getEventArgs(result.receipt, 'AuditEscalated').drawBlock as bigint) };
}
