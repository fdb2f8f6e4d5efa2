import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { getAddress, isHex, type Address, type Hex } from 'viem';
import { privateKeyToAddress } from 'viem/accounts';
import { AgoraError } from '@agora/sdk';
import { readKeystore } from './keystore/keystoreDir.ts';
import { readPassword } from './keystore/readSecret.ts';
import { decryptKeystore } from './keystore/secretStorage.ts';

/** The flags that name a signing key; every command that signs takes them (see {@link addKeyOptions}). */
export type KeySourceOptions = { keystore?: string; passwordFile?: string; keyFile?: string };

const MISSING_KEY_FIX =
  'set AGORA_PRIVATE_KEY or pass --key-file <file holding a 0x-prefixed private key>, or --keystore <name> (create one with `agora keys new <name>`).';

/**
 * Reads a private key from a file or AGORA_PRIVATE_KEY. The key is never printed or logged.
 * @param who What the key is for, used in messages ("deployer", "provider").
 */
export function readPrivateKey(keyFile: string | undefined, who: string): Hex {
  let raw: string;
  try {
    raw = (keyFile ? readFileSync(keyFile, 'utf8') : process.env.AGORA_PRIVATE_KEY ?? '').trim();
  } catch (cause) {
    throw new AgoraError('MissingKey', `Cannot read the key file ${keyFile}.`, { cause, fix: 'check the path and its permissions.' });
  }
  if (!raw) throw new AgoraError('MissingKey', `No ${who} key given.`, { fix: MISSING_KEY_FIX });
  return parsePrivateKey(raw, `The ${who} key`, keyFile ? 'check the key file.' : 'check AGORA_PRIVATE_KEY.');
}

/**
 * The signing key from, in order: `--keystore <name or file>` (decrypted with its password),
 * `--key-file <file>`, `$AGORA_PRIVATE_KEY`. The key and password are never printed or logged.
 * @param who What the key is for, used in messages ("deployer", "provider", "buyer").
 *
 * @example
 * const account = privateKeyToAccount(await loadPrivateKey(options, 'provider'))
 */
export async function loadPrivateKey(options: KeySourceOptions, who: string): Promise<Hex> {
  if (options.keystore !== undefined) {
    const { keystore, label } = readKeystore(options.keystore);
    const password = await readPassword({ passwordFile: options.passwordFile, label });
    return (await decryptKeystore({ keystore, password, source: label })).privateKey;
  }
  return readPrivateKey(options.keyFile, who);
}

/**
 * The address of the key the key-source flags name, without a password: a keystore names its
 * address in the clear. Undefined when no key source is given.
 */
export function loadAddress(options: KeySourceOptions, who: string): Address | undefined {
  if (options.keystore !== undefined) {
    const { keystore, label } = readKeystore(options.keystore);
    if (keystore.address) return getAddress(`0x${keystore.address.replace(/^0x/, '')}`);
    throw new AgoraError('InvalidKeystore', `The ${label} does not name its address.`, { fix: 'pass the address explicitly.' });
  }
  if (options.keyFile === undefined && !process.env.AGORA_PRIVATE_KEY) return undefined;
  return privateKeyToAddress(readPrivateKey(options.keyFile, who));
}

/** Checks that `raw` is a 32-byte hex key (`0x` optional) without ever echoing it. */
export function parsePrivateKey(raw: string, what: string, fix: string): Hex {
  const trimmed = raw.trim();
  const key = (trimmed.startsWith('0x') ? trimmed : `0x${trimmed}`) as Hex;
  if (!isHex(key) || key.length !== 66) throw new AgoraError('InvalidKey', `${what} is not a 32-byte hex private key.`, { fix });
  return key;
}

/** Adds the key-source flags (`--keystore`, `--password-file`, `--key-file`) to a command. */
export function addKeyOptions(command: Command, who: string): Command {
  return command
    .addOption(new Option('--keystore <name|file>', `encrypted keystore holding the ${who} key: a name from \`agora keys list\` or a v3 JSON file`))
    .addOption(new Option('--password-file <file>', 'file whose first line is the keystore password (default: $AGORA_PASSWORD, else a prompt)'))
    .addOption(new Option('--key-file <file>', `file holding the ${who} private key (default: $AGORA_PRIVATE_KEY)`));
}
