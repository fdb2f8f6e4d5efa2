import { AgoraError, getChannel, redeemVoucher, type AgoraWalletClient, type GetChannelReturnType } from '@agora/sdk';
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
 * Turns stored vouchers into tokens: redeems a channel when what it owes passes the threshold or
 * its buyer started a unilateral close, and everything on `stop()` (and at `start()`, which is how a restarted provider collects what it
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

  /** Errors after which a voucher can never be redeemed: the channel is closed or its close ended. */
  const PERMANENT = new Set(['PaymentChannelsInvalidStatus', 'PaymentChannelsChallengeOver', 'PaymentChannelsInvalidVoucherSignature']);

  async function redeemWhere(predicate: (owed: bigint, channel: () => Promise<GetChannelReturnType>) => Promise<boolean>) {
    for (const voucher of init.store.listUnredeemed()) {
      const owed = voucher.cumulativeAmount - voucher.redeemed;
      try {
        if (!(await predicate(owed, () => getChannel(init.client, { channelId: voucher.channelId })))) continue;
        const { paid, providerShare, hash } = await redeemVoucher(init.client, { voucher });
        init.store.markRedeemed(voucher.channelId, voucher.cumulativeAmount);
        log('redeemed', { channelId: voucher.channelId, paid: paid.toString(), providerShare: providerShare.toString(), hash });
      } catch (err) {
        const code = err instanceof AgoraError ? err.code : undefined;
        try {
          if (code === 'PaymentChannelsVoucherNotNewer') {
            // Already redeemed up to this voucher (e.g. before a crash the store did not record it).
            const channel = await getChannel(init.client, { channelId: voucher.channelId });
            init.store.markRedeemed(voucher.channelId, channel.redeemed);
          } else if (code && PERMANENT.has(code)) {
            // Retrying cannot help; stop counting it as owed, but say loudly what was lost.
            init.store.markRedeemed(voucher.channelId, voucher.cumulativeAmount);
            log('voucher cannot be redeemed', { channelId: voucher.channelId, lost: owed.toString(), error: (err as Error).message });
          } else {
            log('redeem failed, will retry', { channelId: voucher.channelId, error: (err as Error).message });
          }
        } catch (inner) {
          log('redeem failed, will retry', { channelId: voucher.channelId, error: (inner as Error).message });
        }
      }
    }
  }

  /** Runs one pass at a time so two passes never redeem the same voucher; a failed pass never blocks the next. */
  const pass = (predicate: Parameters<typeof redeemWhere>[0]) =>
    (running = running.catch(() => {}).then(() => redeemWhere(predicate)));
  const everything = async () => true;
  /** Over the threshold, or the buyer started a unilateral close: redeem before its challenge period ends. */
  const due = async (owed: bigint, channel: () => Promise<GetChannelReturnType>) =>
    owed >= init.threshold || (await channel()).status !== 'Open';

  return {
    /** Redeems everything owed now, then keeps watching the threshold. */
    async start() {
      await pass(everything);
      timer = setInterval(() => void pass(due).catch(() => {}), init.intervalMs ?? 5_000);
    },
    /** Redeems every channel that owes anything (shutdown, or on demand). */
    redeemAll: () => pass(everything),
    async stop() {
      clearInterval(timer);
      await pass(everything);
    },
  };
}
