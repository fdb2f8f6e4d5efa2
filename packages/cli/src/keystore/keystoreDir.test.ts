import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts';
import { checkNewKeyName, listKeystores, readKeystore, resolveKeystorePath, saveKeystore } from './keystoreDir.ts';
import { encryptKeystore, LIGHT_SCRYPT } from './secretStorage.ts';

describe('keystore folder', () => {
  it('saves 0600 files in a 0700 folder, never overwrites, and lists names with addresses', async () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'agora-ks-')), 'nested', 'keystore');
    const key = generatePrivateKey();
    const keystore = await encryptKeystore({ privateKey: key, password: 'pw', scrypt: LIGHT_SCRYPT });
    const path = saveKeystore('main', keystore, dir);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(() => saveKeystore('main', keystore, dir)).toThrow('A key named "main" already exists');
    expect(() => checkNewKeyName('main', dir)).toThrow('A key named "main" already exists');
    expect(JSON.parse(readFileSync(path, 'utf8')).id).toBe(keystore.id); // the first file is intact
    writeFileSync(join(dir, 'notes.txt'), 'not a key');
    writeFileSync(join(dir, 'broken.json'), '{');
    expect(listKeystores(dir)).toEqual([
      { name: 'broken', address: undefined, path: join(dir, 'broken.json') },
      { name: 'main', address: privateKeyToAddress(key), path },
    ]);
    expect(readKeystore('main', dir).keystore.address).toBe(keystore.address);
    expect(() => readKeystore('broken', dir)).toThrow('The key "broken" is not a Web3 Secret Storage v3 keystore Agora can read: it is not JSON.');
    expect(() => readKeystore('nope', dir)).toThrow(`No key "nope" (looked for ${join(dir, 'nope.json')}).`);
  });

  it('treats names as names and paths as paths, refusing names that could escape the folder', () => {
    expect(resolveKeystorePath('alice', '/ks')).toEqual({ path: '/ks/alice.json', label: 'key "alice"' });
    expect(resolveKeystorePath('./geth/UTC--2024.json', '/ks').path).toBe('./geth/UTC--2024.json');
    expect(resolveKeystorePath('wallet.json', '/ks').path).toBe('wallet.json');
    for (const bad of ['..', '.hidden', 'a b', '']) expect(() => resolveKeystorePath(bad, '/ks')).toThrow('is not a valid key name');
  });
});
