// The gateway speaks the OpenAI HTTP API over the network: the official `openai` client gets chat
// (plain and streamed), completions and embeddings from real provider daemons, paid per call
// through channels, each answer carrying a provider's receipt; bad input is refused in OpenAI's
// error shape and changes nothing.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import pino from 'pino';
import type { Hex } from 'viem';
import { getChannel, recoverInferenceReceiptSigner } from '@agora/sdk';
import {
  ADMIN_TOKEN_FILE,
  buildDigitsModel,
  gatewayConfigSchema,
  getDevAccount,
  loadDigitsDataset,
  renderDigitPng,
  startGateway,
  startNode,
  writeTinyLlamaGguf,
  type AgoraGateway,
  type AgoraNode,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { makeProvider } from '../support/market.ts';
import { providerNodeConfig } from '../support/nodes.ts';

const CHEAP = { gguf: 2_000n, digits: 1_000n };
const DEAR = { gguf: 3_000n, digits: 1_500n };
const MAIN_KEY = 'sk-test-main-0123456789abcdef';
const TINY_KEY = 'sk-test-tiny-0123456789abcdef';

let devnet: TestDevnet;
let dir: string;
const providers: AgoraNode[] = [];
let gateway: AgoraGateway;
let openai: OpenAI;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-gateway-'));
  devnet = await startTestDevnet({ stateDir: dir });
  const digits = (await buildDigitsModel(join(dir, 'digits.onnx'), { log: () => {} })).path;
  const gguf = await writeTinyLlamaGguf(join(dir, 'tiny.gguf'));
  for (const [role, prices] of [['provider1', CHEAP], ['provider2', DEAR]] as const) {
    const config = providerNodeConfig(devnet, {
      stateDir: join(dir, role),
      provider: {
        redeemThreshold: '1000000000',
        models: [
          { kind: 'gguf', path: gguf, name: 'agora/tiny-llama', price: prices.gguf.toString() },
          { kind: 'digits', path: digits, name: 'agora/digits-mlp', price: prices.digits.toString() },
        ],
      },
    });
    providers.push(await startNode(config, { privateKey: getDevAccount(role).privateKey }));
  }
  gateway = await startGateway({
    client: devnet.as('buyer1') as Parameters<typeof startGateway>[0]['client'],
    stateDir: join(dir, 'gateway'),
    log: pino({ level: 'silent' }),
    config: gatewayConfigSchema.parse({
      port: 0,
      channelDeposit: '100000',
      providerTimeoutMs: 1_000,
      routing: 'cheapest', // exact amounts per provider below; score routing has its own test
      apiKeys: [
        { name: 'main', key: MAIN_KEY, spendLimit: '1000000000' },
        { name: 'tiny', key: TINY_KEY, spendLimit: (2n * CHEAP.gguf).toString() },
      ],
    }),
  });
  openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: MAIN_KEY, maxRetries: 0 });
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  for (const p of providers) await p.stop();
  await devnet?.stop();
});

/** What the provider's operator sees it is owed (its admin status). */
async function owedTo(node: AgoraNode): Promise<bigint> {
  const token = readFileSync(join(dir, node === providers[0] ? 'provider1' : 'provider2', ADMIN_TOKEN_FILE), 'utf8').trim();
  const status = (await (await fetch(`${node.url}/admin/status`, { headers: { authorization: `Bearer ${token}` } })).json()) as { unredeemed: string };
  return BigInt(status.unredeemed);
}

const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });

