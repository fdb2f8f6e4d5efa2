import { getAddress, getContractAddress, isAddressEqual, type Account, type Address, type Chain, type Client, type Hex, type Transport } from 'viem';
import { deployContract, getBlockNumber, getChainId, getTransactionCount, waitForTransactionReceipt } from 'viem/actions';
import {
  auditCourtAbi,
  devUsdAbi,
  jobMarketAbi,
  modelRegistryAbi,
  paymentChannelsAbi,
  providerRegistryAbi,
  scoreRootsAbi,
  type AgoraContracts,
} from '../../contracts.ts';
import type { AuditCourtParameters, Deployment, DeploymentParameters } from '../../deployment.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import {
  auditCourtBytecode,
  devUsdBytecode,
  jobMarketBytecode,
  modelRegistryBytecode,
  paymentChannelsBytecode,
  providerRegistryBytecode,
  scoreRootsBytecode,
} from '../../generated/bytecode.ts';

/**
 * The AuditCourt's defaults (6-decimal tokens), the parameters `npm run sim` shows make cheating
 * lose money (docs/economics.md, `defaultSlashingParameters`): an audit costs 0.01 token, a small
 * multiple of a call's price, so sampling a few % of calls stays cheap, and goes to the verifier
 * when the provider passes (paying for the re-execution); a confirmed failure takes half the
 * minimum stake (30 % back to the buyer, 40 % to the verifiers, 30 % to the treasury); a silent or
 * overturned verifier loses 10 tokens and a day of work; each answer window is an hour, and a
 * verifier must be found within a day, all well inside the 7-day unbonding delay so a cheater
 * cannot leave before the slash.
 */
export const defaultAuditCourtParameters = {
  auditBond: 10_000n,
  escalationBond: 50_000n,
  slashAmount: 50_000_000n,
  verifierPenalty: 10_000_000n,
  refundBps: 3_000,
  bountyBps: 4_000,
  drawDelayBlocks: 2n,
  commitWindow: 3600n,
  revealWindow: 3600n,
  escalationWindow: 3600n,
  jailDuration: 24n * 3600n,
  drawTimeout: 24n * 3600n,
} as const satisfies AuditCourtParameters;

/** The devnet's defaults: quick enough for demos, shaped like production. */
export const defaultDeploymentParameters = {
  minStake: 100_000_000n, // 100 tokens (6 decimals)
  unbondingDelay: 7n * 24n * 3600n,
  protocolFeeBps: 250,
  challengeWindow: 3600n,
  challengePeriod: 24n * 3600n,
  audit: defaultAuditCourtParameters,
} as const;

export type DeployAgoraParameters = Partial<Omit<DeploymentParameters, 'treasury' | 'auditCourt' | 'audit'>> & {
  /** An existing ERC-20 to use as unit of account; default: deploy DevUSD. */
  token?: Address;
  /** Receives protocol fees, the rest of every slash and verifier penalties (default: the deployer). */
  treasury?: Address;
  /**
   * Overrides of the AuditCourt's parameters (see `defaultAuditCourtParameters`).
   */
  audit?: Partial<AuditCourtParameters>;
  /**
   * Names an account as the registry's only jailer and slasher INSTEAD of deploying the
   * AuditCourt contract (no audits then). Default: deploy the AuditCourt, which is what any real
   * network wants; an account is for tests and for operators who run their own court.
   */
  auditCourt?: Address;
  /** Called after each contract is mined, for progress output. */
  onProgress?: (step: { contract: keyof AgoraContracts; address: Address }) => void;
};
export type DeployAgoraReturnType = Deployment;

/**
 * Refuses parameters that would deploy a broken market, before any gas is spent (the contracts'
 * constructors refuse the same): a zero challenge period lets a buyer close a channel in the same
 * block so its provider can never redeem; a zero unbonding delay, or one shorter than an audit can
 * take, lets a cheater withdraw its stake before an audit can slash it.
 */
