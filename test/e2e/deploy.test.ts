// `agora deploy` deploys the trust layer to any EVM node by URL: a freshly started devnet and a
// second, separately started node with another chain id. Nothing assumes the devnet.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keccak256, toHex } from 'viem';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { createTestClient, http, parseEther } from 'viem';
import { connectAgora, getModel, getProvider, parseDeployment, registerModel, registerProvider } from '@agora/sdk';
import { getDevAccount, startAnvil, type Anvil } from '@agora/node';
import { runCli } from '../support/cli.ts';

const nodes: Anvil[] = [];
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-deploy-'));
  nodes.push(await startAnvil({ chainId: 31337 }), await startAnvil({ chainId: 424242 }));
});
afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
});

describe('agora deploy', () => {
  it.each([
    ['a freshly started devnet', 0],
    ['a second, separately started EVM node with another chain id', 1],
  ])('deploys every contract to %s by URL and writes a deployment file the sdk can use', async (_name, index) => {
    const node = nodes[index]!;
    // A deployer key that is not one of anvil's dev accounts, funded by hand, as on a real chain.
    const deployerKey = generatePrivateKey();
    const deployer = privateKeyToAccount(deployerKey);
    await createTestClient({ mode: 'anvil', transport: http(node.rpcUrl) }).setBalance({ address: deployer.address, value: parseEther('10') });
    const keyFile = join(dir, `key-${index}`);
    writeFileSync(keyFile, deployerKey, { mode: 0o600 });
    const out = join(dir, `deployment-${node.chainId}.json`);

    // The first chain names an account as the court; the second gets the AuditCourt contract (the default).
    const auditCourt = index === 0 ? privateKeyToAccount(generatePrivateKey()).address : undefined;
    const courtFlags = auditCourt ? ['--audit-court', auditCourt] : ['--draw-timeout', '7200', '--jail-duration', '600'];
    const result = await runCli(['deploy', '--rpc-url', node.rpcUrl, '--key-file', keyFile, '--out', out, '--fee-bps', '100', ...courtFlags]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`deploying Agora to chain ${node.chainId}`);
    expect(result.stdout).not.toContain(deployerKey.slice(2)); // the key never reaches the output

    const deployment = parseDeployment(readFileSync(out, 'utf8'));
    expect(deployment.chainId).toBe(node.chainId);
    expect(deployment.deployer).toBe(deployer.address);
    expect(deployment.parameters.protocolFeeBps).toBe(100);
    if (auditCourt) {
      expect(deployment.parameters.auditCourt).toBe(auditCourt);
      expect(deployment.contracts.auditCourt).toBeUndefined();
    } else {
      expect(deployment.contracts.auditCourt).toBeDefined();
      expect(deployment.parameters.auditCourt).toBe(deployment.contracts.auditCourt);
      expect(deployment.parameters.audit).toMatchObject({ drawTimeout: 7_200n, jailDuration: 600n });
    }
    // ScoreRoots is independent of the court: deployed either way.
    expect(deployment.contracts.scoreRoots).toBeDefined();

    // connectAgora checks the chain id and that every contract has code; then the deployment works.
    const client = await connectAgora({ rpcUrl: node.rpcUrl, deployment, account: deployer, pollingInterval: 20 });
    const { modelId } = await registerModel(client, {
      weightsHash: keccak256(toHex(`weights on chain ${node.chainId}`)),
      runtime: 'llama.cpp',
      quantization: 'q4_k_m',
      format: 'gguf',
      verificationMode: 'tolerance',
    });
    expect((await getModel(client, { modelId })).verificationMode).toBe('tolerance');
    await registerProvider(client, { endpoint: 'https://provider.example' });
    expect((await getProvider(client, { provider: deployer.address })).registered).toBe(true);
  });

  it('refuses a deployment file for another chain with a clear error', async () => {
    const deployment = parseDeployment(readFileSync(join(dir, 'deployment-424242.json'), 'utf8'));
    await expect(connectAgora({ rpcUrl: nodes[0]!.rpcUrl, deployment })).rejects.toMatchObject({
      code: 'DeploymentChainMismatch',
      shortMessage: `The deployment is for chain 424242 but ${nodes[0]!.rpcUrl} is chain 31337.`,
    });
  });

  it('refuses broken parameters before spending gas', async () => {
    const env = { AGORA_PRIVATE_KEY: getDevAccount('deployer').privateKey };
    const zeroPeriod = await runCli(['deploy', '--rpc-url', nodes[0]!.rpcUrl, '--challenge-period', '0'], { env });
    expect(zeroPeriod.code).toBe(1);
    expect(zeroPeriod.stderr).toContain(
      'Refusing to deploy: challengePeriod is 0: a buyer could close a channel in the block it was served and its provider could never redeem.',
    );
    expect(zeroPeriod.stdout).not.toMatch(/token\s+0x/); // nothing was deployed

    // Each parameter that would let a cheater off or strand money, refused with its name and why.
    const refusals: [string[], string][] = [
      [['--challenge-window', '0'], 'Refusing to deploy: challengeWindow is 0: a job delivery would be paid out at once, before any audit can dispute it.'],
      [['--slash-amount', '0'], 'Refusing to deploy: audit.slashAmount is 0: a provider found cheating would lose nothing.'],
      [['--jail-duration', '0'], 'Refusing to deploy: audit.jailDuration is 0: a provider found cheating could take new work in the same block.'],
      [['--draw-timeout', '0'], 'Refusing to deploy: audit.drawTimeout is 0: an audit would be cancelled before its verifiers could be drawn.'],
      [['--min-stake', '5000000', '--verifier-penalty', '5000001'], 'Refusing to deploy: audit.verifierPenalty (5000001) is above minStake (5000000)'],
      // Shorter than an audit can take: drawTimeout + 2 × (commit + reveal) + escalation = 104,400 s at the defaults.
      [['--unbonding-delay', '104399'], 'Refusing to deploy: unbondingDelay (104399 s) is shorter than an audit can take'],
    ];
    for (const [flags, message] of refusals) {
      const refused = await runCli(['deploy', '--rpc-url', nodes[0]!.rpcUrl, ...flags], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(message);
      expect(refused.stdout).not.toMatch(/token\s+0x/); // nothing was deployed
    }
  });

  it('explains a missing key and an unreachable node instead of crashing', async () => {
    const noKey = await runCli(['deploy', '--rpc-url', nodes[0]!.rpcUrl], { env: { AGORA_PRIVATE_KEY: '' } });
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toContain('No deployer key given.');
    expect(noKey.stderr).toContain('Fix: set AGORA_PRIVATE_KEY or pass --key-file');

    const unreachable = await runCli(['deploy', '--rpc-url', 'http://127.0.0.1:9'], {
      env: { AGORA_PRIVATE_KEY: getDevAccount('deployer').privateKey },
    });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toContain('Cannot reach the chain at http://127.0.0.1:9.');

    const secretUrl = await runCli(['deploy', '--rpc-url', 'http://127.0.0.1:9/v2/SECRET-API-KEY'], {
      env: { AGORA_PRIVATE_KEY: getDevAccount('deployer').privateKey },
    });
    expect(secretUrl.stderr).toContain('Cannot reach the chain at http://127.0.0.1:9/….');
    expect(secretUrl.stderr + secretUrl.stdout).not.toContain('SECRET-API-KEY');

    const badKeyFile = await runCli(['deploy', '--rpc-url', nodes[0]!.rpcUrl, '--key-file', '/nonexistent/key']);
    expect(badKeyFile.code).toBe(1);
    expect(badKeyFile.stderr).toContain('Cannot read the key file /nonexistent/key.');
  });
});
