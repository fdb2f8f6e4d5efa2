import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type WithdrawUnbondedReturnType = TransactionResult & { amount: bigint };

/**
 * Withdraws stake whose unbonding delay has passed.
 *
 * @example
 * const { amount } = await withdrawUnbonded(client)
 */
export async function withdrawUnbonded(client: AgoraWalletClient): Promise<WithdrawUnbondedReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'withdrawUnbonded', args: [] },
    `Withdrawing unbonded stake of ${client.account.address}`,
  );
  return { ...result, amount: getEventArgs(result.receipt, 'UnbondWithdrawn').amount as bigint };
}
