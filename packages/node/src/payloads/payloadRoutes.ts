import type { FastifyInstance } from 'fastify';
import { normalizePayloadHash, type PayloadStore } from './payloadStore.ts';

/** `application/json` when the bytes are one JSON value (UTF-8), else `application/octet-stream`. */
export function payloadContentType(bytes: Uint8Array): string {
  const first = bytes.find((b) => b !== 0x20 && b !== 0x0a && b !== 0x0d && b !== 0x09);
  // Only objects, arrays and strings: a bare number or word is more likely binary that parses by chance.
  if (first !== 0x7b && first !== 0x5b && first !== 0x22) return 'application/octet-stream';
  try {
    JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    return 'application/json';
  } catch {
    return 'application/octet-stream';
  }
}

/**
 * Serves a payload store read-only: `GET /v1/payloads/:hash` answers the bytes whose sha-256 is
 * `hash` (64 hex digits, `0x` optional), 404 with `{ error: { code: 'PayloadNotFound' } }` for an
 * unknown hash. Content never changes under a hash, so responses are cacheable forever.
 *
 * @example
 * const app = Fastify()
 * registerPayloadRoutes(app, createPayloadStore({ dir }))
 */
export function registerPayloadRoutes(app: FastifyInstance, store: PayloadStore): void {
  app.get<{ Params: { hash: string } }>(
    '/v1/payloads/:hash',
    {
      schema: {
        params: { type: 'object', properties: { hash: { type: 'string', pattern: '^(0x)?[0-9a-fA-F]{64}$' } }, required: ['hash'] },
        response: {
          404: {
            type: 'object',
            properties: { error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } }, required: ['code', 'message'] } },
            required: ['error'],
          },
        },
      },
    },
    async (request, reply) => {
      const hash = normalizePayloadHash(request.params.hash);
      const bytes = store.get(hash);
      if (!bytes) {
        request.log.info({ hash }, 'unknown payload');
        return reply.status(404).send({ error: { code: 'PayloadNotFound', message: `No payload with sha-256 ${hash} here.` } });
      }
      return reply
        .header('content-type', payloadContentType(bytes))
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'public, max-age=31536000, immutable')
        .header('etag', `"${hash.slice(2)}"`)
        .send(bytes);
    },
  );
}
