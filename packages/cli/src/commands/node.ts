import { Command } from 'commander';
import { reportAndExit } from '../program.ts';
import { addKeyOptions, loadPrivateKey, type KeySourceOptions } from '../keys.ts';
import { onInterrupt } from '../interrupt.ts';

type NodeOptions = KeySourceOptions & { config?: string; rpcUrl?: string; deployment?: string; stateDir?: string; port?: string };

/** `agora node`: run a provider daemon against any chain (RPC URL + deployment file + key). */
export function nodeCommand(): Command {
  return addKeyOptions(new Command('node'), 'provider')
    .description('run a provider node: serve models, take vouchers, redeem them (see docs/provider.md)')
    .option('--config <file>', 'JSON config file (models, prices, ports, stake)')
    .option('--rpc-url <url>', 'JSON-RPC URL of the chain (overrides the config and $AGORA_RPC_URL)')
    .option('--deployment <file>', 'deployment file written by `agora deploy` or `agora up`')
    .option('--state-dir <dir>', 'where the node keeps its voucher store')
    .option('--port <port>', 'port of the provider API')
    .action(async (options: NodeOptions) => {
      // Signals are handled from the start: one asks for a drain (after start finishes, if it is
      // still starting); a second one exits at once, which loses nothing because every
      // acknowledged voucher is on disk and the next start redeems it. One Ctrl-C under
      // `npm run agora` arrives twice (from the terminal and relayed by npm): onInterrupt counts it once.
      const stopRequested = onInterrupt({
        onForce: 'exiting without draining: stored vouchers are redeemed at the next start.',
        stopWithParent: process.env.npm_lifecycle_event !== undefined,
      });
      try {
        // Loaded here, not at the top: @agora/node pulls in the model runtimes, which every other command would pay for.
        const { loadNodeConfig, startNode } = await import('@agora/node');
        const config = loadNodeConfig({
          ...(options.config ? { file: options.config } : {}),
          env: process.env,
          overrides: {
            rpcUrl: options.rpcUrl,
            deploymentFile: options.deployment,
            stateDir: options.stateDir,
            'provider.port': options.port === undefined ? undefined : Number(options.port),
          },
        });
        const node = await startNode(config, { privateKey: await loadPrivateKey(options, 'provider') });
        if (node.models.length > 0) process.stdout.write(`agora node ${node.address} serving ${node.models.map((m) => m.descriptor.name).join(', ')} at ${node.url}\n`);
        if (node.gatewayUrl) process.stdout.write(`agora node ${node.address} gateway (OpenAI API) at ${node.gatewayUrl}/v1\n`);
        await stopRequested;
        process.stdout.write('draining: redeeming every voucher before exit (Ctrl-C again to exit now)…\n');
        await node.stop();
        process.stdout.write('stopped.\n');
      } catch (err) {
        reportAndExit(err);
      }
    });
}
