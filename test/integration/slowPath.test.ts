// The slow path end to end on a real EVM node with the real digit classifier: a buyer serves the
// input, escrows, a provider's job watcher accepts, runs the ONNX model and delivers by hash; the
// buyer fetches and verifies the output. Bad input is failed and refunded; a provider that dies
// after accepting costs the buyer nothing once the deadline passes; a restart resumes a job.
import { mkdtempSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Address, Hex } from 'viem';
import { getJob, getModel, getTokenBalance, openJob, registerModel, withdrawCredit, type GetJobReturnType } from '@agora/sdk';
import {
  buildDigitsModel,
  createDigitsServedModel,
  createJobWatcher,
  createPayloadStore,
  encodeJobInput,
  getDevAccount,
  jobFailureCodes,
  loadDigitsDataset,
  payloadPath,
  registerPayloadRoutes,
  renderDigitPng,
  runJob,
  settleJob,
  sha256Hex,
  type JobWatcher,
  type PayloadStore,
  type ServedModel,
} from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { makeProvider } from '../support/market.ts';

const PRICE = 2_000n;
const MAX_PRICE = 3n * PRICE;
/** The providers' download limit: a digit PNG fits many times over. */
const MAX_PAYLOAD = 64 * 1024;

type TestProvider = { role: 'provider1' | 'provider2'; address: Address; payloads: PayloadStore; app: FastifyInstance; dbPath: string };

let devnet: TestDevnet;
let dir: string;
let digits: ServedModel & { close(): Promise<void> };
let modelId: Hex;
let p1: TestProvider;
let p2: TestProvider;
let watcher1: JobWatcher;
/** Held-out test images the model classifies correctly in-process, one per digit. */
const samples: { png: Buffer; label: number }[] = [];
/** Serves whatever a test puts at a path: inputs that lie about their hash, are too big, or are missing. */
let raw: Server;
let rawUrl: string;
const served = new Map<string, Buffer>();

const balance = (account: Address) => getTokenBalance(devnet.as('buyer1'), { account });
const digitInput = (png: Buffer) => ({ image: png.toString('base64') });

/** A provider's payload endpoint (where buyers fetch outputs), registered and staked on-chain. */
async function startProvider(role: TestProvider['role']): Promise<TestProvider> {
  const payloads = createPayloadStore({ dir: join(dir, role, 'payloads'), maxBytes: MAX_PAYLOAD });
  const app = Fastify();
  registerPayloadRoutes(app, payloads);
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  await makeProvider(devnet, role, { endpoint, modelIds: [modelId], price: PRICE });
  return { role, address: getDevAccount(role).account.address, payloads, app, dbPath: join(dir, role, 'jobs.db') };
}

const watch = (provider: TestProvider, extra: { log?: (event: string, fields: Record<string, unknown>) => void } = {}) =>
  createJobWatcher({
    client: devnet.as(provider.role),
    models: [digits],
    payloads: provider.payloads,
    store: { path: provider.dbPath },
    pollIntervalMs: 100,
    maxPayloadBytes: MAX_PAYLOAD,
    minTimeLeftSeconds: 10,
    ...extra,
  });

/** A watcher that stops (as if the machine died) right after it accepted a job. */
function dyingWatcher(provider: TestProvider) {
  let watcher!: JobWatcher;
  const died = new Promise<void>((resolve) => {
    watcher = watch(provider, { log: (event) => void (event === 'job accepted' && watcher.stop().then(resolve)) });
  });
  return { watcher, died };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-slow-path-'));
  devnet = await startTestDevnet();
  const built = await buildDigitsModel(join(dir, 'digits.onnx'), { log: () => {} });
  digits = await createDigitsServedModel({ path: built.path, pricePerCall: PRICE });
  modelId = digits.descriptor.modelId;
  await registerModel(devnet.as('deployer'), digits.descriptor);
  p1 = await startProvider('provider1');
  p2 = await startProvider('provider2');

  const { test } = loadDigitsDataset({ testCount: 100 });
  for (let i = 0; i < 100 && samples.length < 4; i++) {
    const png = renderDigitPng(test.images.subarray(i * 784, (i + 1) * 784), { scale: 2 });
    const { digit } = (await digits.run(digitInput(png), {}, { signal: new AbortController().signal })) as { digit: number };
    if (digit === test.labels[i] && !samples.some((s) => s.label === digit)) samples.push({ png, label: digit });
  }

  raw = createServer((request, response) => {
    const bytes = served.get(request.url ?? '');
    response.writeHead(bytes ? 200 : 404).end(bytes);
  });
  raw.listen(0, '127.0.0.1');
  await once(raw, 'listening');
  rawUrl = `http://127.0.0.1:${(raw.address() as { port: number }).port}`;

  watcher1 = watch(p1);
  await watcher1.start();
}, 90_000);

