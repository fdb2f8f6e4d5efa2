import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Hex } from 'viem';
import { AgoraError } from '@agora/sdk';

/** Largest payload a store keeps or a fetch accepts unless told otherwise: 8 MiB. */
export const DEFAULT_MAX_PAYLOAD_BYTES = 8 * 1024 * 1024;

export type PayloadStoreInit = {
  /** Folder holding the payload files (created if missing). */
  dir: string;
  /** Largest payload accepted, bytes (default {@link DEFAULT_MAX_PAYLOAD_BYTES}). */
  maxBytes?: number;
};

/** A content-addressed payload store (sha-256 of the bytes, the hash JobMarket commits to). */
export type PayloadStore = {
  readonly dir: string;
  readonly maxBytes: number;
  /** Stores bytes (idempotent) and returns their sha-256 as a 0x-prefixed bytes32. */
  put(bytes: Uint8Array): Hex;
  /** The bytes stored under a hash, or undefined. */
  get(hash: string): Buffer | undefined;
  has(hash: string): boolean;
};

/** sha-256 of bytes as a 0x-prefixed bytes32, the form JobMarket's inputHash/outputHash take. */
export function sha256Hex(bytes: Uint8Array): Hex {
  return `0x${createHash('sha256').update(bytes).digest('hex')}`;
}

/**
 * Normalises a payload hash given with or without `0x` to lower-case `0x…`.
 * @throws {AgoraError} `InvalidPayloadHash` when it is not 32 bytes of hex.
 */
export function normalizePayloadHash(hash: string): Hex {
  const hex = hash.startsWith('0x') || hash.startsWith('0X') ? hash.slice(2) : hash;
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new AgoraError('InvalidPayloadHash', `${hash} is not a sha-256 payload hash.`, { fix: 'pass 64 hex digits (with or without 0x).' });
  }
  return `0x${hex.toLowerCase()}`;
}

/** The URL path a payload is served at: `/v1/payloads/<64 hex digits>` (no 0x, as in a CID digest). */
export function payloadPath(hash: string): string {
  return `/v1/payloads/${normalizePayloadHash(hash).slice(2)}`;
}

/**
 * Opens a content-addressed payload store in a folder. A payload is written to a temporary file,
 * fsynced, then renamed into place (and the folder fsynced), so a crash leaves either the whole
 * payload or nothing under its hash, never a torn file that a reader would serve.
 *
 * @example
 * const payloads = createPayloadStore({ dir: join(stateDir, 'payloads') })
 * const hash = payloads.put(Buffer.from('{"input":{}}'))
 * payloads.get(hash) // the same bytes
 */
export function createPayloadStore(init: PayloadStoreInit): PayloadStore {
  const maxBytes = init.maxBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
  mkdirSync(init.dir, { recursive: true });
  const fileOf = (hash: string) => {
    const hex = normalizePayloadHash(hash).slice(2);
    return { folder: join(init.dir, hex.slice(0, 2)), file: join(init.dir, hex.slice(0, 2), hex) };
  };
  const fsyncPath = (path: string) => {
    const fd = openSync(path, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  };

  return {
    dir: init.dir,
    maxBytes,
    put(bytes) {
      if (bytes.byteLength > maxBytes) {
        throw new AgoraError('PayloadTooLarge', `The payload is ${bytes.byteLength} bytes; this store keeps at most ${maxBytes}.`, {
          fix: 'send a smaller payload, or raise the size limit (provider.jobs.maxPayloadBytes).',
        });
      }
      const hash = sha256Hex(bytes);
      const { folder, file } = fileOf(hash);
      if (existsSync(file)) return hash;
      mkdirSync(folder, { recursive: true });
      const temp = join(folder, `.tmp-${randomBytes(6).toString('hex')}`);
      try {
        const fd = openSync(temp, 'wx', 0o600);
        try {
          let written = 0;
          while (written < bytes.byteLength) written += writeSync(fd, bytes, written);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        renameSync(temp, file);
        fsyncPath(folder);
      } catch (cause) {
        rmSync(temp, { force: true });
        throw new AgoraError('PayloadStoreFailed', `Cannot write payload ${hash} to ${init.dir}.`, { cause, fix: 'check the disk space and permissions of the state folder.' });
      }
      return hash;
    },
    get(hash) {
      const { file } = fileOf(hash);
      try {
        if (statSync(file).size > maxBytes) return undefined;
        return readFileSync(file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    },
    has(hash) {
      return existsSync(fileOf(hash).file);
    },
  };
}
