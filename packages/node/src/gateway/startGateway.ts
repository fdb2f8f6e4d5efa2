import { join } from 'node:path';
import type { Logger } from 'pino';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { LocalAccount } from 'viem';
import { AgoraError, type AgoraWalletClient } from '@agora/sdk';
import { isLoopbackHost, type GatewayConfig } from '../daemon/config.ts';
import { createCleanupStack } from '../daemon/cleanupStack.ts';
import { createChannelPool, type ChannelPool } from './channelPool.ts';
import { buildGatewayApp } from './gatewayApp.ts';
import { listRoutes, type HttpRoute } from '../httpGuards.ts';
import { hashApiKey, openGatewayStore } from './gatewayStore.ts';
import { createModelCatalog } from './modelCatalog.ts';
import { createNetworkCaller } from './networkCaller.ts';
import { openEvidenceStore } from '../audits/evidenceStore.ts';
import { createAuditPolicy } from '../market/auditPolicy.ts';
import { createGatewayAuditor, type GatewayAuditor } from './gatewayAuditor.ts';
import { createCanarySender, loadCanaries, type CanarySender } from './canaries.ts';
import { createEpochPublisher, type EpochPublisher } from './epochPublisher.ts';
import { createUptimeProber } from './uptimeProber.ts';

/** A running gateway role. */
export type AgoraGateway = {
  /** Where the OpenAI-compatible API listens (append `/v1` for an OpenAI client's baseURL). */
  url: string;
  /** The channels the gateway pays through (amounts signed, credits). */
  channels: ChannelPool['listChannels'];
  /** Every route the API answers, as fastify matches it (public ones in GATEWAY_PUBLIC_ROUTES, the rest need a key). */
  routes: readonly HttpRoute[];
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
  // What to close, newest first: the HTTP server (no new calls), canaries, audits, then the stores.
  const cleanup = createCleanupStack();
  cleanup.push(() => store.close());
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
    const logAs = (component: string) => (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => log[level]({ component, ...fields }, event);
    // Audits and canaries watch the providers this gateway pays (late-bound: they need the caller's router).
    let auditor: GatewayAuditor | undefined;
    let canaries: CanarySender | undefined;
    const caller = createNetworkCaller({
      client,
      catalog,
      pool,
      store,
      providerTimeoutMs: config.providerTimeoutMs,
      routing: config.routing,
      ...(init.rng ? { rng: init.rng } : {}),
      afterServed: (call) => {
        auditor?.sample(call);
        canaries?.afterServed(call);
      },
      log: logAs('router'),
    });
    const audits = config.audits;
    // Where verifiers fetch evidence: the configured public URL, else where the server listens (known after listen).
    let publicUrl = config.publicUrl;
    if (audits.enabled && !client.deployment.contracts.auditCourt) {
      log.warn('this deployment has no AuditCourt: the gateway opens no audits and sends no canaries');
    } else if (audits.enabled) {
      if (!config.publicUrl && !isLoopbackHost(config.host)) {
        throw new AgoraError('InvalidConfig', `The gateway listens on ${config.host} and opens audits, but has no gateway.publicUrl.`, {
          fix: 'set gateway.publicUrl to the URL verifiers reach this gateway at (audits name it as where their evidence is), or set gateway.audits.enabled to false.',
        });
      }
      if (!config.publicUrl) log.info('audit evidence is offered at a loopback address: only verifiers on this machine can fetch it (set gateway.publicUrl for a real network)');
      const policy = createAuditPolicy(audits);
      const evidence = openEvidenceStore({ path: join(init.stateDir, 'evidence.db') });
      cleanup.push(() => evidence.close());
      auditor = createGatewayAuditor({
        client,
        evidence,
        policy,
        getPublicUrl: () => publicUrl!,
        getScore: caller.getScore,
        record: caller.record,
        retireChannel: (channelId, reason) => pool.retire(channelId, reason),
        pollIntervalMs: audits.pollIntervalMs,
        batchSize: audits.batchSize,
        batchMaxWaitMs: audits.batchMaxWaitMs,
        log: logAs('audits'),
      });
      cleanup.push(() => auditor!.stop());
      if (audits.canaryFile) {
        const list = loadCanaries(audits.canaryFile);
        canaries = createCanarySender({ canaries: list, policy, getScore: caller.getScore, record: caller.record, call: caller.call, auditFailure: auditor.auditCanaryFailure, maxDelayMs: audits.canaryMaxDelayMs, log: logAs('canaries') });
        cleanup.push(() => canaries!.stop());
        log.info({ canaries: list.length }, 'canaries loaded');
      }
    }
    let epochs: EpochPublisher | undefined;
    const app = await buildGatewayApp({
      catalog,
      caller,
      store,
      ...(auditor ? { getEvidence: auditor.getEvidence } : {}),
      getPublishedScores: () => epochs?.getLatest(),
      logger: log.child({ component: 'gateway-http' }),
    });
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
    cleanup.push(() => app.close());
    publicUrl ??= url;
    if (config.probeIntervalMs > 0) {
      const prober = createUptimeProber({ catalog, record: caller.record, intervalMs: config.probeIntervalMs, log: logAs('uptime') });
      cleanup.push(() => prober.stop());
      prober.start();
    }
    if (config.scoreEpochSeconds > 0 && client.deployment.contracts.scoreRoots) {
      epochs = createEpochPublisher({ client, getScores: caller.getScores, epochSeconds: config.scoreEpochSeconds, uri: `${publicUrl}/scores`, log: logAs('scores') });
      cleanup.push(() => epochs!.stop());
      epochs.start();
    }
    await auditor?.start();
    log.info({ url, wallet: client.account.address, audits: auditor !== undefined, canaries: canaries !== undefined }, 'gateway listening');
    let stopping: Promise<void> | undefined;
    return {
      url,
      channels: () => pool.listChannels(),
      routes: listRoutes(app),
      stop: () => (stopping ??= cleanup.undoAll()),
    };
  } catch (err) {
    await cleanup.undoAll().catch(() => {});
    throw err;
  }
}
