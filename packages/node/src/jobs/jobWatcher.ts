import { setTimeout as sleep } from 'node:timers/promises';
import { isAddressEqual, zeroAddress, type Hex } from 'viem';
import { getBlock, getBlockNumber, getContractEvents } from 'viem/actions';
import {
  AgoraError,
  acceptJob,
  deliverJob,
  failJob,
  finalizeJob,
  getCredit,
  getJob,
  jobMarketAbi,
  signJobReceipt,
  withdrawCredit,
  type AgoraWalletClient,
  type GetJobReturnType,
} from '@agora/sdk';
import type { ServedModel } from '../provider/servedModel.ts';
import { fetchPayload } from '../payloads/fetchPayload.ts';
import { decodeJobInput, encodeJobOutput } from '../payloads/jobPayload.ts';
import type { PayloadStore } from '../payloads/payloadStore.ts';
import { jobFailureCodes } from './jobErrors.ts';
import { openJobStore, type JobStore, type WatchedJob, type WatchedJobState } from './jobStore.ts';
import { errorCode, errorMessage } from '../errorText.ts';

export type JobWatcherInit = {
  /** The provider's client: accepts, delivers, signs receipts. */
  client: AgoraWalletClient;
  /** Models this provider serves; jobs for other models are ignored. */
  models: ServedModel[];
  /** Where inputs and outputs are kept (outputs are served from it at `/v1/payloads/:hash`). */
  payloads: PayloadStore;
  /** The job state database, or where to open it (closed again by `stop()`). */
  store: JobStore | { path: string };
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** How often to look for new jobs and due payouts, ms (default 2 s). */
  pollIntervalMs?: number;
  /** Largest input downloaded, bytes (default: the payload store's limit). */
  maxPayloadBytes?: number;
  /** Give up downloading an input after this long, ms (default 30 s); the job is then failed. */
  fetchTimeoutMs?: number;
  /** Accept a job only if at least this much time is left before its deadline, seconds (default 30). */
  minTimeLeftSeconds?: number;
  /** Withdraw JobMarket credit after finalizing payouts (default true). */
  withdraw?: boolean;
  /** Blocks per event query (default 5,000, within what public RPCs allow). */
  blockRange?: bigint;
  /**
   * The highest royalty rate (bps) this provider pays from its share, per model id (lower case);
   * an accept carries it, so a publisher raising the royalty meanwhile makes the accept revert
   * instead of binding the job to the new rate. A model without an entry accepts the rate read
   * just before accepting.
   */
  royaltyLimits?: ReadonlyMap<string, number>;
};

/**
 * The provider's slow path: watches JobMarket for jobs it can do, accepts them, downloads and
 * checks the input, runs the model, stores the output in the payload store and delivers its hash
 * with a signed receipt; reports a failure (full refund to the buyer) when the input is missing,
 * corrupt, too large or the model fails; finalizes its deliveries once the challenge window has
 * passed. Everything it has seen and done is in SQLite, so a restart neither misses nor repeats a
 * job, and an accepted job is re-run (or failed, if its deadline passed), never dropped.
 *
 * @example
 * const watcher = createJobWatcher({ client, models, payloads, store: { path: join(stateDir, 'jobs.db') } })
 * await watcher.start(); …; await watcher.stop()
 */
