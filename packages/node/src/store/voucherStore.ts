import type { Hex } from 'viem';
import { AgoraError, type SignedVoucher } from '@agora/sdk';
import { openDurableDatabase } from './openDurableDatabase.ts';

/** The newest voucher a provider accepted on a channel, and how much of it is on-chain already. */
export type StoredVoucher = SignedVoucher & {
  /** Cumulative amount already redeemed on-chain. */
  redeemed: bigint;
  /**
   * What the provider owes the buyer in calls on this channel: payments of calls that failed or
   * were never answered. A later voucher may pay with it (its increment plus the credit must
   * cover the price).
   */
  credit: bigint;
  /** Unix ms when the newest voucher was stored. */
  receivedAt: number;
};

/** A call whose payment the store accepted: what {@link VoucherStore.finish} or {@link VoucherStore.refund} takes. */
export type PaidCall = {
  channelId: Hex;
  cumulativeAmount: bigint;
  requestHash: Hex;
  /** What the call paid: the voucher's increment plus the credit it used. A refund credits all of it. */
  paid: bigint;
  /** The part of `paid` taken from the channel's credit. */
  creditUsed: bigint;
};

export type AcceptVoucherParameters = {
  /**
   * The newest voucher the caller verified against (`get()` before verifying), or undefined when
   * there was none. If another call was stored since, the voucher is refused with `VoucherRaced`:
   * it was checked against money that is spent.
   */
  expectedPrevious: Pick<SignedVoucher, 'cumulativeAmount' | 'requestHash'> | undefined;
  /** What the call costs. */
  price: bigint;
  /** Cumulative amount already redeemed on-chain (a voucher must not go below it). Default 0. */
  redeemed?: bigint | undefined;
};

export type VoucherStoreInit = {
  /** SQLite file; `:memory:` for tests that do not need durability. */
  path: string;
};

/**
 * The provider's durable record of vouchers, calls and credits. A voucher is written (and
 * fsynced: WAL with `synchronous = FULL`) BEFORE the call it pays for runs, so a crash after the
 * answer was sent can never lose money that was earned. Only the newest voucher per channel
 * matters for redeeming (amounts are cumulative), so the store keeps one row per channel and
 * refuses to go backwards.
 *
 * Failed calls are not rolled back (a later call may already be paid on top: the buyer would lose
 * the money): their payment becomes the channel's **credit**, which later vouchers spend. Each
 * accepted call has a row, `running` until it is answered; a row still `running` when the store
 * opens is a call a crash cut off, and becomes credit too. Answered rows at the channel's current
 * cumulative amount are kept so a voucher cannot pay for two calls (a zero-increment voucher is
 * valid only against credit).
 *
 * @example
 * const store = openVoucherStore({ path: '.agora/provider1/node.db' })
 * const { call } = store.accept(voucher, { expectedPrevious, price }) // before running the model
 * try { …run…; store.finish(call) } catch { store.refund(call) }
 * for (const v of store.listUnredeemed()) await redeemVoucher(client, { voucher: v })
 */
