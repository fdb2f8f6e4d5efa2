// Every money path of the trust layer, end to end on a real EVM node through the sdk: who ends up
// with which tokens, and that each contract still holds exactly what it owes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex, type Address } from 'viem';
import { getBlockNumber, readContract } from 'viem/actions';
import {
  acceptJob,
  assignVerifiers,
  auditCourtAbi,
  commitVerdict,
  createReceiptBatchTree,
  finalizeAudit,
  getAudit,
  getAuditCredit,
  getAuditOfRoot,
  hashInferenceReceipt,
  openAudit,
  registerModel,
  setOffer,
  revealVerdict,
  signInferenceReceipt,
  withdrawAuditCredit,
  deliverJob,
  failJob,
  finalizeJob,
  getChannel,
  getCredit,
  getJob,
  getProvider,
  getTokenBalance,
  jobErrorCodes,
  jobMarketAbi,
  openChannel,
  openJob,
  paymentChannelsAbi,
  providerRegistryAbi,
  reclaimJob,
  redeemVoucher,
  requestChannelClose,
  signVoucher,
  slashProvider,
  verifyVoucher,
  withdrawChannel,
  withdrawCredit,
  type SignedVoucher,
  type SignedInferenceReceipt,
} from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';
import { runCli } from '../support/cli.ts';
import { PRICE, expectedSplit, setUpMarket, type Market } from '../support/market.ts';

let devnet: TestDevnet;
let market: Market;
const provider = getDevAccount('provider1').account.address;
const buyer = getDevAccount('buyer1').account.address;
const treasury = getDevAccount('treasury').account.address;

beforeAll(async () => {
  devnet = await startTestDevnet({ stateDir: mkdtempSync(join(tmpdir(), 'agora-money-')) });
  market = await setUpMarket(devnet, ['provider1', 'provider2']);
});
afterAll(() => devnet?.stop());

const balance = (account: Address) => getTokenBalance(devnet.as('buyer1'), { account });
const requestHash = (n: number) => keccak256(toHex(`request ${n}`));

/** The contract's token balance equals what it owes: escrow/locked deposits plus credits. */
async function expectSolvent() {
  const client = devnet.as('buyer1');
  const { jobMarket, paymentChannels, providerRegistry } = devnet.deployment.contracts;
  const read = (address: Address, abi: typeof jobMarketAbi | typeof paymentChannelsAbi, functionName: 'getTotalWithdrawable') =>
    readContract(client, { address, abi, functionName });
  const escrowed = await readContract(client, { address: jobMarket, abi: jobMarketAbi, functionName: 'getTotalEscrowed' });
  expect(await balance(jobMarket)).toBe(escrowed + (await read(jobMarket, jobMarketAbi, 'getTotalWithdrawable')));
  const locked = await readContract(client, { address: paymentChannels, abi: paymentChannelsAbi, functionName: 'getTotalLocked' });
  expect(await balance(paymentChannels)).toBe(locked + (await read(paymentChannels, paymentChannelsAbi, 'getTotalWithdrawable')));
  const staked = await readContract(client, { address: providerRegistry, abi: providerRegistryAbi, functionName: 'getTotalStaked' });
  expect(await balance(providerRegistry)).toBe(staked);
  const court = devnet.deployment.contracts.auditCourt!;
  const bonded = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getTotalBonded' });
  const credits = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getTotalWithdrawable' });
  expect(await balance(court)).toBe(bonded + credits);
}

/** Opens a job naming `provider` (price fixed at its offer, PRICE) or, without one, open to any provider at `maxPrice`. */
async function openTestJob(maxPrice: bigint, deadlineIn = 3_600n, named?: Address): Promise<bigint> {
  const { jobId } = await openJob(devnet.as('buyer1'), {
    ...(named ? { provider: named } : {}),
    modelId: market.modelId,
    inputHash: keccak256(toHex('a 28x28 image of a seven')),
    inputURI: 'http://127.0.0.1:9000/payloads/0xabc',
    maxPrice,
    deadline: (await devnet.now()) + deadlineIn,
  });
  return jobId;
}

