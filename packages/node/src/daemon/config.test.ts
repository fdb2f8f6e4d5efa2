import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadNodeConfig } from './config.ts';

const base = { rpcUrl: 'http://127.0.0.1:8545', deploymentFile: 'deployment.json', stateDir: '.agora/node' };

function configFile(content: unknown): string {
  const file = join(mkdtempSync(join(tmpdir(), 'agora-config-')), 'node.json');
  writeFileSync(file, JSON.stringify(content));
  return file;
}

describe('loadNodeConfig', () => {
  it('switches roles on by section: provider, gateway, or both', () => {
    const gatewayOnly = loadNodeConfig({ file: configFile({ ...base, gateway: { apiKeys: [{ name: 'alice', key: 'sk-alice-0123456789abcdef', spendLimit: '5000000' }] } }) });
    expect(gatewayOnly.provider).toBeUndefined();
    expect(gatewayOnly.gateway).toMatchObject({ port: 8080, channelDeposit: 10_000_000n, maxChannelsPerProvider: 4 });
    expect(gatewayOnly.gateway!.apiKeys[0]!.spendLimit).toBe(5_000_000n);

    const both = loadNodeConfig({ file: configFile({ ...base, provider: { models: [{ kind: 'ocr', price: 3000 }] }, gateway: {} }) });
    expect(both.provider!.port).toBe(8001);
    expect(both.gateway!.apiKeys).toEqual([]);
  });

  it('refuses a node with no role, and API keys given both ways or neither, naming each problem', () => {
    expect(() => loadNodeConfig({ file: configFile(base) })).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The node configuration is invalid.

      Fix: fix the fields listed below in the config file, environment or flags.

        (root): switch on at least one role: a provider section, a gateway section, or both]
    `);
    const keyHash = 'a'.repeat(64);
    expect(() =>
      loadNodeConfig({ file: configFile({ ...base, gateway: { apiKeys: [{ name: 'x', key: 'sk-0123456789abcdef', keyHash, spendLimit: 1 }, { name: 'y', spendLimit: 1 }] } }) }),
    ).toThrow(/gateway\.apiKeys\.0: give exactly one of key or keyHash[\s\S]*gateway\.apiKeys\.1: give exactly one of key or keyHash/);
  });

  it('takes a royalty cap per model, refusing one outside 0-3000 bps by its path', () => {
    const capped = loadNodeConfig({ file: configFile({ ...base, provider: { models: [{ kind: 'ocr', price: 3000, maxRoyaltyBps: 500 }] } }) });
    expect(capped.provider!.models[0]!.maxRoyaltyBps).toBe(500);
    expect(() => loadNodeConfig({ file: configFile({ ...base, provider: { models: [{ kind: 'ocr', price: 3000, maxRoyaltyBps: 3001 }] } }) })).toThrow(
      /provider\.models\.0\.maxRoyaltyBps/,
    );
  });

  it('lets the environment override the file', () => {
    const config = loadNodeConfig({ file: configFile({ ...base, gateway: {} }), env: { AGORA_RPC_URL: 'http://10.0.0.1:8545', AGORA_STATE_DIR: '/var/agora' } });
    expect(config).toMatchObject({ rpcUrl: 'http://10.0.0.1:8545', stateDir: '/var/agora' });
  });
});
