import type { Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { scoreRootsAbi } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireScoreRoots } from './requireScoreRoots.ts';

export type PublishScoreRootParameters = {
  /** The publisher's epoch number; must be above the last one it posted (never 0). */
  epoch: bigint;
  /** Merkle root of the epoch's score leaves (the node's `createEpochTree(scores).root`); not zero. */
  root: Hex;
  /** How many leaves the tree has; not zero. */
  leafCount: number;
  /** Where the leaves and proofs are served; only emitted in the event. Default: empty. */
  uri?: string;
};
export type PublishScoreRootReturnType = TransactionResult;

/**
 * Posts the root of the scores the client's account computed for `epoch` to ScoreRoots, where
 * anyone can check a score against it with `verifyScoreOnChain`.
 * @throws {ContractRevertedError} `ScoreRootsEpochNotAfterLatest` for an epoch not after the
 * account's latest (posted epochs are never rewritten); `ScoreRootsEmptyEpoch` for a zero root or
 * no leaves.
 *
 * @example
 * const tree = createEpochTree(router.getScores())
 * await publishScoreRoot(client, { epoch: 1_000n, root: tree.root, leafCount: tree.leaves.length })
 */
export async function publishScoreRoot(
  client: AgoraWalletClient,
  { epoch, root, leafCount, uri = '' }: PublishScoreRootParameters,
): Promise<PublishScoreRootReturnType> {
  return sendContractTransaction(
    client,
    { address: requireScoreRoots(client.deployment), abi: scoreRootsAbi, functionName: 'publish', args: [epoch, root, leafCount, uri] },
    `Publishing the score root of epoch ${epoch}`,
  );
}
