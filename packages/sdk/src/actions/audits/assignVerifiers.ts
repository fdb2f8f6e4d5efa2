import { parseEventLogs, type Address } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type AssignVerifiersParameters = { auditId: bigint };
/**
 * `verifiers`: drawn by this call. `cancelled`: nobody eligible was found at stage 0 by the draw
 * deadline (the bond is credited back, the root freed). `rescheduledDrawBlock`: nobody was found
 * yet, or the draw block's hash had expired; call again after that block.
 */
export type AssignVerifiersReturnType = TransactionResult & {
  verifiers: Address[];
  cancelled: boolean;
  rescheduledDrawBlock: bigint | undefined;
};

/**
 * Draws the verifiers of an audit's current stage with the hash of its draw block. Anyone may
 * call it once that block is mined.
 * @throws {ContractRevertedError} `AuditCourtDrawTooEarly` before the draw block is mined.
 *
 * @example
 * const { verifiers } = await assignVerifiers(client, { auditId })
 */
export async function assignVerifiers(client: AgoraWalletClient, { auditId }: AssignVerifiersParameters): Promise<AssignVerifiersReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'assignVerifiers', args: [auditId] },
    `Drawing verifiers for audit ${auditId}`,
  );
  const logs = parseEventLogs({ abi: auditCourtAbi, logs: result.receipt.logs });
  const rescheduled = logs.find((log) => log.eventName === 'DrawRescheduled');
  return {
    ...result,
    verifiers: logs.flatMap((log) => (log.eventName === 'VerifierAssigned' ? [log.args.verifier] : [])),
    cancelled: logs.some((log) => log.eventName === 'AuditCancelled'),
    rescheduledDrawBlock: rescheduled?.eventName === 'DrawRescheduled' ? BigInt(rescheduled.args.drawBlock) : undefined,
  };
}
