import { createReceiptBatchTree, hashInferenceReceipt, MAX_AUDIT_BATCH, type VoucherDomain } from '@agora/sdk';
import type { AuditReason, EvidenceBatch, EvidenceStore } from '../audits/evidenceStore.ts';
import type { ServedCall } from './gatewayAuditor.ts';

/** What {@link createAuditBatcher} takes. */
export type AuditBatcherInit = {
  evidence: EvidenceStore;
  /** The chain and PaymentChannels the receipts are signed for (their digests are the batch's leaves). */
  domain: VoucherDomain;
  /** A channel's batch is sealed when it holds this many receipts (1 to 64; default 32). */
  batchSize?: number;
  /** …or this long after its first receipt, ms (default 30 s). */
  batchMaxWaitMs?: number;
  /** Called with each sealed batch (root fixed, evidence on disk): open its audit. */
  onSealed(batch: EvidenceBatch): void;
  /** The clock, unix ms (tests pass their own). */
  now?: () => number;
};

/** What {@link createAuditBatcher} returns. */
export type AuditBatcher = {
  /**
   * Keeps a call's receipt and evidence (on disk when this returns) in its channel's open batch, or
   * in a batch of its own for a canary, which is sealed at once. Returns the batch, or undefined
   * when the receipt was kept before.
   */
  add(call: ServedCall, reason: AuditReason): EvidenceBatch | undefined;
  /** Seals, now or when due, the batches a previous run left gathering. */
  resume(): void;
  /** Cancels the pending deadlines (the batches stay on disk; `resume` picks them up). */
  stop(): void;
};

/**
 * Gathers a gateway's sampled receipts into audit batches, one open batch per payment channel:
 * one audit (one bond, four transactions) then covers up to `batchSize` receipts instead of one,
 * which is what brings an audit's gas per paid call under a thousand at p = 0.02. A batch is sealed
 * (its merkle root fixed, see `createReceiptBatchTree`) when full or `batchMaxWaitMs` after its
 * first receipt, whichever is first, so a cheater is judged within that wait even on a quiet
 * channel; a wrong canary is sealed alone at once.
 *
 * @example
 * const batcher = createAuditBatcher({ evidence, domain, onSealed: (batch) => void open(batch) })
 * batcher.add(call, 'sampled')
 */
export function createAuditBatcher(init: AuditBatcherInit): AuditBatcher {
  const { evidence, domain } = init;
  const batchSize = init.batchSize ?? 32;
  const batchMaxWaitMs = init.batchMaxWaitMs ?? 30_000;
  const now = init.now ?? Date.now;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_AUDIT_BATCH) throw new RangeError(`batchSize must be an integer in 1..${MAX_AUDIT_BATCH}, got ${batchSize}`);
  if (!(batchMaxWaitMs >= 0)) throw new RangeError(`batchMaxWaitMs must be >= 0, got ${batchMaxWaitMs}`);
  const deadlines = new Map<number, NodeJS.Timeout>();
  let stopped = false;

  function seal(batchId: number) {
    clearTimeout(deadlines.get(batchId));
    deadlines.delete(batchId);
    const leaves = evidence.getLeaves(batchId);
    if (leaves.length === 0) return;
    const { root } = createReceiptBatchTree(leaves.map((leaf) => leaf.receiptDigest));
    if (!evidence.seal(batchId, root)) return; // sealed already (full, and its deadline fired too)
    init.onSealed(evidence.get(batchId)!);
  }

  function schedule(batch: EvidenceBatch) {
    if (stopped || deadlines.has(batch.batchId)) return;
    const wait = Math.max(0, batch.createdAt + batchMaxWaitMs - now());
    const timer = setTimeout(() => seal(batch.batchId), wait);
    timer.unref?.();
    deadlines.set(batch.batchId, timer);
  }

  return {
    add(call, reason) {
      const receiptDigest = hashInferenceReceipt(domain, call.receipt);
      const { batch, added } = evidence.add({
        channelId: call.receipt.channelId,
        provider: call.provider,
        modelId: call.modelId,
        reason,
        leaf: { receiptDigest, receipt: call.receipt, evidence: { input: call.input, params: call.params, output: call.output } },
        now: now(),
      });
      if (!added) return undefined;
      if (reason === 'canary' || batch.receiptCount >= batchSize) seal(batch.batchId);
      else schedule(batch);
      return evidence.get(batch.batchId);
    },
    resume() {
      stopped = false;
      for (const batch of evidence.listCollecting()) schedule(batch);
    },
    stop() {
      stopped = true;
      for (const timer of deadlines.values()) clearTimeout(timer);
      deadlines.clear();
    },
  };
}
