import { parseEventLogs, type Address } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type ReplaceVerifiersParameters = { auditId: bigint };
/** `replaced`: the verifiers that were jailed and fined for not revealing in time. */
export type ReplaceVerifiersReturnType = TransactionResult & { replaced: Address[] };

/**
 * After an audit's reveal deadline: jails and fines the drawn verifiers that did not reveal and
 * schedules a new draw for their seats. Anyone may call it.
 * @throws {ContractRevertedError} `AuditCourtRevealRunning` before the reveal deadline.
 *
 * @example
 * const { replaced } = await replaceVerifiers(client, { auditId })
 */
export async function replaceVerifiers(client: AgoraWalletClient, { auditId }: ReplaceVerifiersParameters): Promise<ReplaceVerifiersReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'replaceVerifiers', args: [auditId] },
    `Replacing silent verifiers of audit ${auditId}`,
  );
  const logs = parseEventLogs({ abi: auditCourtAbi, logs: result.receipt.logs, eventName: 'VerifierReplaced' });
  return { ...result, replaced: logs.map((log) => log.args.verifier) };
}