afterAll(async () => {
  await watcher1?.stop();
  await p1?.app.close();
  await p2?.app.close();
  raw?.close();
  await digits?.close();
  await devnet?.stop();
});

describe('slow path (JobMarket) with the digit classifier', () => {
  it('returns the right digit for test images, and the buyer pays exactly the provider price from escrow', async () => {
    expect(samples.length).toBe(4);
    const buyer = getDevAccount('buyer1').account.address;
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(p1.address);
    const jobIds: bigint[] = [];
    for (const sample of samples) {
      const steps: string[] = [];
      // Naming the provider fixes the price at its offer when the job opens (issue 9, finding 7).
      const result = await runJob(devnet.as('buyer1'), {
        modelId,
        input: digitInput(sample.png),
        provider: p1.address,
        maxPrice: MAX_PRICE,
        deadlineSeconds: 300n,
        pollIntervalMs: 50,
        onProgress: (p) => steps.push(p.type),
      });
      expect(result).toMatchObject({ status: 'Delivered', provider: p1.address, price: PRICE, refund: MAX_PRICE - PRICE });
      expect((result.output as { digit: number }).digit).toBe(sample.label);
      expect(steps).toEqual(['serving', 'opened', 'accepted', 'delivered', 'fetched', 'verified']);
      // The provider keeps the output under the delivered hash, and the input it ran on.
      expect(sha256Hex(p1.payloads.get(result.outputHash!)!)).toBe(result.outputHash);
      expect(p1.payloads.has((await getJob(devnet.as('buyer1'), { jobId: result.jobId })).inputHash)).toBe(true);
      jobIds.push(result.jobId);
    }
    const n = BigInt(samples.length);
    // During the challenge window the whole escrow is held.
    expect(await balance(buyer)).toBe(buyerBefore - n * MAX_PRICE);

    await devnet.increaseTime(devnet.deployment.parameters.challengeWindow);
    await watcher1.poll(); // the provider finalizes its deliveries and withdraws its share
    for (const jobId of jobIds) expect((await getJob(devnet.as('buyer1'), { jobId })).status).toBe('Finalized');
    const { withdrawn } = await settleJob(devnet.as('buyer1'), { jobId: jobIds[0]! }); // the unused escrow
    expect(withdrawn).toBe(n * (MAX_PRICE - PRICE));
    expect(await balance(buyer)).toBe(buyerBefore - n * PRICE);

    const { royaltyBps } = await getModel(devnet.as('buyer1'), { modelId });
    const share = PRICE - (PRICE * BigInt(devnet.deployment.parameters.protocolFeeBps)) / 10_000n - (PRICE * BigInt(royaltyBps)) / 10_000n;
    expect(await balance(p1.address)).toBe(providerBefore + n * share);
  }, 120_000);

  it('fails jobs with bad input (hash mismatch, too large, missing, not a digit) and refunds the buyer in full', async () => {
    const buyer = getDevAccount('buyer2').account.address;
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(p1.address);
    // Bytes no provider has seen (a provider that already holds the bytes of a hash needs no download).
    const good = encodeJobInput({ input: digitInput(samples[0]!.png), params: { note: 'never served' } });
    const cases = [
      { name: 'mismatch', hash: sha256Hex(good), bytes: encodeJobInput({ input: digitInput(samples[1]!.png) }), code: jobFailureCodes.inputHashMismatch },
      { name: 'large', bytes: encodeJobInput({ input: { image: 'A'.repeat(2 * MAX_PAYLOAD) } }), code: jobFailureCodes.inputTooLarge },
      { name: 'missing', hash: sha256Hex(Buffer.from('never served')), code: jobFailureCodes.inputUnavailable },
      { name: 'not-a-digit', bytes: encodeJobInput({ input: { pixels: [1, 2, 3] } }), code: jobFailureCodes.unsupported },
    ];
    const deadline = (await devnet.now()) + 300n;
    const opened: { jobId: bigint; code: number }[] = [];
    for (const c of cases) {
      const inputHash = c.hash ?? sha256Hex(c.bytes!);
      if (c.bytes) served.set(payloadPath(inputHash), c.bytes);
      const { jobId } = await openJob(devnet.as('buyer2'), { modelId, inputHash, inputURI: `${rawUrl}${payloadPath(inputHash)}`, maxPrice: MAX_PRICE, deadline });
      opened.push({ jobId, code: c.code });
    }
    for (const { jobId, code } of opened) {
      let job: GetJobReturnType | undefined;
      for (let pass = 0; pass < 20 && job?.status !== 'Failed'; pass++) {
        await watcher1.poll();
        job = await getJob(devnet.as('buyer2'), { jobId });
      }
      expect([job!.status, job!.errorCode]).toEqual(['Failed', code]);
    }
    const { amount } = await withdrawCredit(devnet.as('buyer2'), { from: 'jobMarket' });
    expect(amount).toBe(BigInt(cases.length) * MAX_PRICE);
    expect(await balance(buyer)).toBe(buyerBefore);
    expect(await balance(p1.address)).toBe(providerBefore);
  });

  it('lets the buyer reclaim the whole escrow after the deadline when the provider accepted and died', async () => {
    const buyer = getDevAccount('buyer3').account.address;
    const buyerBefore = await balance(buyer);
    const { watcher, died } = dyingWatcher(p2);
    await watcher.start();
    let jobId: bigint | undefined;
    const running = runJob(devnet.as('buyer3'), {
      modelId,
      input: digitInput(samples[0]!.png),
      provider: p2.address,
      maxPrice: MAX_PRICE,
      deadlineSeconds: 120n,
      pollIntervalMs: 50,
      onProgress: (p) => void (p.type === 'opened' && (jobId = p.jobId)),
    });
    await died;
    expect((await getJob(devnet.as('buyer3'), { jobId: jobId! })).status).toBe('Accepted');
    expect(await balance(buyer)).toBe(buyerBefore - MAX_PRICE);

    await devnet.increaseTime(121);
    const result = await running;
    expect(result).toMatchObject({ jobId, status: 'Reclaimed', price: 0n, refund: MAX_PRICE });
    expect((await getJob(devnet.as('buyer3'), { jobId: jobId! })).status).toBe('Reclaimed');
    expect(await balance(buyer)).toBe(buyerBefore);

    // The provider comes back: it finds the job reclaimed and leaves it alone.
    const again = watch(p2);
    await again.poll();
    expect(again.store.get(jobId!)?.state).toBe('closed');
    await again.stop();
  });

  it('resumes a job it accepted before a crash and delivers it after the restart', async () => {
    const { watcher, died } = dyingWatcher(p2);
    await watcher.start();
    let jobId: bigint | undefined;
    const running = runJob(devnet.as('buyer4'), {
      modelId,
      input: digitInput(samples[2]!.png),
      provider: p2.address,
      maxPrice: MAX_PRICE,
      deadlineSeconds: 300n,
      pollIntervalMs: 50,
      onProgress: (p) => void (p.type === 'opened' && (jobId = p.jobId)),
    });
    await died;
    expect((await getJob(devnet.as('buyer4'), { jobId: jobId! })).status).toBe('Accepted'); // not delivered before the crash
    const again = watch(p2);
    await again.start();
    try {
      const result = await running;
      expect(result).toMatchObject({ status: 'Delivered', provider: p2.address, price: PRICE });
      expect((result.output as { digit: number }).digit).toBe(samples[2]!.label);
      expect(again.store.get(result.jobId)?.state).toBe('delivered');
    } finally {
      await again.stop();
    }
  });
});
