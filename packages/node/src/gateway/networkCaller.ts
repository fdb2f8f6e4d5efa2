import type { Address, Hex, LocalAccount } from 'viem';
import {
  AgoraError,
  hashCanonicalJson,
  verifyInferenceReceipt,
  type AgoraWalletClient,
  type SignedInferenceReceipt,
} from '@agora/sdk';
import { callProvider, ProviderCallError } from '../provider/providerClient.ts';
import { createRouter } from '../market/router.ts';
import { getScoreSummary, hasFailedCheck, type ScoreObservation } from '../market/providerScore.ts';
import type { ChannelPool, CallOutcome } from './channelPool.ts';
import type { GatewayStore } from './gatewayStore.ts';
import type { CatalogModel, CatalogOffer, ModelCatalog } from './modelCatalog.ts';
import type { ServedCall } from './gatewayAuditor.ts';

export type NetworkCallerInit = {
  client: AgoraWalletClient & { account: LocalAccount };
  catalog: ModelCatalog;
  pool: ChannelPool;
  store: GatewayStore;
  /** How long a provider that failed a call is skipped, ms (default 30 s). */
  cooldownMs?: number;
  /** Most providers tried for one call (default 3). */
  maxAttempts?: number;
  /**
   * How long a provider may stay silent, ms (default 120 s): until its answer, or between two
   * streamed tokens. A provider that hangs is then skipped like one that failed.
   */
  providerTimeoutMs?: number;
  /**
   * How a provider is chosen: `score` (default) routes by measured value — delivery, latency and
   * price as this gateway saw them, with an exploration share for newcomers — through the market
   * router; `cheapest` always takes the cheapest live offer.
   */
  routing?: 'score' | 'cheapest';
  /** Uniform [0, 1) source for the router (tests pass a seeded one). */
  rng?: () => number;
  /**
   * Called after each organic call (one charged to an API key) is served with a valid receipt:
   * where audit sampling and canaries hook in. Must not throw.
   */
  afterServed?: (call: ServedCall & { model: CatalogModel }) => void;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

export type NetworkCallParameters = {
  /**
   * sha-256 of the caller's API key; its spend limit is charged the provider's price. Without one
   * the call is the gateway's own (a canary): paid from its wallet, charged to no key, not sampled.
   */
  keyHash?: string;
  /** Only this provider may serve the call (a canary tests one provider); no other is tried. */
  provider?: Address;
  model: CatalogModel;
  input: unknown;
  params: Record<string, unknown>;
  /** Stream text pieces as the provider produces them. */
  onToken?: (text: string) => void;
  signal?: AbortSignal;
};

export type NetworkCallResult = {
  output: unknown;
  receipt: SignedInferenceReceipt;
  provider: Address;
  price: bigint;
};

/** What the router assumes of a provider's latency until it has measured some (no quote is on-chain yet). */
const DEFAULT_QUOTED_LATENCY_MS = 1_000;

/** Provider refusals that mean "this channel is unusable": open another one. */
const CHANNEL_REFUSALS = new Set(['WrongChannel', 'ChannelNotOpen', 'UnknownChannel', 'VoucherForged', 'RoyaltyNotAccepted']);
/** Refusals of a voucher whose amount did not match the provider's books: set the view right and pay again. */
const AMOUNT_REFUSALS = new Set(['VoucherUnderpaid', 'VoucherReplayed', 'VoucherRaced', 'ChannelExhausted']);

/** The statuses a provider failure is answered with to the gateway's user. */
function clientFacing(err: unknown, status: number, code: string, message: string): AgoraError {
  return Object.assign(new AgoraError(code, message, { cause: err }), { statusCode: status });
}

/**
 * Makes one paid call on the network: picks a live provider for the model by the router (see `routing`; skipping
 * ones that just failed), charges the API key, pays through a channel with a voucher, checks the
 * signed receipt against the output, and tries the next provider when one fails before answering.
 * A call that is not served is never charged: the key's spend is given back and the provider's
 * credit on the channel pays for the next call.
 *
 * @example
 * const { output, receipt } = await caller.call({ keyHash, model, input: { messages }, params: {} })
 */
export function createNetworkCaller(init: NetworkCallerInit) {
  const { client, catalog, pool, store } = init;
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const coolingUntil = new Map<string, number>();
  const cooldownMs = init.cooldownMs ?? 30_000;
  const log = init.log ?? (() => {});

  const cool = (provider: Address, reason: string) => {
    coolingUntil.set(provider.toLowerCase(), Date.now() + cooldownMs);
    log('warn', 'provider skipped for a while', { provider, reason });
  };
  const isCooling = (provider: Address) => (coolingUntil.get(provider.toLowerCase()) ?? 0) > Date.now();

  /** Checks that the receipt is the provider's signature over exactly this call and this output. */
  async function checkReceipt(receipt: SignedInferenceReceipt, expected: { offer: CatalogOffer; modelId: Hex; input: unknown; params: unknown; output: unknown; channelId: Hex; cumulativeAmount: bigint }) {
    const mismatches: string[] = [];
    if (receipt.modelId.toLowerCase() !== expected.modelId.toLowerCase()) mismatches.push('modelId');
    if (receipt.inputHash !== hashCanonicalJson(expected.input)) mismatches.push('inputHash');
    if (receipt.paramsHash !== hashCanonicalJson(expected.params)) mismatches.push('paramsHash');
    if (receipt.outputHash !== hashCanonicalJson(expected.output)) mismatches.push('outputHash');
    if (receipt.channelId.toLowerCase() !== expected.channelId.toLowerCase()) mismatches.push('channelId');
    if (receipt.cumulativeAmount !== expected.cumulativeAmount) mismatches.push('cumulativeAmount');
    // Also refuses non-canonical signatures, which a contract would not take as evidence.
    const signed = await verifyInferenceReceipt({ domain, receipt, provider: expected.offer.provider }).then(() => true, () => false);
    if (!signed) mismatches.push('signature');
    if (mismatches.length > 0) {
      throw new AgoraError('InvalidReceipt', `Provider ${expected.offer.provider} answered with a receipt that does not match the call (${mismatches.join(', ')}).`);
    }
  }

  const routing = init.routing ?? 'score';
  const router = createRouter({ ...(init.rng ? { rng: init.rng } : {}) });
  /** Offers the router knows, per model, with the price it was told (re-told only on a change). */
  const known = new Map<string, Map<string, bigint>>();

  /** Keeps the router's offers in step with the chain's (new, re-priced and withdrawn ones). */
  function syncRouter(modelId: Hex, offers: CatalogOffer[]) {
    const model = modelId.toLowerCase();
    const before = known.get(model) ?? new Map<string, bigint>();
    const now = new Map(offers.map((o) => [o.provider.toLowerCase(), o.price]));
    for (const offer of offers) {
      if (before.get(offer.provider.toLowerCase()) !== offer.price) {
        router.addOffer({ provider: offer.provider, modelId, price: Number(offer.price), quotedLatencyMs: DEFAULT_QUOTED_LATENCY_MS });
      }
    }
    for (const provider of before.keys()) if (!now.has(provider)) router.removeOffer(provider as Address, modelId);
    known.set(model, now);
  }

  const isSuspect = (provider: Address, modelId: Hex) => {
    const score = router.getScore(provider, modelId);
    return score !== undefined && hasFailedCheck(score);
  };

  /** The offer for the next attempt: never one tried in this call; a cooling-down one only as a last resort. */
  function chooseOffer(modelId: Hex, offers: CatalogOffer[], tried: Set<string>, pinned: Address | undefined): CatalogOffer | undefined {
    const untried = (o: { provider: Address }) => !tried.has(o.provider.toLowerCase()) && (pinned === undefined || o.provider.toLowerCase() === pinned.toLowerCase());
    if (routing === 'score') {
      // Every live offer, even for a call pinned to one provider: the router's books are the market's.
      syncRouter(modelId, offers);
      const pick =
        router.pick(modelId, { accept: (p) => untried({ provider: p }) && !isCooling(p) }) ?? router.pick(modelId, { accept: (p) => untried({ provider: p }) });
      const offer = pick && offers.find((o) => o.provider.toLowerCase() === pick.provider.toLowerCase());
      if (offer) return offer;
    }
    // Cheapest first (offers come sorted by price). Score routing never falls back to a provider
    // caught answering wrongly (a failed audit or canary): no answer beats a wrong one.
    const eligible = routing === 'score' ? offers.filter((o) => !isSuspect(o.provider, modelId)) : offers;
    return eligible.find((o) => untried(o) && !isCooling(o.provider)) ?? eligible.find(untried);
  }

  async function call(params: NetworkCallParameters): Promise<NetworkCallResult> {
    const { model, input } = params;
    const modelId = model.modelId;
    const requestHash = hashCanonicalJson({ modelId, input, params: params.params });
    const tried = new Set<string>();
    const refusals = new Map<string, number>();
    let lastError: unknown;
    const maxAttempts = params.provider ? 1 : (init.maxAttempts ?? 3);
    const { keyHash } = params;
    const reserveSpend = (amount: bigint) => keyHash !== undefined && store.reserveSpend(keyHash, amount);
    const refundSpend = (amount: bigint) => keyHash !== undefined && store.refundSpend(keyHash, amount);
    for (let attempt = 0; attempt < maxAttempts; attempt++) {
      const offers = await catalog.offers(modelId);
      if (offers.length === 0 || (params.provider && !offers.some((o) => o.provider.toLowerCase() === params.provider!.toLowerCase()))) {
        throw clientFacing(undefined, 503, 'NoProvider', `No provider offers model "${model.name}" right now${params.provider ? ` (asked for ${params.provider})` : ''}.`);
      }
      const offer = chooseOffer(modelId, offers, tried, params.provider);
      if (!offer) break;
      const startedAt = performance.now();

      reserveSpend(offer.price);
      let outcome: CallOutcome = 'unserved';
      let streamed = false;
      const lease = await pool.acquire({ provider: offer.provider, modelId, price: offer.price, ...(params.signal ? { signal: params.signal } : {}) }).catch((err: unknown) => {
        refundSpend(offer.price);
        if (params.signal?.aborted) throw clientFacing(err, 499, 'ClientClosedRequest', 'The client closed the request while it waited for a channel.');
        // The gateway's own wallet could not open or top up a channel: nothing the caller can fix.
        log('warn', 'cannot open or top up a channel', { provider: offer.provider, err: err instanceof Error ? err.message : String(err) });
        // Only the short message goes to the client: a raw RPC error can carry the RPC URL (often with a key in it).
        throw clientFacing(err, 503, 'GatewayCannotPay', `The gateway cannot pay provider ${offer.provider} right now${err instanceof AgoraError ? `: ${err.shortMessage}` : '.'}`);
      });
      // The attempt ends when the caller leaves or when the provider stays silent too long.
      const attemptController = new AbortController();
      const onCallerAbort = () => attemptController.abort(params.signal!.reason);
      params.signal?.addEventListener('abort', onCallerAbort, { once: true });
      const timeoutMs = init.providerTimeoutMs ?? 120_000;
      let silence: NodeJS.Timeout | undefined;
      const armSilenceTimer = () => {
        clearTimeout(silence);
        silence = setTimeout(
          () => attemptController.abort(new AgoraError('ProviderTimeout', `Provider ${offer.provider} said nothing for ${timeoutMs / 1000} s.`)),
          timeoutMs,
        );
      };
      try {
        const voucher = await lease.pay(requestHash, offer.price);
        armSilenceTimer();
        const answer = await callProvider({
          url: offer.endpoint,
          modelId,
          input,
          params: params.params,
          voucher,
          stream: params.onToken !== undefined,
          ...(params.onToken ? { onToken: (text: string) => (armSilenceTimer(), (streamed = true), params.onToken!(text)) } : {}),
          signal: attemptController.signal,
        });
        outcome = 'served';
        router.record(offer.provider, modelId, { kind: 'delivered', latencyMs: performance.now() - startedAt });
        if (answer.channel) lease.sync(answer.channel);
        await checkReceipt(answer.receipt, { offer, modelId, input, params: params.params, output: answer.output, channelId: voucher.channelId, cumulativeAmount: voucher.cumulativeAmount }).catch((err: unknown) => {
          cool(offer.provider, 'invalid receipt');
          throw clientFacing(err, 502, 'InvalidReceipt', (err as Error).message);
        });
        if (keyHash !== undefined && init.afterServed) {
          // Auditing is the gateway's business: a failure there must not fail a call the user paid for.
          try {
            init.afterServed({ model, provider: offer.provider, modelId, input, params: params.params, output: answer.output, receipt: answer.receipt });
          } catch (err) {
            log('warn', 'audit sampling failed for a served call', { provider: offer.provider, err: err instanceof Error ? err.message : String(err) });
          }
        }
        return { output: answer.output, receipt: answer.receipt, provider: offer.provider, price: offer.price };
      } catch (err) {
        if (outcome === 'served') throw err;
        lastError = err;
        const status = err instanceof ProviderCallError ? err.status : undefined;
        const code = err instanceof AgoraError ? err.code : undefined;
        if (err instanceof ProviderCallError && err.channel) lease.sync(err.channel);
        if (code && CHANNEL_REFUSALS.has(code)) outcome = 'channelRefused';
        // A call cut off after tokens reached the user is charged; otherwise only what the provider kept.
        const charged = (err instanceof ProviderCallError && err.charged === true) || (streamed && params.signal?.aborted === true);
        if (!charged) refundSpend(offer.price);
        if (params.signal?.aborted) throw clientFacing(err, 499, 'ClientClosedRequest', 'The client closed the request.');
        if (status === 400 || status === 413) {
          throw clientFacing(err, status, status === 400 ? 'InvalidInput' : 'PayloadTooLarge', err instanceof AgoraError ? err.shortMessage : String(err));
        }
        // Tokens already reached the user: the call cannot be replayed elsewhere.
        if (streamed) throw clientFacing(err, 502, 'ProviderFailed', `Provider ${offer.provider} failed while streaming.`);
        const provider = offer.provider.toLowerCase();
        const refusedAmount = code !== undefined && AMOUNT_REFUSALS.has(code);
        // An amount refusal with the provider's view of the channel is retried there once the view
        // is corrected; a second one in the same call (or one without a view) skips the provider.
        const retryHere = refusedAmount && err instanceof ProviderCallError && err.channel !== undefined && (refusals.get(provider) ?? 0) === 0;
        if (refusedAmount) refusals.set(provider, (refusals.get(provider) ?? 0) + 1);
        if (outcome !== 'channelRefused' && !retryHere) {
          tried.add(provider);
          cool(offer.provider, code ?? (err as Error).message);
          // Not delivered: counts against the provider's delivery rate, hence its traffic.
          router.record(offer.provider, modelId, { kind: 'timeout' });
        }
        log('info', 'provider call failed; trying again', { provider: offer.provider, code, status, outcome });
      } finally {
        clearTimeout(silence);
        params.signal?.removeEventListener('abort', onCallerAbort);
        lease.release(outcome);
      }
    }
    if (lastError === undefined) {
      // Nothing was tried: every offer is one the router dropped for a failed check (or the pinned one is).
      throw clientFacing(undefined, 503, 'NoProvider', `No provider of model "${model.name}" can take the call right now${params.provider ? ` (asked for ${params.provider})` : ''}.`);
    }
    throw clientFacing(lastError, 502, 'ProviderFailed', `Every provider tried for model "${model.name}" failed: ${lastError instanceof Error ? lastError.message : String(lastError)}`);
  }

  /** What the router knows of each provider of a model (for `/v1/models`): its score summary. */
  function getProviderScores(modelId: Hex) {
    const offers = known.get(modelId.toLowerCase());
    if (!offers) return [];
    return [...offers.keys()].flatMap((provider) => {
      const score = router.getScore(provider as Address, modelId);
      return score ? [{ provider: score.provider, price: offers.get(provider)!, summary: getScoreSummary(score) }] : [];
    });
  }

  return {
    call,
    getProviderScores,
    /** Every (provider, model) score the router holds: what the epoch root commits to. */
    getScores: () => router.getScores(),
    /** The router's record of a provider for a model (undefined until it has been offered one). */
    getScore: (provider: Address, modelId: Hex) => router.getScore(provider, modelId),
    /** Feeds an observation made outside a call (an audit outcome, a canary verdict) to the router. */
    record: (provider: Address, modelId: Hex, observation: ScoreObservation) => router.record(provider, modelId, observation),
  };
}

export type NetworkCaller = ReturnType<typeof createNetworkCaller>;
