// A provider sells each kind of model the devnet serves, through the same paid fast path: the
// digit classifier the project trains (ONNX) and a GGUF language model (llama.cpp: chat, streamed
// chat, embeddings), called through the provider client over a real socket.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import { hashCanonicalJson, openChannel, recoverInferenceReceiptSigner, registerModel, signVoucher } from '@agora/sdk';
import {
  PAYMENT_HEADER,
  buildDigitsModel,
  ProviderCallError,
  buildProviderApp,
  callProvider,
  createDigitsServedModel,
  getProviderQuote,
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
let url: string;
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
  url = await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app?.close();
  store?.close();
  await digits?.close();
  await llama?.close();
  await devnet?.stop();
});

const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });

/** A voucher on the model's channel for exactly this request, owing `cumulativeAmount` (default: one more call). */
function voucherFor(model: ServedModel, input: unknown, params: Record<string, unknown> = {}, cumulativeAmount?: bigint) {
  const modelId = model.descriptor.modelId;
  const channel = channels.get(modelId)!;
  return signVoucher(buyer, domain(), {
    channelId: channel.channelId,
    cumulativeAmount: cumulativeAmount ?? channel.paid + PRICE,
    requestHash: hashCanonicalJson({ modelId, input, params }),
  });
}

/** A paid call: signs the next voucher of the model's channel for exactly this request. */
async function paidCall(model: ServedModel, input: unknown, params: Record<string, unknown> = {}) {
  const modelId = model.descriptor.modelId;
  const channel = channels.get(modelId)!;
  const voucher = await voucherFor(model, input, params);
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

  it('refuses input a model cannot take without charging for it: the payment becomes channel credit', async () => {
    const { channelId } = channels.get(llama.descriptor.modelId)!;
    const before = store.getCredit(channelId);
    const bad = await paidCall(llama, { messages: [{ role: 'robot', content: 'hi' }] });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatchObject({ code: 'InvalidInput', charged: false, credit: (before + PRICE).toString() });
    expect(store.getCredit(channelId)).toBe(before + PRICE);
    const badDigit = await paidCall(digits, { pixels: [1, 2, 3] });
    expect([badDigit.statusCode, badDigit.json().error.charged]).toEqual([400, false]);
  });

  it('streams a chat token by token: the pieces make up the text, the result is the plain answer with a valid receipt', async () => {
    const input = { messages: [{ role: 'user', content: 'Stream me a story about the network.' }] };
    const params = { max_tokens: 24, temperature: 0 };
    const plain = await paidCall(llama, input, params);
    expect(plain.statusCode).toBe(200);

    const channel = channels.get(llama.descriptor.modelId)!;
    const pieces: string[] = [];
    const streamed = await callProvider({
      url,
      modelId: llama.descriptor.modelId,
      input,
      params,
      stream: true,
      voucher: await voucherFor(llama, input, params),
      onToken: (text) => pieces.push(text),
    });
    channel.paid += PRICE;
    const output = streamed.output as { text: string; usage: { completionTokens: number } };
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.join('')).toBe(output.text);
    expect(output).toEqual(plain.json().output); // same call, same answer, streamed or not
    expect(streamed.receipt.cumulativeAmount).toBe(channel.paid);
    expect(await recoverInferenceReceiptSigner(domain(), streamed.receipt)).toBe(getDevAccount('provider2').account.address);
    expect(streamed.receipt.outputHash).toBe(hashCanonicalJson(output));
  });

  it('answers payment problems of a streamed call as plain JSON errors before any stream starts', async () => {
    const input = { prompt: 'Once upon a time' };
    const raw = await fetch(`${url}/v1/infer/${llama.descriptor.modelId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ input, stream: true }),
    });
    expect([raw.status, raw.headers.get('content-type')]).toEqual([402, 'application/json; charset=utf-8']);

    const unpaid = await callProvider({ url, modelId: llama.descriptor.modelId, input, stream: true }).catch((err: unknown) => err);
    expect(unpaid).toBeInstanceOf(ProviderCallError);
    expect(unpaid).toMatchObject({ code: 'PaymentRequired', status: 402, quote: { price: PRICE, requestHash: hashCanonicalJson({ modelId: llama.descriptor.modelId, input, params: {} }) } });
    expect(await getProviderQuote({ url, modelId: llama.descriptor.modelId, input })).toEqual((unpaid as ProviderCallError).quote);

    const channel = channels.get(llama.descriptor.modelId)!;
    const replayed = await callProvider({ url, modelId: llama.descriptor.modelId, input, stream: true, voucher: await voucherFor(llama, input, {}, channel.paid) }).catch(
      (err: unknown) => err,
    );
    expect(replayed).toMatchObject({ code: 'VoucherReplayed', status: 402 });
  });

  it('streams nothing from a model that does not stream: the client reads its plain answer the same way', async () => {
    const pixels = Array.from({ length: 784 }, (_, i) => ((i % 28) - 14) ** 2 < 9 ? 1 : 0);
    const pieces: string[] = [];
    const { output } = await callProvider({
      url,
      modelId: digits.descriptor.modelId,
      input: { pixels },
      stream: true,
      voucher: await voucherFor(digits, { pixels }),
      onToken: (text) => pieces.push(text),
    });
    channels.get(digits.descriptor.modelId)!.paid += PRICE;
    expect(pieces).toEqual([]);
    expect((output as { probabilities: number[] }).probabilities).toHaveLength(10);
  });

  it('embeds texts: one unit vector per text, equal texts equal vectors, tokens counted per text', async () => {
    const call = async (embed: string[]) => {
      const result = await callProvider({ url, modelId: llama.descriptor.modelId, input: { embed }, voucher: await voucherFor(llama, { embed }) });
      channels.get(llama.descriptor.modelId)!.paid += PRICE;
      return result.output as { embeddings: number[][]; usage: { promptTokens: number } };
    };
    const one = await call(['the network pays providers']);
    const two = await call(['the network pays providers', 'hello world', 'the network pays providers']);
    expect(two.embeddings).toHaveLength(3);
    for (const vector of two.embeddings) expect(Math.hypot(...vector)).toBeCloseTo(1, 5);
    expect(two.embeddings[0]).toEqual(one.embeddings[0]);
    expect(two.embeddings[2]).toEqual(two.embeddings[0]);
    expect(two.embeddings[1]).not.toEqual(two.embeddings[0]);
    expect(one.usage.promptTokens).toBeGreaterThan(0);
    expect(two.usage.promptTokens - 2 * one.usage.promptTokens).toBeGreaterThan(0); // 'hello world' counted too
  });

  it('refuses embedding input that is not a non-empty list of strings, without charging', async () => {
    for (const embed of [[], ['ok', 3], 'just a string', ['']]) {
      const response = await paidCall(llama, { embed });
      expect([response.statusCode, response.json().error.code, response.json().error.charged]).toEqual([400, 'InvalidInput', false]);
    }
  });

  it('credits a failed call even when a later call was paid on top of it, and the credit pays the next call', async () => {
    const modelId = llama.descriptor.modelId;
    const { channelId } = channels.get(modelId)!;
    const base = store.get(channelId)?.cumulativeAmount ?? 0n;
    const credit = store.getCredit(channelId);
    const chat = (content: string, max_tokens: number) => ({ input: { messages: [{ role: 'user', content }] }, params: { max_tokens } });
    const send = async (request: ReturnType<typeof chat>, cumulativeAmount: bigint, extra: Partial<Parameters<typeof callProvider>[0]> = {}) =>
      callProvider({ url, modelId, ...request, voucher: await voucherFor(llama, request.input, request.params, cumulativeAmount), ...extra });

    // A holds the model's only sequence (it streams 1,500 tokens, about 2.5 s here); C queues behind
    // it with a prompt longer than the context, so it fails only once A is done; B is paid on top of
    // C meanwhile. (Should A ever finish first, C fails before B is paid: the credit is the same, and
    // the last steps still tell credit from the old rollback.)
    let firstToken!: () => void;
    const started = new Promise<void>((resolve) => (firstToken = resolve));
    const a = send(chat('Tell me a long story about the network.', 1500), base + PRICE, { stream: true, onToken: () => firstToken() });
    await started;
    // (C streams: its failure arrives as an `error` event after the 200, with the status a plain call would have.)
    const c = send(chat('network '.repeat(2100), 8), base + 2n * PRICE, { stream: true }).catch((err: unknown) => err);
    await vi.waitFor(() => expect(store.get(channelId)!.cumulativeAmount).toBe(base + 2n * PRICE));
    const b = send(chat('Hello there.', 4), base + 3n * PRICE);
    await vi.waitFor(() => expect(store.get(channelId)!.cumulativeAmount).toBe(base + 3n * PRICE));

    await expect(a).resolves.toMatchObject({ receipt: { cumulativeAmount: base + PRICE } });
    const failed = await c;
    expect(failed).toBeInstanceOf(ProviderCallError);
    expect(failed).toMatchObject({ code: 'InvalidInput', status: 400, charged: false, credit: credit + PRICE });
    await expect(b).resolves.toMatchObject({ receipt: { cumulativeAmount: base + 3n * PRICE } });
    expect(store.get(channelId)).toMatchObject({ cumulativeAmount: base + 3n * PRICE, credit: credit + PRICE });

    // The next call adds only what the credit does not cover (nothing, when it covers the price).
    const due = credit + PRICE >= PRICE ? 0n : PRICE - credit - PRICE;
    const next = await send(chat('And now?', 4), base + 3n * PRICE + due);
    expect(next.receipt.cumulativeAmount).toBe(base + 3n * PRICE + due);
    expect(store.getCredit(channelId)).toBe(credit + PRICE - (PRICE - due));
    // Its voucher cannot pay a second call, although credit may be left.
    const again = await send(chat('And now?', 4), base + 3n * PRICE + due).catch((err: unknown) => err);
    expect(again).toMatchObject({ code: 'VoucherReplayed', status: 402 });
    channels.get(modelId)!.paid = store.get(channelId)!.cumulativeAmount;
  });

  it('credits a streamed call whose client leaves before the answer', async () => {
    const modelId = llama.descriptor.modelId;
    const { channelId } = channels.get(modelId)!;
    const cumulativeAmount = store.get(channelId)?.cumulativeAmount ?? 0n;
    const credit = store.getCredit(channelId);
    const input = { messages: [{ role: 'user', content: 'Tell me the longest story you know.' }] };
    const params = { max_tokens: 1900 };
    const controller = new AbortController();
    // Aborted at its first token, of 1,900 (about 3 s of generation here): the model is still running.
    const call = callProvider({
      url,
      modelId,
      input,
      params,
      stream: true,
      signal: controller.signal,
      voucher: await voucherFor(llama, input, params, cumulativeAmount + PRICE),
      onToken: () => controller.abort(new Error('buyer left')),
    });
    await expect(call).rejects.toThrow('buyer left');
    await vi.waitFor(() => expect(store.getCredit(channelId)).toBe(credit + PRICE));
    expect(store.get(channelId)!.cumulativeAmount).toBe(cumulativeAmount + PRICE);
  });
});
