import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { getAddress, isAddress, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getBlock } from 'viem/actions';
import { AgoraError, connectAgora, parseDeployment, type AgoraClient, type AgoraWalletClient, type Deployment } from '@agora/sdk';
import { redactRpcUrl } from './commands/deploy.ts';
import { reportAndExit } from './program.ts';
import { loadPrivateKey, type KeySourceOptions } from './keys.ts';

/** Where `agora up` writes the devnet's deployment file. */
export const DEFAULT_DEPLOYMENT_FILE = '.agora/devnet/deployment.json';
export const DEFAULT_RPC_URL = 'http://127.0.0.1:8545';

/** The flags every chain command takes. */
export type ChainOptions = { rpcUrl: string; deployment: string; json?: boolean };

/** Adds `--rpc-url`, `--deployment` and `--json` to a command. */
export function addChainOptions(command: Command): Command {
  return command
    .addOption(new Option('--rpc-url <url>', 'JSON-RPC URL of the chain').env('AGORA_RPC_URL').default(DEFAULT_RPC_URL))
    .addOption(new Option('--deployment <file>', 'deployment file written by `agora up` or `agora deploy`').env('AGORA_DEPLOYMENT').default(DEFAULT_DEPLOYMENT_FILE))
    .option('--json', 'print one JSON object for scripts instead of text');
}

/** Reads the deployment file named by `--deployment`. */
export function readDeploymentFile(file: string): Deployment {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new AgoraError('MissingDeployment', `Cannot read the deployment file ${file}.`, {
      cause,
      fix: 'start a devnet with `agora up` (it writes .agora/devnet/deployment.json), or pass --deployment <file> / set AGORA_DEPLOYMENT.',
    });
  }
  return parseDeployment(text, `deployment file ${file}`);
}

/**
 * A read-only client for the deployment at `--rpc-url`, checked to be there (chain id and code).
 * RPC URLs are shown without their path, which often carries an API key.
 */
export async function connectReader(options: ChainOptions): Promise<AgoraClient> {
  return connect(options, undefined);
}

/** A client that signs as the key named by the key-source flags (see `loadPrivateKey`). */
export async function connectSigner(options: ChainOptions & KeySourceOptions, who: string): Promise<AgoraWalletClient> {
  const deployment = readDeploymentFile(options.deployment);
  const account = privateKeyToAccount(await loadPrivateKey(options, who));
  return connect(options, account, deployment) as Promise<AgoraWalletClient>;
}

async function connect(options: ChainOptions, account: ReturnType<typeof privateKeyToAccount> | undefined, deployment = readDeploymentFile(options.deployment)) {
  const shown = redactRpcUrl(options.rpcUrl);
  try {
    return await connectAgora({
      rpcUrl: options.rpcUrl,
      deployment,
      account,
      // A local devnet mines at once; real chains take seconds per block, where fast polling only adds load.
      pollingInterval: deployment.chainId === 31337 ? 50 : 1_000,
    });
  } catch (err) {
    if (err instanceof AgoraError && shown !== options.rpcUrl) {
      throw new AgoraError(err.code, err.shortMessage.replaceAll(options.rpcUrl, shown), { fix: err.fix, cause: err, details: '' });
    }
    throw err;
  }
}

/** Checks an address flag or argument; mixed-case addresses must carry a valid checksum. */
export function parseAddress(value: string, what: string): Address {
  if (!isAddress(value)) {
    throw new AgoraError('InvalidAddress', `${what} is not an address: "${value}".`, {
      fix: 'pass a 0x-prefixed 20-byte hex address (all lower case, or with a correct EIP-55 checksum).',
    });
  }
  return getAddress(value);
}

/** Prints a result: `data` as JSON with `--json` (bigints as decimal strings), else the human lines. */
export function printResult(options: { json?: boolean | undefined }, data: object, human: () => string[]): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(data, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`);
  } else {
    process.stdout.write(`${human().join('\n')}\n`);
  }
}

/** Rows as aligned columns, two spaces apart (the last column is not padded). */
export function formatTable(rows: readonly (readonly string[])[]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  '));
}

/** Unix seconds as an ISO time with how far it is from `now` (chain time): `2026-… (in 1h 0m)`. */
export function formatTime(seconds: bigint, now: bigint): string {
  if (seconds === 0n) return '-';
  const iso = new Date(Number(seconds) * 1000).toISOString().replace('.000Z', 'Z');
  const delta = seconds - now;
  if (delta === 0n) return `${iso} (now)`;
  const span = delta < 0n ? -delta : delta;
  const d = span / 86_400n;
  const h = (span % 86_400n) / 3_600n;
  const m = (span % 3_600n) / 60n;
  const text = d > 0n ? `${d}d ${h}h` : h > 0n ? `${h}h ${m}m` : m > 0n ? `${m}m ${span % 60n}s` : `${span}s`;
  return `${iso} (${delta > 0n ? `in ${text}` : `${text} ago`})`;
}

/** The latest block's timestamp: times are shown against chain time, which a devnet can move. */
export async function chainNow(client: AgoraClient): Promise<bigint> {
  return (await getBlock(client)).timestamp;
}

/** Runs a command body, reporting any error the way users should see it. */
export async function run(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    reportAndExit(err);
  }
}
