import { encodeAbiParameters, keccak256, type Address, type Hex } from 'viem';
import type { AgoraWalletClient } from '../../client.ts';
import { auditCourtAbi, auditVerdicts, type CommittableVerdict } from '../../contracts.ts';
import { sendContractTransaction, type TransactionResult } from '../../internal/sendTransaction.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type HashAuditVerdictParameters = {
  chainId: number;
  auditCourt: Address;
  auditId: bigint;
  verifier: Address;
  verdict: CommittableVerdict;
  /** 32 random bytes the verifier keeps until it reveals. */
  salt: Hex;
};

/**
 * The commitment a verifier submits, equal to the contract's `hashVerdict`: bound to the chain,
 * the court, the audit and the verifier, so nobody can copy another verifier's commitment.
 *
 * @example
 * const commitment = hashAuditVerdict({ chainId, auditCourt, auditId, verifier, verdict: 'Fail', salt })
 */
export function hashAuditVerdict({ chainId, auditCourt, auditId, verifier, verdict, salt }: HashAuditVerdictParameters): Hex {
  return keccak256(
    encodeAbiParameters(
      [{ type: 'uint256' }, { type: 'address' }, { type: 'uint256' }, { type: 'address' }, { type: 'uint8' }, { type: 'bytes32' }],
      [BigInt(chainId), auditCourt, auditId, verifier, auditVerdicts.indexOf(verdict), salt],
    ),
  );
}

export type CommitVerdictParameters = { auditId: bigint; verdict: CommittableVerdict; /** Keep it: the reveal needs it. */ salt: Hex };
export type CommitVerdictReturnType = TransactionResult & { commitment: Hex };

/**
 * Commits the client's verdict on an audit it was drawn into, within the commit window, once: a
 * commitment cannot be changed. Only the hash goes on-chain; reveal it with `revealVerdict` and
 * the same salt. `Unverifiable`: the batch's evidence was missing or did not match the audit.
 * @throws {ContractRevertedError} `AuditCourtAlreadyCommitted` on a second commit.
 *
 * @example
 * const salt = toHex(crypto.getRandomValues(new Uint8Array(32)))
 * await commitVerdict(verifierClient, { auditId, verdict: 'Fail', salt })
 */
export async function commitVerdict(client: AgoraWalletClient, { auditId, verdict, salt }: CommitVerdictParameters): Promise<CommitVerdictReturnType> {
  const auditCourt = requireAuditCourt(client.deployment);
  const commitment = hashAuditVerdict({
    chainId: client.deployment.chainId,
    auditCourt,
    auditId,
    verifier: client.account.address,
    verdict,
    salt,
  });
  const result = await sendContractTransaction(
    client,
    { address: auditCourt, abi: auditCourtAbi, functionName: 'commitVerdict', args: [auditId, commitment] },
    `Committing a verdict on audit ${auditId}`,
  );
  return { ...result, commitment };
}
