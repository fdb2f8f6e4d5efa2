import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { SignedInferenceReceipt } from '@agora/sdk';
import { hashApiKey, type GatewayStore } from './gatewayStore.ts';
import type { CatalogModel, ModelCatalog } from './modelCatalog.ts';
import type { NetworkCaller, NetworkCallResult } from './networkCaller.ts';
import { gatewayError, toOpenAiError } from './openaiErrors.ts';
import { hashEpochScoreLeaf } from '../market/epochRoot.ts';
import { MAX_JSON_DEPTH, collectRoutes, refuseDeepJson } from '../httpGuards.ts';
import type { PublishedEpoch } from './epochPublisher.ts';

export type GatewayAppInit = {
  catalog: ModelCatalog;
  caller: NetworkCaller;
  store: GatewayStore;
  /** Hands an audited batch's evidence to its drawn verifiers (`GET /audits/:receiptsRoot/evidence`); absent: audits are off. */
  getEvidence?: (receiptsRoot: string, authorization: string | undefined) => Promise<unknown>;
  /** The last epoch of scores this gateway posted on-chain, served with proofs at `GET /scores`. */
  getPublishedScores?: () => PublishedEpoch | undefined;
  /** Largest request body accepted, bytes (default 4 MiB: an image for OCR fits). */
  bodyLimit?: number;
  logger?: FastifyBaseLogger;
};

/** What the language-model provider answers (see llamaServedModel). */
type LanguageOutput = { text: string; finishReason: 'stop' | 'length'; usage: { promptTokens: number; completionTokens: number } };
type EmbeddingOutput = { embeddings: number[][]; usage: { promptTokens: number } };

type ChatMessage = { role: string; content: string | { type: string; text?: string }[] | null };
type SamplingBody = { model: string; max_tokens?: number | null; max_completion_tokens?: number | null; temperature?: number | null; top_p?: number | null; seed?: number | null; stop?: string | string[] | null; n?: number | null; stream?: boolean | null; stream_options?: { include_usage?: boolean } | null };
type ChatBody = SamplingBody & { messages: ChatMessage[] };
type CompletionBody = SamplingBody & { prompt: string | string[] };
type EmbeddingBody = { model: string; input: string | string[]; encoding_format?: 'float' | 'base64'; dimensions?: number };
type InferBody = { model: string; input: unknown; params?: Record<string, unknown> };

const sampling = {
  model: { type: 'string', minLength: 1 },
  max_tokens: { type: ['integer', 'null'], minimum: 1 },
  max_completion_tokens: { type: ['integer', 'null'], minimum: 1 },
  temperature: { type: ['number', 'null'], minimum: 0, maximum: 2 },
  top_p: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 1 },
  seed: { type: ['integer', 'null'] },
  stop: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, maxItems: 4 }, { type: 'null' }] },
  n: { type: ['integer', 'null'], minimum: 1 },
  stream: { type: ['boolean', 'null'] },
  stream_options: { type: ['object', 'null'], properties: { include_usage: { type: 'boolean' } } },
} as const;

/**
 * The gateway's routes that answer without an API key, by the URL template fastify matched them to
 * (HEAD as its GET). Every other route needs a key, including any route added later (`/metrics`
 * is registered by startGateway): a route is public only by being listed here, with its reason.
 */
export const GATEWAY_PUBLIC_ROUTES: ReadonlySet<string> = new Set([
  // Liveness, for load balancers and `agora` itself.
  '/health',
  // The scores behind the root posted on-chain: public so that anyone can check them.
  '/scores',
  // Verifiers sign for evidence as the audit's drawn verifier (getEvidence checks the signature).
  '/audits/:receiptsRoot/evidence',
  // Prometheus scraping, as before keys existed; it counts requests, it serves no calls.
  '/metrics',
]);

const now = () => Math.floor(Date.now() / 1000);
const round = (x: number) => Math.round(x * 1000) / 1000;

/** The provider's token counts in OpenAI's `usage` shape. */
const usageOf = (output: LanguageOutput) => ({
  prompt_tokens: output.usage.promptTokens,
  completion_tokens: output.usage.completionTokens,
  total_tokens: output.usage.promptTokens + output.usage.completionTokens,
});

