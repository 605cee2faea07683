import { benchConfig } from "./config.js";
import { fanoutBench } from "./fanout.js";
import { ingestBench } from "./ingest.js";
import { isolationBench } from "./isolation.js";
import { latencyBench } from "./latency.js";
import { memoryBench } from "./memory.js";
import { mqttFanoutBench } from "./mqtt-fanout.js";
import { postgresBench } from "./postgres.js";
import { Receivers } from "./receivers-child.js";
import type { Verdict } from "./stats.js";
import { table } from "./stats.js";

/*
 * Hub benchmark: `pnpm bench [--quick] [ingest|fanout|mqtt|latency|memory|isolation|postgres ...]`.
 * The hub runs in its own process, receivers in another, the publisher (and the clock) here;
 * every figure is `median [min–max]` over rounds of one run, ratios against a baseline measured
 * in the same run with rounds interleaved. Nothing forces a GC.
 */
const SCENARIOS = {
  ingest: ingestBench,
  fanout: fanoutBench,
  mqtt: mqttFanoutBench,
  latency: latencyBench,
  memory: memoryBench,
  isolation: isolationBench,
  postgres: postgresBench,
};

async function main(): Promise<void> {
  const args = process.argv.slice(2).filter((a) => a !== "--");
  const config = benchConfig(args);
  const names = args.filter((a) => !a.startsWith("--"));
  for (const name of names)
    if (!(name in SCENARIOS))
      throw new Error(`unknown scenario ${name}; one of ${Object.keys(SCENARIOS).join(", ")}`);
  const chosen = names.length > 0 ? names : Object.keys(SCENARIOS);
  console.log(
    `Hub bench (${config.quick ? "quick" : "full"}, ${config.rounds} rounds, Node ${process.version}, ${(await import("node:os")).cpus().length} cores)`,
  );
  const verdicts: Verdict[] = [];
  const rx = new Receivers();
  const started = Date.now();
  try {
    for (const name of chosen) {
      verdicts.push(...(await SCENARIOS[name as keyof typeof SCENARIOS](config, rx)));
    }
  } finally {
    await rx.stop();
  }
  console.log(`\n### Targets (${Math.round((Date.now() - started) / 1000)} s)\n`);
  console.log(
    table(
      ["target", "measured", "met"],
      verdicts.map((v) => [v.target, v.figure, v.met ? "yes" : "**no**"]),
    ),
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
