import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import type { SignedVoucher } from '../../vouchers/voucher.ts';

export type RedeemVoucherParameters = { voucher: SignedVoucher };
/** `paid`: taken from the deposit by this redeem; `providerShare`: what reached the provider's wallet. */
export type RedeemVoucherReturnType = TransactionResult & { paid: bigint; providerShare: bigint };

/**
 * Redeems the newest voucher of a channel (provider only): one transaction for any number of calls.
 *
 * @example
 * const { providerShare } = await redeemVoucher(client, { voucher })
 */
export async function redeemVoucher(client: AgoraWalletClient, { voucher }: RedeemVoucherParameters): Promise<RedeemVoucherReturnType> {
  const result = await sendContractTransaction(
    client,
    {
      address: client.deployment.contracts.paymentChannels,
      abi: paymentChannelsAbi,
      functionName: 'redeem',
      args: [voucher.channelId, voucher.cumulativeAmount, voucher.requestHash, voucher.signature],
    },
    `Redeeming a voucher on channel ${voucher.channelId}`,
  );
  const event = getEventArgs(result.receipt, 'VoucherRedeemed');
  return { ...result, paid: event.paid as bigint, providerShare: event.providerShare as bigint };
}
