import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { modelRegistryAbi, verificationModes, type VerificationMode } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';

export type GetModelParameters = { modelId: Hex };
export type GetModelReturnType = {
  modelId: Hex;
  weightsHash: Hex;
  runtime: string;
  quantization: string;
  format: string;
  verificationMode: VerificationMode;
  publisher: Address;
  royaltyReceiver: Address;
  royaltyBps: number;
  metadataURI: string;
};

/**
 * A registered model's record.
 * @throws {ContractRevertedError} `ModelRegistryUnknownModel` for an unknown id.
 *
 * @example
 * const model = await getModel(client, { modelId })
 */
export async function getModel(client: AgoraClient, { modelId }: GetModelParameters): Promise<GetModelReturnType> {
  try {
    const model = await readContract(client, {
      address: client.deployment.contracts.modelRegistry,
      abi: modelRegistryAbi,
      functionName: 'getModel',
      args: [modelId],
    });
    return { modelId, ...model, verificationMode: verificationModes[model.verificationMode] ?? 'exact' };
  } catch (err) {
    throw toAgoraError(err, `Reading model ${modelId}`);
  }
}
