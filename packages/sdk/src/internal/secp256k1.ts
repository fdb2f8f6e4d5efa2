// Signature checks for the per-call payment path, on @noble/curves (the library viem itself uses).
//
// viem's `recoverTypedDataAddress` costs ~3 ms: a full public-key recovery (a square root, an
// unaccelerated multiplication by the signature's own point R) for every voucher. A provider sees
// the same few channel signers over and over, so it recovers a signer's key once, keeps it, and
// afterwards only checks `R = s⁻¹·(e·G + r·P)` with precomputed multiplication tables for P, as
// fast as multiplying by the generator. The check below accepts exactly the signatures whose
// ecrecover(digest, v, r, s) is P, so it keeps every property the contract relies on.

import { secp256k1 } from '@noble/curves/secp256k1';
import { invert, mod } from '@noble/curves/abstract/modular';
import type { ProjPointType } from '@noble/curves/abstract/weierstrass';
import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex } from '@noble/hashes/utils';
import { checksumAddress, type Address, type Hex } from 'viem';

type Point = ProjPointType<bigint>;

const Point = secp256k1.ProjectivePoint;
const N = secp256k1.CURVE.n;

/** A 65-byte signature split into its parts (`yParity` is `v - 27`). */
export type SignatureParts = { r: bigint; s: bigint; yParity: 0 | 1 };

/**
 * Splits a signature already known to be canonical (65 bytes of hex, `v` 27 or 28): see
 * `isCanonicalSignature`. Does not check it again.
 */
export function splitCanonicalSignature(signature: Hex): SignatureParts {
  return {
    r: BigInt(`0x${signature.slice(2, 66)}`),
    s: BigInt(`0x${signature.slice(66, 130)}`),
    yParity: signature.slice(130, 132) === '1c' || signature.slice(130, 132) === '1C' ? 1 : 0,
  };
}

/** A recovered signer: its address and its public key. */
export type RecoveredSigner = { address: Address; publicKey: Point };

/**
 * Recovers the signer of a 32-byte digest exactly as ecrecover does (x = r, y parity from `v`).
 * Throws when the signature has no signer (r or s out of range, r not on the curve).
 */
export function recoverDigestSigner(digest: Uint8Array, { r, s, yParity }: SignatureParts): RecoveredSigner {
  const publicKey = new secp256k1.Signature(r, s).addRecoveryBit(yParity).recoverPublicKey(digest);
  return { address: publicKeyToAddress(publicKey), publicKey };
}

/** The Ethereum address of a public key (last 20 bytes of keccak256 of its 64-byte form), checksummed. */
export function publicKeyToAddress(publicKey: Point): Address {
  const hash = keccak_256(publicKey.toRawBytes(false).subarray(1));
  return checksumAddress(`0x${bytesToHex(hash.subarray(12))}`);
}

/**
 * Whether ecrecover(digest, v, r, s) would return `publicKey`. It computes R = s⁻¹·(e·G + r·P) and
 * requires R to be the very point ecrecover rebuilds from the signature: R.x = r (not merely
 * r mod n) and R.y of the parity `v` names. Then ecrecover's r⁻¹·(s·R − e·G) is P. A plain ECDSA
 * verify would also accept the signature with the other `v`, which recovers someone else on-chain.
 */
export function isSignedBy(publicKey: Point, digest: Uint8Array, { r, s, yParity }: SignatureParts): boolean {
  if (r <= 0n || r >= N || s <= 0n || s >= N) return false;
  const e = mod(bytesToBigInt(digest), N);
  const sInverse = invert(s, N);
  const R = multiplyPublic(Point.BASE, mod(e * sInverse, N)).add(multiplyPublic(publicKey, mod(r * sInverse, N)));
  if (R.equals(Point.ZERO)) return false;
  const { x, y } = R.toAffine();
  return x === r && Number(y & 1n) === yParity;
}

const { splitScalar, beta } = secp256k1.CURVE.endo as { splitScalar: (k: bigint) => { k1neg: boolean; k1: bigint; k2neg: boolean; k2: bigint }; beta: bigint };

