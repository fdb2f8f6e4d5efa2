import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';

export type GetOfferParameters = { provider: Address; modelId: Hex };
export type GetOfferReturnType = { pricePerUnit: bigint; unit: string; active: boolean };

/**
 * A provider's offer for a model (`active: false` when it has none).
 *
 * @example
 * const { pricePerUnit } = await getOffer(client, { provider, modelId })
 */
export async function getOffer(client: AgoraClient, { provider, modelId }: GetOfferParameters): Promise<GetOfferReturnType> {
  return readContract(client, {
    address: client.deployment.contracts.providerRegistry,
    abi: providerRegistryAbi,
    functionName: 'getOffer',
    args: [provider, modelId],
  });
}
