import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { AgoraError } from '@agora/sdk';

const amount = z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]).transform((v) => BigInt(v));

/**
 * The highest model royalty (bps, 0–3000) this provider pays from its share for the model: channels
 * opened above it are refused and jobs are accepted only up to it. Default: the model's rate when
 * the node offered it.
 */
const maxRoyaltyBps = z.number().int().min(0).max(3_000).optional();

const servedModelConfig = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('digits'), path: z.string().min(1), name: z.string().optional(), price: amount, maxRoyaltyBps }),
  /** Any ONNX file with a float32 input and output: input `{ data, dims }`, output `{ name, dims, data }`. */
  z.object({ kind: z.literal('onnx'), path: z.string().min(1), name: z.string().min(1), price: amount, maxRoyaltyBps }),
  z.object({ kind: z.literal('gguf'), path: z.string().min(1), name: z.string().optional(), quantization: z.string().optional(), price: amount, maxRoyaltyBps }),
  z.object({ kind: z.literal('ocr'), name: z.string().optional(), price: amount, maxRoyaltyBps }),
]);

/** An API key of the gateway's own users: give the key itself or its sha-256 (hex), and a spend limit. */
const apiKeyConfig = z
  .object({ name: z.string().min(1), key: z.string().min(16).optional(), keyHash: z.string().regex(/^[0-9a-f]{64}$/).optional(), spendLimit: amount })
  .refine((k) => (k.key === undefined) !== (k.keyHash === undefined), { message: 'give exactly one of key or keyHash' });

/** The gateway role: the OpenAI HTTP API over the network, paid from this node's wallet. */
export const gatewayConfigSchema = z.object({
  host: z.string().default('127.0.0.1'),
  port: z.number().int().min(0).max(65535).default(8080),
  /** Deposit of each channel the gateway opens to a provider, and of each top-up (token base units). */
  channelDeposit: amount.default(10_000_000n),
  /** Most channels (hence calls in flight) to one provider for one model. */
  maxChannelsPerProvider: z.number().int().min(1).max(64).default(4),
  /** How long a provider may stay silent (until its answer, or between streamed tokens) before the call moves on, ms. */
  providerTimeoutMs: z.number().int().positive().default(120_000),
  /** `score`: route by measured delivery, latency and price with exploration for newcomers; `cheapest`: the cheapest live offer. */
  routing: z.enum(['score', 'cheapest']).default('score'),
  apiKeys: z.array(apiKeyConfig).default([]),
  /** Ask each live provider's /health this often, ms, for its uptime score (0: never). */
  probeIntervalMs: z.number().int().nonnegative().default(30_000),
  /** Post the merkle root of this gateway's provider scores to ScoreRoots every this many seconds (0: never). */
  scoreEpochSeconds: z.number().int().nonnegative().default(3_600),
  /** URL verifiers reach this gateway at for audit evidence (default: http://host:port). */
  publicUrl: z.string().url().optional(),
  /** Audit sampling and hidden canaries (see docs/verification.md). Probabilities are per served call. */
  audits: z
    .object({
      enabled: z.boolean().default(true),
      /** p: probability that an established provider's receipt is audited. */
      baseRate: z.number().min(0).max(1).default(0.02),
      /** p while a provider is new (fewer than newcomerCalls calls seen here). */
      newcomerRate: z.number().min(0).max(1).default(0.1),
      newcomerCalls: z.number().int().nonnegative().default(200),
      /** p after a failed audit or canary. */
      suspectRate: z.number().min(0).max(1).default(0.25),
      /** Canaries sent per organic call served, established and new providers. */
      canaryRate: z.number().min(0).max(1).default(0.01),
      newcomerCanaryRate: z.number().min(0).max(1).default(0.03),
      /** JSON array of known-answer calls `{ model, input, params, output }`; no file, no canaries. */
      canaryFile: z.string().min(1).optional(),
      /** Longest random wait before a canary is sent, ms. */
      canaryMaxDelayMs: z.number().int().nonnegative().default(2_000),
      /** How often the gateway's audits are driven forward (draws, finalization, withdrawals), ms. */
      pollIntervalMs: z.number().int().positive().default(2_000),
      /** Sampled receipts of one channel are audited together once this many are gathered (at most 64, the court's limit)… */
      batchSize: z.number().int().min(1).max(64).default(32),
      /** …or this long after the first of them, ms, whichever comes first. */
      batchMaxWaitMs: z.number().int().nonnegative().default(30_000),
    })
    .prefault({}),
});

