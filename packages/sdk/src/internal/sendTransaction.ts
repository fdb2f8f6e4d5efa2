import {
  parseEventLogs,
  type Abi,
  type Address,
  type ContractFunctionArgs,
  type ContractFunctionName,
  type Hash,
  type TransactionReceipt,
} from 'viem';
import { waitForTransactionReceipt, writeContract } from 'viem/actions';
import type { AgoraWalletClient } from '../client.ts';
import { agoraAbi } from '../contracts.ts';
import { AgoraError } from '../errors/AgoraError.ts';
import { toAgoraError } from '../errors/contractErrors.ts';

/**
 * One queue of sends per wallet (chain id + address): two sends at once would both read the same
 * pending nonce and one would be dropped. Only the send is queued (gas estimate, nonce, signature,
 * broadcast); waiting for receipts overlaps. A node's roles (redeemer, job watcher, verifier,
 * gateway) share a wallet, so the queue is module-wide rather than per client object.
 */
const sendQueues = new Map<string, Promise<unknown>>();
function inSendOrder<T>(wallet: string, send: () => Promise<T>): Promise<T> {
  const previous = sendQueues.get(wallet) ?? Promise.resolve();
  const result = previous.then(send, send);
  const tail = result.catch(() => {});
  sendQueues.set(wallet, tail);
  // Forget an idle wallet's queue so the map does not grow with every account ever used.
  void tail.then(() => {
    if (sendQueues.get(wallet) === tail) sendQueues.delete(wallet);
  });
  return result;
}

/** Result of every write action: the transaction and its mined receipt. */
export type TransactionResult = { hash: Hash; receipt: TransactionReceipt };

/**
 * Sends a contract call and waits for it to be mined (devnets such as anvil answer with a hash
 * before mining). Reverts are decoded into sdk errors by name; `context` says what was attempted.
 */
export async function sendContractTransaction<
  const abi extends Abi,
  functionName extends ContractFunctionName<abi, 'nonpayable' | 'payable'>,
>(
  client: AgoraWalletClient,
  call: {
    address: Address;
    abi: abi;
    functionName: functionName;
    args: ContractFunctionArgs<abi, 'nonpayable' | 'payable', functionName>;
  },
  context: string,
): Promise<TransactionResult> {
  let hash: Hash;
  try {
    const wallet = `${client.deployment.chainId}:${client.account.address.toLowerCase()}`;
    hash = await inSendOrder(wallet, () => writeContract(client, { ...call, account: client.account, chain: client.chain } as never));
  } catch (err) {
    throw toAgoraError(err, context);
  }
  let receipt: TransactionReceipt;
  try {
    receipt = await waitForTransactionReceipt(client, { hash });
  } catch (cause) {
    throw new AgoraError('TransactionNotMined', `${context}: transaction ${hash} was sent but no receipt came back.`, {
      cause,
      fix: 'check the transaction on the chain before retrying, so it is not sent twice.',
    });
  }
  if (receipt.status !== 'success') {
    throw new AgoraError('TransactionReverted', `${context} failed: transaction ${hash} reverted when mined.`, {
      fix: 'the chain state changed between estimation and mining; read the state and try again.',
    });
  }
  return { hash, receipt };
}

/** The args of the first `eventName` event in a receipt; throws if the contract emitted none. */
export function getEventArgs<eventName extends string>(
  receipt: TransactionReceipt,
  eventName: eventName,
): Record<string, unknown> {
  const [log] = parseEventLogs({ abi: agoraAbi, logs: receipt.logs, eventName: eventName as never });
  if (!log) {
    throw new AgoraError('MissingEvent', `Transaction ${receipt.transactionHash} emitted no ${eventName} event.`);
  }
  return (log as unknown as { args: Record<string, unknown> }).args;
}
