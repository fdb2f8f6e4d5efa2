import { Command } from 'commander';
import { AgoraError } from '@agora/sdk';
import { upCommand } from './commands/up.ts';
import { deployCommand } from './commands/deploy.ts';
import { nodeCommand } from './commands/node.ts';
import { jobCommand } from './commands/job.ts';
import { keysCommand } from './commands/keys.ts';
import { providerCommand } from './commands/provider.ts';
import { channelCommand } from './commands/channel.ts';
import { modelsCommand } from './commands/models.ts';
import { providersCommand } from './commands/providers.ts';

/** The `agora` command line: each command parses, calls one function and prints. */
export function createProgram(): Command {
  const program = new Command('agora')
    .description('Agora: a decentralized AI network. Serve models, buy inference, verify results.')
    .showHelpAfterError();
  program.addCommand(upCommand());
  program.addCommand(deployCommand());
  program.addCommand(nodeCommand());
  program.addCommand(jobCommand());
  program.addCommand(keysCommand());
  program.addCommand(providerCommand());
  program.addCommand(channelCommand());
  program.addCommand(modelsCommand());
  program.addCommand(providersCommand());
  program.hook('preAction', () => {
    process.on('unhandledRejection', reportAndExit);
  });
  program.exitOverride((err) => {
    process.exit(err.exitCode);
  });
  return program;
}

/** Prints an error the way users should see it (message, fix, no stack) and exits 1. */
export function reportAndExit(err: unknown): never {
  if (err instanceof AgoraError) process.stderr.write(`error: ${err.message}\n`);
  else process.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
