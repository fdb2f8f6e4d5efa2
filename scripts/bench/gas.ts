// npm run bench:gas [-- --batch B] — gas per call of the slow path (JobMarket) and the fast path
// (channel redeem), and the amortised gas per paid call when one redeem settles 1, 100 or 10,000
// calls, side by side with the one-job-per-call baseline; then the gas of one audit of a batch of
// B sampled receipts (default 32: open, draw, commit, reveal, finalize; pass and fail) and of
// posting a score root, and what auditing a share p of calls adds per call beside the payment's.
// All measured in this run on a real EVM (anvil).
import { keccak256, toHex, type Hex, type TransactionReceipt } from 'viem';
import {
  acceptJob,
  assignVerifiers,
  commitVerdict,
  createReceiptBatchTree,
  hashInferenceReceipt,
  deliverJob,
  finalizeAudit,
  finalizeJob,
  openAudit,
  openChannel,
  openJob,
  publishScoreRoot,
  redeemVoucher,
  revealVerdict,
  signInferenceReceipt,
  signVoucher,
  withdrawAuditCredit,
  withdrawCredit,
} from '@agora/sdk';
import { getBlockNumber } from 'viem/actions';
import { getDevAccount } from '@agora/node';
import { startTestDevnet } from '../../test/support/devnet.ts';
import { PRICE, setUpMarket } from '../../test/support/market.ts';

const batchArg = process.argv.indexOf('--batch');
/** Receipts per audited batch (the gateway's default batchSize). */
const BATCH = batchArg > 0 ? Number(process.argv[batchArg + 1]) : 32;
if (!Number.isInteger(BATCH) || BATCH < 1 || BATCH > 64) throw new Error(`--batch must be an integer in 1..64, got ${process.argv[batchArg + 1]}`);

