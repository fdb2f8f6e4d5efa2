import { getContractEvents } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { AgoraError } from '../../errors/AgoraError.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type GetAuditEvidenceURIParameters = { auditId: bigint };

/**
 * Where the opener of an audit offers the call's evidence (`{ input, params, output }`): the court
 * keeps only the receipt's hashes and announces the URI in its `EvidenceOffered` event.
 *
 * @throws {AgoraError} `AuditCourtUnknownAudit` when no audit with that id was opened.
 * @example
 * const uri = await getAuditEvidenceURI(client, { auditId })
 */
export async function getAuditEvidenceURI(client: AgoraClient, { auditId }: GetAuditEvidenceURIParameters): Promise<string> {
  const address = requireAuditCourt(client.deployment);
  const [event] = await getContractEvents(client, {
    address,
    abi: auditCourtAbi,
    eventName: 'EvidenceOffered',
    args: { auditId },
    fromBlock: client.deployment.startBlock,
  });
  if (!event) throw new AgoraError('AuditCourtUnknownAudit', `No audit ${auditId} was opened on this court.`, { fix: 'check the audit id.' });
  return event.args.evidenceURI!;
}
