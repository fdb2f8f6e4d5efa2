import { describe, expect, it } from 'vitest';
import { secp256k1 } from '@noble/curves/secp256k1';
import { keccak_256 } from '@noble/hashes/sha3';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils';
import { privateKeyToAddress } from 'viem/accounts';
import {
  clearSignerKeys,
  isSignedBy,
  isSignedByCachedSigner,
  recoverDigestSigner,
  rememberSignerKey,
  splitCanonicalSignature,
  type SignatureParts,
} from './secp256k1.ts';

const bytes = (label: string) => keccak_256(utf8ToBytes(label));
const hex = (b: Uint8Array) => `0x${bytesToHex(b)}` as const;
const signDigest = (privateKey: Uint8Array, digest: Uint8Array): SignatureParts => {
  const { r, s, recovery } = secp256k1.sign(digest, privateKey, { lowS: true });
  return { r, s, yParity: recovery as 0 | 1 };
};

describe('isSignedBy: what ecrecover would say, from the public key', () => {
  it('accepts exactly the signature ecrecover maps to the key, with and without precomputed tables', () => {
    for (let i = 0; i < 16; i++) {
      const privateKey = bytes(`key${i}`);
      const digest = bytes(`digest${i}`);
      const sig = signDigest(privateKey, digest);
      const plain = secp256k1.ProjectivePoint.fromPrivateKey(privateKey);
      const tabled = secp256k1.utils.precompute(8, secp256k1.ProjectivePoint.fromPrivateKey(privateKey));
      const other = secp256k1.ProjectivePoint.fromPrivateKey(bytes(`other${i}`));
      for (const key of [plain, tabled]) {
        expect(isSignedBy(key, digest, sig)).toBe(true);
        // The same r, s with the other v recovers another key on-chain.
        expect(isSignedBy(key, digest, { ...sig, yParity: sig.yParity === 0 ? 1 : 0 })).toBe(false);
        expect(isSignedBy(key, bytes(`digest${i}x`), sig)).toBe(false);
        expect(isSignedBy(key, digest, { ...sig, s: secp256k1.CURVE.n - sig.s })).toBe(false);
        expect(isSignedBy(key, digest, { ...sig, r: 0n })).toBe(false);
        expect(isSignedBy(key, digest, { ...sig, r: sig.r + secp256k1.CURVE.n })).toBe(false);
      }
      expect(isSignedBy(other, digest, sig)).toBe(false);
      expect(recoverDigestSigner(digest, sig).address).toBe(privateKeyToAddress(hex(privateKey)));
    }
  });

  it('answers from a cached key only once a recovery matched, and keeps answering once tables are built', () => {
    clearSignerKeys();
    const privateKey = bytes('cached');
    const address = privateKeyToAddress(hex(privateKey));
    const digest = bytes('m');
    const sig = signDigest(privateKey, digest);
    expect(isSignedByCachedSigner(address, digest, sig)).toBe(false);
    rememberSignerKey(recoverDigestSigner(digest, sig));
    for (let i = 0; i < 4; i++) {
      const d = bytes(`m${i}`);
      expect(isSignedByCachedSigner(address.toLowerCase() as typeof address, d, signDigest(privateKey, d))).toBe(true);
      expect(isSignedByCachedSigner(address, d, signDigest(bytes('someone else'), d))).toBe(false);
    }
  });

  it('splits a canonical signature into r, s and the parity v names', () => {
    const sig = `0x${'11'.repeat(32)}${'22'.repeat(32)}1c` as const;
    expect(splitCanonicalSignature(sig)).toEqual({ r: BigInt(`0x${'11'.repeat(32)}`), s: BigInt(`0x${'22'.repeat(32)}`), yParity: 1 });
    expect(splitCanonicalSignature(`${sig.slice(0, 130)}1b` as `0x${string}`).yParity).toBe(0);
  });
});