export function openVoucherStore(init: VoucherStoreInit) {
  const db = openDurableDatabase(init.path);
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
  db.transaction(() => {
    const columns = db.prepare<[], { name: string }>('PRAGMA table_info(vouchers)').all();
    if (columns.some((c) => c.name === 'credit')) return;
    // A store from before credits: its stored vouchers' calls were all answered (or rolled back).
    db.exec(`
      ALTER TABLE vouchers ADD COLUMN credit TEXT NOT NULL DEFAULT '0';
      CREATE TABLE calls (
        channel_id        TEXT NOT NULL,
        cumulative_amount TEXT NOT NULL,
        request_hash      TEXT NOT NULL,
        paid              TEXT NOT NULL,
        state             TEXT NOT NULL CHECK (state IN ('running', 'answered')),
        PRIMARY KEY (channel_id, cumulative_amount, request_hash)
      );
      INSERT INTO calls SELECT channel_id, cumulative_amount, lower(request_hash), '0', 'answered' FROM vouchers;
    `);
  }).immediate();

  // Amounts are stored as decimal text (they exceed 2^53); comparisons and sums happen in JS under
  // the transaction's lock, never in SQL.
  type Row = { channel_id: string; cumulative_amount: string; request_hash: string; signature: string; redeemed: string; credit: string; received_at: number };
  const select = db.prepare<[string], Row>('SELECT * FROM vouchers WHERE channel_id = ?');
  const upsert = db.prepare(
    `INSERT INTO vouchers (channel_id, cumulative_amount, request_hash, signature, credit, received_at)
     VALUES (@channelId, @cumulativeAmount, @requestHash, @signature, @credit, @receivedAt)
     ON CONFLICT(channel_id) DO UPDATE SET cumulative_amount = excluded.cumulative_amount,
       request_hash = excluded.request_hash, signature = excluded.signature, credit = excluded.credit,
       received_at = excluded.received_at`,
  );
  const setRedeemed = db.prepare('UPDATE vouchers SET redeemed = ? WHERE channel_id = ?');
  const setCredit = db.prepare('UPDATE vouchers SET credit = ? WHERE channel_id = ?');
  const all = db.prepare<[], { channel_id: string }>('SELECT channel_id FROM vouchers');
  type CallKey = { channelId: string; cumulativeAmount: string; requestHash: string };
  const selectCall = db.prepare<CallKey, { paid: string; state: 'running' | 'answered' }>(
    'SELECT paid, state FROM calls WHERE channel_id = @channelId AND cumulative_amount = @cumulativeAmount AND request_hash = @requestHash',
  );
  const insertCall = db.prepare(
    `INSERT INTO calls (channel_id, cumulative_amount, request_hash, paid, state) VALUES (@channelId, @cumulativeAmount, @requestHash, @paid, 'running')`,
  );
  const answerCall = db.prepare(
    `UPDATE calls SET state = 'answered' WHERE channel_id = @channelId AND cumulative_amount = @cumulativeAmount AND request_hash = @requestHash AND state = 'running'`,
  );
  const deleteCall = db.prepare(
    `DELETE FROM calls WHERE channel_id = @channelId AND cumulative_amount = @cumulativeAmount AND request_hash = @requestHash AND state = 'running'`,
  );
  // Answered calls below a channel's new cumulative amount can never be paid again by a voucher
  // (it would go backwards), so their rows are dropped: the table stays as small as the traffic in flight.
  const pruneAnswered = db.prepare(`DELETE FROM calls WHERE channel_id = ? AND state = 'answered' AND cumulative_amount != ?`);
  const running = db.prepare<[], { channel_id: string; paid: string }>(`SELECT channel_id, paid FROM calls WHERE state = 'running'`);
  const deleteRunning = db.prepare(`DELETE FROM calls WHERE state = 'running'`);

  const toVoucher = (row: Row): StoredVoucher => ({
    channelId: row.channel_id as Hex,
    cumulativeAmount: BigInt(row.cumulative_amount),
    requestHash: row.request_hash as Hex,
    signature: row.signature as Hex,
    redeemed: BigInt(row.redeemed),
    credit: BigInt(row.credit),
    receivedAt: row.received_at,
  });
  const keyOf = (v: Pick<SignedVoucher, 'channelId' | 'cumulativeAmount' | 'requestHash'>): CallKey => ({
    channelId: v.channelId.toLowerCase(),
    cumulativeAmount: v.cumulativeAmount.toString(),
    requestHash: v.requestHash.toLowerCase(),
  });

  const get = (channelId: Hex): StoredVoucher | undefined => {
    const row = select.get(channelId.toLowerCase());
    return row ? toVoucher(row) : undefined;
  };
  const addCredit = (channelId: string, amount: bigint): bigint => {
    const row = select.get(channelId);
    if (!row) return 0n; // a call is only accepted with its voucher row, which is never deleted
    const credit = BigInt(row.credit) + amount;
    setCredit.run(credit.toString(), channelId);
    return credit;
  };

  // Calls cut off by a crash were paid but never answered: the buyer gets them back as credit.
  // (The voucher stays: what it owes is valid on-chain; the credit is served later.)
  db.transaction(() => {
    for (const call of running.all()) addCredit(call.channel_id, BigInt(call.paid));
    deleteRunning.run();
  }).immediate();

  const accept = db.transaction((voucher: SignedVoucher, { expectedPrevious, price, redeemed = 0n }: AcceptVoucherParameters) => {
    const current = get(voucher.channelId);
    const same = (a: typeof expectedPrevious, b: typeof expectedPrevious) =>
      a === b || (!!a && !!b && a.cumulativeAmount === b.cumulativeAmount && a.requestHash.toLowerCase() === b.requestHash.toLowerCase());
    // Two calls verified against the same previous voucher race here: only one may win, the
    // other must be re-verified (it would otherwise pay for a call with the first call's money).
    if (!same(current, expectedPrevious)) {
      throw new AgoraError('VoucherRaced', `Another call on channel ${voucher.channelId} was paid first.`, {
        fix: `sign a voucher on top of cumulative amount ${current?.cumulativeAmount ?? 0n}.`,
      });
    }
    const stored = current?.cumulativeAmount ?? 0n;
    const base = stored > redeemed ? stored : redeemed;
    const credit = current?.credit ?? 0n;
    const key = keyOf(voucher);
    if (voucher.cumulativeAmount < base || (voucher.cumulativeAmount === base && (credit < price || selectCall.get(key)))) {
      throw new AgoraError('VoucherReplayed', `The voucher owes ${voucher.cumulativeAmount}, not more than the ${base} already accepted.`, {
        fix:
          credit > 0n
            ? `the channel has a credit of ${credit}: sign a voucher for cumulative amount ${base + (price > credit ? price - credit : 0n)} or more for this request.`
            : `sign a voucher for cumulative amount ${base + price} or more.`,
      });
    }
    const increment = voucher.cumulativeAmount - base;
    if (increment + credit < price) {
      throw new AgoraError('VoucherUnderpaid', `The voucher adds ${increment} and the channel's credit is ${credit}, but the call costs ${price}.`, {
        fix: `sign a voucher for cumulative amount ${base + price - credit} or more.`,
      });
    }
    // Spend only the credit the increment does not cover; an overpayment is kept (as before credits).
    const creditUsed = increment >= price ? 0n : price - increment;
    upsert.run({
      channelId: key.channelId,
      cumulativeAmount: key.cumulativeAmount,
      requestHash: voucher.requestHash,
      signature: voucher.signature,
      credit: (credit - creditUsed).toString(),
      receivedAt: Date.now(),
    });
    if (increment > 0n) pruneAnswered.run(key.channelId, key.cumulativeAmount);
    const paid = increment + creditUsed;
    insertCall.run({ ...key, paid: paid.toString() });
    const call: PaidCall = { channelId: voucher.channelId, cumulativeAmount: voucher.cumulativeAmount, requestHash: voucher.requestHash, paid, creditUsed };
    return { voucher: get(voucher.channelId)!, call };
  });

  const refund = db.transaction((call: PaidCall): bigint => {
    const key = keyOf(call);
    // Refunding twice, or a call already answered, must not mint credit.
    if (deleteCall.run(key).changes === 0) return get(call.channelId)?.credit ?? 0n;
    return addCredit(key.channelId, call.paid);
  });

  return {
    /** The newest accepted voucher on a channel, with its credit. */
    get,
    /** What the provider owes the buyer in calls on a channel (token base units); 0 for an unknown channel. */
    getCredit: (channelId: Hex): bigint => get(channelId)?.credit ?? 0n,
    /**
     * Stores `voucher` as the newest on its channel and records its call as running, durably, in
     * one transaction, spending the channel's credit where the voucher's increment falls short of
     * `price`. Call before running the model. The voucher must add to the newest stored (or the
     * redeemed) amount, or be at the same amount and be covered by credit and not have paid a
     * call already.
     * @throws {AgoraError} `VoucherRaced`, `VoucherReplayed` or `VoucherUnderpaid`.
     */
    accept: (voucher: SignedVoucher, parameters: AcceptVoucherParameters): { voucher: StoredVoucher; call: PaidCall } =>
      accept.immediate(voucher, parameters),
    /** Records that a call was answered: its payment is earned and its voucher cannot pay again. */
    finish(call: PaidCall): void {
      answerCall.run(keyOf(call));
    },
    /**
     * Gives a call that failed (or was never answered) its payment back as channel credit.
     * Returns the channel's credit after. Idempotent.
     */
    refund: (call: PaidCall): bigint => refund.immediate(call),
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
