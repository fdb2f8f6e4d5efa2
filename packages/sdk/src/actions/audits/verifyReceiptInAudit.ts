import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import type { InferenceReceipt } from '../../receipts/inferenceReceipt.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type VerifyReceiptInAuditParameters = {
  auditId: bigint;
  /** The receipt as the provider signed it (a `SignedInferenceReceipt` fits). */
  receipt: InferenceReceipt & { signature: Hex };
  /** Its proof in the audit's root (`createReceiptBatchTree(…).getProof(receiptDigest)`). */
  proof: readonly Hex[];
};

/**
 * Asks the court whether a receipt is one of an audit's batch: its leaf is under the audit's root,
 * it names the audit's channel, and its signature recovers to the audit's provider. A view: anyone
 * (verifiers, observers) can check a leaf without a transaction.
 *
 * @example
 * const inBatch = await verifyReceiptInAudit(client, { auditId, receipt, proof: batch.getProof(digest) })
 */
export async function verifyReceiptInAudit(client: AgoraClient, { auditId, receipt, proof }: VerifyReceiptInAuditParameters): Promise<boolean> {
  const { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount, signature } = receipt;
  return readContract(client, {
    address: requireAuditCourt(client.deployment),
    abi: auditCourtAbi,
    functionName: 'verifyReceiptInAudit',
    args: [auditId, { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount }, signature, [...proof]],
  }).catch((err: unknown) => {
    throw toAgoraError(err, `Checking a receipt against audit ${auditId}`);
  });
}
