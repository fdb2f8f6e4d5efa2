// npm run bench:gas — gas per call of the slow path (JobMarket) and the fast path (channel
// redeem), and the amortised gas per paid call when one redeem settles 1, 100 or 10,000 calls,
// side by side with the one-job-per-call baseline, all measured in this run on a real EVM (anvil).
import { keccak256, toHex, type TransactionReceipt } from 'viem';
import {
  acceptJob,
  deliverJob,
  finalizeJob,
  openChannel,
  openJob,
  redeemVoucher,
  signVoucher,
  withdrawCredit,
} from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { startTestDevnet } from '../../test/support/devnet.ts';
import { PRICE, setUpMarket } from '../../test/support/market.ts';

const devnet = await startTestDevnet();
try {
  const { modelId } = await setUpMarket(devnet, ['provider1']);
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
  console.log('\nMeasured on anvil (evm cancun, optimizer 200 runs), steady state after a warm-up round.');
} finally {
  await devnet.stop();
}
