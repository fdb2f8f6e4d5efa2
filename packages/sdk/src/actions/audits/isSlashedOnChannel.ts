import type { Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { auditCourtAbi } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';
import { requireAuditCourt } from './requireAuditCourt.ts';

export type IsSlashedOnChannelParameters = { channelId: Hex };

/**
 * Whether the court already slashed a channel's provider for a failure found in it. A channel is
 * slashed for at most once (so one bad receipt cannot be farmed under many roots): a later Fail on
 * it slashes nothing and pays the verifiers from the opener's bond, so an opener skips such audits.
 *
 * @example
 * if (await isSlashedOnChannel(client, { channelId })) return // nothing more to win on this channel
 */
export async function isSlashedOnChannel(client: AgoraClient, { channelId }: IsSlashedOnChannelParameters): Promise<boolean> {
  return readContract(client, { address: requireAuditCourt(client.deployment), abi: auditCourtAbi, functionName: 'isSlashedOnChannel', args: [channelId] }).catch((err: unknown) => {
    throw toAgoraError(err, `Reading whether channel ${channelId} was slashed for already`);
  });
}
