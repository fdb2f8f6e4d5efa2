import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi, auditVerdicts, type CommittableVerdict } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type RevealVerdictParameters = { auditId: bigint; verdict: CommittableVerdict; salt: Hex };
/** `decided`: this reveal was the stage's last, so the stage has its verdict. */
export type RevealVerdictReturnType = TransactionResult & { decided: boolean };

/**
 * Reveals the verdict committed with `commitVerdict`. Reveals open once every drawn verifier of
 * the stage committed (or the commit window ended) and close at the reveal deadline.
 * @throws {ContractRevertedError} `AuditCourtCommitmentMismatch` if verdict or salt differ from the commitment.
 *
 * @example
 * await revealVerdict(verifierClient, { auditId, verdict: 'Fail', salt })
 */
export async function revealVerdict(client: AgoraWalletClient, { auditId, verdict, salt }: RevealVerdictParameters): Promise<RevealVerdictReturnType> {
  const result = await sendContractTransaction(
    client,
    {
      address: requireAuditCourt(client.deployment),
      abi: auditCourtAbi,
      functionName: 'revealVerdict',
      args: [auditId, auditVerdicts.indexOf(verdict), salt],
    },
    `Revealing a verdict on audit ${auditId}`,
  );
  let decided = true;
  try {
    getEventArgs(result.receipt, 'StageDecided');
  } catch {
    decided = false;
  }
  return { ...result, decided };
}
