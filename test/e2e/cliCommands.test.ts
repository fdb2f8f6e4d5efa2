// The chain commands a provider and a buyer use, run as separate processes against a fresh devnet:
// `agora provider`, `agora channel` and `agora models`. Every effect is checked on chain with the
// sdk; bad input exits 1 with a clear message and sends nothing.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransactionCount } from 'viem/actions';
import { getChannel, getOffer, getProvider, getTokenBalance } from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { runCli } from '../support/cli.ts';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { PRICE, setUpMarket, type Market } from '../support/market.ts';

const provider = getDevAccount('provider2');
const buyer = getDevAccount('buyer1');
/** Never registered as a provider. */
const stranger = getDevAccount('provider3');

// Each CLI run is a fresh process (1-2 s idle, far more on a loaded machine); a test runs up to nine.
const CLI_TEST_TIMEOUT = 240_000;

let devnet: TestDevnet;
let market: Market;
let env: NodeJS.ProcessEnv;
let buyerKeyFile: string;
let strangerKeyFile: string;
const outputs: string[] = [];

/** `agora <args>` against the test devnet, as the provider (AGORA_PRIVATE_KEY) unless flags say otherwise. */
async function agora(args: string[]) {
  const result = await runCli(args, { env });
  outputs.push(result.stdout, result.stderr);
  return result;
}
/** `agora <args> --json`, checked to succeed, parsed. */
async function agoraJson<T = any>(args: string[]): Promise<T> {
  const result = await agora([...args, '--json']);
  expect(result.stderr).toBe('');
  expect(result.code).toBe(0);
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'agora-cli-'));
  devnet = await startTestDevnet({ stateDir: join(dir, 'devnet') });
  market = await setUpMarket(devnet, ['provider1']); // model "digits", provider1 offering it at PRICE
  buyerKeyFile = join(dir, 'buyer.key');
  writeFileSync(buyerKeyFile, buyer.privateKey, { mode: 0o600 });
  strangerKeyFile = join(dir, 'stranger.key');
  writeFileSync(strangerKeyFile, stranger.privateKey, { mode: 0o600 });
  env = {
    AGORA_RPC_URL: devnet.rpcUrl,
    AGORA_DEPLOYMENT: devnet.deploymentFile!,
    AGORA_PRIVATE_KEY: provider.privateKey,
    AGORA_KEYSTORE_DIR: join(dir, 'keystore'),
  };
});
afterAll(async () => {
  await devnet?.stop();
});

describe('agora provider', { timeout: CLI_TEST_TIMEOUT }, () => {
  it('registers, stakes, offers a model by name and shows it all in status; models lists offers and the cheapest price', async () => {
    const client = devnet.as('provider2');
    expect((await agora(['provider', 'register', '--endpoint', 'http://127.0.0.1:9300'])).stderr).toBe('');
    const staked = await agoraJson(['provider', 'stake', '--amount', '120.5']);
    expect(staked).toMatchObject({ staked: '120500000', stake: '120500000', active: true });
    await agoraJson(['provider', 'offer', '--model', 'digits', '--price', '0.0025']);
    expect(await getOffer(client, { provider: provider.account.address, modelId: market.modelId })).toMatchObject({ pricePerUnit: 2_500n, unit: 'call', active: true });
    expect(await getProvider(client, { provider: provider.account.address })).toMatchObject({ endpoint: 'http://127.0.0.1:9300', stake: 120_500_000n, active: true });

    const [status, human, models] = await Promise.all([
      agoraJson(['provider', 'status']),
      agora(['provider', 'status', provider.account.address.toLowerCase()]),
      agoraJson<{ models: any[] }>(['models']),
    ]);
    expect(status).toEqual({
      address: provider.account.address,
      registered: true,
      endpoint: 'http://127.0.0.1:9300',
      active: true,
      stake: '120500000',
      minStake: '100000000',
      unbondingAmount: '0',
      unbondingReadyAt: '0',
      jailed: false,
      jailedUntil: '0',
      offers: [{ modelId: market.modelId, name: 'digits', pricePerUnit: '2500', unit: 'call' }],
      credit: { jobMarket: '0', paymentChannels: '0', total: '0' },
    });
    expect(human.stdout).toContain('  stake      120.5 DUSD');
    expect(human.stdout).toMatch(new RegExp(`digits\\s+${market.modelId}  0.0025 DUSD per call`));
    expect(models.models).toEqual([
      {
        name: 'digits',
        modelId: market.modelId,
        runtime: 'onnxruntime',
        quantization: 'f32',
        format: 'onnx',
        verificationMode: 'exact',
        metadataURI: 'agora://models/digits',
        activeOffers: 2,
        cheapest: { provider: getDevAccount('provider1').account.address, pricePerUnit: PRICE.toString(), unit: 'call' },
      },
    ]);
  });

  it('unbonds with a withdraw time, refuses an early withdraw, withdraws after the delay', async () => {
    const client = devnet.as('provider2');
    const unbond = await agoraJson(['provider', 'unbond', '--amount', '20.5']);
    expect(BigInt(unbond.readyAt)).toBe((await devnet.now()) + devnet.deployment.parameters.unbondingDelay);
    const early = await agora(['provider', 'withdraw']);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('error: Withdrawing unbonded stake of');
    expect(early.stderr).toContain('The 20.5 unbonding for');
    await devnet.increaseTime(devnet.deployment.parameters.unbondingDelay);
    const before = await getTokenBalance(client, { account: provider.account.address });
    expect(await agoraJson(['provider', 'withdraw'])).toMatchObject({ withdrawn: '20500000' });
    expect(await getTokenBalance(client, { account: provider.account.address })).toBe(before + 20_500_000n);
    expect(await getProvider(client, { provider: provider.account.address })).toMatchObject({ stake: 100_000_000n, unbondingAmount: 0n });
  });
});

