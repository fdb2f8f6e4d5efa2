import { zeroAddress, type Address, type Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';

export type OpenJobParameters = {
  modelId: Hex;
  /** sha-256 of the input payload. */
  inputHash: Hex;
  /** Where the provider fetches the input (HTTP URL of a content-addressed store). */
  inputURI: string;
  /** Escrowed; the provider is paid its offer price, at most this, and the rest comes back. */
  maxPrice: bigint;
  /** Only this provider may accept (default: any eligible provider). */
  provider?: Address;
  /** Unix seconds after which the buyer can reclaim an undelivered job. */
  deadline: bigint;
  approve?: boolean;
};
export type OpenJobReturnType = TransactionResult & { jobId: bigint };

/**
 * Opens a one-off job and escrows `maxPrice`.
 *
 * @example
 * const { jobId } = await openJob(client, { modelId, inputHash, inputURI, maxPrice: 5_000n, deadline })
 */
export async function openJob(client: AgoraWalletClient, params: OpenJobParameters): Promise<OpenJobReturnType> {
  const market = client.deployment.contracts.jobMarket;
  if (params.approve ?? true) await ensureAllowance(client, { spender: market, amount: params.maxPrice });
  const result = await sendContractTransaction(
    client,
    {
      address: market,
      abi: jobMarketAbi,
      functionName: 'openJob',
      args: [
        {
          modelId: params.modelId,
          inputHash: params.inputHash,
          inputURI: params.inputURI,
          maxPrice: params.maxPrice,
          provider: params.provider ?? zeroAddress,
          deadline: params.deadline,
        },
      ],
    },
    `Opening a job for model ${params.modelId}`,
  );
  return { ...result, jobId: getEventArgs(result.receipt, 'JobOpened').jobId as bigint };
}
