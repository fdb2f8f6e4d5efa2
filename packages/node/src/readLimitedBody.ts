import type { AgoraError } from '@agora/sdk';

/**
 * Reads an HTTP response body into memory, refusing more than `maxBytes`: first by the declared
 * Content-Length, then while streaming (a server may lie or send no length). What the peer sends is
 * never trusted to be small. `tooLarge` makes the caller's error (`seen` says how much was seen).
 *
 * @throws what `tooLarge` returns; the signal's reason when aborted; the stream's own error when
 *   the download breaks off (the caller words it).
 * @example
 * const body = await readLimitedBody(response, 8 << 20, (seen) => new AgoraError('TooLarge', `${seen}`))
 */
export async function readLimitedBody(response: Response, maxBytes: number, tooLarge: (seen: string) => AgoraError, signal?: AbortSignal): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw tooLarge(`${declared} bytes`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  const reader = response.body?.getReader();
  if (!reader) return Buffer.alloc(0);
  for (;;) {
    if (signal?.aborted) {
      await reader.cancel().catch(() => {});
      throw signal.reason;
    }
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel().catch(() => {});
      throw tooLarge(`more than ${maxBytes} bytes`);
    }
    chunks.push(Buffer.from(value.buffer, value.byteOffset, value.byteLength));
  }
  return Buffer.concat(chunks, size);
}
