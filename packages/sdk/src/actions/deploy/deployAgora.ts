import { getAddress, type Account, type Address, type Chain, type Client, type Hex, type Transport } from 'viem';
import { deployContract, getBlockNumber, getChainId, waitForTransactionReceipt } from 'viem/actions';
import {
  devUsdAbi,
  jobMarketAbi,
  modelRegistryAbi,
  paymentChannelsAbi,
  providerRegistryAbi,
  type AgoraContracts,
} from '../../contracts.ts';
import type { Deployment, DeploymentParameters } from '../../deployment.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import {
  devUsdBytecode,
  jobMarketBytecode,
  modelRegistryBytecode,
  paymentChannelsBytecode,
  providerRegistryBytecode,
} from '../../generated/bytecode.ts';

/** The devnet's defaults: quick enough for demos, shaped like production. */
export const defaultDeploymentParameters = {
  minStake: 100_000_000n, // 100 tokens (6 decimals)
  unbondingDelay: 7n * 24n * 3600n,
  protocolFeeBps: 250,
  challengeWindow: 3600n,
  challengePeriod: 24n * 3600n,
} as const;

export type DeployAgoraParameters = Partial<Omit<DeploymentParameters, 'treasury' | 'auditCourt'>> & {
  /** An existing ERC-20 to use as unit of account; default: deploy DevUSD. */
  token?: Address;
  /** Receives protocol fees (default: the deployer). */
  treasury?: Address;
  /**
   * The only address allowed to jail and slash providers. Until the AuditCourt contract exists
   * this is an account (default: the deployer); set it to the court's address once deployed.
   */
  auditCourt?: Address;
  /** Called after each contract is mined, for progress output. */
  onProgress?: (step: { contract: keyof AgoraContracts; address: Address }) => void;
};
export type DeployAgoraReturnType = Deployment;

/**
 * Refuses parameters that would deploy a broken market, before any gas is spent: a zero challenge
 * period lets a buyer close a channel in the same block so its provider can never redeem; a zero
 * unbonding delay lets a cheater withdraw its stake before an audit can slash it.
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
    auditCourt: params.auditCourt ?? deployer,
  };
  validateParameters(parameters);
  const chainId = await getChainId(client);
  const startBlock = await getBlockNumber(client);

  async function deploy(contract: keyof AgoraContracts, request: { abi: readonly unknown[]; bytecode: Hex; args?: readonly unknown[] }) {
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
  const providerRegistry = await deploy('providerRegistry', {
    abi: providerRegistryAbi,
    bytecode: providerRegistryBytecode,
    args: [token, modelRegistry, parameters.auditCourt, parameters.minStake, parameters.unbondingDelay],
  });
  const settlementArgs = [token, providerRegistry, modelRegistry, parameters.treasury, parameters.protocolFeeBps] as const;
  const jobMarket = await deploy('jobMarket', {
    abi: jobMarketAbi,
    bytecode: jobMarketBytecode,
    args: [...settlementArgs, parameters.challengeWindow],
  });
  const paymentChannels = await deploy('paymentChannels', {
    abi: paymentChannelsAbi,
    bytecode: paymentChannelsBytecode,
    args: [...settlementArgs, parameters.challengePeriod],
  });

  return {
    chainId,
    contracts: { token, modelRegistry, providerRegistry, jobMarket, paymentChannels },
    deployer,
    startBlock,
    tokenIsDevUsd: params.token === undefined,
    parameters,
    deployedAt: new Date().toISOString(),
  };
}
