import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi, auditVerdicts, type AuditVerdict } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type FinalizeAuditParameters = { auditId: bigint };
/** Where the slash went: `refund` to the buyer, `bounty` to the verifiers, `toTreasury` the rest (plus rounding). */
export type FinalizeAuditReturnType = TransactionResult & {
  outcome: AuditVerdict;
  slashed: bigint;
  refund: bigint;
  bounty: bigint;
  toTreasury: bigint;
};

/**
 * Settles a decided audit (a first verdict after its escalation window, a panel's at once):
 * slashes and jails a failing provider, credits refund, bounty, bonds and penalties. Outcome
 * `Unverifiable` slashes nothing, pays the opener's bond to the verifiers who voted and frees the
 * batch's root to be audited again. Anyone may
 * call it; the parties then take their credit with `withdrawAuditCredit`.
 * @throws {ContractRevertedError} `AuditCourtEscalationRunning` while the losing side may still escalate.
 *
 * @example
 * const { outcome, refund } = await finalizeAudit(client, { auditId })
 */
export async function finalizeAudit(client: AgoraWalletClient, { auditId }: FinalizeAuditParameters): Promise<FinalizeAuditReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'finalizeAudit', args: [auditId] },
    `Finalizing audit ${auditId}`,
  );
  const args = getEventArgs(result.receipt, 'AuditResolved');
  return {
    ...result,
    outcome: auditVerdicts[args.outcome as number] ?? 'None',
    slashed: args.slashed as bigint,
    refund: args.refund as bigint,
    bounty: args.bounty as bigint,
    toTreasury: args.toTreasury as bigint,
  };
}
