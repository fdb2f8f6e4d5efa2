import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { keccak256, toHex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { signVoucher } from '@agora/sdk';
import { openVoucherStore } from './voucherStore.ts';

const buyer = privateKeyToAccount('0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e');
const domain = { chainId: 31337, paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9' } as const;
const channelId = keccak256(toHex('channel A'));
const voucher = (amount: bigint) => signVoucher(buyer, domain, { channelId, cumulativeAmount: amount, requestHash: keccak256(toHex(`r${amount}`)) });

describe('voucher store', () => {
  it('keeps the newest voucher per channel across a reopen, and what is left to redeem', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'agora-store-')), 'node.db');
    let store = openVoucherStore({ path });
    store.accept(await voucher(1_000n), 0n);
    store.accept(await voucher(2_000n), 1_000n);
    store.close();

    store = openVoucherStore({ path });
    const stored = store.get(channelId);
    expect(stored).toMatchObject({ cumulativeAmount: 2_000n, redeemed: 0n });
    expect(store.getUnredeemedTotal()).toBe(2_000n);
    store.markRedeemed(channelId, 2_000n);
    expect(store.listUnredeemed()).toEqual([]);
    store.close();
  });

  it('refuses a stale voucher and a voucher verified against an outdated previous one', async () => {
    const store = openVoucherStore({ path: ':memory:' });
    store.accept(await voucher(1_000n), 0n);
    const stale = await voucher(500n);
    expect(() => store.accept(stale, 1_000n)).toThrow(/not more than the 1000 already accepted/);
    // Two calls both verified against cumulative 1,000: the second loses the race.
    const a = store.accept(await voucher(2_000n), 1_000n);
    expect(a.cumulativeAmount).toBe(2_000n);
    const late = await voucher(2_500n);
    expect(() => store.accept(late, 1_000n)).toThrow(expect.objectContaining({ code: 'VoucherRaced' }));
    expect(store.get(channelId)?.cumulativeAmount).toBe(2_000n);
    store.close();
  });
});
