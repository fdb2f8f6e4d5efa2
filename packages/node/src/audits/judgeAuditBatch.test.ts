import { describe, expect, it } from 'vitest';
import { keccak256, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { createReceiptBatchTree, hashCanonicalJson, hashInferenceReceipt, signInferenceReceipt } from '@agora/sdk';
import type { VerifierModel } from '../verifier/verifyReceipt.ts';
import type { AuditEvidenceLeaf } from './fetchEvidence.ts';
import { judgeAuditBatch, type AuditedBatch } from './judgeAuditBatch.ts';

const provider = privateKeyToAccount(keccak256(toHex('judge test provider')));
const stranger = privateKeyToAccount(keccak256(toHex('judge test stranger')));
const domain = { chainId: 31337, paymentChannels: '0x00000000000000000000000000000000000000cc' as const };
const modelId = keccak256(toHex('sum model'));
const channelId = keccak256(toHex('channel'));

/** A deterministic exact-mode model: the sum of the input's numbers. */
const model: VerifierModel = {
  descriptor: { name: 'test/sum', path: '/dev/null', format: 'onnx', runtime: 'onnxruntime', quantization: 'f32', verificationMode: 'exact', weightsHash: keccak256(toHex('w')), modelId },
  run: async (input) => ({ sum: (input as { xs: number[] }).xs.reduce((a, b) => a + b, 0) }),
};

async function leaf(i: number, options: { output?: unknown; signer?: typeof provider; channel?: Hex } = {}): Promise<AuditEvidenceLeaf> {
  const input = { xs: [i, i + 1] };
  const output = options.output ?? { sum: 2 * i + 1 };
  const { signature, provider: _p, ...receipt } = await signInferenceReceipt(options.signer ?? provider, domain, {
    modelId,
    inputHash: hashCanonicalJson(input),
    paramsHash: hashCanonicalJson({}),
    outputHash: hashCanonicalJson(output),
    channelId: options.channel ?? channelId,
    cumulativeAmount: BigInt(i + 1) * 1000n,
  });
  return { receipt, signature, input, params: {}, output };
}
const digest = (l: AuditEvidenceLeaf) => hashInferenceReceipt(domain, l.receipt);
function auditOf(leaves: AuditEvidenceLeaf[]): AuditedBatch {
  const tree = createReceiptBatchTree(leaves.map(digest));
  return { channelId, modelId, provider: provider.address, receiptsRoot: tree.root, receiptCount: tree.count };
}
const withProofs = (leaves: AuditEvidenceLeaf[]) => {
  const tree = createReceiptBatchTree(leaves.map(digest));
  return leaves.map((l) => ({ ...l, proof: tree.getProof(digest(l)) }));
};
const judge = (audit: AuditedBatch, leaves: AuditEvidenceLeaf[] | undefined) => judgeAuditBatch({ audit, domain, leaves, model });

describe('judging an audited batch', () => {
  it('passes a batch whose every receipt re-executes to what the provider signed', async () => {
    const leaves = await Promise.all([0, 1, 2, 3, 4].map((i) => leaf(i)));
    expect(await judge(auditOf(leaves), leaves)).toMatchObject({ verdict: 'Pass' });
  });

  it('fails a batch with one receipt signed over a wrong output, and names it', async () => {
    const leaves = await Promise.all([0, 1, 2, 3].map((i) => leaf(i)));
    leaves.push(await leaf(4, { output: { sum: 0 } }));
    const result = await judge(auditOf(leaves), leaves);
    expect(result).toMatchObject({ verdict: 'Fail', failedReceipt: digest(leaves[4]!) });
  });

  it('is Unverifiable, never Pass, when the evidence is missing or does not match the root', async () => {
    const leaves = await Promise.all([0, 1, 2].map((i) => leaf(i)));
    const audit = auditOf(leaves);
    expect((await judge(audit, undefined)).verdict).toBe('Unverifiable');
    // One receipt left out: the rest pass, but the batch is not what was audited.
    expect((await judge(audit, leaves.slice(0, 2))).verdict).toBe('Unverifiable');
    // A receipt swapped for another honest one outside the root.
    expect((await judge(audit, [...leaves.slice(0, 2), await leaf(9)])).verdict).toBe('Unverifiable');
    // The right receipts, but one call that does not hash to its receipt.
    expect((await judge(audit, [leaves[0]!, leaves[1]!, { ...leaves[2]!, input: { xs: [7, 7] } }])).verdict).toBe('Unverifiable');
    // The audit claims more receipts than the root was built over.
    expect((await judge({ ...audit, receiptCount: 4 }, leaves)).verdict).toBe('Unverifiable');
  });

  it('does not fail a provider over a receipt it did not sign, on another channel, or outside the root', async () => {
    const honest = await Promise.all([0, 1].map((i) => leaf(i)));
    for (const bad of [await leaf(5, { output: { sum: 0 }, signer: stranger }), await leaf(6, { output: { sum: 0 }, channel: keccak256(toHex('other channel')) })]) {
      const leaves = [...honest, bad];
      const result = await judge(auditOf(leaves), leaves);
      expect(result.verdict).toBe('Unverifiable');
    }
    // A wrongly answered, validly signed receipt that is not in the audited root proves nothing here.
    const audit = auditOf(honest);
    expect((await judge(audit, [...honest, await leaf(7, { output: { sum: 0 } })])).verdict).toBe('Unverifiable');
  });

  it('fails on a proven receipt even when other receipts of the batch are missing', async () => {
    const leaves = [await leaf(0), await leaf(1), await leaf(2, { output: { sum: 0 } })];
    const audit = auditOf(leaves);
    const proven = withProofs(leaves);
    expect((await judge(audit, [proven[2]!])).verdict).toBe('Fail');
    // Without its proof the lone receipt cannot be placed in the root.
    expect((await judge(audit, [leaves[2]!])).verdict).toBe('Unverifiable');
    // A proof for another root does not place it either.
    expect((await judge(audit, [{ ...leaves[2]!, proof: withProofs([leaves[2]!, await leaf(8)])[0]!.proof! }])).verdict).toBe('Unverifiable');
  });

  it('gives no verdict when its own re-execution breaks', async () => {
    const leaves = [await leaf(0)];
    const broken: VerifierModel = { ...model, run: async () => { throw new Error('out of memory'); } };
    await expect(judgeAuditBatch({ audit: auditOf(leaves), domain, leaves, model: broken })).rejects.toMatchObject({ code: 'VerifierRunFailed' });
  });
});
