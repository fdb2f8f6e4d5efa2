import type { Address, Hex, LocalAccount } from 'viem';
import {
  createReceiptBatchTree,
  getAudit,
  getAuditOfRoot,
  isSlashedOnChannel,
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
import type { EvidenceBatch, EvidenceStore } from '../audits/evidenceStore.ts';
import { toEvidenceBody } from '../audits/fetchEvidence.ts';
import { errorCode, errorMessage } from '../errorText.ts';
import { createAuditBatcher } from './auditBatcher.ts';

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
  /** Base URL verifiers reach this gateway at; evidence is offered at `<publicUrl>/audits/<receiptsRoot>/evidence`. */
  getPublicUrl: () => string;
  /** The gateway's record of a provider for a model (undefined: never seen, so treated as new). */
  getScore(provider: Address, modelId: Hex): ProviderScore | undefined;
  /** Feeds audit outcomes back to the router. */
  record(provider: Address, modelId: Hex, observation: ScoreObservation): void;
  /**
   * Stops paying on a channel whose provider the court slashed for failures found in it: the court
   * takes at most one slash per channel, so further calls there would not be backed by one.
   */
  retireChannel?: (channelId: Hex, reason: string) => void;
  /** A channel's batch of sampled receipts is audited once it holds this many (1 to 64, default 32)… */
  batchSize?: number;
  /** …or this long after its first receipt, ms (default 30 s). */
  batchMaxWaitMs?: number;
  pollIntervalMs?: number;
  rng?: () => number;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

/**
 * The gateway's side of verification. It samples the receipts of the calls it pays for (with the
 * audit policy's probability p: higher for newcomers and suspects), gathers them per payment
 * channel into batches and opens one AuditCourt audit per batch (as the channels' buyer, the only
 * party besides the voucher signer that may), always audits a canary that came back wrong (a batch
 * of its own, at once), hands the batch's evidence to the verifiers the court draws and to the
 * audited provider (and to nobody else), drives its audits to their end, withdraws what the court
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
  requireAuditCourt(client.deployment);
  const domain = { chainId: client.deployment.chainId, paymentChannels: client.deployment.contracts.paymentChannels };
  const evidenceUrl = (receiptsRoot: Hex) => `${init.getPublicUrl().replace(/\/+$/, '')}/audits/${receiptsRoot}/evidence`;

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
   * Goes to a panel when the first verdict is known to be wrong, and only against a verifier this
   * gateway handed the evidence (one that could not fetch it voted Unverifiable by rule, and an
   * escalation would cost a bond over the gateway's own outage):
   * - a canary's right answer is known: passing its wrong answer is wrong (careless or colluding);
   * - Unverifiable from a verifier that was served the evidence: it had everything it needed, so it
   *   skipped the work or is shielding the provider; this holds for sampled batches too.
   */
  function shouldEscalate(audit: GetAuditReturnType): boolean {
    const batch = evidence.getByAudit(audit.auditId);
    if (!batch || audit.verdict === 'Fail') return false;
    if (audit.verdict !== 'Unverifiable' && batch.reason !== 'canary') return false;
    const first = audit.seats.find((seat) => seat.stage === 0 && seat.status === 'Revealed');
    const served = first !== undefined && batch.servedTo.includes(first.verifier.toLowerCase() as Address);
    if (!served) log('warn', `a batch was judged ${audit.verdict}, but its verifier never got the evidence: not escalating`, { auditId: audit.auditId.toString(), reason: batch.reason });
    return served;
  }

  /** Reopens of one batch after audits that judged nothing: bounded (kept across restarts), as each may cost a bond. */
  const MAX_REOPENS = 3;

  function ended({ auditId, provider, modelId, outcome }: AuditOutcome) {
    const batch = evidence.getByAudit(auditId);
    if (!batch) return; // reported again after a restart, or opened by this wallet elsewhere
    // A canary's failure was already recorded when its answer came back wrong; an Unverifiable or
    // cancelled audit says nothing about the provider.
    if (batch.reason === 'sampled' && (outcome === 'pass' || outcome === 'fail')) init.record(provider, modelId, { kind: 'audit', passed: outcome === 'pass' });
    log('info', 'audit ended', { auditId: auditId.toString(), provider, outcome, reason: batch.reason, receipts: batch.receiptCount });
    // Nothing was judged (no verifier could be drawn, or the verdict was Unverifiable): the court
    // freed the root, and a fresh audit draws afresh. Missing evidence must never clear a provider.
    if ((outcome === 'unverifiable' || outcome === 'cancelled') && batch.reopens < MAX_REOPENS && !stopped) {
      evidence.unlinkAudit(batch.batchId);
      log('info', 'reopening an audit that judged nothing', { auditId: auditId.toString(), provider, outcome, attempt: batch.reopens + 1 });
      void open(evidence.get(batch.batchId)!);
      return;
    }
    if (outcome === 'unverifiable' || outcome === 'cancelled') log('warn', 'giving up a batch no audit would judge', { provider, outcome, reopens: batch.reopens, reason: batch.reason });
    if (outcome === 'fail') init.retireChannel?.(batch.channelId, 'its provider was slashed for failures found in it');
    evidence.delete(batch.batchId);
  }

  /**
   * Links a batch to the court's audit of its root on its channel, if there is one; returns its id.
   * Roots are claimed per channel, so an audit another payer opened of the same root on a channel of
   * its own is never taken for ours (it would be handed our evidence, and ours never opened).
   */
  async function link(batch: EvidenceBatch): Promise<bigint | undefined> {
    const auditId = await getAuditOfRoot(client, { channelId: batch.channelId, receiptsRoot: batch.receiptsRoot! });
    if (auditId === undefined) return undefined;
    evidence.setAuditId(batch.batchId, auditId);
    keeper.track(auditId);
    return auditId;
  }

  let stopped = false;
  /** Open attempts that failed, per batch: a batch the court keeps refusing is given up after a while. */
  const failures = new Map<number, number>();
  /** Reverts that no retry can change: the batch can never be audited by this wallet. */
  const HOPELESS = new Set(['AuditCourtNotPayer', 'AuditCourtUnknownChannel', 'AuditCourtInvalidBatch']);
  const MAX_OPEN_ATTEMPTS = 10;
  /** Batches whose audit is being opened right now (a retry pass must not open them twice). */
  const opening = new Set<number>();

  /** Opens the audit of a sealed batch, unless the court already has one for its root (a send that landed before a crash). */
  async function open(batch: EvidenceBatch) {
    const { batchId, receiptsRoot, channelId, receiptCount, provider, reason } = batch;
    if (stopped || opening.has(batchId) || !receiptsRoot) return;
    opening.add(batchId);
    try {
      const existing = await link(batch);
      if (existing !== undefined) return;
      // The channel's failures were paid for in full (the court's one slash per channel): another
      // Fail would refund nothing, so the rest of its batches are dropped and the channel retired.
      if (await isSlashedOnChannel(client, { channelId })) {
        log('info', 'not auditing a channel whose provider was already slashed for it', { provider, reason, receipts: receiptCount });
        init.retireChannel?.(channelId, 'its provider was slashed for failures found in it');
        evidence.delete(batchId);
        return;
      }
      const { auditId } = await exclusive(() => openAudit(client, { channelId, receiptsRoot, receiptCount, evidenceURI: evidenceUrl(receiptsRoot) }));
      evidence.setAuditId(batchId, auditId);
      keeper.track(auditId);
      failures.delete(batchId);
      log('info', 'audit opened', { auditId: auditId.toString(), provider, reason, receipts: receiptCount });
    } catch (err) {
      // The transaction may have landed even though the call failed (lost receipt, RPC timeout).
      if ((await link(batch).catch(() => undefined)) !== undefined) return;
      const code = errorCode(err);
      const attempts = (failures.get(batchId) ?? 0) + 1;
      failures.set(batchId, attempts);
      if ((code !== undefined && HOPELESS.has(code)) || attempts >= MAX_OPEN_ATTEMPTS) {
        log('warn', 'giving up an audit the court will not open', { provider, reason, code, attempts, error: errorMessage(err) });
        evidence.delete(batchId);
        failures.delete(batchId);
      } else {
        log('warn', 'cannot open an audit yet; its evidence is kept and the open retried', { provider, reason, code, attempts, error: errorMessage(err) });
      }
    } finally {
      opening.delete(batchId);
    }
  }

  const pendingOpens = new Set<Promise<void>>();
  const batcher = createAuditBatcher({
    evidence,
    domain,
    ...(init.batchSize !== undefined ? { batchSize: init.batchSize } : {}),
    ...(init.batchMaxWaitMs !== undefined ? { batchMaxWaitMs: init.batchMaxWaitMs } : {}),
    // The root and every leaf's evidence are on disk before the court hears of the audit, so a drawn verifier always finds them.
    onSealed: (batch) => {
      const opened = open(batch).finally(() => pendingOpens.delete(opened));
      pendingOpens.add(opened);
    },
  });

  /** Sealed batches not linked to an audit: opens that failed, or were cut off by a stop. */
  let retrying: Promise<void> = Promise.resolve();
  const retryUnopened = () =>
    (retrying = retrying.then(async () => {
      for (const batch of evidence.listUnopened()) await open(batch);
    }));
  let retryTimer: NodeJS.Timeout | undefined;

  return {
    /** Audits a served call with the policy's probability for its provider; returns whether it will. */
    sample(call: ServedCall): boolean {
      const score = init.getScore(call.provider, call.modelId);
      const p = score ? policy.getAuditRate(score) : policy.parameters.newcomerRate;
      if (rng() >= p) return false;
      batcher.add(call, 'sampled');
      return true;
    },
    /** Audits a canary whose answer was wrong, alone and at once: the slash is what makes cheating cost. */
    auditCanaryFailure(call: ServedCall) {
      batcher.add(call, 'canary');
    },
    /**
     * The evidence of an audit (every receipt of its batch with its call and proof), for one of its
     * drawn verifiers or its audited provider.
     * @throws {AgoraError} answered with 401 (no or bad signature), 403 (not a verifier of that
     *   audit), 404 (no such evidence here), 503 (the chain cannot be read).
     */
    async getEvidence(receiptsRoot: string, authorization: string | undefined): Promise<unknown> {
      const { auditId, signer } = await readEvidenceRequest({ authorization, court: { chainId: client.deployment.chainId, auditCourt: requireAuditCourt(client.deployment) } });
      const batch = /^0x[0-9a-fA-F]{64}$/.test(receiptsRoot) ? evidence.getByRoot(receiptsRoot as Hex) : undefined;
      if (!batch) throw gatewayError('EvidenceNotFound', `This gateway holds no evidence for the batch with root ${receiptsRoot} (never audited here, or its audit has ended).`);
      const chain = <T>(read: Promise<T>) =>
        read.catch((err: unknown) => {
          throw gatewayError('ChainUnavailable', 'The gateway cannot read the audit from the chain right now; try again.', { cause: err });
        });
      // Not linked yet (the open's answer was lost, or is on its way): the court knows.
      const linked = batch.auditId ?? (await chain(link(batch)));
      if (linked !== auditId) throw gatewayError('NotDrawnVerifier', `The request is signed for audit ${auditId}, but this evidence belongs to ${linked === undefined ? 'no open audit' : `audit ${linked}`}.`);
      const audit = await chain(getAudit(client, { auditId }));
      if (audit.channelId.toLowerCase() !== batch.channelId.toLowerCase()) {
        throw gatewayError('NotDrawnVerifier', `Audit ${auditId} is not of this batch's channel; evidence is given only to the verifiers of its own audit.`);
      }
      const seated = audit.seats.some((seat) => seat.verifier.toLowerCase() === signer.toLowerCase() && seat.status !== 'Replaced');
      // The audited provider answered these very calls, so it learns nothing new; it needs them to defend itself.
      const audited = audit.provider.toLowerCase() === signer.toLowerCase();
      if (!seated && !audited) throw gatewayError('NotDrawnVerifier', `${signer} is neither a drawn verifier nor the provider of audit ${auditId}; evidence is given only to them.`);
      if (seated) evidence.markServed(batch.batchId, signer);
      const leaves = evidence.getLeaves(batch.batchId);
      const tree = createReceiptBatchTree(leaves.map((leaf) => leaf.receiptDigest));
      return toEvidenceBody(
        leaves.map(({ receiptDigest, receipt: { provider: _provider, signature, ...receipt }, evidence: call }) => ({ receipt, signature, ...call, proof: tree.getProof(receiptDigest) })),
      );
    },
    /** Resumes: seals the batches a previous run left gathering, opens those sealed but not opened, and drives every audit this wallet opened. */
    async start() {
      stopped = false;
      batcher.resume();
      void retryUnopened();
      retryTimer = setInterval(() => void retryUnopened(), Math.max(10_000, (init.pollIntervalMs ?? 2_000) * 5));
      await keeper.start();
    },
    async stop() {
      stopped = true;
      batcher.stop();
      clearInterval(retryTimer);
      await retrying;
      await Promise.all(pendingOpens);
      await courtPayments;
      await keeper.stop();
    },
  };
}

export type GatewayAuditor = ReturnType<typeof createGatewayAuditor>;
