import { AgoraError, getChannel, redeemVoucher, type AgoraWalletClient } from '@agora/sdk';
import type { VoucherStore } from '../store/voucherStore.ts';

export type RedeemerInit = {
  client: AgoraWalletClient;
  store: VoucherStore;
  /** Redeem a channel once its unredeemed amount reaches this (token base units). */
  threshold: bigint;
  /** How often to look, ms (default 5 s). */
  intervalMs?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
};

/**
 * Turns stored vouchers into tokens: redeems a channel when what it owes passes the threshold,
 * and everything on `stop()` (and at `start()`, which is how a restarted provider collects what it
 * acknowledged before a crash).
 *
 * @example
 * const redeemer = createRedeemer({ client, store, threshold: 100_000n })
 * await redeemer.start(); …; await redeemer.stop()
 */
export function createRedeemer(init: RedeemerInit) {
  const log = init.log ?? (() => {});
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  async function redeemWhere(predicate: (owed: bigint) => boolean) {
    for (const voucher of init.store.listUnredeemed()) {
      const owed = voucher.cumulativeAmount - voucher.redeemed;
      if (!predicate(owed)) continue;
      try {
        const { paid, providerShare, hash } = await redeemVoucher(init.client, { voucher });
        init.store.markRedeemed(voucher.channelId, voucher.cumulativeAmount);
        log('redeemed', { channelId: voucher.channelId, paid: paid.toString(), providerShare: providerShare.toString(), hash });
      } catch (err) {
        // Already redeemed up to this voucher (e.g. before a crash the store did not record it).
        if (err instanceof AgoraError && err.code === 'PaymentChannelsVoucherNotNewer') {
          const channel = await getChannel(init.client, { channelId: voucher.channelId });
          init.store.markRedeemed(voucher.channelId, channel.redeemed);
          continue;
        }
        log('redeem failed', { channelId: voucher.channelId, error: (err as Error).message });
      }
    }
  }

  /** Runs one pass at a time so two passes never redeem the same voucher. */
  const pass = (predicate: (owed: bigint) => boolean) => (running = running.then(() => redeemWhere(predicate)));

  return {
    /** Redeems everything owed now, then keeps watching the threshold. */
    async start() {
      await pass(() => true);
      timer = setInterval(() => void pass((owed) => owed >= init.threshold), init.intervalMs ?? 5_000);
    },
    /** Redeems every channel that owes anything (shutdown, or on demand). */
    redeemAll: () => pass(() => true),
    async stop() {
      clearInterval(timer);
      await pass(() => true);
    },
  };
}
