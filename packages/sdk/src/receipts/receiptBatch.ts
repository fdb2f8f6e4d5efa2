import { keccak256, type Hex } from 'viem';
import { AgoraError } from '../errors/AgoraError.ts';
import { createSortedMerkleTree, verifySortedMerkleProof } from '../merkle/sortedMerkleTree.ts';

/** Most receipts one audit may cover (the AuditCourt's `MAX_BATCH`). */
export const MAX_AUDIT_BATCH = 64;

/**
 * The leaf of a receipt in an audited batch, as the AuditCourt checks it:
 * `keccak256(bytes.concat(keccak256(abi.encode(receiptDigest))))` (OpenZeppelin StandardMerkleTree
 * style; hashing twice keeps a leaf from ever passing for an inner node). `receiptDigest` is the
 * EIP-712 digest the provider signed (`hashInferenceReceipt`).
 *
 * @example
 * const leaf = hashReceiptLeaf(hashInferenceReceipt(domain, receipt))
 */
export function hashReceiptLeaf(receiptDigest: Hex): Hex {
  if (!/^0x[0-9a-fA-F]{64}$/.test(receiptDigest)) throw new AgoraError('InvalidReceiptDigest', `${receiptDigest} is not a 32-byte receipt digest.`);
  // abi.encode of one bytes32 is the 32 bytes themselves.
  return keccak256(keccak256(receiptDigest));
}

/** A batch of one channel's receipts as one audit commits to it. */
export type ReceiptBatchTree = {
  /** What `openAudit` takes as `receiptsRoot`. */
  root: Hex;
  /** What `openAudit` takes as `receiptCount`: distinct receipts in the batch. */
  count: number;
  /** Leaf hashes, sorted. */
  leaves: Hex[];
  /**
   * The proof of one receipt, for the court's `verifyReceiptInAudit` or {@link verifyReceiptInBatch}.
   * @throws {AgoraError} `MerkleLeafNotInTree` for a receipt outside the batch.
   */
  getProof(receiptDigest: Hex): Hex[];
};

/**
 * The merkle tree of an audit batch: sorted leaves, sorted pairs, so the root depends only on which
 * receipts are in the batch, and each proof verifies with OpenZeppelin's `MerkleProof`. A receipt
 * listed twice counts once. Browser-safe (no node:*).
 *
 * @throws {AgoraError} `InvalidAuditBatch` for an empty batch or one over {@link MAX_AUDIT_BATCH}.
 * @example
 * const batch = createReceiptBatchTree(receipts.map((r) => hashInferenceReceipt(domain, r)))
 * await openAudit(client, { channelId, receiptsRoot: batch.root, receiptCount: batch.count, evidenceURI })
 */
export function createReceiptBatchTree(receiptDigests: Iterable<Hex>): ReceiptBatchTree {
  const digests = [...receiptDigests];
  const tree = createSortedMerkleTree(digests.map(hashReceiptLeaf));
  const count = tree.leaves.length;
  if (count === 0 || count > MAX_AUDIT_BATCH) {
    throw new AgoraError('InvalidAuditBatch', `An audit covers 1 to ${MAX_AUDIT_BATCH} receipts; this batch has ${count}.`, {
      fix: `split the receipts into batches of at most ${MAX_AUDIT_BATCH}.`,
    });
  }
  return { root: tree.root, count, leaves: tree.leaves, getProof: (receiptDigest) => tree.getProof(hashReceiptLeaf(receiptDigest)) };
}

/**
 * Whether a receipt is in the batch with this root, given its proof (what the court's
 * `verifyReceiptInAudit` checks besides channel and signature).
 *
 * @example
 * verifyReceiptInBatch({ root: audit.receiptsRoot, receiptDigest, proof })
 */
export function verifyReceiptInBatch(parameters: { root: Hex; receiptDigest: Hex; proof: readonly Hex[] }): boolean {
  return verifySortedMerkleProof({ root: parameters.root, leaf: hashReceiptLeaf(parameters.receiptDigest), proof: parameters.proof });
}
