// npm run bench:overhead — what calling a model over the network costs compared with calling it
// in-process, all measured in this one run on a real chain (anvil) with real models:
//   direct    the model loaded here with the provider's own factory (same threads), called in-process;
//   provider  straight to the provider daemon over HTTP with a voucher per call (one hop, the
//             provider's payment path; the buyer signs vouchers and checks receipts as the gateway does);
//   gateway   the OpenAI-compatible API: client → gateway → provider (two hops, both payment paths).
// For the digit classifier (onnxruntime) and the tiny GGUF (llama.cpp): p50/p95/mean latency of
// sequential calls, throughput at a fixed concurrency, process CPU per call, then microbenchmarks
// of the payment work each call does (voucher and receipt signatures, canonical-JSON hashes,
// fsynced SQLite commits).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { isAddressEqual, keccak256, toHex, type Hex, type LocalAccount } from 'viem';
import {
  connectAgora,
  hashCanonicalJson,
  openChannel,
  recoverInferenceReceiptSigner,
  signInferenceReceipt,
  signVoucher,
  verifyInferenceReceipt,
  verifyVoucher,
  type AgoraWalletClient,
  type SignedVoucher,
} from '@agora/sdk';
import {
  buildDigitsModel,
  callProvider,
  createDigitsServedModel,
  createLlamaServedModel,
  gatewayConfigSchema,
  getDevAccount,
  hashApiKey,
  loadDigitsDataset,
  nodeConfigSchema,
  openGatewayStore,
  renderDigitPng,
  startDevnet,
  startGateway,
  startNode,
  writeTinyLlamaGguf,
  type DevRole,
} from '@agora/node';
import { describeMachine, measureCpu, summarize, type Summary } from './stats.ts';

/** Calls in flight at once in the throughput runs; the gateway may open as many channels. */
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 4);
/** Alternating rounds: each leg runs a share of its calls per round, so load drift hits all legs alike. */
const ROUNDS = 4;
const DIGIT_CALLS = Number(process.env.DIGIT_CALLS ?? 400);
const LLAMA_CALLS = Number(process.env.LLAMA_CALLS ?? 100);
const MAX_TOKENS = 32;
const MICRO_CALLS = 500;
const PRICES = { digits: 1_000n, gguf: 2_000n };
const API_KEY = 'sk-bench-overhead-0123456789abcdef';
const GOAL = { latency: 1.05, throughput: 0.95 };
/** Built models survive between runs (training the digit classifier takes ~20 s). */
const MODEL_CACHE = join(tmpdir(), 'agora-bench-models');

type LegName = 'direct' | 'provider' | 'gateway';
/** One call of a leg: call `i` of the run on worker `worker` (0 when sequential); returns a comparable output. */
type Call = (i: number, worker: number) => Promise<unknown>;
type LegResult = { latencies: number[]; sequentialCpuUs: number; throughputCalls: number; throughputWallMs: number; throughputCpuUs: number };
type ModelResult = { model: string; note: string; sequentialCalls: number; throughputCalls: number; legs: Map<LegName, LegResult> };

const LEG_LABEL: Record<LegName, string> = {
  direct: 'direct, in-process',
  provider: 'provider, 1 HTTP hop + vouchers',
  gateway: 'gateway, 2 HTTP hops + vouchers',
};

const log = (line: string) => console.log(`· ${line}`);
const never = new AbortController().signal;

console.log(`Machine: ${describeMachine()}`);
console.log(`Date: ${new Date().toISOString()}`);
// Other work on the machine inflates every leg; the alternating rounds keep the ratios fair, not the absolute figures.
const loadLine = () => loadavg().map((x) => x.toFixed(1)).join(' / ');
console.log(`Load average (1/5/15 min) at start: ${loadLine()}\n`);

