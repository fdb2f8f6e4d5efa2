import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { getModel } from '../models/getModel.ts';
import { getJob } from './getJob.ts';

export type AcceptJobParameters = {
  jobId: bigint;
  /**
   * The highest model royalty rate the provider agrees to pay from its share (basis points); the
   * accept reverts `SettlementRoyaltyAboveMax` above it. Default: the model's rate read just before
   * sending, so a publisher who raises it while the accept is pending cannot bind the job to it.
   */
  maxRoyaltyBps?: number;
};
export type AcceptJobReturnType = TransactionResult;

/**
 * JobMarket `acceptJob`: the provider takes an open job at the price fixed when it opened (its own
 * offer must be at most that price).
 *
 * @example
 * await acceptJob(client, { jobId, maxRoyaltyBps: 500 })
 */
export async function acceptJob(client: AgoraWalletClient, { jobId, maxRoyaltyBps }: AcceptJobParameters): Promise<AcceptJobReturnType> {
  const royaltyCap = maxRoyaltyBps ?? (await getModel(client, { modelId: (await getJob(client, { jobId })).modelId })).royaltyBps;
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'acceptJob', args: [jobId, royaltyCap] },
    `Accepting job ${jobId}`,
  );
}
