import type { Address } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { jobMarketAbi } from '../../contracts.ts';
import type { CreditSource } from './withdrawCredit.ts';

export type GetCreditParameters = { account: Address; from: CreditSource };
export type GetCreditReturnType = bigint;

/**
 * What `account` can take with `withdrawCredit` from JobMarket or PaymentChannels.
 *
 * @example
 * const owed = await getCredit(client, { account, from: 'jobMarket' })
 */
export async function getCredit(client: AgoraClient, { account, from }: GetCreditParameters): Promise<GetCreditReturnType> {
  return readContract(client, {
    address: client.deployment.contracts[from],
    abi: jobMarketAbi,
    functionName: 'withdrawableOf',
    args: [account],
  });
}
