import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { isAddressEqual, type Address, type Hex } from 'viem';
import { getBlock, getContractEvents } from 'viem/actions';
import {
  AgoraError,
  finalizeJob,
  getCredit,
  getJob,
  getOffersForModel,
  getProvider,
  jobMarketAbi,
  openJob,
  reclaimJob,
  recoverJobReceiptSigner,
  withdrawCredit,
  type AgoraClient,
  type AgoraWalletClient,
  type GetJobReturnType,
} from '@agora/sdk';
import { fetchPayload } from '../payloads/fetchPayload.ts';
import { decodeJobOutput, encodeJobInput } from '../payloads/jobPayload.ts';
import { registerPayloadRoutes } from '../payloads/payloadRoutes.ts';
import { DEFAULT_MAX_PAYLOAD_BYTES, createPayloadStore, payloadPath } from '../payloads/payloadStore.ts';

/** What {@link runJob} reports as the job moves on. */
export type RunJobProgress =
  | { type: 'serving'; inputURI: string; inputHash: Hex }
  | { type: 'opened'; jobId: bigint; maxPrice: bigint; price: bigint; deadline: bigint }
  | { type: 'accepted'; provider: Address; price: bigint }
  | { type: 'delivered'; outputHash: Hex }
  | { type: 'fetched'; url: string; bytes: number }
  | { type: 'verified'; signer: Address }
  | { type: 'failed'; errorCode: number }
  | { type: 'reclaimed'; amount: bigint }
  | { type: 'finalized'; price: bigint; refund: bigint }
  | { type: 'withdrawn'; amount: bigint };

export type RunJobParameters = {
  modelId: Hex;
  /** The model input (for the digit classifier: `{ image: <base64 PNG> }`). */
  input: unknown;
  params?: Record<string, unknown>;
  /**
   * Escrow; default: `provider`'s offer, else the highest live offer for the model, so any of
   * them can take it. The price is fixed at open: `provider`'s offer then (at most this), or, for a
   * job any provider may take, this amount, whoever takes it.
   */
  maxPrice?: bigint;
  /** Only this provider may accept. */
  provider?: Address;
  /** Seconds from now until the job may be reclaimed (default 300). */
  deadlineSeconds?: bigint;
  /** Where the input is served from (default 127.0.0.1, ephemeral port). */
  serveHost?: string;
  servePort?: number;
  /** Base URL providers reach the input server at, when it is not `http://serveHost:port`. */
  publicUrl?: string;
  /** Largest output accepted, bytes (default 8 MiB). */
  maxOutputBytes?: number;
  /** Wait for the challenge window, finalize, and withdraw the unused escrow (default false). */
  waitForPayout?: boolean;
  /** Withdraw JobMarket credit (refunds) when the job fails or is paid out (default true). */
  withdraw?: boolean;
  pollIntervalMs?: number;
  onProgress?: (progress: RunJobProgress) => void;
  signal?: AbortSignal;
};

export type RunJobReturnType = {
  jobId: bigint;
  /** How it ended for the buyer. */
  status: 'Delivered' | 'Finalized' | 'Failed' | 'Reclaimed' | 'Cancelled';
  maxPrice: bigint;
  provider?: Address;
  /** What the provider is (or was) paid: the price fixed at open; 0 unless delivered. */
  price: bigint;
  /** Escrow that comes (or came) back to the buyer. */
  refund: bigint;
  output?: unknown;
  outputHash?: Hex;
  /** The provider's EIP-712 receipt over (jobId, modelId, inputHash, outputHash). */
  receipt?: Hex;
  errorCode?: number;
  /** Chain time from which the delivery can be finalized (paid out). */
  payoutAt?: bigint;
};

/** Chain time, seconds: the next block is at least as late as both the newest block and the clock. */
async function chainNow(client: AgoraClient): Promise<bigint> {
  const block = await getBlock(client, { blockTag: 'latest' });
  const wall = BigInt(Math.floor(Date.now() / 1000));
  return block.timestamp > wall ? block.timestamp : wall;
}

/**
 * Buys one job on the slow path, from the buyer's side: serves the input payload over HTTP, opens
 * the job with escrow, waits for a provider to accept and deliver, downloads the output by hash
 * from the provider's registered endpoint, checks its sha-256 and the receipt signature, and
 * returns the output. If nobody delivers by the deadline, it reclaims the escrow; if the provider
 * reports a failure, the refund is withdrawn. Money always ends with the buyer or, for a
 * verified delivery, with the provider.
 *
 * @throws {AgoraError} `NoOffer` when no provider offers the model and no max price is given;
 * `PayloadHashMismatch` / `InvalidJobReceipt` when a delivery does not check out.
 *
 * @example
 * const result = await runJob(client, { modelId, input: { image }, onProgress: console.log })
 * console.log(result.output)
 */
