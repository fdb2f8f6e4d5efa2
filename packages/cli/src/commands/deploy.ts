import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Command } from 'commander';
import { createWalletClient, http, isAddress, type Address } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { getChainId } from 'viem/actions';
import { AgoraError, chainFor, deployAgora, serializeDeployment, type AuditCourtParameters } from '@agora/sdk';
import { reportAndExit } from '../program.ts';
import { addKeyOptions, loadPrivateKey, type KeySourceOptions } from '../keys.ts';

type DeployOptions = KeySourceOptions & {
  rpcUrl: string;
  out?: string;
  token?: string;
  treasury?: string;
  auditCourt?: string;
  minStake?: string;
  feeBps?: string;
  challengeWindow?: string;
  challengePeriod?: string;
  unbondingDelay?: string;
  auditBond?: string;
  escalationBond?: string;
  slashAmount?: string;
  verifierPenalty?: string;
  jailDuration?: string;
  drawTimeout?: string;
  commitWindow?: string;
  revealWindow?: string;
  escalationWindow?: string;
};

/** AuditCourt parameters settable by flag: flag name → `AuditCourtParameters` field. */
const AUDIT_FLAGS = [
  ['auditBond', '--audit-bond <units>', 'AuditCourt: what opening an audit (one batch) costs, token base units'],
  ['escalationBond', '--escalation-bond <units>', 'AuditCourt: what escalating to a panel costs, token base units'],
  ['slashAmount', '--slash-amount <units>', 'AuditCourt: stake taken from a provider found failing (above 0)'],
  ['verifierPenalty', '--verifier-penalty <units>', 'AuditCourt: stake taken from a silent or outvoted verifier (at most the minimum stake)'],
  ['jailDuration', '--jail-duration <seconds>', 'AuditCourt: seconds a failing provider or penalised verifier is jailed (above 0)'],
  ['drawTimeout', '--draw-timeout <seconds>', 'AuditCourt: seconds to find a first verifier before an audit is cancelled and its bond returned'],
  ['commitWindow', '--commit-window <seconds>', 'AuditCourt: seconds drawn verifiers have to commit'],
  ['revealWindow', '--reveal-window <seconds>', 'AuditCourt: seconds after the commit window to reveal'],
  ['escalationWindow', '--escalation-window <seconds>', 'AuditCourt: seconds after a first verdict in which it may be escalated'],
] as const;

/** The chain id anvil and hardhat use for local devnets. */

/** An RPC URL without its path and query, which often carry provider API keys. */
export function redactRpcUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return parsed.pathname === '/' && !parsed.search && !parsed.username ? url : `${parsed.protocol}//${parsed.host}/…`;
  } catch {
    return '<invalid URL>';
  }
}

function address(value: string | undefined, flag: string): Address | undefined {
  if (value === undefined) return undefined;
  if (!isAddress(value)) throw new AgoraError('InvalidAddress', `${flag} is not an address: ${value}`);
  return value;
}

function integer(value: string | undefined, flag: string): bigint | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new AgoraError('InvalidNumber', `${flag} must be a non-negative integer, got ${value}.`);
  return BigInt(value);
}

/** The AuditCourt parameters given by flag (the rest keep the sdk's defaults). */
function auditOverrides(options: DeployOptions): Partial<AuditCourtParameters> {
  const overrides: Partial<AuditCourtParameters> = {};
  for (const [field, flag] of AUDIT_FLAGS) {
    const value = integer(options[field], flag.split(' ')[0]!);
    if (value !== undefined) overrides[field] = value;
  }
  return overrides;
}

/** `agora deploy`: deploy every contract to any EVM chain by RPC URL and write the deployment file. */
export function deployCommand(): Command {
  const command = addKeyOptions(new Command('deploy'), 'deployer')
    .description('deploy every Agora contract to the chain at --rpc-url and write the deployment file')
    .requiredOption('--rpc-url <url>', 'JSON-RPC URL of the EVM node')
    .option('--out <file>', 'deployment file to write (default: deployments/<chainId>.json)')
    .option('--token <address>', 'existing ERC-20 to use as unit of account (default: deploy DevUSD)')
    .option('--treasury <address>', 'receives protocol fees (default: the deployer)')
    .option('--audit-court <address>', 'an account to act as the audit court (the only address allowed to jail and slash) instead of deploying the AuditCourt contract; for tests, or a multisig')
    .option('--min-stake <units>', 'minimum provider stake, token base units')
    .option('--fee-bps <bps>', 'protocol fee in basis points (max 1000)')
    .option('--challenge-window <seconds>', 'JobMarket: seconds between delivery and payout')
    .option('--challenge-period <seconds>', 'PaymentChannels: seconds a provider has to redeem after a unilateral close')
    .option('--unbonding-delay <seconds>', 'ProviderRegistry: seconds between unbond request and withdrawal (at least drawTimeout + 2 × (commit + reveal window) + escalation window)');
  for (const [, flag, description] of AUDIT_FLAGS) command.option(flag, description);
  return command.action(async (options: DeployOptions) => {
      try {
        const account = privateKeyToAccount(await loadPrivateKey(options, 'deployer'));
        const probe = createWalletClient({ account, transport: http(options.rpcUrl) });
        const shownUrl = redactRpcUrl(options.rpcUrl);
        const chainId = await getChainId(probe).catch((cause) => {
          throw new AgoraError('RpcUnreachable', `Cannot reach the chain at ${shownUrl}.`, { cause, fix: 'check the URL and that the node runs.' });
        });
        const wallet = createWalletClient({ account, chain: chainFor(chainId, options.rpcUrl), transport: http(options.rpcUrl), pollingInterval: 250 });
        process.stdout.write(`deploying Agora to chain ${chainId} at ${shownUrl} from ${account.address}\n`);
        const feeBps = integer(options.feeBps, '--fee-bps');
        const deployment = await deployAgora(wallet, {
          token: address(options.token, '--token'),
          treasury: address(options.treasury, '--treasury'),
          auditCourt: address(options.auditCourt, '--audit-court'),
          minStake: integer(options.minStake, '--min-stake'),
          protocolFeeBps: feeBps === undefined ? undefined : Number(feeBps),
          challengeWindow: integer(options.challengeWindow, '--challenge-window'),
          challengePeriod: integer(options.challengePeriod, '--challenge-period'),
          unbondingDelay: integer(options.unbondingDelay, '--unbonding-delay'),
          audit: auditOverrides(options),
          onProgress: ({ contract, address: at }) => process.stdout.write(`  ${contract.padEnd(17)}${at}\n`),
        });
        const out = options.out ?? `deployments/${chainId}.json`;
        mkdirSync(dirname(out), { recursive: true });
        writeFileSync(out, serializeDeployment(deployment));
        process.stdout.write(`deployment written to ${out}\n`);
      } catch (err) {
        reportAndExit(err);
      }
    });
}
