// The gateway and provider HTTP layers against an attacker with a raw socket: every route, every
// request-target form (absolute URLs, queries, odd slashes, percent-encoding, HEAD, OPTIONS) must
// be authenticated by the route fastify matched, never by how the URL was spelled; inputs that
// once crashed a handler (JSON nested thousands deep, a voucher header of `null`) are clear 400s
// that change nothing. fetch and inject normalise the request target, so requests go out through
// node:net as the bytes an attacker would write.
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import type { Hex } from 'viem';
import { hashCanonicalJson, openChannel, signVoucher } from '@agora/sdk';
import {
  ADMIN_TOKEN_FILE,
  PAYMENT_HEADER,
  buildDigitsModel,
  encodePaymentHeader,
  gatewayConfigSchema,
  getDevAccount,
  loadDigitsDataset,
  renderDigitPng,
  startGateway,
  startNode,
  type AgoraGateway,
  type AgoraNode,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { providerNodeConfig } from '../support/nodes.ts';

const PRICE = 1_000n;
const KEY = 'sk-test-hardening-0123456789abcdef';

let devnet: TestDevnet;
let dir: string;
let provider: AgoraNode;
let gateway: AgoraGateway;
let adminToken: string;
let image: string;
let modelId: Hex;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-hardening-'));
  devnet = await startTestDevnet({ stateDir: dir });
  const digits = (await buildDigitsModel(join(dir, 'digits.onnx'), { log: () => {} })).path;
  const config = providerNodeConfig(devnet, {
    stateDir: join(dir, 'provider1'),
    provider: { redeemThreshold: '1000000000', models: [{ kind: 'digits', path: digits, name: 'agora/digits-mlp', price: PRICE.toString() }] },
  });
  provider = await startNode(config, { privateKey: getDevAccount('provider1').privateKey });
  modelId = provider.models[0]!.descriptor.modelId;
  adminToken = readFileSync(join(dir, 'provider1', ADMIN_TOKEN_FILE), 'utf8').trim();
  gateway = await startGateway({
    client: devnet.as('buyer1') as Parameters<typeof startGateway>[0]['client'],
    stateDir: join(dir, 'gateway'),
    log: pino({ level: 'silent' }),
    config: gatewayConfigSchema.parse({
      port: 0,
      channelDeposit: '100000',
      providerTimeoutMs: 5_000,
      probeIntervalMs: 0,
      scoreEpochSeconds: 0,
      routing: 'cheapest',
      audits: { enabled: false },
      apiKeys: [{ name: 'main', key: KEY, spendLimit: '1000000000' }],
    }),
  });
  const { test } = loadDigitsDataset();
  image = renderDigitPng(test.images.subarray(0, 784)).toString('base64');
}, 120_000);

afterAll(async () => {
  await gateway?.stop();
  await provider?.stop();
  await devnet?.stop();
});

type RawResponse = { status: number; headers: Record<string, string>; body: string };

/**
 * Sends one HTTP/1.1 request exactly as written (request target included) over a fresh TCP
 * connection and reads the whole answer; `Connection: close` makes the end of the answer the end
 * of the stream.
 */
