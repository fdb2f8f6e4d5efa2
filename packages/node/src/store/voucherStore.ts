import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Hex } from 'viem';
import { AgoraError, type SignedVoucher } from '@agora/sdk';

/** The newest voucher a provider accepted on a channel, and how much of it is on-chain already. */
export type StoredVoucher = SignedVoucher & {
  /** Cumulative amount already redeemed on-chain. */
  redeemed: bigint;
  /** Unix ms when the newest voucher was stored. */
  receivedAt: number;
};

export type VoucherStoreInit = {
  /** SQLite file; `:memory:` for tests that do not need durability. */
  path: string;
};

/**
 * The provider's durable record of vouchers. A voucher is written (and fsynced: WAL with
 * `synchronous = FULL`) BEFORE the call it pays for runs, so a crash after the answer was sent can
 * never lose money that was earned. Only the newest voucher per channel matters (amounts are
 * cumulative), so the store keeps one row per channel and refuses to go backwards.
 *
 * @example
 * const store = openVoucherStore({ path: '.agora/provider1/node.db' })
 * store.accept(voucher)         // before running the model
 * for (const v of store.listUnredeemed()) await redeemVoucher(client, { voucher: v })
 */
export function openVoucherStore(init: VoucherStoreInit) {
  if (init.path !== ':memory:') mkdirSync(dirname(init.path), { recursive: true });
  const db = new Database(init.path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec(`
    CREATE TABLE IF NOT EXISTS vouchers (
      channel_id        TEXT PRIMARY KEY,
      cumulative_amount TEXT NOT NULL,
      request_hash      TEXT NOT NULL,
      signature         TEXT NOT NULL,
      redeemed          TEXT NOT NULL DEFAULT '0',
      received_at       INTEGER NOT NULL
    );
  `);
  // Amounts are stored as decimal text (they exceed 2^53); comparisons happen in JS under the
  // transaction's lock, never in SQL.
  const select = db.prepare<[string], { channel_id: string; cumulative_amount: string; request_hash: string; signature: string; redeemed: string; received_at: number }>(
    'SELECT * FROM vouchers WHERE channel_id = ?',
  );
  const upsert = db.prepare(
    `INSERT INTO vouchers (channel_id, cumulative_amount, request_hash, signature, received_at)
     VALUES (@channelId, @cumulativeAmount, @requestHash, @signature, @receivedAt)
     ON CONFLICT(channel_id) DO UPDATE SET cumulative_amount = excluded.cumulative_amount,
       request_hash = excluded.request_hash, signature = excluded.signature, received_at = excluded.received_at`,
  );
  const setRedeemed = db.prepare('UPDATE vouchers SET redeemed = ? WHERE channel_id = ?');
  const remove = db.prepare('DELETE FROM vouchers WHERE channel_id = ?');
  const all = db.prepare<[], { channel_id: string }>('SELECT channel_id FROM vouchers');

  const toVoucher = (row: NonNullable<ReturnType<typeof select.get>>): StoredVoucher => ({
    channelId: row.channel_id as Hex,
    cumulativeAmount: BigInt(row.cumulative_amount),
    requestHash: row.request_hash as Hex,
    signature: row.signature as Hex,
    redeemed: BigInt(row.redeemed),
    receivedAt: row.received_at,
  });

  const get = (channelId: Hex): StoredVoucher | undefined => {
    const row = select.get(channelId.toLowerCase());
    return row ? toVoucher(row) : undefined;
  };

  const accept = db.transaction((voucher: SignedVoucher, expectedPrevious: bigint): StoredVoucher => {
    const current = get(voucher.channelId);
    const previous = current?.cumulativeAmount ?? 0n;
    // Two calls verified against the same previous voucher race here: only one may win, the
    // other must be re-verified (it would otherwise pay for a call with the first call's money).
    if (previous !== expectedPrevious) {
      throw new AgoraError('VoucherRaced', `Another call on channel ${voucher.channelId} was paid first.`, {
        fix: `sign a voucher on top of cumulative amount ${previous}.`,
      });
    }
    if (voucher.cumulativeAmount <= previous) {
      throw new AgoraError('VoucherReplayed', `The voucher owes ${voucher.cumulativeAmount}, not more than the ${previous} already accepted.`);
    }
    upsert.run({
      channelId: voucher.channelId.toLowerCase(),
      cumulativeAmount: voucher.cumulativeAmount.toString(),
      requestHash: voucher.requestHash,
      signature: voucher.signature,
      receivedAt: Date.now(),
    });
    return get(voucher.channelId)!;
  });

  const rollback = db.transaction((stored: SignedVoucher, previous: StoredVoucher | undefined): boolean => {
    const current = get(stored.channelId);
    if (!current || current.cumulativeAmount !== stored.cumulativeAmount || current.signature !== stored.signature) return false;
    if (previous) {
      upsert.run({
        channelId: previous.channelId.toLowerCase(),
        cumulativeAmount: previous.cumulativeAmount.toString(),
        requestHash: previous.requestHash,
        signature: previous.signature,
        receivedAt: previous.receivedAt,
      });
    } else {
      remove.run(stored.channelId.toLowerCase());
    }
    return true;
  });

  return {
    /**
     * Gives back a call's payment when the call failed: restores the channel's previous voucher if
     * `stored` is still the newest. Returns false (and changes nothing) if another call was paid on
     * top of it meanwhile.
     */
    rollback: (stored: SignedVoucher, previous: StoredVoucher | undefined) => rollback.immediate(stored, previous),
    /** The newest accepted voucher on a channel. */
    get,
    /**
     * Stores `voucher` as the newest on its channel, durably, if the channel's newest is still
     * `expectedPrevious` (what the caller verified against). Call before running the model.
     * @throws {AgoraError} `VoucherRaced` or `VoucherReplayed`.
     */
    accept: (voucher: SignedVoucher, expectedPrevious: bigint) => accept.immediate(voucher, expectedPrevious),
    /** Records that `amount` (cumulative) of a channel is redeemed on-chain. */
    markRedeemed(channelId: Hex, amount: bigint) {
      setRedeemed.run(amount.toString(), channelId.toLowerCase());
    },
    /** Channels whose newest voucher owes more than was redeemed: what a restart must redeem. */
    listUnredeemed(): StoredVoucher[] {
      return all
        .all()
        .map((row) => get(row.channel_id as Hex)!)
        .filter((v) => v.cumulativeAmount > v.redeemed);
    },
    /** Sum over channels of accepted but not yet redeemed amounts. */
    getUnredeemedTotal(): bigint {
      return this.listUnredeemed().reduce((sum, v) => sum + v.cumulativeAmount - v.redeemed, 0n);
    },
    close() {
      db.close();
    },
  };
}

/** An open voucher store. */
export type VoucherStore = ReturnType<typeof openVoucherStore>;
