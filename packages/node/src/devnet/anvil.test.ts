import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createConnection } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startAnvil } from './anvil.ts';

const ANVIL_TS = fileURLToPath(new URL('./anvil.ts', import.meta.url));

/**
 * Another process that starts anvil, as `agora up` does, prints `{ pid, port }` of it and waits;
 * on SIGINT it prints `interrupted <chain id answer>` (so a caller can tell that anvil still
 * answered after a Ctrl-C) and keeps running.
 */
function startAnvilInAnotherProcess(options: { detached: boolean }) {
  const script = `
    import { startAnvil } from ${JSON.stringify(ANVIL_TS)};
    const anvil = await startAnvil();
    const rpc = () => fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }) }).then((r) => r.json()).then((r) => r.result, (e) => String(e));
    process.on('SIGINT', async () => console.log('interrupted', await rpc()));
    console.log(JSON.stringify({ pid: anvil.process.pid, port: anvil.port }));
    setInterval(() => {}, 1 << 30);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    detached: options.detached,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk));
  const started = new Promise<{ pid: number; port: number }>((resolve, reject) => {
    child.stdout!.on('data', () => {
      const line = /^\{.*\}$/m.exec(output);
      if (line) resolve(JSON.parse(line[0]) as { pid: number; port: number });
    });
    child.once('exit', (code) => reject(new Error(`the process starting anvil exited with ${code}: ${output}`)));
  });
  return { child, started, output: () => output };
}

/** Processes (not zombies) that are `pid` or in its process group: anvil and what runs it. */
function liveProcesses(pid: number): string[] {
  return execFileSync('ps', ['-eo', 'pid=,pgid=,stat=,args='], { encoding: 'utf8' })
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([p, pgid, stat]) => (Number(p) === pid || Number(pgid) === pid) && !stat!.startsWith('Z'))
    .map((fields) => fields.join(' '));
}

/** Whether something accepts connections on the loopback port. */
function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

const kill = (child: ChildProcess) => {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
};

describe('startAnvil', () => {
  it('starts a real EVM node on a free port, answers JSON-RPC, and stops', async () => {
    const anvil = await startAnvil({ chainId: 777 });
    try {
      const response = await fetch(anvil.rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      expect(await response.json()).toMatchObject({ result: '0x309' });
    } finally {
      await anvil.stop();
    }
    expect(anvil.process.exitCode !== null || anvil.process.signalCode !== null).toBe(true);
    await anvil.stop(); // stopping twice is harmless
  });

  it('reports a port that is taken as a clear start failure, not a hang or a crash', async () => {
    const first = await startAnvil();
    try {
      await expect(startAnvil({ port: first.port, timeoutMs: 10_000 })).rejects.toMatchObject({
        code: 'AnvilStartFailed',
        fix: 'check that the port is free and that `npm ci` installed @foundry-rs/anvil.',
      });
    } finally {
      await first.stop();
    }
  });

  it('does not start when its signal is already aborted', async () => {
    await expect(startAnvil({ signal: AbortSignal.abort() })).rejects.toMatchObject({ code: 'Aborted' });
  });

  // A terminal's Ctrl-C goes to its whole foreground process group. In that group, anvil would
  // stop at once, and `agora up` would see its chain vanish while it drains the providers.
  it.skipIf(process.platform === 'win32')('is not reached by a Ctrl-C to the process group of the process that started it', async () => {
    const { child, started, output } = startAnvilInAnotherProcess({ detached: true });
    try {
      const { pid, port } = await started;
      const group = (p: number) => Number(execFileSync('ps', ['-o', 'pgid=', '-p', String(p)], { encoding: 'utf8' }).trim());
      expect(group(pid)).not.toBe(group(child.pid!));
      process.kill(-child.pid!, 'SIGINT'); // what the terminal does
      await expect.poll(output).toContain('interrupted');
      expect(output()).toContain('interrupted 0x7a69'); // the chain still answers after the SIGINT was handled
      expect(await isListening(port)).toBe(true);
    } finally {
      kill(child);
    }
  });

  // Its own process group spares anvil a terminal's Ctrl-C, and also a kill of the process group
  // of a process that dies without cleaning up; the lifeline must end it then.
  it.skipIf(process.platform === 'win32')('does not outlive the process that started it, even one killed with SIGKILL', async () => {
    const { child, started } = startAnvilInAnotherProcess({ detached: false });
    try {
      const { pid, port } = await started;
      expect(liveProcesses(pid).join('\n')).toMatch(/anvil --host/);
      child.kill('SIGKILL');
      await once(child, 'exit');
      // Eventually, not at once: the lifeline's watcher needs a moment to be scheduled.
      await expect.poll(() => liveProcesses(pid), { timeout: 30_000, interval: 50 }).toEqual([]);
      expect(await isListening(port)).toBe(false);
    } finally {
      kill(child);
    }
  });
});
