import { AgoraError, MAX_AUDIT_BATCH, type InferenceReceipt } from '@agora/sdk';
import type { Hex } from 'viem';
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

/**
 * One receipt of an audited batch as the opener offers it: the receipt exactly as the provider
 * signed it, its signature, and the call its hashes commit to.
 */
export type AuditEvidenceLeaf = {
  receipt: InferenceReceipt;
  signature: Hex;
  input: unknown;
  params: Record<string, unknown>;
  output: unknown;
  /** The receipt's merkle proof in the audit's root (lets a leaf count even when others are missing). */
  proof?: Hex[];
};

/** An audit's evidence: every receipt of its batch, with its call. */
export type FetchEvidenceReturnType = { leaves: AuditEvidenceLeaf[] };

/**
 * The JSON body an opener serves for an audit (`cumulativeAmount` as a decimal string).
 *
 * @example
 * reply.send(toEvidenceBody(leaves))
 */
export function toEvidenceBody(leaves: readonly AuditEvidenceLeaf[]): unknown {
  return {
    leaves: leaves.map(({ receipt, signature, input, params, output, proof }) => ({
      receipt: {
        modelId: receipt.modelId,
        inputHash: receipt.inputHash,
        paramsHash: receipt.paramsHash,
        outputHash: receipt.outputHash,
        channelId: receipt.channelId,
        cumulativeAmount: receipt.cumulativeAmount.toString(),
      },
      signature,
      input,
      params,
      output,
      ...(proof ? { proof } : {}),
    })),
  };
}

const BYTES32 = /^0x[0-9a-fA-F]{64}$/;
const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * Reads an evidence body (see {@link toEvidenceBody}); undefined when it is not one. Whether each
 * leaf is in the audit's root, signed by its provider and hashes to its call is the verifier's
 * check, not this one's.
 */
export function parseEvidenceBody(json: unknown): FetchEvidenceReturnType | undefined {
  if (!isRecord(json) || !Array.isArray(json.leaves) || json.leaves.length === 0 || json.leaves.length > MAX_AUDIT_BATCH) return undefined;
  const leaves: AuditEvidenceLeaf[] = [];
  for (const leaf of json.leaves as unknown[]) {
    if (!isRecord(leaf) || !isRecord(leaf.receipt) || !isRecord(leaf.params) || !('input' in leaf) || !('output' in leaf)) return undefined;
    const r = leaf.receipt;
    const words = [r.modelId, r.inputHash, r.paramsHash, r.outputHash, r.channelId];
    if (!words.every((w) => typeof w === 'string' && BYTES32.test(w))) return undefined;
    if (typeof r.cumulativeAmount !== 'string' || !/^\d{1,78}$/.test(r.cumulativeAmount)) return undefined;
    if (typeof leaf.signature !== 'string' || !/^0x[0-9a-fA-F]{130}$/.test(leaf.signature)) return undefined;
    const proof = leaf.proof;
    if (proof !== undefined && (!Array.isArray(proof) || proof.length > 8 || !proof.every((p) => typeof p === 'string' && BYTES32.test(p)))) return undefined;
    leaves.push({
      receipt: {
        modelId: r.modelId as Hex,
        inputHash: r.inputHash as Hex,
        paramsHash: r.paramsHash as Hex,
        outputHash: r.outputHash as Hex,
        channelId: r.channelId as Hex,
        cumulativeAmount: BigInt(r.cumulativeAmount),
      },
      signature: leaf.signature as Hex,
      input: leaf.input,
      params: leaf.params,
      output: leaf.output,
      ...(proof ? { proof: proof as Hex[] } : {}),
    });
  }
  return { leaves };
}

/**
 * Fetches an audit's evidence (every receipt of its batch with its call) from its opener (`GET <evidenceURI>` with the drawn verifier's
 * signed `Authorization`). The body is streamed and the download stopped past `maxBytes`, so a
 * hostile opener cannot fill memory. Whether the evidence hashes to the receipt is checked by
 * the verifier (`judgeAuditBatch`), not here.
 *
 * @throws {AgoraError} `EvidenceUnavailable` (bad URL, network error, non-2xx answer; the opener's
 *   own error code is in the details), `EvidenceTooLarge`, `EvidenceMalformed` (not JSON
 *   `{ leaves: [{ receipt, signature, input, params, output }] }`). An abort through `signal` rethrows the abort reason.
 * @example
 * const authorization = await signEvidenceRequest({ account, court, auditId })
 * const { leaves } = await fetchEvidence({ url: evidenceURI, authorization })
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
  const evidence = parseEvidenceBody(json);
  if (!evidence) {
    throw new AgoraError('EvidenceMalformed', `The evidence at ${url} is not JSON { leaves: [{ receipt, signature, input, params, output }] } with 1 to ${MAX_AUDIT_BATCH} leaves.`, {
      fix: 'the opener must serve every receipt of the audited batch with its call, exactly as the receipts hash them.',
    });
  }
  return evidence;
}
