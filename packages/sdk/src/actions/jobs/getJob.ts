import type { Address, Hex } from 'viem';
import { readContract } from 'viem/actions';
import type { AgoraClient } from '../../client.ts';
import { jobMarketAbi, jobStatuses, type JobStatus } from '../../contracts.ts';
import { toAgoraError } from '../../errors/contractErrors.ts';

export type GetJobParameters = { jobId: bigint };
export type GetJobReturnType = {
  jobId: bigint;
  buyer: Address;
  provider: Address;
  modelId: Hex;
  inputHash: Hex;
  /** What the buyer escrowed. */
  maxPrice: bigint;
  /** What the provider is paid, fixed when the job opened (a named provider's offer then, else `maxPrice`). */
  price: bigint;
  /** The model royalty rate when the job was accepted (at most the provider's `maxRoyaltyBps`): finalize never pays a higher one. */
  royaltyBps: number;
  deadline: bigint;
  deliveredAt: bigint;
  status: JobStatus;
  errorCode: number;
  outputHash: Hex;
};

/**
 * A job's record.
 * @throws {ContractRevertedError} `JobMarketUnknownJob` for an unknown id.
 *
 * @example
 * const { status, outputHash } = await getJob(client, { jobId })
 */
export async function getJob(client: AgoraClient, { jobId }: GetJobParameters): Promise<GetJobReturnType> {
  try {
    const job = await readContract(client, {
      address: client.deployment.contracts.jobMarket,
      abi: jobMarketAbi,
      functionName: 'getJob',
      args: [jobId],
    });
    return {
      jobId,
      ...job,
      deadline: BigInt(job.deadline),
      deliveredAt: BigInt(job.deliveredAt),
      status: jobStatuses[job.status] ?? 'None',
    };
  } catch (err) {
    throw toAgoraError(err, `Reading job ${jobId}`);
  }
}
