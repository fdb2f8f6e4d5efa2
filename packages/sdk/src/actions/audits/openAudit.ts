import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { getEventArgs, sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import type { InferenceReceipt } from '../../receipts/inferenceReceipt.ts';
import { ensureAllowance } from '../token/ensureAllowance.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type OpenAuditParameters = {
  /** The receipt as the provider signed it (a `SignedInferenceReceipt` fits). */
  receipt: InferenceReceipt & { signature: Hex };
  /**
   * Where drawn verifiers fetch the call (`{ input, params, output }` as JSON) the receipt hashes,
   * e.g. a gateway's `/audits/<receiptDigest>/evidence`. Evidence that cannot be fetched or does
   * not hash to the receipt leaves the provider's answer unchallenged: the opener loses its bond.
   */
  evidenceURI: string;
  /** Approve the audit bond first if the allowance is short (default true). */
  approve?: boolean;
};
/** `drawBlock`: once it is mined, anyone calls `assignVerifiers`. */
export type OpenAuditReturnType = TransactionResult & { auditId: bigint; receiptDigest: Hex; drawBlock: bigint };

/**
 * Opens an audit of a provider-signed InferenceReceipt and pays the audit bond (returned if the
 * provider is found failing). The contract checks the signature against the receipt channel's
 * provider.
 *
 * @example
 * const { auditId, drawBlock } = await openAudit(client, { receipt, evidenceURI: `${gatewayUrl}/audits/${digest}/evidence` })
 */
export async function openAudit(client: AgoraWalletClient, { receipt, evidenceURI, approve = true }: OpenAuditParameters): Promise<OpenAuditReturnType> {
  const court = requireAuditCourt(client.deployment);
  if (approve) {
    const { auditBond } = await readContract(client, { address: court, abi: auditCourtAbi, functionName: 'getConfig' });
    await ensureAllowance(client, { spender: court, amount: auditBond });
  }
  const { modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount, signature } = receipt;
  const result = await sendContractTransaction(
    client,
    {
      address: court,
      abi: auditCourtAbi,
      functionName: 'openAudit',
      args: [{ modelId, inputHash, paramsHash, outputHash, channelId, cumulativeAmount }, signature, evidenceURI],
    },
    `Opening an audit of the receipt for channel ${channelId}`,
  );
  const args = getEventArgs(result.receipt, 'AuditOpened');
  return { ...result, auditId: args.auditId as bigint, receiptDigest: args.receiptDigest as Hex, drawBlock: BigInt(args.drawBlock as bigint) };
}
