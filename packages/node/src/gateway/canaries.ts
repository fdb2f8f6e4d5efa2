import { readFileSync } from 'node:fs';
import type { Address, Hex } from 'viem';
import { z } from 'zod';
import { AgoraError, hashCanonicalJson } from '@agora/sdk';
import type { AuditPolicy } from '../market/auditPolicy.ts';
import type { ProviderScore, ScoreObservation } from '../market/providerScore.ts';
import type { ServedModel } from '../provider/servedModel.ts';
import type { ServedCall } from './gatewayAuditor.ts';
import type { CatalogModel } from './modelCatalog.ts';
import type { NetworkCallParameters, NetworkCallResult } from './networkCaller.ts';

const canarySchema = z.object({
  /** The model's name (as `/v1/models` lists it) or its on-chain id. */
  model: z.string().min(1),
  input: z.unknown(),
  params: z.record(z.string(), z.unknown()).default({}),
  /** The right answer: what an honest provider of an `exact` model returns, byte for byte (canonical JSON). */
  output: z.unknown(),
});

/** A known-answer call: sent to a provider as if it were a user's, its answer is checked. */
export type Canary = z.infer<typeof canarySchema>;

/**
 * Reads a canary file: a JSON array of `{ model, input, params?, output }`.
 * @throws {AgoraError} `InvalidCanaries` naming the file and every problem.
 */
export function loadCanaries(file: string): Canary[] {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (cause) {
    throw new AgoraError('InvalidCanaries', `Cannot read the canary file ${file}.`, { cause, fix: 'point gateway.audits.canaryFile at a JSON array of { model, input, params, output }.' });
  }
  const parsed = z.array(canarySchema).safeParse(raw);
  if (!parsed.success) {
    throw new AgoraError('InvalidCanaries', `The canary file ${file} is invalid.`, {
      metaMessages: parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(root)'}: ${issue.message}`),
      fix: 'each canary is { "model": "<name or id>", "input": …, "params": {…}, "output": <the right answer> }.',
    });
  }
  return parsed.data;
}

export type CanarySenderInit = {
  canaries: Canary[];
  policy: AuditPolicy;
  getScore(provider: Address, modelId: Hex): ProviderScore | undefined;
  record(provider: Address, modelId: Hex, observation: ScoreObservation): void;
  /** Makes the gateway's own call (no API key) pinned to one provider. */
  call(parameters: NetworkCallParameters): Promise<NetworkCallResult>;
  /** Audits a canary answered wrongly. */
  auditFailure(call: ServedCall): void;
  /** Longest random wait between the organic call that triggers a canary and the canary, ms (default 2000). */
  maxDelayMs?: number;
  rng?: () => number;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

/**
 * Hidden canaries: after an organic call served by a provider, with the policy's canary rate for
 * that provider, the gateway sends it a known-answer call for the same model, a random moment
 * later, through the same channel, route and parameters as users' calls, so the provider cannot
 * tell it apart. A right answer counts for the provider's canary pass rate; a wrong one marks it
 * (the router stops routing to it) and is audited, which slashes it.
 *
 * Canaries need a right answer known in advance, so they suit `exact` models; language models in
 * `tolerance` mode are checked by sampled audits instead.
 *
 * @example
 * const canaries = createCanarySender({ canaries: loadCanaries(file), policy, getScore, record, call, auditFailure })
 * canaries.afterServed({ provider, model })
 */
export function createCanarySender(init: CanarySenderInit) {
  const log = init.log ?? (() => {});
  const rng = init.rng ?? Math.random;
  const maxDelayMs = init.maxDelayMs ?? 2_000;
  const timers = new Set<NodeJS.Timeout>();
  const inFlight = new Set<Promise<void>>();

  // Stops the canaries in flight when the gateway stops (a provider may take minutes to answer).
  const stopping = new AbortController();
  // Only exact models have one right answer; a canary of another would fail honest providers.
  const forModel = (model: CatalogModel) =>
    model.verificationMode !== 'exact' ? [] : init.canaries.filter((c) => c.model === model.name || c.model.toLowerCase() === model.modelId.toLowerCase());

  async function send(provider: Address, model: CatalogModel, canary: Canary) {
    const result = await init.call({ model, input: canary.input, params: canary.params, provider, signal: stopping.signal });
    const passed = hashCanonicalJson(result.output) === hashCanonicalJson(canary.output);
    init.record(provider, model.modelId, { kind: 'canary', passed });
    if (passed) return;
    log('warn', 'provider answered a canary wrongly; auditing its receipt', { provider, model: model.name });
    init.auditFailure({ provider, modelId: model.modelId, input: canary.input, params: canary.params, output: result.output, receipt: result.receipt });
  }

  return {
    /** Maybe schedules a canary to the provider that just served an organic call; returns whether it did. */
    afterServed({ provider, model }: { provider: Address; model: CatalogModel }): boolean {
      if (stopping.signal.aborted) return false;
      const candidates = forModel(model);
      if (candidates.length === 0) return false;
      const score = init.getScore(provider, model.modelId);
      const rate = score ? init.policy.getCanaryRate(score) : init.policy.parameters.newcomerCanaryRate;
      if (rng() >= rate) return false;
      const canary = candidates[Math.floor(rng() * candidates.length)]!;
      const timer = setTimeout(() => {
        timers.delete(timer);
        const sending = send(provider, model, canary)
          .catch((err: unknown) => {
            // Not answering a canary is already counted by the caller as a failed delivery.
            log('info', 'canary call failed', { provider, model: model.name, err: err instanceof Error ? err.message : String(err) });
          })
          .finally(() => inFlight.delete(sending));
        inFlight.add(sending);
      }, Math.floor(rng() * maxDelayMs));
      timers.add(timer);
      return true;
    },
    /** Cancels the canaries not yet sent and waits for those in flight. */
    async stop() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      stopping.abort(new Error('the gateway is stopping'));
      await Promise.all(inFlight);
    },
  };
}

export type CanarySender = ReturnType<typeof createCanarySender>;

/**
 * Makes canaries by running the operator's own trusted copy of a model on chosen inputs: the right
 * answers of an `exact` model are what a deterministic run returns. The model should be the
 * same weights file (same model id) the providers serve.
 *
 * @example
 * const canaries = await buildCanaries({ model: digits, inputs: images.map((image) => ({ image })) })
 * writeFileSync('canaries.json', JSON.stringify(canaries))
 */
export async function buildCanaries({ model, inputs, params = {} }: { model: ServedModel; inputs: unknown[]; params?: Record<string, unknown> }): Promise<Canary[]> {
  if (model.descriptor.verificationMode !== 'exact') {
    throw new AgoraError('CanaryModelNotExact', `${model.descriptor.name} is verified in ${model.descriptor.verificationMode} mode: its right answers vary across hardware, so it cannot have canaries.`, {
      fix: 'make canaries for exact models (ONNX, OCR); language models are checked by sampled audits.',
    });
  }
  const signal = new AbortController().signal;
  const canaries: Canary[] = [];
  for (const input of inputs) canaries.push({ model: model.descriptor.name, input, params, output: await model.run(input, params, { signal }) });
  return canaries;
}
