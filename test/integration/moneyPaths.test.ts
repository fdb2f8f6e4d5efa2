// Every money path of the trust layer, end to end on a real EVM node through the sdk: who ends up
// with which tokens, and that each contract still holds exactly what it owes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex, type Address } from 'viem';
import { readContract } from 'viem/actions';
import {
  acceptJob,
  deliverJob,
  failJob,
  finalizeJob,
  getChannel,
  getCredit,
  getJob,
  getProvider,
  getTokenBalance,
  jobErrorCodes,
  jobMarketAbi,
  openChannel,
  openJob,
  paymentChannelsAbi,
  providerRegistryAbi,
  reclaimJob,
  redeemVoucher,
  requestChannelClose,
  signVoucher,
  slashProvider,
  verifyVoucher,
  withdrawChannel,
  withdrawCredit,
  type SignedVoucher,
} from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, expectedSplit, setUpMarket, type Market } from '../support/market.ts';

let devnet: TestDevnet;
let market: Market;
const provider = getDevAccount('provider1').account.address;
const buyer = getDevAccount('buyer1').account.address;
const treasury = getDevAccount('treasury').account.address;

beforeAll(async () => {
  devnet = await startTestDevnet();
  market = await setUpMarket(devnet, ['provider1', 'provider2']);
});
afterAll(() => devnet?.stop());

const balance = (account: Address) => getTokenBalance(devnet.as('buyer1'), { account });
const requestHash = (n: number) => keccak256(toHex(`request ${n}`));

/** The contract's token balance equals what it owes: escrow/locked deposits plus credits. */
async function expectSolvent() {
  const client = devnet.as('buyer1');
  const { jobMarket, paymentChannels, providerRegistry } = devnet.deployment.contracts;
  const read = (address: Address, abi: typeof jobMarketAbi | typeof paymentChannelsAbi, functionName: 'getTotalWithdrawable') =>
    readContract(client, { address, abi, functionName });
  const escrowed = await readContract(client, { address: jobMarket, abi: jobMarketAbi, functionName: 'getTotalEscrowed' });
  expect(await balance(jobMarket)).toBe(escrowed + (await read(jobMarket, jobMarketAbi, 'getTotalWithdrawable')));
  const locked = await readContract(client, { address: paymentChannels, abi: paymentChannelsAbi, functionName: 'getTotalLocked' });
  expect(await balance(paymentChannels)).toBe(locked + (await read(paymentChannels, paymentChannelsAbi, 'getTotalWithdrawable')));
  const staked = await readContract(client, { address: providerRegistry, abi: providerRegistryAbi, functionName: 'getTotalStaked' });
  expect(await balance(providerRegistry)).toBe(staked);
}

async function openTestJob(maxPrice: bigint, deadlineIn = 3_600n): Promise<bigint> {
  const { jobId } = await openJob(devnet.as('buyer1'), {
    modelId: market.modelId,
    inputHash: keccak256(toHex('a 28x28 image of a seven')),
    inputURI: 'http://127.0.0.1:9000/payloads/0xabc',
    maxPrice,
    deadline: (await devnet.now()) + deadlineIn,
  });
  return jobId;
}