/** The daemon's configuration: from a JSON file, overridden by environment variables, then flags. */
export const nodeConfigSchema = z.object({
  rpcUrl: z.string().url(),
  deploymentFile: z.string().min(1),
  /** Folder for the node's state (voucher store). */
  stateDir: z.string().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  provider: z.object({
    host: z.string().default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(8001),
    /** URL buyers reach this node at, registered on-chain (default: http://host:port). */
    publicUrl: z.string().url().optional(),
    /** Stake to hold; topped up at start (default: the deployment's minimum). */
    stake: amount.optional(),
    /** Redeem a channel once it owes this much (token base units). */
    redeemThreshold: amount.default(100_000n),
    redeemIntervalMs: z.number().int().positive().default(5_000),
    models: z.array(servedModelConfig).min(1),
    /** The slow path: take JobMarket jobs for the served models (see docs/jobs.md). */
    jobs: z
      .object({
        enabled: z.boolean().default(true),
        /** Largest job input downloaded or output kept, bytes. */
        maxPayloadBytes: z.number().int().positive().default(8 * 1024 * 1024),
        pollIntervalMs: z.number().int().positive().default(2_000),
        /** Accept a job only with at least this many seconds left before its deadline. */
        minTimeLeftSeconds: z.number().int().nonnegative().default(30),
      })
      .prefault({}),
    /** Judge the audits the AuditCourt draws this provider into (see docs/verification.md, "Verifier role"). */
    verifier: z
      .object({
        enabled: z.boolean().default(true),
        pollIntervalMs: z.number().int().positive().default(2_000),
        /** Largest evidence body read from an audit's opener, bytes. */
        maxEvidenceBytes: z.number().int().positive().default(8 * 1024 * 1024),
        /** Give up one evidence download after this long, ms (it is retried until close to the commit deadline). */
        evidenceTimeoutMs: z.number().int().positive().default(30_000),
        /** Escalate a Fail on our own receipt to a panel when our own re-check passes (pays the escalation bond). */
        defendOwnReceipts: z.boolean().default(true),
      })
      .prefault({}),
    /**
     * FOR TESTING THE NETWORK'S DEFENCES ONLY: answer wrongly (and sign for it) on this share of
     * calls, as a cheater would. Audits and canaries should catch it, slash its stake and starve it.
     */
    testing: z.object({ wrongAnswerRate: z.number().min(0).max(1) }).optional(),
  }).optional(),
  /** Serve the OpenAI API over the network (see gatewayConfigSchema). */
  gateway: gatewayConfigSchema.optional(),
}).refine((c) => c.provider !== undefined || c.gateway !== undefined, { message: 'switch on at least one role: a provider section, a gateway section, or both' });

export type NodeConfig = z.infer<typeof nodeConfigSchema>;

/** Whether a listen address is reachable only from this machine (so are URLs built from it): such a role needs a public URL configured. */
export function isLoopbackHost(host: string): boolean {
  return ['127.0.0.1', 'localhost', '::1'].includes(host);
}
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type ServedModelConfig = z.infer<typeof servedModelConfig>;

/** Environment variables that override the file (flags override both). */
const ENV: Record<string, (config: Record<string, any>, value: string) => void> = {
  AGORA_RPC_URL: (c, v) => (c.rpcUrl = v),
  AGORA_DEPLOYMENT: (c, v) => (c.deploymentFile = v),
  AGORA_STATE_DIR: (c, v) => (c.stateDir = v),
  AGORA_LOG_LEVEL: (c, v) => (c.logLevel = v),
  AGORA_PORT: (c, v) => ((c.provider ??= {}).port = Number(v)),
};

/**
 * Loads and validates the daemon's configuration.
 * @throws {AgoraError} `InvalidConfig` listing every problem with its path, e.g. `provider.models.0.price`.
 */
export function loadNodeConfig(options: { file?: string; env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown> }): NodeConfig {
  let raw: Record<string, any> = {};
  if (options.file) {
    try {
      raw = JSON.parse(readFileSync(options.file, 'utf8'));
    } catch (cause) {
      throw new AgoraError('InvalidConfig', `Cannot read the config file ${options.file}.`, { cause, fix: 'pass a JSON file (see docs/provider.md).' });
    }
  }
  for (const [name, apply] of Object.entries(ENV)) {
    const value = options.env?.[name];
    if (value) apply(raw, value);
  }
  for (const [key, value] of Object.entries(options.overrides ?? {})) {
    if (value === undefined) continue;
    if (key.startsWith('provider.')) (raw.provider ??= {})[key.slice('provider.'.length)] = value;
    else raw[key] = value;
  }
  const parsed = nodeConfigSchema.safeParse(raw);
  if (!parsed.success) {
    throw new AgoraError('InvalidConfig', 'The node configuration is invalid.', {
      metaMessages: parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`),
      fix: 'fix the fields listed below in the config file, environment or flags.',
    });
  }
  return parsed.data;
}
