import { Command } from 'commander';
import { formatUnits } from 'viem';
import { startDevnet, DEV_FUNDING } from '@agora/node';
import { reportAndExit } from '../program.ts';

/** `agora up`: the local devnet (EVM node + every contract deployed + funded dev accounts). */
export function upCommand(): Command {
  return new Command('up')
    .description('start the local devnet: an EVM node, every Agora contract deployed, funded dev accounts')
    .option('--port <port>', 'RPC port of the EVM node (0 = any free port)', '8545')
    .option('--state-dir <dir>', 'where the deployment file is written', '.agora/devnet')
    .action(async (options: { port: string; stateDir: string }) => {
      const started = Date.now();
      const devnet = await startDevnet({
        port: Number(options.port),
        stateDir: options.stateDir,
        onProgress: (message) => process.stdout.write(`  ${message}\n`),
      }).catch(reportAndExit);
      const { deployment } = devnet;
      const lines = [
        '',
        `Agora devnet is up (${Date.now() - started} ms).`,
        '',
        `  RPC URL          ${devnet.rpcUrl}   (chain id ${deployment.chainId})`,
        `  Deployment file  ${devnet.deploymentFile}`,
        '',
        '  Contracts',
        ...Object.entries(deployment.contracts).map(([name, address]) => `    ${name.padEnd(17)}${address}`),
        '',
        `  Dev accounts (each funded with ${formatUnits(DEV_FUNDING, 6)} DevUSD; devnet keys, never use them elsewhere)`,
        ...devnet.accounts.map((a) => `    ${a.role.padEnd(11)}${a.account.address}  ${a.privateKey}`),
        '',
        'Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
      const reason = await new Promise<'signal' | 'chain-died'>((resolve) => {
        process.once('SIGINT', () => resolve('signal'));
        process.once('SIGTERM', () => resolve('signal'));
        devnet.anvil.process.once('exit', () => resolve('chain-died'));
      });
      if (reason === 'chain-died') {
        process.stderr.write('\nerror: the devnet EVM node (anvil) stopped unexpectedly; the network is down.\n');
        process.exit(1);
      }
      process.stdout.write('\nstopping the devnet…\n');
      await devnet.stop();
      process.stdout.write('stopped.\n');
    });
}
