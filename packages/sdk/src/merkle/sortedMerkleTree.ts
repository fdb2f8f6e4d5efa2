import { concatHex, keccak256, type Hex } from 'viem';
import { AgoraError } from '../errors/AgoraError.ts';

/** The root of a tree without leaves. */
export const ZERO_HASH = `0x${'0'.repeat(64)}` as Hex;

/** A merkle tree whose proofs verify with OpenZeppelin's `MerkleProof.verify(proof, root, leaf)`. */
export type SortedMerkleTree = {
  /** The zero hash for a tree without leaves; the leaf itself for one leaf. */
  root: Hex;
  /** Leaf hashes, lower case, sorted, without duplicates. */
  leaves: Hex[];
  /**
   * Sibling hashes from the leaf up.
   * @throws {AgoraError} `MerkleLeafNotInTree` for a leaf that is not in the tree.
   */
  getProof(leaf: Hex): Hex[];
};

/**
 * Hashes two nodes the way OpenZeppelin's `Hashes.commutativeKeccak256` does: the smaller first, so a
 * proof needs no left/right flags.
 */
export function hashSortedPair(a: Hex, b: Hex): Hex {
  const [x, y] = [a.toLowerCase() as Hex, b.toLowerCase() as Hex];
  return keccak256(x < y ? concatHex([x, y]) : concatHex([y, x]));
}

/**
 * A merkle tree over leaf hashes with sorted leaves and sorted pairs: the root depends only on the
 * set of leaves, never on the order they were listed in, and every proof verifies with
 * OpenZeppelin's `MerkleProof.verify`. An odd node at the end of a layer is carried up unchanged.
 * Used for score epochs (ScoreRoots) and for the receipt batches the AuditCourt audits.
 *
 * @example
 * const tree = createSortedMerkleTree(leafHashes)
 * verifySortedMerkleProof({ root: tree.root, leaf: leafHashes[0], proof: tree.getProof(leafHashes[0]) }) // true
 */
export function createSortedMerkleTree(leafHashes: Iterable<Hex>): SortedMerkleTree {
  const leaves = [...new Set([...leafHashes].map((leaf) => leaf.toLowerCase() as Hex))].sort();
  const layers: Hex[][] = [leaves];
  while (layers[layers.length - 1]!.length > 1) {
    const below = layers[layers.length - 1]!;
    const above: Hex[] = [];
    for (let i = 0; i < below.length; i += 2) above.push(i + 1 < below.length ? hashSortedPair(below[i]!, below[i + 1]!) : below[i]!);
    layers.push(above);
  }
  const root = leaves.length === 0 ? ZERO_HASH : layers[layers.length - 1]![0]!;
  return {
    root,
    leaves,
    getProof(leaf) {
      let index = leaves.indexOf(leaf.toLowerCase() as Hex);
      if (index < 0) throw new AgoraError('MerkleLeafNotInTree', `Leaf ${leaf} is not in this tree (root ${root}).`);
      const proof: Hex[] = [];
      for (const layer of layers.slice(0, -1)) {
        const sibling = index ^ 1;
        if (sibling < layer.length) proof.push(layer[sibling]!);
        index >>= 1;
      }
      return proof;
    },
  };
}

/**
 * Checks a proof the way `MerkleProof.verify` does.
 *
 * @example
 * const ok = verifySortedMerkleProof({ root, leaf, proof })
 */
export function verifySortedMerkleProof(parameters: { root: Hex; leaf: Hex; proof: readonly Hex[] }): boolean {
  let node = parameters.leaf.toLowerCase() as Hex;
  for (const sibling of parameters.proof) node = hashSortedPair(node, sibling);
  return node === parameters.root.toLowerCase();
}
