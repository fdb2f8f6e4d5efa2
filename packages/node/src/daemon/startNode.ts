import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import { Registry, collectDefaultMetrics, Counter, Gauge } from 'prom-client';
import { privateKeyToAccount } from 'viem/accounts';
import type { Hex, LocalAccount } from 'viem';
import {
  connectAgora,
  getModel,
  getOffer,
  getProvider,
  modelNameURI,
  parseDeployment,
  registerModel,
  registerProvider,
  setOffer,
  stake,
  updateProvider,
  AgoraError,
  type AgoraWalletClient,
  type Deployment,
} from '@agora/sdk';
import { openVoucherStore } from '../store/voucherStore.ts';
import { buildProviderApp } from '../provider/providerApp.ts';
import { listRoutes, type HttpRoute } from '../httpGuards.ts';
import { createRedeemer } from '../provider/redeemer.ts';
import type { ServedModel } from '../provider/servedModel.ts';
import { createDigitsServedModel } from '../provider/models/digitsServedModel.ts';
import { createLlamaServedModel } from '../provider/models/llamaServedModel.ts';
import { createOcrServedModel } from '../provider/models/ocrServedModel.ts';
import { createOnnxServedModel } from '../provider/models/onnxServedModel.ts';
import { withWrongAnswers } from '../provider/wrongAnswers.ts';
import { createPayloadStore, registerPayloadRoutes } from '../payloads/index.ts';
import { createJobWatcher } from '../jobs/jobWatcher.ts';
import { createVerifierRole } from '../audits/verifierRole.ts';
import { isLoopbackHost, type NodeConfig, type ServedModelConfig } from './config.ts';
import { createCleanupStack, type CleanupStack } from './cleanupStack.ts';
import { ensureAdminToken, registerAdminRoutes } from './adminRoutes.ts';
import { startGateway } from '../gateway/startGateway.ts';

/** A running daemon. */
export type AgoraNode = {
  /** Where the provider API listens (the gateway's URL on a gateway-only node). */
  url: string;
  /** Where the gateway's OpenAI API listens, if the node runs the gateway role (append `/v1`). */
  gatewayUrl?: string;
  address: Hex;
  models: ServedModel[];
  /** Every route answered at `url`, as fastify matches it (method and URL template). */
  routes: readonly HttpRoute[];
  /** Drains: stops taking calls, redeems every channel that owes anything, closes models and store. */
  stop(): Promise<void>;
};

type ClosableModel = ServedModel & { close(): Promise<void> };

function createServedModel(model: ServedModelConfig): Promise<ClosableModel> {
  switch (model.kind) {
    case 'digits':
      return createDigitsServedModel({ path: model.path, pricePerCall: model.price, ...(model.name ? { name: model.name } : {}) });
    case 'onnx':
      return createOnnxServedModel({ path: model.path, pricePerCall: model.price, name: model.name });
    case 'gguf':
      return createLlamaServedModel({ path: model.path, pricePerCall: model.price, ...(model.name ? { name: model.name } : {}), ...(model.quantization ? { quantization: model.quantization } : {}) });
    case 'ocr':
      return createOcrServedModel({ pricePerCall: model.price, ...(model.name ? { name: model.name } : {}) });
  }
}

/**
 * Registers the provider, its stake and its offers on-chain if they are not there yet (idempotent,
 * so a restart changes nothing that is already right). Fills `royaltyLimits` for every model the
 * config gives no limit: the royalty rate the model has as the node offers it, the rate the
 * provider priced its offer under.
 */
async function ensureOnChain(
  client: AgoraWalletClient,
  endpoint: string,
  models: ServedModel[],
  targetStake: bigint,
  log: Logger,
  royaltyLimits: Map<string, number>,
) {
  const me = client.account.address;
  const record = await getProvider(client, { provider: me });
  if (!record.registered) {
    await registerProvider(client, { endpoint });
    log.info({ endpoint }, 'registered as provider');
  } else if (record.endpoint !== endpoint) {
    await updateProvider(client, { endpoint, publicKey: record.publicKey });
    log.info({ endpoint }, 'updated provider endpoint');
  }
  if (record.stake < targetStake) {
    await stake(client, { amount: targetStake - record.stake });
    log.info({ stake: targetStake.toString() }, 'staked');
  }
  for (const model of models) {
    const { modelId } = model.descriptor;
    const exists = await getModel(client, { modelId }).then(() => true, (err: unknown) => {
      if (err instanceof AgoraError && err.code === 'ModelRegistryUnknownModel') return false;
      throw err;
    });
    if (!exists) {
      await registerModel(client, { ...model.descriptor, metadataURI: modelNameURI(model.descriptor.name) });
      log.info({ modelId, name: model.descriptor.name }, 'registered model');
    }
    if (!royaltyLimits.has(modelId.toLowerCase())) {
      const { royaltyBps } = await getModel(client, { modelId });
      royaltyLimits.set(modelId.toLowerCase(), royaltyBps);
      log.info({ modelId, maxRoyaltyBps: royaltyBps }, 'accepting the model royalty it has now');
    }
    const offer = await getOffer(client, { provider: me, modelId });
    if (!offer.active || offer.pricePerUnit !== model.pricePerCall) {
      await setOffer(client, { modelId, pricePerUnit: model.pricePerCall });
      log.info({ modelId, price: model.pricePerCall.toString() }, 'offer set');
    }
  }
}

