import type { Hex } from 'viem';
import { AgoraError, getScoreRoot, publishScoreRoot, type AgoraWalletClient } from '@agora/sdk';
import { createEpochTree, getEpochScoreLeaf, type EpochScoreLeaf, type EpochTree } from '../market/epochRoot.ts';
import { defaultScorePrior, type ProviderScore, type ScorePrior } from '../market/providerScore.ts';

export type EpochPublisherInit = {
  /** Posts from its account: that account is the publisher whose roots readers look up. */
  client: AgoraWalletClient;
  /** The scores as they stand (the gateway's `router.getScores()`); read once per epoch. */
  getScores: () => Iterable<ProviderScore>;
  /** Length of an epoch, whole seconds; epoch n covers unix time [n·epochSeconds, (n+1)·epochSeconds). */
  epochSeconds: number;
  /** Where the gateway serves the leaves and proofs (goes into the on-chain event). Default: none. */
  uri?: string;
  prior?: ScorePrior;
  /** Clock, ms since the unix epoch (tests pass a fake one). Default `Date.now`. */
  now?: () => number;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

/** An epoch this publisher posted: the root on-chain and the tree and leaves behind it, for proofs. */
export type PublishedEpoch = {
  epoch: bigint;
  root: Hex;
  tree: EpochTree;
  /** The leaves in the tree, in the order the scores were read (`tree.leaves` holds their hashes, sorted). */
  leaves: EpochScoreLeaf[];
  /** The publishing transaction; undefined when the root was found already posted (after a restart). */
  hash: Hex | undefined;
};

export type EpochPublishResult = { epoch: bigint; root: Hex; leafCount: number };

/**
 * Posts the merkle root of the gateway's scores to ScoreRoots once per epoch, so the scores it
 * routes by are on the record and anyone can check one with `verifyScoreOnChain`. An epoch is
 * skipped when there are no scores or the root has not changed since the last one posted (the
 * previous epoch's root then still stands for the same scores). A failed post is logged and tried
 * again at the next epoch; the timer never throws.
 *
 * @example
 * const publisher = createEpochPublisher({ client, getScores: () => caller.getScores(), epochSeconds: 3600, log })
 * publisher.start()
 * // later: publisher.getLatest()?.tree.getProof(leafHash)
 * await publisher.stop()
 */
export function createEpochPublisher(init: EpochPublisherInit) {
  if (!Number.isSafeInteger(init.epochSeconds) || init.epochSeconds <= 0) {
    throw new AgoraError('InvalidEpochLength', `The score epoch must be a whole number of seconds above 0, got ${init.epochSeconds}.`, {
      fix: 'set the epoch length in seconds, e.g. 3600 for hourly roots.',
    });
  }
  const log = init.log ?? (() => {});
  const now = init.now ?? Date.now;
  const prior = init.prior ?? defaultScorePrior;
  const epochMs = init.epochSeconds * 1000;
  let latest: PublishedEpoch | undefined;
  /** The chain's latest epoch and root for this publisher, read once so a restart neither re-posts nor collides. */
  let onChain: { epoch: bigint; root: Hex | undefined } | undefined;
  let running: Promise<unknown> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  let stopped = true;

  async function publish(): Promise<EpochPublishResult | undefined> {
    const epoch = BigInt(Math.floor(now() / epochMs));
    const scores = [...init.getScores()];
    if (scores.length === 0) return undefined;
    if (!onChain) {
      const posted = await getScoreRoot(init.client, { publisher: init.client.account.address });
      onChain = { epoch: posted?.epoch ?? 0n, root: posted?.root };
    }
    const leaves = scores.map((score) => getEpochScoreLeaf(score, prior));
    const tree = createEpochTree(scores, prior);
    if (tree.root === onChain.root) {
      // Unchanged since the last post (or since before a restart): its epoch still stands, but
      // keep the tree so proofs can be served for it.
      latest ??= { epoch: onChain.epoch, root: tree.root, tree, leaves, hash: undefined };
      return undefined;
    }
    // One root per epoch: the contract refuses a second (or an earlier) one.
    if (epoch <= onChain.epoch) {
      // Behind the chain, not just within the posted epoch: the epoch was made longer since.
      if (epoch < onChain.epoch) log('warn', 'score epoch is behind the last one posted; was epochSeconds made longer?', { epoch: epoch.toString(), posted: onChain.epoch.toString() });
      return undefined;
    }
    const { hash } = await publishScoreRoot(init.client, { epoch, root: tree.root, leafCount: tree.leaves.length, uri: init.uri });
    onChain = { epoch, root: tree.root };
    latest = { epoch, root: tree.root, tree, leaves, hash };
    log('info', 'score root published', { epoch: epoch.toString(), root: tree.root, leafCount: tree.leaves.length, hash });
    return { epoch, root: tree.root, leafCount: tree.leaves.length };
  }

  /** One publish at a time, so a timer tick and a manual call never race for the same epoch. */
  function publishNow(): Promise<EpochPublishResult | undefined> {
    const result = running.then(publish);
    // `running` never rejects (the caller gets the error from `result`).
    running = result.catch(() => {
      // Forget what we thought the chain held: a post may have landed despite the error.
      onChain = undefined;
    });
    return result;
  }

  function schedule() {
    if (stopped) return;
    // Just after the next epoch boundary, so each epoch's root covers everything seen before it.
    const delay = epochMs - (now() % epochMs) + 50;
    timer = setTimeout(() => {
      void publishNow()
        .catch((err: unknown) => {
          log('warn', 'score root not published, will retry next epoch', { error: err instanceof Error ? err.message : String(err) });
        })
        .finally(schedule);
    }, delay);
  }

  return {
    /** Starts posting at each epoch boundary. */
    start() {
      if (!stopped) return;
      stopped = false;
      schedule();
    },
    /** Stops the timer and waits for a post in flight. */
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
    /**
     * Builds the tree now and posts it for the current epoch. Resolves to undefined when skipped
     * (no scores, epoch already posted, root unchanged); rejects with the sdk's error when the post fails.
     */
    publishNow,
    /** The last epoch posted (or found posted with the same root), with its tree and leaves for proofs. */
    getLatest(): PublishedEpoch | undefined {
      return latest;
    },
  };
}

export type EpochPublisher = ReturnType<typeof createEpochPublisher>;
