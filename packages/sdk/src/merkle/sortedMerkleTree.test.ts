import { describe, expect, it } from 'vitest';
import { keccak256, toHex, type Hex } from 'viem';
import { createSortedMerkleTree, hashSortedPair, verifySortedMerkleProof, ZERO_HASH } from './sortedMerkleTree.ts';

const leaf = (n: number) => keccak256(toHex(`leaf ${n}`));
const leaves = Array.from({ length: 7 }, (_, i) => leaf(i));
/** OpenZeppelin's commutativeKeccak256, written out independently of the code under test. */
const ozPair = (a: Hex, b: Hex) => keccak256(BigInt(a) < BigInt(b) ? `0x${a.slice(2)}${b.slice(2)}` : `0x${b.slice(2)}${a.slice(2)}`);

describe('sorted merkle tree', () => {
  it('hashes pairs smaller-first, as OpenZeppelin does', () => {
    expect(hashSortedPair(leaves[0]!, leaves[1]!)).toBe(ozPair(leaves[0]!, leaves[1]!));
    expect(hashSortedPair(leaves[1]!, leaves[0]!)).toBe(ozPair(leaves[0]!, leaves[1]!));
  });

  it('builds the root from sorted leaves, carrying an odd node up unchanged', () => {
    const [a, b, c] = [...leaves.slice(0, 3)].sort();
    expect(createSortedMerkleTree([leaves[2]!, leaves[0]!, leaves[1]!]).root).toBe(ozPair(ozPair(a!, b!), c!));
  });

  it('does not depend on the order or case of the leaves, and counts a repeated leaf once', () => {
    const root = createSortedMerkleTree(leaves).root;
    expect(createSortedMerkleTree([...leaves].reverse()).root).toBe(root);
    expect(createSortedMerkleTree(leaves.map((l) => l.toUpperCase().replace('0X', '0x') as Hex)).root).toBe(root);
    const repeated = createSortedMerkleTree([...leaves, leaves[3]!]);
    expect(repeated.root).toBe(root);
    expect(repeated.leaves).toHaveLength(7);
  });

  it('gives proofs that verify for every leaf and every size, and fail for another leaf or root', () => {
    for (let size = 1; size <= 9; size++) {
      const set = Array.from({ length: size }, (_, i) => leaf(100 + i));
      const tree = createSortedMerkleTree(set);
      for (const l of set) expect(verifySortedMerkleProof({ root: tree.root, leaf: l, proof: tree.getProof(l) })).toBe(true);
      expect(verifySortedMerkleProof({ root: tree.root, leaf: leaf(999), proof: tree.getProof(set[0]!) })).toBe(false);
      expect(verifySortedMerkleProof({ root: leaf(998), leaf: set[0]!, proof: tree.getProof(set[0]!) })).toBe(false);
    }
  });

  it('is the zero hash when empty, the leaf itself for one leaf, and refuses a proof of an outsider', () => {
    expect(createSortedMerkleTree([]).root).toBe(ZERO_HASH);
    expect(createSortedMerkleTree([leaves[0]!]).root).toBe(leaves[0]);
    expect(() => createSortedMerkleTree(leaves).getProof(leaf(999))).toThrow(expect.objectContaining({ code: 'MerkleLeafNotInTree' }));
  });
});
