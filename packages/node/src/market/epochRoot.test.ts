import { describe, expect, it } from 'vitest';
import { createEpochTree, getEpochRoot, getEpochScoreLeaf, hashEpochScoreLeaf, verifyEpochProof } from './epochRoot.ts';
import { createProviderScore, recordObservation } from './providerScore.ts';

const modelId = `0x${'22'.repeat(32)}` as const;
const scores = Array.from({ length: 7 }, (_, i) => {
  const score = createProviderScore({ provider: `0x${(i + 1).toString(16).padStart(40, '0')}`, modelId, price: 1000 + i, quotedLatencyMs: 400 });
  for (let j = 0; j < i; j++) recordObservation(score, { kind: 'delivered', latencyMs: 300 + j });
  return score;
});

describe('epoch root', () => {
  it('is deterministic and independent of the order scores are listed in', () => {
    const root = getEpochRoot(scores);
    expect(root).toMatch(/^0x[0-9a-f]{64}$/);
    expect(getEpochRoot(scores)).toBe(root);
    expect(getEpochRoot([...scores].reverse())).toBe(root);
    expect(getEpochRoot([scores[3]!, scores[0]!, scores[6]!, scores[1]!, scores[5]!, scores[2]!, scores[4]!])).toBe(root);
  });

  it('changes when any score changes', () => {
    const root = getEpochRoot(scores);
    const changed = scores.map((s) => ({ ...s }));
    recordObservation(changed[4]!, { kind: 'audit', passed: false });
    expect(getEpochRoot(changed)).not.toBe(root);
  });

  it('gives proofs that verify for every leaf, and not for a leaf outside the tree', () => {
    const tree = createEpochTree(scores);
    for (const score of scores) {
      const leaf = hashEpochScoreLeaf(getEpochScoreLeaf(score));
      expect(verifyEpochProof({ root: tree.root, leaf, proof: tree.getProof(leaf) })).toBe(true);
    }
    const outsider = hashEpochScoreLeaf(getEpochScoreLeaf({ ...scores[0]!, price: 1 }));
    expect(verifyEpochProof({ root: tree.root, leaf: outsider, proof: tree.getProof(tree.leaves[0]!) })).toBe(false);
  });

  it('is the zero hash for an empty epoch and the leaf itself for one score', () => {
    expect(getEpochRoot([])).toBe(`0x${'0'.repeat(64)}`);
    expect(getEpochRoot([scores[0]!])).toBe(hashEpochScoreLeaf(getEpochScoreLeaf(scores[0]!)));
  });
});
