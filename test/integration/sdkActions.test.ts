// The sdk's actions for providers, publishers and buyers against a real EVM node: each does what
// it says on the chain, and refusals come back as decoded, actionable errors.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestClient, http, keccak256, parseEther, toHex, type Hex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { readContract, writeContract, waitForTransactionReceipt } from 'viem/actions';
import {
  cancelJob,
  closeChannel,
  computeModelId,
  createAgoraClient,
  devUsdAbi,
  getChannel,
  getCredit,
  getJob,
  getModel,
  getModels,
  getOffersForModel,
  getProvider,
  getProviders,
  getTokenBalance,
  jailProvider,
  openChannel,
  openJob,
  registerProvider,
  removeOffer,
  requestUnbond,
  setModelMetadataURI,
  setModelRoyalty,
  setOffer,
  signTransferAuthorization,
  signVoucher,
  stake,
  topUpChannel,
  updateProvider,
  withdrawCredit,
  withdrawUnbonded,
} from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, setUpMarket, type Market } from '../support/market.ts';

let devnet: TestDevnet;
let market: Market;
const address = (role: Parameters<typeof getDevAccount>[0]) => getDevAccount(role).account.address;

beforeAll(async () => {
  // These tests jail a provider directly to check that offers hide it, so the registry's audit
  // court is a dev account here instead of the AuditCourt (which jails only through audits; its
  // own paths are tested in moneyPaths and contracts/test/AuditCourt.t.sol).
  devnet = await startTestDevnet({ deploy: { auditCourt: address('auditCourt') } });
  market = await setUpMarket(devnet, ['provider1', 'provider2']);
});
afterAll(() => devnet?.stop());

describe('models', () => {
  it('computes the same model id as the registry and lets only the publisher change royalty and metadata', async () => {
    const model = await getModel(devnet.as('buyer1'), { modelId: market.modelId });
    expect(computeModelId(model)).toBe(market.modelId);
    expect((await getModels(devnet.as('buyer1'))).map((m) => m.modelId)).toEqual([market.modelId]);

    await expect(setModelRoyalty(devnet.as('buyer1'), { modelId: market.modelId, royaltyReceiver: address('buyer1'), royaltyBps: 100 })).rejects.toMatchObject({
      code: 'ModelRegistryNotPublisher',
    });
    await expect(setModelRoyalty(devnet.as('deployer'), { modelId: market.modelId, royaltyReceiver: address('buyer1'), royaltyBps: 3_001 })).rejects.toMatchObject({
      code: 'ModelRegistryInvalidRoyalty',
      fix: 'use at most 3000 bps, and a non-zero receiver when the royalty is above zero.',
    });
    await setModelMetadataURI(devnet.as('deployer'), { modelId: market.modelId, metadataURI: 'agora://models/digits/v2' });
    expect((await getModel(devnet.as('buyer1'), { modelId: market.modelId })).metadataURI).toBe('agora://models/digits/v2');
    await expect(getModel(devnet.as('buyer1'), { modelId: keccak256(toHex('nope')) })).rejects.toMatchObject({ code: 'ModelRegistryUnknownModel' });
  });
});

describe('providers', () => {
  it('lists offers cheapest first and hides providers that are jailed or withdrew their offer', async () => {
    await setOffer(devnet.as('provider2'), { modelId: market.modelId, pricePerUnit: PRICE / 2n });
    let offers = await getOffersForModel(devnet.as('buyer1'), { modelId: market.modelId });
    expect(offers.map((o) => [o.provider, o.pricePerUnit])).toEqual([
      [address('provider2'), PRICE / 2n],
      [address('provider1'), PRICE],
    ]);
    expect(offers[0]).toMatchObject({ endpoint: 'http://127.0.0.1:9101', unit: 'call', providerActive: true });

    await jailProvider(devnet.as('auditCourt'), { provider: address('provider2'), until: (await devnet.now()) + 600n });
    offers = await getOffersForModel(devnet.as('buyer1'), { modelId: market.modelId });
    expect(offers.map((o) => o.provider)).toEqual([address('provider1')]);
    expect(await getOffersForModel(devnet.as('buyer1'), { modelId: market.modelId, activeOnly: false })).toHaveLength(2);
    await devnet.increaseTime(601);
    expect((await getProvider(devnet.as('buyer1'), { provider: address('provider2') })).active).toBe(true);

    await removeOffer(devnet.as('provider2'), { modelId: market.modelId });
    offers = await getOffersForModel(devnet.as('buyer1'), { modelId: market.modelId });
    expect(offers.map((o) => o.provider)).toEqual([address('provider1')]);
  });

  it('registers, updates, stakes, unbonds after the delay, and explains what is not allowed yet', async () => {
    const client = devnet.as('provider3');
    await expect(stake(client, { amount: 1n })).rejects.toMatchObject({ code: 'ProviderRegistryNotRegistered' });
    await registerProvider(client, { endpoint: 'http://127.0.0.1:9200', publicKey: '0x02aa' });
    await expect(registerProvider(client, { endpoint: 'http://x' })).rejects.toMatchObject({ code: 'ProviderRegistryAlreadyRegistered' });
    await updateProvider(client, { endpoint: 'https://node3.example', publicKey: '0x03bb' });
    expect(await getProviders(client)).toContain(address('provider3'));

    // An offer needs the minimum stake (so the list verifiers are drawn from cannot be bloated for free).
    const unstaked = await setOffer(client, { modelId: market.modelId, pricePerUnit: 1_000n }).catch((e: unknown) => e);
    expect(unstaked).toMatchObject({ code: 'ProviderRegistryInsufficientStake' });
    expect((unstaked as Error).message).toContain('has 0 staked, less than the 100 this needs (an offer needs the minimum stake');

    const before = await getTokenBalance(client, { account: address('provider3') });
    await stake(client, { amount: 150_000_000n });
    const { readyAt } = await requestUnbond(client, { amount: 50_000_000n });
    expect(await getProvider(client, { provider: address('provider3') })).toMatchObject({
      endpoint: 'https://node3.example',
      publicKey: '0x03bb',
      stake: 100_000_000n,
      unbondingAmount: 50_000_000n,
      unbondingReadyAt: readyAt,
      active: true,
    });
    const early = await withdrawUnbonded(client).catch((e: unknown) => e);
    expect(early).toMatchObject({ code: 'ProviderRegistryUnbondingNotReady', fix: 'wait until the unbonding delay has passed.' });
    await devnet.increaseTime(devnet.deployment.parameters.unbondingDelay);
    expect((await withdrawUnbonded(client)).amount).toBe(50_000_000n);
    expect(await getTokenBalance(client, { account: address('provider3') })).toBe(before - 100_000_000n);
  });
});

