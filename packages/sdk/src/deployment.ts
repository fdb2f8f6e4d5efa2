import { isAddress, type Address } from 'viem';
import type { AgoraContracts } from './contracts.ts';
import { AgoraError } from './errors/AgoraError.ts';

/**
 * The AuditCourt's deploy-time parameters (amounts in token base units, windows in seconds), the
 * contract's `Config` struct.
 */
export type AuditCourtParameters = {
  /** Opening an audit costs this; returned if the provider is found failing, else paid to the verifiers. */
  auditBond: bigint;
  /** Escalating a first verdict to a panel of three costs this; returned if the escalator wins. */
  escalationBond: bigint;
  /** Stake taken from a provider found failing. */
  slashAmount: bigint;
  /** Stake taken from a verifier that did not reveal in time, or whose verdict a panel overturned. */
  verifierPenalty: bigint;
  /** Share of a slash refunded to the channel's buyer (basis points). */
  refundBps: number;
  /** Share of a slash split among the verifiers that found the failure (basis points); the rest goes to the treasury. */
  bountyBps: number;
  /** Blocks between a draw request and the block whose hash draws the verifiers (1–128). */
  drawDelayBlocks: bigint;
  /** Seconds drawn verifiers have to commit. */
  commitWindow: bigint;
  /** Seconds after the commit window to reveal. */
  revealWindow: bigint;
  /** Seconds after a first verdict in which the losing side may escalate. */
  escalationWindow: bigint;
  /** Seconds a provider found failing, or a penalised verifier, is jailed. */
  jailDuration: bigint;
  /**
   * Seconds after opening by which a first verifier must be drawn: a draw that finds nobody is
   * rescheduled until then, after which the audit is cancelled and its bond returned.
   */
  drawTimeout: bigint;
};

/** Parameters a deployment was made with (amounts in token base units, times in seconds). */
export type DeploymentParameters = {
  minStake: bigint;
  unbondingDelay: bigint;
  protocolFeeBps: number;
  treasury: Address;
  /** The only address that can jail and slash: the AuditCourt contract, or an account named at deploy. */
  auditCourt: Address;
  challengeWindow: bigint;
  challengePeriod: bigint;
  /** The AuditCourt's parameters; absent when the audit court is an account (or in files written before it existed). */
  audit?: AuditCourtParameters;
};

/**
 * Where the trust layer lives on a chain: what `agora deploy` writes and what the sdk, node and CLI
 * read. Nothing else about the chain is assumed.
 */
export type Deployment = {
  chainId: number;
  contracts: AgoraContracts;
  deployer: Address;
  /** Block of the first deployment transaction; watchers start reading events here. */
  startBlock: bigint;
  /** True when `token` is the DevUSD this deployment created (and can mint on a devnet). */
  tokenIsDevUsd: boolean;
  parameters: DeploymentParameters;
  deployedAt: string;
};

const BIGINT_FIELDS = ['minStake', 'unbondingDelay', 'challengeWindow', 'challengePeriod'] as const;
const CONTRACT_FIELDS = ['token', 'modelRegistry', 'providerRegistry', 'jobMarket', 'paymentChannels'] as const;
const AUDIT_BIGINT_FIELDS = [
  'auditBond',
  'escalationBond',
  'slashAmount',
  'verifierPenalty',
  'drawDelayBlocks',
  'commitWindow',
  'revealWindow',
  'escalationWindow',
  'jailDuration',
  'drawTimeout',
] as const;
const AUDIT_BPS_FIELDS = ['refundBps', 'bountyBps'] as const;

