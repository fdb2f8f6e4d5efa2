// `npm start` (= `agora up`) brings up the devnet: an EVM node with every contract deployed,
// prints the addresses, writes a deployment file that works, and stops cleanly on Ctrl-C.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { connectAgora, getTokenBalance, parseDeployment } from '@agora/sdk';
import { DEV_FUNDING, getDevAccount } from '@agora/node';
import { startCli } from '../support/cli.ts';

describe('agora up', () => {
  it('starts the chain, deploys every contract, prints the addresses and stops on SIGINT', async () => {
    const stateDir = mkdtempSync(join(tmpdir(), 'agora-up-'));
    const { child, output } = await startCli(['up', '--port', '0', '--state-dir', stateDir], /Press Ctrl-C to stop/);
    try {
      const text = output();
      const rpcUrl = /RPC URL\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(text)?.[1];
      expect(rpcUrl).toBeDefined();
      const deployment = parseDeployment(readFileSync(join(stateDir, 'deployment.json'), 'utf8'));
      for (const [name, address] of Object.entries(deployment.contracts)) {
        expect(text).toMatch(new RegExp(`${name}\\s+${address}`));
      }
      const client = await connectAgora({ rpcUrl: rpcUrl!, deployment });
      expect(await getTokenBalance(client, { account: getDevAccount('buyer1').account.address })).toBe(DEV_FUNDING);
    } finally {
      child.kill('SIGINT');
    }
    const [code] = await once(child, 'exit');
    expect(code).toBe(0);
    expect(output()).toContain('stopped.');
  });
});
