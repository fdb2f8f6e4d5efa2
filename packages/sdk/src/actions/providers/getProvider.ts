import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { providerRegistryAbi } from '../../contracts.ts';

export type GetProviderParameters = { provider: Address };
export type GetProviderReturnType = {
  address: Address;
  registered: boolean;
  endpoint: string;
  publicKey: Hex;
  stake: bigint;
  unbondingAmount: bigint;
  unbondingReadyAt: bigint;
  jailedUntil: bigint;
  /** Block since which the stake has stayed at or above the minimum (0: below it); a verifier must be staked since before an audit opened. */
  stakedSince: bigint;
  /** Audits of this provider still open: while any is, its unbonded stake cannot be withdrawn. */
  openAudits: number;
  /** Registered, staked at least the minimum, not jailed. */
  active: boolean;
};

/**
 * A provider's record and whether it may take work now.
 *
 * @example
 * const { stake, active } = await getProvider(client, { provider: '0x…' })
 */
export async function getProvider(client: AgoraClient, { provider }: GetProviderParameters): Promise<GetProviderReturnType> {
  const address = client.deployment.contracts.providerRegistry;
  const [record, active] = await Promise.all([
    readContract(client, { address, abi: providerRegistryAbi, functionName: 'getProvider', args: [provider] }),
    readContract(client, { address, abi: providerRegistryAbi, functionName: 'isActive', args: [provider] }),
  ]);
  return { address: provider, ...record, unbondingReadyAt: BigInt(record.unbondingReadyAt), jailedUntil: BigInt(record.jailedUntil), stakedSince: BigInt(record.stakedSince), openAudits: Number(record.openAudits), active };
}

