import { randomUUID } from 'node:crypto';
import { ctr } from '@noble/ciphers/aes';
import { pbkdf2Async } from '@noble/hashes/pbkdf2';
import { scryptAsync } from '@noble/hashes/scrypt';
import { sha256 } from '@noble/hashes/sha2';
import { keccak_256 } from '@noble/hashes/sha3';
import { randomBytes } from '@noble/hashes/utils';
import { bytesToHex, hexToBytes, isHex, type Address, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { AgoraError } from '@agora/sdk';

/** scrypt parameters of a v3 keystore (`n` = CPU/memory cost, a power of two). */
export type ScryptParams = { n: number; r: number; p: number; dklen: number; salt: string };
/** pbkdf2 parameters of a v3 keystore (read only: Agora writes scrypt). */
export type Pbkdf2Params = { c: number; prf: 'hmac-sha256'; dklen: number; salt: string };

/**
 * A Web3 Secret Storage v3 keystore: the JSON geth, ethers, web3.js and foundry (`cast wallet`)
 * read and write. Hex fields carry no `0x`, as in the spec.
 */
export type KeystoreV3 = {
  version: 3;
  id: string;
  /** Lower-case address without `0x`. */
  address: string;
  crypto: {
    cipher: 'aes-128-ctr';
    cipherparams: { iv: string };
    ciphertext: string;
    kdf: 'scrypt' | 'pbkdf2';
    kdfparams: ScryptParams | Pbkdf2Params;
    mac: string;
  };
};

/** geth's "standard" scrypt cost: about a second per unlock, what real keys should use. */
export const STANDARD_SCRYPT = { n: 2 ** 18, r: 8, p: 1 } as const;
/** geth's "light" cost (n = 2^12): fast, for throwaway and test keys only. */
export const LIGHT_SCRYPT = { n: 2 ** 12, r: 8, p: 1 } as const;

/** Memory scrypt may use when decrypting a file; refuses files that would exhaust the machine. */
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024 + 1024;

export type EncryptKeystoreParameters = {
  privateKey: Hex;
  password: string;
  /** scrypt cost (default {@link STANDARD_SCRYPT}). */
  scrypt?: { n: number; r: number; p: number };
};

/**
 * Encrypts a private key into a v3 keystore (scrypt, aes-128-ctr, keccak256 MAC).
 *
 * @example
 * const json = await encryptKeystore({ privateKey, password, scrypt: LIGHT_SCRYPT })
 */
export async function encryptKeystore({ privateKey, password, scrypt = STANDARD_SCRYPT }: EncryptKeystoreParameters): Promise<KeystoreV3> {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const kdfparams: ScryptParams = { ...scrypt, dklen: 32, salt: strip(bytesToHex(salt)) };
  const derived = await scryptAsync(utf8(password), salt, { N: scrypt.n, r: scrypt.r, p: scrypt.p, dkLen: 32, maxmem: MAX_SCRYPT_MEMORY });
  const ciphertext = ctr(derived.slice(0, 16), iv).encrypt(hexToBytes(privateKey));
  return {
    version: 3,
    id: randomUUID(),
    address: strip(privateKeyToAddress(privateKey).toLowerCase() as Hex),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: strip(bytesToHex(iv)) },
      ciphertext: strip(bytesToHex(ciphertext)),
      kdf: 'scrypt',
      kdfparams,
      mac: strip(bytesToHex(mac(derived, ciphertext))),
    },
  };
}

export type DecryptKeystoreParameters = {
  /** The keystore, parsed or as JSON text. */
  keystore: KeystoreV3 | string;
  password: string;
  /** Names the keystore in errors (a key name or file path). */
  source?: string;
};
export type DecryptKeystoreReturnType = { privateKey: Hex; address: Address };

/**
 * Decrypts a v3 keystore with its password. The kdf parameters come from the file.
 * @throws {AgoraError} `WrongPassword` when the MAC does not match; `InvalidKeystore` for a file
 * that is not a v3 keystore Agora can read.
 *
 * @example
 * const { privateKey } = await decryptKeystore({ keystore: readFileSync(file, 'utf8'), password })
 */
