import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type FinalizeJobParameters = { jobId: bigint };
export type FinalizeJobReturnType = TransactionResult;

/**
 * JobMarket `finalizeJob`: anyone pays out a delivered job after its challenge window.
 *
 * @example
 * await finalizeJob(client, { jobId })
 */
export async function finalizeJob(client: AgoraWalletClient, { jobId }: FinalizeJobParameters): Promise<FinalizeJobReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'finalizeJob', args: [jobId] },
    `Finalizing job ${jobId}`,
  );
}
