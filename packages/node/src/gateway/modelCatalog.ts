import type { Address, Hex } from 'viem';
import { AgoraError, getModelName, getModels, getOffersForModel, type AgoraClient, type GetModelReturnType } from '@agora/sdk';

/** A registered model as the gateway shows it: its on-chain record and a name users can type. */
export type CatalogModel = GetModelReturnType & { name: string };

/** A provider's live offer for a model, with where to reach it. */
export type CatalogOffer = { provider: Address; endpoint: string; price: bigint };

/** The name a model is known by: its registered name (`agora://models/<name>`), else its id. */
export function modelName(model: GetModelReturnType): string {
  return getModelName(model) ?? model.modelId;
}

/** A failed chain read, as the gateway's users see it (503: try again later). */
function chainUnavailable(cause: unknown): never {
  throw new AgoraError('ChainUnavailable', 'The gateway cannot read the network’s models and offers from the chain right now.', {
    cause,
    fix: 'retry in a moment; if it lasts, the gateway’s RPC endpoint is down.',
  });
}

/**
 * What the network sells, read from ModelRegistry and ProviderRegistry and cached for `ttlMs`
 * (offers change rarely; a provider that stops answering is skipped by the caller meanwhile).
 *
 * @example
 * const catalog = createModelCatalog({ client })
 * const model = await catalog.resolve('agora/tiny-llama')
 * const [cheapest] = await catalog.offers(model.modelId)
 */
export function createModelCatalog(init: { client: AgoraClient; ttlMs?: number }) {
  const ttlMs = init.ttlMs ?? 5_000;
  let models: { at: number; list: Promise<CatalogModel[]> } | undefined;
  const offers = new Map<string, { at: number; list: Promise<CatalogOffer[]> }>();

  function listModels(): Promise<CatalogModel[]> {
    if (!models || Date.now() - models.at > ttlMs) {
      const list = getModels(init.client).then((all) => all.map((m) => ({ ...m, name: modelName(m) })), chainUnavailable);
      // A failed read is not cached: the next request tries the chain again.
      list.catch(() => (models = undefined));
      models = { at: Date.now(), list };
    }
    return models.list;
  }

  function listOffers(modelId: Hex): Promise<CatalogOffer[]> {
    const key = modelId.toLowerCase();
    const cached = offers.get(key);
    if (cached && Date.now() - cached.at <= ttlMs) return cached.list;
    const list = getOffersForModel(init.client, { modelId }).then(
      (all) => all.filter((o) => o.endpoint.length > 0).map((o) => ({ provider: o.provider, endpoint: o.endpoint, price: o.pricePerUnit })),
      chainUnavailable,
    );
    list.catch(() => offers.delete(key));
    offers.set(key, { at: Date.now(), list });
    return list;
  }

  return {
    listModels,
    /** Live offers for a model, cheapest first (only active, staked, unjailed providers). */
    offers: listOffers,
    /** Finds a model by name (`agora/tiny-llama`) or by id (`0x…`); undefined if the network has none. */
    async resolve(ref: string): Promise<CatalogModel | undefined> {
      const all = await listModels();
      const wanted = ref.toLowerCase();
      return all.find((m) => m.modelId.toLowerCase() === wanted) ?? all.find((m) => m.name.toLowerCase() === wanted);
    },
  };
}

export type ModelCatalog = ReturnType<typeof createModelCatalog>;