export async function decryptKeystore({ keystore, password, source = 'keystore' }: DecryptKeystoreParameters): Promise<DecryptKeystoreReturnType> {
  const file = parseKeystore(keystore, source);
  const { crypto } = file;
  const salt = bytes(crypto.kdfparams.salt, 'kdfparams.salt', source);
  const iv = bytes(crypto.cipherparams.iv, 'cipherparams.iv', source);
  const ciphertext = bytes(crypto.ciphertext, 'ciphertext', source);
  const expectedMac = bytes(crypto.mac, 'mac', source);
  let derived: Uint8Array;
  try {
    if (crypto.kdf === 'scrypt') {
      const { n, r, p, dklen } = crypto.kdfparams as ScryptParams;
      derived = await scryptAsync(utf8(password), salt, { N: n, r, p, dkLen: dklen, maxmem: MAX_SCRYPT_MEMORY });
    } else {
      const { c, dklen } = crypto.kdfparams as Pbkdf2Params;
      derived = await pbkdf2Async(sha256, utf8(password), salt, { c, dkLen: dklen });
    }
  } catch (cause) {
    throw invalid(source, `its ${crypto.kdf} parameters are unusable`, cause);
  }
  if (iv.length !== 16 || !equalBytes(mac(derived, ciphertext), expectedMac)) {
    if (iv.length !== 16) throw invalid(source, 'cipherparams.iv is not 16 bytes');
    throw new AgoraError('WrongPassword', `Wrong password for ${source}.`, {
      fix: 'check the password (AGORA_PASSWORD, --password-file or the prompt). The file is unchanged.',
    });
  }
  const privateKey = bytesToHex(ctr(derived.slice(0, 16), iv).decrypt(ciphertext));
  if (privateKey.length !== 66) throw invalid(source, 'the decrypted key is not 32 bytes');
  const address = privateKeyToAddress(privateKey);
  if (file.address && `0x${file.address.replace(/^0x/, '')}`.toLowerCase() !== address.toLowerCase()) {
    throw invalid(source, 'the key inside does not match the address the file names');
  }
  return { privateKey, address };
}

/**
 * Validates a keystore's shape (not its password) and returns it typed.
 * @throws {AgoraError} `InvalidKeystore` naming the first bad field.
 */
export function parseKeystore(keystore: KeystoreV3 | string, source = 'keystore'): KeystoreV3 {
  let raw: any = keystore;
  if (typeof keystore === 'string') {
    try {
      raw = JSON.parse(keystore);
    } catch (cause) {
      throw invalid(source, 'it is not JSON', cause);
    }
  }
  if (typeof raw !== 'object' || raw === null) throw invalid(source, 'expected a JSON object');
  if (raw.version !== 3) throw invalid(source, `version is ${JSON.stringify(raw.version)}, not 3`);
  // geth wrote "Crypto" in early files; the spec and every later tool write "crypto".
  const crypto = raw.crypto ?? raw.Crypto;
  if (typeof crypto !== 'object' || crypto === null) throw invalid(source, 'crypto is missing');
  if (crypto.cipher !== 'aes-128-ctr') throw invalid(source, `cipher ${JSON.stringify(crypto.cipher)} is not aes-128-ctr`);
  const params = crypto.kdfparams ?? {};
  const positive = (value: unknown) => Number.isSafeInteger(value) && (value as number) > 0;
  if (crypto.kdf === 'scrypt') {
    const n = params.n;
    if (!positive(n) || (n & (n - 1)) !== 0 || n < 2) throw invalid(source, 'kdfparams.n is not a power of two');
    if (!positive(params.r) || !positive(params.p)) throw invalid(source, 'kdfparams.r and kdfparams.p must be positive integers');
  } else if (crypto.kdf === 'pbkdf2') {
    if (params.prf !== 'hmac-sha256') throw invalid(source, `pbkdf2 prf ${JSON.stringify(params.prf)} is not hmac-sha256`);
    if (!positive(params.c)) throw invalid(source, 'kdfparams.c must be a positive integer');
  } else {
    throw invalid(source, `kdf ${JSON.stringify(crypto.kdf)} is neither scrypt nor pbkdf2`);
  }
  // The MAC key is bytes 16..32 of the derived key, so anything shorter cannot be checked.
  if (!Number.isSafeInteger(params.dklen) || params.dklen < 32) throw invalid(source, 'kdfparams.dklen is below 32');
  for (const [name, value] of [
    ['kdfparams.salt', params.salt],
    ['cipherparams.iv', crypto.cipherparams?.iv],
    ['ciphertext', crypto.ciphertext],
    ['mac', crypto.mac],
  ] as const) {
    if (typeof value !== 'string' || !isHex(`0x${value.replace(/^0x/, '')}`)) throw invalid(source, `${name} is not hex`);
  }
  if (raw.address !== undefined && typeof raw.address !== 'string') throw invalid(source, 'address is not a string');
  return { ...raw, crypto } as KeystoreV3;
}

function mac(derived: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  const input = new Uint8Array(16 + ciphertext.length);
  input.set(derived.slice(16, 32));
  input.set(ciphertext, 16);
  return keccak_256(input);
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

function bytes(hex: string, field: string, source: string): Uint8Array {
  const value = `0x${hex.replace(/^0x/, '')}` as Hex;
  if (!isHex(value) || value.length % 2 !== 0) throw invalid(source, `${field} is not hex`);
  return hexToBytes(value);
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const strip = (hex: Hex) => hex.slice(2);

function invalid(source: string, why: string, cause?: unknown): AgoraError {
  return new AgoraError('InvalidKeystore', `The ${source} is not a Web3 Secret Storage v3 keystore Agora can read: ${why}.`, {
    cause,
    details: cause === undefined ? undefined : '',
    fix: 'use a v3 JSON keystore (scrypt or pbkdf2, aes-128-ctr) as written by `agora keys new`, geth, ethers or `cast wallet`.',
  });
}
