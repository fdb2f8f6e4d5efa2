import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type ReclaimJobParameters = { jobId: bigint };
export type ReclaimJobReturnType = TransactionResult;

/**
 * JobMarket `reclaimJob`: the buyer takes back the escrow of a job not delivered by its deadline.
 *
 * @example
 * await reclaimJob(client, { jobId })
 */
export async function reclaimJob(client: AgoraWalletClient, { jobId }: ReclaimJobParameters): Promise<ReclaimJobReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'reclaimJob', args: [jobId] },
    `Reclaiming job ${jobId}`,
  );
}
