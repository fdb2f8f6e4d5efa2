import { describe, expect, it } from 'vitest';
import { AgoraError } from '@agora/sdk';
import { buildGatewayApp, GATEWAY_PUBLIC_ROUTES } from './gatewayApp.ts';
import { hashApiKey } from './gatewayStore.ts';

const KEY = 'sk-unit-0123456789abcdef';
const SECRET = 'rpc https://node.example/v3/s3cr3t-api-key at /home/operator/.agora';

/** A gateway whose catalog fails with `failure`: the network is not needed to see how errors are answered. */
async function gatewayFailingWith(failure: unknown) {
  const store = { getApiKey: (hash: string) => (hash === hashApiKey(KEY) ? { name: 'unit', spendLimit: 10n, spent: 0n } : undefined) };
  const catalog = {
    resolve: async () => {
      throw failure;
    },
  };
  return buildGatewayApp({ catalog: catalog as never, caller: {} as never, store: store as never });
}

describe('gateway app', () => {
  it('answers a failure of its own with a generic 500 and never the failure’s text', async () => {
    for (const failure of [new Error(SECRET), new TypeError(`Cannot read properties of undefined (${SECRET})`), new AgoraError('StoreCorrupted', SECRET), 'a thrown string']) {
      const app = await gatewayFailingWith(failure);
      const answer = await app.inject({ method: 'POST', url: '/v1/infer', headers: { authorization: `Bearer ${KEY}` }, payload: { model: 'any', input: {} } });
      expect(answer.statusCode).toBe(500);
      expect(answer.json()).toMatchInlineSnapshot(`
        {
          "error": {
            "code": "internal_error",
            "message": "The gateway failed to handle the request; the detail is in its log.",
            "param": null,
            "type": "server_error",
          },
        }
      `);
      await app.close();
    }
  });

  it('needs a key on any route not listed public, including routes added after it was built', async () => {
    const app = await gatewayFailingWith(new Error('unused'));
    app.get('/added-later', async () => ({ served: true }));
    app.get('/metrics', async () => 'metrics');
    expect((await app.inject({ method: 'GET', url: '/added-later' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/added-later', headers: { authorization: `Bearer ${KEY}` } })).json()).toEqual({ served: true });
    expect((await app.inject({ method: 'GET', url: '/metrics' })).statusCode).toBe(200);
    expect([...GATEWAY_PUBLIC_ROUTES].sort()).toEqual(['/audits/:receiptsRoot/evidence', '/health', '/metrics', '/scores']);
    await app.close();
  });

  it('lists as public only routes it really serves, so renaming a route cannot quietly make it private', async () => {
    const app = await gatewayFailingWith(new Error('unused'));
    app.get('/metrics', async () => 'metrics'); // registered by startGateway
    await app.ready();
    for (const route of GATEWAY_PUBLIC_ROUTES) expect(app.hasRoute({ method: 'GET', url: route }), route).toBe(true);
    // The evidence route answers a verifier without an API key (its own signature check decides).
    const evidence = await app.inject({ method: 'GET', url: `/audits/0x${'ab'.repeat(32)}/evidence` });
    expect(evidence.statusCode).not.toBe(401);
    await app.close();
  });

  it('refuses a body nested past 64 levels before anything reads it, and accepts 64', async () => {
    const app = await gatewayFailingWith(new AgoraError('UnknownModel', 'no such model'));
    const nested = (depth: number) => `${'['.repeat(depth)}0${']'.repeat(depth)}`;
    const post = (input: string) =>
      app.inject({ method: 'POST', url: '/v1/infer', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' }, payload: `{"model":"m","input":${input}}` });
    // The body object is level 1, so an input of 63 levels makes 64.
    expect((await post(nested(63))).json()).toMatchObject({ error: { code: 'model_not_found' } });
    const deep = await post(nested(64));
    expect(deep.statusCode).toBe(400);
    expect(deep.json()).toMatchInlineSnapshot(`
      {
        "error": {
          "code": "json_too_deep",
          "message": "The body nests objects and arrays more than 64 levels deep; this gateway accepts 64 at most.",
          "param": null,
          "type": "invalid_request_error",
        },
      }
    `);
    await app.close();
  });
});
