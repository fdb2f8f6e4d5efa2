import { AgoraError } from '@agora/sdk';

/** OpenAI's error body: `{ error: { message, type, param, code } }`, which its clients parse. */
export type OpenAiErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

/** How each gateway failure is answered: HTTP status, OpenAI error type, and OpenAI-style code. */
const BY_CODE: Record<string, { status: number; type: string; code: string }> = {
  InvalidApiKey: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  MissingApiKey: { status: 401, type: 'invalid_request_error', code: 'invalid_api_key' },
  SpendLimitReached: { status: 429, type: 'insufficient_quota', code: 'insufficient_quota' },
  UnknownModel: { status: 404, type: 'invalid_request_error', code: 'model_not_found' },
  ModelNotSupported: { status: 400, type: 'invalid_request_error', code: 'model_not_supported' },
  InvalidRequest: { status: 400, type: 'invalid_request_error', code: 'invalid_request' },
  InvalidInput: { status: 400, type: 'invalid_request_error', code: 'invalid_input' },
  JsonTooDeep: { status: 400, type: 'invalid_request_error', code: 'json_too_deep' },
  PayloadTooLarge: { status: 413, type: 'invalid_request_error', code: 'request_too_large' },
  NoProvider: { status: 503, type: 'server_error', code: 'no_provider' },
  GatewayCannotPay: { status: 503, type: 'server_error', code: 'gateway_cannot_pay' },
  ClientClosedRequest: { status: 499, type: 'invalid_request_error', code: 'client_closed_request' },
  ChainUnavailable: { status: 503, type: 'server_error', code: 'chain_unavailable' },
  ProviderFailed: { status: 502, type: 'server_error', code: 'provider_failed' },
  ProviderTimeout: { status: 504, type: 'server_error', code: 'provider_timeout' },
  InvalidReceipt: { status: 502, type: 'server_error', code: 'invalid_receipt' },
  // Audit evidence, asked for by verifiers (not OpenAI routes, same error shape).
  EvidenceAuthMissing: { status: 401, type: 'invalid_request_error', code: 'evidence_auth_missing' },
  EvidenceAuthExpired: { status: 401, type: 'invalid_request_error', code: 'evidence_auth_expired' },
  EvidenceAuthInvalid: { status: 401, type: 'invalid_request_error', code: 'evidence_auth_invalid' },
  NotDrawnVerifier: { status: 403, type: 'invalid_request_error', code: 'not_drawn_verifier' },
  EvidenceNotFound: { status: 404, type: 'invalid_request_error', code: 'evidence_not_found' },
  AuditsDisabled: { status: 404, type: 'invalid_request_error', code: 'audits_disabled' },
};

/** An error the gateway answers with a chosen status, in OpenAI's shape. */
export function gatewayError(code: keyof typeof BY_CODE, message: string, options: { param?: string; cause?: unknown } = {}): AgoraError {
  return Object.assign(new AgoraError(code, message, options.cause === undefined ? {} : { cause: options.cause }), { param: options.param });
}

/** What a failure of the gateway itself is answered with: its detail goes to the log only. */
const INTERNAL_ERROR = { status: 500, body: { error: { message: 'The gateway failed to handle the request; the detail is in its log.', type: 'server_error', param: null, code: 'internal_error' } } };

/**
 * Turns any error into the status and OpenAI-shaped body the gateway answers with. Only errors the
 * gateway words for its callers (a code it knows, or a client error) carry their own message; any
 * other failure is a generic 500, so no internal error text leaks.
 */
export function toOpenAiError(err: unknown): { status: number; body: OpenAiErrorBody } {
  const e = err as Error & { statusCode?: number; code?: string; param?: string; validation?: unknown };
  if (err instanceof AgoraError) {
    const known = BY_CODE[err.code];
    const status = known?.status ?? e.statusCode ?? 500;
    if (!known && status >= 500) return INTERNAL_ERROR;
    const message = err.shortMessage + (err.fix ? ` To fix: ${err.fix}` : '');
    return {
      status,
      body: { error: { message, type: known?.type ?? (status >= 500 ? 'server_error' : 'invalid_request_error'), param: e.param ?? null, code: known?.code ?? err.code } },
    };
  }
  // Fastify's own errors: bad JSON, schema validation, body too large, wrong content type.
  const status = e.statusCode ?? 500;
  if (status === 413) return { status, body: { error: { message: 'The request body is too large.', type: 'invalid_request_error', param: null, code: 'request_too_large' } } };
  if (status === 415) return { status, body: { error: { message: 'Send the body as application/json.', type: 'invalid_request_error', param: null, code: 'unsupported_media_type' } } };
  if (status >= 400 && status < 500) {
    const message = e.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || e instanceof SyntaxError ? `The body is not valid JSON: ${e.message}` : e.message;
    return { status: 400, body: { error: { message, type: 'invalid_request_error', param: null, code: e.validation ? 'invalid_request' : 'invalid_json' } } };
  }
  return INTERNAL_ERROR;
}
