import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type AcceptJobParameters = { jobId: bigint };
export type AcceptJobReturnType = TransactionResult;

/**
 * JobMarket `acceptJob`: the provider takes an open job at its offer price.
 *
 * @example
 * await acceptJob(client, { jobId })
 */
export async function acceptJob(client: AgoraWalletClient, { jobId }: AcceptJobParameters): Promise<AcceptJobReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'acceptJob', args: [jobId] },
    `Accepting job ${jobId}`,
  );
}