describe('agora channel', { timeout: CLI_TEST_TIMEOUT }, () => {
  it('opens by model name, tops up, shows status and list, closes and withdraws after the challenge period', async () => {
    const client = devnet.as('buyer1');
    const start = await getTokenBalance(client, { account: buyer.account.address });
    const asBuyer = ['--key-file', buyerKeyFile];
    const opened = await agoraJson(['channel', 'open', ...asBuyer, '--provider', provider.account.address, '--model', 'digits', '--deposit', '10']);
    const channelId = opened.channelId as `0x${string}`;
    expect(opened).toMatchObject({ provider: provider.account.address, modelId: market.modelId, deposit: '10000000', pricePerUnit: '2500' });
    await agoraJson(['channel', 'topup', channelId, ...asBuyer, '--amount', '2500000', '--units']);
    expect(await getChannel(client, { channelId })).toMatchObject({ buyer: buyer.account.address, provider: provider.account.address, deposit: 12_500_000n, status: 'Open' });
    expect(await getTokenBalance(client, { account: buyer.account.address })).toBe(start - 12_500_000n);

    const [status, list, providerList] = await Promise.all([
      agoraJson(['channel', 'status', channelId]),
      agora(['channel', 'list', ...asBuyer]),
      agoraJson(['channel', 'list', provider.account.address]),
    ]);
    expect(status).toMatchObject({ channelId, buyer: buyer.account.address, modelId: market.modelId, modelName: 'digits', deposit: '12500000', redeemed: '0', remaining: '12500000', status: 'Open', closesAt: '0' });
    expect(list.stdout).toMatch(new RegExp(`^${channelId}  buyer\\s+Open\\s+12.5 DUSD left of 12.5 DUSD  provider ${provider.account.address}\n$`));
    expect(providerList.channels).toMatchObject([{ channelId, role: 'provider' }]);

    const closed = await agoraJson(['channel', 'close', channelId, ...asBuyer]);
    expect(BigInt(closed.closesAt)).toBe((await devnet.now()) + devnet.deployment.parameters.challengePeriod);
    const early = await agora(['channel', 'withdraw', channelId, ...asBuyer]);
    expect(early.code).toBe(1);
    expect(early.stderr).toContain('is closing; the buyer can withdraw from');
    expect((await getChannel(client, { channelId })).status).toBe('Closing');

    await devnet.increaseTime(devnet.deployment.parameters.challengePeriod);
    expect(await agoraJson(['channel', 'withdraw', channelId, ...asBuyer])).toMatchObject({ status: 'Closed', refund: '12500000' });
    expect((await getChannel(client, { channelId })).status).toBe('Closed');
    expect(await getTokenBalance(client, { account: buyer.account.address })).toBe(start);
  });

  it('refuses an unknown model, a malformed address, a bad amount, a bad channel id, a provider without offer and an unregistered stake with exit 1, sending nothing', async () => {
    const client = devnet.as('buyer1');
    const nonces = async () => Promise.all([buyer, stranger].map(({ account }) => getTransactionCount(client, { address: account.address })));
    const before = await nonces();
    const balance = await getTokenBalance(client, { account: buyer.account.address });
    const open = (...flags: string[]) => agora(['channel', 'open', '--key-file', buyerKeyFile, ...flags]);
    const [unknownModel, badAddress, badAmount, badId, noOffer, unregistered] = await Promise.all([
      open('--provider', provider.account.address, '--model', 'no-such-model', '--deposit', '1'),
      open('--provider', '0x1234', '--model', 'digits', '--deposit', '1'),
      open('--provider', provider.account.address, '--model', 'digits', '--deposit', '0.0000001'),
      agora(['channel', 'status', '0xabc']),
      open('--provider', stranger.account.address, '--model', market.modelId, '--deposit', '1'),
      agora(['provider', 'stake', '--key-file', strangerKeyFile, '--amount', '100']),
    ]);
    for (const result of [unknownModel, badAddress, badAmount, badId, noOffer, unregistered]) expect(result.code).toBe(1);
    expect(unknownModel.stderr).toMatchInlineSnapshot(`
      "error: No model named "no-such-model" is registered.

      Fix: list the registered models with \`agora models\`.
      "
    `);
    expect(badAddress.stderr).toContain('error: --provider is not an address: "0x1234".');
    expect(badAmount.stderr).toContain("error: --deposit 0.0000001 has more than the token's 6 decimals.");
    expect(badId.stderr).toContain('error: "0xabc" is not a channel id.');
    expect(noOffer.stderr).toContain(`error: Provider ${stranger.account.address} has no offer for digits.`);
    expect(unregistered.stderr).toContain(`error: ${stranger.account.address} is not a registered provider.`);
    expect(await nonces()).toEqual(before); // not even an ERC-20 approval went out
    expect(await getTokenBalance(client, { account: buyer.account.address })).toBe(balance);
  });

  it('never prints a private key', () => {
    const all = outputs.join('\n').toLowerCase();
    for (const key of [provider.privateKey, buyer.privateKey, stranger.privateKey]) expect(all).not.toContain(key.slice(2).toLowerCase());
  });
});
