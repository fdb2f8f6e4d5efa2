import { describe, expect, it } from 'vitest';
import type { Address, Hex } from 'viem';
import { createAuditPolicy } from '../market/auditPolicy.ts';
import { createProviderScore, recordObservation, type ScoreObservation } from '../market/providerScore.ts';
import { falsifyOutput } from '../provider/wrongAnswers.ts';
import { createCanarySender, type Canary } from './canaries.ts';
import type { ServedCall } from './gatewayAuditor.ts';
import type { NetworkCallParameters } from './networkCaller.ts';

const provider = '0x00000000000000000000000000000000000000aa' as Address;
const modelId = `0x${'11'.repeat(32)}` as Hex;
const model = { modelId, name: 'agora/digits-mlp', verificationMode: 'exact' } as never;
const canary: Canary = { model: 'agora/digits-mlp', input: { image: 'AAA' }, params: {}, output: { digit: 7, probabilities: [0.1, 0.9] } };
const receipt = { provider, signature: '0x' } as never;

function sender(answer: (parameters: NetworkCallParameters) => unknown) {
  const recorded: ScoreObservation[] = [];
  const audited: ServedCall[] = [];
  const calls: NetworkCallParameters[] = [];
  const canaries = createCanarySender({
    canaries: [canary],
    policy: createAuditPolicy({ newcomerCanaryRate: 1, canaryRate: 1 }),
    getScore: () => undefined,
    record: (_p, _m, observation) => recorded.push(observation),
    call: async (parameters) => {
      calls.push(parameters);
      return { output: answer(parameters), receipt, provider, price: 1n };
    },
    auditFailure: (call) => audited.push(call),
    maxDelayMs: 0,
  });
  return { canaries, recorded, audited, calls };
}

describe('canaries', () => {
  it('sends a known-answer call to the provider that served, pinned to it and charged to no key', async () => {
    const { canaries, recorded, audited, calls } = sender(() => ({ probabilities: [0.1, 0.9], digit: 7 }));
    expect(canaries.afterServed({ provider, model })).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await canaries.stop();
    expect(calls).toMatchObject([{ model, input: canary.input, params: {}, provider }]);
    expect(calls[0]!.keyHash).toBeUndefined();
    // Compared as canonical JSON: key order does not matter.
    expect(recorded).toEqual([{ kind: 'canary', passed: true }]);
    expect(audited).toEqual([]);
  });

  it('records a wrong answer as a failed canary and audits its receipt', async () => {
    const { canaries, recorded, audited } = sender(() => falsifyOutput(canary.output));
    canaries.afterServed({ provider, model });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await canaries.stop();
    expect(recorded).toEqual([{ kind: 'canary', passed: false }]);
    expect(audited).toHaveLength(1);
    expect(audited[0]).toMatchObject({ provider, modelId, input: canary.input, output: { digit: 8 }, receipt });
  });

  it('sends none for a model without canaries, or when the rate says no', () => {
    const { canaries } = sender(() => canary.output);
    expect(canaries.afterServed({ provider, model: { modelId: `0x${'22'.repeat(32)}`, name: 'other', verificationMode: 'exact' } as never })).toBe(false);
    // A language model's answers vary across hardware: no canary, even with one listed for it.
    expect(canaries.afterServed({ provider, model: { modelId, name: 'agora/digits-mlp', verificationMode: 'tolerance' } as never })).toBe(false);
    const quiet = createCanarySender({
      canaries: [canary],
      policy: createAuditPolicy({ newcomerCanaryRate: 0, canaryRate: 0 }),
      getScore: () => recordObservation(createProviderScore({ provider, modelId, price: 1, quotedLatencyMs: 1 }), { kind: 'delivered', latencyMs: 1 }),
      record: () => {},
      call: async () => {
        throw new Error('no call expected');
      },
      auditFailure: () => {},
    });
    expect(quiet.afterServed({ provider, model })).toBe(false);
  });
});

describe('falsifyOutput', () => {
  it('returns plausible wrong answers of the same shape', () => {
    expect(falsifyOutput({ digit: 9, probabilities: [1] })).toEqual({ digit: 0, probabilities: [1] });
    expect(falsifyOutput({ text: 'hello world', finishReason: 'stop' })).toMatchObject({ text: 'hello …', finishReason: 'stop' });
    expect(falsifyOutput([1, 2])).toEqual([2, 2]);
    expect(falsifyOutput(3)).toBe(4);
  });
});
