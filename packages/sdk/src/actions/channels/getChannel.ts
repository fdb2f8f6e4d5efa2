import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { channelStatuses, paymentChannelsAbi, type ChannelStatus } from '../../contracts.ts';
import { AgoraError } from '../../errors/AgoraError.ts';

export type GetChannelParameters = { channelId: Hex };
export type GetChannelReturnType = {
  channelId: Hex;
  buyer: Address;
  provider: Address;
  signer: Address;
  modelId: Hex;
  /** The model royalty rate when the channel opened: redeems never pay a higher one. */
  royaltyBps: number;
  deposit: bigint;
  redeemed: bigint;
  /** Unix seconds when a unilateral close ends; 0 when none is running. */
  closesAt: bigint;
  status: ChannelStatus;
};

/**
 * A channel's record.
 * @throws {AgoraError} `UnknownChannel` when no such channel exists.
 *
 * @example
 * const { deposit, redeemed } = await getChannel(client, { channelId })
 */
export async function getChannel(client: AgoraClient, { channelId }: GetChannelParameters): Promise<GetChannelReturnType> {
  const channel = await readContract(client, {
    address: client.deployment.contracts.paymentChannels,
    abi: paymentChannelsAbi,
    functionName: 'getChannel',
    args: [channelId],
  });
  const status = channelStatuses[channel.status] ?? 'None';
  if (status === 'None') {
    throw new AgoraError('UnknownChannel', `Channel ${channelId} does not exist on this deployment.`, {
      fix: 'check the channel id and the deployment file.',
    });
  }
  return { channelId, ...channel, closesAt: BigInt(channel.closesAt), status };
}
