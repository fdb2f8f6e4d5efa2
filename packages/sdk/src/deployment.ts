import { isAddress, type Address } from 'viem';
import type { AgoraContracts } from './contracts.ts';
import { AgoraError } from './errors/AgoraError.ts';

/** Parameters a deployment was made with (amounts in token base units, times in seconds). */
export type DeploymentParameters = {
  minStake: bigint;
  unbondingDelay: bigint;
  protocolFeeBps: number;
  treasury: Address;
  auditCourt: Address;
  challengeWindow: bigint;
  challengePeriod: bigint;
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
  const fee = Number(parameters.protocolFeeBps);
  if (!Number.isInteger(fee) || fee < 0 || fee > 10_000) fail('parameters.protocolFeeBps is not a basis-point number');
  return {
    chainId: raw.chainId,
    contracts: Object.fromEntries(CONTRACT_FIELDS.map((f) => [f, raw.contracts[f]])) as AgoraContracts,
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
    },
    deployedAt: String(raw.deployedAt ?? ''),
  };
}