/** Serialises a deployment to the JSON stored in a deployment file (bigints as decimal strings). */
export function serializeDeployment(deployment: Deployment): string {
  return `${JSON.stringify(deployment, (_key, value) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
}

/**
 * Parses and validates a deployment file's text.
 * @throws {AgoraError} `InvalidDeployment` naming the first bad field.
 */
export function parseDeployment(text: string, source = 'deployment file'): Deployment {
  const fail = (why: string): never => {
    throw new AgoraError('InvalidDeployment', `The ${source} is not a valid Agora deployment: ${why}.`, {
      fix: 'write it with `agora deploy --rpc-url <url>` (or `npm start` on a devnet).',
    });
  };
  let raw: any;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new AgoraError('InvalidDeployment', `The ${source} is not JSON.`, { cause });
  }
  if (typeof raw !== 'object' || raw === null) fail('expected an object');
  if (!Number.isSafeInteger(raw.chainId) || raw.chainId <= 0) fail('chainId must be a positive integer');
  if (typeof raw.contracts !== 'object' || raw.contracts === null) fail('contracts is missing');
  for (const field of CONTRACT_FIELDS) {
    if (!isAddress(raw.contracts[field] ?? '')) fail(`contracts.${field} is not an address`);
  }
  if (!isAddress(raw.deployer ?? '')) fail('deployer is not an address');
  const parameters = raw.parameters ?? fail('parameters is missing');
  const toBigInt = (value: unknown, name: string): bigint => {
    // Written as decimal strings (or small numbers); anything else (booleans, '') is a broken file.
    if (typeof value === 'string' ? !/^\d+$/.test(value) : !Number.isSafeInteger(value)) return fail(`${name} is not an integer`);
    return BigInt(value as string | number);
  };
  const bps = (value: unknown, name: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > 10_000) return fail(`${name} is not a basis-point number`);
    return n;
  };
  const fee = bps(parameters.protocolFeeBps, 'parameters.protocolFeeBps');
  const contracts = Object.fromEntries(CONTRACT_FIELDS.map((f) => [f, raw.contracts[f]])) as AgoraContracts;
  // Files written before the AuditCourt existed have neither field; both are optional.
  if (raw.contracts.auditCourt !== undefined) {
    contracts.auditCourt = isAddress(raw.contracts.auditCourt) ? raw.contracts.auditCourt : fail('contracts.auditCourt is not an address');
  }
  // Files written before ScoreRoots existed lack it; nothing else depends on it.
  if (raw.contracts.scoreRoots !== undefined) {
    contracts.scoreRoots = isAddress(raw.contracts.scoreRoots) ? raw.contracts.scoreRoots : fail('contracts.scoreRoots is not an address');
  }
  let audit: AuditCourtParameters | undefined;
  if (parameters.audit !== undefined) {
    if (typeof parameters.audit !== 'object' || parameters.audit === null) fail('parameters.audit is not an object');
    audit = {
      ...(Object.fromEntries(AUDIT_BIGINT_FIELDS.map((f) => [f, toBigInt(parameters.audit[f], `parameters.audit.${f}`)])) as Pick<
        AuditCourtParameters,
        (typeof AUDIT_BIGINT_FIELDS)[number]
      >),
      ...(Object.fromEntries(AUDIT_BPS_FIELDS.map((f) => [f, bps(parameters.audit[f], `parameters.audit.${f}`)])) as Pick<
        AuditCourtParameters,
        (typeof AUDIT_BPS_FIELDS)[number]
      >),
    };
  }
  return {
    chainId: raw.chainId,
    contracts,
    deployer: raw.deployer,
    startBlock: toBigInt(raw.startBlock ?? 0, 'startBlock'),
    tokenIsDevUsd: raw.tokenIsDevUsd === true,
    parameters: {
      ...(Object.fromEntries(BIGINT_FIELDS.map((f) => [f, toBigInt(parameters[f], `parameters.${f}`)])) as Pick<
        DeploymentParameters,
        (typeof BIGINT_FIELDS)[number]
      >),
      protocolFeeBps: fee,
      treasury: isAddress(parameters.treasury ?? '') ? parameters.treasury : fail('parameters.treasury is not an address'),
      auditCourt: isAddress(parameters.auditCourt ?? '') ? parameters.auditCourt : fail('parameters.auditCourt is not an address'),
      ...(audit ? { audit } : {}),
    },
    deployedAt: String(raw.deployedAt ?? ''),
  };
}
