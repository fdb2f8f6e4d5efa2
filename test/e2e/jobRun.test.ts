// `agora job run` as a user runs it: a separate process buys one digit classification through the
// slow path from a running `agora node` (another process), verifies it, and the payout settles.
// `agora job reclaim` takes back the escrow of a job nobody delivered.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import { getJob, getTokenBalance, openJob } from '@agora/sdk';
import { buildDigitsModel, createDigitsServedModel, getDevAccount, loadDigitsDataset, renderDigitPng, sha256Hex } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { runCli, startCli } from '../support/cli.ts';

const PRICE = 4_000n;
let devnet: TestDevnet;
let dir: string;
let node: ChildProcess | undefined;
let modelId: `0x${string}`;
/** A held-out image the model classifies correctly in-process. */
let sample: { file: string; label: number };
const provider = getDevAccount('provider3');
const buyer = getDevAccount('buyer3');

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-job-run-'));
  devnet = await startTestDevnet({ stateDir: dir });
  const built = await buildDigitsModel(join(dir, 'digits.onnx'), { log: () => {} });
  const digits = await createDigitsServedModel({ path: built.path, pricePerCall: PRICE });
  modelId = digits.descriptor.modelId;
  const { test } = loadDigitsDataset({ testCount: 50 });
  for (let i = 0; i < 50 && !sample; i++) {
    const png = renderDigitPng(test.images.subarray(i * 784, (i + 1) * 784), { scale: 3 });
    const { digit } = (await digits.run({ image: png.toString('base64') }, {}, { signal: new AbortController().signal })) as { digit: number };
    if (digit === test.labels[i] && digit !== 1) {
      sample = { file: join(dir, `digit-${digit}.png`), label: digit };
      writeFileSync(sample.file, png);
    }
  }
  await digits.close();

  writeFileSync(join(dir, 'provider.key'), provider.privateKey, { mode: 0o600 });
  writeFileSync(join(dir, 'buyer.key'), buyer.privateKey, { mode: 0o600 });
  writeFileSync(
    join(dir, 'node.json'),
    JSON.stringify({
      rpcUrl: devnet.rpcUrl,
      deploymentFile: devnet.deploymentFile,
      stateDir: join(dir, 'provider3'),
      logLevel: 'warn',
      provider: { port: 0, models: [{ kind: 'digits', path: built.path, price: PRICE.toString() }], jobs: { pollIntervalMs: 200 } },
    }),
  );
  const started = await startCli(['node', '--config', join(dir, 'node.json'), '--key-file', join(dir, 'provider.key')], /serving .* at http:\/\/127\.0\.0\.1:\d+/, {
    timeoutMs: 90_000,
  });
  node = started.child;
}, 120_000);

afterAll(async () => {
  if (node && node.exitCode === null) {
    node.kill('SIGINT');
    await once(node, 'exit');
  }
  await devnet?.stop();
});

const chain = () => ['--rpc-url', devnet.rpcUrl, '--deployment', devnet.deploymentFile!, '--key-file', join(dir, 'buyer.key')];
const balance = () => getTokenBalance(devnet.as('buyer3'), { account: buyer.account.address });

describe('agora job', () => {
  it('run: classifies a digit image through the slow path, verified, paid from escrow', async () => {
    expect(sample).toBeDefined();
    const before = await balance();
    // Naming the provider fixes the price at its offer when the job opens; the rest of the escrow comes back.
    const run = await runCli(['job', 'run', '--model', 'agora/digits-mlp', '--input', sample.file, '--provider', provider.account.address, '--max-price', '10000', '--units', '--deadline', '300', ...chain()], {
      timeoutMs: 60_000,
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const jobId = BigInt(/opened job #(\d+)/.exec(run.stdout)![1]!);
    expect(run.stdout).toMatch(/escrowed 0\.01 \S+, price 0\.004 /);
    expect(run.stdout).toContain(`accepted by ${provider.account.address}`);
    expect(run.stdout).toMatch(/verified: sha-256 matches, receipt signed by 0x/i);
    expect(run.stdout).toMatch(new RegExp(`result: digit ${sample.label} \\(confidence [01]\\.\\d{3}\\)`));
    const job = await getJob(devnet.as('buyer3'), { jobId });
    expect(job).toMatchObject({ status: 'Delivered', provider: provider.account.address, price: PRICE });

    const status = await runCli(['job', 'status', jobId.toString(), '--rpc-url', devnet.rpcUrl, '--deployment', devnet.deploymentFile!]);
    expect(status.code).toBe(0);
    expect(status.stdout).toContain(`job #${jobId}: Delivered`);

    // After the challenge window the job pays out (the node or the buyer finalizes) and the unused escrow comes back.
    await devnet.increaseTime(devnet.deployment.parameters.challengeWindow);
    const finalize = await runCli(['job', 'finalize', jobId.toString(), ...chain()]);
    expect(finalize.code).toBe(0);
    expect(finalize.stdout).toContain(`job #${jobId}: Finalized`);
    expect(await balance()).toBe(before - PRICE);
  }, 180_000);

  it('reclaim: takes back the escrow of a job nobody delivered by its deadline', async () => {
    const before = await balance();
    // Open to any provider at a price below every offer: nobody will take it.
    const { jobId } = await openJob(devnet.as('buyer3'), {
      modelId,
      inputHash: sha256Hex(Buffer.from('{"input":{}}')),
      inputURI: 'http://127.0.0.1:1/v1/payloads/none',
      maxPrice: PRICE - 1n,
      deadline: (await devnet.now()) + 60n,
    });
    const early = await runCli(['job', 'reclaim', jobId.toString(), ...chain()]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain(`Job ${jobId} can be reclaimed only after its deadline`);
    await devnet.increaseTime(61);
    const reclaim = await runCli(['job', 'reclaim', jobId.toString(), ...chain()]);
    expect(reclaim.code).toBe(0);
    expect(reclaim.stdout).toMatch(new RegExp(`reclaimed 0\\.003999 \\S+ from job #${jobId}`));
    expect(await balance()).toBe(before);
  }, 120_000);
});
