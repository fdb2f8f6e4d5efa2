// Small statistics and timing helpers shared by the bench scripts.
import { cpus } from 'node:os';

/** Latency figures of a set of samples, in the samples' unit. */
export type Summary = { count: number; mean: number; p50: number; p95: number; min: number; max: number };

/**
 * The `p`-th percentile (0..100) of samples sorted ascending, by linear interpolation between the
 * two nearest ranks (numpy's default), so p50 of an even count is the mean of the middle two.
 *
 * @example
 * percentile([1, 2, 3, 4], 50) // 2.5
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('percentile of no samples');
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
}

/**
 * Mean, p50, p95, min and max of `samples`.
 *
 * @example
 * summarize([3, 1, 2]) // { count: 3, mean: 2, p50: 2, p95: 2.9, min: 1, max: 3 }
 */
export function summarize(samples: readonly number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((sum, x) => sum + x, 0) / sorted.length;
  return { count: sorted.length, mean, p50: percentile(sorted, 50), p95: percentile(sorted, 95), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

/**
 * CPU time this process spent (user + system, all threads, so native model threads count too)
 * while `run` ran, in µs, with the wall time in ms.
 *
 * @example
 * const { cpuUs, wallMs } = await measureCpu(() => work())
 */
export async function measureCpu<T>(run: () => Promise<T>): Promise<{ value: T; cpuUs: number; wallMs: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  const value = await run();
  const wallMs = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { value, cpuUs: used.user + used.system, wallMs };
}

/** One line naming the machine a bench ran on: CPU model, cores, Node version, platform. */
export function describeMachine(): string {
  const list = cpus();
  return `${list[0]?.model.trim() ?? 'unknown CPU'}, ${list.length} cores, Node ${process.version}, ${process.platform}-${process.arch}`;
}
