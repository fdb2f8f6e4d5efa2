import { describe, expect, it } from 'vitest';
import type { AuditCourtParameters, DeploymentParameters } from '../../deployment.ts';
import { defaultAuditCourtParameters, defaultDeploymentParameters, validateDeploymentParameters } from './deployAgora.ts';

type Audit = AuditCourtParameters;
type Top = Omit<DeploymentParameters, 'treasury' | 'auditCourt' | 'audit'>;
const valid: Top & { audit: Audit } = { ...defaultDeploymentParameters, audit: { ...defaultAuditCourtParameters } };

/** The refusal for `valid` with `change` applied, or 'accepted'. */
function refusal(change: { top?: Partial<Top>; audit?: Partial<Audit> }): string {
  try {
    validateDeploymentParameters({ ...valid, ...change.top, audit: { ...valid.audit, ...change.audit } });
    return 'accepted';
  } catch (err) {
    const { code, shortMessage } = err as { code: string; shortMessage: string };
    return `${code}: ${shortMessage}`;
  }
}

describe('validateDeploymentParameters (issue 9, finding 10)', () => {
  it('accepts the defaults, with or without a drawTimeout that fits the unbonding delay', () => {
    expect(refusal({})).toBe('accepted');
    expect(refusal({ audit: { drawTimeout: 3600n } })).toBe('accepted');
  });

  it('names each broken parameter and says why', () => {
    expect(refusal({ top: { challengePeriod: 0n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: challengePeriod is 0: a buyer could close a channel in the block it was served and its provider could never redeem."`,
    );
    expect(refusal({ top: { challengeWindow: 0n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: challengeWindow is 0: a job delivery would be paid out at once, before any audit can dispute it."`,
    );
    expect(refusal({ audit: { slashAmount: 0n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: audit.slashAmount is 0: a provider found cheating would lose nothing."`,
    );
    expect(refusal({ audit: { jailDuration: 0n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: audit.jailDuration is 0: a provider found cheating could take new work in the same block."`,
    );
    expect(refusal({ audit: { verifierPenalty: valid.minStake + 1n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: audit.verifierPenalty (100000001) is above minStake (100000000): one penalty could take more than a verifier must stake."`,
    );
    expect(refusal({ audit: { drawTimeout: 0n } })).toMatchInlineSnapshot(
      `"InvalidDeployParameters: Refusing to deploy: audit.drawTimeout is 0: an audit would be cancelled before its verifiers could be drawn."`,
    );
  });

  it('refuses an unbonding delay shorter than an audit can take, drawTimeout included', () => {
    // 86,400 + 2 × (3600 + 3600) + 3600 = 104,400 s at the defaults.
    expect(refusal({ top: { unbondingDelay: 104_400n } })).toBe('accepted');
    expect(refusal({ top: { unbondingDelay: 104_399n } })).toMatchInlineSnapshot(`"InvalidDeployParameters: Refusing to deploy: unbondingDelay (104399 s) is shorter than an audit can take (drawTimeout + 2 × (commitWindow + revealWindow) + escalationWindow = 104400 s): a cheater could unbond and withdraw before its audit ends."`);
    expect(refusal({ top: { unbondingDelay: 18_001n }, audit: { drawTimeout: 1n } })).toBe('accepted');
    expect(refusal({ top: { unbondingDelay: 18_000n }, audit: { drawTimeout: 1n } })).toMatchInlineSnapshot(`"InvalidDeployParameters: Refusing to deploy: unbondingDelay (18000 s) is shorter than an audit can take (drawTimeout + 2 × (commitWindow + revealWindow) + escalationWindow = 18001 s): a cheater could unbond and withdraw before its audit ends."`);
  });

  it('refuses a zero draw timeout', () => {
    expect(refusal({ audit: { drawTimeout: 0n } })).toMatchInlineSnapshot(`"InvalidDeployParameters: Refusing to deploy: audit.drawTimeout is 0: an audit would be cancelled before its verifiers could be drawn."`);
  });

  it('a verifier penalty equal to the minimum stake is allowed', () => {
    expect(refusal({ audit: { verifierPenalty: valid.minStake } })).toBe('accepted');
  });
});
