import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { modelRegistryAbi } from '../../contracts.ts';
import { getModel, type GetModelReturnType } from './getModel.ts';

export type GetModelsReturnType = GetModelReturnType[];

/**
 * Every registered model, in registration order.
 *
 * @example
 * for (const model of await getModels(client)) console.log(model.modelId, model.format)
 */
export async function getModels(client: AgoraClient): Promise<GetModelsReturnType> {
  const address = client.deployment.contracts.modelRegistry;
  const count = await readContract(client, { address, abi: modelRegistryAbi, functionName: 'getModelCount' });
  const ids = await readContract(client, { address, abi: modelRegistryAbi, functionName: 'getModelIds', args: [0n, count] });
  return Promise.all(ids.map((modelId) => getModel(client, { modelId })));
}