describe('buyers', () => {
  it('tells a buyer without tokens to fund the account, even though the token reverted inside the channel contract', async () => {
    const poor = privateKeyToAccount(generatePrivateKey());
    await createTestClient({ mode: 'anvil', transport: http(devnet.rpcUrl) }).setBalance({ address: poor.address, value: parseEther('1') });
    const client = createAgoraClient({ transport: http(devnet.rpcUrl), deployment: devnet.deployment, account: poor, pollingInterval: 20 });
    const err = await openChannel(client, { provider: address('provider1'), modelId: market.modelId, deposit: 5_000_000n }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERC20InsufficientBalance', fix: 'fund the account with the deployment token first (on a devnet, the dev accounts printed by `agora up` are funded).' });
    expect((err as Error).message).toContain(`holds 0 tokens but 5 are needed`);
  });

  it('cancels a job nobody accepted and gets the whole escrow back', async () => {
    const before = await getTokenBalance(devnet.as('buyer2'), { account: address('buyer2') });
    const { jobId } = await openJob(devnet.as('buyer2'), {
      modelId: market.modelId,
      inputHash: keccak256(toHex('input')),
      inputURI: 'http://127.0.0.1:9000/p',
      maxPrice: PRICE,
      deadline: (await devnet.now()) + 600n,
    });
    await expect(cancelJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketNotBuyer' });
    await cancelJob(devnet.as('buyer2'), { jobId });
    expect((await getJob(devnet.as('buyer2'), { jobId })).status).toBe('Cancelled');
    expect(await getTokenBalance(devnet.as('buyer2'), { account: address('buyer2') })).toBe(before);
  });

  it('tops up a channel, pays through a delegated voucher key, and is credited the rest on a cooperative close', async () => {
    const hotKey = getDevAccount('buyer3').account; // a hot key signs vouchers; buyer2's wallet holds the money
    const { channelId } = await openChannel(devnet.as('buyer2'), { provider: address('provider1'), modelId: market.modelId, deposit: 10n * PRICE, signer: hotKey.address });
    await topUpChannel(devnet.as('buyer2'), { channelId, amount: 5n * PRICE });
    const domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };
    const voucher = await signVoucher(hotKey, domain, { channelId, cumulativeAmount: 4n * PRICE, requestHash: keccak256(toHex('r4')) });
    const { refund } = await closeChannel(devnet.as('provider1'), { channelId, voucher });
    expect(refund).toBe(11n * PRICE);
    expect(await getChannel(devnet.as('buyer2'), { channelId })).toMatchObject({ status: 'Closed', deposit: 15n * PRICE, redeemed: 4n * PRICE });
    expect(await getCredit(devnet.as('buyer2'), { account: address('buyer2'), from: 'paymentChannels' })).toBe(11n * PRICE);
    expect((await withdrawCredit(devnet.as('buyer2'), { from: 'paymentChannels' })).amount).toBe(11n * PRICE);
    await expect(withdrawCredit(devnet.as('buyer2'), { from: 'paymentChannels' })).rejects.toMatchObject({ code: 'SettlementNothingToWithdraw' });
  });

  it('pays by EIP-3009 signature (x402 style): the seller submits, the buyer sends no transaction', async () => {
    const buyer = getDevAccount('buyer4').account;
    const seller = devnet.as('provider1');
    const token = { address: devnet.deployment.contracts.token, chainId: devnet.deployment.chainId, name: 'Agora Dev USD', version: '1' };
    const auth = await signTransferAuthorization(buyer, { token, to: address('provider1'), value: 2_500n, validBefore: (await devnet.now()) + 300n, primaryType: 'ReceiveWithAuthorization' });
    const sellerBefore = await getTokenBalance(seller, { account: address('provider1') });
    const submit = async () => {
      const hash = await writeContract(seller, {
        address: token.address,
        abi: devUsdAbi,
        functionName: 'receiveWithAuthorization',
        args: [auth.from, auth.to, auth.value, auth.validAfter, auth.validBefore, auth.nonce, auth.signature],
        account: seller.account,
        chain: seller.chain,
      });
      return waitForTransactionReceipt(seller, { hash });
    };
    await submit();
    expect(await getTokenBalance(seller, { account: address('provider1') })).toBe(sellerBefore + 2_500n);
    const used = await readContract(seller, { address: token.address, abi: devUsdAbi, functionName: 'authorizationState', args: [auth.from, auth.nonce as Hex] });
    expect(used).toBe(true);
    await expect(submit()).rejects.toThrow(/DevUSDAuthorizationUsed/);
  });
});