const dir = mkdtempSync(join(tmpdir(), 'agora-bench-overhead-'));
// What to stop at the end or when set-up fails halfway, newest first.
const cleanup: (() => Promise<unknown> | unknown)[] = [() => rmSync(dir, { recursive: true, force: true })];
try {
  mkdirSync(MODEL_CACHE, { recursive: true });
  const digitsPath = (await buildDigitsModel(join(MODEL_CACHE, 'digits-mlp.onnx'), { log: () => {} })).path;
  const ggufPath = await writeTinyLlamaGguf(join(MODEL_CACHE, 'tiny-llama.gguf'));
  log('models ready');

  const devnet = await startDevnet({ stateDir: join(dir, 'devnet') });
  cleanup.push(() => devnet.stop());
  log(`devnet at ${devnet.rpcUrl}`);
  const domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };
  const walletOf = async (role: DevRole) =>
    (await connectAgora({ rpcUrl: devnet.rpcUrl, deployment: devnet.deployment, account: getDevAccount(role).account, pollingInterval: 50 })) as AgoraWalletClient & {
      account: LocalAccount;
    };

  const node = await startNode(
    nodeConfigSchema.parse({
      rpcUrl: devnet.rpcUrl,
      deploymentFile: devnet.deploymentFile,
      stateDir: join(dir, 'provider'),
      logLevel: 'silent',
      provider: {
        port: 0,
        // No redeem transactions while measuring; stop() redeems at the end.
        redeemThreshold: '1000000000000',
        // The job watcher polls the chain every 2 s: background work that is not part of a call.
        jobs: { enabled: false },
        models: [
          { kind: 'digits', path: digitsPath, name: 'agora/digits-mlp', price: PRICES.digits.toString() },
          { kind: 'gguf', path: ggufPath, name: 'agora/tiny-llama', price: PRICES.gguf.toString() },
        ],
      },
    }),
    { privateKey: getDevAccount('provider1').privateKey },
  );
  cleanup.push(() => node.stop());
  log(`provider at ${node.url}`);

  const gateway = await startGateway({
    client: await walletOf('buyer1'),
    stateDir: join(dir, 'gateway'),
    log: pino({ level: 'silent' }),
    config: gatewayConfigSchema.parse({
      port: 0,
      // Large enough that no top-up happens while measuring.
      channelDeposit: '100000000',
      maxChannelsPerProvider: CONCURRENCY,
      apiKeys: [{ name: 'bench', key: API_KEY, spendLimit: '1000000000000000' }],
    }),
  });
  cleanup.push(() => gateway.stop());
  log(`gateway at ${gateway.url}`);

  // The baseline: the same files through the same factories the provider uses (1 thread each).
  const direct = {
    digits: await createDigitsServedModel({ path: digitsPath, pricePerCall: PRICES.digits }),
    llama: await createLlamaServedModel({ path: ggufPath, pricePerCall: PRICES.gguf }),
  };
  cleanup.push(() => direct.digits.close(), () => direct.llama.close());
  const modelIdOf = (name: string) => node.models.find((m) => m.descriptor.name === name)!.descriptor.modelId;

  /**
   * A buyer calling the provider directly, as the gateway does minus its own HTTP API: one channel
   * per worker (one call in flight per channel keeps cumulative vouchers in order), a voucher per
   * call, the receipt checked against the call and the provider's address.
   */
  const buyer = await walletOf('buyer2');
  async function providerLeg(modelId: Hex, price: bigint) {
    const lanes: { channelId: Hex; cumulative: bigint }[] = [];
    for (let i = 0; i < CONCURRENCY; i++) {
      const { channelId } = await openChannel(buyer, { provider: node.address, modelId, deposit: 100_000_000n });
      lanes.push({ channelId, cumulative: 0n });
    }
    return async (input: unknown, params: Record<string, unknown>, worker: number) => {
      const lane = lanes[worker]!;
      lane.cumulative += price;
      const voucher = await signVoucher(buyer.account, domain, { channelId: lane.channelId, cumulativeAmount: lane.cumulative, requestHash: hashCanonicalJson({ modelId, input, params }) });
      const { output, receipt } = await callProvider({ url: node.url, modelId, input, params, voucher });
      const matches =
        receipt.inputHash === hashCanonicalJson(input) &&
        receipt.paramsHash === hashCanonicalJson(params) &&
        receipt.outputHash === hashCanonicalJson(output) &&
        receipt.cumulativeAmount === lane.cumulative;
      if (!matches) throw new Error(`the provider's receipt does not match call on channel ${lane.channelId}`);
      await verifyInferenceReceipt({ domain, receipt, provider: node.address });
      return output;
    };
  }

  async function postGateway(path: string, body: unknown): Promise<any> {
    const response = await fetch(`${gateway.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` },
      body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
    return response.json();
  }

  // Inputs: real held-out digits as PNGs, the same sequence on every leg.
  const { test } = loadDigitsDataset();
  const images = Array.from({ length: 100 }, (_, i) => renderDigitPng(test.images.subarray(i * 784, (i + 1) * 784)).toString('base64'));
  const digitInput = (i: number) => ({ image: images[i % images.length]! });
  const digitsModelId = modelIdOf('agora/digits-mlp');
  const digitsToProvider = await providerLeg(digitsModelId, PRICES.digits);
  const digitLegs: Record<LegName, Call> = {
    direct: async (i) => ((await direct.digits.run(digitInput(i), {}, { signal: never })) as { digit: number }).digit,
    provider: async (i, worker) => ((await digitsToProvider(digitInput(i), {}, worker)) as { digit: number }).digit,
    gateway: async (i) => (await postGateway('/v1/infer', { model: 'agora/digits-mlp', input: digitInput(i) })).output.digit,
  };

  const prompts = [
    'Tell me a story about a cat.',
    'What is the capital of France?',
    'Write a haiku about the sea.',
    'Explain payment channels in one sentence.',
    'List three colours.',
    'Hello, who are you?',
    'Why is the sky blue?',
    'Give me a name for a dog.',
  ];
  const chatInput = (i: number) => ({ messages: [{ role: 'user' as const, content: prompts[i % prompts.length]! }] });
  const chatParams = { max_tokens: MAX_TOKENS, temperature: 0 };
  const llamaModelId = modelIdOf('agora/tiny-llama');
  const llamaToProvider = await providerLeg(llamaModelId, PRICES.gguf);
  const llamaLegs: Record<LegName, Call> = {
    direct: async (i) => ((await direct.llama.run(chatInput(i), chatParams, { signal: never })) as { text: string }).text,
    provider: async (i, worker) => ((await llamaToProvider(chatInput(i), chatParams, worker)) as { text: string }).text,
    gateway: async (i) =>
      (await postGateway('/v1/chat/completions', { model: 'agora/tiny-llama', ...chatInput(i), ...chatParams })).choices[0].message.content,
  };
  log(`buyer channels open; measuring (${ROUNDS} alternating rounds per model, concurrency ${CONCURRENCY})`);

  /** Warm-up on every leg (JIT, connections, the gateway's channels), checking all legs answer alike. */
  async function warmUp(legs: Record<LegName, Call>) {
    for (let i = 0; i < 16; i++) {
      const outputs = [];
      for (const call of Object.values(legs)) outputs.push(JSON.stringify(await call(i, 0)));
      if (new Set(outputs).size !== 1) throw new Error(`legs disagree on call ${i}: ${outputs.join(' / ')}`);
    }
    for (const call of Object.values(legs)) await Promise.all(Array.from({ length: CONCURRENCY }, (_, worker) => call(worker, worker)));
  }

  async function measure(model: string, note: string, legs: Record<LegName, Call>, calls: number): Promise<ModelResult> {
    await warmUp(legs);
    const names = Object.keys(legs) as LegName[];
    const results = new Map(names.map((name): [LegName, LegResult] => [name, { latencies: [], sequentialCpuUs: 0, throughputCalls: 0, throughputWallMs: 0, throughputCpuUs: 0 }]));
    const share = Math.ceil(calls / ROUNDS);
    for (let round = 0; round < ROUNDS; round++) {
      const order = names.map((_, k) => names[(k + round) % names.length]!);
      for (const name of order) {
        const result = results.get(name)!;
        const { cpuUs } = await measureCpu(async () => {
          for (let k = 0; k < share; k++) {
            const start = performance.now();
            await legs[name](round * share + k, 0);
            result.latencies.push(performance.now() - start);
          }
        });
        result.sequentialCpuUs += cpuUs;
      }
      for (const name of order) {
        const result = results.get(name)!;
        let next = 0;
        const { cpuUs, wallMs } = await measureCpu(() =>
          Promise.all(
            Array.from({ length: CONCURRENCY }, async (_, worker) => {
              while (next < share) await legs[name](round * share + next++, worker);
            }),
          ),
        );
        result.throughputCalls += share;
        result.throughputWallMs += wallMs;
        result.throughputCpuUs += cpuUs;
      }
    }
    return { model, note, sequentialCalls: share * ROUNDS, throughputCalls: share * ROUNDS, legs: results };
  }

  const started = performance.now();
  const digits = await measure('agora/digits-mlp', 'onnxruntime, 1 thread; a 28×28 PNG per call (base64 in JSON), decoded by the model', digitLegs, DIGIT_CALLS);
  log(`digits measured (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  const llama = await measure('agora/tiny-llama', `llama.cpp, 1 thread; chat, max_tokens ${MAX_TOKENS}, temperature 0 (greedy, all ${MAX_TOKENS} tokens generated)`, llamaLegs, LLAMA_CALLS);
  log(`llama measured (${((performance.now() - started) / 1000).toFixed(0)} s)`);

  // Payment work per call, each piece alone, with the same keys and domain as above.
  async function perCall(n: number, run: (i: number) => unknown) {
    for (let i = 0; i < Math.min(n, 50); i++) await run(i); // warm-up
    const { cpuUs, wallMs } = await measureCpu(async () => {
      for (let i = 0; i < n; i++) await run(i);
    });
    return { cpuUs: cpuUs / n, wallUs: (wallMs * 1000) / n };
  }
  const buyerAccount = getDevAccount('buyer1').account;
  const providerAccount = getDevAccount('provider1').account;
  const h = (label: string) => keccak256(toHex(label));
  const channelId = h('bench channel');
  const vouchers: SignedVoucher[] = [];
  const signVoucherCost = await perCall(MICRO_CALLS, async (i) => {
    vouchers[i] = await signVoucher(buyerAccount, domain, { channelId, cumulativeAmount: BigInt(i + 1) * PRICES.digits, requestHash: h(`request ${i}`) });
  });
  const verifyVoucherCost = await perCall(MICRO_CALLS, (i) =>
    verifyVoucher({ domain, voucher: vouchers[i]!, signer: buyerAccount.address, previousCumulative: BigInt(i) * PRICES.digits, price: PRICES.digits, deposit: 10n ** 18n }),
  );
  const receiptOf = (i: number) => ({ modelId: digitsModelId, inputHash: h(`input ${i}`), paramsHash: h('{}'), outputHash: h(`output ${i}`), channelId, cumulativeAmount: BigInt(i + 1) * PRICES.digits });
  const receipts: Awaited<ReturnType<typeof signInferenceReceipt>>[] = [];
  const signReceiptCost = await perCall(MICRO_CALLS, async (i) => {
    receipts[i] = await signInferenceReceipt(providerAccount, domain, receiptOf(i));
  });
  const verifyReceiptCost = await perCall(MICRO_CALLS, (i) => verifyInferenceReceipt({ domain, receipt: receipts[i]!, provider: providerAccount.address }));
  const recoverReceiptCost = await perCall(MICRO_CALLS, async (i) => {
    if (!isAddressEqual(await recoverInferenceReceiptSigner(domain, receipts[i]!), providerAccount.address)) throw new Error('receipt signer mismatch');
  });
  // Canonical-JSON hashes of one digit call: the gateway hashes the request, then input, params
  // and output to check the receipt; the provider hashes the same four.
  const sampleOutput = await direct.digits.run(digitInput(0), {}, { signal: never });
  const hashesCost = await perCall(MICRO_CALLS, (i) => {
    for (let side = 0; side < 2; side++) {
      hashCanonicalJson({ modelId: digitsModelId, input: digitInput(i), params: {} });
      hashCanonicalJson(digitInput(i));
      hashCanonicalJson({});
      hashCanonicalJson(sampleOutput);
    }
  });
  // The gateway's store work per call, through its real store: reserve the key's spend, save the
  // channel before signing, save it again on release: three WAL commits with synchronous = FULL.
  const store = openGatewayStore({ path: join(dir, 'micro', 'gateway.db') });
  const keyHash = hashApiKey(API_KEY);
  store.upsertApiKey({ name: 'bench', keyHash, spendLimit: 10n ** 30n });
  const channel = { channelId, provider: providerAccount.address, modelId: digitsModelId, deposit: 10n ** 18n, cumulative: 0n, credit: 0n, retired: false };
  store.addChannel(channel);
  const gatewayStoreCost = await perCall(MICRO_CALLS, () => {
    store.reserveSpend(keyHash, PRICES.digits);
    channel.cumulative += PRICES.digits;
    store.saveChannel(channel);
    store.saveChannel(channel);
  });
  store.close();

  // ---- Report ------------------------------------------------------------------------------
  const ms = (x: number) => x.toFixed(2);
  const ratio = (x: number) => `${x.toFixed(2)}×`;
  const us = (x: number) => Math.round(x).toLocaleString('en-US');
  const summaries = (result: ModelResult) =>
    new Map(
      [...result.legs].map(([name, leg]): [LegName, Summary & { throughput: number; cpuPerCall: number; cpuPerCallLoaded: number }] => [
        name,
        {
          ...summarize(leg.latencies),
          throughput: (leg.throughputCalls / leg.throughputWallMs) * 1000,
          cpuPerCall: leg.sequentialCpuUs / leg.latencies.length,
          cpuPerCallLoaded: leg.throughputCpuUs / leg.throughputCalls,
        },
      ]),
    );

  console.log('\n## Latency and throughput, network vs direct\n');
  console.log(`Goal: network latency ≤ ${GOAL.latency}× direct (p50), throughput ≥ ${GOAL.throughput}× direct.\n`);
  const addedMs: { model: string; leg: LegName; p50: number; direct: number }[] = [];
  for (const result of [digits, llama]) {
    const s = summaries(result);
    const base = s.get('direct')!;
    console.log(`### ${result.model} (${result.note})`);
    console.log(`${result.sequentialCalls} sequential calls and ${result.throughputCalls} calls at concurrency ${CONCURRENCY} per leg\n`);
    console.log('| leg | p50 ms | p95 ms | mean ms | p50 × direct | p95 × direct | calls/s (c=' + CONCURRENCY + ') | calls/s × direct | CPU µs/call (seq) | CPU µs/call (c=' + CONCURRENCY + ') | goal |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const [name, leg] of s) {
      const latencyRatio = leg.p50 / base.p50;
      const throughputRatio = leg.throughput / base.throughput;
      const goal = name === 'direct' ? '—' : latencyRatio <= GOAL.latency && throughputRatio >= GOAL.throughput ? 'met' : `not met (${latencyRatio <= GOAL.latency ? '' : 'latency'}${latencyRatio > GOAL.latency && throughputRatio < GOAL.throughput ? ', ' : ''}${throughputRatio >= GOAL.throughput ? '' : 'throughput'})`;
      console.log(
        `| ${LEG_LABEL[name]} | ${ms(leg.p50)} | ${ms(leg.p95)} | ${ms(leg.mean)} | ${ratio(latencyRatio)} | ${ratio(leg.p95 / base.p95)} | ${leg.throughput.toFixed(1)} | ${ratio(throughputRatio)} | ${us(leg.cpuPerCall)} | ${us(leg.cpuPerCallLoaded)} | ${goal} |`,
      );
      if (name !== 'direct') addedMs.push({ model: result.model, leg: name, p50: leg.p50 - base.p50, direct: base.p50 });
    }
    console.log('');
  }
  console.log('Added latency per call (p50 − direct p50), and how long the model call itself would have to take for');
  console.log(`that fixed cost to fit the ${GOAL.latency}× goal (added ÷ ${(GOAL.latency - 1).toFixed(2)}):\n`);
  console.log('| model | leg | added ms (p50) | goal met from a model call of |');
  console.log('|---|---|---:|---:|');
  for (const row of addedMs) console.log(`| ${row.model} | ${LEG_LABEL[row.leg]} | ${ms(row.p50)} | ${ms(row.p50 / (GOAL.latency - 1))} ms |`);

  console.log('\n## Payment CPU per call\n');
  console.log('In context — process CPU per sequential call (bench client, gateway and provider share this process; native model threads included; anvil excluded) minus the direct call:\n');
  console.log('| model | provider leg − direct, µs | gateway leg − direct, µs |');
  console.log('|---|---:|---:|');
  for (const result of [digits, llama]) {
    const s = summaries(result);
    const base = s.get('direct')!.cpuPerCall;
    console.log(`| ${result.model} | ${us(s.get('provider')!.cpuPerCall - base)} | ${us(s.get('gateway')!.cpuPerCall - base)} |`);
  }
  console.log(`\nEach piece alone (${MICRO_CALLS} calls, µs per call):\n`);
  console.log('| work | who | CPU µs | wall µs |');
  console.log('|---|---|---:|---:|');
  const pieces = [
    ['signVoucher', 'gateway (buyer)', signVoucherCost],
    ['verifyVoucher (signer seen before)', 'provider', verifyVoucherCost],
    ['signInferenceReceipt', 'provider', signReceiptCost],
    ['verifyInferenceReceipt (provider seen before)', 'gateway (buyer)', verifyReceiptCost],
  ] as const;
  for (const [work, who, cost] of pieces) console.log(`| ${work} | ${who} | ${us(cost.cpuUs)} | ${us(cost.wallUs)} |`);
  const crypto = pieces.reduce((sum, [, , cost]) => sum + cost.cpuUs, 0);
  console.log(`| **signatures, total** | both | **${us(crypto)}** | |`);
  console.log(`| (for comparison: recoverInferenceReceiptSigner, a full recovery instead of verifyInferenceReceipt) | | ${us(recoverReceiptCost.cpuUs)} | ${us(recoverReceiptCost.wallUs)} |`);
  console.log(`| 8 canonical-JSON keccak hashes of a digit call | both | ${us(hashesCost.cpuUs)} | ${us(hashesCost.wallUs)} |`);
  console.log(`| gateway store: reserve spend + save channel ×2 (3 fsynced WAL commits) | gateway | ${us(gatewayStoreCost.cpuUs)} | ${us(gatewayStoreCost.wallUs)} |`);
  console.log(`| provider store: accept + finish (2 such commits, estimated as ⅔ of the line above) | provider | ${us((gatewayStoreCost.cpuUs * 2) / 3)} | ${us((gatewayStoreCost.wallUs * 2) / 3)} |`);
  const storeCpu = (gatewayStoreCost.cpuUs * 5) / 3;
  const storeWall = (gatewayStoreCost.wallUs * 5) / 3;
  console.log(`| **payment path per call** (signatures + hashes + 5 commits) | both | **${us(crypto + hashesCost.cpuUs + storeCpu)}** | **${us(crypto + hashesCost.cpuUs + storeWall)}** |`);
  console.log(`\nMeasuring took ${((performance.now() - started) / 1000).toFixed(0)} s after set-up; load average at the end: ${loadLine()}.`);
} finally {
  for (const step of cleanup.reverse()) await Promise.resolve(step()).catch((err: unknown) => console.error('cleanup failed:', err));
}
