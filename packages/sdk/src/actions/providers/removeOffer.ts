import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type RemoveOfferParameters = { modelId: Hex };
export type RemoveOfferReturnType = TransactionResult;

/**
 * Withdraws the provider's offer for a model.
 *
 * @example
 * await removeOffer(client, { modelId })
 */
export async function removeOffer(client: AgoraWalletClient, { modelId }: RemoveOfferParameters): Promise<RemoveOfferReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'removeOffer', args: [modelId] },
    `Removing the offer for model ${modelId}`,
  );
}
