// npm run bench:payments — CPU per paid call spent on payment crypto, viem's generic typed-data
// path (what the sdk did before) side by side with the sdk's path, measured in this one run:
// voucher sign / verify (signer seen for the first time, and already seen), receipt sign / verify,
// and the totals per call for the provider (verify the voucher, sign the receipt) and for the
// buyer (sign the voucher, check the receipt).
import { hashTypedData, isAddressEqual, keccak256, recoverTypedDataAddress, toHex, type Hex, type LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import {
  hashInferenceReceipt,
  hashVoucher,
  inferenceReceiptTypes,
  isCanonicalSignature,
  paymentChannelsDomain,
  signInferenceReceipt,
  signVoucher,
  verifyInferenceReceipt,
  verifyVoucher,
  voucherTypes,
  type InferenceReceipt,
  type SignedInferenceReceipt,
  type SignedVoucher,
  type Voucher,
} from '@agora/sdk';

const CALLS = Number(process.env.CALLS ?? 2000);
const COLD_SIGNERS = 300;

const domain = { chainId: 31337, paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9' } as const;
const typedDomain = paymentChannelsDomain(domain);
const h = (label: string) => keccak256(toHex(label));
const buyer = privateKeyToAccount(h('bench buyer'));
const provider = privateKeyToAccount(h('bench provider'));
const channelId = h('bench channel');

const vouchers: Voucher[] = Array.from({ length: CALLS }, (_, i) => ({ channelId, cumulativeAmount: BigInt(i + 1) * 1_000n, requestHash: h(`request ${i}`) }));
const receipts: InferenceReceipt[] = vouchers.map((v, i) => ({
  modelId: h('model'),
  inputHash: h(`input ${i}`),
  paramsHash: h('{}'),
  outputHash: h(`output ${i}`),
  channelId,
  cumulativeAmount: v.cumulativeAmount,
}));

// The pre-change code paths, inline: viem's typed-data encoder and a full recovery on every check.
const viem = {
  signVoucher: async (account: LocalAccount, voucher: Voucher): Promise<SignedVoucher> => ({
    ...voucher,
    signature: await account.signTypedData({ domain: typedDomain, types: voucherTypes, primaryType: 'Voucher', message: voucher }),
  }),
  verifyVoucher: async ({ signature, ...message }: SignedVoucher, signer: Hex) => {
    if (!isCanonicalSignature(signature)) throw new Error('not canonical');
    const recovered = await recoverTypedDataAddress({ domain: typedDomain, types: voucherTypes, primaryType: 'Voucher', message, signature });
    if (!isAddressEqual(recovered, signer)) throw new Error('forged');
  },
  signReceipt: async (account: LocalAccount, receipt: InferenceReceipt): Promise<SignedInferenceReceipt> => ({
    ...receipt,
    provider: account.address,
    signature: await account.signTypedData({ domain: typedDomain, types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message: receipt }),
  }),
  verifyReceipt: async ({ signature, provider: _claimed, ...message }: SignedInferenceReceipt, expected: Hex) => {
    if (!isCanonicalSignature(signature)) throw new Error('not canonical');
    const recovered = await recoverTypedDataAddress({ domain: typedDomain, types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message, signature });
    if (!isAddressEqual(recovered, expected)) throw new Error('forged');
  },
};

/**
 * CPU µs per call of `before` and of `after`, measured in alternating rounds over the same inputs
 * and reported as the median round, so a burst of load on the machine hits both sides alike.
 */
async function compare(n: number, before: (i: number) => unknown, after: (i: number) => unknown): Promise<[number, number]> {
  const rounds = 10;
  const chunk = Math.floor(n / rounds);
  // CPU time of this process, not wall time: other work on the machine then barely moves the figures.
  const round = async (f: (i: number) => unknown, from: number) => {
    const start = process.cpuUsage();
    for (let i = from; i < from + chunk; i++) await f(i);
    const { user, system } = process.cpuUsage(start);
    return (user + system) / chunk;
  };
  await round(before, 0);
  await round(after, 0);
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < rounds; r++) {
    times[0].push(await round(before, r * chunk));
    times[1].push(await round(after, r * chunk));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const signedVouchers = await Promise.all(vouchers.map((v) => signVoucher(buyer, domain, v)));
const signedReceipts = await Promise.all(receipts.map((r) => signInferenceReceipt(provider, domain, r)));
const verifyArgs = (voucher: SignedVoucher, signer: Hex) => ({ domain, voucher, signer, previousCumulative: 0n, price: 1n, deposit: 1n << 200n });

// Cold: each voucher from a signer never seen before (one recovery, with noble directly).
const coldSigners = Array.from({ length: COLD_SIGNERS + COLD_SIGNERS / 10 }, (_, i) => privateKeyToAccount(h(`cold signer ${i}`)));
const coldVouchers = await Promise.all(coldSigners.map((s, i) => signVoucher(s, domain, vouchers[i % CALLS]!)));
let nextCold = 0;
const verifyCold = () => {
  const k = nextCold++;
  return verifyVoucher(verifyArgs(coldVouchers[k]!, coldSigners[k]!.address));
};
// One-off: a signer's second voucher builds its multiplication tables.
const tableSigner = privateKeyToAccount(h('table signer'));
const tableVouchers = await Promise.all([1n, 2n].map((k) => signVoucher(tableSigner, domain, { ...vouchers[0]!, cumulativeAmount: k })));
await verifyVoucher(verifyArgs(tableVouchers[0]!, tableSigner.address));
const tableStart = process.cpuUsage();
await verifyVoucher(verifyArgs(tableVouchers[1]!, tableSigner.address));
const tableCpu = process.cpuUsage(tableStart);
const tableMs = (tableCpu.user + tableCpu.system) / 1000;

const rows: [string, number, number][] = [];
const row = async (name: string, before: (i: number) => unknown, after: (i: number) => unknown, n = CALLS) => {
  rows.push([name, ...(await compare(n, before, after))]);
};
await row(
  'voucher hash (EIP-712 digest)',
  (i) => hashTypedData({ domain: typedDomain, types: voucherTypes, primaryType: 'Voucher', message: vouchers[i]! }),
  (i) => hashVoucher(domain, vouchers[i]!),
);
await row('voucher sign', (i) => viem.signVoucher(buyer, vouchers[i]!), (i) => signVoucher(buyer, domain, vouchers[i]!));
// Each call (warm-up round included) takes a signer never seen before.
await row('voucher verify, signer first seen', (i) => viem.verifyVoucher(coldVouchers[i]!, coldSigners[i]!.address), verifyCold, COLD_SIGNERS);
await row('voucher verify, signer cached', (i) => viem.verifyVoucher(signedVouchers[i]!, buyer.address), (i) =>
  verifyVoucher(verifyArgs(signedVouchers[i]!, buyer.address)),
);
await row(
  'receipt hash (EIP-712 digest)',
  (i) => hashTypedData({ domain: typedDomain, types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message: receipts[i]! }),
  (i) => hashInferenceReceipt(domain, receipts[i]!),
);
await row('receipt sign', (i) => viem.signReceipt(provider, receipts[i]!), (i) => signInferenceReceipt(provider, domain, receipts[i]!));
await row('receipt verify, provider cached', (i) => viem.verifyReceipt(signedReceipts[i]!, provider.address), (i) =>
  verifyInferenceReceipt({ domain, receipt: signedReceipts[i]!, provider: provider.address }),
);

const get = (name: string) => rows.find(([n]) => n === name)!;
const sum = (...names: string[]) => [names.reduce((t, n) => t + get(n)[1], 0), names.reduce((t, n) => t + get(n)[2], 0)] as const;
const providerTotal = sum('voucher verify, signer cached', 'receipt sign');
const buyerTotal = sum('voucher sign', 'receipt verify, provider cached');

const fmt = (us: number) => `${us.toFixed(0).padStart(7)} µs`;
console.log(`Payment CPU per call, Node ${process.version}: CPU µs per operation, median of 10 alternating rounds (${CALLS} calls; ${COLD_SIGNERS} fresh signers)\n`);
console.log(`${'operation'.padEnd(36)}${'viem typed data'.padStart(17)}${'sdk'.padStart(12)}${'speed-up'.padStart(10)}`);
for (const [name, before, after] of rows) console.log(`${name.padEnd(36)}${fmt(before).padStart(17)}${fmt(after).padStart(12)}${`${(before / after).toFixed(1)}×`.padStart(10)}`);
console.log('');
for (const [name, [before, after]] of [
  ['provider per call (verify + sign)', providerTotal],
  ['buyer per call (sign + check)', buyerTotal],
] as const) {
  console.log(`${name.padEnd(36)}${fmt(before).padStart(17)}${fmt(after).padStart(12)}${`${(before / after).toFixed(1)}×`.padStart(10)}`);
}
console.log(`\nOnce per signer: building its multiplication tables at its second voucher took ${tableMs.toFixed(1)} ms of CPU.`);
