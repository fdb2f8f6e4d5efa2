import type { Address } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type SlashProviderParameters = { provider: Address; amount: bigint; /** Receives the slashed tokens (default: the caller). */ recipient?: Address };
/** `slashed`: what was actually taken (less than `amount` if the stake was smaller). */
export type SlashProviderReturnType = TransactionResult & { slashed: bigint };

/**
 * Slashes a provider's stake. Only the deployment's audit court may call it.
 *
 * @example
 * const { slashed } = await slashProvider(auditClient, { provider, amount: 10_000_000n })
 */
export async function slashProvider(
  client: AgoraWalletClient,
  { provider, amount, recipient = client.account.address }: SlashProviderParameters,
): Promise<SlashProviderReturnType> {
  const result = await sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'slash', args: [provider, amount, recipient] },
    `Slashing provider ${provider}`,
  );
  return { ...result, slashed: getEventArgs(result.receipt, 'Slashed').amount as bigint };
}
