import { createHash } from 'node:crypto';
import type { Hex } from 'viem';
import { AgoraError } from '@agora/sdk';
import { normalizePayloadHash } from './payloadStore.ts';
import { readLimitedBody } from '../readLimitedBody.ts';

export type FetchPayloadParameters = {
  /** http(s) URL of the payload. */
  url: string;
  /** The sha-256 the bytes must have (0x optional). */
  expectedHash: string;
  /** Stop reading and fail past this many bytes. */
  maxBytes: number;
  signal?: AbortSignal;
};

/**
 * Downloads a payload and checks it against its content hash. The body is streamed and the
 * download aborted as soon as it passes `maxBytes`, so a hostile URL cannot fill memory.
 *
 * @throws {AgoraError} `PayloadTooLarge`, `PayloadHashMismatch`, `PayloadNotFound` (404) or
 * `PayloadUnavailable` (bad URL, network error, other HTTP status). An abort through `signal`
 * rethrows the abort reason unchanged.
 *
 * @example
 * const bytes = await fetchPayload({ url: job.inputURI, expectedHash: job.inputHash, maxBytes: 8 << 20 })
 */
export async function fetchPayload({ url, expectedHash, maxBytes, signal }: FetchPayloadParameters): Promise<Buffer> {
  const expected: Hex = normalizePayloadHash(expectedHash);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new AgoraError('PayloadUnavailable', `The payload URL ${JSON.stringify(url)} is not a URL.`, { cause, fix: 'open the job with an http(s) URL.' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AgoraError('PayloadUnavailable', `The payload URL ${url} is not http(s).`, { fix: 'serve payloads over http or https.' });
  }
  const tooLarge = (seen: string) =>
    new AgoraError('PayloadTooLarge', `The payload at ${url} is ${seen}; at most ${maxBytes} bytes are accepted.`, {
      fix: 'send a smaller payload, or ask a provider that accepts larger ones.',
    });

  let response: Response;
  try {
    response = await fetch(parsed, { ...(signal ? { signal } : {}), headers: { accept: 'application/json, application/octet-stream' } });
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw new AgoraError('PayloadUnavailable', `Cannot download the payload at ${url}.`, { cause, fix: 'check that the server holding the payload is running and reachable.' });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    if (response.status === 404) {
      throw new AgoraError('PayloadNotFound', `${url} has no payload ${expected} (HTTP 404).`, { fix: 'check that the payload was stored where the URL points.' });
    }
    throw new AgoraError('PayloadUnavailable', `Downloading the payload at ${url} failed with HTTP ${response.status}.`, { fix: 'try again later.' });
  }
  const body = await readLimitedBody(response, maxBytes, tooLarge, signal).catch((err: unknown) => {
    if (err instanceof AgoraError) throw err;
    if (signal?.aborted) throw signal.reason;
    throw new AgoraError('PayloadUnavailable', `The download of ${url} broke off.`, { cause: err, fix: 'try again.' });
  });
  const hash = createHash('sha256').update(body);
  const actual: Hex = `0x${hash.digest('hex')}`;
  if (actual !== expected) {
    throw new AgoraError('PayloadHashMismatch', `The payload at ${url} has sha-256 ${actual}, not the ${expected} it was published under.`, {
      fix: 'the server holds other bytes than the hash promises; publish the payload under its real hash.',
    });
  }
  return body;
}
