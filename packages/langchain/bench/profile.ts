import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { question, scriptedAgent } from "./agent.js";
import { chorusDelivering } from "./variants.js";

// `pnpm exec tsup --config tsup.bench.config.ts --entry.profile=bench/profile.ts` then
// `node --cpu-prof bench-dist/profile.js`: where the handler's time goes.
// Start `node ../../scripts/bench-receiver.mjs` first and pass its port: BENCH_RECEIVER_PORT.
const v = chorusDelivering(`http://127.0.0.1:${process.env.BENCH_RECEIVER_PORT ?? 4318}`);
const agent = scriptedAgent(2000);
for (let i = 0; i < 2000; i++) await agent.invoke(question, { callbacks: v.callbacks });
await awaitAllCallbacks();
await v.close();
