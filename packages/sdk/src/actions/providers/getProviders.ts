import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';

export type GetProvidersReturnType = readonly Address[];

/**
 * Every provider that ever registered, in registration order.
 *
 * @example
 * const providers = await getProviders(client)
 */
export async function getProviders(client: AgoraClient): Promise<GetProvidersReturnType> {
  return readContract(client, { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'getProviders' });
}
