import type { Address, Hex } from 'viem';
import {
  createProviderScore,
  defaultScorePrior,
  getCallCount,
  getScoreSummary,
  hasFailedCheck,
  recordObservation,
  type ProviderScore,
  type ScoreObservation,
  type ScorePrior,
} from './providerScore.ts';

export type RouterInit = {
  /** Share of picks given to newcomers while any exist (default 0.05). */
  explorationShare?: number;
  /** Uniform [0, 1) source; pass a seeded one for reproducible runs (default Math.random). */
  rng?: () => number;
  /** Calls after which a provider leaves the newcomer pool (default 10). */
  newcomerCalls?: number;
  /** How many of the best established providers per model are ranked on each pick (default 64). */
  eliteSize?: number;
  /** Picks of a model between two re-rankings of all its providers (default 1000). */
  refreshEvery?: number;
  prior?: ScorePrior;
  /**
   * Give no traffic to a provider with a failed audit or canary on record (default true). A
   * verdict takes minutes to land on-chain and a cheater keeps serving meanwhile; a failed canary
   * is a known answer gotten wrong, so the gateway stops sending work the moment it sees one.
   */
  quarantineFailures?: boolean;
  /**
   * Rank newcomers with the established providers (default false). A newcomer's value is then its
   * prior: the on-chain price and its latency quote at the prior's quality, a little below a
   * proven provider's, so a network of thousands of providers sends its first calls to those
   * whose public offer is best instead of to uniformly drawn ones, and observed latency and
   * checks correct the ranking within a few calls. When false, newcomers only get the exploration
   * share (and the cold-start share while the elite is not full).
   */
  rankNewcomers?: boolean;
  /**
   * Newcomers drawn per exploration pick; the one with the best prior value is taken (default 1:
   * uniform). Sampling keeps a pick O(1) however many providers there are, while steering
   * exploration to the offers worth trying first.
   */
  newcomerSample?: number;
};

/** An offer as the router needs it: the on-chain price and the provider's latency quote. */
export type RouterOffer = { provider: Address; modelId: Hex; price: number; quotedLatencyMs: number };

export type RouterPick = {
  provider: Address;
  score: ProviderScore;
  /** True when the pick came from the newcomers' exploration share. */
  explored: boolean;
};

export type PickParameters = {
  /** Whether a provider can take the call now (not busy, not cooling down). Default: all can. */
  accept?: (provider: Address) => boolean;
};

type Entry = {
  score: ProviderScore;
  key: string;
  pool: 'newcomer' | 'established' | 'removed';
  index: number;
  /** The score's summary and the evidence count and price it was computed at (a pick reads it many times). */
  cached: { seen: number; price: number; quality: number; sd: number; speedPerPrice: number; value: number } | undefined;
};
type ModelBook = { newcomers: Entry[]; established: Entry[]; elite: Entry[]; picksSinceRefresh: number; stale: boolean };

/** Random candidates tried from a pool before giving up on it. */
const RANDOM_TRIES = 16;

/**
 * Routes calls for each model to the provider with the best expected value per token,
 * `quality × speed ÷ price`, learning from what it is told happened.
 *
 * Exploration is an explicit share, epsilon-greedy style: with probability `explorationShare` a
 * pick goes to a uniformly chosen newcomer (fewer than `newcomerCalls` calls seen); while a model
 * has fewer than `eliteSize` established providers the share rises to cover the gap. A fixed share is
 * a network parameter anyone can read and audit — newcomers are guaranteed that much traffic, and
 * a sybil swarm cannot get more than that share however many identities it registers. The rest
 * of the traffic is exploitation by Thompson sampling over the elite: each pick draws each elite
 * provider's quality from (a normal approximation of) its Beta posterior and takes the highest
 * sampled value. That spreads load over providers whose values are within noise of each other and
 * keeps learning about them, with no tuning constant.
 *
 * Cost per pick is O(eliteSize) plus an O(n log n) re-ranking of a model's providers every
 * `refreshEvery` picks, so a million picks over ten thousand providers take seconds.
 *
 * @example
 * const router = createRouter({ explorationShare: 0.05, rng })
 * router.addOffer({ provider, modelId, price: 2_000, quotedLatencyMs: 800 })
 * const pick = router.pick(modelId, { accept: (p) => !busy.has(p) })
 * router.record(pick.provider, modelId, { kind: 'delivered', latencyMs: 612 })
 */
