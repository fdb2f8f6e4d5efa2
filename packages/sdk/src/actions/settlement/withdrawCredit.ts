import type { AgoraWalletClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

/** The contracts that hold credits (pull payments). */
export type CreditSource = 'jobMarket' | 'paymentChannels';

export type WithdrawCreditParameters = { from: CreditSource };
export type WithdrawCreditReturnType = TransactionResult & { amount: bigint };

/**
 * Withdraws everything credited to the client's account by JobMarket (job payouts and refunds) or
 * PaymentChannels (cooperative-close refunds, fees, royalties).
 *
 * @example
 * const { amount } = await withdrawCredit(client, { from: 'jobMarket' })
 */
export async function withdrawCredit(client: AgoraWalletClient, { from }: WithdrawCreditParameters): Promise<WithdrawCreditReturnType> {
  // Both contracts share Settlement's `withdraw()`, so one ABI fragment serves both.
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts[from], abi: jobMarketAbi, functionName: 'withdraw', args: [] },
    `Withdrawing credit from ${from}`,
  );
  return { ...result, amount: getEventArgs(result.receipt, 'Withdrawn').amount as bigint };
}