const devnet = await startTestDevnet();
try {
  // provider2 offers the model too: it is the verifier the court draws for provider1's audits.
  const { modelId } = await setUpMarket(devnet, ['provider1', 'provider2']);
  const buyer = devnet.as('buyer1');
  const provider = devnet.as('provider1');
  const gas = (receipt: TransactionReceipt) => receipt.gasUsed;

  // Slow path: one escrowed job. Warm-up job first so the figures are steady-state (no first-time
  // storage writes for the buyer's or provider's credit slots).
  async function runJob() {
    const opened = await openJob(buyer, {
      modelId,
      inputHash: keccak256(toHex(`input ${Math.random()}`)),
      inputURI: 'http://127.0.0.1:9000/payloads/x',
      maxPrice: PRICE,
      deadline: (await devnet.now()) + 3600n,
    });
    const accepted = await acceptJob(provider, { jobId: opened.jobId });
    const delivered = await deliverJob(provider, { jobId: opened.jobId, outputHash: keccak256(toHex('7')) });
    await devnet.increaseTime(devnet.deployment.parameters.challengeWindow);
    const finalized = await finalizeJob(provider, { jobId: opened.jobId });
    const withdrawn = await withdrawCredit(provider, { from: 'jobMarket' });
    return {
      open: gas(opened.receipt),
      accept: gas(accepted.receipt),
      deliver: gas(delivered.receipt),
      finalize: gas(finalized.receipt),
      withdraw: gas(withdrawn.receipt),
    };
  }
  await runJob();
  const job = await runJob();
  const jobTotal = job.open + job.accept + job.deliver + job.finalize;

  // Fast path: a channel per N, one voucher for N calls' cumulative amount, one redeem. On-chain
  // cost does not depend on how many vouchers came before the redeemed one, so only the last is signed.
  const buyerAccount = getDevAccount('buyer1').account;
  const domain = { chainId: devnet.deployment.chainId, paymentChannels: devnet.deployment.contracts.paymentChannels };
  async function runChannel(calls: bigint) {
    const opened = await openChannel(buyer, { provider: provider.account.address, modelId, deposit: 2n * calls * PRICE });
    const first = await signVoucher(buyerAccount, domain, { channelId: opened.channelId, cumulativeAmount: calls * PRICE, requestHash: keccak256(toHex('a')) });
    const redeemFirst = await redeemVoucher(provider, { voucher: first });
    const second = await signVoucher(buyerAccount, domain, { channelId: opened.channelId, cumulativeAmount: 2n * calls * PRICE, requestHash: keccak256(toHex('b')) });
    const redeemNext = await redeemVoucher(provider, { voucher: second });
    return { open: gas(opened.receipt), redeemFirst: gas(redeemFirst.receipt), redeemNext: gas(redeemNext.receipt) };
  }
  await runChannel(1n); // warm the treasury's and royalty receiver's credit slots
  const rows = [];
  for (const calls of [1n, 100n, 10_000n]) rows.push({ calls, ...(await runChannel(calls)) });

  const fmt = (n: bigint | number) => Number(n).toLocaleString('en-US');
  const per = (total: bigint, calls: bigint) => (Number(total) / Number(calls)).toLocaleString('en-US', { maximumFractionDigits: 1 });
  console.log('\nGas per call, JobMarket (slow path, one escrowed job)');
  console.log(`  openJob      ${fmt(job.open)}`);
  console.log(`  acceptJob    ${fmt(job.accept)}`);
  console.log(`  deliverJob   ${fmt(job.deliver)}   (verifies the EIP-712 receipt on-chain)`);
  console.log(`  finalizeJob  ${fmt(job.finalize)}`);
  console.log(`  withdraw     ${fmt(job.withdraw)}   (provider pulls its credit; can batch many jobs)`);
  console.log(`  total        ${fmt(jobTotal)}   per job, excluding withdraw`);
  console.log('\nGas per call, PaymentChannels (fast path)');
  console.log(`  openChannel             ${fmt(rows[0]!.open)}`);
  console.log(`  redeem (first on channel) ${fmt(rows[0]!.redeemFirst)}`);
  console.log(`  redeem (later)            ${fmt(rows[0]!.redeemNext)}`);
  console.log('\nAmortised gas per paid call');
  console.log('  calls per redeem | redeem gas | per call (redeem) | per call (open + redeem) | one job per call | job ÷ channel');
  for (const row of rows) {
    const channelPerCall = Number(row.open + row.redeemFirst) / Number(row.calls);
    console.log(
      `  ${fmt(row.calls).padStart(16)} | ${fmt(row.redeemFirst).padStart(10)} | ${per(row.redeemFirst, row.calls).padStart(17)} | ${per(row.open + row.redeemFirst, row.calls).padStart(24)} | ${fmt(jobTotal).padStart(16)} | ${(Number(jobTotal) / channelPerCall).toLocaleString('en-US', { maximumFractionDigits: 1 }).padStart(12)}×`,
    );
  }

  // Audits: a batch of BATCH receipts of provider1 on a buyer channel, audited by the buyer (the
  // channel's payer); provider2 is the only eligible verifier. A passing audit first as warm-up
  // (first-time credit slots), then one that passes and one that fails (slash, jail, refund,
  // bounty) are measured. The court stores only the root, so the gas does not grow with BATCH.
  const verifier = devnet.as('provider2');
  const auditChannel = await openChannel(buyer, { provider: provider.account.address, modelId, deposit: 100n * PRICE });
  const { parameters } = devnet.deployment;
  async function runAudit(n: number, verdict: 'Pass' | 'Fail') {
    const digests: Hex[] = [];
    for (let i = 0; i < BATCH; i++) {
      const receipt = await signInferenceReceipt(getDevAccount('provider1').account, domain, {
        modelId,
        inputHash: keccak256(toHex(`input ${n}.${i}`)),
        paramsHash: keccak256(toHex('{}')),
        outputHash: keccak256(toHex(`output ${n}.${i}`)),
        channelId: auditChannel.channelId,
        cumulativeAmount: BigInt(n * 1000 + i + 1) * PRICE,
      });
      digests.push(hashInferenceReceipt(domain, receipt));
    }
    const batch = createReceiptBatchTree(digests);
    const opened = await openAudit(buyer, { channelId: auditChannel.channelId, receiptsRoot: batch.root, receiptCount: batch.count, evidenceURI: `http://127.0.0.1:8080/audits/${batch.root}/evidence` });
    while ((await getBlockNumber(buyer)) <= opened.drawBlock) await devnet.increaseTime(1);
    const drawn = await assignVerifiers(buyer, { auditId: opened.auditId });
    const salt = keccak256(toHex(`salt ${n}`));
    const committed = await commitVerdict(verifier, { auditId: opened.auditId, verdict, salt });
    const revealed = await revealVerdict(verifier, { auditId: opened.auditId, verdict, salt });
    await devnet.increaseTime(parameters.audit!.escalationWindow);
    const finalized = await finalizeAudit(buyer, { auditId: opened.auditId });
    const withdrawn = await withdrawAuditCredit(verifier);
    return {
      open: gas(opened.receipt),
      assign: gas(drawn.receipt),
      commit: gas(committed.receipt),
      reveal: gas(revealed.receipt),
      finalize: gas(finalized.receipt),
      withdraw: gas(withdrawn.receipt),
    };
  }
  await runAudit(1, 'Pass');
  const passed = await runAudit(2, 'Pass');
  const failed = await runAudit(3, 'Fail');
  const auditTotal = (a: typeof passed) => a.open + a.assign + a.commit + a.reveal + a.finalize;
  const posted = await publishScoreRoot(buyer, { epoch: 1n, root: keccak256(toHex('scores')), leafCount: 64, uri: 'http://127.0.0.1:8080/scores' });
  const postedNext = await publishScoreRoot(buyer, { epoch: 2n, root: keccak256(toHex('scores 2')), leafCount: 64, uri: 'http://127.0.0.1:8080/scores' });

  console.log(`\nGas per audit of a batch of ${BATCH} receipts, AuditCourt (one verifier, no escalation)`);
  console.log('  step                | provider passes | provider fails');
  for (const step of ['open', 'assign', 'commit', 'reveal', 'finalize', 'withdraw'] as const) {
    console.log(`  ${step.padEnd(19)} | ${fmt(passed[step]).padStart(15)} | ${fmt(failed[step]).padStart(14)}`);
  }
  console.log(`  ${'total (no withdraw)'.padEnd(19)} | ${fmt(auditTotal(passed)).padStart(15)} | ${fmt(auditTotal(failed)).padStart(14)}   (fail: slash, jail, refund and bounty credits)`);
  console.log(`  per audited receipt | ${per(auditTotal(passed), BigInt(BATCH)).padStart(15)} | ${per(auditTotal(failed), BigInt(BATCH)).padStart(14)}`);
  console.log(`\nScoreRoots.publish (one root per epoch, any number of leaves): first ${fmt(gas(posted.receipt))}, later ${fmt(gas(postedNext.receipt))}`);

  // Per paid call: a share p of calls is sampled, and BATCH sampled receipts share one audit.
  // Payment: the redeem's gas per call when one redeem settles 100 calls (the channel's open
  // amortised over the same 100 shown beside it).
  const redeemPerCall = Number(rows[1]!.redeemFirst) / Number(rows[1]!.calls);
  const paymentPerCall = Number(rows[1]!.open + rows[1]!.redeemFirst) / Number(rows[1]!.calls);
  const auditPerCall = (p: number) => (p * Number(auditTotal(passed))) / BATCH;
  console.log(`\nAudit gas per paid call at sampling rate p (honest provider; ${BATCH} sampled receipts per audit), beside the payment's (100 calls per redeem)`);
  console.log('  p     | audit gas per call | redeem gas per call | payment + audit per call | audit ÷ redeem');
  for (const p of [0.02, 0.1, 0.25]) {
    const perCall = auditPerCall(p);
    console.log(
      `  ${String(p).padEnd(5)} | ${perCall.toLocaleString('en-US', { maximumFractionDigits: 1 }).padStart(18)} | ${redeemPerCall.toLocaleString('en-US', { maximumFractionDigits: 1 }).padStart(19)} | ${(redeemPerCall + perCall).toLocaleString('en-US', { maximumFractionDigits: 1 }).padStart(24)} | ${(perCall / redeemPerCall).toLocaleString('en-US', { maximumFractionDigits: 2 }).padStart(13)}×`,
    );
  }
  const at2 = auditPerCall(0.02);
  console.log(`\naudit gas per paid call at p = 0.02: ${at2.toLocaleString('en-US', { maximumFractionDigits: 1 })} (target ≤ 1,000) = 0.02 × ${fmt(auditTotal(passed))} ÷ ${BATCH}`);
  console.log(`payment + audit gas per paid call at 100 calls per redeem: ${(redeemPerCall + at2).toLocaleString('en-US', { maximumFractionDigits: 1 })} (target ≤ 2,000); with the channel's open amortised too: ${(paymentPerCall + at2).toLocaleString('en-US', { maximumFractionDigits: 1 })}`);
  console.log('\nMeasured on anvil (evm cancun, optimizer 200 runs), steady state after a warm-up round.');
} finally {
  await devnet.stop();
}
