import { recoverTypedDataAddress, type Address, type Hex } from 'viem';
import { signTypedData } from 'viem/actions';
import type { AgoraClient, AgoraWalletClient } from '../client.ts';

/** EIP-712 types of a JobMarket delivery receipt (matches `JobMarket.RECEIPT_TYPEHASH`). */
export const jobReceiptTypes = {
  JobReceipt: [
    { name: 'jobId', type: 'uint256' },
    { name: 'modelId', type: 'bytes32' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
  ],
} as const;

export type JobReceiptMessage = { jobId: bigint; modelId: Hex; inputHash: Hex; outputHash: Hex };

/** The EIP-712 domain of a deployment's JobMarket. */
export function jobMarketDomain(chainId: number, jobMarket: Address) {
  return { name: 'Agora JobMarket', version: '1', chainId, verifyingContract: jobMarket } as const;
}

/**
 * Signs a delivery receipt with the client's account (the provider).
 *
 * @example
 * const receipt = await signJobReceipt(client, { jobId, modelId, inputHash, outputHash })
 */
export async function signJobReceipt(client: AgoraWalletClient, message: JobReceiptMessage): Promise<Hex> {
  return signTypedData(client, {
    account: client.account,
    domain: jobMarketDomain(client.deployment.chainId, client.deployment.contracts.jobMarket),
    types: jobReceiptTypes,
    primaryType: 'JobReceipt',
    message,
  });
}

/**
 * Recovers who signed a job receipt; compare with the job's provider.
 *
 * @example
 * const signer = await recoverJobReceiptSigner(client, { ...message, signature })
 */
export async function recoverJobReceiptSigner(
  client: AgoraClient,
  { signature, ...message }: JobReceiptMessage & { signature: Hex },
): Promise<Address> {
  return recoverTypedDataAddress({
    domain: jobMarketDomain(client.deployment.chainId, client.deployment.contracts.jobMarket),
    types: jobReceiptTypes,
    primaryType: 'JobReceipt',
    message,
    signature,
  });
}