export async function runJob(client: AgoraWalletClient, parameters: RunJobParameters): Promise<RunJobReturnType> {
  const { modelId, signal } = parameters;
  const progress = parameters.onProgress ?? (() => {});
  const pollIntervalMs = parameters.pollIntervalMs ?? 500;
  const withdraw = parameters.withdraw ?? true;
  const maxPrice = parameters.maxPrice ?? (await defaultMaxPrice(client, modelId, parameters.provider));

  const dir = mkdtempSync(join(tmpdir(), 'agora-job-'));
  const payloads = createPayloadStore({ dir });
  const app = Fastify({ logger: false });
  registerPayloadRoutes(app, payloads);
  try {
    const inputHash = payloads.put(encodeJobInput({ input: parameters.input, ...(parameters.params ? { params: parameters.params } : {}) }));
    const listening = await app.listen({ host: parameters.serveHost ?? '127.0.0.1', port: parameters.servePort ?? 0 });
    const inputURI = `${(parameters.publicUrl ?? listening).replace(/\/+$/, '')}${payloadPath(inputHash)}`;
    progress({ type: 'serving', inputURI, inputHash });

    const deadline = (await chainNow(client)) + (parameters.deadlineSeconds ?? 300n);
    const { jobId, price } = await openJob(client, {
      modelId,
      inputHash,
      inputURI,
      maxPrice,
      deadline,
      ...(parameters.provider ? { provider: parameters.provider } : {}),
    });
    progress({ type: 'opened', jobId, maxPrice, price, deadline });

    let acceptedBy: Address | undefined;
    let job: GetJobReturnType;
    for (;;) {
      signal?.throwIfAborted();
      job = await getJob(client, { jobId });
      if (!acceptedBy && ['Accepted', 'Delivered', 'Failed', 'Finalized'].includes(job.status)) {
        acceptedBy = job.provider;
        progress({ type: 'accepted', provider: job.provider, price: job.price });
      }
      if (job.status === 'Delivered' || job.status === 'Finalized') break;
      if (job.status === 'Failed') {
        progress({ type: 'failed', errorCode: job.errorCode });
        if (withdraw) await withdrawAll(client, progress);
        return { jobId, status: 'Failed', maxPrice, provider: job.provider, price: 0n, refund: maxPrice, errorCode: job.errorCode };
      }
      if (job.status === 'Reclaimed' || job.status === 'Cancelled') {
        return { jobId, status: job.status, maxPrice, provider: job.provider, price: 0n, refund: maxPrice };
      }
      if ((await chainNow(client)) > job.deadline) {
        try {
          await reclaimJob(client, { jobId });
          progress({ type: 'reclaimed', amount: maxPrice });
          return { jobId, status: 'Reclaimed', maxPrice, provider: job.provider, price: 0n, refund: maxPrice };
        } catch (err) {
          // The newest block is not past the deadline yet, or the provider delivered at the last moment.
          const code = err instanceof AgoraError ? err.code : undefined;
          if (code !== 'JobMarketDeadlineNotPassed' && code !== 'JobMarketInvalidStatus') throw err;
        }
      }
      await sleep(pollIntervalMs, undefined, signal ? { signal } : {});
    }
    progress({ type: 'delivered', outputHash: job.outputHash });

    const delivered = await fetchDelivery(client, job, parameters.maxOutputBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, progress, signal);
    const payoutAt = job.deliveredAt + client.deployment.parameters.challengeWindow;
    const result: RunJobReturnType = {
      jobId,
      status: 'Delivered',
      maxPrice,
      provider: job.provider,
      price: job.price,
      refund: maxPrice - job.price,
      ...delivered,
      outputHash: job.outputHash,
      payoutAt,
    };
    if (!parameters.waitForPayout) return result;
    await settleJob(client, { jobId, withdraw, signal, pollIntervalMs, onProgress: progress });
    return { ...result, status: 'Finalized' };
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Downloads a delivered job's output from its provider and checks hash and receipt. */
async function fetchDelivery(
  client: AgoraClient,
  job: GetJobReturnType,
  maxBytes: number,
  progress: (p: RunJobProgress) => void,
  signal: AbortSignal | undefined,
): Promise<{ output: unknown; receipt: Hex }> {
  const { endpoint } = await getProvider(client, { provider: job.provider });
  const url = `${endpoint.replace(/\/+$/, '')}${payloadPath(job.outputHash)}`;
  const bytes = await fetchPayload({ url, expectedHash: job.outputHash, maxBytes, ...(signal ? { signal } : {}) });
  progress({ type: 'fetched', url, bytes: bytes.byteLength });
  const receipt = await getJobReceipt(client, job.jobId);
  const signer = await recoverJobReceiptSigner(client, {
    jobId: job.jobId,
    modelId: job.modelId,
    inputHash: job.inputHash,
    outputHash: job.outputHash,
    signature: receipt,
  });
  if (!isAddressEqual(signer, job.provider)) {
    throw new AgoraError('InvalidJobReceipt', `The receipt of job ${job.jobId} was signed by ${signer}, not by its provider ${job.provider}.`, {
      fix: 'the delivery cannot be trusted; dispute it before the challenge window closes.',
    });
  }
  progress({ type: 'verified', signer });
  return { output: decodeJobOutput(bytes).output, receipt };
}

/**
 * The receipt a provider delivered a job with (from its JobDelivered event).
 * @throws {AgoraError} `JobNotDelivered` when there is no delivery event for the job.
 */
export async function getJobReceipt(client: AgoraClient, jobId: bigint): Promise<Hex> {
  const events = await getContractEvents(client, {
    address: client.deployment.contracts.jobMarket,
    abi: jobMarketAbi,
    eventName: 'JobDelivered',
    args: { jobId },
    fromBlock: client.deployment.startBlock,
    toBlock: 'latest',
    strict: true,
  });
  const event = events.at(-1);
  if (!event) throw new AgoraError('JobNotDelivered', `Job ${jobId} has no delivery on-chain.`);
  return event.args.receipt;
}

/**
 * The escrow to put up when the buyer names none: the named provider's offer (which the job then
 * pays), or the highest live offer, so that any provider serving the model can take the job (a job
 * open to any provider pays its whole escrow: name a provider or pass maxPrice to pay less).
 */
async function defaultMaxPrice(client: AgoraClient, modelId: Hex, provider: Address | undefined): Promise<bigint> {
  const offers = await getOffersForModel(client, { modelId });
  const candidates = provider ? offers.filter((o) => isAddressEqual(o.provider, provider)) : offers;
  if (candidates.length === 0) {
    throw new AgoraError('NoOffer', `No active provider${provider ? ` ${provider}` : ''} offers model ${modelId}.`, {
      fix: 'pick a model that providers serve (ModelRegistry / `agora models`), or pass --max-price to open the job anyway.',
    });
  }
  return candidates.reduce((max, o) => (o.pricePerUnit > max ? o.pricePerUnit : max), 0n);
}

async function withdrawAll(client: AgoraWalletClient, progress: (p: RunJobProgress) => void) {
  const credit = await getCredit(client, { account: client.account.address, from: 'jobMarket' });
  if (credit === 0n) return 0n;
  const { amount } = await withdrawCredit(client, { from: 'jobMarket' });
  progress({ type: 'withdrawn', amount });
  return amount;
}

export type SettleJobParameters = {
  jobId: bigint;
  /** Wait for the challenge window to pass instead of failing when it is still open (default true). */
  wait?: boolean;
  withdraw?: boolean;
  pollIntervalMs?: number;
  onProgress?: (progress: RunJobProgress) => void;
  signal?: AbortSignal;
};

/**
 * Pays out a delivered job once its challenge window has passed (anyone may; the provider's node
 * usually does it) and withdraws the caller's JobMarket credit, which holds the unused escrow.
 * A job that is already finalized is only withdrawn from.
 *
 * @example
 * await settleJob(client, { jobId })
 */
export async function settleJob(client: AgoraWalletClient, parameters: SettleJobParameters): Promise<{ job: GetJobReturnType; withdrawn: bigint }> {
  const { jobId, signal } = parameters;
  const progress = parameters.onProgress ?? (() => {});
  let job = await getJob(client, { jobId });
  if (job.status === 'Delivered') {
    const endsAt = job.deliveredAt + client.deployment.parameters.challengeWindow;
    while ((parameters.wait ?? true) && (await chainNow(client)) < endsAt) {
      await sleep(parameters.pollIntervalMs ?? 1_000, undefined, signal ? { signal } : {});
    }
    try {
      await finalizeJob(client, { jobId });
      progress({ type: 'finalized', price: job.price, refund: job.maxPrice - job.price });
    } catch (err) {
      // The provider finalized it first: fine, the credit is there either way.
      if (!(err instanceof AgoraError && err.code === 'JobMarketInvalidStatus')) throw err;
    }
    job = await getJob(client, { jobId });
  }
  const withdrawn = (parameters.withdraw ?? true) ? await withdrawAll(client, progress) : 0n;
  return { job, withdrawn };
}
