import { encodeAbiParameters, keccak256, type Hex } from 'viem';
import { createSortedMerkleTree, verifySortedMerkleProof, type ScoreLeaf, type SortedMerkleTree } from '@agora/sdk';
import { defaultScorePrior, getScoreSummary, type ProviderScore, type ScorePrior } from './providerScore.ts';

/** Parts per million, the fixed point the scores are posted in (uint32 on-chain). */
const PPM = 1_000_000;

const LEAF_PARAMETERS = [
  { name: 'provider', type: 'address' },
  { name: 'modelId', type: 'bytes32' },
  { name: 'auditPassPpm', type: 'uint32' },
  { name: 'canaryPassPpm', type: 'uint32' },
  { name: 'deliveryPpm', type: 'uint32' },
  { name: 'uptimePpm', type: 'uint32' },
  { name: 'latencyRatioPpm', type: 'uint32' },
  { name: 'price', type: 'uint256' },
  { name: 'calls', type: 'uint64' },
] as const;

/**
 * A (provider, model) score as it is committed to in an epoch: fixed-point posterior means, so
 * anyone recomputing them from the same evidence gets the same bytes. The ScoreRoots contract's
 * `ScoreLeaf`, as the sdk types it.
 */
export type EpochScoreLeaf = ScoreLeaf;

/** The fixed-point leaf for a score. */
export function getEpochScoreLeaf(score: ProviderScore, prior: ScorePrior = defaultScorePrior): EpochScoreLeaf {
  const s = getScoreSummary(score, prior);
  const ppm = (x: number) => Math.min(0xffffffff, Math.round(x * PPM));
  return {
    provider: score.provider.toLowerCase() as Hex,
    modelId: score.modelId.toLowerCase() as Hex,
    auditPassPpm: ppm(s.auditPassRate),
    canaryPassPpm: ppm(s.canaryPassRate),
    deliveryPpm: ppm(s.deliveryRate),
    uptimePpm: ppm(s.uptime),
    latencyRatioPpm: ppm(s.latencyRatio),
    price: BigInt(Math.round(score.price)),
    calls: BigInt(s.calls),
  };
}

/**
 * The leaf hash, as OpenZeppelin's StandardMerkleTree makes it: `keccak256(keccak256(abi.encode(…)))`
 * (hashing twice keeps a leaf from ever being mistaken for an inner node).
 */
export function hashEpochScoreLeaf(leaf: EpochScoreLeaf): Hex {
  const encoded = encodeAbiParameters(LEAF_PARAMETERS, [
    leaf.provider,
    leaf.modelId,
    leaf.auditPassPpm,
    leaf.canaryPassPpm,
    leaf.deliveryPpm,
    leaf.uptimePpm,
    leaf.latencyRatioPpm,
    leaf.price,
    leaf.calls,
  ]);
  return keccak256(keccak256(encoded));
}

/** The merkle tree of an epoch's scores (sorted leaves and pairs; see the sdk's `createSortedMerkleTree`). */
export type EpochTree = SortedMerkleTree;

/**
 * The merkle tree of an epoch's scores. Leaves are sorted and pairs are hashed in sorted order
 * (OpenZeppelin's commutative keccak), so the root depends only on the set of scores, never on the
 * order they were listed in, and proofs verify with `MerkleProof.verify`.
 *
 * @example
 * const { root, getProof } = createEpochTree(scores)
 * const proof = getProof(hashEpochScoreLeaf(getEpochScoreLeaf(scores[0])))
 */
export function createEpochTree(scores: Iterable<ProviderScore>, prior: ScorePrior = defaultScorePrior): EpochTree {
  return createSortedMerkleTree([...scores].map((s) => hashEpochScoreLeaf(getEpochScoreLeaf(s, prior))));
}

/**
 * The epoch root of a set of scores (see `createEpochTree`).
 *
 * @example
 * const root = getEpochRoot(router.getScores())
 */
export function getEpochRoot(scores: Iterable<ProviderScore>, prior: ScorePrior = defaultScorePrior): Hex {
  return createEpochTree(scores, prior).root;
}

/** Checks a proof the way `MerkleProof.verify` does. */
export const verifyEpochProof = verifySortedMerkleProof;
