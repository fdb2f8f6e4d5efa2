// The provider's fast path on a real chain with a real model (the pretrained OCR model): quotes,
// voucher checks, durable storage before work, signed receipts, failures credited back, redeem.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import {
  getChannel,
  getTokenBalance,
  hashCanonicalJson,
  openChannel,
  recoverInferenceReceiptSigner,
  registerModel,
  signVoucher,
  type SignedInferenceReceipt,
  type SignedVoucher,
} from '@agora/sdk';
import {
  PAYMENT_HEADER,
  buildProviderApp,
  createOcrServedModel,
  createRedeemer,
  encodePaymentHeader,
  getDevAccount,
  openVoucherStore,
  renderTextPng,
  type VoucherStore,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { makeProvider } from '../support/market.ts';

const PRICE = 2_000n;
let devnet: TestDevnet;
let app: FastifyInstance;
let store: VoucherStore;
let storePath: string;
let model: Awaited<ReturnType<typeof createOcrServedModel>>;
let channelId: Hex;
const buyer = getDevAccount('buyer1').account;
const provider = getDevAccount('provider1').account;
const image = renderTextPng('AGORA 2026').toString('base64');

beforeAll(async () => {
  devnet = await startTestDevnet();
  model = await createOcrServedModel({ pricePerCall: PRICE });
  const { descriptor } = model;
  await registerModel(devnet.as('deployer'), { ...descriptor, metadataURI: 'agora://models/ocr-eng' });
  await makeProvider(devnet, 'provider1', { modelIds: [descriptor.modelId], price: PRICE });
  ({ channelId } = await openChannel(devnet.as('buyer1'), { provider: provider.address, modelId: descriptor.modelId, deposit: 100n * PRICE }));
  storePath = join(mkdtempSync(join(tmpdir(), 'agora-provider-')), 'node.db');
  store = openVoucherStore({ path: storePath });
  app = await buildProviderApp({ client: devnet.as('provider1') as never, store, models: [model], bodyLimit: 256 * 1024 });
});
afterAll(async () => {
  await app?.close();
  store?.close();
  await model?.close();
  await devnet?.stop();
});

const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });
const body = (input: unknown = { image }) => ({ input, params: {} });
const requestHashOf = (input: unknown = { image }) => hashCanonicalJson({ modelId: model.descriptor.modelId, input, params: {} });
const pay = (cumulativeAmount: bigint, input: unknown = { image }, signer = buyer) =>
  signVoucher(signer, domain(), { channelId, cumulativeAmount, requestHash: requestHashOf(input) });
const call = (voucher?: SignedVoucher, input: unknown = { image }) =>
  app.inject({
    method: 'POST',
    url: `/v1/infer/${model.descriptor.modelId}`,
    payload: body(input),
    headers: voucher ? { [PAYMENT_HEADER]: encodePaymentHeader(voucher) } : {},
  });

