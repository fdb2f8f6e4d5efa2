import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type RequestChannelCloseParameters = { channelId: Hex };
/** `closesAt`: unix seconds when the challenge period ends and `withdrawChannel` succeeds. */
export type RequestChannelCloseReturnType = TransactionResult & { closesAt: bigint };

/**
 * Starts a unilateral close (buyer only). The provider can still redeem until `closesAt`.
 *
 * @example
 * const { closesAt } = await requestChannelClose(client, { channelId })
 */
export async function requestChannelClose(
  client: AgoraWalletClient,
  { channelId }: RequestChannelCloseParameters,
): Promise<RequestChannelCloseReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.paymentChannels, abi: paymentChannelsAbi, functionName: 'requestClose', args: [channelId] },
    `Closing channel ${channelId}`,
  );
  return { ...result, closesAt: BigInt(getEventArgs(result.receipt, 'ChannelCloseRequested').closesAt as bigint) };
}
