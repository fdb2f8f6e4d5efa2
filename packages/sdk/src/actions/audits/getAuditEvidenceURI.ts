import { getContractEvents, readContract } from 'viem/actions';
import { toAgoraError } from '../../errors/contractErrors.ts';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditEvidenceURIParameters = { auditId: bigint };

/**
 * Where the opener of an audit offers the batch's evidence (every receipt with its signature,
 * input, params and output): the court keeps only the batch's root and announces the URI in its
 * `EvidenceOffered` event, read from the one block the audit was opened in.
 *
 * @throws {AgoraError} `AuditCourtUnknownAudit` when no audit with that id was opened.
 * @example
 * const uri = await getAuditEvidenceURI(client, { auditId })
 */
export async function getAuditEvidenceURI(client: AgoraClient, { auditId }: GetAuditEvidenceURIParameters): Promise<string> {
  const address = requireAuditCourt(client.deployment);
  const { openedBlock } = await readContract(client, { address, abi: auditCourtAbi, functionName: 'getAudit', args: [auditId] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading audit ${auditId}`);
  });
  if (openedBlock === 0n) throw new AgoraError('AuditCourtUnknownAudit', `No audit ${auditId} was opened on this court.`, { fix: 'check the audit id.' });
  // One block: public RPC nodes refuse log queries over wide ranges.
  const [event] = await getContractEvents(client, {
    address,
    abi: auditCourtAbi,
    eventName: 'EvidenceOffered',
    args: { auditId },
    fromBlock: openedBlock,
    toBlock: openedBlock,
  });
  if (!event) throw new AgoraError('AuditEvidenceNotOffered', `Audit ${auditId} has no EvidenceOffered event in block ${openedBlock}.`, { fix: 'the RPC node may lag behind; try again.' });
  return event.args.evidenceURI!;
}
