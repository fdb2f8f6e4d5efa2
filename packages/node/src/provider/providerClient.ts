import type { Address, Hex } from 'viem';
import { AgoraError, type AgoraErrorParameters, type SignedInferenceReceipt, type SignedVoucher } from '@agora/sdk';
import { PAYMENT_HEADER, encodePaymentHeader } from './paymentHeader.ts';
import { readServerSentEvents } from './readServerSentEvents.ts';

/** What a provider asks for a call (the `quote` of its 402 answer), amounts as bigint. */
export type ProviderQuote = {
  scheme: 'agora-channel';
  modelId: Hex;
  /** Price of this call, token base units: the voucher must add at least this (less the channel's credit). */
  price: bigint;
  unit: string;
  /** The provider's address: the channel's payee. */
  provider: Address;
  paymentChannels: Address;
  token: Address;
  chainId: number;
  /** What the voucher must sign as `requestHash`: keccak256 of the canonical JSON of `{ modelId, input, params }`. */
  requestHash: Hex;
  /** The header that carries the voucher. */
  header: string;
};

/**
 * A provider refused or failed a call. `code` is the provider's own (`PaymentRequired`,
 * `VoucherUnderpaid`, `InvalidInput`, `ModelFailed`, …) or, for failures on the way,
 * `ProviderUnreachable` / `ProviderAnswerInvalid` / `ProviderStreamBroken`.
 */
export class ProviderCallError extends AgoraError {
  override name = 'ProviderCallError';
  /**
   * The HTTP status the provider answered (for a streamed call that failed after the stream began,
   * the status a plain call would have had); undefined when no answer came.
   */
  readonly status: number | undefined;
  /** Whether the provider kept the call's payment: false means it became channel credit. Undefined when unknown. */
  readonly charged: boolean | undefined;
  /** The channel's credit after the failure (token base units), when the provider says. */
  readonly credit: bigint | undefined;
  /** The provider's quote, on `PaymentRequired` (402 without a voucher). */
  readonly quote: ProviderQuote | undefined;
  /** The channel in the provider's books, when the call named a channel the provider knows. */
  readonly channel: ProviderChannelState | undefined;

  constructor(
    code: string,
    shortMessage: string,
    parameters: AgoraErrorParameters & {
      status?: number | undefined;
      charged?: boolean | undefined;
      credit?: bigint | undefined;
      quote?: ProviderQuote | undefined;
      channel?: ProviderChannelState | undefined;
    } = {},
  ) {
    super(code, shortMessage, parameters);
    this.status = parameters.status;
    this.charged = parameters.charged;
    this.credit = parameters.credit;
    this.quote = parameters.quote;
    this.channel = parameters.channel;
  }
}

export type CallProviderParameters = {
  /** The provider's base URL (its on-chain endpoint), e.g. `http://127.0.0.1:8001`. */
  url: string;
  modelId: Hex;
  input: unknown;
  /** Model parameters (`max_tokens`, `temperature`, …); part of the request hash. Default `{}`. */
  params?: Record<string, unknown> | undefined;
  /** Pays the call; without one the provider answers 402 and this throws `PaymentRequired` with the `quote`. */
  voucher?: SignedVoucher | undefined;
  /** Ask for server-sent events; only models that stream honour it (others answer plain JSON, which is read the same). */
  stream?: boolean | undefined;
  /** Called with each text piece of a streamed answer, in order. */
  onToken?: ((text: string) => void) | undefined;
  /** Aborting stops the call (the provider stops the model and credits the payment back); rejects with `signal.reason`. */
  signal?: AbortSignal | undefined;
  /** The fetch to use (default: the global one). */
  fetch?: typeof globalThis.fetch | undefined;
};

/** Where the channel stands in the provider's books after a call: the newest voucher amount it accepted and the buyer's credit there. */
export type ProviderChannelState = { accepted: bigint; credit: bigint };

/** Reads the `channel` field of a provider answer or error, if well-formed. */
function parseChannelState(value: unknown): ProviderChannelState | undefined {
  const { accepted, credit } = (value ?? {}) as { accepted?: unknown; credit?: unknown };
  const amount = (v: unknown) => typeof v === 'string' && /^\d{1,78}$/.test(v);
  return amount(accepted) && amount(credit) ? { accepted: BigInt(accepted as string), credit: BigInt(credit as string) } : undefined;
}

export type CallProviderReturnType = {
  modelId: Hex;
  output: unknown;
  /** The provider's signed receipt binding input, params, output and payment (amounts as bigint). */
  receipt: SignedInferenceReceipt;
  /** The channel in the provider's books after this call (providers that predate it leave it out). */
  channel?: ProviderChannelState | undefined;
};

export type CallProviderErrorType = ProviderCallError;

/**
 * Calls a model on a provider over its fast-path HTTP API (`POST /v1/infer/:modelId`), streaming or
 * not, and returns the output with the provider's receipt.
 *
 * @throws {ProviderCallError} (an {@link AgoraError}) with the provider's `code`, the HTTP
 * `status`, whether the payment was `charged`, the channel's `credit`, and on `PaymentRequired`
 * the `quote` to pay. Aborting rejects with `signal.reason`.
 *
 * @example
 * const quote = await getProviderQuote({ url, modelId, input })
 * const voucher = await signVoucher(account, domain, { channelId, cumulativeAmount: paid + quote.price, requestHash: quote.requestHash })
 * const { output, receipt } = await callProvider({ url, modelId, input, voucher, stream: true, onToken: (t) => process.stdout.write(t) })
 */
