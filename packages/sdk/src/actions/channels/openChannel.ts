import { zeroAddress, type Address, type Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { paymentChannelsAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';

export type OpenChannelParameters = {
  provider: Address;
  modelId: Hex;
  /** Tokens locked for calls, in base units. */
  deposit: bigint;
  /** Key that signs vouchers (a hot key); default: the buyer's account. */
  signer?: Address;
  approve?: boolean;
};
export type OpenChannelReturnType = TransactionResult & { channelId: Hex };

/**
 * Opens a payment channel to a provider for one model.
 *
 * @example
 * const { channelId } = await openChannel(client, { provider, modelId, deposit: 10_000_000n })
 */
export async function openChannel(client: AgoraWalletClient, params: OpenChannelParameters): Promise<OpenChannelReturnType> {
  const address = client.deployment.contracts.paymentChannels;
  if (params.approve ?? true) await ensureAllowance(client, { spender: address, amount: params.deposit });
  const result = await sendContractTransaction(
    client,
    {
      address,
      abi: paymentChannelsAbi,
      functionName: 'openChannel',
      args: [params.provider, params.modelId, params.deposit, params.signer ?? zeroAddress],
    },
    `Opening a channel to ${params.provider}`,
  );
  return { ...result, channelId: getEventArgs(result.receipt, 'ChannelOpened').channelId as Hex };
}
