import type { Address, Hex, LocalAccount } from 'viem';
import { openChannel, signVoucher, topUpChannel, type AgoraWalletClient, type SignedVoucher } from '@agora/sdk';
import type { GatewayChannel, GatewayStore } from './gatewayStore.ts';

export type ChannelPoolInit = {
  /** The gateway's wallet: it opens and tops up channels and signs vouchers. */
  client: AgoraWalletClient & { account: LocalAccount };
  store: GatewayStore;
  /** Deposit of a new channel, and of each top-up (token base units). */
  deposit: bigint;
  /** Most channels open at once to one provider for one model: the most calls in flight to it. */
  maxChannelsPerProvider: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
};

/** How a paid call ended, as far as the gateway can tell. */
export type CallOutcome =
  /** Answered with a valid receipt: the payment is spent. */
  | 'served'
  /** Not served: the provider keeps the payment as credit on the channel (or never stored the voucher). */
  | 'unserved'
  /** The provider refuses this channel for good (closed, unknown, not ours, or ahead of what the gateway signed). */
  | 'channelRefused';

/** Where a channel stands in the provider's books, as its answers say. */
export type ProviderChannelView = { accepted: bigint; credit: bigint };

/** One channel held for one call: at most one call is in flight per channel. */
export type ChannelLease = {
  channel: GatewayChannel;
  /** Signs the voucher for this call (persisting the new amounts first). */
  pay(requestHash: Hex, price: bigint): Promise<SignedVoucher>;
  /**
   * Takes the provider's view of the channel as the truth for the credit: what the gateway signed
   * beyond what the provider accepted, plus the provider's credit, is what the next call may use.
   * A provider that holds more than the gateway ever signed means the gateway lost its state:
   * the channel is retired at release.
   */
  sync(view: ProviderChannelView): void;
  /** Records how the call ended and gives the channel back to the pool. */
  release(outcome: CallOutcome): void;
};

type Lane = { channels: GatewayChannel[]; busy: Set<string>; opening: number; waiters: (() => void)[]; loaded: boolean };

/**
 * The gateway's channels, one pool per (provider, model). Vouchers are cumulative, so two calls in
 * flight on one channel could reach the provider out of order and the older voucher would be
 * refused; the pool therefore keeps one call per channel and opens up to
 * `maxChannelsPerProvider` channels to serve calls in parallel. Every amount is saved before the
 * voucher that uses it is signed, so a restart never signs less than it already sent.
 *
 * Failed calls are never paid twice: the provider keeps an unserved call's payment as credit on
 * the channel, and the pool counts that credit against the next voucher there. Every provider
 * answer says where the channel stands in its books, and the pool takes that as the truth, so a
 * call cut off mid-way (client gone, connection lost) cannot leave the two sides disagreeing.
 *
 * @example
 * const lease = await pool.acquire({ provider, modelId, price })
 * const voucher = await lease.pay(requestHash, price)
 * lease.release('served')
 */
