// A provider sells each kind of model the devnet serves, through the same paid fast path: the
// digit classifier the project trains (ONNX) and a GGUF language model (llama.cpp).
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import { hashCanonicalJson, openChannel, registerModel, signVoucher } from '@agora/sdk';
import {
  PAYMENT_HEADER,
  buildDigitsModel,
  buildProviderApp,
  createDigitsServedModel,
  createLlamaServedModel,
  encodePaymentHeader,
  getDevAccount,
  loadDigitsDataset,
  openVoucherStore,
  renderDigitPng,
  writeTinyLlamaGguf,
  type ServedModel,
  type VoucherStore,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { makeProvider } from '../support/market.ts';

const PRICE = 1_500n;
let devnet: TestDevnet;
let app: FastifyInstance;
let store: VoucherStore;
let digits: ServedModel & { close(): Promise<void> };
let llama: ServedModel & { close(): Promise<void> };
const channels = new Map<Hex, { channelId: Hex; paid: bigint }>();
const buyer = getDevAccount('buyer2').account;

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-models-'));
  devnet = await startTestDevnet();
  const built = await buildDigitsModel(join(dir, 'digits.onnx'), { log: () => {} });
  digits = await createDigitsServedModel({ path: built.path, pricePerCall: PRICE });
  llama = await createLlamaServedModel({ path: await writeTinyLlamaGguf(join(dir, 'tiny.gguf')), pricePerCall: PRICE });
  for (const model of [digits, llama]) await registerModel(devnet.as('deployer'), model.descriptor);
  const providerClient = await makeProvider(devnet, 'provider2', { modelIds: [digits.descriptor.modelId, llama.descriptor.modelId], price: PRICE });
  for (const model of [digits, llama]) {
    const { channelId } = await openChannel(devnet.as('buyer2'), {
      provider: getDevAccount('provider2').account.address,
      modelId: model.descriptor.modelId,
      deposit: 50n * PRICE,
    });
    channels.set(model.descriptor.modelId, { channelId, paid: 0n });
  }
  store = openVoucherStore({ path: join(dir, 'node.db') });
  app = await buildProviderApp({ client: providerClient as never, store, models: [digits, llama] });
});
afterAll(async () => {
  await app?.close();
  store?.close();
  await digits?.close();
  await llama?.close();
  await devnet?.stop();
});

/** A paid call: signs the next voucher of the model's channel for exactly this request. */
async function paidCall(model: ServedModel, input: unknown, params: Record<string, unknown> = {}) {
  const modelId = model.descriptor.modelId;
  const channel = channels.get(modelId)!;
  const voucher = await signVoucher(
    buyer,
    { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels },
    { channelId: channel.channelId, cumulativeAmount: channel.paid + PRICE, requestHash: hashCanonicalJson({ modelId, input, params }) },
  );
  const response = await app.inject({
    method: 'POST',
    url: `/v1/infer/${modelId}`,
    payload: { input, params },
    headers: { [PAYMENT_HEADER]: encodePaymentHeader(voucher) },
  });
  if (response.statusCode === 200) channel.paid += PRICE;
  return response;
}

describe('models a provider sells', () => {
  it('classifies held-out handwritten digits sent as PNG images', async () => {
    const { test } = loadDigitsDataset({ testCount: 200 });
    let correct = 0;
    const n = 10;
    for (let i = 0; i < n; i++) {
      const png = renderDigitPng(test.images.subarray(i * 784, (i + 1) * 784), { scale: 4 });
      const response = await paidCall(digits, { image: png.toString('base64') });
      expect(response.statusCode).toBe(200);
      const { digit, probabilities } = response.json().output as { digit: number; probabilities: number[] };
      expect(probabilities).toHaveLength(10);
      if (digit === test.labels[i]) correct++;
    }
    expect(correct).toBeGreaterThanOrEqual(8); // the model scores ~93% on held-out images
  });

  it('answers a chat with the GGUF model, deterministically at temperature 0', async () => {
    const input = { messages: [{ role: 'user', content: 'Tell me about the network.' }] };
    const first = await paidCall(llama, input, { max_tokens: 16, temperature: 0 });
    const second = await paidCall(llama, input, { max_tokens: 16, temperature: 0 });
    expect(first.statusCode).toBe(200);
    const output = first.json().output as { text: string; usage: { completionTokens: number } };
    expect(output.text.length).toBeGreaterThan(0);
    expect(output.usage.completionTokens).toBeGreaterThan(0);
    expect(output.usage.completionTokens).toBeLessThanOrEqual(16);
    expect(second.json().output).toEqual(output);
  });

  it('refuses input a model cannot take without charging for it', async () => {
    const before = store.get(channels.get(llama.descriptor.modelId)!.channelId)?.cumulativeAmount;
    const bad = await paidCall(llama, { messages: [{ role: 'robot', content: 'hi' }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'InvalidInput', charged: false });
    expect(store.get(channels.get(llama.descriptor.modelId)!.channelId)?.cumulativeAmount).toBe(before);
    const badDigit = await paidCall(digits, { pixels: [1, 2, 3] });
    expect([badDigit.statusCode, badDigit.json().error.charged]).toEqual([400, false]);
  });
});
