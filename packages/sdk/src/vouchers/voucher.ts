import { bytesToHex, hexToBytes } from '@noble/hashes/utils';
import { hashTypedData, isAddressEqual, recoverAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { AgoraError } from '../errors/AgoraError.ts';
import { isSignedByCachedSigner, recoverDigestSigner, rememberSignerKey, splitCanonicalSignature, type RecoveredSigner } from '../internal/secp256k1.ts';
import { bytes32Word, domainSeparatorOf, signTypedDigest, typeHashOf, typedDataDigest, uint256Word } from '../internal/typedDataDigest.ts';

/** EIP-712 types of a payment-channel voucher (matches `PaymentChannels.VOUCHER_TYPEHASH`). */
export const voucherTypes = {
  Voucher: [
    { name: 'channelId', type: 'bytes32' },
    { name: 'cumulativeAmount', type: 'uint256' },
    { name: 'requestHash', type: 'bytes32' },
  ],
} as const;

/** Which deployment a voucher is for: a voucher for another chain or contract never verifies. */
export type VoucherDomain = { chainId: number; paymentChannels: Address };

/** A voucher: the buyer owes `cumulativeAmount` in total on `channelId`; `requestHash` binds the call it paid for. */
export type Voucher = { channelId: Hex; cumulativeAmount: bigint; requestHash: Hex };
export type SignedVoucher = Voucher & { signature: Hex };

/** The EIP-712 domain of a deployment's PaymentChannels. */
export function paymentChannelsDomain({ chainId, paymentChannels }: VoucherDomain) {
  return { name: 'Agora PaymentChannels', version: '1', chainId, verifyingContract: paymentChannels } as const;
}

const VOUCHER_TYPEHASH = typeHashOf('Voucher(bytes32 channelId,uint256 cumulativeAmount,bytes32 requestHash)');

/** The digest as bytes, hashed directly from the three fields; viem's encoder answers anything not in plain form. */
function voucherDigest(domain: VoucherDomain, { channelId, cumulativeAmount, requestHash }: Voucher): Uint8Array {
  const separator = domainSeparatorOf(paymentChannelsDomain(domain));
  const channel = bytes32Word(channelId);
  const amount = uint256Word(cumulativeAmount);
  const request = bytes32Word(requestHash);
  if (separator && channel && amount && request) return typedDataDigest(separator, VOUCHER_TYPEHASH, channel + amount + request);
  const message = { channelId, cumulativeAmount, requestHash };
  return hexToBytes(hashTypedData({ domain: paymentChannelsDomain(domain), types: voucherTypes, primaryType: 'Voucher', message }).slice(2));
}

/**
 * The digest a voucher signature covers (equals the contract's `hashVoucher` and viem's
 * `hashTypedData`, without its generic encoder: this runs on every paid call).
 */
export function hashVoucher(domain: VoucherDomain, voucher: Voucher): Hex {
  return `0x${bytesToHex(voucherDigest(domain, voucher))}`;
}

/**
 * Signs a voucher off-chain with a local account (the channel's signer). No RPC call: this is the
 * per-call payment, so it must stay cheap.
 *
 * @example
 * const voucher = await signVoucher(account, { chainId, paymentChannels }, { channelId, cumulativeAmount: 3_000n, requestHash })
 */
export async function signVoucher(signer: LocalAccount, domain: VoucherDomain, voucher: Voucher): Promise<SignedVoucher> {
  const signature = await signTypedDigest(signer, hashVoucher(domain, voucher), () =>
    signer.signTypedData({ domain: paymentChannelsDomain(domain), types: voucherTypes, primaryType: 'Voucher', message: voucher }),
  );
  return { ...voucher, signature };
}

/** Half the secp256k1 group order: OpenZeppelin's ECDSA refuses signatures with a larger `s`. */
const SECP256K1_HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0n;

/**
 * Whether a signature is in the one form OpenZeppelin's ECDSA accepts: 65 bytes, `v` 27 or 28,
 * `s` in the lower half of the curve order. viem also recovers the other forms (high-s twins,
 * `v` 0/1), so a provider that checked only the recovered signer could serve a call for a voucher
 * the contract will never redeem.
 */
export function isCanonicalSignature(signature: Hex): boolean {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  const s = BigInt(`0x${signature.slice(66, 130)}`);
  const v = Number.parseInt(signature.slice(130, 132), 16);
  return (v === 27 || v === 28) && s <= SECP256K1_HALF_N;
}

/** Who signed a voucher for this domain (any signature recovers to some address: compare it). */
export async function recoverVoucherSigner(domain: VoucherDomain, voucher: SignedVoucher): Promise<Address> {
  // viem's recovery on purpose: it also accepts the forms the contract refuses (v 0/1, high s), as this always has.
  return recoverAddress({ hash: hashVoucher(domain, voucher), signature: voucher.signature });
}

export type VerifyVoucherParameters = {
  domain: VoucherDomain;
  voucher: SignedVoucher;
  /** The channel's signer, from `getChannel`. */
  signer: Address;
  /** Cumulative amount of the newest voucher already accepted on this channel. */
  previousCumulative: bigint;
  /** What this call costs; the voucher must add at least this much. */
  price: bigint;
  /** The channel's deposit: a voucher may not owe more than the channel holds. */
  deposit: bigint;
};

/**
 * Checks a voucher before serving the call it pays for, off-chain, as a provider must: signed by
 * the channel's signer for this chain and contract, newer than the last one, adding at least the
 * price, within the deposit. Returns the increment paid by this voucher.
 *
 * @throws {AgoraError} `VoucherForged`, `VoucherReplayed`, `VoucherUnderpaid` or `ChannelExhausted`.
 *
 * @example
 * const paid = await verifyVoucher({ domain, voucher, signer, previousCumulative, price, deposit })
 */
export async function verifyVoucher(parameters: VerifyVoucherParameters): Promise<bigint> {
  const { voucher, signer, previousCumulative, price, deposit } = parameters;
  if (!isCanonicalSignature(voucher.signature)) {
    throw new AgoraError('VoucherForged', 'The voucher signature is not in canonical form (65 bytes, v 27/28, low s).', {
      fix: 'sign the voucher with a standard EIP-712 signer; the contract refuses other forms.',
    });
  }
  let recovered: RecoveredSigner | undefined;
  try {
    const digest = voucherDigest(parameters.domain, voucher);
    const parts = splitCanonicalSignature(voucher.signature);
    // The usual case: a signer already seen, checked against its cached public key. Otherwise
    // (this signer's first voucher, or not theirs) recover who signed, exactly as ecrecover would.
    if (!isSignedByCachedSigner(signer, digest, parts)) recovered = recoverDigestSigner(digest, parts);
  } catch (cause) {
    throw new AgoraError('VoucherForged', 'The voucher signature is malformed.', { cause, fix: 'sign the voucher with the channel signer.' });
  }
  if (recovered) {
    if (!isAddressEqual(recovered.address, signer)) {
      throw new AgoraError('VoucherForged', `The voucher was not signed by the channel signer ${signer}.`, {
        metaMessages: [`Recovered signer: ${recovered.address}`],
        fix: 'it is forged, or signed for another chain or PaymentChannels contract.',
      });
    }
    rememberSignerKey(recovered);
  }
  if (voucher.cumulativeAmount <= previousCumulative) {
    throw new AgoraError(
      'VoucherReplayed',
      `The voucher owes ${voucher.cumulativeAmount} in total, not more than the ${previousCumulative} already accepted.`,
      { fix: 'send a new voucher whose cumulative amount includes this call.' },
    );
  }
  const increment = voucher.cumulativeAmount - previousCumulative;
  if (increment < price) {
    throw new AgoraError('VoucherUnderpaid', `The voucher adds ${increment} but the call costs ${price}.`, {
      fix: `sign a voucher for cumulative amount ${previousCumulative + price} or more.`,
    });
  }
  if (voucher.cumulativeAmount > deposit) {
    throw new AgoraError('ChannelExhausted', `The voucher owes ${voucher.cumulativeAmount} but channel holds only ${deposit}.`, {
      fix: 'top the channel up (topUpChannel) or open a new one.',
    });
  }
  return increment;
}
