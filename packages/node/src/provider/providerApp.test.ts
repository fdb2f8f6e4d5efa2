import { describe, expect, it } from 'vitest';
import { privateKeyToAccount } from 'viem/accounts';
import { keccak256, toHex } from 'viem';
import { AgoraError } from '@agora/sdk';
import { buildProviderApp } from './providerApp.ts';
import { PAYMENT_HEADER } from './paymentHeader.ts';

const SECRET = 'database /home/operator/.agora/node.db is locked (key s3cr3t)';
const modelId = keccak256(toHex('unit model'));

/** A provider app with no chain behind it: every check here happens before a chain is read. */
async function app() {
  const client = {
    account: privateKeyToAccount(keccak256(toHex('provider key'))),
    deployment: { chainId: 31337, contracts: { paymentChannels: `0x${'11'.repeat(20)}`, token: `0x${'22'.repeat(20)}` } },
  };
  const model = { descriptor: { modelId, name: 'unit/model', format: 'onnx', runtime: 'onnxruntime' }, pricePerCall: 1_000n, run: async () => ({}) };
  return buildProviderApp({ client: client as never, store: {} as never, models: [model as never] });
}

describe('provider app', () => {
  it('answers a failure of its own with a generic 500, on any route, and never the failure’s text', async () => {
    const provider = await app();
    provider.get('/boom', async () => {
      throw new Error(SECRET);
    });
    provider.get('/boom-agora', async () => {
      throw new AgoraError('StoreLocked', SECRET);
    });
    for (const url of ['/boom', '/boom-agora']) {
      const answer = await provider.inject({ method: 'GET', url });
      expect(answer.statusCode).toBe(500);
      expect(answer.json()).toMatchInlineSnapshot(`
        {
          "error": {
            "code": "InternalError",
            "message": "The provider failed to handle the request; the detail is in its log.",
          },
        }
      `);
    }
    await provider.close();
  });

  it('refuses a malformed voucher header with 400 MalformedVoucher naming the field', async () => {
    const provider = await app();
    const call = (header: string) => provider.inject({ method: 'POST', url: `/v1/infer/${modelId}`, headers: { [PAYMENT_HEADER]: header }, payload: { input: 1 } });
    const answers = [];
    for (const header of ['null', '[1]', '{"channelId":7}', `{"channelId":"0x${'ab'.repeat(32)}","cumulativeAmount":"1e3"}`]) {
      const answer = await call(header);
      expect(answer.statusCode).toBe(400);
      answers.push(answer.json().error.message);
    }
    expect(answers).toMatchInlineSnapshot(`
      [
        "The x-agora-voucher header is not a JSON object.",
        "The x-agora-voucher header is not a JSON object.",
        "The voucher's channelId is a number, not a string.",
        "The voucher's cumulativeAmount is not a decimal string.",
      ]
    `);
    await provider.close();
  });

  it('refuses a body nested past 64 levels, even unpaid, before hashing it for the quote', async () => {
    const provider = await app();
    const post = (depth: number) =>
      provider.inject({ method: 'POST', url: `/v1/infer/${modelId}`, headers: { 'content-type': 'application/json' }, payload: `{"input":${'['.repeat(depth)}0${']'.repeat(depth)}}` });
    expect((await post(63)).statusCode).toBe(402);
    const deep = await post(64);
    expect([deep.statusCode, deep.json().error.code]).toEqual([400, 'JsonTooDeep']);
    expect((await post(100_000)).statusCode).toBe(400);
    await provider.close();
  });
});
