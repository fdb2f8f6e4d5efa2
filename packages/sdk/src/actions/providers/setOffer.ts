import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type SetOfferParameters = {
  modelId: Hex;
  /** Price per unit in token base units. */
  pricePerUnit: bigint;
  /** What one unit is: `call`, `token`, ... (default `call`). */
  unit?: string;
};
export type SetOfferReturnType = TransactionResult;

/**
 * Creates or changes the provider's offer for a model.
 *
 * @example
 * await setOffer(client, { modelId, pricePerUnit: 1_000n })
 */
export async function setOffer(
  client: AgoraWalletClient,
  { modelId, pricePerUnit, unit = 'call' }: SetOfferParameters,
): Promise<SetOfferReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'setOffer', args: [modelId, pricePerUnit, unit] },
    `Setting the offer for model ${modelId}`,
  );
}
