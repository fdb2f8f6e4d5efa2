import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { getOffer, type GetOfferReturnType } from './getOffer.ts';
import { getProvider } from './getProvider.ts';

export type GetOffersForModelParameters = { modelId: Hex; /** Only providers that may take work now (default true). */ activeOnly?: boolean };
export type GetOffersForModelReturnType = (GetOfferReturnType & { provider: Address; endpoint: string; stake: bigint; providerActive: boolean })[];

/**
 * The live offers for a model with each provider's endpoint and stake, cheapest first.
 *
 * @example
 * const [cheapest] = await getOffersForModel(client, { modelId })
 */
export async function getOffersForModel(
  client: AgoraClient,
  { modelId, activeOnly = true }: GetOffersForModelParameters,
): Promise<GetOffersForModelReturnType> {
  const providers = await readContract(client, {
    address: client.deployment.contracts.providerRegistry,
    abi: providerRegistryAbi,
    functionName: 'getProvidersForModel',
    args: [modelId],
  });
  const offers = await Promise.all(
    providers.map(async (provider) => {
      const [offer, record] = await Promise.all([getOffer(client, { provider, modelId }), getProvider(client, { provider })]);
      return { ...offer, provider, endpoint: record.endpoint, stake: record.stake, providerActive: record.active };
    }),
  );
  return offers
    .filter((offer) => offer.active && (!activeOnly || offer.providerActive))
    .sort((a, b) => (a.pricePerUnit < b.pricePerUnit ? -1 : a.pricePerUnit > b.pricePerUnit ? 1 : 0));
}
