import { describe, expect, it } from 'vitest';
import { startAnvil } from './anvil.ts';

describe('startAnvil', () => {
  it('starts a real EVM node on a free port, answers JSON-RPC, and stops', async () => {
    const anvil = await startAnvil({ chainId: 777 });
    try {
      const response = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      expect(await response.json()).toMatchObject({ result: '0x309' });
    } finally {
      await anvil.stop();
    }
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true);
    await anvil.stop(); // stopping twice is harmless
  });

  it('reports a port that is taken as a clear start failure, not a hang or a crash', async () => {
    const first = await startAnvil();
    try {
      await expect(startAnvil({ port: first.port, timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'AnvilStartFailed',
        fix: 'check that the port is free and that `npm ci` installed @foundry-rs/anvil.',
      });
    } finally {
      await first.stop();
    }
  });

  it('does not start when its signal is already aborted', async () => {
    await expect(startAnvil({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
  });
});
