import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';

export type TopUpChannelParameters = { channelId: Hex; amount: bigint; approve?: boolean };
export type TopUpChannelReturnType = TransactionResult;

/**
 * Adds to an open channel's deposit.
 *
 * @example
 * await topUpChannel(client, { channelId, amount: 5_000_000n })
 */
export async function topUpChannel(
  client: AgoraWalletClient,
  { channelId, amount, approve = true }: TopUpChannelParameters,
): Promise<TopUpChannelReturnType> {
  const address = client.deployment.contracts.paymentChannels;
  if (approve) await ensureAllowance(client, { spender: address, amount });
  return sendContractTransaction(
    client,
    { address, abi: paymentChannelsAbi, functionName: 'topUp', args: [channelId, amount] },
    `Topping up channel ${channelId}`,
  );
}
