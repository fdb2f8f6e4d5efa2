import { describe, expect, it } from 'vitest';
import { encodeAbiParameters, keccak256, toHex, type Hex } from 'viem';
import { createReceiptBatchTree, hashReceiptLeaf, MAX_AUDIT_BATCH, verifyReceiptInBatch } from './receiptBatch.ts';

const digest = (n: number) => keccak256(toHex(`receipt ${n}`));
const digests = Array.from({ length: 32 }, (_, i) => digest(i));

describe('receipt batch tree', () => {
  it('hashes a leaf as keccak256(bytes.concat(keccak256(abi.encode(receiptDigest)))), the StandardMerkleTree leaf', () => {
    const d = digest(1);
    expect(hashReceiptLeaf(d)).toBe(keccak256(keccak256(encodeAbiParameters([{ type: 'bytes32' }], [d]))));
    expect(() => hashReceiptLeaf('0x1234')).toThrow(expect.objectContaining({ code: 'InvalidReceiptDigest' }));
  });

  it('commits to the set of receipts: same root in any order, another root with one receipt changed', () => {
    const batch = createReceiptBatchTree(digests);
    expect(batch.count).toBe(32);
    expect(createReceiptBatchTree([...digests].reverse()).root).toBe(batch.root);
    expect(createReceiptBatchTree([...digests.slice(1), digest(99)]).root).not.toBe(batch.root);
    expect(createReceiptBatchTree([...digests, digests[5]!]).count).toBe(32);
  });

  it('proves every receipt in the batch and no receipt outside it', () => {
    const batch = createReceiptBatchTree(digests);
    for (const d of digests) expect(verifyReceiptInBatch({ root: batch.root, receiptDigest: d, proof: batch.getProof(d) })).toBe(true);
    expect(verifyReceiptInBatch({ root: batch.root, receiptDigest: digest(99), proof: batch.getProof(digests[0]!) })).toBe(false);
    // A leaf is never an inner node: the pair hash of two leaves does not prove as a receipt.
    const inner = createReceiptBatchTree(digests.slice(0, 2)).root;
    expect(verifyReceiptInBatch({ root: batch.root, receiptDigest: inner as Hex, proof: batch.getProof(digests[0]!).slice(1) })).toBe(false);
    expect(() => batch.getProof(digest(99))).toThrow(expect.objectContaining({ code: 'MerkleLeafNotInTree' }));
  });

  it('refuses an empty batch and one larger than the court takes', () => {
    expect(() => createReceiptBatchTree([])).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: An audit covers 1 to 64 receipts; this batch has 0.

      Fix: split the receipts into batches of at most 64.]
    `);
    expect(() => createReceiptBatchTree(Array.from({ length: MAX_AUDIT_BATCH + 1 }, (_, i) => digest(i)))).toThrow(expect.objectContaining({ code: 'InvalidAuditBatch' }));
    expect(createReceiptBatchTree(Array.from({ length: MAX_AUDIT_BATCH }, (_, i) => digest(i))).count).toBe(MAX_AUDIT_BATCH);
  });
});
