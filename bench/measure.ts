/** Timing helpers. Benchmarks only: tests never assert on time. */

/** Milliseconds `work` takes. */
export async function time(work: () => Promise<unknown> | unknown): Promise<number> {
  const start = process.hrtime.bigint();
  await work();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/**
 * Largest live heap (MB above the starting heap) seen at any `sample()` call while `work` runs;
 * each sample collects garbage first, so it counts only what the work keeps alive.
 */
export async function peakLiveHeapMb(work: (sample: () => void) => Promise<unknown>): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc');
  gc();
  const base = process.memoryUsage().heapUsed;
  let peak = base;
  await work(() => {
    gc();
    peak = Math.max(peak, process.memoryUsage().heapUsed);
  });
  return Math.max(0, peak - base) / 1024 / 1024;
}

/** Deterministic pseudo-random text of `length` ASCII characters. */
export function text(seed: number, length: number): string {
  let x = (seed * 2654435761) >>> 0;
  let out = '';
  while (out.length < length) {
    x = (x * 1103515245 + 12345) >>> 0;
    out += String.fromCharCode(97 + ((x >>> 16) % 26));
  }
  return out;
}
