import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraWalletClient } from '../../client.ts';
import { devUsdAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type EnsureAllowanceParameters = { spender: Address; amount: bigint };
/** The approval transaction, or `null` when the allowance already covered `amount`. */
export type EnsureAllowanceReturnType = TransactionResult | null;

/**
 * Approves `spender` for `amount` of the deployment token if the current allowance is lower.
 * Write actions that pull tokens call it unless given `approve: false`.
 *
 * @example
 * await ensureAllowance(client, { spender: client.deployment.contracts.paymentChannels, amount: 10_000_000n })
 */
export async function ensureAllowance(
  client: AgoraWalletClient,
  { spender, amount }: EnsureAllowanceParameters,
): Promise<EnsureAllowanceReturnType> {
  const allowance = await readContract(client, {
    address: client.deployment.contracts.token,
    abi: devUsdAbi,
    functionName: 'allowance',
    args: [client.account.address, spender],
  });
  if (allowance >= amount) return null;
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.token, abi: devUsdAbi, functionName: 'approve', args: [spender, amount] },
    `Approving ${spender} to spend tokens`,
  );
}
