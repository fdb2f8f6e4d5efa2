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
 * Refuses parameters that would deploy a broken market, before anything is sent: each message
 * names the parameter and says why it would break. The contracts' constructors refuse the same
 * (a zero challengePeriod, challengeWindow, slashAmount or jailDuration, a verifier penalty above
 * the minimum stake, an unbonding delay shorter than the court's windows), so a deployment that
 * skips this check still cannot go live broken.
 *
 * @throws {AgoraError} `InvalidDeployParameters`, e.g. `Refusing to deploy: challengePeriod is 0:
 * a buyer could close a channel in the block it was served and its provider could never redeem.`
 *
 * @example
 * validateDeploymentParameters({ ...defaultDeploymentParameters, treasury, auditCourt: treasury })
 */
export function validateDeploymentParameters(parameters: Omit<DeploymentParameters, 'treasury' | 'auditCourt'>): void {
  const refuse = (parameter: string, why: string, fix: string) => {
    throw new AgoraError('InvalidDeployParameters', `Refusing to deploy: ${parameter} ${why}.`, { fix });
  };
  if (!Number.isInteger(parameters.protocolFeeBps) || parameters.protocolFeeBps < 0 || parameters.protocolFeeBps > 1_000) {
    refuse('protocolFeeBps', `is ${parameters.protocolFeeBps}, outside 0–1000: the fee would leave too little of a payment to the provider`, 'pass a fee of at most 1000 bps (10 %).');
  }
  if (parameters.challengePeriod <= 0n) {
    refuse('challengePeriod', 'is 0: a buyer could close a channel in the block it was served and its provider could never redeem', 'give providers time to redeem, e.g. 86400 s.');
  }
  if (parameters.unbondingDelay <= 0n) {
    refuse('unbondingDelay', 'is 0: a cheater could withdraw its stake before an audit can slash it', 'keep stake slashable for a while after unbonding, e.g. 604800 s.');
  }
  if (parameters.challengeWindow <= 0n) {
    refuse('challengeWindow', 'is 0: a job delivery would be paid out at once, before any audit can dispute it', 'leave time to dispute a delivery, e.g. 3600 s.');
  }
  if (parameters.minStake <= 0n) refuse('minStake', 'is 0: providers would have nothing to lose', 'require a stake providers can lose, e.g. 100 tokens.');
  const audit = parameters.audit;
  if (!audit) return;
  if (audit.auditBond <= 0n) refuse('audit.auditBond', 'is 0: audits could be spammed for free', 'make opening an audit cost something, e.g. 10 tokens.');
  if (audit.escalationBond <= 0n) refuse('audit.escalationBond', 'is 0: escalations could be spammed for free', 'make escalating cost something, e.g. 20 tokens.');
  if (audit.slashAmount <= 0n) refuse('audit.slashAmount', 'is 0: a provider found cheating would lose nothing', 'make a confirmed failure cost the provider stake, e.g. 50 tokens.');
  if (audit.jailDuration <= 0n) refuse('audit.jailDuration', 'is 0: a provider found cheating could take new work in the same block', 'bar a cheater from work for a while, e.g. 86400 s.');
  if (audit.verifierPenalty > parameters.minStake) {
    refuse(
      'audit.verifierPenalty',
      `(${audit.verifierPenalty}) is above minStake (${parameters.minStake}): one penalty could take more than a verifier must stake`,
      `keep the penalty at most the minimum stake, e.g. ${parameters.minStake / 10n}.`,
    );
  }
  const shares = [audit.refundBps, audit.bountyBps];
  if (!shares.every((bps) => Number.isInteger(bps) && bps >= 0) || audit.refundBps + audit.bountyBps > 10_000) {
    refuse('audit.refundBps + audit.bountyBps', `(${audit.refundBps} + ${audit.bountyBps} bps) is more than the whole slash`, 'keep refundBps + bountyBps at most 10000.');
  }
  if (audit.drawDelayBlocks < 1n || audit.drawDelayBlocks > 128n) {
    refuse('audit.drawDelayBlocks', `is ${audit.drawDelayBlocks}, outside 1–128: the draw needs the hash of a block mined after the audit opened, within the 256 the EVM keeps`, 'use e.g. 2.');
  }
  for (const window of ['commitWindow', 'revealWindow', 'escalationWindow'] as const) {
    if (audit[window] <= 0n) refuse(`audit.${window}`, 'is 0: verifiers and parties would have no time to answer', 'give them time, e.g. 3600 s.');
  }
  if (audit.drawTimeout <= 0n) {
    refuse('audit.drawTimeout', 'is 0: an audit would be cancelled before its verifiers could be drawn', 'give the draw time, e.g. 86400 s.');
  }
  // An audit opened just before a provider unbonds must be judged before the stake can leave.
  const auditSpan = audit.drawTimeout + 2n * (audit.commitWindow + audit.revealWindow) + audit.escalationWindow;
  if (parameters.unbondingDelay < auditSpan) {
    refuse(
      'unbondingDelay',
      `(${parameters.unbondingDelay} s) is shorter than an audit can take (drawTimeout + 2 × (commitWindow + revealWindow) + escalationWindow = ${auditSpan} s): a cheater could unbond and withdraw before its audit ends`,
      `use an unbonding delay of at least ${auditSpan} s, or shorter audit windows.`,
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
  validateDeploymentParameters(parameters);
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
