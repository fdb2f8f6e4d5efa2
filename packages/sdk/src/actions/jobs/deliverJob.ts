import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { signJobReceipt } from '../../receipts/jobReceipt.ts';
import { getJob } from './getJob.ts';

export type DeliverJobParameters = {
  jobId: bigint;
  /** sha-256 of the output payload. */
  outputHash: Hex;
  /** The provider's EIP-712 receipt; signed with the client's account when omitted. */
  receipt?: Hex;
};
export type DeliverJobReturnType = TransactionResult & { signature: Hex };

/**
 * Delivers a job's output hash with a signed receipt; payment follows after the challenge window.
 *
 * @example
 * await deliverJob(client, { jobId, outputHash })
 */
export async function deliverJob(client: AgoraWalletClient, { jobId, outputHash, receipt }: DeliverJobParameters): Promise<DeliverJobReturnType> {
  let signature = receipt;
  if (!signature) {
    const job = await getJob(client, { jobId });
    signature = await signJobReceipt(client, { jobId, modelId: job.modelId, inputHash: job.inputHash, outputHash });
  }
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'deliverJob', args: [jobId, outputHash, signature] },
    `Delivering job ${jobId}`,
  );
  return { hash: result.hash, receipt: result.receipt, signature };
}
