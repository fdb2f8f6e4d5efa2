import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LocalAccount } from 'viem';
import type { AgoraWalletClient } from '@agora/sdk';
import type { GatewayConfig } from '../daemon/config.ts';
import { createChannelPool, type ChannelPool } from './channelPool.ts';
import { buildGatewayApp } from './gatewayApp.ts';
import { hashApiKey, openGatewayStore } from './gatewayStore.ts';
import { createModelCatalog } from './modelCatalog.ts';
import { createNetworkCaller } from './networkCaller.ts';

/** A running gateway role. */
export type AgoraGateway = {
  /** Where the OpenAI-compatible API listens (append `/v1` for an OpenAI client's baseURL). */
  url: string;
  /** The channels the gateway pays through (amounts signed, credits). */
  channels: ChannelPool['listChannels'];
  /** Stops taking calls and lets in-flight ones finish, then closes the store. */
  stop(): Promise<void>;
};

/**
 * Starts the gateway role: the OpenAI HTTP API over the network, paying providers through
 * channels from `client`'s wallet, with API keys and their spend limits from `config.apiKeys`.
 * State (channels, key spend) lives in `<stateDir>/gateway.db`.
 *
 * @example
 * const gateway = await startGateway({ client, config: gatewayConfig, stateDir: '.agora/gateway', log })
 * // new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey })
 */
export async function startGateway(init: {
  client: AgoraWalletClient & { account: LocalAccount };
  config: GatewayConfig;
  stateDir: string;
  log: Logger;
  /** Uniform [0, 1) source for the router (tests pass a seeded one; default Math.random). */
  rng?: () => number;
}): Promise<AgoraGateway> {
  const { client, config, log } = init;
  const store = openGatewayStore({ path: join(init.stateDir, 'gateway.db') });
  try {
    const keyHashes = config.apiKeys.map((key) => key.keyHash ?? hashApiKey(key.key!));
    config.apiKeys.forEach((key, i) => store.upsertApiKey({ name: key.name, keyHash: keyHashes[i]!, spendLimit: key.spendLimit }));
    store.retainApiKeys(keyHashes);
    if (config.apiKeys.length === 0) log.warn('the gateway has no API keys configured: every /v1 call will be refused (add gateway.apiKeys)');
    const catalog = createModelCatalog({ client });
    const pool = createChannelPool({
      client,
      store,
      deposit: config.channelDeposit,
      maxChannelsPerProvider: config.maxChannelsPerProvider,
      log: (event, fields) => log.info(fields, event),
    });
    const caller = createNetworkCaller({ client, catalog, pool, store, providerTimeoutMs: config.providerTimeoutMs, routing: config.routing, ...(init.rng ? { rng: init.rng } : {}), log: (level, event, fields) => log[level](fields, event) });
    const app = await buildGatewayApp({ catalog, caller, store, logger: log.child({ component: 'gateway-http' }) });
    // Prometheus: calls by route and status (route templates only, so URLs cannot grow the registry).
    const metrics = new Registry();
    collectDefaultMetrics({ register: metrics });
    const requests = new Counter({ name: 'agora_gateway_requests_total', help: 'Gateway requests answered, by route and status', labelNames: ['route', 'status'], registers: [metrics] });
    const signed = new Gauge({ name: 'agora_gateway_signed_amount', help: 'Total amount signed in vouchers over all channels (token base units)', registers: [metrics] });
    app.addHook('onResponse', async (request, reply) => {
      requests.inc({ route: request.routeOptions.url ?? 'unknown', status: String(reply.statusCode) });
    });
    app.get('/metrics', async (_request, reply) => {
      signed.set(Number(pool.listChannels().reduce((sum, c) => sum + c.cumulative, 0n)));
      return reply.type(metrics.contentType).send(await metrics.metrics());
    });
    const url = await app.listen({ host: config.host, port: config.port });
    log.info({ url, wallet: client.account.address }, 'gateway listening');
    let stopping: Promise<void> | undefined;
    return {
      url,
      channels: () => pool.listChannels(),
      stop: () =>
        (stopping ??= (async () => {
          await app.close();
          store.close();
        })()),
    };
  } catch (err) {
    store.close();
    throw err;
  }
}
