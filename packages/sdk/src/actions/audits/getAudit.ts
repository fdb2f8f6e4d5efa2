import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi, auditSeatStatuses, auditStatuses, auditVerdicts, type AuditSeatStatus, type AuditStatus, type AuditVerdict } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import type { InferenceReceipt } from '../../receipts/inferenceReceipt.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditParameters = { auditId: bigint };
/** A verifier drawn into the audit; stage 0 is the first verifier, stage 1 the panel. */
export type AuditSeat = { verifier: Address; stage: number; status: AuditSeatStatus; verdict: AuditVerdict };
export type GetAuditReturnType = {
  auditId: bigint;
  status: AuditStatus;
  opener: Address;
  provider: Address;
  /** The receipt channel's buyer, who gets the refund of a confirmed failure. */
  buyer: Address;
  stage: number;
  /** The first verdict once stage 0 is decided; the outcome once resolved. */
  verdict: AuditVerdict;
  escalator: Address;
  drawBlock: bigint;
  /** The block the audit was opened in (its `AuditOpened` and `EvidenceOffered` events are there). */
  openedBlock: bigint;
  commitDeadline: bigint;
  revealDeadline: bigint;
  escalationDeadline: bigint;
  bond: bigint;
  escalationBond: bigint;
  receiptDigest: Hex;
  receipt: InferenceReceipt;
  seats: AuditSeat[];
};

/**
 * An audit's record and every verifier drawn into it. An unknown id reads as status `None`.
 *
 * @example
 * const { status, seats } = await getAudit(client, { auditId })
 */
export async function getAudit(client: AgoraClient, { auditId }: GetAuditParameters): Promise<GetAuditReturnType> {
  const address = requireAuditCourt(client.deployment);
  try {
    const [audit, seats] = await Promise.all([
      readContract(client, { address, abi: auditCourtAbi, functionName: 'getAudit', args: [auditId] }),
      readContract(client, { address, abi: auditCourtAbi, functionName: 'getSeats', args: [auditId] }),
    ]);
    return {
      auditId,
      status: auditStatuses[audit.status] ?? 'None',
      opener: audit.opener,
      provider: audit.provider,
      buyer: audit.buyer,
      stage: audit.stage,
      verdict: auditVerdicts[audit.verdict] ?? 'None',
      escalator: audit.escalator,
      drawBlock: BigInt(audit.drawBlock),
      openedBlock: BigInt(audit.openedBlock),
      commitDeadline: BigInt(audit.commitDeadline),
      revealDeadline: BigInt(audit.revealDeadline),
      escalationDeadline: BigInt(audit.escalationDeadline),
      bond: audit.bond,
      escalationBond: audit.escalationBond,
      receiptDigest: audit.receiptDigest,
      receipt: { ...audit.receipt },
      seats: seats.map((seat) => ({
        verifier: seat.verifier,
        stage: seat.stage,
        status: auditSeatStatuses[seat.status] ?? 'None',
        verdict: auditVerdicts[seat.verdict] ?? 'None',
      })),
    };
  } catch (err) {
    throw toAgoraError(err, `Reading audit ${auditId}`);
  }
}
