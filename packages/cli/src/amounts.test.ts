import { describe, expect, it } from 'vitest';
import { formatAmount, parseAmount } from './amounts.ts';

const six = { flag: '--amount', decimals: 6 };

describe('amounts', () => {
  it('reads tokens with up to the token decimals, or base units with --units', () => {
    expect(parseAmount('12.5', six)).toBe(12_500_000n);
    expect(parseAmount('0.000001', six)).toBe(1n);
    expect(parseAmount('.5', six)).toBe(500_000n);
    expect(parseAmount('7', six)).toBe(7_000_000n);
    expect(parseAmount('1.500000000', six)).toBe(1_500_000n); // trailing zeros lose nothing
    expect(parseAmount('12500000', { ...six, units: true })).toBe(12_500_000n);
    expect(parseAmount('100000000000000000000000000000', six)).toBe(10n ** 35n);
  });

  it('refuses what it would have to guess at, with the fix', () => {
    expect(() => parseAmount('0.0000001', six)).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: --amount 0.0000001 has more than the token's 6 decimals.

      Fix: round it to 6 decimals, or give base units with --units.]
    `);
    expect(() => parseAmount('-1', six)).toThrow('must be a non-negative decimal number of tokens, got "-1"');
    expect(() => parseAmount('1e6', six)).toThrow('got "1e6"');
    expect(() => parseAmount('12.5', { ...six, units: true })).toThrow('--amount must be a whole number of base units with --units, got "12.5"');
    expect(() => parseAmount('0', six)).toThrow('--amount must be above zero.');
    expect(() => parseAmount('', six)).toThrow('got ""');
  });

  it('formats base units as tokens', () => {
    expect(formatAmount(12_500_000n, { decimals: 6, symbol: 'DevUSD' })).toBe('12.5 DevUSD');
    expect(formatAmount(1_000n, { decimals: 6, symbol: 'DevUSD' })).toBe('0.001 DevUSD');
  });
});