function rawRequest(baseUrl: string, request: { method: string; target: string; headers?: Record<string, string>; body?: string }): Promise<RawResponse> {
  const { hostname, port } = new URL(baseUrl);
  const body = request.body === undefined ? undefined : Buffer.from(request.body);
  const lines = [`${request.method} ${request.target} HTTP/1.1`, `Host: ${hostname}:${port}`, 'Connection: close'];
  for (const [name, value] of Object.entries(request.headers ?? {})) lines.push(`${name}: ${value}`);
  if (body) lines.push('Content-Type: application/json', `Content-Length: ${body.length}`);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect(Number(port), hostname, () => {
      socket.write(`${lines.join('\r\n')}\r\n\r\n`);
      if (body) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('end', () => {
      const raw = Buffer.concat(chunks);
      const split = raw.indexOf('\r\n\r\n');
      if (split < 0) return reject(new Error(`No HTTP answer to ${request.method} ${request.target}: ${raw.toString('latin1')}`));
      const [statusLine, ...headerLines] = raw.subarray(0, split).toString('latin1').split('\r\n');
      const headers = Object.fromEntries(headerLines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      let rest = raw.subarray(split + 4);
      if (headers['transfer-encoding'] === 'chunked') {
        const parts: Buffer[] = [];
        for (;;) {
          const eol = rest.indexOf('\r\n');
          const size = Number.parseInt(rest.subarray(0, eol).toString('latin1'), 16);
          if (!size) break;
          parts.push(rest.subarray(eol + 2, eol + 2 + size));
          rest = rest.subarray(eol + 2 + size + 2);
        }
        rest = Buffer.concat(parts);
      }
      resolve({ status: Number(statusLine!.split(' ')[1]), headers, body: rest.toString('utf8') });
    });
  });
}

/** Every way of writing the request target for `path` that an HTTP/1.1 server may receive. */
function targetForms(baseUrl: string, path: string): { form: string; target: string }[] {
  const { host } = new URL(baseUrl);
  const afterSlash = path.slice(1);
  const encodedFirst = `/%${afterSlash.charCodeAt(0).toString(16)}${afterSlash.slice(1)}`;
  const lastSlash = path.lastIndexOf('/');
  const encodedLast = `${path.slice(0, lastSlash + 1)}%${path.charCodeAt(lastSlash + 1).toString(16).toUpperCase()}${path.slice(lastSlash + 2)}`;
  return [
    { form: 'origin', target: path },
    { form: 'origin with query', target: `${path}?a=1&b=%2F` },
    { form: 'origin with empty query', target: `${path}?` },
    { form: 'absolute, other host', target: `http://x${path}` },
    { form: 'absolute, own host', target: `http://${host}${path}` },
    { form: 'absolute https', target: `https://x${path}` },
    { form: 'absolute with query', target: `http://x${path}?a=1` },
    { form: 'absolute with double slash', target: `http://x/${path}` },
    { form: 'leading double slash', target: `/${path}` },
    { form: 'inner double slash', target: `${path.slice(0, lastSlash)}/${path.slice(lastSlash)}` },
    { form: 'trailing slash', target: `${path}/` },
    { form: 'percent-encoded first letter', target: encodedFirst },
    { form: 'percent-encoded last segment', target: encodedLast },
    { form: 'dot segment', target: `/x/..${path}` },
    { form: 'upper case', target: path.toUpperCase() },
    { form: 'absolute with userinfo', target: `http://user:pass@x${path}` },
    { form: 'fragment', target: `${path}#frag` },
  ];
}

/** Forms every server must route like the plain path: an attack test that only ever saw 404s would prove nothing. */
const MATCHING_FORMS = ['origin', 'origin with query', 'absolute, other host', 'absolute, own host', 'absolute with query'];
const routeKey = (r: { method: string; url: string }) => `${r.method} ${r.url}`;

/** The total the gateway has signed over to providers: any free call would move it. */
const signedByGateway = () => gateway.channels().reduce((sum, c) => sum + c.cumulative, 0n);
const spentByKey = async () =>
  (JSON.parse((await rawRequest(gateway.url, { method: 'GET', target: '/v1/usage', headers: { authorization: `Bearer ${KEY}` } })).body) as { spent: string }).spent;

describe('gateway authentication by matched route (finding 11)', () => {
  /** How to call each gateway route; the test fails when the gateway serves a route missing here. */
  const gatewayRoutes = (): Record<string, { path: string; body?: string }> => {
    const infer = JSON.stringify({ model: 'agora/digits-mlp', input: { image } });
    const chat = JSON.stringify({ model: 'agora/digits-mlp', messages: [{ role: 'user', content: 'hi' }] });
    const completion = JSON.stringify({ model: 'agora/digits-mlp', prompt: 'hi' });
    const embedding = JSON.stringify({ model: 'agora/digits-mlp', input: 'hi' });
    const get = (path: string) => ({ [`GET ${path}`]: { path }, [`HEAD ${path}`]: { path } });
    return {
      ...get('/health'),
      ...get('/scores'),
      ...get('/metrics'),
      ...get('/v1/models'),
      ...get('/v1/usage'),
      [`GET /audits/:receiptsRoot/evidence`]: { path: `/audits/0x${'ab'.repeat(32)}/evidence` },
      [`HEAD /audits/:receiptsRoot/evidence`]: { path: `/audits/0x${'ab'.repeat(32)}/evidence` },
      'POST /v1/infer': { path: '/v1/infer', body: infer },
      'POST /v1/chat/completions': { path: '/v1/chat/completions', body: chat },
      'POST /v1/completions': { path: '/v1/completions', body: completion },
      'POST /v1/embeddings': { path: '/v1/embeddings', body: embedding },
    };
  };
  const PUBLIC = new Set(['/health', '/scores', '/metrics', '/audits/:receiptsRoot/evidence']);

  it('covers every route the running gateway serves', () => {
    expect(gateway.routes.map(routeKey).sort()).toEqual(Object.keys(gatewayRoutes()).sort());
  });

  it('needs a key on every private route whatever the request target looks like, and pays nothing without one', async () => {
    const signedBefore = signedByGateway();
    const spentBefore = await spentByKey();
    const probes = Object.entries(gatewayRoutes()).flatMap(([key, call]) => {
      const [method, template] = key.split(' ') as [string, string];
      return [...targetForms(gateway.url, call.path).map(({ form, target }) => ({ method, template, form, target, body: call.body })), { method: 'OPTIONS', template, form: 'OPTIONS', target: call.path, body: undefined }];
    });
    // Without a key (none, or a wrong one) first: nothing may be paid.
    const refused: { probe: (typeof probes)[number]; none: RawResponse; wrong: RawResponse }[] = [];
    for (const probe of probes) {
      const none = await rawRequest(gateway.url, { method: probe.method, target: probe.target, body: probe.body });
      const wrong = await rawRequest(gateway.url, { method: probe.method, target: probe.target, body: probe.body, headers: { authorization: 'Bearer sk-not-a-key-000000' } });
      refused.push({ probe, none, wrong });
    }
    expect(signedByGateway()).toBe(signedBefore);
    expect(await spentByKey()).toBe(spentBefore);

    let keyChecked = 0;
    for (const { probe, none, wrong } of refused) {
      const what = `${probe.method} ${probe.target} (${probe.form})`;
      const withKey = await rawRequest(gateway.url, { method: probe.method, target: probe.target, body: probe.body, headers: { authorization: `Bearer ${KEY}` } });
      for (const answer of [none, wrong, withKey]) {
        expect(answer.status, what).toBeLessThan(500);
        if (probe.method !== 'HEAD') expect(answer.body, what).not.toMatch(INTERNAL_TEXT);
      }
      if (PUBLIC.has(probe.template)) {
        // A public route answers the same with or without a key.
        expect([none.status, wrong.status], what).toEqual([withKey.status, withKey.status]);
        continue;
      }
      if (withKey.status === 404) {
        // Not routed at all (an odd spelling or method): nothing was served, with or without a key.
        expect([none.status, wrong.status], what).toEqual([404, 404]);
        expect(MATCHING_FORMS.includes(probe.form) && probe.method !== 'OPTIONS', `${what} should reach its route`).toBe(false);
        continue;
      }
      expect([none.status, wrong.status], what).toEqual([401, 401]);
      if (probe.method !== 'HEAD') {
        for (const answer of [none, wrong]) expect(JSON.parse(answer.body), what).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
      }
      keyChecked++;
    }
    // Every private route was reached (and locked) through each of the forms that must route.
    const privateRoutes = Object.keys(gatewayRoutes()).filter((key) => !PUBLIC.has(key.split(' ')[1]!)).length;
    expect(keyChecked).toBeGreaterThanOrEqual(privateRoutes * MATCHING_FORMS.length);
  });

  it('refuses an absolute-form request line without a key, and pays nothing', async () => {
    const signedBefore = signedByGateway();
    const spentBefore = await spentByKey();
    const body = JSON.stringify({ model: 'agora/digits-mlp', input: { image } });
    // The finding's request line, then other spellings that reach the same route: a check of the raw URL misses them all.
    for (const target of ['http://x/v1/infer', `http://${new URL(gateway.url).host}/v1/infer`, 'http://x/v1/infer?free=1', 'http://user:pass@x/v1/infer', '/%761/infer']) {
      const answer = await rawRequest(gateway.url, { method: 'POST', target, body });
      expect(answer.status, target).toBe(401);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'invalid_api_key', type: 'invalid_request_error' } });
    }
    expect(signedByGateway()).toBe(signedBefore);
    expect(await spentByKey()).toBe(spentBefore);
  });
});

