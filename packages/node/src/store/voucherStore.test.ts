import Database from 'better-sqlite3';
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
const PRICE = 1_000n;
const voucher = (amount: bigint, request = `r${amount}`) =>
  signVoucher(buyer, domain, { channelId, cumulativeAmount: amount, requestHash: keccak256(toHex(request)) });
const tempPath = () => join(mkdtempSync(join(tmpdir(), 'agora-store-')), 'node.db');

describe('voucher store', () => {
  it('keeps the newest voucher per channel across a reopen, and what is left to redeem', async () => {
    const path = tempPath();
    let store = openVoucherStore({ path });
    const first = store.accept(await voucher(1_000n), { expectedPrevious: undefined, price: PRICE });
    store.finish(first.call);
    const second = store.accept(await voucher(2_000n), { expectedPrevious: first.voucher, price: PRICE });
    store.finish(second.call);
    store.close();

    store = openVoucherStore({ path });
    const stored = store.get(channelId);
    expect(stored).toMatchObject({ cumulativeAmount: 2_000n, redeemed: 0n, credit: 0n });
    expect(store.getUnredeemedTotal()).toBe(2_000n);
    store.markRedeemed(channelId, 2_000n);
    expect(store.listUnredeemed()).toEqual([]);
    store.close();
  });

  it('refuses a stale voucher and a voucher verified against an outdated previous one', async () => {
    const store = openVoucherStore({ path: ':memory:' });
    const first = store.accept(await voucher(1_000n), { expectedPrevious: undefined, price: PRICE }).voucher;
    const stale = await voucher(500n);
    expect(() => store.accept(stale, { expectedPrevious: first, price: PRICE })).toThrow(/not more than the 1000 already accepted/);
    // Two calls both verified against cumulative 1,000: the second loses the race.
    const a = store.accept(await voucher(2_000n), { expectedPrevious: first, price: PRICE });
    expect(a.voucher.cumulativeAmount).toBe(2_000n);
    const late = await voucher(2_500n);
    expect(() => store.accept(late, { expectedPrevious: first, price: PRICE })).toThrow(expect.objectContaining({ code: 'VoucherRaced' }));
    expect(store.get(channelId)?.cumulativeAmount).toBe(2_000n);
    store.close();
  });

  it('turns a failed call into credit that later vouchers spend, even with a later call paid on top', async () => {
    const store = openVoucherStore({ path: ':memory:' });
    // Two calls in flight: A (pays 1,500, overpaying) then B on top of it. A fails, B is answered.
    const a = store.accept(await voucher(1_500n), { expectedPrevious: undefined, price: PRICE });
    const b = store.accept(await voucher(2_500n), { expectedPrevious: a.voucher, price: PRICE });
    expect(store.refund(a.call)).toBe(1_500n);
    expect(store.refund(a.call)).toBe(1_500n); // idempotent: a second refund mints nothing
    store.finish(b.call);
    expect(store.get(channelId)).toMatchObject({ cumulativeAmount: 2_500n, credit: 1_500n });
    expect(store.refund(b.call)).toBe(1_500n); // an answered call cannot be refunded

    // B's voucher cannot pay again, although the credit would cover it.
    const replay = await voucher(2_500n);
    expect(() => store.accept(replay, { expectedPrevious: b.voucher, price: PRICE })).toThrow(expect.objectContaining({ code: 'VoucherReplayed' }));
    // The credit pays a whole call: same cumulative amount, another request.
    const c = store.accept(await voucher(2_500n, 'c'), { expectedPrevious: b.voucher, price: PRICE });
    expect(c.call).toMatchObject({ paid: PRICE, creditUsed: PRICE });
    store.finish(c.call);
    // 500 of credit is left: a voucher adding price - credit is enough; less is not.
    expect(store.getCredit(channelId)).toBe(500n);
    const short = await voucher(2_999n, 'd');
    expect(() => store.accept(short, { expectedPrevious: c.voucher, price: PRICE })).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The voucher adds 499 and the channel's credit is 500, but the call costs 1000.

      Fix: sign a voucher for cumulative amount 3000 or more.]
    `);
    const d = store.accept(await voucher(3_000n, 'd'), { expectedPrevious: c.voucher, price: PRICE });
    expect(d.call).toMatchObject({ paid: PRICE, creditUsed: 500n });
    expect(store.getCredit(channelId)).toBe(0n);
    // The redeemer still redeems the newest voucher: everything the buyer signed is owed on-chain.
    expect(store.listUnredeemed()).toMatchObject([{ cumulativeAmount: 3_000n }]);
    store.close();
  });

  it('lets a failed call be retried with the very same voucher, once, on its credit', async () => {
    const store = openVoucherStore({ path: ':memory:' });
    const v = await voucher(1_000n);
    const first = store.accept(v, { expectedPrevious: undefined, price: PRICE });
    store.refund(first.call);
    const retry = store.accept(v, { expectedPrevious: first.voucher, price: PRICE });
    expect(retry.call.creditUsed).toBe(PRICE);
    store.finish(retry.call);
    expect(() => store.accept(v, { expectedPrevious: retry.voucher, price: PRICE })).toThrow(expect.objectContaining({ code: 'VoucherReplayed' }));
    store.close();
  });

  it('credits calls that were running when the provider crashed, once', async () => {
    const path = tempPath();
    let store = openVoucherStore({ path });
    const done = store.accept(await voucher(1_000n), { expectedPrevious: undefined, price: PRICE });
    store.finish(done.call);
    store.accept(await voucher(2_000n), { expectedPrevious: done.voucher, price: PRICE }); // running at the "crash"
    store.close();

    store = openVoucherStore({ path });
    expect(store.get(channelId)).toMatchObject({ cumulativeAmount: 2_000n, credit: 1_000n });
    store.close();
    store = openVoucherStore({ path });
    expect(store.getCredit(channelId)).toBe(1_000n);
    expect(store.getUnredeemedTotal()).toBe(2_000n);
    store.close();
  });

  it('opens a store written before credits: its vouchers keep their amounts and cannot pay again', async () => {
    const path = tempPath();
    const old = new Database(path);
    old.exec(`CREATE TABLE vouchers (channel_id TEXT PRIMARY KEY, cumulative_amount TEXT NOT NULL, request_hash TEXT NOT NULL,
      signature TEXT NOT NULL, redeemed TEXT NOT NULL DEFAULT '0', received_at INTEGER NOT NULL)`);
    const v = await voucher(1_000n);
    old.prepare('INSERT INTO vouchers VALUES (?, ?, ?, ?, ?, ?)').run(channelId, '1000', v.requestHash, v.signature, '0', Date.now());
    old.close();

    const store = openVoucherStore({ path });
    const stored = store.get(channelId)!;
    expect(stored).toMatchObject({ cumulativeAmount: 1_000n, credit: 0n });
    expect(() => store.accept(v, { expectedPrevious: stored, price: 0n })).toThrow(expect.objectContaining({ code: 'VoucherReplayed' }));
    store.close();
  });
});
