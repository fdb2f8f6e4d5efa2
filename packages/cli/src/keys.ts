import { readFileSync } from 'node:fs';
import { isHex, type Hex } from 'viem';
import { AgoraError } from '@agora/sdk';

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
  if (!raw) {
    throw new AgoraError('MissingKey', `No ${who} key given.`, {
      fix: 'set AGORA_PRIVATE_KEY or pass --key-file <file holding a 0x-prefixed private key>.',
    });
  }
  const key = (raw.startsWith('0x') ? raw : `0x${raw}`) as Hex;
  if (!isHex(key) || key.length !== 66) {
    throw new AgoraError('InvalidKey', `The ${who} key is not a 32-byte hex private key.`, { fix: 'check the key file or AGORA_PRIVATE_KEY.' });
  }
  return key;
}
