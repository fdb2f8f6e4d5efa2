import type { Address, Hex } from 'viem';
import { getContractEvents, readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { scoreRootsAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireScoreRoots } from './requireScoreRoots.ts';

export type GetScoreRootParameters = {
  publisher: Address;
  /** Default: the publisher's latest epoch. */
  epoch?: bigint;
};
export type GetScoreRootReturnType =
  | {
      publisher: Address;
      epoch: bigint;
      root: Hex;
      leafCount: number;
      /** Block the root was posted in. */
      publishedBlock: bigint;
      /** Where the publisher serves the leaves and proofs ('' if it named none). */
      uri: string;
      /** The publisher's latest epoch (equal to `epoch` unless an earlier one was asked for). */
      latestEpoch: bigint;
    }
  | undefined;

/**
 * The score root a publisher posted for an epoch (by default its latest), with the URI from the
 * `ScoreRootPublished` event; `undefined` when it posted none for that epoch.
 *
 * @example
 * const latest = await getScoreRoot(client, { publisher: gateway })
 * if (latest) console.log(latest.epoch, latest.root, latest.uri)
 */
export async function getScoreRoot(client: AgoraClient, { publisher, epoch }: GetScoreRootParameters): Promise<GetScoreRootReturnType> {
  const address = requireScoreRoots(client.deployment);
  try {
    const latestEpoch = await readContract(client, { address, abi: scoreRootsAbi, functionName: 'latestEpoch', args: [publisher] });
    const wanted = epoch ?? latestEpoch;
    if (wanted === 0n) return undefined;
    const stored = await readContract(client, { address, abi: scoreRootsAbi, functionName: 'getRoot', args: [publisher, wanted] });
    if (BigInt(stored.root) === 0n) return undefined;
    // The URI lives only in the event; the stored block keeps the log query to one block, which
    // any RPC provider answers (wide getLogs ranges are often refused).
    const [event] = await getContractEvents(client, {
      address,
      abi: scoreRootsAbi,
      eventName: 'ScoreRootPublished',
      args: { publisher, epoch: wanted },
      fromBlock: stored.publishedBlock,
      toBlock: stored.publishedBlock,
    });
    return {
      publisher,
      epoch: wanted,
      root: stored.root,
      leafCount: stored.leafCount,
      publishedBlock: stored.publishedBlock,
      uri: event?.args.uri ?? '',
      latestEpoch,
    };
  } catch (err) {
    throw toAgoraError(err, `Reading the score root of ${publisher}`);
  }
}
