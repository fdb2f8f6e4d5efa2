// Scores on-chain: a tree built by the node's epochRoot.ts, posted to ScoreRoots with the sdk, is
// checked by the contract's verifyScore with the proofs the node gives. That the contract accepts
// them is what shows the TypeScript and Solidity leaf encodings agree.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getBytecode } from 'viem/actions';
import { getScoreRoot, publishScoreRoot, requireScoreRoots, verifyScoreOnChain, type ScoreLeaf } from '@agora/sdk';
import {
  createEpochTree,
  createProviderScore,
  getDevAccount,
  getEpochScoreLeaf,
  hashEpochScoreLeaf,
  recordObservation,
  type ProviderScore,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';

let devnet: TestDevnet;
const publisherOf = (role: 'buyer1' | 'buyer2' | 'buyer3') => getDevAccount(role).account.address;
const modelA = `0x${'aa'.repeat(32)}` as const;
const modelB = `0x${'bb'.repeat(32)}` as const;

/** `count` scores with different evidence, so every leaf differs. */
function makeScores(count: number): ProviderScore[] {
  return Array.from({ length: count }, (_, i) => {
    const score = createProviderScore({
      provider: `0x${(0xa0 + i).toString(16).padStart(40, '0')}`,
      modelId: i % 2 === 0 ? modelA : modelB,
      price: 1_000 + 10 * i,
      quotedLatencyMs: 400,
    });
    for (let j = 0; j <= i; j++) recordObservation(score, { kind: 'delivered', latencyMs: 250 + 40 * j });
    if (i % 3 === 1) recordObservation(score, { kind: 'timeout' });
    if (i % 3 === 2) recordObservation(score, { kind: 'audit', passed: false });
    return score;
  });
}

beforeAll(async () => {
  devnet = await startTestDevnet();
});
afterAll(() => devnet?.stop());

describe('deployment', () => {
  it('deploys ScoreRoots with the rest and records it in the deployment', async () => {
    const address = requireScoreRoots(devnet.deployment);
    expect(address).toBe(devnet.deployment.contracts.scoreRoots);
    expect((await getBytecode(devnet.as('buyer1'), { address }))?.length).toBeGreaterThan(2);
  });

  it('says how to get a deployment with ScoreRoots when the file predates it', () => {
    const { scoreRoots: _, ...contracts } = devnet.deployment.contracts;
    expect(() => requireScoreRoots({ ...devnet.deployment, chainId: 31337, contracts })).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: This deployment (chain 31337) has no ScoreRoots contract: its file was written before ScoreRoots existed.

      Fix: deploy Agora again with \`agora deploy\` (or \`npm start\` on a devnet), or add contracts.scoreRoots to the deployment file if one is deployed on this chain.]
    `);
  });
});

describe('publish and verify', () => {
  it.each([1, 2, 3, 7])('accepts the node’s proof of every leaf of a %i-leaf tree, and nothing changed', async (count) => {
    const publisher = devnet.as('buyer1');
    const scores = makeScores(count);
    const tree = createEpochTree(scores);
    // One epoch per tree size; epochs only move forward.
    const epoch = BigInt(100 + count);
    await publishScoreRoot(publisher, { epoch, root: tree.root, leafCount: tree.leaves.length });

    for (const score of scores) {
      const leaf = getEpochScoreLeaf(score);
      const proof = tree.getProof(hashEpochScoreLeaf(leaf));
      expect(await verifyScoreOnChain(publisher, { publisher: publisherOf('buyer1'), epoch, leaf, proof })).toBe(true);
    }

    const leaf = getEpochScoreLeaf(scores[0]!);
    const proof = tree.getProof(hashEpochScoreLeaf(leaf));
    const check = (changed: ScoreLeaf, withProof = proof, atEpoch = epoch, by = publisherOf('buyer1')) =>
      verifyScoreOnChain(publisher, { publisher: by, epoch: atEpoch, leaf: changed, proof: withProof });
    // A provider claiming a better score, more calls or a lower price than was measured.
    expect(await check({ ...leaf, auditPassPpm: 1_000_000 })).toBe(false);
    expect(await check({ ...leaf, calls: leaf.calls + 1n })).toBe(false);
    expect(await check({ ...leaf, price: leaf.price - 1n })).toBe(false);
    // The right leaf against another epoch, another publisher, or with a broken proof.
    expect(await check(leaf, proof, epoch + 1n)).toBe(false);
    expect(await check(leaf, proof, epoch, publisherOf('buyer2'))).toBe(false);
    expect(await check(leaf, [...proof, tree.root])).toBe(false);
    if (proof.length > 0) expect(await check(leaf, proof.slice(1))).toBe(false);
  });

  it('reads back the latest or a given epoch with its root, leaf count and URI', async () => {
    const publisher = devnet.as('buyer2');
    const first = createEpochTree(makeScores(3));
    const second = createEpochTree(makeScores(5));
    expect(await getScoreRoot(publisher, { publisher: publisherOf('buyer2') })).toBeUndefined();
    const posted = await publishScoreRoot(publisher, { epoch: 10n, root: first.root, leafCount: 3, uri: 'https://gw.example/v1/scores/10' });
    await publishScoreRoot(publisher, { epoch: 12n, root: second.root, leafCount: 5 });

    expect(await getScoreRoot(publisher, { publisher: publisherOf('buyer2') })).toEqual({
      publisher: publisherOf('buyer2'),
      epoch: 12n,
      root: second.root,
      leafCount: 5,
      publishedBlock: expect.any(BigInt),
      uri: '',
      latestEpoch: 12n,
    });
    expect(await getScoreRoot(publisher, { publisher: publisherOf('buyer2'), epoch: 10n })).toEqual({
      publisher: publisherOf('buyer2'),
      epoch: 10n,
      root: first.root,
      leafCount: 3,
      publishedBlock: posted.receipt.blockNumber,
      uri: 'https://gw.example/v1/scores/10',
      latestEpoch: 12n,
    });
    // A gap is not a root.
    expect(await getScoreRoot(publisher, { publisher: publisherOf('buyer2'), epoch: 11n })).toBeUndefined();
  });

  it('refuses to rewrite an epoch, and an empty one, with errors that say what to do', async () => {
    const publisher = devnet.as('buyer3');
    const root = createEpochTree(makeScores(2)).root;
    await publishScoreRoot(publisher, { epoch: 7n, root, leafCount: 2 });
    await expect(publishScoreRoot(publisher, { epoch: 7n, root: createEpochTree(makeScores(3)).root, leafCount: 3 })).rejects
      .toThrowErrorMatchingInlineSnapshot(`
      [ContractRevertedError: Publishing the score root of epoch 7 failed: Epoch 7 is not after epoch 7, the last one 0x23618e…1E8f posted: a posted epoch is never rewritten or filled in behind.

      Fix: publish epoch 8 or later.

      Details: The contract function "publish" reverted.]
    `);
    await expect(publishScoreRoot(publisher, { epoch: 6n, root, leafCount: 2 })).rejects.toMatchObject({ code: 'ScoreRootsEpochNotAfterLatest' });
    await expect(publishScoreRoot(publisher, { epoch: 8n, root, leafCount: 0 })).rejects.toMatchObject({ code: 'ScoreRootsEmptyEpoch' });
    expect(await getScoreRoot(publisher, { publisher: publisherOf('buyer3') })).toMatchObject({ epoch: 7n, root, leafCount: 2 });
  });
});