describe('gateway (OpenAI API over the network)', () => {
  it('lists the network’s models with their cheapest price', async () => {
    const models = await openai.models.list();
    const byId = new Map(models.data.map((m) => [m.id, m as typeof m & { agora: { cheapestPrice: string; providers: number } }]));
    expect([...byId.keys()].sort()).toEqual(['agora/digits-mlp', 'agora/tiny-llama']);
    expect(byId.get('agora/tiny-llama')!.agora).toMatchObject({ cheapestPrice: CHEAP.gguf.toString(), providers: 2 });
  });

  it('answers chat completions from the cheapest provider, with a receipt it signed, and charges exactly its quote', async () => {
    const before = await owedTo(providers[0]!);
    const messages = [{ role: 'user' as const, content: 'Hello, who are you?' }];
    const plain = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages, max_tokens: 12, temperature: 0 });
    expect(plain.object).toBe('chat.completion');
    expect(plain.choices[0]!.message.role).toBe('assistant');
    expect(plain.choices[0]!.message.content!.length).toBeGreaterThan(0);
    expect(plain.usage!.completion_tokens).toBeGreaterThan(0);
    const { agora } = plain as typeof plain & { agora: { provider: string; price: string; receipt: Parameters<typeof recoverInferenceReceiptSigner>[1] & { cumulativeAmount: string } } };
    expect(agora.provider).toBe(providers[0]!.address);
    expect(agora.price).toBe(CHEAP.gguf.toString());
    const signer = await recoverInferenceReceiptSigner(domain(), { ...agora.receipt, cumulativeAmount: BigInt(agora.receipt.cumulativeAmount) });
    expect(signer).toBe(providers[0]!.address);

    // The same request streamed gives the same greedy text, piece by piece.
    const stream = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages, max_tokens: 12, temperature: 0, stream: true });
    let text = '';
    let pieces = 0;
    let finish: string | null = null;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content;
      if (delta) (text += delta), pieces++;
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(pieces).toBeGreaterThan(1);
    expect(finish).toBe(plain.choices[0]!.finish_reason);

    const completion = await openai.completions.create({ model: 'agora/tiny-llama', prompt: 'Once upon a time', max_tokens: 8, temperature: 0 });
    expect(completion.choices[0]!.text.length).toBeGreaterThan(0);
    expect(await owedTo(providers[0]!)).toBe(before + 3n * CHEAP.gguf);
  });

  it('returns embeddings in both encodings the OpenAI clients use', async () => {
    const input = ['the cat sat', 'on the mat'];
    const decoded = await openai.embeddings.create({ model: 'agora/tiny-llama', input }); // the client asks for base64 and decodes it
    const floats = await openai.embeddings.create({ model: 'agora/tiny-llama', input, encoding_format: 'float' });
    expect(decoded.data).toHaveLength(2);
    expect(decoded.data[0]!.embedding.length).toBeGreaterThan(8);
    for (let i = 0; i < 2; i++) {
      const a = decoded.data[i]!.embedding;
      const b = floats.data[i]!.embedding;
      expect(a.length).toBe(b.length);
      for (let j = 0; j < a.length; j++) expect(a[j]).toBeCloseTo(b[j]!, 5);
    }
    expect(decoded.data[0]!.embedding).not.toEqual(decoded.data[1]!.embedding);
  });

  it('classifies digit images through /v1/infer', async () => {
    const { test } = loadDigitsDataset();
    for (const index of [0, 1, 2]) {
      const image = renderDigitPng(test.images.subarray(index * 784, (index + 1) * 784)).toString('base64');
      const response = await fetch(`${gateway.url}/v1/infer`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${MAIN_KEY}` },
        body: JSON.stringify({ model: 'agora/digits-mlp', input: { image } }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { output: { digit: number }; agora: { price: string } };
      expect(body.output.digit).toBe(test.labels[index]);
      expect(body.agora.price).toBe(CHEAP.digits.toString());
    }
  });

  it('refuses bad input in OpenAI’s error shape and changes nothing', async () => {
    const owedBefore = await owedTo(providers[0]!);
    const channelsBefore = JSON.stringify(gateway.channels(), (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));

    await expect(openai.chat.completions.create({ model: 'no/such-model', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
      type: 'invalid_request_error',
    });
    await expect(openai.chat.completions.create({ model: 'agora/digits-mlp', messages: [{ role: 'user', content: 'hi' }] })).rejects.toMatchObject({
      status: 400,
      code: 'model_not_supported',
    });
    await expect(new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'sk-wrong-key-000000', maxRetries: 0 }).models.list()).rejects.toMatchObject({
      status: 401,
      code: 'invalid_api_key',
    });

    const post = (body: string, key = MAIN_KEY) =>
      fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
    const malformed = await post('{"model": "agora/tiny-llama", "messages": [');
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json', param: null } });
    const missing = await post(JSON.stringify({ model: 'agora/tiny-llama' }));
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: { message: string } }).error.message).toMatch(/messages/);
    const huge = await post(JSON.stringify({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'x'.repeat(5 * 1024 * 1024) }] }));
    expect(huge.status).toBe(413);
    expect(await huge.json()).toMatchObject({ error: { code: 'request_too_large' } });

    // A key with room for two calls makes two and is then refused with 429, before anything is paid.
    const tiny = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: TINY_KEY, maxRetries: 0 });
    const ask = () => tiny.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
    await ask();
    await ask();
    const owedAfterTwo = await owedTo(providers[0]!);
    expect(owedAfterTwo).toBe(owedBefore + 2n * CHEAP.gguf);
    await expect(ask()).rejects.toMatchObject({ status: 429, code: 'insufficient_quota', type: 'insufficient_quota' });
    expect(await owedTo(providers[0]!)).toBe(owedAfterTwo);
    const usage = (await (await fetch(`${gateway.url}/v1/usage`, { headers: { authorization: `Bearer ${TINY_KEY}` } })).json()) as { spent: string };
    expect(usage.spent).toBe((2n * CHEAP.gguf).toString());
    // Only the two paid calls moved any channel.
    const channelsAfter = gateway.channels();
    const signed = (list: { cumulative: bigint }[]) => list.reduce((sum, c) => sum + c.cumulative, 0n);
    expect(signed(channelsAfter) - signed(JSON.parse(channelsBefore).map((c: { cumulative: string }) => ({ cumulative: BigInt(c.cumulative) })))).toBe(2n * CHEAP.gguf);
  });

  it('serves calls in parallel over several channels, and every signed amount is backed on-chain', async () => {
    const calls = Array.from({ length: 6 }, (_, i) =>
      openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: `parallel ${i}` }], max_tokens: 4 }),
    );
    await Promise.all(calls);
    const channels = gateway.channels().filter((c) => !c.retired);
    expect(channels.length).toBeGreaterThan(1);
    for (const c of channels) {
      const onChain = await getChannel(devnet.as('buyer1'), { channelId: c.channelId });
      expect(onChain.deposit).toBe(c.deposit);
      expect(c.cumulative).toBeLessThanOrEqual(onChain.deposit);
    }
  });

  it('a client that leaves mid-stream costs nothing: the provider credits the call and the gateway spends that credit next', async () => {
    const net = () => gateway.channels().reduce((sum, c) => sum + c.cumulative - c.credit, 0n);
    const retiredBefore = gateway.channels().filter((c) => c.retired).length;
    const before = net();
    const controller = new AbortController();
    const stream = await openai.chat.completions.create(
      { model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'a long story' }], max_tokens: 400, stream: true },
      { signal: controller.signal },
    );
    let pieces = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta.content) pieces++;
        if (pieces === 1) controller.abort();
      }
    } catch {
      // the client's own abort
    }
    expect(pieces).toBe(1);
    // The next calls may find the provider's refund not landed yet: the gateway corrects its view from the provider's answer.
    for (const content of ['right after', 'a moment later']) {
      await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content }], max_tokens: 4 });
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'and once more' }], max_tokens: 4 });
    expect(gateway.channels().filter((c) => c.retired).length).toBe(retiredBefore);
    // Paid net of credit: exactly the three calls that were answered.
    expect(net() - before).toBe(3n * CHEAP.gguf);
  });

  it('answers unknown routes 404 and malformed message parts 400, in OpenAI’s shape', async () => {
    const unknown = await fetch(`${gateway.url}/v1/no-such-route`, { headers: { authorization: 'Bearer nope' } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'unknown_route', type: 'invalid_request_error' } });
    const badPart = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${MAIN_KEY}` },
      body: JSON.stringify({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: [null] }] }),
    });
    expect(badPart.status).toBe(400);
    expect(await badPart.json()).toMatchObject({ error: { type: 'invalid_request_error' } });
  });

  it('routes by score: newcomers are explored, and every call is paid to the provider that served it', async () => {
    // A second gateway, routing by score with a seeded random source: both providers are newcomers
    // to it, so its first calls explore them.
    let seed = 7;
    const rng = () => ((seed = (seed * 48_271) % 2_147_483_647) / 2_147_483_647);
    const scored = await startGateway({
      client: devnet.as('buyer2') as Parameters<typeof startGateway>[0]['client'],
      stateDir: join(dir, 'gateway-scored'),
      log: pino({ level: 'silent' }),
      rng,
      config: gatewayConfigSchema.parse({ port: 0, channelDeposit: '100000', apiKeys: [{ name: 'main', key: MAIN_KEY, spendLimit: '1000000000' }] }),
    });
    try {
      const client = new OpenAI({ baseURL: `${scored.url}/v1`, apiKey: MAIN_KEY, maxRetries: 0 });
      const paid = new Map<string, bigint>();
      for (let i = 0; i < 8; i++) {
        const answer = await client.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: `explore ${i}` }], max_tokens: 2 });
        const { provider, price } = (answer as typeof answer & { agora: { provider: string; price: string } }).agora;
        paid.set(provider, (paid.get(provider) ?? 0n) + BigInt(price));
      }
      expect([...paid.keys()].sort()).toEqual([providers[0]!.address, providers[1]!.address].sort());
      expect(paid.get(providers[0]!.address)! % CHEAP.gguf).toBe(0n);
      expect(paid.get(providers[1]!.address)! % DEAR.gguf).toBe(0n);
      // /v1/models shows what it measured of each provider it routed to.
      const listed = (await client.models.list()).data.find((m) => m.id === 'agora/tiny-llama') as unknown as { agora: { scores: { provider: string; calls: number }[] } };
      expect(listed.agora.scores.map((x) => x.provider).sort()).toEqual([providers[0]!.address, providers[1]!.address].sort());
      expect(listed.agora.scores.reduce((sum, x) => sum + x.calls, 0)).toBe(8);
      // What its channels signed, net of credit, is exactly what the answers say was paid.
      const net = scored.channels().reduce((sum, c) => sum + c.cumulative - c.credit, 0n);
      expect(net).toBe([...paid.values()].reduce((a, b) => a + b, 0n));
    } finally {
      await scored.stop();
    }
  });

  it('exposes Prometheus metrics by route and status', async () => {
    const text = await (await fetch(`${gateway.url}/metrics`)).text();
    expect(text).toMatch(/agora_gateway_requests_total\{route="\/v1\/chat\/completions",status="200"\} [1-9]/);
    expect(text).toMatch(/agora_gateway_requests_total\{route="\/v1\/chat\/completions",status="429"\} 1/);
    expect(text).toMatch(/agora_gateway_signed_amount [1-9]/);
  });

  it('picks up its channels where it left off after a restart (no channel refused, none reopened)', async () => {
    const before = gateway.channels();
    await gateway.stop();
    gateway = await startGateway({
      client: devnet.as('buyer1') as Parameters<typeof startGateway>[0]['client'],
      stateDir: join(dir, 'gateway'),
      log: pino({ level: 'silent' }),
      config: gatewayConfigSchema.parse({ port: 0, channelDeposit: '100000', providerTimeoutMs: 1_000, routing: 'cheapest', apiKeys: [{ name: 'main', key: MAIN_KEY, spendLimit: '1000000000' }] }),
    });
    openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: MAIN_KEY, maxRetries: 0 });
    await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'after restart' }], max_tokens: 4 });
    const after = gateway.channels();
    expect(after.map((c) => c.channelId)).toEqual(before.map((c) => c.channelId));
    expect(after.filter((c) => c.retired)).toEqual([]);
    const signed = (list: { cumulative: bigint }[]) => list.reduce((sum, c) => sum + c.cumulative, 0n);
    expect(signed(after) - signed(before)).toBe(CHEAP.gguf);
  });

  it('skips a provider that takes calls but never answers', async () => {
    // The cheapest offer now comes from a staked provider whose endpoint accepts connections and stays silent.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const models = await openai.models.list();
      const llama = models.data.find((m) => m.id === 'agora/tiny-llama') as unknown as { agora: { modelId: Hex } };
      const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
      await makeProvider(devnet, 'provider3', { endpoint, modelIds: [llama.agora.modelId], price: CHEAP.gguf / 2n });
      await new Promise((resolve) => setTimeout(resolve, 5_100)); // the gateway's offer cache
      const answer = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'anyone?' }], max_tokens: 4 });
      expect((answer as typeof answer & { agora: { provider: string } }).agora.provider).toBe(providers[0]!.address);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('moves to the next provider when the cheapest one is gone', async () => {
    await providers[0]!.stop();
    const answer = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 4 });
    expect((answer as typeof answer & { agora: { provider: string } }).agora.provider).toBe(providers[1]!.address);
  });
});