/** The Agora-specific part of an answer: who served it, what it cost, and the provider's signed receipt. */
function agoraExtension(result: NetworkCallResult) {
  const receipt: Omit<SignedInferenceReceipt, 'cumulativeAmount'> & { cumulativeAmount: string } = { ...result.receipt, cumulativeAmount: result.receipt.cumulativeAmount.toString() };
  return { provider: result.provider, price: result.price.toString(), receipt };
}

/** The sampling parameters the provider takes, with only the fields the caller set (the request hash covers them). */
function samplingParams(body: SamplingBody): Record<string, unknown> {
  if (body.n !== undefined && body.n !== null && body.n !== 1) throw gatewayError('InvalidRequest', 'Only n = 1 is supported.', { param: 'n' });
  const params: Record<string, unknown> = {};
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  if (maxTokens != null) params.max_tokens = maxTokens;
  if (body.temperature != null) params.temperature = body.temperature;
  if (body.top_p != null) params.top_p = body.top_p;
  if (body.seed != null) params.seed = body.seed;
  if (body.stop != null) params.stop = body.stop;
  return params;
}

/** OpenAI messages → the provider's `{ role, content }` messages (text parts joined; `developer` is a system message). */
function toProviderMessages(messages: ChatMessage[]) {
  return messages.map((m, i) => {
    const role = m.role === 'developer' ? 'system' : m.role;
    if (!['system', 'user', 'assistant'].includes(role)) {
      throw gatewayError('InvalidRequest', `messages[${i}].role "${m.role}" is not supported; use system, developer, user or assistant.`, { param: `messages[${i}].role` });
    }
    const content = typeof m.content === 'string' ? m.content : Array.isArray(m.content) ? m.content.map((part, j) => {
      if (part.type !== 'text' || typeof part.text !== 'string') throw gatewayError('InvalidRequest', `messages[${i}].content[${j}] must be a text part.`, { param: `messages[${i}].content` });
      return part.text;
    }).join('') : '';
    return { role, content };
  });
}

/** Float32 little-endian bytes, base64: what the OpenAI clients ask for by default and decode. */
function embeddingToBase64(vector: number[]): string {
  return Buffer.from(new Float32Array(vector).buffer).toString('base64');
}

/** Server-sent events started lazily, so an error before the first token is still a plain JSON error. */
function lazySse(reply: FastifyReply) {
  let started = false;
  return {
    get started() {
      return started;
    },
    send(data: unknown) {
      if (!started) {
        started = true;
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      }
      reply.raw.write(`data: ${JSON.stringify(data)}\n\n`);
    },
    end() {
      if (!started) {
        started = true;
        reply.hijack();
        reply.raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
      }
      reply.raw.end('data: [DONE]\n\n');
    },
  };
}

/**
 * Runs a streamed call: `run` sends the events and the stream then ends with `[DONE]`. An error
 * before the first event is thrown (a plain JSON error with its status); after it, the headers
 * are gone, so the error travels as the stream's last event, as OpenAI does.
 */
async function streaming(request: FastifyRequest, reply: FastifyReply, run: (sse: ReturnType<typeof lazySse>) => Promise<void>) {
  const sse = lazySse(reply);
  try {
    await run(sse);
    sse.end();
  } catch (err) {
    if (!sse.started) throw err;
    request.log.warn({ err }, 'stream failed');
    sse.send(toOpenAiError(err).body);
    reply.raw.end();
  }
  return reply;
}

/** Aborts the network call when the client goes away before the answer is complete. */
function abortOnDisconnect(reply: FastifyReply): AbortSignal {
  const controller = new AbortController();
  reply.raw.once('close', () => {
    if (!reply.raw.writableEnded) controller.abort(new Error('The client disconnected.'));
  });
  return controller.signal;
}

