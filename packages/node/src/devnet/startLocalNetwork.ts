import { randomBytes } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import type { LocalAccount } from 'viem';
import { connectAgora, type AgoraWalletClient } from '@agora/sdk';
import { nodeConfigSchema, gatewayConfigSchema } from '../daemon/config.ts';
import { startNode, type AgoraNode } from '../daemon/startNode.ts';
import { startGateway, type AgoraGateway } from '../gateway/startGateway.ts';
import { readOrCreateSecretFile } from '../daemon/adminRoutes.ts';
import { buildDigitsModel } from '../runtimes/onnx/buildDigitsModel.ts';
import { loadDigitsDataset } from '../runtimes/onnx/trainDigits.ts';
import { renderDigitPng } from '../runtimes/onnx/digitImage.ts';
import { createDigitsServedModel } from '../provider/models/digitsServedModel.ts';
import { buildCanaries } from '../gateway/canaries.ts';
import { writeTinyLlamaGguf } from '../runtimes/gguf/writeTinyLlamaGguf.ts';
import { getDevAccount, type DevRole } from './devAccounts.ts';
import { startDevnet, type Devnet } from './startDevnet.ts';

/** The devnet's three providers: same models, different prices (token base units per call), so the router has a choice. */
export const DEVNET_PROVIDERS: { role: DevRole; prices: { digits: bigint; gguf: bigint; ocr: bigint } }[] = [
  { role: 'provider1', prices: { digits: 1_000n, gguf: 2_000n, ocr: 3_000n } },
  { role: 'provider2', prices: { digits: 1_500n, gguf: 2_500n, ocr: 3_500n } },
  { role: 'provider3', prices: { digits: 2_000n, gguf: 3_000n, ocr: 4_000n } },
];

/** The devnet's digit classifier's name on-chain. */
const DEVNET_DIGITS_NAME = 'agora/digits-mlp';

/** The dev account whose wallet the devnet gateway pays providers from. */
export const DEVNET_GATEWAY_ROLE: DevRole = 'buyer1';

/** What the devnet's API key may spend: 100 DevUSD. */
export const DEVNET_API_KEY_LIMIT = 100_000_000n;

export type StartLocalNetworkInit = {
  /** Folder for the deployment file, the generated models and each daemon's state. */
  stateDir: string;
  /** RPC port of the EVM node (0: any free port). */
  rpcPort?: number;
  /** Port of the gateway (0: any free port). Default 8080. */
  gatewayPort?: number;
  /** Port of the first provider; the others take the next ones (0: any free ports). Default 8001. */
  providerBasePort?: number;
  /** Level of the daemons' JSON logs on stdout (default `warn`: `agora up` prints its own summary). */
  logLevel?: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  onProgress?: (message: string) => void;
  /** Aborting stops the start-up between steps: what started is stopped, and the call rejects with the signal's reason. */
  signal?: AbortSignal;
};

/** A running local Agora network. */
export type LocalNetwork = {
  devnet: Devnet;
  providers: (AgoraNode & { role: DevRole; stateDir: string })[];
  gateway: AgoraGateway;
  /** The API key the gateway accepts (kept in `<stateDir>/gateway/dev-api-key` across runs). */
  apiKey: string;
  /** Stops the gateway, drains the providers (they redeem what they are owed), then the chain. */
  stop(): Promise<void>;
};

/** Builds (or reuses) the devnet's models: the trained digit classifier and the tiny GGUF. */
async function prepareModels(dir: string, progress: (message: string) => void) {
  const digits = join(dir, 'digits-mlp.onnx');
  await buildDigitsModel(digits, { log: (line) => progress(line) }); // prints its test accuracy
  const gguf = join(dir, 'tiny-llama.gguf');
  if (!existsSync(gguf)) await writeTinyLlamaGguf(gguf);
  progress('tiny llama GGUF ready');
  const canaries = join(dir, 'digits-canaries.json');
  if (!existsSync(canaries)) await writeDigitCanaries({ modelPath: digits, file: canaries, count: DEVNET_CANARY_COUNT });
  progress('gateway canaries ready');
  return { digits, gguf, canaries };
}

/** How many known-answer digit calls the devnet gateway can slip among users' calls. */
const DEVNET_CANARY_COUNT = 50;

/**
 * The devnet gateway's canaries: held-out MNIST digits as PNGs, as users send them, with the
 * answers of the same model file run here (the digit model is `exact`: every honest run agrees).
 */
async function writeDigitCanaries({ modelPath, file, count }: { modelPath: string; file: string; count: number }) {
  const model = await createDigitsServedModel({ path: modelPath, name: DEVNET_DIGITS_NAME, pricePerCall: 0n });
  try {
    // Digits the model never trained on, picked from the far end of the held-out set.
    const { test } = loadDigitsDataset();
    const inputs = Array.from({ length: count }, (_, i) => {
      const at = (test.count - 1 - i) * 784;
      return { image: renderDigitPng(test.images.subarray(at, at + 784)).toString('base64') };
    });
    writeFileSync(file, JSON.stringify(await buildCanaries({ model, inputs })));
  } finally {
    await model.close();
  }
}

