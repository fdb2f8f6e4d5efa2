import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';

export type StakeParameters = {
  /** Tokens to lock, in base units. */
  amount: bigint;
  /** Approve the registry first if needed (default true). */
  approve?: boolean;
};
export type StakeReturnType = TransactionResult;

/**
 * Locks more stake for the client's provider account.
 *
 * @example
 * await stake(client, { amount: 100_000_000n })
 */
export async function stake(client: AgoraWalletClient, { amount, approve = true }: StakeParameters): Promise<StakeReturnType> {
  const registry = client.deployment.contracts.providerRegistry;
  if (approve) await ensureAllowance(client, { spender: registry, amount });
  return sendContractTransaction(
    client,
    { address: registry, abi: providerRegistryAbi, functionName: 'stake', args: [amount] },
    `Staking for ${client.account.address}`,
  );
}
