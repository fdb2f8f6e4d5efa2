import { createHash } from 'node:crypto';
import type { Address, Hex } from 'viem';
import { AgoraError } from '@agora/sdk';
import { openDurableDatabase } from '../store/openDurableDatabase.ts';

/** A channel the gateway pays a provider through, as the gateway last left it. */
export type GatewayChannel = {
  channelId: Hex;
  provider: Address;
  modelId: Hex;
  /** Total deposited (initial deposit + top-ups). */
  deposit: bigint;
  /** Highest cumulative amount the gateway ever signed on this channel. */
  cumulative: bigint;
  /** Paid for but not served: the provider owes this many units of work on the channel. */
  credit: bigint;
  /** A retired channel is never used again (the provider refused it for good). */
  retired: boolean;
};

/** An API key's ledger: what it may spend and what it has spent (token base units). */
export type ApiKeyRecord = { name: string; spendLimit: bigint; spent: bigint };

/** The sha-256 of an API key: only hashes are stored, so a leaked database leaks no keys. */
export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/**
 * The gateway's durable state: the channels it pays through (so a restart never signs a voucher
 * for less than one it already sent, which the provider would refuse) and each API key's spend.
 * SQLite in WAL mode with `synchronous = FULL`: a voucher's amount is on disk before it is sent.
 *
 * @example
 * const store = openGatewayStore({ path: '.agora/gateway/gateway.db' })
 * store.upsertApiKey({ name: 'alice', keyHash: hashApiKey('sk-…'), spendLimit: 5_000_000n })
 */
export function openGatewayStore(init: { path: string }) {
  const db = openDurableDatabase(init.path);
  // Amounts are decimal text (they exceed 2^53) and compared in JS inside transactions.
  db.exec(`
    CREATE TABLE IF NOT EXISTS channels (
      channel_id TEXT PRIMARY KEY,
      provider   TEXT NOT NULL,
      model_id   TEXT NOT NULL,
      deposit    TEXT NOT NULL,
      cumulative TEXT NOT NULL DEFAULT '0',
      credit     TEXT NOT NULL DEFAULT '0',
      retired    INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE IF NOT EXISTS api_keys (
      key_hash    TEXT PRIMARY KEY,
      name        TEXT NOT NULL,
      spend_limit TEXT NOT NULL,
      spent       TEXT NOT NULL DEFAULT '0'
    );
  `);
  type ChannelRow = { channel_id: string; provider: string; model_id: string; deposit: string; cumulative: string; credit: string; retired: number };
  type KeyRow = { key_hash: string; name: string; spend_limit: string; spent: string };
  const toChannel = (row: ChannelRow): GatewayChannel => ({
    channelId: row.channel_id as Hex,
    provider: row.provider as Address,
    modelId: row.model_id as Hex,
    deposit: BigInt(row.deposit),
    cumulative: BigInt(row.cumulative),
    credit: BigInt(row.credit),
    retired: row.retired === 1,
  });
  const selectChannels = db.prepare<[string, string], ChannelRow>(
    'SELECT * FROM channels WHERE provider = ? AND model_id = ? AND retired = 0 ORDER BY rowid',
  );
  const allChannels = db.prepare<[], ChannelRow>('SELECT * FROM channels ORDER BY rowid');
  const insertChannel = db.prepare('INSERT INTO channels (channel_id, provider, model_id, deposit) VALUES (?, ?, ?, ?)');
  const updateChannel = db.prepare('UPDATE channels SET deposit = ?, cumulative = ?, credit = ?, retired = ? WHERE channel_id = ?');
  const selectKey = db.prepare<[string], KeyRow>('SELECT * FROM api_keys WHERE key_hash = ?');
  const upsertKey = db.prepare(
    `INSERT INTO api_keys (key_hash, name, spend_limit) VALUES (?, ?, ?)
     ON CONFLICT(key_hash) DO UPDATE SET name = excluded.name, spend_limit = excluded.spend_limit`,
  );
  const setSpent = db.prepare('UPDATE api_keys SET spent = ? WHERE key_hash = ?');
  const allKeyHashes = db.prepare<[], { key_hash: string }>('SELECT key_hash FROM api_keys');
  const deleteKey = db.prepare('DELETE FROM api_keys WHERE key_hash = ?');

  const reserve = db.transaction((keyHash: string, amount: bigint): ApiKeyRecord => {
    const row = selectKey.get(keyHash);
    if (!row) throw new AgoraError('InvalidApiKey', 'The API key is not known to this gateway.');
    const spent = BigInt(row.spent);
    const spendLimit = BigInt(row.spend_limit);
    if (spent + amount > spendLimit) {
      throw new AgoraError('SpendLimitReached', `API key "${row.name}" has spent ${spent} of its ${spendLimit} limit; this call costs ${amount}.`, {
        fix: 'ask the gateway operator to raise the key’s spend limit, or use another key.',
      });
    }
    setSpent.run((spent + amount).toString(), keyHash);
    return { name: row.name, spendLimit, spent: spent + amount };
  });
  const refund = db.transaction((keyHash: string, amount: bigint) => {
    const row = selectKey.get(keyHash);
    if (!row) return;
    const spent = BigInt(row.spent);
    setSpent.run((spent > amount ? spent - amount : 0n).toString(), keyHash);
  });

  return {
    /** Adds a key, or updates its name and limit (its spend so far stays). */
    upsertApiKey(key: { name: string; keyHash: string; spendLimit: bigint }) {
      upsertKey.run(key.keyHash, key.name, key.spendLimit.toString());
    },
    /** Forgets every key not in `keyHashes` (the config is the list of valid keys: one removed from it stops working). */
    retainApiKeys(keyHashes: string[]) {
      const keep = new Set(keyHashes);
      for (const { key_hash } of allKeyHashes.all()) if (!keep.has(key_hash)) deleteKey.run(key_hash);
    },
    getApiKey(keyHash: string): ApiKeyRecord | undefined {
      const row = selectKey.get(keyHash);
      return row ? { name: row.name, spendLimit: BigInt(row.spend_limit), spent: BigInt(row.spent) } : undefined;
    },
    /**
     * Counts `amount` against a key before the call it pays for.
     * @throws {AgoraError} `InvalidApiKey`, or `SpendLimitReached` (nothing changes).
     */
    reserveSpend: (keyHash: string, amount: bigint) => reserve.immediate(keyHash, amount),
    /** Gives back a reservation for a call that was not charged. */
    refundSpend: (keyHash: string, amount: bigint) => refund.immediate(keyHash, amount),
    /** The usable (not retired) channels to a provider for a model, oldest first. */
    listChannels(provider: Address, modelId: Hex): GatewayChannel[] {
      return selectChannels.all(provider.toLowerCase(), modelId.toLowerCase()).map(toChannel);
    },
    allChannels: (): GatewayChannel[] => allChannels.all().map(toChannel),
    addChannel(channel: { channelId: Hex; provider: Address; modelId: Hex; deposit: bigint }) {
      insertChannel.run(channel.channelId.toLowerCase(), channel.provider.toLowerCase(), channel.modelId.toLowerCase(), channel.deposit.toString());
    },
    /** Writes a channel's amounts (durably) — call before sending a voucher that uses them. */
    saveChannel(channel: GatewayChannel) {
      updateChannel.run(channel.deposit.toString(), channel.cumulative.toString(), channel.credit.toString(), channel.retired ? 1 : 0, channel.channelId.toLowerCase());
    },
    close() {
      db.close();
    },
  };
}

export type GatewayStore = ReturnType<typeof openGatewayStore>;
