import { describe, expect, it } from 'vitest';
import { formatTime, parseAddress } from './connect.ts';
import { getModelName } from '@agora/sdk';

describe('cli helpers', () => {
  it('shows times against chain time', () => {
    expect(formatTime(0n, 100n)).toBe('-');
    expect(formatTime(1_700_003_600n, 1_700_000_000n)).toBe('2023-11-14T23:13:20Z (in 1h 0m)');
    expect(formatTime(1_700_000_000n, 1_700_000_090n)).toBe('2023-11-14T22:13:20Z (1m 30s ago)');
    expect(formatTime(1_700_000_000n + 86_400n * 7n, 1_700_000_000n)).toMatch(/\(in 7d 0h\)$/);
  });

  it('checks addresses, including EIP-55 checksums, and returns them checksummed', () => {
    expect(parseAddress('0x90f79bf6eb2c4f870365e785982e1f101e93b906', '--provider')).toBe('0x90F79bf6EB2c4f870365E785982E1f101E93b906');
    expect(() => parseAddress('0x90F79bf6EB2c4f870365E785982E1f101E93b907'.replace('F79', 'f79'), '--provider')).toThrow('--provider is not an address');
    expect(() => parseAddress('0x1234', '--provider')).toThrow('--provider is not an address: "0x1234".');
  });

  it('reads model names from agora://models/ metadata URIs only', () => {
    expect(getModelName({ metadataURI: 'agora://models/digits' })).toBe('digits');
    expect(getModelName({ metadataURI: 'agora://models/llama/q4' })).toBe('llama/q4');
    expect(getModelName({ metadataURI: 'agora://models/' })).toBeUndefined();
    expect(getModelName({ metadataURI: 'ipfs://bafy…' })).toBeUndefined();
  });
});
