import { Command } from 'commander';
import { formatUnits } from 'viem';
import { reportAndExit } from '../program.ts';
import { onInterrupt } from '../interrupt.ts';

const port = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new Error(`"${value}" is not a port number (0–65535).`);
  return n;
};

/**
 * `agora up` (= `npm start`): a whole Agora network on this machine — EVM node, contracts, three
 * provider daemons and the OpenAI-compatible gateway.
 */
export function upCommand(): Command {
  return new Command('up')
    .description('start a local Agora network: an EVM node with every contract, three providers serving real models, and the OpenAI-compatible gateway')
    .option('--port <port>', 'RPC port of the EVM node (0 = any free port)', '8545')
    .option('--gateway-port <port>', 'port of the gateway (0 = any free port)', '8080')
    .option('--provider-port <port>', 'port of the first provider; the others use the next ones (0 = any free ports)', '8001')
    .option('--state-dir <dir>', 'where the deployment file, the generated models and the daemons’ state go', '.agora/devnet')
    .option('--log-level <level>', 'level of the daemons’ JSON logs (fatal, error, warn, info, debug)', 'warn')
    .action(async (options: { port: string; gatewayPort: string; providerPort: string; stateDir: string; logLevel: string }) => {
      const stopRequested = onInterrupt({
        onForce: 'exiting at once: the providers did not redeem what they are owed (the devnet chain goes away anyway).',
        // Run by npm (`npm start`), the network goes when npm goes, even if npm was killed with SIGKILL.
        stopWithParent: process.env.npm_lifecycle_event !== undefined,
      });
      // Ctrl-C during start-up stops it at the next step (a model build or a daemon start finishes first).
      const startup = new AbortController();
      void stopRequested.then(() => startup.abort(new Error('interrupted')));
      const started = Date.now();
      // Loaded here, not at the top: @agora/node pulls in the model runtimes, which every other command would pay for.
      const { startLocalNetwork, DEV_FUNDING, DEVNET_GATEWAY_ROLE, DEVNET_API_KEY_LIMIT } = await import('@agora/node');
      const network = await startLocalNetwork({
        stateDir: options.stateDir,
        rpcPort: port(options.port),
        gatewayPort: port(options.gatewayPort),
        providerBasePort: port(options.providerPort),
        logLevel: options.logLevel as 'warn',
        onProgress: (message) => process.stdout.write(`  ${message}\n`),
        signal: startup.signal,
      }).catch((err: unknown) => {
        if (!startup.signal.aborted) return reportAndExit(err);
        process.stdout.write('\nstopped during start-up.\n');
        process.exit(130);
      });
      const { devnet, gateway, apiKey } = network;
      const { deployment } = devnet;
      const baseURL = `${gateway.url}/v1`;
      const lines = [
        '',
        `Agora is up (${((Date.now() - started) / 1000).toFixed(1)} s).`,
        '',
        `  Gateway (OpenAI API)  ${baseURL}`,
        `  API key               ${apiKey}   (may spend ${formatUnits(DEVNET_API_KEY_LIMIT, 6)} DevUSD; paid from ${DEVNET_GATEWAY_ROLE}'s wallet)`,
        `  RPC URL               ${devnet.rpcUrl}   (chain id ${deployment.chainId})`,
        `  Deployment file       ${devnet.deploymentFile}`,
        `  Audits                the gateway audits a sample of calls in AuditCourt and sends hidden digit canaries;`,
        `                        the providers verify each other; scores with proofs at ${gateway.url}/scores`,
        '',
        '  Providers',
        ...[...network.providers].sort((a, b) => a.role.localeCompare(b.role)).map((p) => `    ${p.role.padEnd(10)} ${p.url}  ${p.address}  ${p.models.map((m) => `${m.descriptor.name} ${m.pricePerCall}`).join(', ')}`),
        '',
        '  Contracts',
        ...Object.entries(deployment.contracts).map(([name, address]) => `    ${name.padEnd(17)}${address}`),
        '',
        `  Dev accounts (each funded with ${formatUnits(DEV_FUNDING, 6)} DevUSD; devnet keys, never use them elsewhere)`,
        ...devnet.accounts.map((a) => `    ${a.role.padEnd(11)}${a.account.address}  ${a.privateKey}`),
        '',
        '  Try it:',
        `    curl ${baseURL}/chat/completions \\`,
        `      -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\`,
        `      -d '{"model": "agora/tiny-llama", "messages": [{"role": "user", "content": "Hello!"}], "max_tokens": 16}'`,
        '',
        `    import OpenAI from 'openai';`,
        `    const openai = new OpenAI({ baseURL: '${baseURL}', apiKey: '${apiKey}' });`,
        `    const chat = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages: [{ role: 'user', content: 'Hello!' }] });`,
        '',
        'Press Ctrl-C to stop.',
        '',
      ];
      process.stdout.write(lines.join('\n'));
      // anvil runs in its own process group, so a Ctrl-C does not reach it and the chain stops last,
      // in order. Exiting before a stop was asked for is therefore a real failure; once the stop has
      // begun, the chain's exit is part of it.
      const reason = await Promise.race([
        stopRequested,
        new Promise<'chain-died'>((resolve) => devnet.anvil.process.once('exit', () => resolve('chain-died'))),
      ]);
      if (reason === 'chain-died') {
        process.stderr.write('\nerror: the devnet EVM node (anvil) stopped unexpectedly; the network is down.\n');
        await network.stop().catch(() => {});
        process.exit(1);
      }
      if (reason === 'parent-gone') process.stdout.write('\nnpm, which ran this network, is gone.');
      process.stdout.write('\nstopping: gateway, providers, then the chain (its state goes with it)… (Ctrl-C again to exit now)\n');
      await network.stop();
      process.stdout.write('stopped.\n');
      process.exit(0);
    });
}
