import { describe, expect, it } from 'vitest';
import { keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { isCanonicalSignature, recoverVoucherSigner, signVoucher, verifyVoucher } from './voucher.ts';

const buyer = privateKeyToAccount('0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e');
const domain = { chainId: 31337, paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9' } as const;
const channelId = keccak256(toHex('channel'));
const requestHash = keccak256(toHex('request'));
const check = { domain, signer: buyer.address, previousCumulative: 1_000n, price: 1_000n, deposit: 10_000n };

describe('vouchers off-chain', () => {
  it('accepts a voucher from the channel signer that adds the price, and returns the increment', async () => {
    const voucher = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 2_500n, requestHash });
    expect(await recoverVoucherSigner(domain, voucher)).toBe(buyer.address);
    expect(await verifyVoucher({ ...check, voucher })).toBe(1_500n);
  });

  it('says why a voucher is refused and what the buyer should send instead', async () => {
    const underpaid = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 1_500n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: underpaid })).rejects.toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The voucher adds 500 but the call costs 1000.

      Fix: sign a voucher for cumulative amount 2000 or more.]
    `);
    const beyondDeposit = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 10_001n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: beyondDeposit })).rejects.toMatchObject({ code: 'ChannelExhausted' });
    const replay = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 1_000n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: replay })).rejects.toMatchObject({ code: 'VoucherReplayed' });
    await expect(verifyVoucher({ ...check, voucher: { ...replay, signature: '0x1234' } })).rejects.toMatchObject({ code: 'VoucherForged' });
  });

  it('refuses the malleable twins of a valid signature, which the contract would never redeem', async () => {
    const voucher = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 2_000n, requestHash });
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const r = voucher.signature.slice(2, 66);
    const s = BigInt(`0x${voucher.signature.slice(66, 130)}`);
    const v = Number.parseInt(voucher.signature.slice(130), 16);
    const highS = `0x${r}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as const;
    const vZeroOne = `0x${r}${voucher.signature.slice(66, 130)}${(v - 27).toString(16).padStart(2, '0')}` as const;
    // Both still recover the buyer off-chain...
    expect(await recoverVoucherSigner(domain, { ...voucher, signature: highS })).toBe(buyer.address);
    expect(await recoverVoucherSigner(domain, { ...voucher, signature: vZeroOne })).toBe(buyer.address);
    // ...but a provider must not serve for them.
    for (const signature of [highS, vZeroOne]) {
      await expect(verifyVoucher({ ...check, voucher: { ...voucher, signature } })).rejects.toMatchObject({ code: 'VoucherForged' });
    }
    expect(isCanonicalSignature(voucher.signature)).toBe(true);
  });
});
