import { hashTypedData, isAddressEqual, recoverTypedDataAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { AgoraError } from '../errors/AgoraError.ts';

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

/** The digest a voucher signature covers (equals the contract's `hashVoucher`). */
export function hashVoucher(domain: VoucherDomain, voucher: Voucher): Hex {
  return hashTypedData({ domain: paymentChannelsDomain(domain), types: voucherTypes, primaryType: 'Voucher', message: voucher });
}

/**
 * Signs a voucher off-chain with a local account (the channel's signer). No RPC call: this is the
 * per-call payment, so it must stay cheap.
 *
 * @example
 * const voucher = await signVoucher(account, { chainId, paymentChannels }, { channelId, cumulativeAmount: 3_000n, requestHash })
 */
export async function signVoucher(signer: LocalAccount, domain: VoucherDomain, voucher: Voucher): Promise<SignedVoucher> {
  const signature = await signer.signTypedData({
    domain: paymentChannelsDomain(domain),
    types: voucherTypes,
    primaryType: 'Voucher',
    message: voucher,
  });
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
  const { signature, ...message } = voucher;
  return recoverTypedDataAddress({ domain: paymentChannelsDomain(domain), types: voucherTypes, primaryType: 'Voucher', message, signature });
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
  let recovered: Address;
  try {
    recovered = await recoverVoucherSigner(parameters.domain, voucher);
  } catch (cause) {
    throw new AgoraError('VoucherForged', 'The voucher signature is malformed.', { cause, fix: 'sign the voucher with the channel signer.' });
  }
  if (!isAddressEqual(recovered, signer)) {
    throw new AgoraError('VoucherForged', `The voucher was not signed by the channel signer ${signer}.`, {
      metaMessages: [`Recovered signer: ${recovered}`],
      fix: 'it is forged, or signed for another chain or PaymentChannels contract.',
    });
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
