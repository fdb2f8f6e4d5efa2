import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { scoreRootsAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireScoreRoots } from './requireScoreRoots.ts';
import type { ScoreLeaf } from './scoreLeaf.ts';

export type VerifyScoreOnChainParameters = {
  /** Who posted the epoch's root (a gateway, an indexer). */
  publisher: Address;
  epoch: bigint;
  leaf: ScoreLeaf;
  /** Sibling hashes from the leaf up (the node's `createEpochTree(...).getProof(leafHash)`). */
  proof: readonly Hex[];
};
export type VerifyScoreOnChainReturnType = boolean;

/**
 * Asks ScoreRoots whether `leaf` is among the scores `publisher` posted for `epoch`: the check a
 * contract would make, so a provider cannot present a better score than the one measured. False
 * for an epoch never posted, a changed score or a wrong proof.
 *
 * @example
 * const leaf = getEpochScoreLeaf(score)
 * const ok = await verifyScoreOnChain(client, { publisher, epoch, leaf, proof: tree.getProof(hashEpochScoreLeaf(leaf)) })
 */
export async function verifyScoreOnChain(
  client: AgoraClient,
  { publisher, epoch, leaf, proof }: VerifyScoreOnChainParameters,
): Promise<VerifyScoreOnChainReturnType> {
  try {
    return await readContract(client, {
      address: requireScoreRoots(client.deployment),
      abi: scoreRootsAbi,
      functionName: 'verifyScore',
      args: [publisher, epoch, leaf, proof],
    });
  } catch (err) {
    throw toAgoraError(err, `Verifying the score of ${leaf.provider} in epoch ${epoch}`);
  }
}