export function createChannelPool(init: ChannelPoolInit) {
  const { client, store } = init;
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const lanes = new Map<string, Lane>();
  const log = init.log ?? (() => {});
  /** Channels to retire when the call holding them ends (see `retire`). */
  const retiring = new Set<string>();
  // One wallet, one nonce sequence: transactions sent at once would take the same nonce, so the
  // pool's on-chain writes (open, top-up, and the approvals inside them) go one at a time.
  let writes: Promise<unknown> = Promise.resolve();
  const inWriteOrder = <T>(write: () => Promise<T>): Promise<T> => {
    const result = writes.then(write, write);
    writes = result.catch(() => {});
    return result;
  };

  function laneFor(provider: Address, modelId: Hex): Lane {
    const key = `${provider.toLowerCase()}:${modelId.toLowerCase()}`;
    let lane = lanes.get(key);
    if (!lane) {
      lane = { channels: [], busy: new Set(), opening: 0, waiters: [], loaded: false };
      lanes.set(key, lane);
    }
    if (!lane.loaded) {
      lane.channels = store.listChannels(provider, modelId);
      lane.loaded = true;
    }
    return lane;
  }

  function wake(lane: Lane) {
    lane.waiters.shift()?.();
  }

  /** Makes sure the channel can carry one more call of `price`, topping it up if needed. */
  async function ensureFunds(channel: GatewayChannel, price: bigint) {
    const needed = price > channel.credit ? price - channel.credit : 0n;
    if (channel.deposit - channel.cumulative >= needed) return;
    const amount = init.deposit > needed ? init.deposit : needed;
    await inWriteOrder(() => topUpChannel(client, { channelId: channel.channelId, amount }));
    channel.deposit += amount;
    store.saveChannel(channel);
    log('channel topped up', { channelId: channel.channelId, amount: amount.toString() });
  }

  function lease(lane: Lane, channel: GatewayChannel): ChannelLease {
    let price = 0n;
    let released = false;
    let synced = false;
    let behind = false;
    let dirty = false;
    return {
      channel,
      async pay(requestHash, callPrice) {
        price = callPrice;
        const creditUsed = channel.credit < price ? channel.credit : price;
        channel.cumulative += price - creditUsed;
        channel.credit -= creditUsed;
        store.saveChannel(channel); // on disk before the provider can see the voucher
        return signVoucher(client.account, domain, { channelId: channel.channelId, cumulativeAmount: channel.cumulative, requestHash });
      },
      sync({ accepted, credit }) {
        synced = true;
        if (accepted > channel.cumulative) return void (behind = true);
        const corrected = channel.cumulative - accepted + credit;
        dirty ||= corrected !== channel.credit;
        channel.credit = corrected;
      },
      release(outcome) {
        if (released) return;
        released = true;
        try {
          // Without word from the provider, an unserved call's payment is assumed to be credited
          // (the provider credits calls that fail or are cut off); its next answer corrects it.
          if (outcome !== 'served' && !synced) channel.credit += price;
          const retire = retiring.delete(channel.channelId.toLowerCase());
          if (outcome === 'channelRefused' || behind || retire) {
            channel.retired = true;
            lane.channels = lane.channels.filter((c) => c !== channel);
            log('channel retired', { channelId: channel.channelId, reason: behind ? 'the provider holds more than the gateway signed' : retire ? 'its provider was slashed for it' : 'refused by the provider' });
          }
          // A served call that changed nothing since pay() saved the amounts: skip the disk flush.
          if (outcome !== 'served' || dirty || behind || retire) store.saveChannel(channel);
        } finally {
          lane.busy.delete(channel.channelId);
          wake(lane);
        }
      },
    };
  }

  return {
    /**
     * Holds an idle channel to `provider` for `modelId` with room for one call of `price`: an idle
     * one, else a newly opened one (up to the limit), else waits for one to be released.
     */
    async acquire(params: { provider: Address; modelId: Hex; price: bigint; signal?: AbortSignal }): Promise<ChannelLease> {
      const lane = laneFor(params.provider, params.modelId);
      for (;;) {
        params.signal?.throwIfAborted();
        const idle = lane.channels.find((c) => !lane.busy.has(c.channelId));
        if (idle) {
          lane.busy.add(idle.channelId);
          try {
            await ensureFunds(idle, params.price);
          } catch (err) {
            lane.busy.delete(idle.channelId);
            wake(lane);
            throw err;
          }
          return lease(lane, idle);
        }
        if (lane.channels.length + lane.opening < init.maxChannelsPerProvider) {
          lane.opening++;
          try {
            const deposit = init.deposit > params.price ? init.deposit : params.price;
            const { channelId } = await inWriteOrder(() => openChannel(client, { provider: params.provider, modelId: params.modelId, deposit }));
            store.addChannel({ channelId, provider: params.provider, modelId: params.modelId, deposit });
            const channel: GatewayChannel = { channelId, provider: params.provider, modelId: params.modelId, deposit, cumulative: 0n, credit: 0n, retired: false };
            lane.channels.push(channel);
            lane.busy.add(channelId);
            log('channel opened', { channelId, provider: params.provider, deposit: deposit.toString() });
            return lease(lane, channel);
          } finally {
            lane.opening--;
            // An open that failed frees its slot: a caller waiting for it may open one itself.
            wake(lane);
          }
        }
        await new Promise<void>((resolve, reject) => {
          const waiter = () => {
            params.signal?.removeEventListener('abort', onAbort);
            resolve();
          };
          // A caller that gives up leaves the queue, so a release never wakes nobody.
          const onAbort = () => {
            lane.waiters = lane.waiters.filter((w) => w !== waiter);
            reject(params.signal!.reason);
          };
          params.signal?.addEventListener('abort', onAbort, { once: true });
          lane.waiters.push(waiter);
        });
      }
    },
    /**
     * Never uses a channel again (at once, or when the call holding it ends): for a channel whose
     * provider the court slashed for failures found in it. The court takes at most one slash per
     * channel, so calls there would no longer be backed by one; the next call opens a new channel.
     */
    retire(channelId: Hex, reason: string) {
      const id = channelId.toLowerCase();
      for (const lane of lanes.values()) {
        const channel = lane.channels.find((c) => c.channelId.toLowerCase() === id);
        if (!channel) continue;
        if (lane.busy.has(channel.channelId)) return void retiring.add(id);
        channel.retired = true;
        lane.channels = lane.channels.filter((c) => c !== channel);
        store.saveChannel(channel);
        return void log('channel retired', { channelId, reason });
      }
      // Not loaded in this run: retire it in the store, where the lane will read it from.
      const stored = store.allChannels().find((c) => c.channelId.toLowerCase() === id);
      if (stored && !stored.retired) {
        store.saveChannel({ ...stored, retired: true });
        log('channel retired', { channelId, reason });
      }
    },
    /** Every channel the gateway ever opened, with its amounts (for status pages and tests). */
    listChannels: () => store.allChannels(),
  };
}

export type ChannelPool = ReturnType<typeof createChannelPool>;
