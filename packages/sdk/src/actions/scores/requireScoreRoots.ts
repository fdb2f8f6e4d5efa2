import type { Address } from 'viem';
import type { Deployment } from '../../deployment.ts';
import { AgoraError } from '../../errors/AgoraError.ts';

/**
 * The deployment's ScoreRoots address.
 * @throws {AgoraError} `NoScoreRoots` when the deployment file predates the ScoreRoots contract.
 *
 * @example
 * const scoreRoots = requireScoreRoots(client.deployment)
 */
export function requireScoreRoots(deployment: Deployment): Address {
  const scoreRoots = deployment.contracts.scoreRoots;
  if (!scoreRoots) {
    throw new AgoraError('NoScoreRoots', `This deployment (chain ${deployment.chainId}) has no ScoreRoots contract: its file was written before ScoreRoots existed.`, {
      fix: 'deploy Agora again with `agora deploy` (or `npm start` on a devnet), or add contracts.scoreRoots to the deployment file if one is deployed on this chain.',
    });
  }
  return scoreRoots;
}
