import type { Address } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { devUsdAbi } from '../../contracts.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';

export type MintDevUsdParameters = { to: Address; amount: bigint };
export type MintDevUsdReturnType = TransactionResult;

/**
 * Mints devnet DevUSD (the deployer only). Production tokens cannot be minted.
 *
 * @example
 * await mintDevUsd(deployerClient, { to: buyer, amount: 1_000_000_000n })
 */
export async function mintDevUsd(client: AgoraWalletClient, { to, amount }: MintDevUsdParameters): Promise<MintDevUsdReturnType> {
  if (!client.deployment.tokenIsDevUsd) {
    throw new AgoraError('NotDevnetToken', 'This deployment uses an external token, which Agora cannot mint.', {
      fix: 'fund the account with the token itself.',
    });
  }
  return sendContractTransaction(
    client,
    { address: client.deployment.contracts.token, abi: devUsdAbi, functionName: 'mint', args: [to, amount] },
    `Minting DevUSD to ${to}`,
  );
}
