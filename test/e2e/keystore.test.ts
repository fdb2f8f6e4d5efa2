// Encrypted keys: `agora keys` writes Web3 Secret Storage v3 files (0600 in a 0700 folder), and
// every signing command takes `--keystore <name>` with a password from a file, the environment or
// a prompt. Keys and passwords never reach the output; a wrong password changes nothing.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getTransactionCount } from 'viem/actions';
import { getProvider, parseDeployment } from '@agora/sdk';
import { getDevAccount } from '@agora/node';
import { REPO_ROOT, runCli } from '../support/cli.ts';
import { startTestDevnet, type TestDevnet } from '../support/devnet.ts';

const PASSWORD = 'correct horse battery staple';
const provider = getDevAccount('provider2');
const buyer = getDevAccount('buyer3');

// Each CLI run is a fresh process (1-2 s idle, far more on a loaded machine); a test runs up to nine.
const CLI_TEST_TIMEOUT = 240_000;

let devnet: TestDevnet;
let dir: string;
let env: NodeJS.ProcessEnv;
let passwordFile: string;
const outputs: string[] = [];

/** `agora <args>` with the test's keystore folder and chain; every output is kept for the leak check. */
async function agora(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const result = await runCli(args, { env: { ...env, ...extraEnv } });
  outputs.push(result.stdout, result.stderr);
  return result;
}

/** `agora <args>` with `input` on stdin (runCli gives the child no stdin). */
function agoraWithStdin(args: string[], input: string, extraEnv: NodeJS.ProcessEnv = {}) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'packages/cli/src/bin.ts'), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env, ...extraEnv },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      outputs.push(stdout, stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(input);
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'agora-keystore-'));
  devnet = await startTestDevnet({ stateDir: join(dir, 'devnet') });
  passwordFile = join(dir, 'password');
  writeFileSync(passwordFile, `${PASSWORD}\n`, { mode: 0o600 });
  env = {
    AGORA_KEYSTORE_DIR: join(dir, 'keystore'),
    AGORA_RPC_URL: devnet.rpcUrl,
    AGORA_DEPLOYMENT: devnet.deploymentFile!,
    AGORA_PRIVATE_KEY: '',
    AGORA_PASSWORD: '',
  };
});
afterAll(async () => {
  await devnet?.stop();
});

describe('agora keys', { timeout: CLI_TEST_TIMEOUT }, () => {
  it('creates, imports (stdin and --key-file), lists and shows keys as v3 keystores only the owner can read', async () => {
    const created = await agora(['keys', 'new', 'alice', '--light', '--password-file', passwordFile, '--json']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const alice = JSON.parse(created.stdout) as { address: string; path: string };
    expect(alice.path).toBe(join(dir, 'keystore', 'alice.json'));
    expect(statSync(alice.path).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'keystore')).mode & 0o777).toBe(0o700);
    const file = JSON.parse(readFileSync(alice.path, 'utf8'));
    expect(file).toMatchObject({
      version: 3,
      address: alice.address.slice(2).toLowerCase(),
      crypto: { cipher: 'aes-128-ctr', kdf: 'scrypt', kdfparams: { n: 4096, r: 8, p: 1, dklen: 32 } },
    });

    // The key comes through stdin, never argv; the password from the environment this time.
    const piped = await agoraWithStdin(['keys', 'import', 'prov', '--light'], `${provider.privateKey}\n`, { AGORA_PASSWORD: PASSWORD });
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toContain(`imported key "prov" ${provider.account.address}`);
    const keyFile = join(dir, 'buyer.key');
    writeFileSync(keyFile, buyer.privateKey.slice(2), { mode: 0o600 }); // without 0x, as some tools write it
    const fromFile = await agora(['keys', 'import', 'buyer', '--light', '--key-file', keyFile, '--password-file', passwordFile]);
    expect(fromFile.code).toBe(0);

    const [list, address, verified, taken] = await Promise.all([
      agora(['keys', 'list']),
      agora(['keys', 'address', 'prov']),
      agora(['keys', 'address', join(dir, 'keystore', 'buyer.json'), '--verify', '--password-file', passwordFile]),
      agora(['keys', 'import', 'prov', '--key-file', keyFile, '--password-file', passwordFile]),
    ]);
    expect(list.stdout.trim().split('\n')).toEqual([
      `alice  ${alice.address}`,
      `buyer  ${buyer.account.address}`,
      `prov   ${provider.account.address}`,
    ]);
    expect(address.stdout).toBe(`${provider.account.address}\n`);
    expect(verified.stdout).toBe(`${buyer.account.address}\n`);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain('A key named "prov" already exists');
    expect(JSON.parse(readFileSync(join(dir, 'keystore', 'prov.json'), 'utf8')).address).toBe(provider.account.address.slice(2).toLowerCase());
  });

  it('signs with --keystore: registers and stakes on chain; a wrong or missing password exits 1 and changes nothing', async () => {
    const registered = await agora(['provider', 'register', '--keystore', 'prov', '--endpoint', 'http://127.0.0.1:9200'], { AGORA_PASSWORD: PASSWORD });
    expect(registered.stderr).toBe('');
    const staked = await agora(['provider', 'stake', '--keystore', 'prov', '--password-file', passwordFile, '--amount', '150']);
    expect(staked.stderr).toBe('');
    expect(staked.stdout).toContain('staked 150 DUSD; stake is now 150 DUSD');
    const client = devnet.as('provider2');
    expect(await getProvider(client, { provider: provider.account.address })).toMatchObject({ registered: true, stake: 150_000_000n, active: true });

    const nonce = await getTransactionCount(client, { address: provider.account.address });
    const [wrong, missing] = await Promise.all([
      agora(['provider', 'stake', '--keystore', 'prov', '--amount', '1'], { AGORA_PASSWORD: 'Correct horse battery staple' }),
      agora(['provider', 'stake', '--keystore', 'prov', '--amount', '1']),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatchInlineSnapshot(`
      "error: Wrong password for key "prov".

      Fix: check the password (AGORA_PASSWORD, --password-file or the prompt). The file is unchanged.
      "
    `);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('error: No password for key "prov".');
    expect(missing.stderr).toContain('Fix: set AGORA_PASSWORD, pass --password-file <file>, or run in a terminal to be asked.');
    expect(await getTransactionCount(client, { address: provider.account.address })).toBe(nonce);
    expect((await getProvider(client, { provider: provider.account.address })).stake).toBe(150_000_000n);
  });

  it('takes --keystore in `agora deploy` too, and a keystore file by path', async () => {
    const out = join(dir, 'redeploy.json');
    const deployed = await agora(['deploy', '--rpc-url', devnet.rpcUrl, '--keystore', join(dir, 'keystore', 'buyer.json'), '--password-file', passwordFile, '--out', out]);
    expect(deployed.stderr).toBe('');
    expect(deployed.stdout).toContain(`from ${buyer.account.address}`);
    expect(parseDeployment(readFileSync(out, 'utf8')).deployer).toBe(buyer.account.address);
  });

  it('never prints a private key or the password', () => {
    const all = outputs.join('\n').toLowerCase();
    expect(outputs.length).toBeGreaterThan(10);
    for (const key of [provider.privateKey, buyer.privateKey]) expect(all).not.toContain(key.slice(2).toLowerCase());
    expect(all).not.toContain(PASSWORD);
  });
});
