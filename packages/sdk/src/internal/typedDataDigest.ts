// EIP-712 digests of fixed structs made only of 32-byte words (bytes32, uint256), without viem's
// generic typed-data encoder: that walks the type definitions and validates every field on each
// call (~140 µs a voucher). Here the type hash is computed once, the domain separator once per
// domain, and each call is two keccaks over a buffer. Anything not in the plain form (a short
// bytes32, an amount out of range, a domain viem refuses) returns `undefined`, and the caller hands
// it to viem's `hashTypedData`, so odd inputs get viem's exact answer or error.

import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils';
import { getTypesForEIP712Domain, hashDomain, type Hex, type LocalAccount, type TypedDataDomain } from 'viem';

/** keccak256 of an encoded EIP-712 type (`Voucher(bytes32 channelId,…)`), as 64 hex digits. */
export function typeHashOf(encodedType: string): string {
  return bytesToHex(keccak_256(utf8ToBytes(encodedType)));
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const UINT256_LIMIT = 1n << 256n;

/** A bytes32 field as its 64 hex digits, or `undefined` when it is not exactly 32 bytes of hex. */
export function bytes32Word(value: unknown): string | undefined {
  return typeof value === 'string' && BYTES32.test(value) ? value.slice(2) : undefined;
}

/** A uint256 field as its 64 hex digits, or `undefined` when it is not a bigint in range. */
export function uint256Word(value: unknown): string | undefined {
  return typeof value === 'bigint' && value >= 0n && value < UINT256_LIMIT ? value.toString(16).padStart(64, '0') : undefined;
}

/** Domain separators by domain; a deployment has one, so this stays tiny (cleared if it ever is not). */
const separators = new Map<string, Uint8Array>();
const MAX_SEPARATORS = 256;

/** The domain separator (hashStruct of the EIP712Domain), computed by viem once per domain; `undefined` if viem refuses the domain. */
export function domainSeparatorOf(domain: TypedDataDomain): Uint8Array | undefined {
  const id = `${domain.name}\u0000${domain.version}\u0000${domain.chainId}\u0000${domain.verifyingContract}\u0000${domain.salt}`;
  let separator = separators.get(id);
  if (separator) return separator;
  try {
    const types = { EIP712Domain: getTypesForEIP712Domain({ domain }) };
    separator = hexToBytes(hashDomain({ domain, types } as Parameters<typeof hashDomain>[0]).slice(2));
  } catch {
    return undefined;
  }
  if (separators.size >= MAX_SEPARATORS) separators.clear();
  separators.set(id, separator);
  return separator;
}

/** keccak256(0x1901 ‖ domainSeparator ‖ keccak256(typeHash ‖ words)): the digest an EIP-712 signature covers. */
export function typedDataDigest(separator: Uint8Array, typeHash: string, words: string): Uint8Array {
  const message = new Uint8Array(66);
  message[0] = 0x19;
  message[1] = 0x01;
  message.set(separator, 2);
  message.set(keccak_256(hexToBytes(typeHash + words)), 34);
  return keccak_256(message);
}

/**
 * Signs an EIP-712 digest computed here with a viem private-key (or HD) account's `sign`, which is
 * what its `signTypedData` does after hashing: same key, same RFC 6979 nonce, same bytes. Other
 * accounts (remote, hardware, custom) may show the typed data to a user or refuse raw hashes, so
 * they get the typed data as before.
 */
export async function signTypedDigest(signer: LocalAccount, digest: Hex, signTypedData: () => Promise<Hex>): Promise<Hex> {
  if ((signer.source === 'privateKey' || signer.source === 'hd') && signer.sign) return signer.sign({ hash: digest });
  return signTypedData();
}
