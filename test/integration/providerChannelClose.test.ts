// A buyer who starts a unilateral close while still calling must not get the calls for free: the
// provider notices the close and redeems what it holds at once, whatever its redeem threshold, and
// keeps redeeming each new call until it stops serving the channel near the end of the period.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import type { Hex } from 'viem';
import { getChannel, hashCanonicalJson, openChannel, registerModel, requestChannelClose, signVoucher } from '@agora/sdk';
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
let model: Awaited<ReturnType<typeof createOcrServedModel>>;
let redeemer: ReturnType<typeof createRedeemer>;
let channelId: Hex;
const buyer = getDevAccount('buyer4').account;
const input = { image: renderTextPng('CLOSE').toString('base64') };

beforeAll(async () => {
  devnet = await startTestDevnet();
  model = await createOcrServedModel({ pricePerCall: PRICE });
  await registerModel(devnet.as('deployer'), model.descriptor);
  const client = await makeProvider(devnet, 'provider2', { modelIds: [model.descriptor.modelId], price: PRICE });
  ({ channelId } = await openChannel(devnet.as('buyer4'), { provider: getDevAccount('provider2').account.address, modelId: model.descriptor.modelId, deposit: 100n * PRICE }));
  store = openVoucherStore({ path: ':memory:' });
  app = await buildProviderApp({ client: client as never, store, models: [model], channelTtlMs: 200 });
  redeemer = createRedeemer({ client, store, threshold: 10n ** 18n, intervalMs: 100 });
  await redeemer.start();
});
afterAll(async () => {
  await redeemer?.stop();
  await app?.close();
  store?.close();
  await model?.close();
  await devnet?.stop();
});

const call = async (cumulativeAmount: bigint) => {
  const modelId = model.descriptor.modelId;
  const voucher = await signVoucher(
    buyer,
    { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels },
    { channelId, cumulativeAmount, requestHash: hashCanonicalJson({ modelId, input, params: {} }) },
  );
  return app.inject({ method: 'POST', url: `/v1/infer/${modelId}`, payload: { input, params: {} }, headers: { [PAYMENT_HEADER]: encodePaymentHeader(voucher) } });
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('unilateral close while calling', () => {
  it('redeems at once when the buyer starts closing, below the threshold, and every call after it', async () => {
    expect((await call(PRICE)).statusCode).toBe(200);
    expect((await call(2n * PRICE)).statusCode).toBe(200);
    await sleep(400);
    expect((await getChannel(devnet.as('buyer4'), { channelId })).redeemed).toBe(0n); // below the threshold: held

    await requestChannelClose(devnet.as('buyer4'), { channelId });
    const deadline = Date.now() + 10_000;
    while ((await getChannel(devnet.as('buyer4'), { channelId })).redeemed === 0n && Date.now() < deadline) await sleep(100);
    expect((await getChannel(devnet.as('buyer4'), { channelId })).redeemed).toBe(2n * PRICE);

    // Calls during the challenge period are still served (the period is an hour here, beyond the
    // provider's 10-minute margin) and each is redeemed on the next pass.
    await sleep(300); // past the provider's channel cache
    expect((await call(3n * PRICE)).statusCode).toBe(200);
    const again = Date.now() + 10_000;
    while ((await getChannel(devnet.as('buyer4'), { channelId })).redeemed < 3n * PRICE && Date.now() < again) await sleep(100);
    expect((await getChannel(devnet.as('buyer4'), { channelId })).redeemed).toBe(3n * PRICE);
  });
});

describe('close margin', () => {
  it('refuses calls on a channel whose challenge period ends within the margin', async () => {
    // The same store and chain, a provider that will not serve closing channels at all.
    const strict = await buildProviderApp({ client: devnet.as('provider2') as never, store, models: [model], closeMarginSeconds: 10 * 24 * 3600 });
    try {
      const modelId = model.descriptor.modelId;
      const voucher = await signVoucher(
        buyer,
        { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels },
        { channelId, cumulativeAmount: 4n * PRICE, requestHash: hashCanonicalJson({ modelId, input, params: {} }) },
      );
      const refused = await strict.inject({ method: 'POST', url: `/v1/infer/${modelId}`, payload: { input, params: {} }, headers: { [PAYMENT_HEADER]: encodePaymentHeader(voucher) } });
      expect([refused.statusCode, refused.json().error.code]).toEqual([402, 'ChannelNotOpen']);
      expect(store.get(channelId)?.cumulativeAmount).toBe(3n * PRICE);
    } finally {
      await strict.close();
    }
  });
});
