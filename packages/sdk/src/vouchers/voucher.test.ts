import { describe, expect, it } from 'vitest';
import { getAddress, hashTypedData, keccak256, toHex, type Address, type Hex } from 'viem';
import { mnemonicToAccount, privateKeyToAccount, toAccount } from 'viem/accounts';
import {
  hashVoucher,
  isCanonicalSignature,
  paymentChannelsDomain,
  recoverVoucherSigner,
  signVoucher,
  verifyVoucher,
  voucherTypes,
  type Voucher,
  type VoucherDomain,
} from './voucher.ts';

const buyer = privateKeyToAccount('0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e');
const domain = { chainId: 31337, paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9' } as const;
const channelId = keccak256(toHex('channel'));
const requestHash = keccak256(toHex('request'));
const check = { domain, signer: buyer.address, previousCumulative: 1_000n, price: 1_000n, deposit: 10_000n };

describe('vouchers off-chain', () => {
  it('accepts a voucher from the channel signer that adds the price, and returns the increment', async () => {
    const voucher = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 2_500n, requestHash });
    expect(await recoverVoucherSigner(domain, voucher)).toBe(buyer.address);
    expect(await verifyVoucher({ ...check, voucher })).toBe(1_500n);
  });

  it('says why a voucher is refused and what the buyer should send instead', async () => {
    const underpaid = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 1_500n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: underpaid })).rejects.toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The voucher adds 500 but the call costs 1000.

      Fix: sign a voucher for cumulative amount 2000 or more.]
    `);
    const beyondDeposit = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 10_001n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: beyondDeposit })).rejects.toMatchObject({ code: 'ChannelExhausted' });
    const replay = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 1_000n, requestHash });
    await expect(verifyVoucher({ ...check, voucher: replay })).rejects.toMatchObject({ code: 'VoucherReplayed' });
    await expect(verifyVoucher({ ...check, voucher: { ...replay, signature: '0x1234' } })).rejects.toMatchObject({ code: 'VoucherForged' });
  });

  it('refuses the malleable twins of a valid signature, which the contract would never redeem', async () => {
    const voucher = await signVoucher(buyer, domain, { channelId, cumulativeAmount: 2_000n, requestHash });
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const r = voucher.signature.slice(2, 66);
    const s = BigInt(`0x${voucher.signature.slice(66, 130)}`);
    const v = Number.parseInt(voucher.signature.slice(130), 16);
    const highS = `0x${r}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as const;
    const vZeroOne = `0x${r}${voucher.signature.slice(66, 130)}${(v - 27).toString(16).padStart(2, '0')}` as const;
    // Both still recover the buyer off-chain...
    expect(await recoverVoucherSigner(domain, { ...voucher, signature: highS })).toBe(buyer.address);
    expect(await recoverVoucherSigner(domain, { ...voucher, signature: vZeroOne })).toBe(buyer.address);
    // ...but a provider must not serve for them.
    for (const signature of [highS, vZeroOne]) {
      await expect(verifyVoucher({ ...check, voucher: { ...voucher, signature } })).rejects.toMatchObject({ code: 'VoucherForged' });
    }
    expect(isCanonicalSignature(voucher.signature)).toBe(true);
  });
});

/** Deterministic pseudo-random bytes (no flaky seeds): keccak256 of a label. */
const randomHex = (label: string) => keccak256(toHex(label));
const randomCase = (hex: string, label: string) =>
  hex.replace(/[a-f]/g, (c, i: number) => (Number.parseInt(randomHex(`${label}${i}`).slice(2, 4), 16) & 1 ? c.toUpperCase() : c));
const randomAmount = (label: string) => {
  const pick = Number.parseInt(randomHex(label).slice(2, 4), 16) % 4;
  if (pick === 0) return 0n;
  if (pick === 1) return (1n << 256n) - 1n;
  return BigInt(randomHex(`${label}amount`)) >> BigInt(Number.parseInt(randomHex(label).slice(4, 6), 16));
};
const randomDomain = (label: string) => {
  const address = getAddress(`0x${randomHex(`${label}contract`).slice(26)}`);
  return {
    chainId: Number.parseInt(randomHex(`${label}chain`).slice(2, 14), 16),
    paymentChannels: (Number.parseInt(randomHex(label).slice(6, 8), 16) & 1 ? address.toLowerCase() : address) as Address,
  };
};
const randomVoucher = (label: string) => ({
  channelId: randomCase(randomHex(`${label}channel`), `${label}c`) as Hex,
  cumulativeAmount: randomAmount(label),
  requestHash: randomHex(`${label}request`),
});
const viemHash = (d: VoucherDomain, message: Voucher) =>
  hashTypedData({ domain: paymentChannelsDomain(d), types: voucherTypes, primaryType: 'Voucher', message });
