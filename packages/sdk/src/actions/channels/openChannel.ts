import { zeroAddress, type Address, type Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { getModel } from '../models/getModel.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';

export type OpenChannelParameters = {
  provider: Address;
  modelId: Hex;
  /** Tokens locked for calls, in base units. */
  deposit: bigint;
  /** Key that signs vouchers (a hot key); default: the buyer's account. */
  signer?: Address;
  /**
   * The highest model royalty rate the buyer agrees to (basis points), e.g. the rate in the
   * provider's quote; the open reverts `SettlementRoyaltyAboveMax` above it. Default: the model's
   * rate read just before sending, so a publisher who raises it while the open is pending cannot
   * bind the channel to the new rate.
   */
  maxRoyaltyBps?: number;
  approve?: boolean;
};
export type OpenChannelReturnType = TransactionResult & { channelId: Hex };

/**
 * Opens a payment channel to a provider for one model. The model's royalty rate at open (at most
 * `maxRoyaltyBps`) caps what every redeem on the channel pays its publisher.
 *
 * @example
 * const { channelId } = await openChannel(client, { provider, modelId, deposit: 10_000_000n })
 */
export async function openChannel(client: AgoraWalletClient, params: OpenChannelParameters): Promise<OpenChannelReturnType> {
  const address = client.deployment.contracts.paymentChannels;
  const maxRoyaltyBps = params.maxRoyaltyBps ?? (await getModel(client, { modelId: params.modelId })).royaltyBps;
  if (params.approve ?? true) await ensureAllowance(client, { spender: address, amount: params.deposit });
  const result = await sendContractTransaction(
    client,
    {
      address,
      abi: paymentChannelsAbi,
      functionName: 'openChannel',
      args: [params.provider, params.modelId, params.deposit, params.signer ?? zeroAddress, maxRoyaltyBps],
    },
    `Opening a channel to ${params.provider}`,
  );
  return { ...result, channelId: getEventArgs(result.receipt, 'ChannelOpened').channelId as Hex };
}
