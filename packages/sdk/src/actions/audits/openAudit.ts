import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { MAX_AUDIT_BATCH } from '../../receipts/receiptBatch.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type OpenAuditParameters = {
  /** The channel every receipt of the batch names; the caller must be its payer (see below). */
  channelId: Hex;
  /** Root of the batch (`createReceiptBatchTree(receiptDigests).root`). */
  receiptsRoot: Hex;
  /** Receipts under the root, 1 to 64 (`createReceiptBatchTree(…).count`). */
  receiptCount: number;
  /**
   * Where drawn verifiers fetch the batch (every receipt with its signature, input, params and
   * output), e.g. a gateway's `/audits/<receiptsRoot>/evidence`. Evidence that cannot be fetched or
   * does not match the root gets the verdict Unverifiable: no slash, the bond pays the verifiers.
   */
  evidenceURI: string;
  /** Approve the audit bond first if the allowance is short (default true). */
  approve?: boolean;
};
/** `drawBlock`: once it is mined, anyone calls `assignVerifiers`. */
export type OpenAuditReturnType = TransactionResult & { auditId: bigint; drawBlock: bigint };

/**
 * Opens an audit of a batch of up to 64 provider-signed receipts of one payment channel and pays
 * the audit bond (returned if the provider is found failing). Only the channel's payer may open
 * it: its buyer, its voucher signer, or an account the buyer allowed with `setAuditor`. The court
 * keeps only the root; verifiers check every receipt off-chain.
 *
 * @throws {AgoraError} `InvalidAuditBatch` for a count outside 1..64 or a zero root (nothing is sent).
 * @throws {ContractRevertedError} `AuditCourtNotPayer` when the caller is not the channel's payer;
 *   `AuditCourtBatchAlreadyAudited` when the root is being (or was) audited.
 * @example
 * const batch = createReceiptBatchTree(receipts.map((r) => hashInferenceReceipt(domain, r)))
 * const { auditId } = await openAudit(client, { channelId, receiptsRoot: batch.root, receiptCount: batch.count, evidenceURI })
 */
export async function openAudit(client: AgoraWalletClient, { channelId, receiptsRoot, receiptCount, evidenceURI, approve = true }: OpenAuditParameters): Promise<OpenAuditReturnType> {
  if (!Number.isInteger(receiptCount) || receiptCount < 1 || receiptCount > MAX_AUDIT_BATCH || /^0x0{64}$/.test(receiptsRoot)) {
    throw new AgoraError('InvalidAuditBatch', `An audit covers 1 to ${MAX_AUDIT_BATCH} receipts under a non-zero root; got ${receiptCount} under ${receiptsRoot}.`, {
      fix: 'build the batch with createReceiptBatchTree and pass its root and count.',
    });
  }
  const court = requireAuditCourt(client.deployment);
  if (approve) {
    const { auditBond } = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getConfig' });
    await ensureAllowance(client, { spender: court, amount: auditBond });
  }
  const result = await sendContractTransaction(
    client,
    { address: court, abi: auditCourtAbi, functionName: 'openAudit', args: [channelId, receiptsRoot, receiptCount, evidenceURI] },
    `Opening an audit of ${receiptCount} receipt(s) of channel ${channelId}`,
  );
  const args = getEventArgs(result.receipt, 'AuditOpened');
  return { ...result, auditId: args.auditId as bigint, drawBlock: BigInt(args.drawBlock as bigint) };
}