function validateParameters(parameters: DeploymentParameters) {
  const refuse = (what: string, fix: string) => {
    throw new AgoraError('InvalidDeployParameters', `Refusing to deploy: ${what}.`, { fix });
  };
  if (!Number.isInteger(parameters.protocolFeeBps) || parameters.protocolFeeBps < 0 || parameters.protocolFeeBps > 1_000) {
    refuse(`protocol fee ${parameters.protocolFeeBps} bps is outside 0–1000`, 'pass a fee of at most 1000 bps (10 %).');
  }
  if (parameters.challengePeriod <= 0n) refuse('the channel challenge period is zero', 'give providers time to redeem, e.g. 86400 s.');
  if (parameters.unbondingDelay <= 0n) refuse('the unbonding delay is zero', 'keep stake slashable for a while after unbonding, e.g. 604800 s.');
  if (parameters.challengeWindow <= 0n) refuse('the job challenge window is zero', 'leave time to dispute a delivery, e.g. 3600 s.');
  if (parameters.minStake <= 0n) refuse('the minimum stake is zero', 'require a stake providers can lose, e.g. 100 tokens.');
  const audit = parameters.audit;
  if (!audit) return;
  if (audit.auditBond <= 0n) refuse('the audit bond is zero', 'make opening an audit cost something, e.g. 10 tokens, so audits cannot be spammed.');
  if (audit.escalationBond <= 0n) refuse('the escalation bond is zero', 'make escalating cost something, e.g. 20 tokens.');
  if (audit.slashAmount <= 0n) refuse('the slash amount is zero', 'make a confirmed failure cost the provider stake, e.g. 50 tokens.');
  if (audit.jailDuration <= 0n) refuse('the jail duration is zero', 'keep a provider found failing out of the market for a while, e.g. 86400 s.');
  if (audit.verifierPenalty > parameters.minStake) {
    refuse(`the verifier penalty ${audit.verifierPenalty} is above the minimum stake ${parameters.minStake}`, 'fine a verifier at most what an eligible verifier must hold (the minimum stake).');
  }
  if (audit.drawTimeout <= 0n) refuse('the draw timeout is zero', 'give the court time to draw a verifier before it cancels an audit, e.g. 86400 s.');
  const shares = [audit.refundBps, audit.bountyBps];
  if (!shares.every((bps) => Number.isInteger(bps) && bps >= 0) || audit.refundBps + audit.bountyBps > 10_000) {
    refuse(`refund ${audit.refundBps} bps + bounty ${audit.bountyBps} bps is more than the whole slash`, 'keep refundBps + bountyBps at most 10000.');
  }
  if (audit.drawDelayBlocks < 1n || audit.drawDelayBlocks > 128n) {
    refuse(`the draw delay of ${audit.drawDelayBlocks} blocks is outside 1–128`, 'draw from a block mined after the audit opened, within the 256 blocks whose hash the EVM keeps, e.g. 2.');
  }
  for (const window of ['commitWindow', 'revealWindow', 'escalationWindow'] as const) {
    if (audit[window] <= 0n) refuse(`the audit ${window} is zero`, 'give verifiers and parties time to answer, e.g. 3600 s.');
  }
  const auditSpan = audit.drawTimeout + 2n * (audit.commitWindow + audit.revealWindow) + audit.escalationWindow;
  if (parameters.unbondingDelay < auditSpan) {
    refuse(
      `the unbonding delay ${parameters.unbondingDelay} s is shorter than the longest audit, drawTimeout + 2 × (commitWindow + revealWindow) + escalationWindow = ${auditSpan} s, so stake could leave before an audit of it is judged`,
      `raise the unbonding delay to at least ${auditSpan} s or shorten the audit windows.`,
    );
  }
}

/**
 * Deploys the whole trust layer to whatever chain `client` talks to, and returns the deployment
 * record that the sdk, node and CLI read. Nothing here assumes a devnet.
 *
 * @example
 * const deployment = await deployAgora(walletClient, { treasury })
 * writeFileSync('deployment.json', serializeDeployment(deployment))
 */
