import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type WithdrawChannelParameters = { channelId: Hex };
export type WithdrawChannelReturnType = TransactionResult & { refund: bigint };

/**
 * Ends a unilateral close after its challenge period; the unredeemed deposit returns to the buyer.
 *
 * @example
 * const { refund } = await withdrawChannel(client, { channelId })
 */
export async function withdrawChannel(
  client: AgoraWalletClient,
  { channelId }: WithdrawChannelParameters,
): Promise<WithdrawChannelReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.paymentChannels, abi: paymentChannelsAbi, functionName: 'withdrawChannel', args: [channelId] },
    `Withdrawing from channel ${channelId}`,
  );
  return { ...result, refund: getEventArgs(result.receipt, 'ChannelClosed').refund as bigint };
}
