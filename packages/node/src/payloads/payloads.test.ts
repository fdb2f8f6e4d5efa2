import { mkdtempSync, readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { AgoraError } from '@agora/sdk';
import { createPayloadStore, payloadPath, sha256Hex, type PayloadStore } from './payloadStore.ts';
import { registerPayloadRoutes } from './payloadRoutes.ts';
import { fetchPayload } from './fetchPayload.ts';
import { decodeJobInput, decodeJobOutput, encodeJobInput, encodeJobOutput } from './jobPayload.ts';

let store: PayloadStore;
let app: FastifyInstance;
let url: string;
/** A server that answers whatever a test puts in `next` (no content-length: streamed, chunked). */
let raw: Server;
let rawUrl: string;
let next: { status: number; chunks: Buffer[] } = { status: 200, chunks: [] };

beforeAll(async () => {
  store = createPayloadStore({ dir: join(mkdtempSync(join(tmpdir(), 'agora-payloads-')), 'payloads'), maxBytes: 1024 });
  app = Fastify();
  registerPayloadRoutes(app, store);
  url = await app.listen({ host: '127.0.0.1', port: 0 });
  raw = createServer((_request, response) => {
    response.writeHead(next.status, { 'content-type': 'application/octet-stream' });
    for (const chunk of next.chunks) response.write(chunk);
    response.end();
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  rawUrl = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app?.close();
  raw?.close();
});

const codeOf = async (promise: Promise<unknown>) => promise.then(() => 'resolved', (err: unknown) => (err instanceof AgoraError ? err.code : String(err)));

describe('payload store', () => {
  it('keeps bytes under their sha-256, idempotently, with no temporary files left', () => {
    const bytes = Buffer.from('{"input":{"x":1},"params":{}}');
    const hash = store.put(bytes);
    expect(hash).toBe(sha256Hex(bytes));
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(store.put(bytes)).toBe(hash);
    expect(store.get(hash)?.equals(bytes)).toBe(true);
    expect(store.get(hash.slice(2).toUpperCase())?.equals(bytes)).toBe(true); // 0x and case do not matter
    expect(store.has(sha256Hex(Buffer.from('other')))).toBe(false);
    expect(readdirSync(join(store.dir, hash.slice(2, 4)))).toEqual([hash.slice(2)]);
  });

  it('refuses payloads over its size limit', () => {
    expect(() => store.put(Buffer.alloc(1025))).toThrowError(expect.objectContaining({ code: 'PayloadTooLarge' }));
  });
});

describe('GET /v1/payloads/:hash', () => {
  it('serves JSON as application/json and other bytes as application/octet-stream', async () => {
    const json = store.put(encodeJobOutput({ digit: 7 }));
    const binary = store.put(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]));
    const a = await app.inject({ url: payloadPath(json) });
    expect([a.statusCode, a.headers['content-type']]).toEqual([200, 'application/json']);
    expect(a.json()).toEqual({ output: { digit: 7 } });
    const b = await app.inject({ url: `/v1/payloads/${binary}` });
    expect([b.statusCode, b.headers['content-type']]).toEqual([200, 'application/octet-stream']);
    expect(b.rawPayload.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2]))).toBe(true);
  });

  it('answers 404 for an unknown hash and 400 for something that is not a hash', async () => {
    const missing = await app.inject({ url: payloadPath(sha256Hex(Buffer.from('never stored'))) });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ error: { code: 'PayloadNotFound' } });
    expect((await app.inject({ url: '/v1/payloads/..%2F..%2Fetc%2Fpasswd' })).statusCode).toBe(400);
  });
});

describe('fetchPayload', () => {
  it('downloads a payload and checks its hash', async () => {
    const bytes = encodeJobInput({ input: { image: 'aGVsbG8=' } });
    const hash = store.put(bytes);
    const fetched = await fetchPayload({ url: `${url}${payloadPath(hash)}`, expectedHash: hash, maxBytes: 1024 });
    expect(fetched.equals(bytes)).toBe(true);
  });

  it('refuses bytes that do not match the hash', async () => {
    const hash = store.put(Buffer.from('{"input":1}'));
    next = { status: 200, chunks: [Buffer.from('{"input":2}')] };
    expect(await codeOf(fetchPayload({ url: `${rawUrl}/x`, expectedHash: hash, maxBytes: 1024 }))).toBe('PayloadHashMismatch');
  });

  it('aborts a streamed download as soon as it passes the limit', async () => {
    next = { status: 200, chunks: Array.from({ length: 64 }, () => Buffer.alloc(512, 1)) };
    const hash = sha256Hex(Buffer.concat(next.chunks));
    expect(await codeOf(fetchPayload({ url: `${rawUrl}/big`, expectedHash: hash, maxBytes: 4096 }))).toBe('PayloadTooLarge');
    // Within the limit the same bytes are fine.
    expect((await fetchPayload({ url: `${rawUrl}/big`, expectedHash: hash, maxBytes: 64 * 512 })).byteLength).toBe(64 * 512);
  });

  it('says why a payload could not be fetched', async () => {
    const hash = sha256Hex(Buffer.from('x'));
    expect(await codeOf(fetchPayload({ url: `${url}${payloadPath(hash)}`, expectedHash: hash, maxBytes: 1024 }))).toBe('PayloadNotFound');
    next = { status: 500, chunks: [] };
    expect(await codeOf(fetchPayload({ url: `${rawUrl}/x`, expectedHash: hash, maxBytes: 1024 }))).toBe('PayloadUnavailable');
    expect(await codeOf(fetchPayload({ url: 'file:///etc/passwd', expectedHash: hash, maxBytes: 1024 }))).toBe('PayloadUnavailable');
    expect(await codeOf(fetchPayload({ url: 'http://127.0.0.1:1/x', expectedHash: hash, maxBytes: 1024 }))).toBe('PayloadUnavailable');
  });
});

describe('job payload format', () => {
  it('encodes the input canonically, so equal requests hash equally', () => {
    const a = encodeJobInput({ input: { b: 1, a: 2 }, params: { z: 0, y: [1] } });
    const b = encodeJobInput({ params: { y: [1], z: 0 }, input: { a: 2, b: 1 } } as never);
    expect(a.toString()).toBe('{"input":{"a":2,"b":1},"params":{"y":[1],"z":0}}');
    expect(sha256Hex(a)).toBe(sha256Hex(b));
    expect(decodeJobInput(a)).toEqual({ input: { a: 2, b: 1 }, params: { y: [1], z: 0 } });
    expect(decodeJobInput(Buffer.from('{"input":"x"}'))).toEqual({ input: 'x', params: {} });
    expect(decodeJobOutput(encodeJobOutput([1, 2]))).toEqual({ output: [1, 2] });
  });

  it('refuses input payloads that are not { input, params }', () => {
    for (const text of ['not json', '[1]', '{"params":{}}', '{"input":1,"params":[1]}']) {
      expect(() => decodeJobInput(Buffer.from(text)), text).toThrowError(expect.objectContaining({ code: 'InvalidJobInput' }));
    }
  });
});
