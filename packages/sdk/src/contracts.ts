import type { Address } from 'viem';
import {
  devUsdAbi,
  jobMarketAbi,
  modelRegistryAbi,
  paymentChannelsAbi,
  providerRegistryAbi,
} from './generated/abis.ts';

export { devUsdAbi, jobMarketAbi, modelRegistryAbi, paymentChannelsAbi, providerRegistryAbi };

/** Every Agora ABI merged, so an error from any contract can be decoded by name. */
export const agoraAbi = [
  ...devUsdAbi,
  ...modelRegistryAbi,
  ...providerRegistryAbi,
  ...jobMarketAbi,
  ...paymentChannelsAbi,
] as const;

/** Addresses of one deployment of the trust layer. */
export type AgoraContracts = {
  /** The ERC-20 unit of account (DevUSD on a devnet, any ERC-20 in production). */
  token: Address;
  modelRegistry: Address;
  providerRegistry: Address;
  jobMarket: Address;
  paymentChannels: Address;
};

/** Status of a job in the JobMarket, by the contract's enum order. */
export const jobStatuses = ['None', 'Open', 'Accepted', 'Delivered', 'Failed', 'Finalized', 'Reclaimed', 'Cancelled'] as const;
export type JobStatus = (typeof jobStatuses)[number];

/** Status of a payment channel, by the contract's enum order. */
export const channelStatuses = ['None', 'Open', 'Closing', 'Closed'] as const;
export type ChannelStatus = (typeof channelStatuses)[number];

/** How audits judge a model's outputs, by the contract's enum order. */
export const verificationModes = ['exact', 'tolerance'] as const;
export type VerificationMode = (typeof verificationModes)[number];
