import type { Address, Hex } from 'viem';
import type { ScoreObservation } from '../market/providerScore.ts';
import type { ModelCatalog } from './modelCatalog.ts';

export type UptimeProberInit = {
  catalog: ModelCatalog;
  record(provider: Address, modelId: Hex, observation: ScoreObservation): void;
  /** Time between probe rounds, ms. */
  intervalMs: number;
  /** How long a provider has to answer a probe, ms (default 5 s). */
  timeoutMs?: number;
  log?: (level: 'info' | 'warn', event: string, fields: Record<string, unknown>) => void;
};

/**
 * Uptime, measured: every `intervalMs` the gateway asks each live offer's endpoint for its
 * `/health` and records, for each of the provider's models, whether it answered in time as itself
 * (the address it names must be the offer's provider, so a registered URL now pointing elsewhere
 * counts as down). The router weighs uptime into a provider's quality, so one that is often
 * unreachable loses traffic before users' calls have to find out.
 *
 * @example
 * const prober = createUptimeProber({ catalog, record: caller.record, intervalMs: 30_000 })
 * prober.start()
 */
export function createUptimeProber(init: UptimeProberInit) {
  const log = init.log ?? (() => {});
  const timeoutMs = init.timeoutMs ?? 5_000;
  let timer: NodeJS.Timeout | undefined;
  let round: Promise<void> = Promise.resolve();
  const stopping = new AbortController();

  async function isUp(endpoint: string, provider: Address): Promise<boolean> {
    try {
      const response = await fetch(new URL('/health', endpoint), { signal: AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]) });
      if (!response.ok) return false;
      const body = (await response.json()) as { provider?: unknown };
      return typeof body.provider === 'string' && body.provider.toLowerCase() === provider.toLowerCase();
    } catch {
      return false;
    }
  }

  async function probeAll() {
    try {
      const models = await init.catalog.listModels();
      // provider endpoint → the (provider, model) pairs it serves
      const byEndpoint = new Map<string, { provider: Address; modelIds: Hex[] }>();
      for (const model of models) {
        for (const offer of await init.catalog.offers(model.modelId)) {
          const key = `${offer.provider.toLowerCase()} ${offer.endpoint}`;
          const entry = byEndpoint.get(key) ?? { provider: offer.provider, modelIds: [] };
          entry.modelIds.push(model.modelId);
          byEndpoint.set(key, entry);
        }
      }
      await Promise.all(
        [...byEndpoint.entries()].map(async ([key, { provider, modelIds }]) => {
          const up = await isUp(key.slice(key.indexOf(' ') + 1), provider);
          if (stopping.signal.aborted) return;
          for (const modelId of modelIds) init.record(provider, modelId, { kind: 'probe', up });
          if (!up) log('info', 'provider did not answer its health probe', { provider });
        }),
      );
    } catch (err) {
      // The catalog could not be read (chain down): no observation rather than a wrong one.
      log('warn', 'uptime probes skipped', { err: err instanceof Error ? err.message : String(err) });
    }
  }

  return {
    start() {
      if (timer || init.intervalMs <= 0) return;
      timer = setInterval(() => {
        round = round.then(probeAll);
      }, init.intervalMs);
    },
    /** Runs one round now (after any in progress). */
    probeOnce: () => (round = round.then(probeAll)),
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await round;
    },
  };
}

export type UptimeProber = ReturnType<typeof createUptimeProber>;
