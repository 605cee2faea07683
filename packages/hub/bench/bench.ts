import { hubIngestRate, rawInsertRate } from "./ingest.js";
import { mqttLatency, sseLatency } from "./latency.js";
import { fmt } from "./stats.js";

/*
 * Hub benchmark. Everything is measured in this one process, on this machine, in this run, so
 * the ratio column is the figure to compare across machines; absolute numbers are context.
 */
const TOTAL = Number(process.env.BENCH_EVENTS ?? 100_000);
const RATE = Number(process.env.BENCH_RATE ?? 200);
const LATENCY_COUNT = Number(process.env.BENCH_LATENCY_EVENTS ?? 2_000);

async function main(): Promise<void> {
  // Warm both paths once so JIT and page cache do not favour whichever runs second.
  rawInsertRate(5_000);
  await hubIngestRate(5_000);

  const raw = rawInsertRate(TOTAL);
  const hub = await hubIngestRate(TOTAL);
  console.log(`\nIngest: ${fmt(TOTAL)} events, batches of 1000, SQLite file in WAL mode\n`);
  console.log("| path | events/s | ratio to raw |");
  console.log("|---|---:|---:|");
  console.log(`| raw better-sqlite3 inserts (baseline) | ${fmt(raw)} | 1.00 |`);
  console.log(
    `| hub: HTTP batch → validate → SQLite → fan-out | ${fmt(hub)} | ${fmt(hub / raw, 2)} |`,
  );

  const sse = await sseLatency(RATE, LATENCY_COUNT);
  const mq = await mqttLatency(RATE, LATENCY_COUNT);
  console.log(
    `\nPublish-to-subscriber latency: ${fmt(LATENCY_COUNT)} single-event POSTs at ${RATE}/s\n`,
  );
  console.log("| transport | p50 ms | p99 ms | received |");
  console.log("|---|---:|---:|---:|");
  console.log(
    `| SSE (eventsource) | ${fmt(sse.p50, 2)} | ${fmt(sse.p99, 2)} | ${sse.received}/${sse.sent} |`,
  );
  console.log(
    `| MQTT (mqtt.js, TCP) | ${fmt(mq.p50, 2)} | ${fmt(mq.p99, 2)} | ${mq.received}/${mq.sent} |`,
  );
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
