import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createWalletClient, http } from 'viem';
import {
  chainFor,
  createAgoraClient,
  deployAgora,
  mintDevUsd,
  serializeDeployment,
  type AgoraContracts,
  type DeployAgoraParameters,
  type Deployment,
} from '@agora/sdk';
import { startAnvil, type Anvil, type AnvilInit } from './anvil.ts';
import { getDevAccount, getDevAccounts, type DevAccount } from './devAccounts.ts';

/** DevUSD each devnet account starts with: 1,000,000 tokens. */
export const DEV_FUNDING = 1_000_000n * 10n ** 6n;

export type StartDevnetInit = AnvilInit & {
  /** Folder where `deployment.json` is written; nothing is written when omitted. */
  stateDir?: string;
  /** Deploy parameter overrides (e.g. a short challenge period for tests). */
  deploy?: Omit<DeployAgoraParameters, 'onProgress' | 'token'>;
  onProgress?: (message: string) => void;
};

/** A running devnet: an EVM node with the trust layer deployed and dev accounts funded. */
export type Devnet = {
  anvil: Anvil;
  rpcUrl: string;
  deployment: Deployment;
  accounts: DevAccount[];
  /** Where the deployment file was written, if a stateDir was given. */
  deploymentFile: string | undefined;
  stop(): Promise<void>;
};

/**
 * Starts anvil, deploys every contract (the AuditCourt included, as the registry's only jailer and
 * slasher) and funds the dev accounts with DevUSD. The deployer is account 0. Tests that need an
 * account to jail or slash directly pass `deploy: { auditCourt: <the auditCourt dev account> }`,
 * which deploys no AuditCourt.
 *
 * @example
 * const devnet = await startDevnet({ stateDir: '.agora/devnet' })
 * console.log(devnet.deployment.contracts)
 * await devnet.stop()
 */
export async function startDevnet(init: StartDevnetInit = {}): Promise<Devnet> {
  const progress = init.onProgress ?? (() => {});
  const anvil = await startAnvil(init);
  try {
    progress(`EVM node (anvil) listening on ${anvil.rpcUrl}, chain id ${anvil.chainId}`);
    const deployer = getDevAccount('deployer');
    const chain = chainFor(anvil.chainId, anvil.rpcUrl);
    const wallet = createWalletClient({ account: deployer.account, chain, transport: http(anvil.rpcUrl), pollingInterval: 50 });
    const deployment = await deployAgora(wallet, {
      treasury: getDevAccount('treasury').account.address,
      ...init.deploy,
      onProgress: ({ contract, address }: { contract: keyof AgoraContracts; address: string }) => progress(`deployed ${contract} at ${address}`),
    });
    const client = createAgoraClient({ transport: http(anvil.rpcUrl), chain, deployment, account: deployer.account, pollingInterval: 50 });
    const accounts = getDevAccounts();
    for (const { account } of accounts) await mintDevUsd(client, { to: account.address, amount: DEV_FUNDING });
    progress(`funded ${accounts.length} dev accounts with ${DEV_FUNDING / 10n ** 6n} DevUSD each`);

    let deploymentFile: string | undefined;
    if (init.stateDir) {
      mkdirSync(init.stateDir, { recursive: true });
      deploymentFile = join(init.stateDir, 'deployment.json');
      writeFileSync(deploymentFile, serializeDeployment(deployment));
    }
    return { anvil, rpcUrl: anvil.rpcUrl, deployment, accounts, deploymentFile, stop: anvil.stop };
  } catch (err) {
    await anvil.stop();
    throw err;
  }
}
