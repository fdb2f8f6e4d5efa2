import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { modelRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type SetModelMetadataURIParameters = { modelId: Hex; metadataURI: string };
export type SetModelMetadataURIReturnType = TransactionResult;

/**
 * Changes a model's metadata URI (card, license); publisher only.
 *
 * @example
 * await setModelMetadataURI(client, { modelId, metadataURI: 'ipfs://…' })
 */
export async function setModelMetadataURI(
  client: AgoraWalletClient,
  { modelId, metadataURI }: SetModelMetadataURIParameters,
): Promise<SetModelMetadataURIReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.modelRegistry, abi: modelRegistryAbi, functionName: 'setMetadataURI', args: [modelId, metadataURI] },
    `Setting the metadata URI of model ${modelId}`,
  );
}
