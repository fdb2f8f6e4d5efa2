// Issue 9, findings 7 and 8 where a user meets them: a publisher raising the royalty just before a
// buyer's open or a provider's accept lands, a provider whose node refuses vouchers on a channel
// whose snapshotted royalty it never agreed to, and a job price a provider cannot raise once the
// job is open. Real chain, real contracts, the provider's real HTTP app.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FastifyInstance } from 'fastify';
import { keccak256, toHex, type Hex } from 'viem';
import { acceptJob, getChannel, getJob, hashCanonicalJson, openChannel, openJob, setModelRoyalty, setOffer, signVoucher } from '@agora/sdk';
import { PAYMENT_HEADER, buildProviderApp, encodePaymentHeader, getDevAccount, openVoucherStore, type ServedModel, type VoucherStore } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, ROYALTY_BPS, setUpMarket, type Market } from '../support/market.ts';

let devnet: TestDevnet;
let market: Market;
let app: FastifyInstance;
let store: VoucherStore;
const buyer = getDevAccount('buyer1').account;
const provider = getDevAccount('provider1').account.address;

/** The model the app sells: an echo. The subject here is the payment check, not the model. */
function echoModel(modelId: Hex): ServedModel {
  return {
    descriptor: { name: 'test/echo', path: '', format: 'onnx', runtime: 'onnxruntime', quantization: 'f32', verificationMode: 'exact', weightsHash: modelId, modelId },
    pricePerCall: PRICE,
    run: async (input) => input,
  };
}

beforeAll(async () => {
  devnet = await startTestDevnet();
  market = await setUpMarket(devnet, ['provider1', 'provider2']);
  store = openVoucherStore({ path: join(mkdtempSync(join(tmpdir(), 'agora-royalty-')), 'node.db') });
  // The provider accepts the rate the model had when it offered it.
  const royaltyLimits = new Map([[market.modelId.toLowerCase(), ROYALTY_BPS]]);
  app = await buildProviderApp({ client: devnet.as('provider1') as never, store, models: [echoModel(market.modelId)], royaltyLimits });
});
afterAll(async () => {
  await app?.close();
  store?.close();
  await devnet?.stop();
});

const setRoyalty = (royaltyBps: number) => setModelRoyalty(devnet.as('deployer'), { modelId: market.modelId, royaltyReceiver: market.royaltyReceiver, royaltyBps });

async function callWithVoucher(channelId: Hex) {
  const input = { n: 1 };
  const requestHash = hashCanonicalJson({ modelId: market.modelId, input, params: {} });
  const voucher = await signVoucher(buyer, { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels }, { channelId, cumulativeAmount: PRICE, requestHash });
  return app.inject({ method: 'POST', url: `/v1/infer/${market.modelId}`, payload: { input, params: {} }, headers: { [PAYMENT_HEADER]: encodePaymentHeader(voucher) } });
}

describe('royalty front-run and offer sandwich', () => {
  it('quotes the royalty rate the provider accepts, and serves a channel opened at it', async () => {
    const quote = await app.inject({ method: 'POST', url: `/v1/infer/${market.modelId}`, payload: { input: { n: 1 }, params: {} } });
    expect(quote.statusCode).toBe(402);
    expect(quote.json().quote.maxRoyaltyBps).toBe(ROYALTY_BPS);
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit: 10n * PRICE, maxRoyaltyBps: quote.json().quote.maxRoyaltyBps });
    expect((await callWithVoucher(channelId)).statusCode).toBe(200);
  });

  it('a buyer whose open lands after the publisher raised the royalty gets a clear revert, and nothing is locked', async () => {
    await setRoyalty(3_000); // the publisher's front-run
    try {
      await expect(openChannel(devnet.as('buyer2'), { provider, modelId: market.modelId, deposit: 10n * PRICE, maxRoyaltyBps: ROYALTY_BPS })).rejects.toMatchObject({
        code: 'SettlementRoyaltyAboveMax',
        shortMessage: expect.stringContaining('royalty is 3000 bps, above the 500 bps agreed to'),
      });
    } finally {
      await setRoyalty(ROYALTY_BPS);
    }
  });

  it('the provider refuses vouchers on a channel snapshotted above the rate it accepts (409 RoyaltyNotAccepted)', async () => {
    await setRoyalty(2_000);
    let channelId: Hex;
    try {
      // A buyer who agrees to the raised rate can open; the provider never agreed to it.
      ({ channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit: 10n * PRICE, maxRoyaltyBps: 2_000 }));
    } finally {
      await setRoyalty(ROYALTY_BPS);
    }
    expect((await getChannel(devnet.as('buyer1'), { channelId })).royaltyBps).toBe(2_000);
    const refused = await callWithVoucher(channelId);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().error).toMatchObject({
      code: 'RoyaltyNotAccepted',
      message: `Channel ${channelId} pays the model's publisher 2000 bps, above the 500 bps this provider accepts for the model.`,
    });
    expect(store.get(channelId)).toBeUndefined(); // nothing stored, nothing served
  });

  it('an accept that lands after a royalty raise reverts; the job stays open', async () => {
    const { jobId } = await openJob(devnet.as('buyer3'), {
      modelId: market.modelId,
      inputHash: keccak256(toHex('input')),
      inputURI: 'http://127.0.0.1:9/in',
      maxPrice: 5n * PRICE,
      deadline: (await devnet.now()) + 3_600n,
    });
    await setRoyalty(1_000);
    try {
      await expect(acceptJob(devnet.as('provider2'), { jobId, maxRoyaltyBps: ROYALTY_BPS })).rejects.toMatchObject({ code: 'SettlementRoyaltyAboveMax' });
      expect((await getJob(devnet.as('buyer3'), { jobId })).status).toBe('Open');
    } finally {
      await setRoyalty(ROYALTY_BPS);
    }
  });

  it('a named provider cannot raise the price of a job after it opened (offer sandwich)', async () => {
    const provider2 = getDevAccount('provider2').account.address;
    const { jobId, price } = await openJob(devnet.as('buyer3'), {
      modelId: market.modelId,
      inputHash: keccak256(toHex('input 2')),
      inputURI: 'http://127.0.0.1:9/in2',
      maxPrice: 5n * PRICE,
      provider: provider2,
      deadline: (await devnet.now()) + 3_600n,
    });
    expect(price).toBe(PRICE);
    await setOffer(devnet.as('provider2'), { modelId: market.modelId, pricePerUnit: 5n * PRICE });
    await expect(acceptJob(devnet.as('provider2'), { jobId })).rejects.toMatchObject({ code: 'JobMarketPriceTooHigh' });
    await setOffer(devnet.as('provider2'), { modelId: market.modelId, pricePerUnit: PRICE });
    await acceptJob(devnet.as('provider2'), { jobId });
    expect((await getJob(devnet.as('buyer3'), { jobId })).price).toBe(PRICE);
  });
});