const outcome = (f: () => unknown) => {
  try {
    return { value: f() };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

describe('vouchers on the fast path give what viem gives', () => {
  it('hashes like viem hashTypedData over random vouchers and domains', () => {
    for (let i = 0; i < 300; i++) {
      const d = i % 10 === 0 ? domain : randomDomain(`d${i}`);
      const voucher = randomVoucher(`v${i}`);
      expect(hashVoucher(d, voucher)).toBe(viemHash(d, voucher));
    }
  });

  it('answers inputs outside the plain form exactly as viem does (same digest or same error)', () => {
    const plain = randomVoucher('odd');
    const odd: [VoucherDomain, Voucher][] = [
      [domain, { ...plain, channelId: '0x1234' }],
      [domain, { ...plain, requestHash: `${plain.requestHash}00` as Hex }],
      [domain, { ...plain, cumulativeAmount: 1n << 256n }],
      [domain, { ...plain, cumulativeAmount: -1n }],
      [domain, { ...plain, cumulativeAmount: 7 as unknown as bigint }],
      [{ ...domain, paymentChannels: '0xdC64a140Aa3E981100a9becA4E685f962f0cF6C9' }, plain],
      [{ ...domain, paymentChannels: '0x1234' }, plain],
      [{ ...domain, chainId: -1 }, plain],
    ];
    for (const [d, voucher] of odd) expect(outcome(() => hashVoucher(d, voucher))).toEqual(outcome(() => viemHash(d, voucher)));
  });

  it('signs the same bytes as viem signTypedData (RFC 6979), for private-key, HD and custom accounts', async () => {
    const hd = mnemonicToAccount('test test test test test test test test test test test junk');
    const custom = toAccount({
      address: buyer.address,
      signMessage: buyer.signMessage,
      signTransaction: buyer.signTransaction,
      signTypedData: buyer.signTypedData,
    });
    for (let i = 0; i < 40; i++) {
      const d = randomDomain(`s${i}`);
      const voucher = randomVoucher(`s${i}`);
      for (const account of [buyer, hd, custom]) {
        const expected = await account.signTypedData({ domain: paymentChannelsDomain(d), types: voucherTypes, primaryType: 'Voucher', message: voucher });
        expect((await signVoucher(account, d, voucher)).signature).toBe(expected);
      }
    }
  });

  it('verifies against a cached signer key with every check the recovery made', async () => {
    const payer = privateKeyToAccount(randomHex('cached payer'));
    const forger = privateKeyToAccount(randomHex('forger'));
    const strict = { ...check, signer: payer.address, previousCumulative: 0n, price: 1n, deposit: 1n << 255n };
    // Cold (recovery), then from the cached key, then with precomputed tables.
    for (let i = 1; i <= 5; i++) {
      const voucher = await signVoucher(payer, domain, { channelId, cumulativeAmount: BigInt(i), requestHash });
      expect(await verifyVoucher({ ...strict, voucher })).toBe(BigInt(i));
    }
    const voucher = await signVoucher(payer, domain, { channelId, cumulativeAmount: 10n, requestHash });
    const v = Number.parseInt(voucher.signature.slice(130), 16);
    const flippedV = `${voucher.signature.slice(0, 130)}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    // A canonical-looking twin with the other v: ecrecover gives someone else, so must the check.
    expect(isCanonicalSignature(flippedV)).toBe(true);
    const recoveredFlipped = await recoverVoucherSigner(domain, { ...voucher, signature: flippedV });
    await expect(verifyVoucher({ ...strict, voucher: { ...voucher, signature: flippedV } })).rejects.toThrow(`Recovered signer: ${recoveredFlipped}`);
    // Altered fields, another domain, another signer: all refused though the signer is cached.
    await expect(verifyVoucher({ ...strict, voucher: { ...voucher, cumulativeAmount: 11n } })).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(verifyVoucher({ ...strict, voucher: { ...voucher, channelId: requestHash } })).rejects.toMatchObject({ code: 'VoucherForged' });
    await expect(verifyVoucher({ ...strict, domain: { ...domain, chainId: 1 }, voucher })).rejects.toMatchObject({ code: 'VoucherForged' });
    const forged = await signVoucher(forger, domain, { channelId, cumulativeAmount: 10n, requestHash });
    await expect(verifyVoucher({ ...strict, voucher: forged })).rejects.toThrow(`Recovered signer: ${forger.address}`);
    // r = 0 and r ≥ n have no signer at all.
    const zeroR = `0x${'0'.repeat(64)}${voucher.signature.slice(66)}` as Hex;
    const bigR = `0x${'f'.repeat(64)}${voucher.signature.slice(66)}` as Hex;
    for (const signature of [zeroR, bigR]) {
      await expect(verifyVoucher({ ...strict, voucher: { ...voucher, signature } })).rejects.toThrow('The voucher signature is malformed.');
    }
    // The original still verifies after all that.
    expect(await verifyVoucher({ ...strict, voucher })).toBe(10n);
  });
});
