// A voucher pays only on the channel, chain and contract it was signed for, only once, and only if
// the channel's signer made it. Each case is checked where a provider meets it (off-chain, before
// serving) and where money moves (on-chain redeem).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWalletClient, http, keccak256, toHex, type Hex } from 'viem';
import { readContract } from 'viem/actions';
import {
  AgoraError,
  chainFor,
  deployAgora,
  getChannel,
  hashVoucher,
  openChannel,
  paymentChannelsAbi,
  redeemVoucher,
  signVoucher,
  verifyVoucher,
  type SignedVoucher,
  type VoucherDomain,
} from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, setUpMarket } from '../support/market.ts';

let devnet: TestDevnet;
let channelId: Hex;
let otherChannelId: Hex;
let domain: VoucherDomain;
const buyerAccount = getDevAccount('buyer1').account;
const provider = getDevAccount('provider1').account.address;
const requestHash = keccak256(toHex('chat completion #1'));

beforeAll(async () => {
  devnet = await startTestDevnet();
  const { modelId } = await setUpMarket(devnet);
  ({ channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId, deposit: 100n * PRICE }));
  ({ channelId: otherChannelId } = await openChannel(devnet.as('buyer1'), { provider, modelId, deposit: 100n * PRICE }));
  domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };
});
afterAll(() => devnet?.stop());

/** Checks a voucher as the provider's node does before serving one call at PRICE. */
async function verifyAsProvider(voucher: SignedVoucher, previousCumulative = 0n) {
  const channel = await getChannel(devnet.as('provider1'), { channelId: voucher.channelId });
  return verifyVoucher({ domain, voucher, signer: channel.signer, previousCumulative, price: PRICE, deposit: channel.deposit });
}

const redeem = (voucher: SignedVoucher) => redeemVoucher(devnet.as('provider1'), { voucher });

describe('voucher rejection', () => {
  it('hashes vouchers off-chain exactly as the contract does', async () => {
    const onChain = await readContract(devnet.as('buyer1'), {
      address: domain.paymentChannels,
      abi: paymentChannelsAbi,
      functionName: 'hashVoucher',
      args: [channelId, 123n, requestHash],
    });
    expect(hashVoucher(domain, { channelId, cumulativeAmount: 123n, requestHash })).toBe(onChain);
  });

  it('rejects a forged voucher (signed by someone other than the channel signer)', async () => {
    const forger = getDevAccount('buyer2').account;
    const forged = await signVoucher(forger, domain, { channelId, cumulativeAmount: PRICE, requestHash });
    await expect(verifyAsProvider(forged)).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(redeem(forged)).rejects.toMatchObject({ code: 'PaymentChannelsInvalidVoucherSignature' });
    // A tampered amount breaks the buyer's own signature too.
    const honest = await signVoucher(buyerAccount, domain, { channelId, cumulativeAmount: PRICE, requestHash });
    const tampered = { ...honest, cumulativeAmount: 50n * PRICE };
    await expect(verifyAsProvider(tampered)).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(redeem(tampered)).rejects.toMatchObject({ code: 'PaymentChannelsInvalidVoucherSignature' });
  });

  it('rejects a voucher signed for another chain', async () => {
    const wrongChain = await signVoucher(buyerAccount, { ...domain, chainId: 1 }, { channelId, cumulativeAmount: PRICE, requestHash });
    await expect(verifyAsProvider(wrongChain)).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(redeem(wrongChain)).rejects.toMatchObject({ code: 'PaymentChannelsInvalidVoucherSignature' });
  });

  it('rejects a voucher signed for another PaymentChannels contract', async () => {
    // A second, real deployment on the same chain: same chain id, different verifying contract.
    const deployer = getDevAccount('deployer').account;
    const wallet = createWalletClient({ account: deployer, chain: chainFor(domain.chainId, devnet.rpcUrl), transport: http(devnet.rpcUrl), pollingInterval: 20 });
    const second = await deployAgora(wallet);
    const otherDomain = { ...domain, paymentChannels: second.contracts.paymentChannels };
    expect(otherDomain.paymentChannels).not.toBe(domain.paymentChannels);
    const wrongContract = await signVoucher(buyerAccount, otherDomain, { channelId, cumulativeAmount: PRICE, requestHash });
    await expect(verifyAsProvider(wrongContract)).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(redeem(wrongContract)).rejects.toMatchObject({ code: 'PaymentChannelsInvalidVoucherSignature' });
  });

  it('rejects a voucher moved to another channel of the same buyer and provider', async () => {
    const forFirst = await signVoucher(buyerAccount, domain, { channelId, cumulativeAmount: PRICE, requestHash });
    const moved = { ...forFirst, channelId: otherChannelId };
    await expect(verifyAsProvider(moved)).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(redeem(moved)).rejects.toMatchObject({ code: 'PaymentChannelsInvalidVoucherSignature' });
  });

  it('rejects a replayed voucher and an underpaying one', async () => {
    const first = await signVoucher(buyerAccount, domain, { channelId, cumulativeAmount: PRICE, requestHash });
    expect(await verifyAsProvider(first)).toBe(PRICE);
    // Off-chain: the same voucher again pays nothing new.
    await expect(verifyAsProvider(first, PRICE)).rejects.toMatchObject({ code: 'VoucherReplayed' });
    // Off-chain: a new voucher adding less than the price.
    const underpaid = await signVoucher(buyerAccount, domain, { channelId, cumulativeAmount: PRICE + PRICE / 2n, requestHash });
    await expect(verifyAsProvider(underpaid, PRICE)).rejects.toMatchObject({ code: 'VoucherUnderpaid' });
    // On-chain: redeemed once, then the replay is refused and the channel is unchanged.
    await redeem(first);
    await expect(redeem(first)).rejects.toMatchObject({ code: 'PaymentChannelsVoucherNotNewer' });
    expect((await getChannel(devnet.as('buyer1'), { channelId })).redeemed).toBe(PRICE);
  });

  it('explains a rejected voucher in words a user can act on', async () => {
    const forger = getDevAccount('buyer2').account;
    const forged = await signVoucher(forger, domain, { channelId, cumulativeAmount: 2n * PRICE, requestHash });
    const err = await redeem(forged).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AgoraError);
    const { shortMessage, fix } = err as AgoraError;
    expect(shortMessage).toMatch(/^Redeeming a voucher on channel 0x[0-9a-f]{64} failed: The voucher for channel 0x[0-9a-f]{6}…[0-9a-f]{4} was signed by 0x[0-9a-fA-F]{6}…[0-9a-fA-F]{4}, not by the channel's signer 0x[0-9a-fA-F]{6}…[0-9a-fA-F]{4}\.$/);
    expect(fix).toMatchInlineSnapshot(`"it is forged, or signed for another chain or contract; sign it with the channel signer for this deployment."`);
  });
});