describe('JobMarket (slow path, escrow)', () => {
  it('pays a delivered job after the challenge window: provider share, fee, royalty and the unused escrow back to the buyer', async () => {
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(provider);
    const maxPrice = 5n * PRICE;
    const jobId = await openTestJob(maxPrice, 3_600n, provider);
    expect(await balance(buyer)).toBe(buyerBefore - maxPrice);

    await acceptJob(devnet.as('provider1'), { jobId });
    const outputHash = keccak256(toHex('7'));
    await deliverJob(devnet.as('provider1'), { jobId, outputHash });
    await expect(finalizeJob(devnet.as('buyer2'), { jobId })).rejects.toMatchObject({ code: 'JobMarketChallengeWindowOpen' });

    await devnet.increaseTime(devnet.deployment.parameters.challengeWindow);
    await finalizeJob(devnet.as('buyer2'), { jobId }); // anyone may finalize
    expect(await getJob(devnet.as('buyer1'), { jobId })).toMatchObject({ status: 'Finalized', price: PRICE, outputHash });

    const split = expectedSplit(devnet, PRICE);
    expect(await getCredit(devnet.as('buyer1'), { account: provider, from: 'jobMarket' })).toBe(split.providerShare);
    expect(await getCredit(devnet.as('buyer1'), { account: treasury, from: 'jobMarket' })).toBe(split.fee);
    expect(await getCredit(devnet.as('buyer1'), { account: market.royaltyReceiver, from: 'jobMarket' })).toBe(split.royalty);
    expect(await getCredit(devnet.as('buyer1'), { account: buyer, from: 'jobMarket' })).toBe(maxPrice - PRICE);

    await withdrawCredit(devnet.as('provider1'), { from: 'jobMarket' });
    await withdrawCredit(devnet.as('buyer1'), { from: 'jobMarket' });
    expect(await balance(provider)).toBe(providerBefore + split.providerShare);
    expect(await balance(buyer)).toBe(buyerBefore - PRICE);
    // Settles exactly once.
    await expect(finalizeJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });

  it('refunds a failed job in full and pays the provider nothing', async () => {
    const buyerBefore = await balance(buyer);
    const providerBefore = await balance(provider);
    const jobId = await openTestJob(3n * PRICE);
    await acceptJob(devnet.as('provider1'), { jobId });
    await failJob(devnet.as('provider1'), { jobId, errorCode: jobErrorCodes.inputHashMismatch });
    expect(await getJob(devnet.as('buyer1'), { jobId })).toMatchObject({ status: 'Failed', errorCode: 2 });

    const { amount } = await withdrawCredit(devnet.as('buyer1'), { from: 'jobMarket' });
    expect(amount).toBe(3n * PRICE);
    expect(await balance(buyer)).toBe(buyerBefore);
    expect(await balance(provider)).toBe(providerBefore);
    expect(await getCredit(devnet.as('buyer1'), { account: provider, from: 'jobMarket' })).toBe(0n);
    await expect(finalizeJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });

  it('lets the buyer reclaim a job whose provider accepted and then vanished, only after the deadline', async () => {
    const buyerBefore = await balance(buyer);
    const jobId = await openTestJob(2n * PRICE, 600n);
    await acceptJob(devnet.as('provider2'), { jobId });
    await expect(reclaimJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketDeadlineNotPassed' });

    await devnet.increaseTime(601);
    await expect(deliverJob(devnet.as('provider2'), { jobId, outputHash: keccak256(toHex('late')) })).rejects.toMatchObject({
      code: 'JobMarketDeadlinePassed',
    });
    await reclaimJob(devnet.as('buyer1'), { jobId });
    expect(await balance(buyer)).toBe(buyerBefore);
    expect((await getJob(devnet.as('buyer1'), { jobId })).status).toBe('Reclaimed');
    await expect(reclaimJob(devnet.as('buyer1'), { jobId })).rejects.toMatchObject({ code: 'JobMarketInvalidStatus' });
    await expectSolvent();
  });
});

describe('PaymentChannels (fast path, vouchers)', () => {
  const domain = () => ({ chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels });
  const buyerKey = getDevAccount('buyer1').account;

  it('redeems 1,000 vouchers with one transaction', async () => {
    const calls = 1_000;
    const deposit = BigInt(calls) * PRICE;
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit });
    const channel = await getChannel(devnet.as('provider1'), { channelId });

    // The provider checks every voucher off-chain before serving, as its node does per call.
    let latest: SignedVoucher | undefined;
    for (let i = 1; i <= calls; i++) {
      const voucher = await signVoucher(buyerKey, domain(), { channelId, cumulativeAmount: BigInt(i) * PRICE, requestHash: requestHash(i) });
      const increment = await verifyVoucher({
        domain: domain(),
        voucher,
        signer: channel.signer,
        previousCumulative: latest?.cumulativeAmount ?? 0n,
        price: PRICE,
        deposit: channel.deposit,
      });
      expect(increment).toBe(PRICE);
      latest = voucher;
    }

    const providerBefore = await balance(provider);
    const { paid, providerShare } = await redeemVoucher(devnet.as('provider1'), { voucher: latest! });
    expect(paid).toBe(deposit);
    const split = expectedSplit(devnet, deposit);
    expect(providerShare).toBe(split.providerShare);
    expect(await balance(provider)).toBe(providerBefore + split.providerShare);
    expect(await getCredit(devnet.as('buyer1'), { account: treasury, from: 'paymentChannels' })).toBe(split.fee);
    expect(await getCredit(devnet.as('buyer1'), { account: market.royaltyReceiver, from: 'paymentChannels' })).toBe(split.royalty);
    expect((await getChannel(devnet.as('buyer1'), { channelId })).redeemed).toBe(deposit);
    // The same voucher cannot pay twice.
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: latest! })).rejects.toMatchObject({ code: 'PaymentChannelsVoucherNotNewer' });
    await expectSolvent();
  });

  it('lets the provider beat a unilateral close with its newest voucher during the challenge period', async () => {
    const deposit = 100n * PRICE;
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit });
    const sign = (calls: number) =>
      signVoucher(buyerKey, domain(), { channelId, cumulativeAmount: BigInt(calls) * PRICE, requestHash: requestHash(calls) });
    const stale = await sign(10);
    const newest = await sign(40);
    await redeemVoucher(devnet.as('provider1'), { voucher: stale });

    const buyerBefore = await balance(buyer);
    const { closesAt } = await requestChannelClose(devnet.as('buyer1'), { channelId });
    await expect(withdrawChannel(devnet.as('buyer1'), { channelId })).rejects.toMatchObject({ code: 'PaymentChannelsChallengeRunning' });
    // The stale voucher cannot be replayed; the newer one still pays during the challenge period.
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: stale })).rejects.toMatchObject({ code: 'PaymentChannelsVoucherNotNewer' });
    const { paid } = await redeemVoucher(devnet.as('provider1'), { voucher: newest });
    expect(paid).toBe(30n * PRICE);

    await devnet.increaseTime(closesAt - (await devnet.now()));
    const late = await sign(50);
    await expect(redeemVoucher(devnet.as('provider1'), { voucher: late })).rejects.toMatchObject({ code: 'PaymentChannelsChallengeOver' });
    const { refund } = await withdrawChannel(devnet.as('buyer1'), { channelId });
    expect(refund).toBe(deposit - 40n * PRICE);
    expect(await balance(buyer)).toBe(buyerBefore + refund);
    expect(await getChannel(devnet.as('buyer1'), { channelId })).toMatchObject({ status: 'Closed', redeemed: 40n * PRICE });
    await expectSolvent();
  });
});

