import { Command } from 'commander';
import { AgoraError, getJob, reclaimJob } from '@agora/sdk';
import type { RunJobProgress } from '@agora/node';

/** @agora/node is loaded when a job command runs, not at start-up: it pulls in the model runtimes, which every other command would pay for. */
const loadNode = () => import('@agora/node');
import { addKeyOptions, type KeySourceOptions } from '../keys.ts';
import { addChainOptions, chainNow, connectReader, connectSigner, formatTime, parseAddress, printResult, run, type ChainOptions } from '../connect.ts';
import { formatAmount, getTokenUnits, parseAmount, type TokenUnits } from '../amounts.ts';
import { resolveModel } from '../resolveModel.ts';

type SignOptions = ChainOptions & KeySourceOptions;
type RunOptions = SignOptions & {
  model: string;
  input: string;
  maxPrice?: string;
  units?: boolean;
  provider?: string;
  deadline: string;
  serveHost: string;
  servePort: string;
  publicUrl?: string;
  waitPayout?: boolean;
};

/** A job subcommand that signs as the buyer: chain flags, key flags, then its own. */
function signing(name: string): Command {
  return addChainOptions(addKeyOptions(new Command(name), 'buyer'));
}

function jobId(value: string): bigint {
  if (!/^\d+$/.test(value)) throw new AgoraError('InvalidJobId', `A job id is a positive integer, got "${value}".`, { fix: 'pass the number `agora job run` printed (opened job #<id>).' });
  return BigInt(value);
}

/** The model output in a line: a digit with its confidence, else compact JSON. */
function describeOutput(output: unknown): string {
  const { digit, probabilities } = (output ?? {}) as { digit?: unknown; probabilities?: unknown };
  if (typeof digit === 'number' && Array.isArray(probabilities) && typeof probabilities[digit] === 'number') {
    return `digit ${digit} (confidence ${(probabilities[digit] as number).toFixed(3)})`;
  }
  const json = JSON.stringify(output);
  return json.length > 2_000 ? `${json.slice(0, 2_000)}…` : json;
}

function progressLine(p: RunJobProgress, units: TokenUnits, describeJobFailure: (code: number) => string): string {
  switch (p.type) {
    case 'serving':
      return `serving the input at ${p.inputURI}`;
    case 'opened':
      return `opened job #${p.jobId}, escrowed ${formatAmount(p.maxPrice, units)}, price ${formatAmount(p.price, units)}, deadline ${new Date(Number(p.deadline) * 1000).toISOString()}`;
    case 'accepted':
      return `accepted by ${p.provider} at ${formatAmount(p.price, units)}`;
    case 'delivered':
      return `delivered: output ${p.outputHash}`;
    case 'fetched':
      return `fetched output (${p.bytes} bytes) from ${p.url}`;
    case 'verified':
      return `verified: sha-256 matches, receipt signed by ${p.signer}`;
    case 'failed':
      return `the provider reported a failure, code ${describeJobFailure(p.errorCode)}: the whole escrow is refunded`;
    case 'reclaimed':
      return `nothing delivered by the deadline: reclaimed the escrow of ${formatAmount(p.amount, units)}`;
    case 'finalized':
      return `finalized: ${formatAmount(p.price, units)} paid to the provider, ${formatAmount(p.refund, units)} of the escrow back`;
    case 'withdrawn':
      return `withdrew ${formatAmount(p.amount, units)} of JobMarket credit to the wallet`;
  }
}

