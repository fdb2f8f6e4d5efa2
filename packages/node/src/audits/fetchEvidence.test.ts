import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AgoraError } from '@agora/sdk';
import { fetchEvidence, parseEvidenceBody, toEvidenceBody, type AuditEvidenceLeaf } from './fetchEvidence.ts';

const word = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const;
const leaf: AuditEvidenceLeaf = {
  receipt: { modelId: word(1), inputHash: word(2), paramsHash: word(3), outputHash: word(4), channelId: word(5), cumulativeAmount: 12_345_678_901_234_567_890n },
  signature: `0x${'ab'.repeat(65)}`,
  input: { pixels: [0, 1] },
  params: {},
  output: { digit: 7 },
};

let server: Server;
let base: string;
const seen: (string | undefined)[] = [];

beforeAll(async () => {
  server = createServer((request, response) => {
    seen.push(request.headers.authorization);
    const json = (status: number, body: unknown) => response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    switch (request.url) {
      case '/ok':
        return json(200, toEvidenceBody([leaf]));
      case '/gone':
        return json(410, { error: { message: 'The audit ended; its evidence was deleted.', code: 'EvidenceGone' } });
      case '/big':
        return json(200, toEvidenceBody([{ ...leaf, input: 'x'.repeat(2_000) }]));
      case '/chunked':
        // No content-length: the limit must hold while streaming.
        response.writeHead(200, { 'content-type': 'application/json' });
        for (let i = 0; i < 10; i++) response.write('x'.repeat(300));
        return response.end();
      case '/malformed':
        return json(200, { input: 1, output: 2 });
      default:
        return json(404, { error: { message: 'no such audit', code: 'NotFound' } });
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const err = await promise.then(() => undefined, (e: unknown) => e);
  if (!(err instanceof AgoraError)) throw new Error(`expected an AgoraError, got ${String(err)}`);
  return err.code;
}

describe('fetchEvidence', () => {
  it('fetches every leaf { receipt, signature, input, params, output } with the signed Authorization header', async () => {
    const evidence = await fetchEvidence({ url: `${base}/ok`, authorization: 'AgoraAudit 1.2.0xsig' });
    expect(evidence).toEqual({ leaves: [leaf] }); // the amount comes back a bigint, exactly
    expect(seen.at(-1)).toBe('AgoraAudit 1.2.0xsig');
  });

  it("reports the opener's refusal with its error code", async () => {
    const err = (await fetchEvidence({ url: `${base}/gone`, authorization: 'a' }).then(() => undefined, (e: unknown) => e)) as AgoraError;
    expect(err).toMatchObject({ code: 'EvidenceUnavailable', details: 'EvidenceGone: The audit ended; its evidence was deleted.' });
    expect(err.shortMessage.replace(base, '<opener>')).toMatchInlineSnapshot(`"The opener answered HTTP 410 for the evidence at <opener>/gone."`);
  });

  it('stops reading past the size limit, declared or streamed', async () => {
    expect(await codeOf(fetchEvidence({ url: `${base}/big`, authorization: 'a', maxBytes: 1_000 }))).toBe('EvidenceTooLarge');
    expect(await codeOf(fetchEvidence({ url: `${base}/chunked`, authorization: 'a', maxBytes: 1_000 }))).toBe('EvidenceTooLarge');
  });

  it('refuses bodies that are not evidence, and URIs that are not http(s) or do not answer', async () => {
    expect(await codeOf(fetchEvidence({ url: `${base}/malformed`, authorization: 'a' }))).toBe('EvidenceMalformed');
    expect(await codeOf(fetchEvidence({ url: `${base}/chunked`, authorization: 'a' }))).toBe('EvidenceMalformed');
    expect(await codeOf(fetchEvidence({ url: 'ipfs://bafy', authorization: 'a' }))).toBe('EvidenceUnavailable');
    expect(await codeOf(fetchEvidence({ url: 'http://127.0.0.1:1/evidence', authorization: 'a' }))).toBe('EvidenceUnavailable');
  });

  it('reads only well-formed batches of 1 to 64 leaves', () => {
    const body = JSON.parse(JSON.stringify(toEvidenceBody([leaf]))) as { leaves: Record<string, unknown>[] };
    expect(parseEvidenceBody(body)).toEqual({ leaves: [leaf] });
    expect(parseEvidenceBody({ leaves: [] })).toBeUndefined();
    expect(parseEvidenceBody({ leaves: Array.from({ length: 65 }, () => body.leaves[0]) })).toBeUndefined();
    expect(parseEvidenceBody({ input: 1, params: {}, output: 2 })).toBeUndefined(); // the single-call shape of the old court
    const broken = (change: Record<string, unknown>) => parseEvidenceBody({ leaves: [{ ...body.leaves[0], ...change }] });
    expect(broken({ signature: '0x12' })).toBeUndefined();
    expect(broken({ params: [] })).toBeUndefined();
    expect(broken({ receipt: { ...(body.leaves[0]!.receipt as object), cumulativeAmount: 5 } })).toBeUndefined();
    expect(broken({ receipt: { ...(body.leaves[0]!.receipt as object), channelId: '0x05' } })).toBeUndefined();
  });
});