describe('provider fast path', () => {
  it('answers an unpaid call with 402 and a quote the buyer can pay', async () => {
    const response = await call();
    expect(response.statusCode).toBe(402);
    expect(response.json()).toMatchObject({
      error: { code: 'PaymentRequired' },
      quote: { price: PRICE.toString(), provider: provider.address, paymentChannels: domain().paymentChannels, requestHash: requestHashOf(), modelId: model.descriptor.modelId },
      x402Version: 1,
      accepts: [
        {
          scheme: 'agora-channel',
          network: `eip155:${devnet.deployment.chainId}`,
          maxAmountRequired: PRICE.toString(),
          resource: `http://localhost:80/v1/infer/${model.descriptor.modelId}`,
          mimeType: 'application/json',
          payTo: provider.address,
          asset: devnet.deployment.contracts.token,
          extra: { paymentChannels: domain().paymentChannels, modelId: model.descriptor.modelId, requestHash: requestHashOf(), header: PAYMENT_HEADER },
        },
      ],
    });
  });

  it('runs a paid call, stores the voucher first, and signs a receipt binding input, output and payment', async () => {
    const response = await call(await pay(PRICE));
    expect(response.statusCode).toBe(200);
    const { output, receipt } = response.json() as { output: { text: string }; receipt: SignedInferenceReceipt & { cumulativeAmount: string } };
    expect(output.text).toBe('AGORA 2026');
    const signed = { ...receipt, cumulativeAmount: BigInt(receipt.cumulativeAmount) };
    expect(await recoverInferenceReceiptSigner(domain(), signed)).toBe(provider.address);
    expect(signed).toMatchObject({ channelId, cumulativeAmount: PRICE, outputHash: hashCanonicalJson(output), inputHash: hashCanonicalJson({ image }) });
    expect(store.get(channelId)?.cumulativeAmount).toBe(PRICE);
  });

  it('refuses replayed, underpaid, forged and mismatched vouchers without running the model or changing the store', async () => {
    const replay = await call(await pay(PRICE));
    expect([replay.statusCode, replay.json().error.code]).toEqual([402, 'VoucherReplayed']);
    const underpaid = await call(await pay(PRICE + PRICE / 2n));
    expect([underpaid.statusCode, underpaid.json().error.code]).toEqual([402, 'VoucherUnderpaid']);
    const forged = await call(await pay(2n * PRICE, { image }, getDevAccount('buyer2').account));
    expect([forged.statusCode, forged.json().error.code]).toEqual([401, 'VoucherForged']);
    const otherRequest = await call(await pay(2n * PRICE, { image: 'aGVsbG8=' }));
    expect([otherRequest.statusCode, otherRequest.json().error.code]).toEqual([402, 'VoucherRequestMismatch']);
    const malformed = await app.inject({ method: 'POST', url: `/v1/infer/${model.descriptor.modelId}`, payload: body(), headers: { [PAYMENT_HEADER]: '{"channelId":"0x12"}' } });
    expect([malformed.statusCode, malformed.json().error.code]).toEqual([400, 'MalformedVoucher']);
    expect(store.get(channelId)?.cumulativeAmount).toBe(PRICE);
  });

  it('answers bad requests with clear errors: malformed JSON 400, oversized 413, unknown model 404', async () => {
    const badJson = await app.inject({ method: 'POST', url: `/v1/infer/${model.descriptor.modelId}`, payload: '{"input":', headers: { 'content-type': 'application/json' } });
    expect(badJson.statusCode).toBe(400);
    const huge = await app.inject({ method: 'POST', url: `/v1/infer/${model.descriptor.modelId}`, payload: body({ image: 'A'.repeat(300 * 1024) }) });
    expect([huge.statusCode, huge.json().error.code]).toEqual([413, 'PayloadTooLarge']);
    const unknown = await app.inject({ method: 'POST', url: `/v1/infer/0x${'ab'.repeat(32)}`, payload: body() });
    expect([unknown.statusCode, unknown.json().error.code]).toEqual([404, 'UnknownModel']);
  });

  it('does not charge for a call the model could not do: its payment becomes credit that pays the next call', async () => {
    const garbage = { image: Buffer.from('not an image at all').toString('base64') };
    const response = await call(await pay(2n * PRICE, garbage), garbage);
    expect(response.statusCode).toBe(400);
    expect(response.json().error).toMatchObject({ code: 'InvalidInput', charged: false, credit: PRICE.toString() });
    // The voucher stays (it is valid on-chain); the provider owes the buyer one call.
    expect(store.get(channelId)).toMatchObject({ cumulativeAmount: 2n * PRICE, credit: PRICE });
    // The same money pays the next call: a voucher for another request at the same amount.
    expect((await call(await pay(2n * PRICE))).statusCode).toBe(200);
    expect(store.getCredit(channelId)).toBe(0n);
    // Spent credit cannot pay again, and the answered voucher is not a second payment either.
    const again = await call(await pay(2n * PRICE));
    expect([again.statusCode, again.json().error.code]).toEqual([402, 'VoucherReplayed']);
  });

  it('serves a paid call over a real socket (the model is not cancelled once the request body is read)', async () => {
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    const voucher = await pay(3n * PRICE);
    const response = await fetch(`${url}/v1/infer/${model.descriptor.modelId}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PAYMENT_HEADER]: encodePaymentHeader(voucher) },
      body: JSON.stringify(body()),
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { output: { text: string } }).output.text).toBe('AGORA 2026');
  });

  it('redeems what it acknowledged, also after a restart from its store', async () => {
    for (let n = 4n; n <= 5n; n++) expect((await call(await pay(n * PRICE))).statusCode).toBe(200);
    expect(store.getUnredeemedTotal()).toBe(5n * PRICE);

    // Restart: a fresh store handle on the same file sees every acknowledged voucher.
    store.close();
    store = openVoucherStore({ path: storePath });
    expect(store.getUnredeemedTotal()).toBe(5n * PRICE);
    const before = await getTokenBalance(devnet.as('provider1'), { account: provider.address });
    const redeemer = createRedeemer({ client: devnet.as('provider1'), store, threshold: 10n * PRICE, intervalMs: 60_000 });
    await redeemer.start(); // a start redeems everything left from before
    await redeemer.stop();
    expect((await getChannel(devnet.as('buyer1'), { channelId })).redeemed).toBe(5n * PRICE);
    const share = 5n * PRICE - (5n * PRICE * 250n) / 10_000n; // no royalty on this model
    expect(await getTokenBalance(devnet.as('provider1'), { account: provider.address })).toBe(before + share);
    expect(store.listUnredeemed()).toEqual([]);
  });
});
