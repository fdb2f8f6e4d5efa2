import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type RegisterProviderParameters = {
  /** URL where the provider's node answers calls. */
  endpoint: string;
  /** Key buyers encrypt private payloads to (`0x` when none). */
  publicKey?: Hex;
};
export type RegisterProviderReturnType = TransactionResult;

/**
 * Registers the client's account as a provider.
 *
 * @example
 * await registerProvider(client, { endpoint: 'http://127.0.0.1:8001' })
 */
export async function registerProvider(
  client: AgoraWalletClient,
  { endpoint, publicKey = '0x' }: RegisterProviderParameters,
): Promise<RegisterProviderReturnType> {
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.providerRegistry, abi: providerRegistryAbi, functionName: 'register', args: [endpoint, publicKey] },
    `Registering provider ${client.account.address}`,
  );
}
