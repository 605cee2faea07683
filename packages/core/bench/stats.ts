/** Percentile of a sorted array (nearest rank). */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface OpCost {
  p50: number;
  p99: number;
  mean: number;
}

/**
 * Cost per operation in ns. One `hrtime` read costs about as much as the cheapest operation
 * measured here, so ops are timed in blocks of `blockSize` and each block gives one per-op
 * sample; p50/p99 are over blocks. Between blocks the event loop runs (`setImmediate`), so
 * background work (the flusher, sockets, GC) happens as it would in a real program.
 */
export async function measure(
  op: (i: number) => void,
  options: { blocks: number; blockSize: number; warmupBlocks: number },
): Promise<OpCost> {
  const samples: number[] = [];
  let i = 0;
  for (let b = 0; b < options.warmupBlocks + options.blocks; b++) {
    const start = process.hrtime.bigint();
    for (let k = 0; k < options.blockSize; k++) op(i++);
    const ns = Number(process.hrtime.bigint() - start) / options.blockSize;
    if (b >= options.warmupBlocks) samples.push(ns);
    if (b % 4 === 3) await new Promise((r) => setImmediate(r));
  }
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: samples.reduce((a, b) => a + b, 0) / samples.length,
  };
}