type ProviderConfig = NonNullable<NodeConfig['provider']>;

/**
 * The provider role: loads the models, makes the on-chain registration right, redeems what a
 * previous run left unredeemed, takes JobMarket jobs, and serves paid calls. Whatever it starts is
 * pushed on `cleanup` so a failed start can be undone.
 */
async function startProviderRole(
  provider: ProviderConfig,
  ctx: { client: AgoraWalletClient & { account: LocalAccount }; deployment: Deployment; stateDir: string; log: Logger; cleanup: CleanupStack },
) {
  const { client, deployment, stateDir, log, cleanup } = ctx;
  const account = client.account;
  const models: ClosableModel[] = [];
  // Highest royalty rate accepted per model: from the config, else filled in by ensureOnChain.
  const royaltyLimits = new Map<string, number>();
  for (const modelConfig of provider.models) {
    const model = await createServedModel(modelConfig);
    cleanup.push(() => model.close());
    models.push(model);
    if (modelConfig.maxRoyaltyBps !== undefined) royaltyLimits.set(model.descriptor.modelId.toLowerCase(), modelConfig.maxRoyaltyBps);
    log.info({ name: model.descriptor.name, modelId: model.descriptor.modelId }, 'model loaded');
  }

  const store = openVoucherStore({ path: join(stateDir, 'node.db') });
  cleanup.push(() => store.close());
  const redeemer = createRedeemer({
    client,
    store,
    threshold: provider.redeemThreshold,
    intervalMs: provider.redeemIntervalMs,
    log: (event, fields) => log.info(fields, event),
  });

  const metrics = new Registry();
  collectDefaultMetrics({ register: metrics });
  const unredeemed = new Gauge({ name: 'agora_unredeemed_amount', help: 'Accepted voucher value not yet redeemed (token base units)', registers: [metrics] });
  const calls = new Counter({ name: 'agora_provider_calls_total', help: 'Calls answered, by model and status', labelNames: ['model', 'status'], registers: [metrics] });

  // Buyers are served by `sold`; the verifier role (if any) always re-executes with the honest `models`.
  const wrongAnswerRate = provider.testing?.wrongAnswerRate ?? 0;
  if (wrongAnswerRate > 0) log.warn({ wrongAnswerRate }, 'TESTING: this provider answers wrongly on purpose; audits and canaries should slash it');
  const sold = wrongAnswerRate > 0 ? models.map((model) => withWrongAnswers(model, { rate: wrongAnswerRate })) : models;
  const app = await buildProviderApp({ client, store, models: sold, royaltyLimits, logger: log.child({ component: 'http' }) });
  // Slow path: job inputs and outputs, content-addressed, served at /v1/payloads/:sha256.
  const payloads = createPayloadStore({ dir: join(stateDir, 'payloads'), maxBytes: provider.jobs.maxPayloadBytes });
  registerPayloadRoutes(app, payloads);
  const names = new Map(models.map((m) => [m.descriptor.modelId.toLowerCase(), m.descriptor.name]));
  app.addHook('onResponse', async (request, reply) => {
    const modelId = (request.params as { modelId?: string } | undefined)?.modelId;
    // Label by served model name only: raw ids from the URL would let anyone grow the registry.
    if (modelId) calls.inc({ model: names.get(modelId.toLowerCase()) ?? 'unknown', status: String(reply.statusCode) });
  });
  app.get('/metrics', async (_request, reply) => {
    unredeemed.set(Number(store.getUnredeemedTotal()));
    return reply.type(metrics.contentType).send(await metrics.metrics());
  });
  registerAdminRoutes(app, { token: ensureAdminToken(stateDir), address: account.address, store, redeemAll: () => redeemer.redeemAll() });
  cleanup.push(() => app.close());
  if (!provider.publicUrl && !isLoopbackHost(provider.host)) {
    throw new AgoraError('InvalidConfig', `The node listens on ${provider.host} but has no provider.publicUrl.`, {
      fix: 'set provider.publicUrl to the URL buyers reach this node at; it is registered on-chain.',
    });
  }
  const url = await app.listen({ host: provider.host, port: provider.port });

  await ensureOnChain(client, provider.publicUrl ?? url, models, provider.stake ?? deployment.parameters.minStake, log, royaltyLimits);
  await redeemer.start();
  const { jobs: jobsConfig } = provider;
  const jobs = jobsConfig.enabled
    ? createJobWatcher({ client, models, payloads, royaltyLimits, store: { path: join(stateDir, 'jobs.db') }, log: (event, fields) => log.info({ component: 'jobs', ...fields }, event), pollIntervalMs: jobsConfig.pollIntervalMs, maxPayloadBytes: jobsConfig.maxPayloadBytes, minTimeLeftSeconds: jobsConfig.minTimeLeftSeconds })
    : undefined;
  if (jobs) cleanup.push(() => jobs.stop());
  await jobs?.start();
  // Drawn as a verifier only once the offers are on-chain; judges with the honest `models`.
  const { verifier: verifierConfig } = provider;
  const verifier =
    verifierConfig.enabled && deployment.contracts.auditCourt
      ? createVerifierRole({
          client,
          models,
          store: { path: join(stateDir, 'verdicts.db') },
          pollIntervalMs: verifierConfig.pollIntervalMs,
          maxEvidenceBytes: verifierConfig.maxEvidenceBytes,
          evidenceTimeoutMs: verifierConfig.evidenceTimeoutMs,
          defendOwnReceipts: verifierConfig.defendOwnReceipts,
          log: (level, event, fields) => log[level]({ component: 'verifier', ...fields }, event),
        })
      : undefined;
  if (verifier) cleanup.push(() => verifier.stop());
  await verifier?.start();
  log.info({ url, models: models.map((m) => m.descriptor.name), verifier: Boolean(verifier) }, 'provider listening');

  return {
    url,
    models,
    routes: listRoutes(app),
    async stop() {
      await verifier?.stop(); // a decided verdict and its salt stay in verdicts.db for the next start
      await jobs?.stop(); // a job in progress stays accepted and is resumed at the next start
      await app.close(); // no new calls; in-flight ones finish
      await redeemer.stop(); // every acknowledged voucher becomes tokens
      for (const model of models) await model.close();
      store.close();
    },
  };
}

