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
  type GetAuditReturnType,
  type SignedInferenceReceipt,
} from '@agora/sdk';
import { gatewayError } from './openaiErrors.ts';
import type { AuditPolicy } from '../market/auditPolicy.ts';
import type { ProviderScore, ScoreObservation } from '../market/providerScore.ts';
import { createAuditKeeper, type AuditOutcome } from '../audits/auditKeeper.ts';
import { readEvidenceRequest } from '../audits/evidenceAuth.ts';
import type { AuditEvidence, AuditReason, EvidenceStore } from '../audits/evidenceStore.ts';
import { errorCode, errorMessage } from '../errorText.ts';

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

/**
 * The gateway's side of verification. It samples the receipts of the calls it pays for (with the
 * audit policy's probability p: higher for newcomers and suspects) and opens audits of them in
 * AuditCourt, always audits a canary that came back wrong, hands the evidence to the verifiers the
 * court draws and to the audited provider (and to nobody else), drives its audits to their end, withdraws what the court
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

  // Paying the court (approve the bond, then open or escalate) runs one task at a time: an approval
  // replaces the allowance, so interleaved approve-then-pull sequences would leave one short.
  let courtPayments: Promise<unknown> = Promise.resolve();
  const exclusive = <T>(task: () => Promise<T>): Promise<T> => {
    const result = courtPayments.then(task, task);
    courtPayments = result.catch(() => {});
    return result;
  };

  const keeper = createAuditKeeper({
    client,
    watch: { opened: true },
    ...(init.pollIntervalMs ? { pollIntervalMs: init.pollIntervalMs } : {}),
    onEnded: (outcome) => ended(outcome),
    exclusive,
    shouldEscalate,
    log,
  });

  /**
   * A canary's right answer is known: a first verdict that passes a wrong canary answer is itself
   * wrong (a careless or colluding verifier), so it goes to a panel. Only if that verifier was
   * handed the evidence, though: one that could not fetch it voted Pass by rule, and an escalation
   * would get it fined for the gateway's own outage.
   */
  function shouldEscalate(audit: GetAuditReturnType): boolean {
    const record = evidence.getByAudit(audit.auditId);
    if (audit.verdict !== 'Pass' || record?.reason !== 'canary') return false;
    const first = audit.seats.find((seat) => seat.stage === 0 && seat.status === 'Revealed');
    const served = first !== undefined && record.servedTo.includes(first.verifier.toLowerCase() as Address);
    if (!served) log('warn', 'a wrong canary passed, but its verifier never got the evidence: not escalating', { auditId: audit.auditId.toString() });
    return served;
  }

  function ended({ auditId, provider, modelId, outcome }: AuditOutcome) {
    const record = evidence.getByAudit(auditId);
    if (!record) return; // reported again after a restart, or opened by this wallet elsewhere
    // A canary's failure was already recorded when its answer came back wrong.
    if (record.reason === 'sampled' && outcome !== 'cancelled') init.record(provider, modelId, { kind: 'audit', passed: outcome === 'pass' });
    log('info', 'audit ended', { auditId: auditId.toString(), provider, outcome, reason: record.reason });
    evidence.delete(record.receiptDigest);
  }

  const auditOfReceipt = (receiptDigest: Hex) =>
    readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getAuditOfReceipt', args: [receiptDigest] });

  /** Links evidence to the court's audit of its receipt, if there is one; returns its id. */
  async function link(receiptDigest: Hex): Promise<bigint | undefined> {
    const auditId = await auditOfReceipt(receiptDigest);
    if (auditId === 0n) return undefined;
    evidence.setAuditId(receiptDigest, auditId);
    keeper.track(auditId);
    return auditId;
  }

  let stopped = false;
  /** Open attempts that failed, per receipt: a receipt the court keeps refusing is given up after a while. */
  const failures = new Map<string, number>();
  /** Reverts that no retry can change: the receipt can never be audited. */
  const HOPELESS = new Set(['AuditCourtReceiptChannelMismatch', 'AuditCourtInvalidReceiptSignature']);
  const MAX_OPEN_ATTEMPTS = 10;
  /** Receipts whose audit is being opened right now (a retry pass must not open them twice). */
  const opening = new Set<Hex>();

  /** Opens the audit of saved evidence, unless the court already has one for its receipt (a send that landed before a crash). */
  async function open(record: { receiptDigest: Hex; receipt: SignedInferenceReceipt; reason: AuditReason }) {
    const { receiptDigest, receipt, reason } = record;
    if (stopped || opening.has(receiptDigest)) return;
    opening.add(receiptDigest);
    try {
      const existing = await link(receiptDigest);
      if (existing !== undefined) return;
      const { auditId } = await exclusive(() => openAudit(client, { receipt, evidenceURI: evidenceUrl(receiptDigest) }));
      evidence.setAuditId(receiptDigest, auditId);
      keeper.track(auditId);
      failures.delete(receiptDigest);
      log('info', 'audit opened', { auditId: auditId.toString(), provider: receipt.provider, reason });
    } catch (err) {
      // The transaction may have landed even though the call failed (lost receipt, RPC timeout).
      if ((await link(receiptDigest).catch(() => undefined)) !== undefined) return;
      const code = errorCode(err);
      const attempts = (failures.get(receiptDigest) ?? 0) + 1;
      failures.set(receiptDigest, attempts);
      if ((code !== undefined && HOPELESS.has(code)) || attempts >= MAX_OPEN_ATTEMPTS) {
        log('warn', 'giving up an audit the court will not open', { provider: receipt.provider, reason, code, attempts, error: errorMessage(err) });
        evidence.delete(receiptDigest);
        failures.delete(receiptDigest);
      } else {
        log('warn', 'cannot open an audit yet; its evidence is kept and the open retried', { provider: receipt.provider, reason, code, attempts, error: errorMessage(err) });
      }
    } finally {
      opening.delete(receiptDigest);
    }
  }

  function enqueue(call: ServedCall, reason: AuditReason) {
    const receiptDigest = hashInferenceReceipt(domain, call.receipt);
    // The evidence is on disk before the court hears of the audit, so a drawn verifier always finds it.
    evidence.save({ receiptDigest, provider: call.provider, modelId: call.modelId, reason, receipt: call.receipt, evidence: { input: call.input, params: call.params, output: call.output } });
    const opened = open({ receiptDigest, receipt: call.receipt, reason }).finally(() => pendingOpens.delete(opened));
    pendingOpens.add(opened);
  }
  const pendingOpens = new Set<Promise<void>>();

  /** Evidence saved but not linked to an audit: opens that failed, or were cut off by a stop. */
  let retrying: Promise<void> = Promise.resolve();
  const retryUnopened = () =>
    (retrying = retrying.then(async () => {
      for (const record of evidence.listUnopened()) await open(record);
    }));
  let retryTimer: NodeJS.Timeout | undefined;

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
     * The evidence of an audit, for one of its drawn verifiers or its audited provider.
     * @throws {AgoraError} answered with 401 (no or bad signature), 403 (not a verifier of that
     *   audit), 404 (no such evidence here), 503 (the chain cannot be read).
     */
    async getEvidence(receiptDigest: string, authorization: string | undefined): Promise<AuditEvidence> {
      const { auditId, signer } = await readEvidenceRequest({ authorization, court: { chainId: client.deployment.chainId, auditCourt: court } });
      const record = /^0x[0-9a-fA-F]{64}$/.test(receiptDigest) ? evidence.get(receiptDigest as Hex) : undefined;
      if (!record) throw gatewayError('EvidenceNotFound', `This gateway holds no evidence for receipt ${receiptDigest} (never audited here, or its audit has ended).`);
      const chain = <T>(read: Promise<T>) =>
        read.catch((err: unknown) => {
          throw gatewayError('ChainUnavailable', 'The gateway cannot read the audit from the chain right now; try again.', { cause: err });
        });
      // Not linked yet (the open's answer was lost, or is on its way): the court knows.
      const linked = record.auditId ?? (await chain(link(record.receiptDigest)));
      if (linked !== auditId) throw gatewayError('NotDrawnVerifier', `The request is signed for audit ${auditId}, but this evidence belongs to ${linked === undefined ? 'no open audit' : `audit ${linked}`}.`);
      const audit = await chain(getAudit(client, { auditId }));
      const seated = audit.seats.some((seat) => seat.verifier.toLowerCase() === signer.toLowerCase() && seat.status !== 'Replaced');
      // The audited provider answered this very call, so it learns nothing new; it needs the call to defend itself.
      const audited = audit.provider.toLowerCase() === signer.toLowerCase();
      if (!seated && !audited) throw gatewayError('NotDrawnVerifier', `${signer} is neither a drawn verifier nor the provider of audit ${auditId}; evidence is given only to them.`);
      if (seated) evidence.markServed(record.receiptDigest, signer);
      return record.evidence;
    },
    /** Resumes: opens audits whose evidence was saved but not opened, and drives every audit this wallet opened. */
    async start() {
      void retryUnopened();
      retryTimer = setInterval(() => void retryUnopened(), Math.max(10_000, (init.pollIntervalMs ?? 2_000) * 5));
      await keeper.start();
    },
    async stop() {
      stopped = true;
      clearInterval(retryTimer);
      await retrying;
      await Promise.all(pendingOpens);
      await courtPayments;
      await keeper.stop();
    },
  };
}

export type GatewayAuditor = ReturnType<typeof createGatewayAuditor>;