/**
 * k·P for a public point and a public scalar: variable time (fine, nothing here is secret), using
 * P's precomputed tables when it has them. The scalar is split with the curve's endomorphism
 * first (k = k1 + k2·λ, both halves ~128 bits), as noble's own `multiply` does: in
 * @noble/curves 1.9.1 `multiplyUnsafe` on a point with tables reads only the low ~136 bits of a
 * full-size scalar and returns a wrong point, while each half alone fits the tables exactly.
 */
function multiplyPublic(P: Point, k: bigint): Point {
  const { k1neg, k1, k2neg, k2 } = splitScalar(k);
  let k1P = P.multiplyUnsafe(k1);
  let k2P = P.multiplyUnsafe(k2);
  if (k1neg) k1P = k1P.negate();
  if (k2neg) k2P = k2P.negate();
  // ψ(x, y) = (β·x, y) is λ·P, in projective coordinates too.
  return k1P.add(new Point(secp256k1.CURVE.Fp.mul(k2P.px, beta), k2P.py, k2P.pz));
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(bytes)}`);
}

// ---------------------------------------------------------------------------------------------
// Signer keys, kept per address after one successful recovery.

/** How many signers' public keys are kept (a key is ~200 bytes). */
const MAX_KEYS = 4096;
/**
 * How many signers get precomputed tables (window 8: ~320 KiB and ~25 ms to build each; they make
 * the multiplication by P ~14× faster). Tables go to signers seen at least twice, so a one-off
 * signer never pays for them.
 */
const MAX_TABLES = 64;
const TABLE_WINDOW = 8;
/** A table unused this long may be given to another signer; a busier one is never evicted, so many hot signers cannot make tables thrash. */
const TABLE_IDLE_MS = 60_000;

type SignerKey = { publicKey: Point; lastUsed: number; tabled: boolean };

const signerKeys = new Map<string, SignerKey>();
const tabledSigners = new Set<string>();

/**
 * Whether `signature` over `digest` is by `signer`, answered from the signer's cached public key.
 * `false` means "not known to be": the signer is not cached yet, or the signature is not theirs;
 * recover it to tell which (and call {@link rememberSignerKey} when it matches).
 */
export function isSignedByCachedSigner(signer: Address, digest: Uint8Array, signature: SignatureParts): boolean {
  const id = signer.toLowerCase();
  const key = signerKeys.get(id);
  if (!key || !isSignedBy(key.publicKey, digest, signature)) return false;
  key.lastUsed = Date.now();
  if (!key.tabled) maybeBuildTable(id, key);
  return true;
}

/** Keeps a signer's public key after its signature has been recovered and matched to the expected signer. */
export function rememberSignerKey({ address, publicKey }: RecoveredSigner): void {
  const id = address.toLowerCase();
  if (signerKeys.has(id)) return;
  if (signerKeys.size >= MAX_KEYS) {
    // Evict the oldest-inserted key (Map order); a signer still in use comes back after one recovery.
    const oldest = signerKeys.keys().next().value as string;
    signerKeys.delete(oldest);
    tabledSigners.delete(oldest);
  }
  signerKeys.set(id, { publicKey, lastUsed: Date.now(), tabled: false });
}

function maybeBuildTable(id: string, key: SignerKey): void {
  if (tabledSigners.size >= MAX_TABLES) {
    let stalest: string | undefined;
    let stalestUse = Date.now() - TABLE_IDLE_MS;
    for (const other of tabledSigners) {
      const used = signerKeys.get(other)?.lastUsed ?? Number.NEGATIVE_INFINITY;
      if (used <= stalestUse) [stalest, stalestUse] = [other, used];
    }
    if (stalest === undefined) return;
    tabledSigners.delete(stalest);
    const evicted = signerKeys.get(stalest);
    // noble keeps tables in a WeakMap keyed by the point object: a fresh copy drops them.
    if (evicted) Object.assign(evicted, { publicKey: Point.fromAffine(evicted.publicKey.toAffine()), tabled: false });
  }
  secp256k1.utils.precompute(TABLE_WINDOW, key.publicKey);
  key.tabled = true;
  tabledSigners.add(id);
}

/** Forgets every cached signer key (for benchmarks and tests that measure the cold path). */
export function clearSignerKeys(): void {
  signerKeys.clear();
  tabledSigners.clear();
}
