import type { Address, Hex } from 'viem';
import {
  createReceiptBatchTree,
  hashInferenceReceipt,
  verifyInferenceReceipt,
  verifyReceiptInBatch,
  type VoucherDomain,
} from '@agora/sdk';
import { verifyReceipt, type VerifierModel } from '../verifier/verifyReceipt.ts';
import { errorCode, errorMessage } from '../errorText.ts';
import type { AuditEvidenceLeaf } from './fetchEvidence.ts';

/** What a batch verdict is judged against: the audit as the court records it. */
export type AuditedBatch = { channelId: Hex; modelId: Hex; provider: Address; receiptsRoot: Hex; receiptCount: number };

/** Parameters of {@link judgeAuditBatch}. */
export type JudgeAuditBatchParameters = {
  audit: AuditedBatch;
  /** The chain and PaymentChannels receipts are signed for. */
  domain: VoucherDomain;
  /** The opener's evidence (undefined: it never came). */
  leaves: readonly AuditEvidenceLeaf[] | undefined;
  /** Our copy of the audited model. */
  model: VerifierModel;
  signal?: AbortSignal | undefined;
};

/** A batch verdict and why: `Fail` names the receipt that failed. */
export type BatchJudgement = { verdict: 'Pass' | 'Fail' | 'Unverifiable'; reasons: string[]; failedReceipt?: Hex };

/**
 * Judges an audited batch from the opener's evidence, the rule every verifier applies:
 * - **Fail** if any receipt that is in the audit's root, on its channel and model, signed by its
 *   provider, and whose call hashes to it, fails re-execution: the provider signed a wrong answer.
 * - else **Unverifiable** if the evidence is missing, does not rebuild the root (other receipts, or
 *   not `receiptCount` of them), or any receipt cannot be checked (not in the root, another channel,
 *   a bad signature, a call that does not hash to it). Missing evidence never clears a provider.
 * - else **Pass**: every receipt of the batch was re-executed and matched.
 *
 * Re-execution stops at the first failing receipt. A leaf outside the rebuilt set counts as in the
 * root only with a valid `proof`.
 *
 * @throws whatever our own re-execution throws (model file, memory: `VerifierRunFailed`, …): no
 *   verdict can be reached then, and none should be guessed.
 * @example
 * const { verdict, reasons } = await judgeAuditBatch({ audit, domain, leaves: evidence.leaves, model })
 */
export async function judgeAuditBatch({ audit, domain, leaves, model, signal }: JudgeAuditBatchParameters): Promise<BatchJudgement> {
  if (!leaves || leaves.length === 0) return { verdict: 'Unverifiable', reasons: ["The opener's evidence could not be fetched; without it nothing can be checked, and nothing is cleared."] };
  const unverifiable: string[] = [];
  const digests = leaves.map((leaf) => hashInferenceReceipt(domain, leaf.receipt));
  const distinct = new Set(digests.map((d) => d.toLowerCase()));
  const rebuilt = createReceiptBatchTree(distinct as Set<Hex>);
  const complete = rebuilt.root.toLowerCase() === audit.receiptsRoot.toLowerCase() && rebuilt.count === audit.receiptCount;
  if (!complete) {
    unverifiable.push(`The evidence's ${rebuilt.count} receipt(s) rebuild root ${rebuilt.root}, not the audit's ${audit.receiptsRoot} over ${audit.receiptCount} receipt(s).`);
  }

  // First the cheap checks of every leaf, then re-execution of those that could show a failure.
  const checked: { leaf: AuditEvidenceLeaf; digest: Hex }[] = [];
  for (const [i, leaf] of leaves.entries()) {
    const digest = digests[i]!;
    const inRoot = complete || (leaf.proof !== undefined && verifyReceiptInBatch({ root: audit.receiptsRoot, receiptDigest: digest, proof: leaf.proof }));
    if (!inRoot) {
      if (complete) unverifiable.push(`Receipt ${digest} is not in the audit's root.`);
      continue;
    }
    if (leaf.receipt.channelId.toLowerCase() !== audit.channelId.toLowerCase() || leaf.receipt.modelId.toLowerCase() !== audit.modelId.toLowerCase()) {
      unverifiable.push(`Receipt ${digest} is for channel ${leaf.receipt.channelId} and model ${leaf.receipt.modelId}, not the audit's.`);
      continue;
    }
    try {
      await verifyInferenceReceipt({ domain, receipt: { ...leaf.receipt, provider: audit.provider, signature: leaf.signature }, provider: audit.provider });
    } catch (err) {
      unverifiable.push(`Receipt ${digest} is not signed by the audited provider ${audit.provider} (${errorMessage(err)}).`);
      continue;
    }
    checked.push({ leaf, digest });
  }

  for (const { leaf, digest } of checked) {
    if (signal?.aborted) throw signal.reason;
    try {
      const result = await verifyReceipt({ model, input: leaf.input, params: leaf.params, output: leaf.output, receipt: leaf.receipt, signal });
      if (result.verdict === 'fail') {
        return { verdict: 'Fail', failedReceipt: digest, reasons: [`Receipt ${digest}, signed by ${audit.provider}: ${result.reasons.join(' ') || 'the output is not what the model computes.'}`] };
      }
    } catch (err) {
      if (errorCode(err) !== 'AuditEvidenceMismatch') throw err;
      unverifiable.push(`The call offered for receipt ${digest} does not hash to it (${errorMessage(err)}).`);
    }
  }
  if (unverifiable.length > 0) return { verdict: 'Unverifiable', reasons: unverifiable };
  return { verdict: 'Pass', reasons: [`All ${checked.length} receipt(s) of the batch re-executed to the outputs the provider signed.`] };
}