/** A JSON value nested `depth` levels deep (arrays, the cheapest nesting: 2 bytes a level). */
const nested = (depth: number, leaf = '0') => `${'['.repeat(depth)}${leaf}${']'.repeat(depth)}`;
/** An error body must never carry a stack trace or a JavaScript runtime error's text. */
const INTERNAL_TEXT = /Maximum call stack|TypeError|RangeError|Cannot read|undefined|null \(reading|\.ts:\d+|at [\w.]+ \(/;

describe('inputs that crashed a handler are clear 400s (finding 12)', () => {
  it('gateway: JSON nested 10,000 deep is refused before hashing, in OpenAI’s shape, and costs nothing', async () => {
    const signedBefore = signedByGateway();
    const spentBefore = await spentByKey();
    for (const [target, body] of [
      ['/v1/infer', `{"model":"agora/digits-mlp","input":${nested(10_000)}}`],
      ['/v1/infer', `{"model":"agora/digits-mlp","input":{"image":"x"},"params":{"a":${nested(10_000)}}}`],
      ['/v1/chat/completions', `{"model":"agora/digits-mlp","messages":[{"role":"user","content":"hi"}],"extra":${nested(10_000)}}`],
      ['/v1/completions', `{"model":"agora/digits-mlp","prompt":${nested(10_000, '"hi"')}}`],
      ['/v1/embeddings', `{"model":"agora/digits-mlp","input":${nested(10_000, '"hi"')}}`],
    ] as const) {
      const answer = await rawRequest(gateway.url, { method: 'POST', target, headers: { authorization: `Bearer ${KEY}` }, body });
      expect(answer.status, target).toBe(400);
      expect(answer.body).not.toMatch(INTERNAL_TEXT);
      expect(JSON.parse(answer.body)).toMatchObject({ error: { type: 'invalid_request_error', code: 'json_too_deep', param: null } });
    }
    expect(signedByGateway()).toBe(signedBefore);
    expect(await spentByKey()).toBe(spentBefore);
  });

  it('provider: JSON nested 10,000 deep on an unpaid call is a 400, not a crash', async () => {
    const answer = await rawRequest(provider.url, { method: 'POST', target: `/v1/infer/${modelId}`, body: `{"input":${nested(10_000)}}` });
    expect(answer.status).toBe(400);
    expect(answer.body).not.toMatch(INTERNAL_TEXT);
    expect(JSON.parse(answer.body)).toMatchObject({ error: { code: 'JsonTooDeep' } });
  });

  it('provider: a malformed voucher header is a 400 that stores nothing, whatever its shape', async () => {
    const buyer = getDevAccount('buyer2').account;
    const { channelId } = await openChannel(devnet.as('buyer2'), { provider: provider.address, modelId, deposit: 100n * PRICE });
    const input = { image };
    const requestHash = hashCanonicalJson({ modelId, input, params: {} });
    const good = JSON.parse(encodePaymentHeader(await signVoucher(buyer, { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels }, { channelId, cumulativeAmount: PRICE, requestHash }))) as Record<string, string>;
    const owedBefore = await owedByProvider();
    const malformed = [
      'null',
      'true',
      '1',
      '"a voucher"',
      '[]',
      '{}',
      '{',
      nested(3_000),
      JSON.stringify({ ...good, channelId: null }),
      JSON.stringify({ ...good, channelId: 42 }),
      JSON.stringify({ ...good, channelId: good.channelId!.slice(0, 40) }),
      JSON.stringify({ ...good, cumulativeAmount: 1000 }),
      JSON.stringify({ ...good, cumulativeAmount: '-1000' }),
      JSON.stringify({ ...good, cumulativeAmount: '1e3' }),
      JSON.stringify({ ...good, cumulativeAmount: '0x3e8' }),
      JSON.stringify({ ...good, cumulativeAmount: '9'.repeat(80) }),
      JSON.stringify({ ...good, requestHash: ['0x00'] }),
      JSON.stringify({ ...good, signature: 'zz' }),
      JSON.stringify({ ...good, signature: { r: '0x01' } }),
      JSON.stringify({ channelId: good.channelId }),
      `{"__proto__":${JSON.stringify(good)}}`,
    ];
    for (const header of malformed) {
      const answer = await rawRequest(provider.url, { method: 'POST', target: `/v1/infer/${modelId}`, headers: { [PAYMENT_HEADER]: header }, body: JSON.stringify({ input }) });
      expect(answer.status, header.slice(0, 80)).toBe(400);
      expect(answer.body, header.slice(0, 80)).not.toMatch(INTERNAL_TEXT);
      expect(JSON.parse(answer.body), header.slice(0, 80)).toMatchObject({ error: { code: 'MalformedVoucher' } });
    }
    // Nothing was stored or owed: the channel is unknown to the provider's books.
    expect(await owedByProvider()).toEqual(owedBefore);
    // The well-formed voucher is still good afterwards: the refusals spent nothing.
    const paid = await rawRequest(provider.url, { method: 'POST', target: `/v1/infer/${modelId}`, headers: { [PAYMENT_HEADER]: JSON.stringify(good) }, body: JSON.stringify({ input }) });
    expect(paid.status).toBe(200);
  });

  it('fuzz: malformed bodies are 4xx on every JSON route of both apps, never a 500', async () => {
    const bodies = ['', 'null', 'true', '[]', '"x"', '{', '{"input":', '{"__proto__":{"input":1}}', '{"constructor":{"prototype":{"x":1}}}', nested(50_000), `{"input":${nested(1_000_000)}}`, '\u0000', '{"input":"\ud800"}'];
    const routes = [
      { url: gateway.url, target: '/v1/infer', headers: { authorization: `Bearer ${KEY}` } },
      { url: gateway.url, target: '/v1/chat/completions', headers: { authorization: `Bearer ${KEY}` } },
      { url: gateway.url, target: '/v1/completions', headers: { authorization: `Bearer ${KEY}` } },
      { url: gateway.url, target: '/v1/embeddings', headers: { authorization: `Bearer ${KEY}` } },
      { url: provider.url, target: `/v1/infer/${modelId}`, headers: {} as Record<string, string> },
    ];
    const signedBefore = signedByGateway();
    for (const route of routes) {
      for (const body of bodies) {
        const answer = await rawRequest(route.url, { method: 'POST', target: route.target, headers: route.headers, body });
        const what = `${route.target} ${body.slice(0, 40)}`;
        expect(answer.status, what).toBeGreaterThanOrEqual(400);
        expect(answer.status, what).toBeLessThan(500);
        expect(answer.body, what).not.toMatch(INTERNAL_TEXT);
      }
    }
    expect(signedByGateway()).toBe(signedBefore);
  });
});

describe('provider routes whatever the request target looks like (finding 11)', () => {
  /** How to call each provider route; the test fails when the node serves a route missing here. */
  const providerRoutes = (): Record<string, { path: string; body?: string }> => {
    const get = (template: string, path = template) => ({ [`GET ${template}`]: { path }, [`HEAD ${template}`]: { path } });
    return {
      ...get('/health'),
      ...get('/metrics'),
      ...get('/v1/models'),
      ...get('/admin/status'),
      ...get('/v1/payloads/:hash', `/v1/payloads/0x${'cd'.repeat(32)}`),
      'POST /admin/redeem': { path: '/admin/redeem' },
      'POST /v1/infer/:modelId': { path: `/v1/infer/${modelId}`, body: JSON.stringify({ input: { image } }) },
    };
  };

  it('covers every route the running provider serves', () => {
    expect(provider.routes.map(routeKey).sort()).toEqual(Object.keys(providerRoutes()).sort());
  });

  it('serves admin routes only with the admin token and calls only when paid, for every target form', async () => {
    const owedBefore = await owedByProvider();
    const probes = Object.entries(providerRoutes()).flatMap(([key, call]) => {
      const [method, template] = key.split(' ') as [string, string];
      return [...targetForms(provider.url, call.path), { form: 'OPTIONS', target: call.path }].map(({ form, target }) => ({
        verb: form === 'OPTIONS' ? 'OPTIONS' : method,
        template,
        form,
        target,
        body: call.body,
      }));
    });
    // Without credentials first: nothing may be served for free, nothing may be redeemed.
    const bare = [];
    for (const probe of probes) bare.push(await rawRequest(provider.url, { method: probe.verb, target: probe.target, body: probe.body }));
    expect(await owedByProvider()).toEqual(owedBefore);

    let locked = 0;
    for (const [i, probe] of probes.entries()) {
      const what = `${probe.verb} ${probe.target} (${probe.form})`;
      const answer = bare[i]!;
      expect(answer.status, what).toBeLessThan(500);
      if (probe.verb !== 'HEAD') expect(answer.body, what).not.toMatch(INTERNAL_TEXT);
      const mustRoute = MATCHING_FORMS.includes(probe.form);
      if (probe.template.startsWith('/admin/')) {
        const admin = await rawRequest(provider.url, { method: probe.verb, target: probe.target, body: probe.body, headers: { authorization: `Bearer ${adminToken}` } });
        expect(admin.status, what).toBeLessThan(500);
        expect(answer.status, what).toBe(admin.status === 404 ? 404 : 401);
        if (mustRoute) expect(answer.status, what).toBe(401);
        if (answer.status === 401) locked++;
      } else if (probe.template === '/v1/infer/:modelId') {
        // Unpaid: a quote (402), never an answer.
        expect([402, 404], what).toContain(answer.status);
        if (mustRoute) expect(answer.status, what).toBe(402);
        if (answer.status === 402) locked++;
      }
    }
    expect(locked).toBeGreaterThanOrEqual(4 * MATCHING_FORMS.length);
  });
});

/** What the provider's books say it is owed, per channel (its admin status). */
async function owedByProvider() {
  const answer = await rawRequest(provider.url, { method: 'GET', target: '/admin/status', headers: { authorization: `Bearer ${adminToken}` } });
  return (JSON.parse(answer.body) as { channels: unknown[] }).channels;
}
