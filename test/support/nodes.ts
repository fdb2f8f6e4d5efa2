import { nodeConfigSchema, type NodeConfig } from '@agora/node';
import type { TestDevnet } from './devnet.ts';

/**
 * A provider node's config on a test devnet: its chain and deployment, its own state folder, a
 * free port and silent logs; `provider` adds the models and whatever the test tunes.
 *
 * @example
 * const node = await startNode(providerNodeConfig(devnet, { stateDir, provider: { models } }), { privateKey })
 */
export function providerNodeConfig(devnet: TestDevnet, { stateDir, provider, logLevel = 'silent' }: { stateDir: string; provider: Record<string, unknown>; logLevel?: string }): NodeConfig {
  return nodeConfigSchema.parse({
    rpcUrl: devnet.rpcUrl,
    deploymentFile: devnet.deploymentFile,
    stateDir,
    logLevel,
    provider: { port: 0, ...provider },
  });
}
