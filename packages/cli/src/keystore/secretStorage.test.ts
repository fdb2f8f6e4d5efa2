import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { decryptKeystore, encryptKeystore, LIGHT_SCRYPT, parseKeystore } from './secretStorage.ts';

// The two test vectors of the Web3 Secret Storage Definition
// (https://ethereum.org/developers/docs/data-structures-and-encoding/web3-secret-storage/):
// password "testpassword", private key 7a28b5ba…fe9d.
const SPEC_KEY = '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d';
const SPEC_SCRYPT = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
    ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
    kdf: 'scrypt',
    kdfparams: { dklen: 32, n: 262144, p: 8, r: 1, salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19' },
    mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};
const SPEC_PBKDF2 = {
  crypto: {
    cipher: 'aes-128-ctr',
    cipherparams: { iv: '6087dab2f9fdbbfaddc31a909735c1e6' },
    ciphertext: '5318b4d5bcd28de64ee5559e671353e16f075ecae9f99c7a79a38af5f869aa46',
    kdf: 'pbkdf2',
    kdfparams: { c: 262144, dklen: 32, prf: 'hmac-sha256', salt: 'ae3cd4e7013836a3df6bd7241b12db061dbe2c6785853cce422d148a624ce0bd' },
    mac: '517ead924a9d0dc3124507e3393d175ce3ff7c1e96529c6c555ce9e51205e9b2',
  },
  id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
  version: 3,
};

describe('Web3 Secret Storage v3', () => {
  // Two full-cost key derivations (2^18): about 2 s of CPU, much longer on a loaded machine.
  it('decrypts the spec test vectors (scrypt and pbkdf2), so files from geth, ethers and cast open', { timeout: 180_000 }, async () => {
    const scrypt = await decryptKeystore({ keystore: JSON.stringify(SPEC_SCRYPT), password: 'testpassword' });
    expect(scrypt.privateKey).toBe(SPEC_KEY);
    expect(scrypt.address).toBe(privateKeyToAddress(SPEC_KEY));
    const pbkdf2 = await decryptKeystore({ keystore: SPEC_PBKDF2 as never, password: 'testpassword' });
    expect(pbkdf2.privateKey).toBe(SPEC_KEY);
  });

  it('refuses a wrong password with WrongPassword and says nothing about the key', async () => {
    const keystore = await encryptKeystore({ privateKey: SPEC_KEY, password: 'testpassword', scrypt: LIGHT_SCRYPT });
    const err = await decryptKeystore({ keystore, password: 'testpasswore', source: 'keystore spec' }).catch((e) => e);
    expect(err.code).toBe('WrongPassword');
    expect(err.message).toMatchInlineSnapshot(`
      "Wrong password for keystore spec.

      Fix: check the password (AGORA_PASSWORD, --password-file or the prompt). The file is unchanged."
    `);
    expect(err.message).not.toContain(SPEC_KEY.slice(2, 10));
  });

  it('round-trips a fresh key, writing the fields other tools expect and a fresh salt and iv each time', async () => {
    const privateKey = generatePrivateKey();
    const a = await encryptKeystore({ privateKey, password: 'pässword 🔑', scrypt: LIGHT_SCRYPT });
    const b = await encryptKeystore({ privateKey, password: 'pässword 🔑', scrypt: LIGHT_SCRYPT });
    expect(a).toMatchObject({
      version: 3,
      address: privateKeyToAddress(privateKey).slice(2).toLowerCase(),
      crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt', kdfparams: { n: 4096, r: 8, p: 1, dklen: 32 } },
    });
    expect(a.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a.crypto.kdfparams.salt).not.toBe(b.crypto.kdfparams.salt);
    expect(a.crypto.cipherparams.iv).not.toBe(b.crypto.cipherparams.iv);
    expect(JSON.stringify(a)).not.toContain(privateKey.slice(2));
    expect((await decryptKeystore({ keystore: JSON.stringify(a), password: 'pässword 🔑' })).privateKey).toBe(privateKey);
    await expect(decryptKeystore({ keystore: a, password: 'pässword' })).rejects.toMatchObject({ code: 'WrongPassword' });
  });

  it('detects tampering: a changed ciphertext fails the MAC, a changed address is refused', async () => {
    const privateKey = generatePrivateKey();
    const file = await encryptKeystore({ privateKey, password: 'pw', scrypt: LIGHT_SCRYPT });
    const flipped = file.crypto.ciphertext.replace(/^./, (c) => (c === '0' ? '1' : '0'));
    await expect(decryptKeystore({ keystore: { ...file, crypto: { ...file.crypto, ciphertext: flipped } }, password: 'pw' })).rejects.toMatchObject({
      code: 'WrongPassword',
    });
    const otherAddress = privateKeyToAddress(generatePrivateKey()).slice(2).toLowerCase();
    await expect(decryptKeystore({ keystore: { ...file, address: otherAddress }, password: 'pw' })).rejects.toMatchObject({
      code: 'InvalidKeystore',
      shortMessage: expect.stringContaining('does not match the address'),
    });
  });

  it('names the first bad field of a file that is not a v3 keystore', () => {
    const bad = (patch: object, crypto: object = {}) => () => parseKeystore({ ...SPEC_SCRYPT, ...patch, crypto: { ...SPEC_SCRYPT.crypto, ...crypto } } as never, 'k.json');
    expect(() => parseKeystore('{', 'k.json')).toThrow('it is not JSON');
    expect(bad({ version: 1 })).toThrow('version is 1, not 3');
    expect(bad({}, { cipher: 'aes-128-cbc' })).toThrow('cipher "aes-128-cbc" is not aes-128-ctr');
    expect(bad({}, { kdf: 'argon2' })).toThrow('kdf "argon2" is neither scrypt nor pbkdf2');
    expect(bad({}, { kdfparams: { ...SPEC_SCRYPT.crypto.kdfparams, n: 1000 } })).toThrow('kdfparams.n is not a power of two');
    expect(bad({}, { mac: 'zz' })).toThrow('mac is not hex');
  });
});