describe('JobMarket (slow path, escrow)', () => {
  it('pays a delivered job after the challenge window: provider share, fee, royalty and the unused escrow back to the buyer', async () => {
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(provider);
    const maxPrice = 5n * PRICE;
    const jobId = await openTestJob(maxPrice);
    expect(await balance(buyer)).toBe(buyerBefore - maxPrice);

    await acceptJob(devnet.as('provider1'), { jobId });
    const outputHash = keccak256(toHex('7'));
    await deliverJob(devnet.as('provider1'), { jobId, outputHash });
    await expect(finalizeJob(devnet.as('buyer2'), { jobId })).rejects.toMatchObject({ code: 'JobMarketChallengeWindowOpen' });

    await devnet.increaseTime(devnet.deployment.parameters.challengeWindow);
    await finalizeJob(devnet.as('buyer2'), { jobId }); // anyone may finalize
    expect(await getJob(devnet.as('buyer1'), { jobId })).toMatchObject({ status: 'Finalized', price: PRICE, outputHash });

    const split = expectedSplit(devnet, PRICE);
    expect(await getCredit(devnet.as('buyer1'), { account: provider, from: 'jobMarket' })).toBe(split.providerShare);
    expect(await getCredit(devnet.as('buyer1'), { account: treasury, from: 'jobMarket' })).toBe(split.fee);
    expect(await getCredit(devnet.as('buyer1'), { account: market.royaltyReceiver, from: 'jobMarket' })).toBe(split.royalty);
    expect(await getCredit(devnet.as('buyer1'), { account: buyer, from: 'jobMarket' })).toBe(maxPrice - PRICE);

    await withdrawCredit(devnet.as('provider1'), { from: 'jobMarket' });
    await withdrawCredit(devnet.as('buyer1'), { from: 'jobMarket' });
    expect(await balance(provider)).toBe(providerBefore + split.providerShare);
    expect(await balance(buyer)).toBe(buyerBefore - PRICE);
    // Settles exactly once.
    await expect(finalizeJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });

  it('refunds a failed job in full and pays the provider nothing', async () => {
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(provider);
    const jobId = await openTestJob(3n * PRICE);
    await acceptJob(devnet.as('provider1'), { jobId });
    await failJob(devnet.as('provider1'), { jobId, errorCode: jobErrorCodes.inputHashMismatch });
    expect(await getJob(devnet.as('buyer1'), { jobId })).toMatchObject({ status: 'Failed', errorCode: 2 });

    const { amount } = await withdrawCredit(devnet.as('buyer1'), { from: 'jobMarket' });
    expect(amount).toBe(3n * PRICE);
    expect(await balance(buyer)).toBe(buyerBefore);
    expect(await balance(provider)).toBe(providerBefore);
    expect(await getCredit(devnet.as('buyer1'), { account: provider, from: 'jobMarket' })).toBe(0n);
    await expect(finalizeJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });

  it('lets the buyer reclaim a job whose provider accepted and then vanished, only after the deadline', async () => {
    const buyerBefore = await balance(buyer);
    const jobId = await openTestJob(2n * PRICE, 600n);
    await acceptJob(devnet.as('provider2'), { jobId });
    await expect(reclaimJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketDeadlineNotPassed' });

    await devnet.increaseTime(601);
    await expect(deliverJob(devnet.as('provider2'), { jobId, outputHash: keccak256(toHex('late')) })).rejects.toMatchObject({
      code: 'JobMarketDeadlinePassed',
    });
    await reclaimJob(devnet.as('buyer1'), { jobId });
    expect(await balance(buyer)).toBe(buyerBefore);
    expect((await getJob(devnet.as('buyer1'), { jobId })).status).toBe('Reclaimed');
    await expect(reclaimJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });
});

describe('PaymentChannels (fast path, vouchers)', () => {
  const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });
  const buyerKey = getDevAccount('buyer1').account;

  it('redeems 1,000 vouchers with one transaction', async () => {
    const calls = 1_000;
    const deposit = BigInt(calls) * PRICE;
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit });
    const channel = await getChannel(devnet.as('provider1'), { channelId });

    // The provider checks every voucher off-chain before serving, as its node does per call.
    let latest: SignedVoucher | undefined;
    for (let i = 1; i <= calls; i++) {
      const voucher = await signVoucher(buyerKey, domain(), { channelId, cumulativeAmount: BigInt(i) * PRICE, requestHash: requestHash(i) });
      const increment = await verifyVoucher({
        domain: domain(),
        voucher,
        signer: channel.signer,
        previousCumulative: latest?.cumulativeAmount ?? 0n,
        price: PRICE,
        deposit: channel.deposit,
      });
      expect(increment).toBe(PRICE);
      latest = voucher;
    }

    const providerBefore = await balance(provider);
    const { paid, providerShare } = await redeemVoucher(devnet.as('provider1'), { voucher: latest! });
    expect(paid).toBe(deposit);
    const split = expectedSplit(devnet, deposit);
    expect(providerShare).toBe(split.providerShare);
    expect(await balance(provider)).toBe(providerBefore + split.providerShare);
    expect(await getCredit(devnet.as('buyer1'), { account: treasury, from: 'paymentChannels' })).toBe(split.fee);
    expect(await getCredit(devnet.as('buyer1'), { account: market.royaltyReceiver, from: 'paymentChannels' })).toBe(split.royalty);
    expect((await getChannel(devnet.as('buyer1'), { channelId })).redeemed).toBe(deposit);
    // The same voucher cannot pay twice.
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: latest! })).rejects.toMatchObject({ code: 'PaymentChannelsVoucherNotNewer' });
    await expectSolvent();
  });

  it('lets the provider beat a unilateral close with its newest voucher during the challenge period', async () => {
    const deposit = 100n * PRICE;
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit });
    const sign = (calls: number) =>
      signVoucher(buyerKey, domain(), { channelId, cumulativeAmount: BigInt(calls) * PRICE, requestHash: requestHash(calls) });
    const stale = await sign(10);
    const newest = await sign(40);
    await redeemVoucher(devnet.as('provider1'), { voucher: stale });

    const buyerBefore = await balance(buyer);
    const { closesAt } = await requestChannelClose(devnet.as('buyer1'), { channelId });
    await expect(withdrawChannel(devnet.as('buyer1'), { channelId })).rejects.toMatchObject({ code: 'PaymentChannelsChallengeRunning' });
    // The stale voucher cannot be replayed; the newer one still pays during the challenge period.
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: stale })).rejects.toMatchObject({ code: 'PaymentChannelsVoucherNotNewer' });
    const { paid } = await redeemVoucher(devnet.as('provider1'), { voucher: newest });
    expect(paid).toBe(30n * PRICE);

    await devnet.increaseTime(closesAt - (await devnet.now()));
    const late = await sign(50);
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: late })).rejects.toMatchObject({ code: 'PaymentChannelsChallengeOver' });
    const { refund } = await withdrawChannel(devnet.as('buyer1'), { channelId });
    expect(refund).toBe(deposit - 40n * PRICE);
    expect(await balance(buyer)).toBe(buyerBefore + refund);
    expect(await getChannel(devnet.as('buyer1'), { channelId })).toMatchObject({ status: 'Closed', redeemed: 40n * PRICE });
    await expectSolvent();
  });
});

describe('ProviderRegistry slashing', () => {
  it('lets only the audit address slash, and sends the slashed stake to the recipient', async () => {
    const amount = 30_000_000n;
    await expect(slashProvider(devnet.as('buyer1'), { provider, amount })).rejects.toMatchObject({ code: 'ProviderRegistryUnauthorized' });
    await expect(slashProvider(devnet.as('provider2'), { provider, amount })).rejects.toMatchObject({ code: 'ProviderRegistryUnauthorized' });

    const before = await getProvider(devnet.as('buyer1'), { provider });
    const recipient = getDevAccount('buyer4').account.address;
    const recipientBefore = await balance(recipient);
    const { slashed } = await slashProvider(devnet.as('auditCourt'), { provider, amount, recipient });
    expect(slashed).toBe(amount);
    const after = await getProvider(devnet.as('buyer1'), { provider });
    expect(after.stake).toBe(before.stake - amount);
    expect(after.active).toBe(false); // below the minimum stake now
    expect(await balance(recipient)).toBe(recipientBefore + amount);
    await expectSolvent();
  });
});

