import {
  createClient,
  defineChain,
  http,
  type Account,
  type Chain,
  type Client,
  type Transport,
} from 'viem';
import { getBytecode, getChainId } from 'viem/actions';
import type { Deployment } from './deployment.ts';
import { AgoraError } from './errors/AgoraError.ts';

/** A viem client that knows an Agora deployment. Reads need no account. */
export type AgoraClient<account extends Account | undefined = Account | undefined> = Client<
  Transport,
  Chain | undefined,
  account
> & { deployment: Deployment };

/** An {@link AgoraClient} with an account, for actions that send transactions. */
export type AgoraWalletClient = AgoraClient<Account>;

export type CreateAgoraClientParameters<account extends Account | undefined> = {
  transport: Transport;
  deployment: Deployment;
  chain?: Chain | undefined;
  account?: account;
  /** Polling interval for receipts and watchers, ms. Devnets mine instantly; 100 ms keeps tests fast. */
  pollingInterval?: number;
};

/**
 * Creates a client bound to a deployment. Actions take it as their first argument.
 *
 * @example
 * const client = createAgoraClient({ transport: http(rpcUrl), deployment, account: privateKeyToAccount(key) })
 * await stake(client, { amount: 100_000_000n })
 */
export function createAgoraClient<account extends Account | undefined = undefined>(
  parameters: CreateAgoraClientParameters<account>,
): AgoraClient<account> {
  const chain = parameters.chain ?? chainFor(parameters.deployment.chainId);
  return createClient({
    transport: parameters.transport,
    chain,
    account: parameters.account,
    pollingInterval: parameters.pollingInterval ?? 250,
  }).extend(() => ({ deployment: parameters.deployment })) as AgoraClient<account>;
}

/** A minimal chain definition for a chain id (Agora needs nothing chain-specific). */
export function chainFor(chainId: number, rpcUrl = 'http://127.0.0.1:8545'): Chain {
  return defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

export type ConnectAgoraParameters<account extends Account | undefined> = {
  rpcUrl: string;
  deployment: Deployment;
  account?: account;
  pollingInterval?: number;
};

/**
 * Connects to an RPC URL and checks that the deployment really is there: the chain id matches and
 * every contract has code. Catches the commonest set-up mistake (a deployment file for another chain)
 * with a clear error instead of confusing reverts later.
 */
export async function connectAgora<account extends Account | undefined = undefined>(
  parameters: ConnectAgoraParameters<account>,
): Promise<AgoraClient<account>> {
  const { deployment, rpcUrl } = parameters;
  const client = createAgoraClient({
    transport: http(rpcUrl),
    chain: chainFor(deployment.chainId, rpcUrl),
    deployment,
    account: parameters.account,
    ...(parameters.pollingInterval === undefined ? {} : { pollingInterval: parameters.pollingInterval }),
  });
  let chainId: number;
  try {
    chainId = await getChainId(client);
  } catch (cause) {
    throw new AgoraError('RpcUnreachable', `Cannot reach the chain at ${rpcUrl}.`, {
      cause,
      fix: 'check the RPC URL, and that the node is running.',
    });
  }
  if (chainId !== deployment.chainId) {
    throw new AgoraError(
      'DeploymentChainMismatch',
      `The deployment is for chain ${deployment.chainId} but ${rpcUrl} is chain ${chainId}.`,
      { fix: 'use the deployment file written for this chain, or deploy with `agora deploy --rpc-url`.' },
    );
  }
  for (const [name, address] of Object.entries(deployment.contracts)) {
    const code = await getBytecode(client, { address });
    if (!code || code === '0x') {
      throw new AgoraError('DeploymentMissing', `No contract at ${address} (${name}) on chain ${chainId}.`, {
        fix: 'the chain was reset or the deployment file is stale; deploy again.',
      });
    }
  }
  return client;
}
