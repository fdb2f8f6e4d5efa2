import { keccak256, recoverTypedDataAddress, toHex, type Address, type Hex, type LocalAccount } from 'viem';
import { paymentChannelsDomain, type VoucherDomain } from '../vouchers/voucher.ts';

/**
 * EIP-712 types of the receipt a provider signs for each paid call: evidence of what it claims
 * to have computed (model, input, params, output) and which voucher paid for it. Audits re-execute
 * from it; a wrong output under a valid receipt is what gets a provider slashed.
 */
export const inferenceReceiptTypes = {
  InferenceReceipt: [
    { name: 'modelId', type: 'bytes32' },
    { name: 'inputHash', type: 'bytes32' },
    { name: 'paramsHash', type: 'bytes32' },
    { name: 'outputHash', type: 'bytes32' },
    { name: 'channelId', type: 'bytes32' },
    { name: 'cumulativeAmount', type: 'uint256' },
  ],
} as const;

export type InferenceReceipt = {
  modelId: Hex;
  inputHash: Hex;
  paramsHash: Hex;
  outputHash: Hex;
  channelId: Hex;
  cumulativeAmount: bigint;
};
export type SignedInferenceReceipt = InferenceReceipt & { provider: Address; signature: Hex };

/** keccak256 of the canonical JSON of a value (keys sorted), the hash receipts commit to. */
export function hashCanonicalJson(value: unknown): Hex {
  return keccak256(toHex(canonicalJson(value)));
}

/** JSON with object keys sorted at every level, so equal values always hash equally. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v && typeof v === 'object' && !Array.isArray(v) && !ArrayBuffer.isView(v)) {
      return Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    }
    return v;
  });
}

/**
 * Signs an inference receipt with the provider's key, in the deployment's PaymentChannels domain.
 *
 * @example
 * const receipt = await signInferenceReceipt(providerAccount, domain, { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount })
 */
export async function signInferenceReceipt(
  provider: LocalAccount,
  domain: VoucherDomain,
  receipt: InferenceReceipt,
): Promise<SignedInferenceReceipt> {
  const signature = await provider.signTypedData({
    domain: paymentChannelsDomain(domain),
    types: inferenceReceiptTypes,
    primaryType: 'InferenceReceipt',
    message: receipt,
  });
  return { ...receipt, provider: provider.address, signature };
}

/** Who signed an inference receipt (compare with the provider the call went to). */
export async function recoverInferenceReceiptSigner(domain: VoucherDomain, receipt: SignedInferenceReceipt): Promise<Address> {
  const { signature, provider: _provider, ...message } = receipt;
  return recoverTypedDataAddress({
    domain: paymentChannelsDomain(domain),
    types: inferenceReceiptTypes,
    primaryType: 'InferenceReceipt',
    message,
    signature,
  });
}
