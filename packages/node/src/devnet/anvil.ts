import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { once } from 'node:events';
import { AgoraError } from '@agora/sdk';

const require = createRequire(import.meta.url);

/** Options for {@link startAnvil}. */
export type AnvilInit = {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  chainId?: number;
  /** Seconds between blocks; default: mine each transaction at once. */
  blockTime?: number;
  /** Number of funded dev accounts (default 10). */
  accounts?: number;
  /** Start-up timeout, ms. */
  timeoutMs?: number;
  signal?: AbortSignal;
};

/** A running anvil node. */
export type Anvil = {
  rpcUrl: string;
  port: number;
  chainId: number;
  process: ChildProcess;
  /** Stops the node; resolves when the process has exited. */
  stop(): Promise<void>;
};

const PLATFORM_PACKAGES: Record<string, string> = {
  'linux-x64': 'linux-amd64',
  'linux-arm64': 'linux-arm64',
  'darwin-x64': 'darwin-amd64',
  'darwin-arm64': 'darwin-arm64',
  'win32-x64': 'win32-amd64',
};

/** Path of the anvil binary shipped in the `@foundry-rs/anvil-<platform>` npm package. */
export function anvilBinaryPath(): string {
  const suffix = PLATFORM_PACKAGES[`${process.platform}-${process.arch}`];
  if (!suffix) {
    throw new AgoraError('UnsupportedPlatform', `anvil has no build for ${process.platform}-${process.arch}.`, {
      fix: 'run the devnet on Linux or macOS (x64/arm64), or point Agora at another EVM node with --rpc-url.',
    });
  }
  const binary = process.platform === 'win32' ? 'anvil.exe' : 'anvil';
  try {
    return require.resolve(`@foundry-rs/anvil-${suffix}/bin/${binary}`);
  } catch (cause) {
    throw new AgoraError('AnvilMissing', 'The anvil binary is not installed.', {
      cause,
      fix: 'run `npm ci` at the repository root (it installs @foundry-rs/anvil).',
    });
  }
}

/**
 * Starts a real EVM node (anvil) on loopback and resolves once it answers. Tests start one per
 * file so each gets clean state; `stop()` kills it.
 *
 * @example
 * const anvil = await startAnvil({ chainId: 31337 })
 * try { ... } finally { await anvil.stop() }
 */
export async function startAnvil(init: AnvilInit = {}): Promise<Anvil> {
  const chainId = init.chainId ?? 31337;
  const args = [
    '--host', '127.0.0.1',
    '--port', String(init.port ?? 0),
    '--chain-id', String(chainId),
    '--accounts', String(init.accounts ?? 10),
  ];
  if (init.blockTime) args.push('--block-time', String(init.blockTime));
  const child = spawn(anvilBinaryPath(), args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
  };
  init.signal?.addEventListener('abort', () => void stop(), { once: true });

  let started = false;
  const port = await new Promise<number>((resolve, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`no "Listening on" line within ${init.timeoutMs ?? 15_000} ms`)), init.timeoutMs ?? 15_000);
    const fail = (cause: unknown) => {
      clearTimeout(timer);
      void stop();
      reject(
        new AgoraError('AnvilStartFailed', 'The devnet EVM node (anvil) did not start.', {
          cause,
          metaMessages: output ? [`anvil said: ${output.slice(-500)}`] : [],
          fix: 'check that the port is free and that `npm ci` installed @foundry-rs/anvil.',
        }),
      );
    };
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /Listening on [\d.]+:(\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        // Keep draining output so anvil never blocks on a full pipe.
        child.stdout?.resume();
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code) => {
      if (!started) fail(new Error(`anvil exited with code ${code}`));
    });
  });
  started = true;
  child.stderr?.resume();
  return { rpcUrl: `http://127.0.0.1:${port}`, port, chainId, process: child, stop };
}
