import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi, auditSeatStatuses, auditStatuses, auditVerdicts, type AuditSeatStatus, type AuditStatus, type AuditVerdict } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditParameters = { auditId: bigint };
/** A verifier drawn into the audit; stage 0 is the first verifier, stage 1 the panel. */
export type AuditSeat = { verifier: Address; stage: number; status: AuditSeatStatus; verdict: AuditVerdict };
/** An audit of one batch of one channel's receipts, as the court records it. */
export type GetAuditReturnType = {
  auditId: bigint;
  status: AuditStatus;
  opener: Address;
  provider: Address;
  /** The channel's buyer, who gets the refund of a confirmed failure. */
  buyer: Address;
  /** The channel's voucher signer (it may open audits of the channel too). */
  signer: Address;
  channelId: Hex;
  modelId: Hex;
  /** Merkle root over the batch's receipt leaves (see `createReceiptBatchTree`). */
  receiptsRoot: Hex;
  receiptCount: number;
  stage: number;
  /** The first verdict once stage 0 is decided; the outcome once resolved. */
  verdict: AuditVerdict;
  escalator: Address;
  drawBlock: bigint;
  /** The block the audit was opened in (its `AuditOpened` and `EvidenceOffered` events are there). */
  openedBlock: bigint;
  openedAt: bigint;
  /** After this time a stage-0 draw that finds nobody cancels the audit (bond back to the opener). */
  drawDeadline: bigint;
  commitDeadline: bigint;
  revealDeadline: bigint;
  escalationDeadline: bigint;
  seats: AuditSeat[];
};

/**
 * An audit's record and every verifier drawn into it. An unknown id reads as status `None`.
 *
 * @example
 * const { status, receiptsRoot, seats } = await getAudit(client, { auditId })
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
      signer: audit.signer,
      channelId: audit.channelId,
      modelId: audit.modelId,
      receiptsRoot: audit.receiptsRoot,
      receiptCount: Number(audit.receiptCount),
      stage: audit.stage,
      verdict: auditVerdicts[audit.verdict] ?? 'None',
      escalator: audit.escalator,
      drawBlock: BigInt(audit.drawBlock),
      openedBlock: BigInt(audit.openedBlock),
      openedAt: BigInt(audit.openedAt),
      drawDeadline: BigInt(audit.drawDeadline),
      commitDeadline: BigInt(audit.commitDeadline),
      revealDeadline: BigInt(audit.revealDeadline),
      escalationDeadline: BigInt(audit.escalationDeadline),
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