/** The devnet's API key: created once, then reused so scripts keep working across restarts. */
function devApiKey(dir: string): string {
  return readOrCreateSecretFile(join(dir, 'dev-api-key'), () => `sk-agora-dev-${randomBytes(16).toString('hex')}`);
}

/**
 * Brings up a whole Agora network on this machine: an EVM node with every contract deployed and
 * dev accounts funded, three provider daemons serving the same real models (digit classifier,
 * tiny llama, OCR) at different prices, and a gateway with the OpenAI API paying them through
 * channels. What `npm start` runs. If a step fails, what started is stopped and the error rethrown.
 *
 * The chain is new on every start, so the daemons' state from a previous run (vouchers and
 * channels on a chain that no longer exists) is cleared; the built models are kept.
 *
 * @example
 * const network = await startLocalNetwork({ stateDir: '.agora/devnet' })
 * // new OpenAI({ baseURL: `${network.gateway.url}/v1`, apiKey: network.apiKey })
 */
export async function startLocalNetwork(init: StartLocalNetworkInit): Promise<LocalNetwork> {
  const progress = init.onProgress ?? (() => {});
  const logLevel = init.logLevel ?? 'warn';
  const runDir = join(init.stateDir, 'run');
  rmSync(runDir, { recursive: true, force: true });
  const models = await prepareModels(join(init.stateDir, 'models'), progress);
  init.signal?.throwIfAborted();
  // A block every second besides those transactions mine, so audits draw verifiers on a quiet devnet too.
  const devnet = await startDevnet({ stateDir: init.stateDir, onProgress: progress, blockTime: 1, mixedMining: true, ...(init.rpcPort !== undefined ? { port: init.rpcPort } : {}) });
  const providers: LocalNetwork['providers'] = [];
  let gateway: AgoraGateway | undefined;
  const stop = async () => {
    await gateway?.stop();
    await Promise.allSettled(providers.map((p) => p.stop()));
    await devnet.stop();
  };
  try {
    init.signal?.throwIfAborted();
    const basePort = init.providerBasePort ?? 8001;
    const startProvider = async ({ role, prices }: (typeof DEVNET_PROVIDERS)[number], index: number) => {
      const stateDir = join(runDir, role);
      const config = nodeConfigSchema.parse({
        rpcUrl: devnet.rpcUrl,
        deploymentFile: devnet.deploymentFile,
        stateDir,
        logLevel,
        provider: {
          port: basePort === 0 ? 0 : basePort + index,
          // High enough that what a provider is owed stays visible between redeems.
          redeemThreshold: '1000000',
          models: [
            { kind: 'digits', path: models.digits, name: DEVNET_DIGITS_NAME, price: prices.digits.toString() },
            { kind: 'gguf', path: models.gguf, name: 'agora/tiny-llama', price: prices.gguf.toString() },
            { kind: 'ocr', name: 'agora/ocr-eng', price: prices.ocr.toString() },
          ],
        },
      });
      const node = await startNode(config, { privateKey: getDevAccount(role).privateKey });
      providers.push({ ...node, role, stateDir });
      progress(`${role} serving at ${node.url} (${node.address})`);
    };
    // The first provider registers the models; the others then only add their offers, in parallel.
    await startProvider(DEVNET_PROVIDERS[0]!, 0);
    init.signal?.throwIfAborted();
    // allSettled, not all: if one fails, the other must have finished starting before stop() runs,
    // or it would keep its port and timers after the failure.
    const started = await Promise.allSettled(DEVNET_PROVIDERS.slice(1).map((p, i) => startProvider(p, i + 1)));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;

    init.signal?.throwIfAborted();
    const gatewayDir = join(runDir, 'gateway');
    const apiKey = devApiKey(join(init.stateDir, 'gateway'));
    const buyer = getDevAccount(DEVNET_GATEWAY_ROLE);
    const client = (await connectAgora({ rpcUrl: devnet.rpcUrl, deployment: devnet.deployment, account: buyer.account })) as AgoraWalletClient & { account: LocalAccount };
    gateway = await startGateway({
      client,
      stateDir: gatewayDir,
      log: pino({ level: logLevel, name: 'agora-gateway' }),
      config: gatewayConfigSchema.parse({
        port: init.gatewayPort ?? 8080,
        apiKeys: [{ name: 'devnet', key: apiKey, spendLimit: DEVNET_API_KEY_LIMIT.toString() }],
        audits: { canaryFile: models.canaries },
      }),
    });
    progress(`gateway serving the OpenAI API at ${gateway.url}/v1`);
    return { devnet, providers, gateway, apiKey, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}
