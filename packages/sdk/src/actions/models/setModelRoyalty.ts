import type { Address, Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { modelRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type SetModelRoyaltyParameters = { modelId: Hex; royaltyReceiver: Address; royaltyBps: number };
export type SetModelRoyaltyReturnType = TransactionResult;

/**
 * Changes who receives a model's royalty and how much (publisher only; at most 3,000 bps).
 *
 * @example
 * await setModelRoyalty(client, { modelId, royaltyReceiver: pool, royaltyBps: 500 })
 */
export async function setModelRoyalty(
  client: AgoraWalletClient,
  { modelId, royaltyReceiver, royaltyBps }: SetModelRoyaltyParameters,
): Promise<SetModelRoyaltyReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.modelRegistry, abi: modelRegistryAbi, functionName: 'setRoyalty', args: [modelId, royaltyReceiver, royaltyBps] },
    `Setting the royalty of model ${modelId}`,
  );
}
