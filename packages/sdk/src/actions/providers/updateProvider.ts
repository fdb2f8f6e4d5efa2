import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type UpdateProviderParameters = { endpoint: string; publicKey?: Hex };
export type UpdateProviderReturnType = TransactionResult;

/**
 * Changes the provider's endpoint and public key.
 *
 * @example
 * await updateProvider(client, { endpoint: 'https://node.example.org' })
 */
export async function updateProvider(
  client: AgoraWalletClient,
  { endpoint, publicKey = '0x' }: UpdateProviderParameters,
): Promise<UpdateProviderReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'updateProvider', args: [endpoint, publicKey] },
    `Updating provider ${client.account.address}`,
  );
}
