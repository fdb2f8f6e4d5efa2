import { createTestClient, http, publicActions } from 'viem';
import { createAgoraClient, type AgoraWalletClient } from '@agora/sdk';
import { getDevAccount, startDevnet, type DevRole, type Devnet, type StartDevnetInit } from '@agora/node';

/** A devnet for one test file, with a client per dev role and time travel. */
export type TestDevnet = Devnet & {
  /** A wallet client acting as the dev account of `role`. */
  as(role: DevRole): AgoraWalletClient;
  /** Moves chain time forward by `seconds` and mines a block. */
  increaseTime(seconds: bigint | number): Promise<void>;
  /** The latest block's timestamp. */
  now(): Promise<bigint>;
};

/**
 * Starts a fresh devnet (own anvil on a free port, contracts deployed, accounts funded) so every
 * test file gets clean chain state. Short challenge periods keep time-travel small.
 */
export async function startTestDevnet(init: StartDevnetInit = {}): Promise<TestDevnet> {
  const devnet = await startDevnet({
    ...init,
    // The unbonding delay stays the default 7 days: the court requires it to outlast an audit (time travel is free).
    deploy: { challengeWindow: 600n, challengePeriod: 3600n, ...init.deploy },
  });
  const testClient = createTestClient({ mode: 'anvil', transport: http(devnet.rpcUrl) }).extend(publicActions);
  const clients = new Map<DevRole, AgoraWalletClient>();
  return {
    ...devnet,
    as(role) {
      let client = clients.get(role);
      if (!client) {
        client = createAgoraClient({
          transport: http(devnet.rpcUrl),
          deployment: devnet.deployment,
          account: getDevAccount(role).account,
          pollingInterval: 20,
        });
        clients.set(role, client);
      }
      return client;
    },
    async increaseTime(seconds) {
      await testClient.increaseTime({ seconds: Number(seconds) });
      await testClient.mine({ blocks: 1 });
    },
    async now() {
      return (await testClient.getBlock()).timestamp;
    },
  };
}
