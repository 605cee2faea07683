import { Chorus } from "@chorus/core";
import { BatchTraceProcessor, setTraceProcessors, setTracingDisabled } from "@openai/agents";
import { OpenAITracingExporter } from "@openai/agents-openai";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { instrument } from "../src/index.js";
import { createLoop } from "./loop.js";

/*
 * One way of tracing the bench's agent loop, alone in its process, for a CPU profile:
 *   PROFILE_MODE=chorus|sdk|off PROFILE_RUNS=10000 node --cpu-prof bench-dist/profile.js
 * It prints this process's CPU per run (startup included, so compare modes at equal runs) and
 * what the receiver got.
 */
const mode = process.env.PROFILE_MODE ?? "chorus";
const runs = Number(process.env.PROFILE_RUNS ?? 10_000);
const receiver = await startReceiver();
const chorus = new Chorus({
  url: receiver.url,
  apiKey: "key_bench_0123456789",
  channel: "bench",
  logger: false,
  drainOnExit: false,
});
const sdk = new BatchTraceProcessor(
  new OpenAITracingExporter({ apiKey: "sk-bench", endpoint: `${receiver.url}/v1/traces` }),
);
setTracingDisabled(mode === "off");
setTraceProcessors(
  mode === "off" ? [] : mode === "sdk" ? [sdk] : [instrument({ chorus, logger: false }).processor],
);
const loop = createLoop();
for (let i = 0; i < runs; i++) await loop.runOnce();
await chorus.close(2000);
await sdk.forceFlush();
const cpu = process.cpuUsage();
const stats = await receiver.stats();
console.log(
  `${mode}: ${((cpu.user + cpu.system) / runs).toFixed(0)} µs CPU/run; receiver: ${stats.events.items} events in ${stats.events.requests} requests, ${stats.traces.requests} trace exports`,
);
receiver.stop();
