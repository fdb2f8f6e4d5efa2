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
  /**
   * The process that runs anvil: on Linux and macOS a small shell that ends anvil with this process
   * (see {@link spawnWithLifeline}) and exits with anvil's status; anvil itself elsewhere.
   */
  process: ChildProcess;
  /** Stops the node; resolves when anvil has exited. */
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

/** Where a POSIX shell runs the lifeline; Windows has none and runs anvil directly. */
const LIFELINE_SUPPORTED = process.platform !== 'win32';

/**
 * The shell around anvil (argv: the anvil command line). Its stdin is the lifeline: a pipe whose
 * only write end this process holds, so it reads EOF the moment this process is gone, however it
 * went (exit, crash, SIGKILL). A watcher then kills the whole process group: anvil, the shell and
 * itself. A SIGTERM/SIGINT/SIGHUP to the shell is passed on to anvil; the shell waits for anvil
 * and exits with its status, so the caller's 'exit' means anvil's exit.
 *
 * Details that matter: the watcher starts first, so no moment exists in which anvil runs
 * unwatched; an asynchronous list's stdin would be /dev/null, hence the lifeline goes to it through
 * fd 3, which everything else then closes; a signal that comes before anvil's pid is known is
 * remembered and passed on once it is; `wait` returns early when a trapped signal arrives, so it
 * is repeated until anvil has really exited.
 */
const LIFELINE_SCRIPT = `
exec 3<&0 </dev/null
{ while read -r _; do :; done; kill -KILL 0; } <&3 >/dev/null 2>&1 &
watcher=$!
exec 3<&-
anvil=
trap 'trapped=1; [ -z "$anvil" ] || kill -TERM "$anvil" 2>/dev/null' TERM INT HUP
"$@" &
anvil=$!
[ -z "$trapped" ] || kill -TERM "$anvil" 2>/dev/null
while :; do
  trapped=
  wait "$anvil"
  status=$?
  [ -n "$trapped" ] || break
done
kill "$watcher" 2>/dev/null
wait "$watcher"
exit "$status"
`;

/**
 * Spawns anvil so that it neither hears the terminal nor outlives this process.
 *
 * In its own process group (detached), a terminal's Ctrl-C, which goes to the whole foreground
 * group, does not reach it: the caller stops it last, after the providers have redeemed against
 * it, instead of the chain vanishing under them. A process of its own group is, however, also
 * spared when this process dies without cleaning up (SIGKILL, a crash, a test runner killing its
 * worker), and would keep its port; the lifeline of {@link LIFELINE_SCRIPT} ends it then.
 */
function spawnWithLifeline(command: string, args: string[]): ChildProcess {
  if (!LIFELINE_SUPPORTED) return spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const child = spawn('/bin/sh', ['-c', LIFELINE_SCRIPT, 'anvil-lifeline', command, ...args], {
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  // Nothing is ever written: the pipe only has to stay open for as long as this process lives.
  // An error on it (the shell gone) means nothing more than the 'exit' that follows.
  child.stdin!.on('error', () => {});
  return child;
}

/** Signals every process of a group, ignoring a group that is already gone. */
function killGroup(pgid: number, signal: NodeJS.Signals) {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left to kill.
  }
}

/**
 * Starts a real EVM node (anvil) on loopback and resolves once it answers. Tests start one per
 * file so each gets clean state; `stop()` ends it. A terminal's Ctrl-C does not reach it (the
 * caller decides when the chain stops), and it never outlives this process, however this process
 * ends (see {@link spawnWithLifeline}).
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
  const child = spawnWithLifeline(binary.command, [...binary.args, ...args]);
  // 'close' also fires when the spawn itself failed (ENOENT, EACCES), unlike 'exit'.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const running = () => child.pid !== undefined && child.exitCode === null && child.signalCode === null;
  // The lifeline already ends anvil once this process is gone; killing it here as well means it
  // is gone by the time this process's exit is seen (a test's process listing, a restart on the same port).
  const killOnExit = () => {
    if (running() && LIFELINE_SUPPORTED) killGroup(child.pid!, 'SIGKILL');
    else if (running()) child.kill('SIGKILL');
  };
  process.once('exit', killOnExit);
  void closed.then(() => process.removeListener('exit', killOnExit));
  const stop = async () => {
    if (running()) child.kill('SIGTERM');
    await closed;
  };
  if (init.signal?.aborted) {
    await stop();
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
