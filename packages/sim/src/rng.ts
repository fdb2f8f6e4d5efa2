/** A seeded uniform [0, 1) source with the few distributions the simulator draws from. */
export type Rng = {
  (): number;
  normal(): number;
  /** exp(N(log median, sigma²)). */
  logNormal(median: number, sigma: number): number;
  uniform(lo: number, hi: number): number;
  int(n: number): number;
};

/**
 * mulberry32: 32-bit state, fast and good enough for a simulation (not for keys). Each purpose
 * (population, routing, arrivals, audits) gets its own stream so changing one does not reshuffle
 * the others: the all-honest comparison world then has the very same providers.
 *
 * @example
 * const rng = createRng(42, 'population')
 */
export function createRng(seed: number, stream = ''): Rng {
  let a = (seed ^ hashString(stream)) >>> 0;
  const next = (() => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }) as Rng;
  let spare: number | undefined;
  next.normal = () => {
    if (spare !== undefined) {
      const z = spare;
      spare = undefined;
      return z;
    }
    const r = Math.sqrt(-2 * Math.log(1 - next()));
    const theta = 2 * Math.PI * next();
    spare = r * Math.sin(theta);
    return r * Math.cos(theta);
  };
  next.logNormal = (median, sigma) => median * Math.exp(sigma * next.normal());
  next.uniform = (lo, hi) => lo + (hi - lo) * next();
  next.int = (n) => Math.floor(next() * n);
  return next;
}

/** FNV-1a, to turn a stream name into seed bits. */
function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
