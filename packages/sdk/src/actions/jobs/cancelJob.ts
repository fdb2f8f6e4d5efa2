import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type CancelJobParameters = { jobId: bigint };
export type CancelJobReturnType = TransactionResult;

/**
 * JobMarket `cancelJob`: the buyer takes back the escrow of a job nobody accepted.
 *
 * @example
 * await cancelJob(client, { jobId })
 */
export async function cancelJob(client: AgoraWalletClient, { jobId }: CancelJobParameters): Promise<CancelJobReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'cancelJob', args: [jobId] },
    `Cancelling job ${jobId}`,
  );
}
