import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { AgoraError } from '@agora/sdk';

const require = createRequire(import.meta.url);

/** Options for {@link startAnvil}. */
export type AnvilInit = {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  chainId?: number;
  /** Seconds between blocks; default: mine each transaction at once. */
  blockTime?: number;
  /**
   * With `blockTime`: also mine each transaction at once (anvil's mixed mining). Blocks then keep
   * coming when nobody transacts, as on a real chain: audits draw their verifiers from the hash
   * of a block mined after they were opened, and would otherwise wait for someone's transaction.
   */
  mixedMining?: boolean;
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

/**
 * How to run anvil: the binary of the `@foundry-rs/anvil-<platform>` npm package when npm installed
 * it, else the package's own launcher (which finds or installs the binary for other platforms).
 */
function anvilCommand(): { command: string; args: string[] } {
  try {
    return { command: anvilBinaryPath(), args: [] };
  } catch (err) {
    try {
      return { command: process.execPath, args: [require.resolve('@foundry-rs/anvil/bin.mjs')] };
    } catch {
      throw err;
    }
  }
}

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
  if (init.blockTime && init.mixedMining) args.push('--mixed-mining');
  const binary = anvilCommand();
  // Not detached, on purpose: in its own process group anvil would survive a SIGKILL of this
  // process (and hold its port for the next start). The price: a terminal's Ctrl-C reaches anvil
  // too, so the devnet's providers drain against a chain that is going away — harmless on a devnet,
  // whose state dies with it. It is also killed when this process exits, however it exits.
  const child = spawn(binary.command, [...binary.args, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  // 'close' also fires when the spawn itself failed (ENOENT, EACCES), unlike 'exit'.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  const killOnExit = () => {
    if (running()) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void closed.then(() => process.removeListener('exit', killOnExit));
  const stop = async () => {
    if (running()) child.kill('SIGTERM');
    await closed;
  };
  if (init.signal?.aborted) {
    child.kill('SIGTERM');
    await closed;
    throw new AgoraError('Aborted', 'Starting the devnet EVM node was cancelled.');
  }
  init.signal?.addEventListener('abort', () => void stop(), { once: true });

  let output = '';
  const port = await new Promise<number>((resolve, reject) => {
    const timeoutMs = init.timeoutMs ?? 15_000;
    const timer = setTimeout(() => fail(new Error(`no "Listening on" line within ${timeoutMs} ms`)), timeoutMs);
    let settled = false;
    const fail = (cause: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (running()) child.kill('SIGTERM');
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
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', fail);
    child.once('exit', (code, signal) => fail(new Error(`anvil exited (code ${code}, signal ${signal})`)));
  });
  // From here on only drain the pipes (so anvil never blocks on a full one) and keep memory flat.
  child.stdout?.removeAllListeners('data').resume();
  child.stderr?.removeAllListeners('data').resume();
  output = '';
  return { rpcUrl: `http://127.0.0.1:${port}`, port, chainId, process: child, stop };
}
