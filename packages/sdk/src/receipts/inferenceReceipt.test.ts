import { describe, expect, it } from 'vitest';
import { hashTypedData, keccak256, toHex, type Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { paymentChannelsDomain, type VoucherDomain } from '../vouchers/voucher.ts';
import {
  MAX_CANONICAL_JSON_DEPTH,
  canonicalJson,
  exceedsJsonDepth,
  hashCanonicalJson,
  hashInferenceReceipt,
  inferenceReceiptTypes,
  recoverInferenceReceiptSigner,
  signInferenceReceipt,
  verifyInferenceReceipt,
  type InferenceReceipt,
} from './inferenceReceipt.ts';

const provider = privateKeyToAccount(keccak256(toHex('provider key')));
const domain: VoucherDomain = { chainId: 31337, paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9' };
const h = (label: string) => keccak256(toHex(label));
const receiptOf = (i: number): InferenceReceipt => ({
  modelId: h(`model${i}`),
  inputHash: h(`input${i}`),
  paramsHash: h(`params${i}`),
  outputHash: h(`output${i}`).toUpperCase().replace('0X', '0x') as Hex,
  channelId: h(`channel${i}`),
  cumulativeAmount: BigInt(h(`amount${i}`)) >> BigInt(i % 256),
});
const typed = (receipt: InferenceReceipt, d: VoucherDomain = domain) =>
  ({ domain: paymentChannelsDomain(d), types: inferenceReceiptTypes, primaryType: 'InferenceReceipt', message: receipt }) as const;

describe('inference receipts', () => {
  it('hash and sign exactly as viem does', async () => {
    for (let i = 0; i < 100; i++) {
      const d = { chainId: i, paymentChannels: `0x${h(`contract${i}`).slice(26)}` as Hex };
      expect(hashInferenceReceipt(d, receiptOf(i))).toBe(hashTypedData(typed(receiptOf(i), d)));
    }
    for (let i = 0; i < 20; i++) {
      const signed = await signInferenceReceipt(provider, domain, receiptOf(i));
      expect(signed.signature).toBe(await provider.signTypedData(typed(receiptOf(i))));
      expect(signed.provider).toBe(provider.address);
      expect(await recoverInferenceReceiptSigner(domain, signed)).toBe(provider.address);
    }
    // Outside the plain form, viem's own answer.
    const odd = { ...receiptOf(1), inputHash: '0x12' as Hex };
    expect(() => hashInferenceReceipt(domain, odd)).toThrow(/Expected bytes32, got bytes1/);
  });

  it('verifies a receipt from the provider the call went to, and refuses any other', async () => {
    const signed = await signInferenceReceipt(provider, domain, receiptOf(1));
    for (let i = 0; i < 3; i++) await verifyInferenceReceipt({ domain, receipt: signed, provider: provider.address });
    const other = privateKeyToAccount(keccak256(toHex('other provider')));
    await expect(verifyInferenceReceipt({ domain, receipt: signed, provider: other.address })).rejects.toMatchObject({ code: 'ReceiptForged' });
    const claimed = { ...(await signInferenceReceipt(other, domain, receiptOf(1))), provider: provider.address };
    await expect(verifyInferenceReceipt({ domain, receipt: claimed, provider: provider.address })).rejects.toThrow(`Recovered signer: ${other.address}`);
    const altered = { ...signed, outputHash: h('another output') };
    await expect(verifyInferenceReceipt({ domain, receipt: altered, provider: provider.address })).rejects.toMatchObject({ code: 'ReceiptForged' });
    await expect(verifyInferenceReceipt({ domain: { ...domain, chainId: 1 }, receipt: signed, provider: provider.address })).rejects.toMatchObject({
      code: 'ReceiptForged',
    });
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const v = Number.parseInt(signed.signature.slice(130), 16);
    const highS = `0x${signed.signature.slice(2, 66)}${(n - BigInt(`0x${signed.signature.slice(66, 130)}`)).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex;
    await expect(verifyInferenceReceipt({ domain, receipt: { ...signed, signature: highS }, provider: provider.address })).rejects.toThrow(
      'not in canonical form',
    );
    await verifyInferenceReceipt({ domain, receipt: signed, provider: provider.address });
  });
});

describe('canonical JSON depth', () => {
  const nested = (depth: number) => JSON.parse(`${'['.repeat(depth)}0${']'.repeat(depth)}`) as unknown;

  it('measures nesting by containers, the outermost counting 1', () => {
    expect(exceedsJsonDepth(0, 0)).toBe(false);
    expect(exceedsJsonDepth({}, 0)).toBe(true);
    expect(exceedsJsonDepth({ a: [1, { b: 'x' }] }, 3)).toBe(false);
    expect(exceedsJsonDepth({ a: [1, { b: 'x' }] }, 2)).toBe(true);
    expect(exceedsJsonDepth(nested(64), 64)).toBe(false);
    expect(exceedsJsonDepth(nested(65), 64)).toBe(true);
    // The deep branch is found wherever it is, not only first.
    expect(exceedsJsonDepth({ a: 1, b: [[], [[[[]]]]] }, 5)).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(exceedsJsonDepth(cyclic, 1_000)).toBe(true);
  });

  it('refuses to hash a value nested past the limit with a typed error, not a stack overflow', () => {
    expect(hashCanonicalJson(nested(MAX_CANONICAL_JSON_DEPTH))).toMatch(/^0x[0-9a-f]{64}$/);
    for (const depth of [MAX_CANONICAL_JSON_DEPTH + 1, 10_000, 1_000_000]) {
      expect(() => canonicalJson(nested(depth))).toThrowError(expect.objectContaining({ name: 'AgoraError', code: 'JsonTooDeep' }));
    }
  });
});
