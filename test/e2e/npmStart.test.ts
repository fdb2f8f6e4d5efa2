// Issue 3, check 1: `npm start` brings the network up; from outside, the official `openai` client
// (baseURL = the gateway) gets a chat completion, a streamed chat completion and embeddings, and
// /v1/models lists the network's models. After N calls the provider's unredeemed balance has grown
// by exactly N × its quote; after a redeem the tokens are in its wallet.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import OpenAI from 'openai';
import type { Address, Hex } from 'viem';
import { connectAgora, getTokenBalance, parseDeployment } from '@agora/sdk';
import { ADMIN_TOKEN_FILE, DEV_FUNDING, getDevAccount } from '@agora/node';
import { REPO_ROOT } from '../support/cli.ts';

/** `npm start` on free ports, in its own process group as a shell's job control puts it. */
function startNpm() {
  const stateDir = mkdtempSync(join(tmpdir(), 'agora-npm-start-'));
  const child = spawn('npm', ['start', '--', '--port', '0', '--gateway-port', '0', '--provider-port', '0', '--state-dir', stateDir], {
    cwd: REPO_ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk));
  // 'close' waits for every process holding npm's output (the network itself), not just npm.
  const closed = once(child, 'close') as Promise<[number | null, NodeJS.Signals | null]>;
  const up = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start did not come up in time:\n${output}`)), 150_000);
    child.stdout!.on('data', () => {
      if (output.includes('Press Ctrl-C to stop.')) (clearTimeout(timer), resolve());
    });
    child.once('exit', (code) => (clearTimeout(timer), reject(new Error(`npm start exited with ${code}:\n${output}`))));
  });
  return { child, stateDir, up, closed, output: () => output };
}

/** Every live (not zombie) process under `pid`, by parent links: npm, node, anvil and its lifeline. */
function processTree(pid: number): { pid: number; ppid: number; args: string }[] {
  const rows = execFileSync('ps', ['-eo', 'pid=,ppid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => /^\s*(\d+)\s+(\d+)\s+(\S+)\s+(.*)$/.exec(line))
    .filter((m) => m !== null)
    .map(([, p, ppid, stat, args]) => ({ pid: Number(p), ppid: Number(ppid), stat: stat!, args: args! }));
  const tree = new Set([pid]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const row of rows) if (tree.has(row.ppid) && !tree.has(row.pid)) (tree.add(row.pid), (grew = true));
  }
  return rows.filter((row) => tree.has(row.pid) && !row.stat.startsWith('Z')).map(({ pid, ppid, args }) => ({ pid, ppid, args }));
}

/** Which of `processes` are still alive, by pid and command line (a reused pid is another process; zombies hold nothing). */
function stillAlive(processes: { pid: number; args: string }[]): string[] {
  const live = new Set(
    execFileSync('ps', ['-eo', 'pid=,stat=,args='], { encoding: 'utf8' })
      .split('\n')
      .map((line) => /^\s*(\d+)\s+(\S+)\s+(.*)$/.exec(line))
      .filter((m) => m !== null && !m[2]!.startsWith('Z'))
      .map((m) => `${m![1]} ${m![3]}`),
  );
  return processes.map((p) => `${p.pid} ${p.args}`).filter((p) => live.has(p));
}

/** Whether something accepts connections on the loopback port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** Kills whatever of a test's own processes is left after a failure, so no network outlives the run. */
function killLeftovers(processes: { pid: number; args: string }[]) {
  for (const p of stillAlive(processes)) {
    try {
      process.kill(Number(p.split(' ')[0]), 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }
}

let npm: ReturnType<typeof startNpm>;
let stateDir: string;
let output = '';
const field = (pattern: RegExp) => {
  const match = pattern.exec(npm.output());
  if (!match) throw new Error(`npm start did not print ${pattern}:\n${npm.output()}`);
  return match[1]!;
};

beforeAll(async () => {
  npm = startNpm();
  stateDir = npm.stateDir;
  await npm.up;
  output = npm.output();
}, 160_000);

afterAll(async () => {
  if (npm.child.exitCode === null && npm.child.signalCode === null) {
    process.kill(-npm.child.pid!, 'SIGINT');
    await npm.closed;
  }
});

describe('npm start + the official openai client', () => {
  it('serves chat, streamed chat, embeddings and the model list; pays the provider exactly N × its quote', async () => {
    const baseURL = field(/Gateway \(OpenAI API\)\s+(http:\/\/\S+\/v1)/);
    const apiKey = field(/API key\s+(sk-agora-dev-[0-9a-f]+)/);
    const rpcUrl = field(/RPC URL\s+(http:\/\/\S+)/);
    const openai = new OpenAI({ baseURL, apiKey, maxRetries: 0 });

    // The devnet itself: every contract deployed at the addresses printed, dev accounts funded.
    const deployment = parseDeployment(readFileSync(join(stateDir, 'deployment.json'), 'utf8'));
    for (const [name, address] of Object.entries(deployment.contracts)) expect(output).toMatch(new RegExp(`${name}\\s+${address}`));
    const chain = await connectAgora({ rpcUrl, deployment });
    expect(await getTokenBalance(chain, { account: getDevAccount('buyer2').account.address })).toBe(DEV_FUNDING);

    const models = await openai.models.list();
    expect(models.data.map((m) => m.id).sort()).toEqual(['agora/digits-mlp', 'agora/ocr-eng', 'agora/tiny-llama']);
    const llama = models.data.find((m) => m.id === 'agora/tiny-llama') as { agora: { modelId: Hex; providers: number } } | undefined;
    expect(llama!.agora.providers).toBe(3);

    // The gateway routes by score, so any of the three providers may serve a call: each answer
    // says which one and what it was paid, and each provider's books must agree.
    const providers = [...output.matchAll(/(provider[123])\s+(http:\/\/\S+)\s+(0x[0-9a-fA-F]{40})/g)].map(([, role, url, address]) => {
      const token = readFileSync(join(stateDir, 'run', role!, ADMIN_TOKEN_FILE), 'utf8').trim();
      const admin = async (method: 'GET' | 'POST', path: string) => {
        const response = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        return BigInt(((await response.json()) as { unredeemed: string }).unredeemed);
      };
      return { role: role!, url: url!, address: address as Address, admin };
    });
    expect(providers.map((p) => p.role)).toEqual(['provider1', 'provider2', 'provider3']);
    const owedBefore = await Promise.all(providers.map((p) => p.admin('GET', '/admin/status')));
    const paid = new Map<string, bigint>();
    let calls = 0;
    const charge = (answer: unknown) => {
      calls++;
      const { provider, price } = (answer as { agora: { provider: Address; price: string } }).agora;
      paid.set(provider, (paid.get(provider) ?? 0n) + BigInt(price));
    };

    const messages = [{ role: 'user' as const, content: 'Tell me about Agora.' }];
    const chat = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages, max_tokens: 16, temperature: 0 });
    expect(chat.choices[0]!.message.content!.length).toBeGreaterThan(0);
    charge(chat);

    const stream = await openai.chat.completions.create({ model: 'agora/tiny-llama', messages, max_tokens: 16, temperature: 0, stream: true });
    let streamed = '';
    for await (const chunk of stream) {
      streamed += chunk.choices[0]?.delta.content ?? '';
      if ('agora' in chunk) charge(chunk); // the final chunk carries who served it
    }
    expect(streamed).toBe(chat.choices[0]!.message.content); // greedy: the same text from any provider

    const embeddings = await openai.embeddings.create({ model: 'agora/tiny-llama', input: ['decentralized', 'intelligence'] });
    expect(embeddings.data).toHaveLength(2);
    expect(embeddings.data[0]!.embedding.length).toBeGreaterThan(0);
    charge(embeddings);

    // N = 3 calls: each provider is owed exactly (calls it served) × its own quote, from its 402 answer.
    expect(calls).toBe(3);
    expect([...paid.values()].reduce((a, b) => a + b, 0n)).toBe(
      await (async () => {
        let total = 0n;
        for (const [i, p] of providers.entries()) total += (await p.admin('GET', '/admin/status')) - owedBefore[i]!;
        return total;
      })(),
    );
    const served = providers.filter((p) => paid.has(p.address));
    expect(served.length).toBeGreaterThan(0);
    for (const p of served) {
      const unpaid = await fetch(`${p.url}/v1/infer/${llama!.agora.modelId}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ input: { prompt: 'hi' } }),
      });
      expect(unpaid.status).toBe(402);
      const quote = BigInt(((await unpaid.json()) as { quote: { price: string } }).quote.price);
      const owed = (await p.admin('GET', '/admin/status')) - owedBefore[providers.indexOf(p)]!;
      expect(owed % quote).toBe(0n);
      expect(owed).toBe(paid.get(p.address));

      // Redeem: what it is owed less the protocol fee (the devnet models pay no royalty) lands in its wallet.
      const total = await p.admin('GET', '/admin/status');
      const balanceBefore = await getTokenBalance(chain, { account: p.address });
      expect(await p.admin('POST', '/admin/redeem')).toBe(0n);
      // The fee rounds up, so no payment skips it (issue 9, finding 9).
      const fee = (total * BigInt(deployment.parameters.protocolFeeBps) + 9_999n) / 10_000n;
      expect(await getTokenBalance(chain, { account: p.address })).toBe(balanceBefore + total - fee);
    }
  });

  it('stops everything cleanly on Ctrl-C', async () => {
    const processes = processTree(npm.child.pid!);
    expect(processes.map((p) => p.args).join('\n')).toMatch(/anvil --host/);
    const rpcPort = Number(/:(\d+)$/.exec(field(/RPC URL\s+(http:\/\/\S+)/))![1]);
    // On a busy machine the process running the network may not get the CPU for a while just when
    // the key is pressed; everything else in the group then handles the signal first (a wrapper
    // that gives up on it, an EVM node that exits). Here it is held still while that happens.
    const ups = processes.filter((p) => /bin\.ts up/.test(p.args));
    const agoraUp = ups.find((p) => !ups.some((q) => q.ppid === p.pid))!;
    process.kill(agoraUp.pid, 'SIGSTOP');
    // What a terminal does on Ctrl-C: SIGINT to every process of the foreground process group.
    process.kill(-npm.child.pid!, 'SIGINT');
    await new Promise((resolve) => setTimeout(resolve, 500));
    process.kill(agoraUp.pid, 'SIGCONT');
    const [code, signal] = await npm.closed;
    const output = npm.output();
    expect(output.slice(output.indexOf('Press Ctrl-C to stop.'))).toBe(
      'Press Ctrl-C to stop.\n\nstopping: gateway, providers, then the chain (its state goes with it)… (Ctrl-C again to exit now)\nstopped.\n',
    );
    expect(output).not.toMatch(/error/i);
    // The shell sees a clean exit: the script stopped in order and exited 0, and npm says so.
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    // The chain stopped last, and before the network said "stopped.": nothing of it is left.
    expect(stillAlive(processes)).toEqual([]);
    expect(await isListening(rpcPort)).toBe(false);
  });
});

// A kill -9 of npm gives nobody a chance to clean up, and its children are not signalled: the
// network must notice on its own that npm is gone, stop, and take anvil with it.
describe('npm start killed with SIGKILL', () => {
  let killed: ReturnType<typeof startNpm>;
  let processes: { pid: number; args: string }[] = [];
  afterAll(() => killLeftovers(processes));

  it('leaves no anvil and nothing else running', async () => {
    killed = startNpm();
    await killed.up;
    processes = processTree(killed.child.pid!);
    expect(processes.map((p) => p.args).join('\n')).toMatch(/anvil --host/);
    const rpcPort = Number(/RPC URL\s+http:\/\/127\.0\.0\.1:(\d+)/.exec(killed.output())![1]);
    expect(await isListening(rpcPort)).toBe(true);

    process.kill(killed.child.pid!, 'SIGKILL'); // npm alone, as `kill -9 <pid>` does
    await killed.closed; // every process that held npm's output has exited
    expect(stillAlive(processes)).toEqual([]);
    expect(await isListening(rpcPort)).toBe(false);
    expect(killed.output()).toContain('stopped.');
    expect(killed.output()).not.toMatch(/error/i);
  }, 160_000);
});