/** `agora job`: one-off jobs on the slow path (JobMarket escrow), see docs/jobs.md. */
export function jobCommand(): Command {
  const job = new Command('job').description('one-off jobs paid from escrow (the slow path): run, status, reclaim, finalize');

  job.addCommand(
    signing('run')
      .description('run a model once through JobMarket: serve the input, escrow, wait for delivery, fetch and verify the output')
      .requiredOption('--model <id|name>', 'model id (0x…) or registered name (e.g. agora/digits-mlp)')
      .requiredOption('--input <file>', 'a PNG image (sent as { image: <base64> }) or a JSON file with the model input')
      .option('--max-price <amount>', "escrow in tokens (base units with --units); the job pays --provider's offer when it opens (at most this), or this amount to any provider offering at most it; default: --provider's offer, else the highest live offer")
      .option('--units', 'read --max-price as integer token base units')
      .option('--provider <address>', 'only this provider may take the job')
      .option('--deadline <seconds>', 'seconds until the escrow can be reclaimed if nothing is delivered', '300')
      .option('--serve-host <host>', 'interface the input is served on', '127.0.0.1')
      .option('--serve-port <port>', 'port the input is served on (0: any free port)', '0')
      .option('--public-url <url>', 'base URL providers reach the input server at (when it is not http://serve-host:port)')
      .option('--wait-payout', 'wait for the challenge window, finalize and withdraw the unused escrow before exiting')
      .action((options: RunOptions) =>
        run(async () => {
          const { describeJobFailure, readJobInputFile, runJob } = await loadNode();
          const client = await connectSigner(options, 'buyer');
          const units = await getTokenUnits(client);
          const model = await resolveModel(client, options.model);
          const { input, params } = readJobInputFile(options.input);
          if (!/^\d+$/.test(options.deadline) || options.deadline === '0') throw new AgoraError('InvalidDeadline', `--deadline must be a positive number of seconds, got "${options.deadline}".`);
          const maxPrice = options.maxPrice === undefined ? undefined : parseAmount(options.maxPrice, { flag: '--max-price', decimals: units.decimals, units: options.units });
          // Progress goes to stdout as lines, or to stderr when stdout carries --json.
          const say = (line: string) => (options.json ? process.stderr : process.stdout).write(`${line}\n`);
          let opened: bigint | undefined;
          const controller = new AbortController();
          const onSignal = () => controller.abort(new Error('interrupted'));
          process.once('SIGINT', onSignal);
          process.once('SIGTERM', onSignal);
          try {
            const result = await runJob(client, {
              modelId: model.modelId,
              input,
              params,
              ...(maxPrice === undefined ? {} : { maxPrice }),
              ...(options.provider ? { provider: parseAddress(options.provider, '--provider') } : {}),
              deadlineSeconds: BigInt(options.deadline),
              serveHost: options.serveHost,
              servePort: Number(options.servePort),
              ...(options.publicUrl ? { publicUrl: options.publicUrl } : {}),
              waitForPayout: options.waitPayout ?? false,
              pollIntervalMs: client.deployment.chainId === 31337 ? 200 : 2_000,
              signal: controller.signal,
              onProgress: (p) => {
                if (p.type === 'opened') opened = p.jobId;
                say(progressLine(p, units, describeJobFailure));
              },
            });
            printResult(options, result, () => {
              if (result.status === 'Delivered' || result.status === 'Finalized') {
                return [
                  `result: ${describeOutput(result.output)}`,
                  result.status === 'Finalized'
                    ? `paid ${formatAmount(result.price, units)}; ${formatAmount(result.refund, units)} of the ${formatAmount(result.maxPrice, units)} escrow came back`
                    : `pays ${formatAmount(result.price, units)} to the provider after the challenge window (from ${new Date(Number(result.payoutAt) * 1000).toISOString()}); ` +
                      `${formatAmount(result.refund, units)} of the escrow comes back then: \`agora job finalize ${result.jobId}\``,
                ];
              }
              return [`job #${result.jobId} ${result.status.toLowerCase()}: paid nothing, ${formatAmount(result.refund, units)} refunded`];
            });
          } catch (err) {
            if (opened !== undefined && controller.signal.aborted) {
              throw new AgoraError('Interrupted', `Stopped waiting for job #${opened}; its escrow is safe.`, {
                fix: `check it with \`agora job status ${opened}\`; reclaim it after its deadline with \`agora job reclaim ${opened}\`.`,
              });
            }
            if (opened !== undefined && err instanceof AgoraError) {
              throw new AgoraError(err.code, `Job #${opened}: ${err.shortMessage}`, { cause: err, fix: err.fix ?? `see \`agora job status ${opened}\`.`, details: err.details });
            }
            throw err;
          } finally {
            process.off('SIGINT', onSignal);
            process.off('SIGTERM', onSignal);
          }
        }),
      ),
  );

  job.addCommand(
    addChainOptions(new Command('status'))
      .description("show a job's state, price, deadline and output hash")
      .argument('<id>', 'job id')
      .action((id: string, options: ChainOptions) =>
        run(async () => {
          const { describeJobFailure } = await loadNode();
          const client = await connectReader(options);
          const units = await getTokenUnits(client);
          const record = await getJob(client, { jobId: jobId(id) });
          const now = await chainNow(client);
          const payoutAt = record.deliveredAt === 0n ? 0n : record.deliveredAt + client.deployment.parameters.challengeWindow;
          printResult(options, { ...record, payoutAt }, () => [
            `job #${record.jobId}: ${record.status}`,
            `  model     ${record.modelId}`,
            `  buyer     ${record.buyer}`,
            `  provider  ${/^0x0+$/.test(record.provider) ? '(any)' : record.provider}`,
            `  escrow    ${formatAmount(record.maxPrice, units)}${record.price > 0n ? `, price ${formatAmount(record.price, units)}` : ''}`,
            `  input     ${record.inputHash}`,
            `  deadline  ${formatTime(record.deadline, now)}`,
            ...(record.deliveredAt > 0n ? [`  output    ${record.outputHash}`, `  delivered ${formatTime(record.deliveredAt, now)}`, `  payout    ${formatTime(payoutAt, now)}`] : []),
            ...(record.status === 'Failed' ? [`  failure   ${describeJobFailure(record.errorCode)}`] : []),
          ]);
        }),
      ),
  );

  job.addCommand(
    signing('reclaim')
      .description('take back the escrow of a job nobody delivered by its deadline (buyer only)')
      .argument('<id>', 'job id')
      .action((id: string, options: SignOptions) =>
        run(async () => {
          const client = await connectSigner(options, 'buyer');
          const units = await getTokenUnits(client);
          const record = await getJob(client, { jobId: jobId(id) });
          const { hash } = await reclaimJob(client, { jobId: record.jobId });
          printResult(options, { jobId: record.jobId, reclaimed: record.maxPrice, hash }, () => [
            `reclaimed ${formatAmount(record.maxPrice, units)} from job #${record.jobId}`,
            `  tx ${hash}`,
          ]);
        }),
      ),
  );

  job.addCommand(
    signing('finalize')
      .description('pay out a delivered job after its challenge window, then withdraw your JobMarket credit (refunds)')
      .argument('<id>', 'job id')
      .option('--wait', 'wait for the challenge window to pass instead of failing while it is open')
      .action((id: string, options: SignOptions & { wait?: boolean }) =>
        run(async () => {
          const client = await connectSigner(options, 'buyer');
          const units = await getTokenUnits(client);
          const { describeJobFailure, settleJob } = await loadNode();
          const lines: string[] = [];
          const { job: record, withdrawn } = await settleJob(client, {
            jobId: jobId(id),
            wait: options.wait ?? false,
            onProgress: (p) => lines.push(progressLine(p, units, describeJobFailure)),
          });
          printResult(options, { jobId: record.jobId, status: record.status, withdrawn }, () => [
            ...lines,
            `job #${record.jobId}: ${record.status}${withdrawn === 0n ? '; nothing to withdraw' : ''}`,
          ]);
        }),
      ),
  );

  return job;
}
