// Kill -9 a provider right after it acknowledged paid calls; restart it; it redeems them.
// No acknowledged voucher is lost. The provider runs as `agora node`, a separate process.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Hex } from 'viem';
import { getChannel, getTokenBalance, hashCanonicalJson, openChannel, signVoucher } from '@agora/sdk';
import { PAYMENT_HEADER, encodePaymentHeader, getDevAccount, renderTextPng } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { startCli } from '../support/cli.ts';

const PRICE = 3_000n;
const CALLS = 5n;
let devnet: TestDevnet;
let dir: string;
const provider = getDevAccount('provider3');
const buyer = getDevAccount('buyer3').account;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-crash-'));
  devnet = await startTestDevnet({ stateDir: dir });
  writeFileSync(join(dir, 'provider.key'), provider.privateKey, { mode: 0o600 });
  writeFileSync(
    join(dir, 'node.json'),
    JSON.stringify({
      rpcUrl: devnet.rpcUrl,
      deploymentFile: devnet.deploymentFile,
      stateDir: join(dir, 'provider3'),
      logLevel: 'warn',
      provider: { port: 0, redeemThreshold: '1000000000', models: [{ kind: 'ocr', price: PRICE.toString() }] },
    }),
  );
});
afterAll(() => devnet?.stop());

const startNode = () =>
  startCli(['node', '--config', join(dir, 'node.json'), '--key-file', join(dir, 'provider.key')], /serving .* at (http:\/\/127\.0\.0\.1:\d+)/, {
    timeoutMs: 90_000,
  });

describe('provider crash', () => {
  it('redeems every voucher it acknowledged before a kill -9, after a restart', async () => {
    const first = await startNode();
    const url = /at (http:\/\/127\.0\.0\.1:\d+)/.exec(first.output())![1]!;
    const { models } = (await (await fetch(`${url}/v1/models`)).json()) as { models: { modelId: Hex }[] };
    const modelId = models[0]!.modelId;
    const { channelId } = await openChannel(devnet.as('buyer3'), { provider: provider.account.address, modelId, deposit: 100n * PRICE });
    const domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };

    const input = { image: renderTextPng('PAID CALL').toString('base64') };
    for (let n = 1n; n <= CALLS; n++) {
      const voucher = await signVoucher(buyer, domain, { channelId, cumulativeAmount: n * PRICE, requestHash: hashCanonicalJson({ modelId, input, params: {} }) });
      const response = await fetch(`${url}/v1/infer/${modelId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', [PAYMENT_HEADER]: encodePaymentHeader(voucher) },
        body: JSON.stringify({ input, params: {} }),
      });
      expect(response.status).toBe(200); // acknowledged
    }

    first.child.kill('SIGKILL');
    await once(first.child, 'exit');
    expect((await getChannel(devnet.as('buyer3'), { channelId })).redeemed).toBe(0n); // nothing redeemed before the crash
    const before = await getTokenBalance(devnet.as('buyer3'), { account: provider.account.address });

    const second = await startNode(); // a restart redeems what the store holds before serving
    try {
      expect((await getChannel(devnet.as('buyer3'), { channelId })).redeemed).toBe(CALLS * PRICE);
      const fee = (CALLS * PRICE * BigInt(devnet.deployment.parameters.protocolFeeBps)) / 10_000n;
      expect(await getTokenBalance(devnet.as('buyer3'), { account: provider.account.address })).toBe(before + CALLS * PRICE - fee);
    } finally {
      second.child.kill('SIGINT');
    }
    const [code] = await once(second.child, 'exit');
    expect(code).toBe(0);
  });
});
