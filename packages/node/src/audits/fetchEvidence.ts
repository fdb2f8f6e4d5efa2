import { AgoraError } from '@agora/sdk';
import { readLimitedBody } from '../readLimitedBody.ts';

/** Largest evidence body read by default, bytes. */
export const DEFAULT_MAX_EVIDENCE_BYTES = 8 * 1024 * 1024;

export type FetchEvidenceParameters = {
  /** The audit's evidence URI (from its `EvidenceOffered` event). */
  url: string;
  /** The `Authorization` header value from `signEvidenceRequest`. */
  authorization: string;
  /** Stop reading and fail past this many bytes (default 8 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
};

/** The audited call as the opener offers it: what the receipt's hashes commit to. */
export type FetchEvidenceReturnType = { input: unknown; params: Record<string, unknown>; output: unknown };

/**
 * Fetches an audit's evidence from its opener (`GET <evidenceURI>` with the drawn verifier's
 * signed `Authorization`). The body is streamed and the download stopped past `maxBytes`, so a
 * hostile opener cannot fill memory. Whether the evidence hashes to the receipt is checked by
 * `verifyReceipt`, not here.
 *
 * @throws {AgoraError} `EvidenceUnavailable` (bad URL, network error, non-2xx answer; the opener's
 *   own error code is in the details), `EvidenceTooLarge`, `EvidenceMalformed` (not JSON
 *   `{ input, params, output }`). An abort through `signal` rethrows the abort reason.
 * @example
 * const authorization = await signEvidenceRequest({ account, court, auditId })
 * const { input, params, output } = await fetchEvidence({ url: evidenceURI, authorization })
 */
export async function fetchEvidence({ url, authorization, maxBytes = DEFAULT_MAX_EVIDENCE_BYTES, signal }: FetchEvidenceParameters): Promise<FetchEvidenceReturnType> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new AgoraError('EvidenceUnavailable', `The evidence URI ${JSON.stringify(url)} is not a URL.`, { cause, fix: 'the opener must offer evidence at an http(s) URL.' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new AgoraError('EvidenceUnavailable', `The evidence URI ${url} is not http(s).`, { fix: 'the opener must offer evidence over http or https.' });
  }
  const tooLarge = (seen: string) =>
    new AgoraError('EvidenceTooLarge', `The evidence at ${url} is ${seen}; at most ${maxBytes} bytes are read.`, {
      fix: 'raise provider.verifier.maxEvidenceBytes if such calls are legitimate on this model.',
    });

  let response: Response;
  try {
    response = await fetch(parsed, { headers: { accept: 'application/json', authorization }, redirect: 'error', ...(signal ? { signal } : {}) });
  } catch (cause) {
    if (signal?.aborted) throw signal.reason;
    throw new AgoraError('EvidenceUnavailable', `Cannot reach the evidence at ${url}.`, { cause, fix: 'the opener may be down; the verifier retries until close to the commit deadline.' });
  }
  const body = await readLimitedBody(response, maxBytes, tooLarge, signal).catch((err: unknown) => {
    if (signal?.aborted) throw signal.reason;
    if (err instanceof AgoraError) throw err;
    throw new AgoraError('EvidenceUnavailable', `The evidence download from ${url} broke off.`, { cause: err, fix: 'try again.' });
  });
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch {
    json = undefined;
  }
  if (!response.ok) {
    const error = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    throw new AgoraError('EvidenceUnavailable', `The opener answered HTTP ${response.status} for the evidence at ${url}.`, {
      details: error ? `${String(error.code)}: ${String(error.message)}` : undefined,
      fix: 'the opener refused or lost the evidence; the verifier retries until close to the commit deadline.',
    });
  }
  const evidence = json as Partial<FetchEvidenceReturnType> | undefined;
  if (
    typeof evidence !== 'object' ||
    evidence === null ||
    !('input' in evidence) ||
    !('output' in evidence) ||
    typeof evidence.params !== 'object' ||
    evidence.params === null ||
    Array.isArray(evidence.params)
  ) {
    throw new AgoraError('EvidenceMalformed', `The evidence at ${url} is not JSON { input, params, output }.`, {
      fix: 'the opener must serve the audited call exactly as the receipt hashes it.',
    });
  }
  return { input: evidence.input, params: evidence.params as Record<string, unknown>, output: evidence.output };
}