/**
 * The OpenAI HTTP API over the Agora network: `GET /v1/models`, `POST /v1/chat/completions`
 * (streaming or not), `POST /v1/completions`, `POST /v1/embeddings`, plus `POST /v1/infer` for
 * models that are not language models (digit classification, OCR). Each call is paid to a provider
 * through a channel and answered with the provider's signed receipt under `agora`. Errors use
 * OpenAI's shape, so the official clients raise their usual exceptions.
 *
 * Every route needs `Authorization: Bearer <key>` except {@link GATEWAY_PUBLIC_ROUTES}, decided by
 * the route matched; a JSON body nested more than {@link MAX_JSON_DEPTH} levels is refused (400
 * `json_too_deep`); a failure of the gateway itself is a 500 `internal_error` whose detail is
 * only logged.
 *
 * @example
 * const app = await buildGatewayApp({ catalog, caller, store })
 * await app.listen({ port: 8080 })
 */
export async function buildGatewayApp(init: GatewayAppInit): Promise<FastifyInstance> {
  const { catalog, caller, store } = init;
  const app = Fastify({
    ...(init.logger ? { loggerInstance: init.logger } : { logger: false }),
    bodyLimit: init.bodyLimit ?? 4 * 1024 * 1024,
    // JSON bodies come typed: a wrong type is the caller's mistake to hear about, not to be coerced
    // (fastify's default would turn `[null]` into `""` and `"5"` into 5).
    ajv: { customOptions: { coerceTypes: false } },
  });

  collectRoutes(app);
  // Bodies nested past MAX_JSON_DEPTH are refused before validation, hashing or forwarding.
  refuseDeepJson(app, {
    maxDepth: MAX_JSON_DEPTH,
    tooDeep: (max) => gatewayError('JsonTooDeep', `The body nests objects and arrays more than ${max} levels deep; this gateway accepts ${max} at most.`),
  });

  // Authenticated by the route fastify matched, never by how the request spelled its URL: an
  // absolute-form target (`POST http://x/v1/infer`), a percent-encoded or otherwise unusual path
  // still matches its route, and so still needs its key. Routes are private unless listed public.
  app.addHook('onRequest', async (request: FastifyRequest & { keyHash?: string }) => {
    const route = request.routeOptions.url;
    // No route matched: the not-found handler answers and serves nothing, so no key is needed to hear 404.
    if (route === undefined || GATEWAY_PUBLIC_ROUTES.has(route)) return;
    const header = request.headers.authorization;
    const key = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : '';
    if (!key) throw gatewayError('MissingApiKey', 'No API key: send "Authorization: Bearer <key>".');
    const keyHash = hashApiKey(key);
    if (!store.getApiKey(keyHash)) throw gatewayError('InvalidApiKey', 'The API key is not known to this gateway.');
    request.keyHash = keyHash;
  });
  /** The caller's key; a second lock on every paid route, should a route ever be listed public by mistake. */
  const keyOf = (request: FastifyRequest) => {
    const keyHash = (request as FastifyRequest & { keyHash?: string }).keyHash;
    if (!keyHash) throw gatewayError('MissingApiKey', 'No API key: send "Authorization: Bearer <key>".');
    return keyHash;
  };

  app.setErrorHandler((err, request, reply) => {
    const { status, body } = toOpenAiError(err);
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: body.error.code, status }, body.error.message);
    void reply.status(status).send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    void reply.status(404).send({ error: { message: `Unknown route ${request.method} ${request.url}.`, type: 'invalid_request_error', param: null, code: 'unknown_route' } });
  });

  app.get('/health', async () => ({ status: 'ok' }));

  // Public, outside /v1: the scores behind the root this gateway posted to ScoreRoots, each with
  // its merkle proof, so anyone can check a provider's score against the chain (verifyScore).
  // Built once per posted epoch: proofs cost a pass over the tree per leaf.
  let scoresBody: { of: PublishedEpoch; body: unknown } | undefined;
  app.get('/scores', async (_request, reply) => {
    const latest = init.getPublishedScores?.();
    if (!latest) return reply.status(404).send({ error: { message: 'This gateway has not posted an epoch of scores yet.', type: 'invalid_request_error', param: null, code: 'no_scores_posted' } });
    if (scoresBody?.of !== latest) {
      const body = {
        epoch: latest.epoch.toString(),
        root: latest.root,
        scores: latest.leaves.map((leaf) => ({ ...leaf, price: leaf.price.toString(), calls: leaf.calls.toString(), proof: latest.tree.getProof(hashEpochScoreLeaf(leaf)) })),
      };
      scoresBody = { of: latest, body };
    }
    return scoresBody.body;
  });

  // Outside /v1: verifiers sign for it as the audit's drawn verifier instead of using an API key.
  app.get<{ Params: { receiptsRoot: string } }>('/audits/:receiptsRoot/evidence', async (request) => {
    if (!init.getEvidence) throw gatewayError('AuditsDisabled', 'This gateway does not open audits, so it holds no evidence.');
    return init.getEvidence(request.params.receiptsRoot, request.headers.authorization);
  });

  async function resolveModel(ref: string, kind: 'language' | 'any'): Promise<CatalogModel> {
    const model = await catalog.resolve(ref);
    if (!model) throw gatewayError('UnknownModel', `The model "${ref}" does not exist on this network; GET /v1/models lists the models on offer.`, { param: 'model' });
    if (kind === 'language' && model.runtime !== 'llama.cpp') {
      throw gatewayError('ModelNotSupported', `"${model.name}" is not a language model (runtime ${model.runtime}); use POST /v1/infer for it.`, { param: 'model' });
    }
    return model;
  }

  app.get('/v1/models', async () => {
    const models = await catalog.listModels();
    const withOffers = await Promise.all(models.map(async (m) => ({ model: m, offers: await catalog.offers(m.modelId) })));
    return {
      object: 'list',
      data: withOffers
        .filter(({ offers }) => offers.length > 0)
        .map(({ model, offers }) => ({
          id: model.name,
          object: 'model',
          created: 0,
          owned_by: model.publisher,
          agora: {
            modelId: model.modelId,
            format: model.format,
            runtime: model.runtime,
            verificationMode: model.verificationMode,
            providers: offers.length,
            cheapestPrice: offers[0]!.price.toString(),
            // What this gateway has measured of each provider it has routed to (empty until it routes).
            scores: caller.getProviderScores(model.modelId).map(({ provider, price, summary }) => ({
              provider,
              price: price.toString(),
              calls: summary.calls,
              auditPassRate: round(summary.auditPassRate),
              canaryPassRate: round(summary.canaryPassRate),
              deliveryRate: round(summary.deliveryRate),
              expectedLatencyMs: round(summary.expectedLatencyMs),
              quality: round(summary.quality),
              value: summary.value,
            })),
          },
        })),
    };
  });

  app.post<{ Body: ChatBody }>(
    '/v1/chat/completions',
    {
      schema: {
        body: {
          type: 'object',
          required: ['model', 'messages'],
          properties: {
            ...sampling,
            messages: {
              type: 'array',
              minItems: 1,
              items: {
                type: 'object',
                required: ['role'],
                properties: {
                  role: { type: 'string' },
                  content: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'object', required: ['type'], properties: { type: { type: 'string' }, text: { type: 'string' } } } }, { type: 'null' }] },
                },
              },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const model = await resolveModel(body.model, 'language');
      const params = samplingParams(body);
      const input = { messages: toProviderMessages(body.messages) };
      const id = `chatcmpl-${randomUUID()}`;
      const created = now();
      const signal = abortOnDisconnect(reply);
      if (!body.stream) {
        const result = await caller.call({ keyHash: keyOf(request), model, input, params, signal });
        const output = result.output as LanguageOutput;
        return {
          id,
          object: 'chat.completion',
          created,
          model: model.name,
          choices: [{ index: 0, message: { role: 'assistant', content: output.text, refusal: null }, logprobs: null, finish_reason: output.finishReason }],
          usage: usageOf(output),
          agora: agoraExtension(result),
        };
      }
      const chunk = (delta: Record<string, unknown>, finishReason: string | null, extra: Record<string, unknown> = {}) => ({
        id,
        object: 'chat.completion.chunk',
        created,
        model: model.name,
        choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
        ...extra,
      });
      return streaming(request, reply, async (sse) => {
        const result = await caller.call({
          keyHash: keyOf(request),
          model,
          input,
          params,
          signal,
          onToken: (text) => {
            if (!text) return;
            if (!sse.started) sse.send(chunk({ role: 'assistant', content: '' }, null));
            sse.send(chunk({ content: text }, null));
          },
        });
        const output = result.output as LanguageOutput;
        if (!sse.started) sse.send(chunk({ role: 'assistant', content: output.text }, null));
        sse.send(chunk({}, output.finishReason, { agora: agoraExtension(result) }));
        if (body.stream_options?.include_usage) sse.send({ id, object: 'chat.completion.chunk', created, model: model.name, choices: [], usage: usageOf(output) });
      });
    },
  );

  app.post<{ Body: CompletionBody }>(
    '/v1/completions',
    {
      schema: {
        body: {
          type: 'object',
          required: ['model', 'prompt'],
          properties: { ...sampling, prompt: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 1 }] } },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const model = await resolveModel(body.model, 'language');
      const params = samplingParams(body);
      const input = { prompt: Array.isArray(body.prompt) ? body.prompt[0]! : body.prompt };
      const id = `cmpl-${randomUUID()}`;
      const created = now();
      const signal = abortOnDisconnect(reply);
      const choice = (text: string, finishReason: string | null) => ({ id, object: 'text_completion', created, model: model.name, choices: [{ text, index: 0, logprobs: null, finish_reason: finishReason }] });
      if (!body.stream) {
        const result = await caller.call({ keyHash: keyOf(request), model, input, params, signal });
        const output = result.output as LanguageOutput;
        return { ...choice(output.text, output.finishReason), usage: usageOf(output), agora: agoraExtension(result) };
      }
      return streaming(request, reply, async (sse) => {
        const result = await caller.call({ keyHash: keyOf(request), model, input, params, signal, onToken: (text) => text && sse.send(choice(text, null)) });
        const output = result.output as LanguageOutput;
        if (!sse.started && output.text) sse.send(choice(output.text, null));
        sse.send({ ...choice('', output.finishReason), ...(body.stream_options?.include_usage ? { usage: usageOf(output) } : {}), agora: agoraExtension(result) });
      });
    },
  );

  app.post<{ Body: EmbeddingBody }>(
    '/v1/embeddings',
    {
      schema: {
        body: {
          type: 'object',
          required: ['model', 'input'],
          properties: {
            model: { type: 'string', minLength: 1 },
            input: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 2048 }] },
            encoding_format: { enum: ['float', 'base64'] },
            dimensions: { type: 'integer', minimum: 1 },
          },
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      if (body.dimensions !== undefined) throw gatewayError('InvalidRequest', 'dimensions is not supported: the model decides the embedding size.', { param: 'dimensions' });
      const model = await resolveModel(body.model, 'language');
      const texts = Array.isArray(body.input) ? body.input : [body.input];
      const result = await caller.call({ keyHash: keyOf(request), model, input: { embed: texts }, params: {}, signal: abortOnDisconnect(reply) });
      const output = result.output as EmbeddingOutput;
      return {
        object: 'list',
        data: output.embeddings.map((vector, index) => ({ object: 'embedding', index, embedding: body.encoding_format === 'base64' ? embeddingToBase64(vector) : vector })),
        model: model.name,
        usage: { prompt_tokens: output.usage.promptTokens, total_tokens: output.usage.promptTokens },
        agora: agoraExtension(result),
      };
    },
  );

  app.post<{ Body: InferBody }>(
    '/v1/infer',
    { schema: { body: { type: 'object', required: ['model', 'input'], properties: { model: { type: 'string', minLength: 1 }, input: {}, params: { type: 'object' } } } } },
    async (request, reply) => {
      const { model: ref, input, params = {} } = request.body;
      const model = await resolveModel(ref, 'any');
      const result = await caller.call({ keyHash: keyOf(request), model, input, params, signal: abortOnDisconnect(reply) });
      return { object: 'agora.inference', id: `infer-${randomUUID()}`, created: now(), model: model.name, output: result.output, agora: agoraExtension(result) };
    },
  );

  app.get('/v1/usage', async (request) => {
    const record = store.getApiKey(keyOf(request));
    if (!record) throw gatewayError('InvalidApiKey', 'The API key is not known to this gateway.');
    return { object: 'agora.usage', name: record.name, spent: record.spent.toString(), spendLimit: record.spendLimit.toString() };
  });

  return app;
}
