import type { Address } from 'viem';
import {
  auditCourtAbi,
  devUsdAbi,
  jobMarketAbi,
  modelRegistryAbi,
  paymentChannelsAbi,
  providerRegistryAbi,
  scoreRootsAbi,
} from './generated/abis.ts';

export { auditCourtAbi, devUsdAbi, jobMarketAbi, modelRegistryAbi, paymentChannelsAbi, providerRegistryAbi, scoreRootsAbi };

/** Every Agora ABI merged, so an error from any contract can be decoded by name. */
export const agoraAbi = [
  ...devUsdAbi,
  ...modelRegistryAbi,
  ...providerRegistryAbi,
  ...jobMarketAbi,
  ...paymentChannelsAbi,
  ...auditCourtAbi,
  ...scoreRootsAbi,
] as const;

/** Addresses of one deployment of the trust layer. */
export type AgoraContracts = {
  /** The ERC-20 unit of account (DevUSD on a devnet, any ERC-20 in production). */
  token: Address;
  modelRegistry: Address;
  providerRegistry: Address;
  jobMarket: Address;
  paymentChannels: Address;
  /**
   * The AuditCourt contract, the registry's only jailer and slasher. Absent when the deployment
   * named an account as audit court instead, and in deployment files written before it existed.
   */
  auditCourt?: Address;
  /**
   * The ScoreRoots contract, where gateways and indexers post the merkle roots of the scores they
   * computed. Absent in deployment files written before it existed.
   */
  scoreRoots?: Address;
};

/** Status of a job in the JobMarket, by the contract's enum order. */
export const jobStatuses = ['None', 'Open', 'Accepted', 'Delivered', 'Failed', 'Finalized', 'Reclaimed', 'Cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** Status of a payment channel, by the contract's enum order. */
export const channelStatuses = ['None', 'Open', 'Closing', 'Closed'] as const;
export type ChannelStatus = (typeof channelStatuses)[number];

/** Status of an audit in the AuditCourt, by the contract's enum order. */
export const auditStatuses = ['None', 'Drawing', 'Voting', 'Decided', 'Resolved', 'Cancelled'] as const;
export type AuditStatus = (typeof auditStatuses)[number];

/**
 * A verifier's verdict, by the contract's enum order (`None`: not revealed yet). `Unverifiable`:
 * the batch's evidence was missing or did not match its root, count, channel or signatures; as an
 * outcome it slashes nothing, records no pass, and frees the root to be audited again.
 */
export const auditVerdicts = ['None', 'Pass', 'Fail', 'Unverifiable'] as const;
export type AuditVerdict = (typeof auditVerdicts)[number];
/** A verdict a verifier can commit (anything but `None`). */
export type CommittableVerdict = Exclude<AuditVerdict, 'None'>;

/** Status of a verifier's seat in an audit, by the contract's enum order. */
export const auditSeatStatuses = ['None', 'Drawn', 'Committed', 'Revealed', 'Replaced'] as const;
export type AuditSeatStatus = (typeof auditSeatStatuses)[number];

/** How audits judge a model's outputs, by the contract's enum order. */
export const verificationModes = ['exact', 'tolerance'] as const;
export type VerificationMode = (typeof verificationModes)[number];