/**
 * Starts the daemon with the roles its config switches on: `provider` (sell models: fast path and
 * JobMarket jobs) and/or `gateway` (the OpenAI API over the network, paid from this node's wallet).
 * If start fails halfway, what started is stopped and the error rethrown.
 *
 * @example
 * const node = await startNode(loadNodeConfig({ file: 'node.json', env: process.env }), { privateKey })
 */
export async function startNode(config: NodeConfig, secrets: { privateKey: Hex }): Promise<AgoraNode> {
  const log = pino({ level: config.logLevel, name: 'agora-node', redact: ['privateKey', '*.privateKey'] });
  // What to undo if start fails halfway (newest first).
  const cleanup = createCleanupStack();
  try {
    const deployment = parseDeployment(readFileSync(config.deploymentFile, 'utf8'), config.deploymentFile);
    const account = privateKeyToAccount(secrets.privateKey);
    const client = (await connectAgora({ rpcUrl: config.rpcUrl, deployment, account })) as AgoraWalletClient & { account: typeof account };
    log.info({ address: account.address, chainId: deployment.chainId }, 'connected');

    const provider = config.provider ? await startProviderRole(config.provider, { client, deployment, stateDir: config.stateDir, log, cleanup }) : undefined;
    const gateway = config.gateway
      ? await startGateway({ client, config: config.gateway, stateDir: config.stateDir, log: log.child({ role: 'gateway' }) })
      : undefined;
    if (gateway) cleanup.push(() => gateway.stop());

    let stopping: Promise<void> | undefined;
    return {
      url: provider?.url ?? gateway!.url,
      ...(gateway ? { gatewayUrl: gateway.url } : {}),
      address: account.address,
      models: provider?.models ?? [],
      routes: provider?.routes ?? gateway!.routes,
      stop: () =>
        (stopping ??= (async () => {
          await gateway?.stop(); // the gateway's calls to providers end first
          await provider?.stop();
          log.info('stopped');
        })()),
    };
  } catch (err) {
    await cleanup.undoAll().catch(() => {});
    throw err;
  }
}
