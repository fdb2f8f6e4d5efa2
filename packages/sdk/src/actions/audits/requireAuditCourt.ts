import type { Address } from 'viem';
import type { Deployment } from '../../deployment.ts';
import { AgoraError } from '../../errors/AgoraError.ts';

/**
 * The deployment's AuditCourt address.
 * @throws {AgoraError} `NoAuditCourt` when the deployment named an account as audit court (or
 * predates the AuditCourt), so there is no contract to audit through.
 *
 * @example
 * const court = requireAuditCourt(client.deployment)
 */
export function requireAuditCourt(deployment: Deployment): Address {
  const court = deployment.contracts.auditCourt;
  if (!court) {
    throw new AgoraError('NoAuditCourt', `This deployment (chain ${deployment.chainId}) has no AuditCourt contract: its audit court is the account ${deployment.parameters.auditCourt}.`, {
      fix: 'deploy Agora without --audit-court (the AuditCourt is then deployed), or use a deployment file that lists contracts.auditCourt.',
    });
  }
  return court;
}