export function createJobWatcher(init: JobWatcherInit) {
  const { client, payloads } = init;
  const me = client.account.address;
  const log = init.log ?? (() => {});
  const store = 'path' in init.store ? openJobStore({ path: init.store.path }) : init.store;
  const ownsStore = 'path' in init.store;
  const models = new Map(init.models.map((m) => [m.descriptor.modelId.toLowerCase(), m]));
  const pollIntervalMs = init.pollIntervalMs ?? 2_000;
  const maxPayloadBytes = init.maxPayloadBytes ?? payloads.maxBytes;
  const minTimeLeft = BigInt(init.minTimeLeftSeconds ?? 30);
  const blockRange = init.blockRange ?? 5_000n;
  const challengeWindow = client.deployment.parameters.challengeWindow;

  let controller = new AbortController();
  let loop: Promise<void> | undefined;
  let running: Promise<void> = Promise.resolve();

  /**
   * Chain time, seconds. Devnets mine only on demand, so the newest block can lag the clock; the
   * next block is at least as late as both.
   */
  async function chainNow(): Promise<bigint> {
    const block = await getBlock(client, { blockTag: 'latest' });
    const wall = BigInt(Math.floor(Date.now() / 1000));
    return block.timestamp > wall ? block.timestamp : wall;
  }

  /** Reads new JobOpened events for models we serve into the store, moving the cursor with them. */
  async function readEvents(signal: AbortSignal) {
    const head = await getBlockNumber(client, { cacheTime: 0 });
    let from = store.getCursor() ?? client.deployment.startBlock;
    while (from <= head && !signal.aborted) {
      const to = from + blockRange - 1n < head ? from + blockRange - 1n : head;
      const events = await getContractEvents(client, {
        address: client.deployment.contracts.jobMarket,
        abi: jobMarketAbi,
        eventName: 'JobOpened',
        fromBlock: from,
        toBlock: to,
        strict: true,
      });
      const ours = events
        .map(({ args }) => args)
        .filter((job) => models.has(job.modelId.toLowerCase()) && (job.provider === zeroAddress || isAddressEqual(job.provider, me)));
      store.recordOpened(ours, to + 1n);
      for (const job of ours) log('job seen', { jobId: job.jobId.toString(), modelId: job.modelId, maxPrice: job.maxPrice.toString() });
      from = to + 1n;
    }
  }

  /** Brings the local state in line with the chain when the job moved on without us. */
  function reconcile(job: WatchedJob, onChain: GetJobReturnType): WatchedJobState {
    const mine = isAddressEqual(onChain.provider, me);
    let state: WatchedJobState;
    switch (onChain.status) {
      case 'Open':
        return job.state;
      case 'Accepted':
        state = mine ? 'accepted' : 'lost';
        break;
      case 'Delivered':
        state = mine ? 'delivered' : 'lost';
        break;
      case 'Finalized':
        state = mine ? 'finalized' : 'lost';
        break;
      case 'Failed':
        state = mine ? 'failed' : 'lost';
        break;
      default:
        state = 'closed';
    }
    if (state !== job.state) {
      store.setState(job.jobId, state, {
        ...(state === 'delivered' ? { outputHash: onChain.outputHash, deliveredAt: onChain.deliveredAt } : {}),
        ...(state === 'failed' ? { errorCode: onChain.errorCode } : {}),
        note: `on-chain status ${onChain.status}${mine ? '' : ` (provider ${onChain.provider})`}`,
      });
      log('job state from chain', { jobId: job.jobId.toString(), state, status: onChain.status });
    }
    return state;
  }

  /** Accepts an open job if it is worth taking. */
  async function decide(job: WatchedJob, now: bigint) {
    const model = models.get(job.modelId.toLowerCase());
    const skip = (note: string) => {
      store.setState(job.jobId, 'skipped', { note });
      log('job skipped', { jobId: job.jobId.toString(), reason: note });
    };
    if (!model) return skip('model not served');
    // The chain first: the job may have been accepted by us before a crash that lost the local
    // record, and must then be done (or failed), whatever its price or deadline.
    const onChain = await getJob(client, { jobId: job.jobId });
    if (onChain.status !== 'Open') return void reconcile(job, onChain);
    // The price was fixed when the job opened (our offer then, or the buyer's max price): it is
    // what we are paid, whatever our offer is now.
    if (onChain.price < model.pricePerCall) return skip(`price ${onChain.price} is below the offer price ${model.pricePerCall}`);
    if (job.deadline < now + minTimeLeft) return skip(`deadline ${job.deadline} leaves less than ${minTimeLeft} s`);
    const maxRoyaltyBps = init.royaltyLimits?.get(job.modelId.toLowerCase());
    try {
      await acceptJob(client, { jobId: job.jobId, ...(maxRoyaltyBps === undefined ? {} : { maxRoyaltyBps }) });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'JobMarketInvalidStatus') {
        // Another provider won the race (or the buyer cancelled): normal in an open market.
        reconcile(job, await getJob(client, { jobId: job.jobId }));
        return log('job taken by someone else', { jobId: job.jobId.toString() });
      }
      if (code === 'JobMarketDeadlinePassed') return skip('deadline passed before accepting');
      if (code === 'JobMarketPriceTooHigh' || code === 'JobMarketProviderUnavailable' || code === 'JobMarketNotProvider' || code === 'SettlementRoyaltyAboveMax') {
        return skip(errorMessage(err));
      }
      throw err; // transient (RPC): the job stays open and is looked at again next pass
    }
    store.setState(job.jobId, 'accepted', { note: `accepted at ${onChain.price}` });
    log('job accepted', { jobId: job.jobId.toString(), price: onChain.price.toString() });
  }

  /** Reports a failure: the buyer gets the whole escrow back, we get nothing. */
  async function fail(job: WatchedJob, failureCode: number, note: string) {
    try {
      await failJob(client, { jobId: job.jobId, errorCode: failureCode });
    } catch (err) {
      if (errorCode(err) === 'JobMarketInvalidStatus') return void reconcile(job, await getJob(client, { jobId: job.jobId }));
      throw err;
    }
    store.setState(job.jobId, 'failed', { errorCode: failureCode, note });
    log('job failed', { jobId: job.jobId.toString(), errorCode: failureCode, reason: note });
  }

  /** Does an accepted job: input → model → output → delivery (or a failure report). */
  async function work(job: WatchedJob, signal: AbortSignal) {
    const onChain = await getJob(client, { jobId: job.jobId });
    if (onChain.status !== 'Accepted' || !isAddressEqual(onChain.provider, me)) return void reconcile(job, onChain);
    if ((await chainNow()) > onChain.deadline) return fail(job, jobFailureCodes.deadlinePassed, 'deadline passed before delivery');
    const model = models.get(onChain.modelId.toLowerCase());
    if (!model) return fail(job, jobFailureCodes.unsupported, 'model no longer served');

    let inputBytes = payloads.get(onChain.inputHash);
    if (!inputBytes) {
      try {
        inputBytes = await fetchPayload({
          url: job.inputURI,
          expectedHash: onChain.inputHash,
          maxBytes: maxPayloadBytes,
          signal: AbortSignal.any([signal, AbortSignal.timeout(init.fetchTimeoutMs ?? 30_000)]),
        });
      } catch (err) {
        if (signal.aborted) return; // shutting down: stays accepted, resumed at the next start
        const code = errorCode(err);
        if (code === 'PayloadTooLarge') return fail(job, jobFailureCodes.inputTooLarge, errorMessage(err));
        if (code === 'PayloadHashMismatch') return fail(job, jobFailureCodes.inputHashMismatch, errorMessage(err));
        return fail(job, jobFailureCodes.inputUnavailable, errorMessage(err));
      }
      // Kept so the job can be re-executed by an audit (and re-run after a restart without a download).
      payloads.put(inputBytes);
    }

    let output: unknown;
    try {
      const { input, params } = decodeJobInput(inputBytes);
      output = await model.run(input, params, { signal });
    } catch (err) {
      if (signal.aborted) return;
      const badInput = errorCode(err) === 'InvalidJobInput' || (err as { statusCode?: number }).statusCode === 400;
      return fail(job, badInput ? jobFailureCodes.unsupported : jobFailureCodes.modelError, errorMessage(err));
    }
    let outputHash: Hex;
    try {
      outputHash = payloads.put(encodeJobOutput(output));
    } catch (err) {
      return fail(job, jobFailureCodes.modelError, errorMessage(err));
    }
    const receipt = await signJobReceipt(client, { jobId: job.jobId, modelId: onChain.modelId, inputHash: onChain.inputHash, outputHash });
    try {
      await deliverJob(client, { jobId: job.jobId, outputHash, receipt });
    } catch (err) {
      const code = errorCode(err);
      if (code === 'JobMarketDeadlinePassed') return fail(job, jobFailureCodes.deadlinePassed, 'deadline passed while running');
      if (code === 'JobMarketInvalidStatus') return void reconcile(job, await getJob(client, { jobId: job.jobId }));
      throw err; // transient: still accepted, tried again next pass (the model is deterministic)
    }
    const delivered = await getJob(client, { jobId: job.jobId });
    store.setState(job.jobId, 'delivered', { outputHash, deliveredAt: delivered.deliveredAt });
    log('job delivered', { jobId: job.jobId.toString(), outputHash });
  }

  /** Finalizes deliveries whose challenge window has passed; returns how many it paid out. */
  async function finalizeDue(now: bigint): Promise<number> {
    let finalized = 0;
    for (const job of store.list(['delivered'])) {
      if (job.deliveredAt === undefined || job.deliveredAt + challengeWindow > now) continue;
      try {
        await finalizeJob(client, { jobId: job.jobId });
      } catch (err) {
        const code = errorCode(err);
        if (code === 'JobMarketChallengeWindowOpen') continue; // the next block is not late enough yet
        if (code === 'JobMarketInvalidStatus') {
          reconcile(job, await getJob(client, { jobId: job.jobId })); // someone else finalized it
          continue;
        }
        throw err;
      }
      store.setState(job.jobId, 'finalized', { note: 'paid out' });
      log('job finalized', { jobId: job.jobId.toString() });
      finalized++;
    }
    return finalized;
  }

  /** One pass: new jobs, accepted work, due payouts. Errors on one job do not stop the others. */
  async function pass(signal: AbortSignal) {
    await readEvents(signal);
    const now = await chainNow();
    for (const job of store.list(['open'])) {
      if (signal.aborted) return;
      await decide(job, now).catch((err: unknown) => log('job not accepted, will retry', { jobId: job.jobId.toString(), error: errorMessage(err) }));
    }
    for (const job of store.list(['accepted'])) {
      if (signal.aborted) return;
      await work(job, signal).catch((err: unknown) => log('job work failed, will retry', { jobId: job.jobId.toString(), error: errorMessage(err) }));
    }
    if (signal.aborted) return;
    const finalized = await finalizeDue(await chainNow());
    if (finalized > 0 && (init.withdraw ?? true)) {
      const credit = await getCredit(client, { account: me, from: 'jobMarket' });
      if (credit > 0n) {
        await withdrawCredit(client, { from: 'jobMarket' });
        log('job credit withdrawn', { amount: credit.toString() });
      }
    }
  }

  /** Runs passes one at a time, so two never act on the same job. */
  const poll = () => (running = running.catch(() => {}).then(() => pass(controller.signal)));

  return {
    /** The job state database (read it to see what the watcher did). */
    store,
    /** Runs one pass now (after any pass in progress) and resolves when it is done. */
    poll,
    /** Starts polling every `pollIntervalMs`; the first pass starts at once. */
    async start(): Promise<void> {
      if (loop) return;
      if (controller.signal.aborted) controller = new AbortController();
      const signal = controller.signal;
      loop = (async () => {
        while (!signal.aborted) {
          await poll().catch((err: unknown) => log('job watcher pass failed, will retry', { error: errorMessage(err) }));
          await sleep(pollIntervalMs, undefined, { signal }).catch(() => {});
        }
      })();
    },
    /**
     * Stops at once: a model run or download in progress is aborted and its job stays `accepted`,
     * to be resumed by the next start. Closes the store if the watcher opened it.
     */
    async stop(): Promise<void> {
      controller.abort(new AgoraError('Stopped', 'The job watcher is stopping.'));
      await loop;
      await running.catch(() => {});
      loop = undefined;
      if (ownsStore) store.close();
    },
  };
}

export type JobWatcher = ReturnType<typeof createJobWatcher>;
