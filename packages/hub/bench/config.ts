/** Sizes of one bench run: `--quick` (or BENCH_QUICK=1) for a short run, BENCH_ROUNDS to override. */
export interface BenchConfig {
  quick: boolean;
  rounds: number;
}

export function benchConfig(argv: readonly string[]): BenchConfig {
  const quick = argv.includes("--quick") || process.env.BENCH_QUICK === "1";
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 3 : 5));
  return { quick, rounds };
}

/** Alternate which side runs first, so neither always gets the warmer machine. */
export function interleave<T>(round: number, a: T, b: T): [T, T] {
  return round % 2 === 0 ? [a, b] : [b, a];
}
