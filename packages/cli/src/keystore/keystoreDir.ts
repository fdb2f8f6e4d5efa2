import { chmodSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { getAddress, type Address } from 'viem';
import { AgoraError } from '@agora/sdk';
import { parseKeystore, type KeystoreV3 } from './secretStorage.ts';

/** Where named keys live: `$AGORA_KEYSTORE_DIR`, else `~/.agora/keystore`. */
export function getKeystoreDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.AGORA_KEYSTORE_DIR || join(homedir(), '.agora', 'keystore');
}

/** Key names become file names, so they are kept to a safe alphabet (no paths, no dot files). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/**
 * The file a key name or path stands for: a value with a `/` or ending in `.json` is a path (a
 * keystore from geth, ethers or cast), anything else a name in the keystore folder.
 */
export function resolveKeystorePath(nameOrFile: string, dir = getKeystoreDir()): { path: string; label: string } {
  if (nameOrFile.includes('/') || nameOrFile.endsWith('.json')) return { path: nameOrFile, label: `keystore file ${nameOrFile}` };
  checkName(nameOrFile);
  return { path: join(dir, `${nameOrFile}.json`), label: `key "${nameOrFile}"` };
}

/** Reads a keystore by name or path (unencrypted check of its shape only). */
export function readKeystore(nameOrFile: string, dir = getKeystoreDir()): { keystore: KeystoreV3; label: string; path: string } {
  const { path, label } = resolveKeystorePath(nameOrFile, dir);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const missing = (cause as NodeJS.ErrnoException).code === 'ENOENT';
    throw new AgoraError(missing ? 'UnknownKey' : 'KeystoreUnreadable', missing ? `No ${label} (looked for ${path}).` : `Cannot read the ${label} at ${path}.`, {
      cause,
      details: missing ? '' : undefined,
      fix: missing ? 'list your keys with `agora keys list`, or create one with `agora keys new <name>`.' : 'check the file permissions.',
    });
  }
  return { keystore: parseKeystore(text, label), label, path };
}

/**
 * Saves a keystore under `name` (mode 0600, in a 0700 folder). Never overwrites: a key that
 * exists is refused, because overwriting a keystore can destroy the only copy of a key.
 */
export function saveKeystore(name: string, keystore: KeystoreV3, dir = getKeystoreDir()): string {
  checkName(name);
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700); // mkdir's mode is masked by the umask
  }
  const path = join(dir, `${name}.json`);
  // Written whole to a temporary file, then linked into place: link fails if the name is taken,
  // so a crash never leaves a half-written keystore and a race never replaces one.
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
  writeFileSync(temporary, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temporary, path);
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new AgoraError('KeyExists', `A key named "${name}" already exists (${path}).`, { fix: 'pick another name; keys are never overwritten.' });
    }
    throw new AgoraError('KeystoreUnwritable', `Cannot write ${path}.`, { cause, fix: 'check the folder permissions (or set AGORA_KEYSTORE_DIR).' });
  } finally {
    unlinkSync(temporary);
  }
  return path;
}

/** Fails early (before a password prompt or a slow scrypt) when `name` is invalid or taken. */
export function checkNewKeyName(name: string, dir = getKeystoreDir()): void {
  checkName(name);
  const path = join(dir, `${name}.json`);
  if (existsSync(path)) {
    throw new AgoraError('KeyExists', `A key named "${name}" already exists (${path}).`, { fix: 'pick another name; keys are never overwritten.' });
  }
}

/** A named key in the keystore folder. */
export type KeystoreEntry = { name: string; address: Address | undefined; path: string };

/** Every `<name>.json` keystore in the folder with the address it names (no password needed). */
export function listKeystores(dir = getKeystoreDir()): KeystoreEntry[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json') && NAME.test(file.slice(0, -5)) && statSync(join(dir, file)).isFile())
    .sort()
    .map((file) => {
      const path = join(dir, file);
      let address: Address | undefined;
      try {
        const raw = JSON.parse(readFileSync(path, 'utf8')) as { address?: unknown };
        if (typeof raw.address === 'string') address = getAddress(`0x${raw.address.replace(/^0x/, '')}`);
      } catch {
        // Listed without an address: `agora keys address` explains what is wrong with it.
      }
      return { name: basename(file, '.json'), address, path };
    });
}

function checkName(name: string): void {
  if (!NAME.test(name)) {
    throw new AgoraError('InvalidKeyName', `"${name}" is not a valid key name.`, {
      fix: 'use letters, digits, ".", "_" and "-" (up to 64, starting with a letter or digit), or pass a path to a keystore file.',
    });
  }
}
