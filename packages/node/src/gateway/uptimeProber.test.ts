import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import type { ScoreObservation } from '../market/providerScore.ts';
import { createUptimeProber } from './uptimeProber.ts';

const alice = '0x00000000000000000000000000000000000000a1' as Address;
const bob = '0x00000000000000000000000000000000000000b0' as Address;
const carol = '0x00000000000000000000000000000000000000c0' as Address;
const modelId = `0x${'11'.repeat(32)}` as Hex;
let server: Server;
let url: string;

beforeAll(async () => {
  // Answers /health as alice, whoever asks.
  server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'ok', provider: alice })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('uptime probes', () => {
  it('count a provider up only when its endpoint answers as itself', async () => {
    const offers = [
      { provider: alice, endpoint: url, price: 1n },
      { provider: bob, endpoint: url, price: 1n }, // bob's registered URL answers as someone else
      { provider: carol, endpoint: 'http://127.0.0.1:1', price: 1n }, // nothing listens
    ];
    const catalog = { listModels: async () => [{ modelId, name: 'm' }], offers: async () => offers } as never;
    const seen: [Address, ScoreObservation][] = [];
    const prober = createUptimeProber({ catalog, record: (provider, _modelId, observation) => seen.push([provider, observation]), intervalMs: 60_000, timeoutMs: 2_000 });
    await prober.probeOnce();
    await prober.stop();
    expect(new Map(seen)).toEqual(
      new Map([
        [alice, { kind: 'probe', up: true }],
        [bob, { kind: 'probe', up: false }],
        [carol, { kind: 'probe', up: false }],
      ]),
    );
  });
});
