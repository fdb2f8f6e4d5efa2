import type { Address } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type JailProviderParameters = { provider: Address; /** Unix seconds. */ until: bigint };
export type JailProviderReturnType = TransactionResult;

/**
 * Bars a provider from new work until `until`. Only the deployment's audit court may call it.
 *
 * @example
 * await jailProvider(auditClient, { provider, until: now + 86_400n })
 */
export async function jailProvider(client: AgoraWalletClient, { provider, until }: JailProviderParameters): Promise<JailProviderReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'jail', args: [provider, until] },
    `Jailing provider ${provider}`,
  );
}