export async function deployAgora(
  client: Client<Transport, Chain | undefined, Account>,
  params: DeployAgoraParameters = {},
): Promise<DeployAgoraReturnType> {
  const deployer = client.account.address;
  const parameters: DeploymentParameters = {
    minStake: params.minStake ?? defaultDeploymentParameters.minStake,
    unbondingDelay: params.unbondingDelay ?? defaultDeploymentParameters.unbondingDelay,
    protocolFeeBps: params.protocolFeeBps ?? defaultDeploymentParameters.protocolFeeBps,
    challengeWindow: params.challengeWindow ?? defaultDeploymentParameters.challengeWindow,
    challengePeriod: params.challengePeriod ?? defaultDeploymentParameters.challengePeriod,
    treasury: params.treasury ?? deployer,
    // Replaced below by the court's predicted address when the contract is deployed.
    auditCourt: params.auditCourt ?? deployer,
  };
  const deployCourt = params.auditCourt === undefined;
  if (deployCourt) parameters.audit = { ...defaultAuditCourtParameters, ...params.audit };
  validateParameters(parameters);
  const chainId = await getChainId(client);
  const startBlock = await getBlockNumber(client);

  async function deploy(
    contract: keyof AgoraContracts,
    request: { abi: readonly unknown[]; bytecode: Hex; args?: readonly unknown[]; nonce?: number },
  ) {
    try {
      const hash = await deployContract(client, { ...request, account: client.account, chain: client.chain } as never);
      const receipt = await waitForTransactionReceipt(client, { hash });
      if (receipt.status !== 'success' || !receipt.contractAddress) {
        throw new AgoraError('DeployFailed', `Deploying ${contract} reverted (transaction ${hash}).`);
      }
      params.onProgress?.({ contract, address: receipt.contractAddress });
      return getAddress(receipt.contractAddress);
    } catch (err) {
      throw toAgoraError(err, `Deploying ${contract}`);
    }
  }

  const token = params.token ?? (await deploy('token', { abi: devUsdAbi, bytecode: devUsdBytecode, args: [deployer] }));
  if (params.token) params.onProgress?.({ contract: 'token', address: token });
  const modelRegistry = await deploy('modelRegistry', { abi: modelRegistryAbi, bytecode: modelRegistryBytecode });

  // The registry fixes its audit court at construction and the court needs the registry (and the
  // channels, whose EIP-712 domain receipts are signed in), so the court goes last at an address
  // predicted from the deployer's nonce. The next four transactions are sent with explicit
  // nonces, so a transaction slipped in between fails instead of shifting the court elsewhere,
  // and the court's constructor refuses to deploy unless the registry names it: a registry can
  // never point at a court that does not exist. (A one-time setter would leave a window in which
  // someone else could claim the court's role, and make the registry's court mutable.)
  const nonce = await getTransactionCount(client, { address: deployer, blockTag: 'pending' });
  if (deployCourt) parameters.auditCourt = getContractAddress({ from: deployer, nonce: BigInt(nonce + 3) });
  const providerRegistry = await deploy('providerRegistry', {
    abi: providerRegistryAbi,
    bytecode: providerRegistryBytecode,
    args: [token, modelRegistry, parameters.auditCourt, parameters.minStake, parameters.unbondingDelay],
    nonce,
  });
  const settlementArgs = [token, providerRegistry, modelRegistry, parameters.treasury, parameters.protocolFeeBps] as const;
  const jobMarket = await deploy('jobMarket', {
    abi: jobMarketAbi,
    bytecode: jobMarketBytecode,
    args: [...settlementArgs, parameters.challengeWindow],
    nonce: nonce + 1,
  });
  const paymentChannels = await deploy('paymentChannels', {
    abi: paymentChannelsAbi,
    bytecode: paymentChannelsBytecode,
    args: [...settlementArgs, parameters.challengePeriod],
    nonce: nonce + 2,
  });
  const contracts: AgoraContracts = { token, modelRegistry, providerRegistry, jobMarket, paymentChannels };
  if (parameters.audit) {
    const auditCourt = await deploy('auditCourt', {
      abi: auditCourtAbi,
      bytecode: auditCourtBytecode,
      args: [providerRegistry, paymentChannels, parameters.treasury, parameters.audit],
      nonce: nonce + 3,
    });
    if (!isAddressEqual(auditCourt, parameters.auditCourt)) {
      // Unreachable while the constructor checks the registry; kept so a changed contract cannot go unnoticed.
      throw new AgoraError('DeployFailed', `The AuditCourt landed at ${auditCourt}, not at ${parameters.auditCourt} where the registry expects it.`, {
        fix: 'deploy again from an account that sends nothing else meanwhile.',
      });
    }
    contracts.auditCourt = auditCourt;
  }
  // Independent of the rest (no constructor arguments), so it goes last, after the explicit nonces.
  contracts.scoreRoots = await deploy('scoreRoots', { abi: scoreRootsAbi, bytecode: scoreRootsBytecode });

  return {
    chainId,
    contracts,
    deployer,
    startBlock,
    tokenIsDevUsd: params.token === undefined,
    parameters,
    deployedAt: new Date().toISOString(),
  };
}
