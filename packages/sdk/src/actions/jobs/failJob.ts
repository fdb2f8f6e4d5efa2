import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

/** Structured reasons a provider reports with `failJob`. The buyer is refunded in full for each. */
export const jobErrorCodes = {
  inputUnavailable: 1,
  inputHashMismatch: 2,
  inputTooLarge: 3,
  modelError: 4,
  unsupported: 5,
} as const;

export type FailJobParameters = { jobId: bigint; errorCode: number };
export type FailJobReturnType = TransactionResult;

/**
 * Reports that an accepted job could not be done: the buyer is refunded in full, the provider is
 * paid nothing.
 *
 * @example
 * await failJob(client, { jobId, errorCode: jobErrorCodes.inputHashMismatch })
 */
export async function failJob(client: AgoraWalletClient, { jobId, errorCode }: FailJobParameters): Promise<FailJobReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.jobMarket, abi: jobMarketAbi, functionName: 'failJob', args: [jobId, errorCode] },
    `Reporting job ${jobId} as failed`,
  );
}
