import type { Address, Hex } from 'viem';

/**
 * One (provider, model) score as ScoreRoots commits to it (the contract's `ScoreLeaf`): rates in
 * parts per million, the offer price in token base units and the calls seen. The node's
 * `getEpochScoreLeaf` makes these from its scores (its `EpochScoreLeaf` is this type).
 */
export type ScoreLeaf = {
  provider: Address;
  modelId: Hex;
  auditPassPpm: number;
  canaryPassPpm: number;
  deliveryPpm: number;
  uptimePpm: number;
  /** Observed ÷ quoted latency, ppm (1 000 000 = keeps its quote). */
  latencyRatioPpm: number;
  price: bigint;
  calls: bigint;
};
