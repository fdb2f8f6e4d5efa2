import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { isAddressEqual, type Hex, type LocalAccount } from 'viem';
import {
  AgoraError,
  getChannel,
  hashCanonicalJson,
  signInferenceReceipt,
  verifyVoucher,
  type AgoraWalletClient,
  type GetChannelReturnType,
  type SignedVoucher,
} from '@agora/sdk';
import type { VoucherStore } from '../store/voucherStore.ts';
import { PAYMENT_HEADER, decodePaymentHeader } from './paymentHeader.ts';
import type { ServedModel } from './servedModel.ts';
import { MAX_JSON_DEPTH, collectRoutes, refuseDeepJson } from '../httpGuards.ts';

export type ProviderAppInit = {
  /** The provider's client; its local account signs receipts and must be the channels' provider. */
  client: AgoraWalletClient & { account: LocalAccount };
  store: VoucherStore;
  models: ServedModel[];
  /** Largest request body accepted, bytes (default 4 MiB: an image for OCR fits). */
  bodyLimit?: number;
  /** How long a channel read from the chain is trusted, ms (default 10 s). */
  channelTtlMs?: number;
  /** Refuse calls on a closing channel this many seconds before its challenge period ends. */
  closeMarginSeconds?: number;
  /** A pino logger for requests (default: none). */
  logger?: FastifyBaseLogger;
  /**
   * The highest model royalty rate (bps) this provider pays from its share, per model id (lower
   * case). A channel snapshots the rate when the buyer opens it, and the provider never agreed to
   * that snapshot: vouchers on a channel above this are refused (`RoyaltyNotAccepted`, 409), and
   * the 402 quote tells buyers to open with it as their `maxRoyaltyBps`. A model without an entry
   * accepts any rate. The node fills it with the rate each model had when it offered it, or the
   * `maxRoyaltyBps` of its config.
   */
  royaltyLimits?: ReadonlyMap<string, number>;
};

/**
 * How each failure the provider words for its callers is answered. Payments: who must act decides
 * 401 (not your channel / forged) vs 402 (pay properly). Any other error is a failure of the
 * provider itself: a 500 whose detail goes to the log only.
 */
const ERROR_STATUS: Record<string, number> = {
  MalformedVoucher: 400,
  JsonTooDeep: 400,
  ChainUnavailable: 503,
  VoucherForged: 401,
  WrongChannel: 401,
  VoucherReplayed: 402,
  VoucherRaced: 402,
  VoucherUnderpaid: 402,
  VoucherRequestMismatch: 402,
  ChannelExhausted: 402,
  ChannelNotOpen: 402,
  UnknownChannel: 402,
  // The channel is fine but its terms are not: a new voucher cannot fix it, a new channel can.
  RoyaltyNotAccepted: 409,
};

/** `stream` asks for server-sent events (models that stream only); it is not part of the request hash. */
/** A channel as the provider's store has it (decimal strings): see `channelState` in buildProviderApp. */
export type ChannelState = { accepted: string; credit: string };

type InferBody = { input: unknown; params?: Record<string, unknown>; stream?: boolean };

/**
 * The provider's HTTP API (fast path). A call without a voucher is answered 402 with a quote; a
 * call with one is verified, the voucher is stored durably, the model runs, and the answer carries
 * a signed receipt. A call that fails after payment, or whose client leaves before the answer,
 * gives its payment back as channel credit (`charged: false`, `credit`), which later vouchers spend.
 *
 * `POST /v1/infer/:modelId` with `{ input, params?, stream? }`. Unpaid: `402 { error, quote, x402Version: 1,
 * accepts: [x402 payment requirements, scheme 'agora-channel'] }`. With `stream: true` on a model that
 * streams, a paid call is answered `200 text/event-stream`: `event: token` `{ text }` per piece,
 * then exactly one `event: result` (the JSON a plain call answers) or `event: error`
 * `{ error: { code, message, charged } }`. Payment errors are plain JSON either way.
 *
 * @example
 * const app = await buildProviderApp({ client, store, models })
 * await app.listen({ host: '127.0.0.1', port: 8001 })
 */