/** Receipts provider1 signs on `channelId` for `count` calls of `modelId`, and the batch tree over them. */
async function signBatch(channelId: `0x${string}`, modelId: `0x${string}`, count: number, tag: string) {
  const domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };
  const receipts: SignedInferenceReceipt[] = [];
  for (let i = 0; i < count; i++) {
    receipts.push(
      await signInferenceReceipt(getDevAccount('provider1').account, domain, {
        modelId,
        inputHash: keccak256(toHex(`${tag} input ${i}`)),
        paramsHash: keccak256(toHex('{}')),
        outputHash: keccak256(toHex(`${tag} output ${i}`)),
        channelId,
        cumulativeAmount: BigInt(i + 1) * PRICE,
      }),
    );
  }
  return { receipts, tree: createReceiptBatchTree(receipts.map((r) => hashInferenceReceipt(domain, r))) };
}

/** Mines until `drawBlock` is behind the newest block, so its hash can draw. */
async function pastDrawBlock(drawBlock: bigint) {
  while ((await getBlockNumber(devnet.as('buyer1'))) <= drawBlock) await devnet.increaseTime(1);
}

describe('AuditCourt bonds when nothing is slashed', () => {
  it('pays nobody for an Unverifiable verdict: the opener’s bond goes to the treasury, nothing is slashed and the root is freed', async () => {
    const config = devnet.deployment.parameters.audit!;
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit: 1_000_000n });
    const { tree } = await signBatch(channelId, market.modelId, 4, 'unverifiable');
    const stakeBefore = (await getProvider(devnet.as('buyer1'), { provider })).stake;
    const buyerBefore = await balance(buyer);
    const { auditId, drawBlock } = await openAudit(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root, receiptCount: tree.count, evidenceURI: 'http://127.0.0.1:1/evidence' });
    expect(await getAuditOfRoot(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root })).toBe(auditId);
    await pastDrawBlock(drawBlock);
    expect((await assignVerifiers(devnet.as('buyer1'), { auditId })).verifiers).toEqual([getDevAccount('provider2').account.address]);
    const salt = keccak256(toHex('unverifiable salt'));
    await commitVerdict(devnet.as('provider2'), { auditId, verdict: 'Unverifiable', salt });
    await revealVerdict(devnet.as('provider2'), { auditId, verdict: 'Unverifiable', salt });
    await devnet.increaseTime(config.escalationWindow);
    expect(await finalizeAudit(devnet.as('buyer1'), { auditId })).toMatchObject({ outcome: 'Unverifiable', slashed: 0n, refund: 0n, bounty: 0n });

    expect((await getProvider(devnet.as('buyer1'), { provider })).stake).toBe(stakeBefore);
    expect(await getAuditCredit(devnet.as('buyer1'), { account: buyer })).toBe(0n);
    // Not judging earns nothing (a lazy or colluding verifier gains by it nothing); the bond is the treasury's.
    expect(await getAuditCredit(devnet.as('buyer1'), { account: getDevAccount('provider2').account.address })).toBe(0n);
    expect(await getAuditCredit(devnet.as('buyer1'), { account: devnet.deployment.parameters.treasury })).toBeGreaterThanOrEqual(config.auditBond);
    expect(await balance(buyer)).toBe(buyerBefore - config.auditBond);
    expect(await getAuditOfRoot(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root })).toBeUndefined(); // the payer may audit it again
    await expectSolvent();
  });

  it('cancels an audit nobody can judge once its draw deadline passes, and credits the bond back', async () => {
    const config = devnet.deployment.parameters.audit!;
    // A model only provider1 offers: there is nobody to draw.
    const { modelId } = await registerModel(devnet.as('deployer'), {
      weightsHash: keccak256(toHex('a model only provider1 serves')),
      runtime: 'onnxruntime',
      quantization: 'f32',
      format: 'onnx',
      verificationMode: 'exact',
      metadataURI: 'agora://models/lonely',
    });
    await setOffer(devnet.as('provider1'), { modelId, pricePerUnit: PRICE });
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId, deposit: 1_000_000n });
    const { tree } = await signBatch(channelId, modelId, 2, 'lonely');
    const buyerBefore = await balance(buyer);
    const opened = await openAudit(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root, receiptCount: tree.count, evidenceURI: 'http://127.0.0.1:1/evidence' });
    await pastDrawBlock(opened.drawBlock);
    // Before the deadline a failed draw is tried again later.
    const first = await assignVerifiers(devnet.as('buyer1'), { auditId: opened.auditId });
    expect(first).toMatchObject({ verifiers: [], cancelled: false });
    expect(first.rescheduledDrawBlock).toBeGreaterThan(opened.drawBlock);
    await devnet.increaseTime(config.drawTimeout);
    await pastDrawBlock(first.rescheduledDrawBlock!);
    expect(await assignVerifiers(devnet.as('buyer1'), { auditId: opened.auditId })).toMatchObject({ verifiers: [], cancelled: true });
    expect(await getAudit(devnet.as('buyer1'), { auditId: opened.auditId })).toMatchObject({ status: 'Cancelled' });
    expect(await getAuditOfRoot(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root })).toBeUndefined();
    expect((await withdrawAuditCredit(devnet.as('buyer1'))).amount).toBe(config.auditBond);
    expect(await balance(buyer)).toBe(buyerBefore);
    await expectSolvent();
  });
});

