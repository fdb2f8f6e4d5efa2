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
  /**
   * Escrowed. The price is fixed at open: with `provider`, that provider's offer now (the open
   * reverts if it is above this); without, this amount, paid to whichever provider offering at
   * most this accepts. Whatever is escrowed above the price comes back at payout.
   */
  maxPrice: bigint;
  /** Only this provider may accept, at its offer when the job opens (default: any eligible provider). */
  provider?: Address;
  /** Unix seconds after which the buyer can reclaim an undelivered job. */
  deadline: bigint;
  approve?: boolean;
};
/** `price`: what the job pays its provider, fixed now. */
export type OpenJobReturnType = TransactionResult & { jobId: bigint; price: bigint };

/**
 * Opens a one-off job and escrows `maxPrice`. The job's price is fixed now (see `maxPrice`): no
 * provider can raise what the buyer pays by changing its offer before it accepts.
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
  const opened = getEventArgs(result.receipt, 'JobOpened');
  return { ...result, jobId: opened.jobId as bigint, price: opened.price as bigint };
}
