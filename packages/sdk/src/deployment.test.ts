import { describe, expect, it } from 'vitest';
import { parseDeployment, serializeDeployment, type Deployment } from './deployment.ts';

const deployment: Deployment = {
  chainId: 31337,
  contracts: {
    token: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
    modelRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
    providerRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
    jobMarket: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
    paymentChannels: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
  },
  deployer: '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  startBlock: 0n,
  tokenIsDevUsd: true,
  parameters: {
    minStake: 100_000_000n,
    unbondingDelay: 604_800n,
    protocolFeeBps: 250,
    treasury: '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
    auditCourt: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    challengeWindow: 3_600n,
    challengePeriod: 86_400n,
  },
  deployedAt: '2026-11-22T00:00:00.000Z',
};

describe('deployment files', () => {
  it('round-trips through JSON with bigints as decimal strings', () => {
    const text = serializeDeployment(deployment);
    expect(JSON.parse(text).parameters.minStake).toBe('100000000');
    expect(parseDeployment(text)).toEqual(deployment);
  });

  it('round-trips the AuditCourt address and parameters, and still reads files written before them', () => {
    const withCourt: Deployment = {
      ...deployment,
      contracts: { ...deployment.contracts, auditCourt: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707' },
      parameters: {
        ...deployment.parameters,
        auditCourt: '0x5FC8d32690cc91D4c39d9d3abcBD16989F875707',
        audit: {
          auditBond: 10_000_000n,
          escalationBond: 20_000_000n,
          slashAmount: 50_000_000n,
          verifierPenalty: 5_000_000n,
          refundBps: 5_000,
          bountyBps: 3_000,
          drawDelayBlocks: 2n,
          commitWindow: 3_600n,
          revealWindow: 3_600n,
          escalationWindow: 3_600n,
          jailDuration: 86_400n,
          drawTimeout: 86_400n,
        },
      },
    };
    expect(parseDeployment(serializeDeployment(withCourt))).toEqual(withCourt);
    expect(parseDeployment(serializeDeployment(deployment)).contracts.auditCourt).toBeUndefined();
    const broken = JSON.parse(serializeDeployment(withCourt));
    broken.parameters.audit.refundBps = 'half';
    expect(() => parseDeployment(JSON.stringify(broken))).toThrow(/parameters.audit.refundBps is not a basis-point number/);
  });

  it('round-trips the ScoreRoots address, refuses a bad one, and still reads files written before it', () => {
    const withScores: Deployment = { ...deployment, contracts: { ...deployment.contracts, scoreRoots: '0xa513E6E4b8f2a923D98304ec87F64353C4D5C853' } };
    expect(parseDeployment(serializeDeployment(withScores))).toEqual(withScores);
    expect(parseDeployment(serializeDeployment(deployment)).contracts.scoreRoots).toBeUndefined();
    const broken = JSON.parse(serializeDeployment(withScores));
    broken.contracts.scoreRoots = 'nowhere';
    expect(() => parseDeployment(JSON.stringify(broken))).toThrow(/contracts.scoreRoots is not an address/);
  });

  it('names the first bad field and says how to get a good file', () => {
    const broken = JSON.parse(serializeDeployment(deployment));
    broken.contracts.jobMarket = '0x1234';
    expect(() => parseDeployment(JSON.stringify(broken), 'deployments/mychain.json')).toThrowErrorMatchingInlineSnapshot(`
      [AgoraError: The deployments/mychain.json is not a valid Agora deployment: contracts.jobMarket is not an address.

      Fix: write it with \`agora deploy --rpc-url <url>\` (or \`npm start\` on a devnet).]
    `);
    expect(() => parseDeployment('{ not json')).toThrow(expect.objectContaining({ code: 'InvalidDeployment' }));
    expect(() => parseDeployment(JSON.stringify({ ...broken, chainId: -1 }))).toThrow(/chainId must be a positive integer/);
  });
});
