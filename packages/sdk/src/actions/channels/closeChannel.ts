import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import type { SignedVoucher } from '../../vouchers/voucher.ts';

export type CloseChannelParameters = {
  channelId: Hex;
  /** The newest voucher, redeemed as part of the close; omit when there is nothing to redeem. */
  voucher?: SignedVoucher;
};
export type CloseChannelReturnType = TransactionResult & { refund: bigint };

/**
 * Cooperative close by the provider: redeems the final voucher and closes at once; the buyer's
 * remainder is credited to it (taken with `withdrawCredit`).
 *
 * @example
 * await closeChannel(providerClient, { channelId, voucher: latest })
 */
export async function closeChannel(client: AgoraWalletClient, { channelId, voucher }: CloseChannelParameters): Promise<CloseChannelReturnType> {
  const result = await sendContractTransaction(
    client,
    {
      address: client.deployment.contracts.paymentChannels,
      abi: paymentChannelsAbi,
      functionName: 'closeChannel',
      args: voucher
        ? [channelId, voucher.cumulativeAmount, voucher.requestHash, voucher.signature]
        : [channelId, 0n, `0x${'00'.repeat(32)}`, '0x'],
    },
    `Closing channel ${channelId}`,
  );
  return { ...result, refund: getEventArgs(result.receipt, 'ChannelClosed').refund as bigint };
}
