import { readContract } from 'viem/actions';
import type { Address, Hex, LocalAccount } from 'viem';
import {
  AgoraError,
  auditCourtAbi,
  getAudit,
  hashInferenceReceipt,
  openAudit,
  requireAuditCourt,
  type AgoraWalletClient,
  type SignedInferenceReceipt,
} from '@agora/sdk';
import type { AuditPolicy } from '../market/auditPolicy.ts';
import type { ProviderScore, ScoreObservation } from '../market/providerScore.ts';
import { createAuditKeeper, type AuditOutcome } from '../audits/auditKeeper.ts';
import { readEvidenceRequest } from '../audits/evidenceAuth.ts';
import type { AuditEvidence, AuditReason, EvidenceStore } from '../audits/evidenceStore.ts';

/** A call the gateway paid for, with the provider's signed receipt over it. */
export type ServedCall = {
  provider: Address;
  modelId: Hex;
  input: unknown;
  params: Record<string, unknown>;
  output: unknown;
  receipt: SignedInferenceReceipt;
};

export type GatewayAuditorInit = {
  client: AgoraWalletClient & { account: LocalAccount };
  evidence: EvidenceStore;
  policy: AuditPolicy;
  /** Base URL verifiers reach this gateway at; evidence is offered at `<publicUrl>/audits/<receiptDigest>/evidence`. */
  getPublicUrl: () => string;
  /** The gateway's record of a provider for a model (undefined: never seen, so treated as new). */
  getScore(provider: Address, modelId: Hex): ProviderScore | undefined;
  /** Feeds audit outcomes back to the router. */
  record(provider: Address, modelId: Hex, observation: ScoreObservation): void;
  pollIntervalMs?: number;
  rng?: () => number;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

/** An evidence request the gateway refuses, answered with `statusCode`. */
function refusal(code: string, statusCode: number, message: string): AgoraError {
  return Object.assign(new AgoraError(code, message), { statusCode });
}

/**
 * The gateway's side of verification. It samples the receipts of the calls it pays for (with the
 * audit policy's probability p: higher for newcomers and suspects) and opens audits of them in
 * AuditCourt, always audits a canary that came back wrong, hands the evidence to the verifiers the
 * court draws (and to nobody else), drives its audits to their end, withdraws what the court
 * credits it (returned bonds, refunds of failed calls) and tells the router each outcome.
 *
 * @example
 * const auditor = createGatewayAuditor({ client, evidence, policy, getPublicUrl: () => url, getScore, record })
 * auditor.sample(call) // after each served call
 */
export function createGatewayAuditor(init: GatewayAuditorInit) {
  const { client, evidence, policy } = init;
  const log = init.log ?? (() => {});
  const rng = init.rng ?? Math.random;
  const court = requireAuditCourt(client.deployment);
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const evidenceUrl = (receiptDigest: Hex) => `${init.getPublicUrl().replace(/\/+$/, '')}/audits/${receiptDigest}/evidence`;

  const keeper = createAuditKeeper({
    client,
    watch: { opened: true },
    ...(init.pollIntervalMs ? { pollIntervalMs: init.pollIntervalMs } : {}),
    onEnded: (outcome) => ended(outcome),
    // A canary's right answer is known: a first verdict that passes a wrong canary answer is
    // itself wrong (a careless or colluding verifier), so it goes to a panel.
    shouldEscalate: (audit) => audit.verdict === 'Pass' && evidence.getByAudit(audit.auditId)?.reason === 'canary',
    log,
  });

  function ended({ auditId, provider, modelId, outcome }: AuditOutcome) {
    const record = evidence.getByAudit(auditId);
    if (!record) return; // opened by this wallet before its evidence store was wiped
    // A canary's failure was already recorded when its answer came back wrong.
    if (record.reason === 'sampled' && outcome !== 'cancelled') init.record(provider, modelId, { kind: 'audit', passed: outcome === 'pass' });
    log('info', 'audit ended', { auditId: auditId.toString(), provider, outcome, reason: record.reason });
    evidence.delete(record.receiptDigest);
  }

  // Audits open one at a time: each may approve the bond first, and the approvals must not interleave.
  let opening: Promise<unknown> = Promise.resolve();
  let stopped = false;

  async function open(receiptDigest: Hex, receipt: SignedInferenceReceipt, reason: AuditReason) {
    if (stopped) return;
    // Opened before a crash but not recorded: take the court's id instead of opening twice.
    const existing = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getAuditOfReceipt', args: [receiptDigest] });
    const auditId = existing !== 0n ? existing : (await openAudit(client, { receipt, evidenceURI: evidenceUrl(receiptDigest) })).auditId;
    evidence.setAuditId(receiptDigest, auditId);
    keeper.track(auditId);
    log('info', 'audit opened', { auditId: auditId.toString(), provider: receipt.provider, reason });
  }

  function enqueue(call: ServedCall, reason: AuditReason) {
    const receiptDigest = hashInferenceReceipt(domain, call.receipt);
    // The evidence is on disk before the court hears of the audit, so a drawn verifier always finds it.
    evidence.save({ receiptDigest, provider: call.provider, modelId: call.modelId, reason, receipt: call.receipt, evidence: { input: call.input, params: call.params, output: call.output } });
    opening = opening.then(() =>
      open(receiptDigest, call.receipt, reason).catch((err: unknown) => {
        log('warn', 'cannot open an audit; its evidence is kept and the audit retried at the next start', {
          provider: call.provider,
          reason,
          err: err instanceof AgoraError ? err.shortMessage : String(err),
        });
      }),
    );
  }

  return {
    /** Audits a served call with the policy's probability for its provider; returns whether it will. */
    sample(call: ServedCall): boolean {
      const score = init.getScore(call.provider, call.modelId);
      const p = score ? policy.getAuditRate(score) : policy.parameters.newcomerRate;
      if (rng() >= p) return false;
      enqueue(call, 'sampled');
      return true;
    },
    /** Audits a canary whose answer was wrong: the slash is what makes cheating cost. */
    auditCanaryFailure(call: ServedCall) {
      enqueue(call, 'canary');
    },
    /**
     * The evidence of an audit, for one of its drawn verifiers.
     * @throws {AgoraError} with `statusCode` 401 (no or bad signature), 403 (not a verifier of that
     *   audit), 404 (no such evidence here).
     */
    async getEvidence(receiptDigest: string, authorization: string | undefined): Promise<AuditEvidence> {
      const { auditId, signer } = await readEvidenceRequest({ authorization, court: { chainId: client.deployment.chainId, auditCourt: court } }).catch((err: unknown) => {
        throw Object.assign(err as AgoraError, { statusCode: 401 });
      });
      const record = /^0x[0-9a-fA-F]{64}$/.test(receiptDigest) ? evidence.get(receiptDigest as Hex) : undefined;
      if (!record || record.auditId === undefined) throw refusal('EvidenceNotFound', 404, `This gateway holds no evidence for receipt ${receiptDigest} (never audited here, or its audit has ended).`);
      if (record.auditId !== auditId) throw refusal('NotDrawnVerifier', 403, `The request is signed for audit ${auditId}, but this evidence belongs to audit ${record.auditId}.`);
      const audit = await getAudit(client, { auditId });
      const seated = audit.seats.some((seat) => seat.verifier.toLowerCase() === signer.toLowerCase() && seat.status !== 'Replaced');
      if (!seated) throw refusal('NotDrawnVerifier', 403, `${signer} is not a drawn verifier of audit ${auditId}; evidence is given only to them.`);
      return record.evidence;
    },
    /** Resumes: opens audits whose evidence was saved but not opened, and drives every audit this wallet opened. */
    async start() {
      for (const record of evidence.listUnopened()) {
        log('info', 'opening an audit saved before the last stop', { provider: record.provider, reason: record.reason });
        opening = opening.then(() => open(record.receiptDigest, record.receipt, record.reason).catch((err: unknown) => {
          log('warn', 'cannot open an audit saved before the last stop; dropping it', { provider: record.provider, err: err instanceof AgoraError ? err.shortMessage : String(err) });
          evidence.delete(record.receiptDigest);
        }));
      }
      await keeper.start();
    },
    async stop() {
      stopped = true;
      await opening;
      await keeper.stop();
    },
  };
}

export type GatewayAuditor = ReturnType<typeof createGatewayAuditor>;
