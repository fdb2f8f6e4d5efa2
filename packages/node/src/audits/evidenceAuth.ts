import { recoverMessageAddress, type Address, type Hex, type LocalAccount } from 'viem';
import { AgoraError } from '@agora/sdk';

/**
 * How a drawn verifier proves who it is when it fetches an audit's evidence from the opener.
 * The evidence is a buyer's call (input and output), so the opener hands it only to verifiers the
 * court drew into that audit. The verifier signs (EIP-191) a short-lived statement naming the
 * chain, the court and the audit; the opener recovers the signer and checks the court's seats.
 *
 * Header: `Authorization: AgoraAudit <auditId>.<expiresAt unix seconds>.<signature>`
 */
export const EVIDENCE_AUTH_SCHEME = 'AgoraAudit';

/** Longest an evidence request signature may be valid for, seconds (limits replay of a leaked header). */
export const MAX_EVIDENCE_AUTH_SECONDS = 300;

/** Clock difference tolerated between verifier and opener, seconds, either way. */
const CLOCK_SKEW_SECONDS = 60;

type Court = { chainId: number; auditCourt: Address };

function evidenceStatement({ chainId, auditCourt }: Court, auditId: bigint, expiresAt: number): string {
  return `agora-audit-evidence:${chainId}:${auditCourt.toLowerCase()}:${auditId}:${expiresAt}`;
}

/**
 * The `Authorization` header value for fetching the evidence of `auditId` as `account`.
 *
 * @example
 * const authorization = await signEvidenceRequest({ account, court: { chainId, auditCourt }, auditId })
 * await fetch(evidenceURI, { headers: { authorization } })
 */
export async function signEvidenceRequest(parameters: { account: LocalAccount; court: Court; auditId: bigint; validForSeconds?: number; now?: number }): Promise<string> {
  const now = parameters.now ?? Math.floor(Date.now() / 1000);
  const expiresAt = now + Math.min(parameters.validForSeconds ?? 120, MAX_EVIDENCE_AUTH_SECONDS);
  const signature = await parameters.account.signMessage({ message: evidenceStatement(parameters.court, parameters.auditId, expiresAt) });
  return `${EVIDENCE_AUTH_SCHEME} ${parameters.auditId}.${expiresAt}.${signature}`;
}

/**
 * Reads an evidence request's `Authorization` header: which audit it is for and who signed it.
 * The caller still checks that the signer sits in that audit.
 *
 * @throws {AgoraError} `EvidenceAuthMissing` (no or malformed header), `EvidenceAuthExpired`
 *   (expired, or valid for longer than {@link MAX_EVIDENCE_AUTH_SECONDS}), `EvidenceAuthInvalid`
 *   (the signature does not recover).
 */
export async function readEvidenceRequest(parameters: { authorization: string | undefined; court: Court; now?: number }): Promise<{ auditId: bigint; signer: Address }> {
  const match = /^AgoraAudit (\d{1,78})\.(\d{1,12})\.(0x[0-9a-fA-F]{130})$/.exec(parameters.authorization?.trim() ?? '');
  if (!match) {
    throw new AgoraError('EvidenceAuthMissing', `Evidence is given only to the audit's drawn verifiers: send "Authorization: ${EVIDENCE_AUTH_SCHEME} <auditId>.<expiresAt>.<signature>".`);
  }
  const auditId = BigInt(match[1]!);
  const expiresAt = Number(match[2]!);
  const now = parameters.now ?? Math.floor(Date.now() / 1000);
  if (expiresAt < now - CLOCK_SKEW_SECONDS || expiresAt > now + MAX_EVIDENCE_AUTH_SECONDS + CLOCK_SKEW_SECONDS) {
    throw new AgoraError('EvidenceAuthExpired', `The evidence request signature expires at ${expiresAt}; it must be valid now and for at most ${MAX_EVIDENCE_AUTH_SECONDS} s.`);
  }
  try {
    const signer = await recoverMessageAddress({ message: evidenceStatement(parameters.court, auditId, expiresAt), signature: match[3] as Hex });
    return { auditId, signer };
  } catch (cause) {
    throw new AgoraError('EvidenceAuthInvalid', 'The evidence request signature does not recover to an address.', { cause });
  }
}
