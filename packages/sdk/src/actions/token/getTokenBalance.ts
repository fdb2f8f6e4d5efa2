import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { devUsdAbi } from '../../contracts.ts';

export type GetTokenBalanceParameters = { account: Address };
export type GetTokenBalanceReturnType = bigint;

/**
 * Balance of `account` in the deployment's token (base units).
 *
 * @example
 * const balance = await getTokenBalance(client, { account: '0x…' })
 */
export async function getTokenBalance(
  client: AgoraClient,
  { account }: GetTokenBalanceParameters,
): Promise<GetTokenBalanceReturnType> {
  return readContract(client, {
    address: client.deployment.contracts.token,
    abi: devUsdAbi,
    functionName: 'balanceOf',
    args: [account],
  });
}