describe('ProviderRegistry slashing (only through the AuditCourt)', () => {
  it('slashes a provider only when an audit confirms a failure, and splits the stake into refund, bounty and treasury share', async () => {
    const amount = 30_000_000n;
    // Nobody but the AuditCourt contract can slash: not a buyer, not a provider, not the dev account that used to stand in.
    await expect(slashProvider(devnet.as('buyer1'), { provider, amount })).rejects.toMatchObject({ code: 'ProviderRegistryUnauthorized' });
    await expect(slashProvider(devnet.as('auditCourt'), { provider, amount })).rejects.toMatchObject({ code: 'ProviderRegistryUnauthorized' });

    // provider1 answers paid calls and signs the receipts; the buyer audits a batch of them.
    const { channelId } = await openChannel(devnet.as('buyer1'), { provider, modelId: market.modelId, deposit: 1_000_000n });
    const { tree } = await signBatch(channelId, market.modelId, 32, 'slash');
    const config = devnet.deployment.parameters.audit!;
    const buyerBefore = await balance(buyer);
    // Only the channel's payer may open it; the provider cannot squat its own receipts.
    await expect(openAudit(devnet.as('provider1'), { channelId, receiptsRoot: tree.root, receiptCount: tree.count, evidenceURI: 'http://127.0.0.1:1/x' })).rejects.toMatchObject({ code: 'AuditCourtNotPayer' });
    const { auditId, drawBlock } = await openAudit(devnet.as('buyer1'), { channelId, receiptsRoot: tree.root, receiptCount: tree.count, evidenceURI: 'http://127.0.0.1:1/evidence' });
    expect(await balance(buyer)).toBe(buyerBefore - config.auditBond);
    await expectSolvent();

    // The draw block must be mined first; provider2 is the only other provider of the model.
    await expect(assignVerifiers(devnet.as('buyer1'), { auditId })).rejects.toMatchObject({ code: 'AuditCourtDrawTooEarly' });
    await pastDrawBlock(drawBlock);
    const { verifiers } = await assignVerifiers(devnet.as('buyer1'), { auditId });
    expect(verifiers).toEqual([getDevAccount('provider2').account.address]);

    const salt = keccak256(toHex('provider2 salt'));
    await commitVerdict(devnet.as('provider2'), { auditId, verdict: 'Fail', salt });
    const { decided } = await revealVerdict(devnet.as('provider2'), { auditId, verdict: 'Fail', salt });
    expect(decided).toBe(true);
    await expect(finalizeAudit(devnet.as('buyer1'), { auditId })).rejects.toMatchObject({ code: 'AuditCourtEscalationRunning' });
    await devnet.increaseTime(config.escalationWindow);

    const before = await getProvider(devnet.as('buyer1'), { provider });
    const treasuryBefore = await getAuditCredit(devnet.as('buyer1'), { account: treasury });
    const { outcome, slashed, refund, bounty, toTreasury } = await finalizeAudit(devnet.as('buyer1'), { auditId });
    expect({ outcome, slashed }).toEqual({ outcome: 'Fail', slashed: config.slashAmount });
    expect(refund).toBe((config.slashAmount * BigInt(config.refundBps)) / 10_000n);
    expect(bounty).toBe((config.slashAmount * BigInt(config.bountyBps)) / 10_000n);
    expect(refund + bounty + toTreasury).toBe(slashed);
    const after = await getProvider(devnet.as('buyer1'), { provider });
    expect(after.stake).toBe(before.stake - slashed);
    expect(after.active).toBe(false); // jailed, and below the minimum stake now
    expect(await getAudit(devnet.as('buyer1'), { auditId })).toMatchObject({ status: 'Resolved', verdict: 'Fail' });

    // The buyer gets its bond back plus the refund; the verifier its bounty; the treasury the rest.
    expect(await getAuditCredit(devnet.as('buyer1'), { account: buyer })).toBe(config.auditBond + refund);
    expect((await withdrawAuditCredit(devnet.as('buyer1'))).amount).toBe(config.auditBond + refund);
    expect((await withdrawAuditCredit(devnet.as('provider2'))).amount).toBe(bounty);
    expect(await getAuditCredit(devnet.as('buyer1'), { account: treasury })).toBe(treasuryBefore + toTreasury);
    expect(await balance(buyer)).toBe(buyerBefore + refund);
    await expectSolvent();

    // `agora providers` scores from this on-chain evidence: the slashed provider's failed audit
    // lowers its audit pass rate below the untouched provider's, and it is shown inactive.
    const listed = await runCli(['providers', '--model', market.modelId, '--json', '--rpc-url', devnet.rpcUrl, '--deployment', devnet.deploymentFile!]);
    expect(listed.stderr).toBe('');
    const { providers } = JSON.parse(listed.stdout) as { providers: { provider: string; auditsFailed: number; auditPassRate: number; active: boolean }[] };
    const slashedRow = providers.find((p) => p.provider === provider)!;
    const otherRow = providers.find((p) => p.provider === getDevAccount('provider2').account.address)!;
    expect(slashedRow).toMatchObject({ auditsFailed: 1, active: false });
    expect(otherRow).toMatchObject({ auditsFailed: 0, active: true });
    expect(slashedRow.auditPassRate).toBeLessThan(otherRow.auditPassRate);
    expect(providers.at(-1)!.provider).toBe(provider); // worst value last
  });
});