export async function buildProviderApp(init: ProviderAppInit): Promise<FastifyInstance> {
  const { client, store } = init;
  const me = client.account;
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const models = new Map(init.models.map((m) => [m.descriptor.modelId.toLowerCase(), m]));
  const channels = new Map<string, { channel: GetChannelReturnType; readAt: number }>();
  const channelTtlMs = init.channelTtlMs ?? 10_000;
  const royaltyLimit = (modelId: Hex) => init.royaltyLimits?.get(modelId.toLowerCase());

  /**
   * The channel as the chain has it, cached briefly: a buyer's unilateral close or top-up shows
   * up within `channelTtlMs` (the redeemer also redeems closing channels at once).
   */
  async function readChannel(channelId: Hex, refresh: boolean): Promise<GetChannelReturnType> {
    const cached = channels.get(channelId);
    if (cached && !refresh && Date.now() - cached.readAt < channelTtlMs) return cached.channel;
    const channel = await getChannel(client, { channelId }).catch((err: unknown) => {
      if (err instanceof AgoraError && err.code === 'UnknownChannel') throw err;
      throw new AgoraError('ChainUnavailable', 'The provider cannot read the channel from the chain right now.', { cause: err });
    });
    channels.set(channelId, { channel, readAt: Date.now() });
    return channel;
  }

  /**
   * Where a channel stands in this provider's books: the newest voucher amount it accepted and the
   * credit the buyer has (paid, not served). Sent with every answer and payment refusal on a known
   * channel, so a buyer that lost track (a call cut off, a crash) can set its own view right.
   */
  function channelState(channelId: Hex): ChannelState | undefined {
    const stored = store.get(channelId);
    return stored ? { accepted: stored.cumulativeAmount.toString(), credit: stored.credit.toString() } : undefined;
  }

  const app = Fastify({
    ...(init.logger ? { loggerInstance: init.logger } : { logger: false }),
    bodyLimit: init.bodyLimit ?? 4 * 1024 * 1024,
  });

  dropIdleConnectionsOnClose(app);
  collectRoutes(app);
  // Bodies nested past MAX_JSON_DEPTH are refused before validation or hashing (unpaid calls hash too, for the quote).
  refuseDeepJson(app, {
    maxDepth: MAX_JSON_DEPTH,
    tooDeep: (max) => new AgoraError('JsonTooDeep', `The body nests objects and arrays more than ${max} levels deep; this provider accepts ${max} at most.`, { fix: 'send a flatter input.' }),
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, request, reply) => {
    const known = err instanceof AgoraError && ERROR_STATUS[err.code] !== undefined;
    const status = known ? ERROR_STATUS[err.code]! : err instanceof AgoraError ? 500 : (err.statusCode ?? 500);
    const channel = (err as { channel?: ChannelState }).channel;
    if (status >= 500 && !known) {
      // The provider's own failure: its text (paths, library errors) stays in the log.
      request.log.error({ err }, 'request failed');
      return reply.status(500).send({ error: { code: 'InternalError', message: 'The provider failed to handle the request; the detail is in its log.', ...(channel ? { channel } : {}) } });
    }
    if (status >= 500) request.log.error({ err }, 'request failed');
    else request.log.info({ code: err.code, status }, err.message);
    // Fastify's own client errors (bad JSON, schema, size, content type) word the caller's mistake.
    const code = err instanceof AgoraError ? err.code : status === 413 ? 'PayloadTooLarge' : status === 415 ? 'UnsupportedMediaType' : 'BadRequest';
    return reply.status(status).send({ error: { code, message: err instanceof AgoraError ? err.shortMessage : err.message, fix: err instanceof AgoraError ? err.fix : undefined, ...(channel ? { channel } : {}) } });
  });

  app.get('/health', async () => ({ status: 'ok', provider: me.address, chainId: domain.chainId }));

  app.get('/v1/models', async () => ({
    provider: me.address,
    models: init.models.map((m) => ({
      modelId: m.descriptor.modelId,
      name: m.descriptor.name,
      format: m.descriptor.format,
      runtime: m.descriptor.runtime,
      pricePerCall: m.pricePerCall.toString(),
    })),
  }));

  app.post<{ Params: { modelId: string }; Body: InferBody }>(
    '/v1/infer/:modelId',
    {
      schema: {
        params: { type: 'object', properties: { modelId: { type: 'string', pattern: '^0x[0-9a-fA-F]{64}$' } }, required: ['modelId'] },
        body: { type: 'object', properties: { input: {}, params: { type: 'object' }, stream: { type: 'boolean' } }, required: ['input'] },
      },
    },
    async (request, reply) => {
      const model = models.get(request.params.modelId.toLowerCase());
      if (!model) {
        return reply.status(404).send({ error: { code: 'UnknownModel', message: `This provider does not serve model ${request.params.modelId}.` } });
      }
      const { input, params = {} } = request.body;
      const modelId = model.descriptor.modelId;
      const requestHash = hashCanonicalJson({ modelId, input, params });
      const quote = {
        scheme: 'agora-channel',
        modelId,
        price: model.pricePerCall.toString(),
        unit: 'call',
        provider: me.address,
        paymentChannels: domain.paymentChannels,
        token: client.deployment.contracts.token,
        chainId: domain.chainId,
        requestHash,
        header: PAYMENT_HEADER,
        // Open the channel with this as maxRoyaltyBps: vouchers on a channel above it are refused.
        ...(royaltyLimit(modelId) === undefined ? {} : { maxRoyaltyBps: royaltyLimit(modelId) }),
      };
      const header = request.headers[PAYMENT_HEADER];
      if (typeof header !== 'string') {
        return reply.status(402).send({
          error: { code: 'PaymentRequired', message: `This call costs ${model.pricePerCall} token units; send a voucher in the ${PAYMENT_HEADER} header.` },
          quote,
          // The same offer as x402 (v1) payment requirements, so x402 tooling can read what to pay.
          x402Version: 1,
          accepts: [
            {
              scheme: 'agora-channel',
              network: `eip155:${domain.chainId}`,
              maxAmountRequired: model.pricePerCall.toString(),
              resource: `${request.protocol}://${request.host}${request.url}`,
              description: `One call of ${model.descriptor.name} (${modelId}).`,
              mimeType: 'application/json',
              payTo: me.address,
              maxTimeoutSeconds: 600,
              asset: client.deployment.contracts.token,
              extra: {
                paymentChannels: domain.paymentChannels,
                modelId,
                requestHash,
                header: PAYMENT_HEADER,
                unit: 'call',
                ...(royaltyLimit(modelId) === undefined ? {} : { maxRoyaltyBps: royaltyLimit(modelId) }),
              },
            },
          ],
        });
      }

      const voucher = decodePaymentHeader(header);
      if (voucher.requestHash.toLowerCase() !== requestHash.toLowerCase()) {
        throw new AgoraError('VoucherRequestMismatch', 'The voucher pays for a different request.', {
          fix: `sign the voucher with requestHash ${requestHash} (keccak256 of the canonical JSON of {modelId, input, params}).`,
        });
      }
      const { call } = await acceptPayment(voucher, model).catch((err: unknown) => {
        // Say where the channel stands, so the buyer can correct its view instead of guessing.
        const channel = channelState(voucher.channelId);
        throw channel && err instanceof Error ? Object.assign(err, { channel }) : err;
      });
      const controller = new AbortController();
      // The client went away before the answer was sent: stop the model. (The request's own
      // 'close' fires as soon as its body is read, so listen on the response.)
      reply.raw.once('close', () => {
        if (!reply.raw.writableEnded) controller.abort();
      });

      /**
       * Gives a failed call's payment back as channel credit and says how it is answered. Credit
       * rather than rollback: a later call may already be paid on top of this voucher.
       */
      const failure = (err: unknown) => {
        let credit: bigint | undefined;
        try {
          credit = store.refund(call);
        } catch (storeErr) {
          // The call's row stays `running`: the next open() of the store turns it into credit.
          request.log.error({ err: storeErr }, 'could not credit a failed call now; it is credited at the next start');
        }
        const aborted = controller.signal.aborted;
        const status = (err as { statusCode?: number }).statusCode === 400 ? 400 : 500;
        if (aborted) request.log.info({ credit: credit?.toString() }, 'client went away before the answer; payment credited');
        else if (status === 400) request.log.info({ code: (err as AgoraError).code, credit: credit?.toString() }, 'model refused the input; payment credited');
        else request.log.error({ err, credit: credit?.toString() }, 'model failed after payment; payment credited');
        const code = aborted ? 'CallAborted' : status === 400 ? 'InvalidInput' : 'ModelFailed';
        // A refused input is the caller's to fix and says why; a model's own failure stays in the log.
        const message = aborted ? 'The client went away before the answer.' : status === 400 ? (err as Error).message : 'The model failed to answer; the detail is in the provider’s log.';
        return {
          status,
          error: {
            code,
            message,
            charged: false,
            ...(credit === undefined ? {} : { credit: credit.toString() }),
            ...(credit === undefined ? {} : { channel: channelState(voucher.channelId) }),
            fix: `the payment is kept as credit on channel ${voucher.channelId}: the next voucher on it needs to add only what the credit does not cover.`,
          },
        };
      };
      /**
       * The answer to a call that ran: its output and a receipt binding input, output and payment.
       * The call is recorded as answered before the answer goes out: a crash in between leaves the
       * buyer without an answer it paid for (one call at most).
       */
      const answer = async (output: unknown) => {
        const receipt = await signInferenceReceipt(me, domain, {
          modelId,
          inputHash: hashCanonicalJson(input),
          paramsHash: hashCanonicalJson(params),
          outputHash: hashCanonicalJson(output),
          channelId: voucher.channelId,
          cumulativeAmount: voucher.cumulativeAmount,
        });
        // The client left while the model ran on (a model that ignores the signal): not answered.
        controller.signal.throwIfAborted();
        store.finish(call);
        return { modelId, output, receipt: { ...receipt, cumulativeAmount: receipt.cumulativeAmount.toString() }, channel: channelState(voucher.channelId) };
      };

      if (!(request.body.stream === true && model.streams === true)) {
        try {
          return await answer(await model.run(input, params, { signal: controller.signal }));
        } catch (err) {
          const { status, error } = failure(err);
          return reply.status(status).send({ error });
        }
      }

      // Streaming: from here on the status line is sent, so fastify must not answer for us (its
      // error handler would try to send a second response); every outcome becomes an event.
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
      const event = (name: 'token' | 'result' | 'error', data: unknown) => {
        if (!raw.destroyed && !raw.writableEnded) raw.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
      };
      try {
        const output = await model.run(input, params, { signal: controller.signal, onToken: (text) => event('token', { text }) });
        event('result', await answer(output));
      } catch (err) {
        // `status` is what a plain call would have answered: the HTTP status is long sent.
        const { status, error } = failure(err);
        event('error', { error: { ...error, status } });
      }
      // A client that left gets no polite end: its connection is dropped so it cannot linger
      // (a hijacked response is not closed by fastify on shutdown).
      if (controller.signal.aborted) raw.destroy();
      else raw.end();
      return reply;
    },
  );

  /**
   * Verifies a voucher against the channel and the store, then stores it durably with its call.
   * The channel's credit counts towards the price: a voucher may add only `price - credit`, or
   * nothing at all (same cumulative amount, another request) when the credit covers the price.
   */
  async function acceptPayment(voucher: SignedVoucher, model: ServedModel) {
    const price = model.pricePerCall;
    let channel = await readChannel(voucher.channelId, false);
    for (let attempt = 0; ; attempt++) {
      if (!isAddressEqual(channel.provider, me.address)) {
        throw new AgoraError('WrongChannel', `Channel ${voucher.channelId} pays provider ${channel.provider}, not this one.`);
      }
      if (channel.modelId.toLowerCase() !== model.descriptor.modelId.toLowerCase()) {
        throw new AgoraError('WrongChannel', `Channel ${voucher.channelId} is for another model.`, { fix: 'open a channel for this model.' });
      }
      const limit = royaltyLimit(model.descriptor.modelId);
      if (limit !== undefined && channel.royaltyBps > limit) {
        throw new AgoraError(
          'RoyaltyNotAccepted',
          `Channel ${voucher.channelId} pays the model's publisher ${channel.royaltyBps} bps, above the ${limit} bps this provider accepts for the model.`,
          { fix: `open a new channel with maxRoyaltyBps ${limit} (the rate in this provider's quote).` },
        );
      }
      const closingTooSoon =
        channel.status === 'Closing' && channel.closesAt * 1000n < BigInt(Date.now()) + BigInt((init.closeMarginSeconds ?? 600) * 1000);
      if (channel.status === 'Closed' || closingTooSoon) {
        throw new AgoraError('ChannelNotOpen', `Channel ${voucher.channelId} is ${channel.status.toLowerCase()}.`, { fix: 'open a new channel.' });
      }
      const previous = store.get(voucher.channelId);
      const storedCumulative = previous?.cumulativeAmount ?? 0n;
      const accepted = storedCumulative > channel.redeemed ? storedCumulative : channel.redeemed;
      const credit = previous?.credit ?? 0n;
      const due = price > credit ? price - credit : 0n;
      // A voucher at the accepted amount spends credit only: of verifyVoucher's checks only the
      // signature and the deposit apply (hence the previous amount one below it and no price);
      // the store decides, atomically, whether the credit covers it and it has not paid before.
      const creditOnly = voucher.cumulativeAmount === accepted && due === 0n;
      try {
        await verifyVoucher({
          domain,
          voucher,
          signer: channel.signer,
          previousCumulative: creditOnly ? accepted - 1n : accepted,
          price: creditOnly ? 0n : due,
          deposit: channel.deposit,
        });
      } catch (err) {
        // A top-up since the channel was cached: read it again once.
        if (err instanceof AgoraError && err.code === 'ChannelExhausted' && attempt === 0) {
          channel = await readChannel(voucher.channelId, true);
          continue;
        }
        // verifyVoucher was asked for the price less the credit: say so rather than a wrong price.
        if (err instanceof AgoraError && err.code === 'VoucherUnderpaid' && credit > 0n) {
          throw new AgoraError('VoucherUnderpaid', `The voucher adds ${voucher.cumulativeAmount - accepted} and the channel's credit is ${credit}, but the call costs ${price}.`, {
            fix: `sign a voucher for cumulative amount ${accepted + due} or more.`,
            cause: err,
          });
        }
        throw err;
      }
      return store.accept(voucher, { expectedPrevious: previous, price, redeemed: channel.redeemed });
    }
  }

  return app;
}

/**
 * Makes `app.close()` finish once in-flight calls are answered. Node's `server.close()` only reaps
 * keep-alive connections idle at that moment, never one that has not sent a request yet (undici
 * opens such a spare connection after an aborted call) nor one that becomes idle later, so a
 * provider's drain could wait for its clients forever.
 */
function dropIdleConnectionsOnClose(app: FastifyInstance): void {
  const sockets = new Set<Socket>();
  const busy = new Set<Socket>();
  let closing = false;
  app.server.on('connection', (socket: Socket) => {
    if (closing) return void socket.destroy();
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  app.server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    busy.add(request.socket);
    response.once('close', () => {
      busy.delete(request.socket);
      if (closing) request.socket.destroy();
    });
  });
  app.addHook('preClose', (done) => {
    closing = true;
    for (const socket of sockets) if (!busy.has(socket)) socket.destroy();
    done();
  });
}
