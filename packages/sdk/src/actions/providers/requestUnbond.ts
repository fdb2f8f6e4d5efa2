import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type RequestUnbondParameters = { amount: bigint };
/** `readyAt`: unix seconds from which `withdrawUnbonded` succeeds. */
export type RequestUnbondReturnType = TransactionResult & { readyAt: bigint };

/**
 * Starts unbonding part of the stake; it stays slashable until withdrawn after the delay.
 *
 * @example
 * const { readyAt } = await requestUnbond(client, { amount: 50_000_000n })
 */
export async function requestUnbond(client: AgoraWalletClient, { amount }: RequestUnbondParameters): Promise<RequestUnbondReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'requestUnbond', args: [amount] },
    `Unbonding stake of ${client.account.address}`,
  );
  return { ...result, readyAt: BigInt(getEventArgs(result.receipt, 'UnbondRequested').readyAt as bigint) };
}