export async function callProvider(parameters: CallProviderParameters): Promise<CallProviderReturnType> {
  const { url, modelId, input, params = {}, voucher, stream = false, onToken, signal } = parameters;
  const fetch = parameters.fetch ?? globalThis.fetch;
  const endpoint = new URL(`v1/infer/${modelId}`, url.endsWith('/') ? url : `${url}/`);
  let response: Response;
  try {
    response = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: stream ? 'text/event-stream, application/json' : 'application/json',
        ...(voucher ? { [PAYMENT_HEADER]: encodePaymentHeader(voucher) } : {}),
      },
      body: JSON.stringify({ input, params, ...(stream ? { stream: true } : {}) }),
      signal,
    });
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw new ProviderCallError('ProviderUnreachable', `Could not reach the provider at ${url}.`, {
      cause,
      fix: 'check that the provider is running and its endpoint is right; nothing was paid for this call.',
    });
  }
  try {
    if (response.ok && (response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
      return await readStreamedAnswer(response, url, onToken);
    }
    let body: unknown;
    try {
      body = await response.json();
    } catch (cause) {
      throw invalidAnswer(url, response.status, 'is not JSON', cause);
    }
    if (!response.ok) throw errorFromBody(body, response.status, url);
    return parseAnswer(body, url);
  } catch (err) {
    if (signal?.aborted) throw signal.reason;
    throw err;
  }
}

export type GetProviderQuoteParameters = Omit<CallProviderParameters, 'voucher' | 'stream' | 'onToken'>;

/**
 * Asks a provider what a call costs and what its voucher must sign, without paying: sends the
 * call without a voucher and reads the 402 answer's quote.
 *
 * @example
 * const { price, requestHash } = await getProviderQuote({ url, modelId, input: { prompt: 'Hi' }, params: { max_tokens: 8 } })
 */
export async function getProviderQuote(parameters: GetProviderQuoteParameters): Promise<ProviderQuote> {
  try {
    await callProvider(parameters);
  } catch (err) {
    if (err instanceof ProviderCallError && err.code === 'PaymentRequired' && err.quote) return err.quote;
    throw err;
  }
  throw new ProviderCallError('ProviderAnswerInvalid', `The provider at ${parameters.url} served a call without payment instead of quoting it.`, {
    status: 200,
  });
}

async function readStreamedAnswer(response: Response, url: string, onToken: ((text: string) => void) | undefined): Promise<CallProviderReturnType> {
  if (!response.body) throw invalidAnswer(url, response.status, 'has an empty event stream');
  for await (const { event, data } of readServerSentEvents(response.body)) {
    if (event !== 'token' && event !== 'result' && event !== 'error') continue; // room for new event kinds
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch (cause) {
      throw invalidAnswer(url, response.status, `has a ${event} event that is not JSON`, cause);
    }
    if (event === 'token') {
      const text = (parsed as { text?: unknown } | null)?.text;
      if (typeof text !== 'string') throw invalidAnswer(url, response.status, 'has a token event without text');
      onToken?.(text);
    } else if (event === 'result') {
      return parseAnswer(parsed, url);
    } else {
      const status = (parsed as { error?: { status?: unknown } } | null)?.error?.status;
      throw errorFromBody(parsed, typeof status === 'number' ? status : response.status, url);
    }
  }
  throw new ProviderCallError('ProviderStreamBroken', `The provider at ${url} ended the stream without a result.`, {
    status: response.status,
    fix: 'retry the call; a call that was not answered is credited back to the channel by the provider.',
  });
}

function invalidAnswer(url: string, status: number, what: string, cause?: unknown) {
  return new ProviderCallError('ProviderAnswerInvalid', `The answer of the provider at ${url} ${what}.`, {
    status,
    cause,
    fix: 'check that the URL points at an Agora provider (a proxy in between may rewrite answers).',
  });
}

const isHexString = (v: unknown): v is Hex => typeof v === 'string' && /^0x[0-9a-fA-F]*$/.test(v);

function parseAnswer(body: unknown, url: string): CallProviderReturnType {
  const { modelId, output, receipt, channel } = (body ?? {}) as { modelId?: unknown; output?: unknown; receipt?: Record<string, unknown>; channel?: unknown };
  const fields = ['modelId', 'inputHash', 'paramsHash', 'outputHash', 'channelId', 'provider', 'signature'] as const;
  if (!isHexString(modelId) || !receipt || !fields.every((f) => isHexString(receipt[f])) || typeof receipt.cumulativeAmount !== 'string' || !/^\d+$/.test(receipt.cumulativeAmount)) {
    throw invalidAnswer(url, 200, 'is not { modelId, output, receipt }');
  }
  return { modelId, output, receipt: { ...(receipt as unknown as SignedInferenceReceipt), cumulativeAmount: BigInt(receipt.cumulativeAmount) }, channel: parseChannelState(channel) };
}

function errorFromBody(body: unknown, status: number, url: string): ProviderCallError {
  const { error, quote } = (body ?? {}) as { error?: Record<string, unknown>; quote?: Record<string, unknown> };
  if (!error || typeof error.code !== 'string') return invalidAnswer(url, status, `is an error (HTTP ${status}) without a code`);
  const credit = typeof error.credit === 'string' && /^\d+$/.test(error.credit) ? BigInt(error.credit) : undefined;
  const parsedQuote =
    quote && typeof quote.price === 'string' && /^\d+$/.test(quote.price) ? ({ ...quote, price: BigInt(quote.price) } as unknown as ProviderQuote) : undefined;
  return new ProviderCallError(error.code, typeof error.message === 'string' ? error.message : `The provider answered ${error.code}.`, {
    status,
    charged: typeof error.charged === 'boolean' ? error.charged : undefined,
    credit,
    quote: parsedQuote,
    channel: parseChannelState(error.channel),
    fix: typeof error.fix === 'string' ? error.fix : undefined,
    metaMessages: [`Provider: ${url}`],
  });
}
