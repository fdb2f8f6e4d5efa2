import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { hashTypedData, isAddress, isAddressEqual, keccak256, recoverAddress, toHex, type Address, type Hex, type LocalAccount } from 'viem';
import { AgoraError } from '../errors/AgoraError.ts';
import { isSignedByCachedSigner, recoverDigestSigner, rememberSignerKey, splitCanonicalSignature, type RecoveredSigner } from '../internal/secp256k1.ts';
import { bytes32Word, domainSeparatorOf, signTypedDigest, typeHashOf, typedDataDigest, uint256Word } from '../internal/typedDataDigest.ts';
import { isCanonicalSignature, paymentChannelsDomain, type VoucherDomain } from '../vouchers/voucher.ts';

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

const INFERENCE_RECEIPT_TYPEHASH = typeHashOf(
  'InferenceReceipt(bytes32 modelId,bytes32 inputHash,bytes32 paramsHash,bytes32 outputHash,bytes32 channelId,uint256 cumulativeAmount)',
);

/** The digest as bytes, hashed directly from the six fields; viem's encoder answers anything not in plain form. */
function inferenceReceiptDigest(domain: VoucherDomain, receipt: InferenceReceipt): Uint8Array {
  const { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount } = receipt;
  const separator = domainSeparatorOf(paymentChannelsDomain(domain));
  const words = [bytes32Word(modelId), bytes32Word(inputHash), bytes32Word(paramsHash), bytes32Word(outputHash), bytes32Word(channelId), uint256Word(cumulativeAmount)];
  if (separator && words.every((word) => word !== undefined)) return typedDataDigest(separator, INFERENCE_RECEIPT_TYPEHASH, words.join(''));
  const message = { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount };
  const digest = hashTypedData({ domain: paymentChannelsDomain(domain), types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message });
  return hexToBytes(digest.slice(2));
}

/** The digest an inference receipt signature covers (equals viem's `hashTypedData` of it). */
export function hashInferenceReceipt(domain: VoucherDomain, receipt: InferenceReceipt): Hex {
  return `0x${bytesToHex(inferenceReceiptDigest(domain, receipt))}`;
}

/**
 * The deepest nesting {@link canonicalJson} accepts (objects and arrays, the outermost counting 1).
 * JSON.stringify recurses, so a value nested some thousands deep (20 KB of `[`) would overflow the
 * stack; past this depth the value is refused with a typed error instead. Servers refuse much
 * shallower bodies before they ever hash (the gateway and provider allow 64 levels).
 */
export const MAX_CANONICAL_JSON_DEPTH = 256;

/**
 * Whether `value` nests objects or arrays more than `maxDepth` levels deep (`{}` and `[1]` are 1
 * deep, a scalar 0). Iterative, so it cannot overflow the stack itself, and it stops at the first
 * path past the limit (a cyclic object counts as too deep rather than looping).
 *
 * @example
 * exceedsJsonDepth(JSON.parse('[[[0]]]'), 2) // true
 */
export function exceedsJsonDepth(value: unknown, maxDepth: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (!v || typeof v !== 'object' || ArrayBuffer.isView(v)) continue;
    if (depth + 1 > maxDepth) return true;
    for (const child of Array.isArray(v) ? v : Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/** keccak256 of the canonical JSON of a value (keys sorted), the hash receipts commit to. */
export function hashCanonicalJson(value: unknown): Hex {
  return keccak256(toHex(canonicalJson(value)));
}

/**
 * JSON with object keys sorted at every level, so equal values always hash equally.
 *
 * @throws {AgoraError} `JsonTooDeep` for a value nested more than {@link MAX_CANONICAL_JSON_DEPTH} levels.
 */
export function canonicalJson(value: unknown): string {
  if (exceedsJsonDepth(value, MAX_CANONICAL_JSON_DEPTH)) {
    throw new AgoraError('JsonTooDeep', `The value is nested more than ${MAX_CANONICAL_JSON_DEPTH} levels deep, too deep to hash.`, {
      fix: 'send JSON with fewer nested objects and arrays.',
    });
  }
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
  const signature = await signTypedDigest(provider, hashInferenceReceipt(domain, receipt), () =>
    provider.signTypedData({ domain: paymentChannelsDomain(domain), types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message: receipt }),
  );
  return { ...receipt, provider: provider.address, signature };
}

/** Who signed an inference receipt (compare with the provider the call went to). */
export async function recoverInferenceReceiptSigner(domain: VoucherDomain, receipt: SignedInferenceReceipt): Promise<Address> {
  return recoverAddress({ hash: hashInferenceReceipt(domain, receipt), signature: receipt.signature });
}

export type VerifyInferenceReceiptParameters = {
  domain: VoucherDomain;
  receipt: SignedInferenceReceipt;
  /** The provider the call went to (the channel's provider), not the receipt's own claim. */
  provider: Address;
};

/**
 * Checks that a receipt is signed by the provider the call went to, in the one signature form
 * the contracts accept (65 bytes, `v` 27/28, low `s`), and names that provider. The provider's
 * public key is kept after its first receipt, so later checks skip the full recovery.
 *
 * @throws {AgoraError} `ReceiptForged`.
 *
 * @example
 * await verifyInferenceReceipt({ domain, receipt, provider: channel.provider })
 */
export async function verifyInferenceReceipt({ domain, receipt, provider }: VerifyInferenceReceiptParameters): Promise<void> {
  if (!isAddress(receipt.provider, { strict: false }) || !isAddressEqual(receipt.provider, provider)) {
    throw new AgoraError('ReceiptForged', `The receipt names provider ${receipt.provider}, not ${provider} which served the call.`, {
      fix: 'do not rely on this receipt; the answer did not come with evidence from the provider you paid.',
    });
  }
  if (!isCanonicalSignature(receipt.signature)) {
    throw new AgoraError('ReceiptForged', 'The receipt signature is not in canonical form (65 bytes, v 27/28, low s).', {
      fix: 'do not rely on this receipt; a contract would refuse it as evidence.',
    });
  }
  let recovered: RecoveredSigner | undefined;
  try {
    const digest = inferenceReceiptDigest(domain, receipt);
    const parts = splitCanonicalSignature(receipt.signature);
    if (!isSignedByCachedSigner(provider, digest, parts)) recovered = recoverDigestSigner(digest, parts);
  } catch (cause) {
    throw new AgoraError('ReceiptForged', 'The receipt signature is malformed.', { cause, fix: 'do not rely on this receipt.' });
  }
  if (recovered) {
    if (!isAddressEqual(recovered.address, provider)) {
      throw new AgoraError('ReceiptForged', `The receipt was not signed by provider ${provider}.`, {
        metaMessages: [`Recovered signer: ${recovered.address}`],
        fix: 'do not rely on this receipt: it is forged, altered, or signed for another chain or PaymentChannels contract.',
      });
    }
    rememberSignerKey(recovered);
  }
}
