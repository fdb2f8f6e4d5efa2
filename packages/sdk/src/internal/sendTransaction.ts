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
    hash = await writeContract(client, { ...call, account: client.account, chain: client.chain } as never);
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
