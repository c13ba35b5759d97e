/** Tiny benchmark harness: run a function for a while, report operations per second. */
import { performance } from 'node:perf_hooks';

export interface Rate {
  name: string;
  opsPerSecond: number;
  meanMs: number;
  iterations: number;
}

/** Repeat `fn` for at least `minMs` (and at least `minIterations` times) after one warm-up. */
export async function measure(name: string, fn: () => unknown, minMs = 1500, minIterations = 3): Promise<Rate> {
  await fn();
  let iterations = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < minMs || iterations < minIterations) {
    await fn();
    iterations += 1;
    elapsed = performance.now() - start;
  }
  return { name, opsPerSecond: (iterations * 1000) / elapsed, meanMs: elapsed / iterations, iterations };
}

export function table(rows: Array<Record<string, string | number>>): string {
  if (rows.length === 0) return '';
  const headers = Object.keys(rows[0] as object);
  const cells = rows.map((r) => headers.map((h) => String(r[h] ?? '')));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (values: string[]): string => values.map((v, i) => v.padEnd(widths[i] as number)).join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export const fmt = (n: number, digits = 1): string => n.toFixed(digits);

/** The p-th percentile (nearest rank) of values sorted ascending; NaN for none. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] as number;
}