export function createRouter(init: RouterInit = {}) {
  const explorationShare = init.explorationShare ?? 0.05;
  const rng = init.rng ?? Math.random;
  const newcomerCalls = init.newcomerCalls ?? 10;
  const eliteSize = init.eliteSize ?? 64;
  const refreshEvery = init.refreshEvery ?? 1000;
  const prior = init.prior ?? defaultScorePrior;
  const quarantine = init.quarantineFailures ?? true;
  const rankNewcomers = init.rankNewcomers ?? false;
  const newcomerSample = init.newcomerSample ?? 1;
  if (!(Number.isInteger(newcomerSample) && newcomerSample >= 1)) throw new RangeError(`newcomerSample must be an integer >= 1, got ${newcomerSample}`);
  const usable = (entry: Entry, accept: (provider: Address) => boolean) =>
    entry.pool !== 'removed' && !(quarantine && hasFailedCheck(entry.score)) && accept(entry.score.provider);
  if (!(explorationShare >= 0 && explorationShare <= 1)) throw new RangeError(`explorationShare must be in [0, 1], got ${explorationShare}`);
  if (!(eliteSize >= 1)) throw new RangeError(`eliteSize must be >= 1, got ${eliteSize}`);

  const entries = new Map<string, Entry>();
  const models = new Map<string, ModelBook>();
  const keyOf = (provider: Address, modelId: Hex) => `${provider.toLowerCase()}:${modelId.toLowerCase()}`;
  const bookOf = (modelId: Hex) => {
    const id = modelId.toLowerCase();
    let book = models.get(id);
    if (!book) models.set(id, (book = { newcomers: [], established: [], elite: [], picksSinceRefresh: 0, stale: true }));
    return book;
  };

  function place(book: ModelBook, entry: Entry, pool: 'newcomer' | 'established') {
    const list = pool === 'newcomer' ? book.newcomers : book.established;
    entry.pool = pool;
    entry.index = list.length;
    list.push(entry);
  }

  function unplace(book: ModelBook, entry: Entry) {
    if (entry.pool === 'removed') return;
    const list = entry.pool === 'newcomer' ? book.newcomers : book.established;
    // Swap-remove keeps removal O(1); the moved entry learns its new index.
    const last = list.pop()!;
    if (last !== entry) {
      list[entry.index] = last;
      last.index = entry.index;
    }
    entry.pool = 'removed';
  }

  /** A graduate joins the ranking at the model's next refresh. */
  function graduate(book: ModelBook, entry: Entry) {
    unplace(book, entry);
    place(book, entry, 'established');
  }

  /** Evidence seen so far: any new observation but a price changes it. */
  const evidenceOf = (score: ProviderScore) =>
    score.delivered + score.timeouts + score.auditPass + score.auditFail + score.canaryPass + score.canaryFail + score.probesUp + score.probesDown;

  /** The entry's summary, recomputed only when its score has changed since the last read. */
  function summaryOf(entry: Entry): NonNullable<Entry['cached']> {
    const score = entry.score;
    const seen = evidenceOf(score);
    const cached = entry.cached;
    if (cached && cached.seen === seen && cached.price === score.price) return cached;
    const s = getScoreSummary(score, prior);
    return (entry.cached = { seen, price: score.price, quality: s.quality, sd: Math.sqrt(s.qualityVariance), speedPerPrice: s.speed / score.price, value: s.value });
  }

  /** Moves graduated newcomers out and ranks the established (and newcomers, if ranked) by posterior-mean value. */
  function refresh(book: ModelBook) {
    for (let i = book.newcomers.length - 1; i >= 0; i--) {
      const entry = book.newcomers[i]!;
      if (getCallCount(entry.score) >= newcomerCalls) graduate(book, entry);
    }
    book.elite = topByValue(rankNewcomers ? [book.established, book.newcomers] : [book.established], eliteSize);
    book.picksSinceRefresh = 0;
    book.stale = false;
  }

  /**
   * The `k` best entries by posterior-mean value, best first, skipping quarantined ones: a
   * bounded min-heap, O(n log k), so a model with ten thousand providers re-ranks in a millisecond.
   */
  function topByValue(lists: Entry[][], k: number): Entry[] {
    const heap: Entry[] = [];
    const values: number[] = [];
    const swap = (i: number, j: number) => {
      [heap[i], heap[j]] = [heap[j]!, heap[i]!];
      [values[i], values[j]] = [values[j]!, values[i]!];
    };
    const down = (i: number) => {
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < heap.length && values[l]! < values[m]!) m = l;
        if (r < heap.length && values[r]! < values[m]!) m = r;
        if (m === i) return;
        swap(i, m);
        i = m;
      }
    };
    for (const list of lists) {
      for (const entry of list) {
        if (quarantine && hasFailedCheck(entry.score)) continue;
        const value = summaryOf(entry).value;
        if (heap.length < k) {
          heap.push(entry);
          values.push(value);
          for (let i = heap.length - 1; i > 0; ) {
            const parent = (i - 1) >> 1;
            if (values[parent]! <= values[i]!) break;
            swap(i, parent);
            i = parent;
          }
        } else if (value > values[0]!) {
          heap[0] = entry;
          values[0] = value;
          down(0);
        }
      }
    }
    const order = heap.map((entry, i) => ({ entry, value: values[i]! })).sort((x, y) => y.value - x.value);
    return order.map((x) => x.entry);
  }

  let spareNormal: number | undefined;
  function normal(): number {
    if (spareNormal !== undefined) {
      const z = spareNormal;
      spareNormal = undefined;
      return z;
    }
    const u = 1 - rng();
    const v = rng();
    const r = Math.sqrt(-2 * Math.log(u));
    spareNormal = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /** A Thompson draw of a provider's value. */
  function sampledValue(entry: Entry): number {
    const s = summaryOf(entry);
    const quality = Math.min(1, Math.max(0, s.quality + s.sd * normal()));
    return quality * s.speedPerPrice;
  }

  function bestOf(candidates: readonly Entry[], accept: (provider: Address) => boolean): Entry | undefined {
    let best: Entry | undefined;
    let bestValue = -1;
    for (const entry of candidates) {
      if (entry.pool === 'removed') continue;
      // A draw above four standard deviations happens once in 30,000: an entry whose value could
      // not beat the best so far even then is skipped without a draw. Most of an elite is
      // proven (small variance), so a pick samples a handful of the 64.
      const s = summaryOf(entry);
      if (Math.min(1, s.quality + 4 * s.sd) * s.speedPerPrice <= bestValue) continue;
      const value = sampledValue(entry);
      // Whether it can take the call is asked only of a candidate that would win: the caller's
      // check (a busy map, a cool-down) then runs a few times per pick instead of once per elite.
      if (value > bestValue && usable(entry, accept)) {
        best = entry;
        bestValue = value;
      }
    }
    return best;
  }

  function randomAccepted(list: Entry[], accept: (provider: Address) => boolean): Entry | undefined {
    for (let i = 0; i < RANDOM_TRIES && list.length > 0; i++) {
      const entry = list[Math.floor(rng() * list.length)]!;
      if (usable(entry, accept)) return entry;
    }
    return undefined;
  }

  function randomSample(list: Entry[]): Entry[] {
    const sample: Entry[] = [];
    for (let i = 0; i < RANDOM_TRIES && list.length > 0; i++) sample.push(list[Math.floor(rng() * list.length)]!);
    return sample;
  }

  const acceptAll = () => true;

  return {
    /** Starts routing to an offer (a newcomer until it has served `newcomerCalls` calls). Re-adding updates the price and quote. */
    addOffer(offer: RouterOffer): ProviderScore {
      const key = keyOf(offer.provider, offer.modelId);
      const book = bookOf(offer.modelId);
      const known = entries.get(key);
      if (known) {
        recordObservation(known.score, { kind: 'price', price: offer.price });
        known.score.quotedLatencyMs = offer.quotedLatencyMs;
        known.cached = undefined;
        if (known.pool === 'removed') place(book, known, getCallCount(known.score) >= newcomerCalls ? 'established' : 'newcomer');
        book.stale = true;
        return known.score;
      }
      const entry: Entry = { score: createProviderScore(offer), key, pool: 'removed', index: -1, cached: undefined };
      entries.set(key, entry);
      place(book, entry, 'newcomer');
      return entry.score;
    },
    /** Stops routing to an offer (removed, jailed, slashed); its score is kept as history. */
    removeOffer(provider: Address, modelId: Hex): void {
      const entry = entries.get(keyOf(provider, modelId));
      if (!entry || entry.pool === 'removed') return;
      const book = bookOf(modelId);
      // A removed elite entry is skipped at pick time until the next refresh drops it.
      unplace(book, entry);
    },
    /** Adds evidence about a (provider, model); unknown pairs are ignored. */
    record(provider: Address, modelId: Hex, observation: ScoreObservation): void {
      const entry = entries.get(keyOf(provider, modelId));
      if (entry) recordObservation(entry.score, observation);
    },
    /**
     * The provider for the next call of a model, or undefined when no offer is live or none is
     * accepted. Falls back to random established providers, then newcomers, when the elite are busy.
     */
    pick(modelId: Hex, parameters: PickParameters = {}): RouterPick | undefined {
      const book = models.get(modelId.toLowerCase());
      if (!book) return undefined;
      const accept = parameters.accept ?? acceptAll;
      if (book.stale || ++book.picksSinceRefresh >= refreshEvery || (book.elite.length === 0 && book.established.length > 0)) refresh(book);

      // Until a model has a full elite, newcomers also get the share the elite cannot fill yet
      // (a cold-started network would otherwise hand all its traffic to the first graduate).
      // Ranked newcomers are in the elite already, so only the exploration share is needed.
      const share = rankNewcomers ? explorationShare : Math.max(explorationShare, 1 - book.established.length / eliteSize);
      const explore = book.newcomers.length > 0 && rng() < share;
      if (explore) {
        let best: Entry | undefined;
        let bestValue = -1;
        let drawn = 0;
        for (let i = 0; i < RANDOM_TRIES * newcomerSample && drawn < newcomerSample && book.newcomers.length > 0; i++) {
          const entry = book.newcomers[Math.floor(rng() * book.newcomers.length)]!;
          if (getCallCount(entry.score) >= newcomerCalls) {
            graduate(book, entry);
            continue;
          }
          if (!usable(entry, accept)) continue;
          drawn++;
          // One draw is today's uniform exploration; with more, the best prior value of the sample.
          const value = newcomerSample === 1 ? 0 : summaryOf(entry).value;
          if (value > bestValue) {
            best = entry;
            bestValue = value;
          }
        }
        if (best) return { provider: best.score.provider, score: best.score, explored: true };
      }
      const chosen = bestOf(book.elite, accept) ?? bestOf(randomSample(book.established), accept) ?? randomAccepted(book.newcomers, accept);
      return chosen && { provider: chosen.score.provider, score: chosen.score, explored: chosen.pool === 'newcomer' };
    },
    /** The score of a (provider, model), live or removed. */
    getScore(provider: Address, modelId: Hex): ProviderScore | undefined {
      return entries.get(keyOf(provider, modelId))?.score;
    },
    /** Every score the router holds (for the epoch root). */
    getScores(): ProviderScore[] {
      return [...entries.values()].map((e) => e.score);
    },
    /** How many live offers a model has, new and established. */
    getOfferCount(modelId: Hex): { newcomers: number; established: number } {
      const book = models.get(modelId.toLowerCase());
      return { newcomers: book?.newcomers.length ?? 0, established: book?.established.length ?? 0 };
    },
  };
}

export type Router = ReturnType<typeof createRouter>;
