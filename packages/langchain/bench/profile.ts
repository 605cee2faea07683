import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { question, scriptedAgent } from "./agent.js";
import { chorusSink } from "./variants.js";

// `pnpm exec tsup --config tsup.bench.config.ts --entry.profile=bench/profile.ts` then
// `node --cpu-prof bench-dist/profile.js`: where the handler's time goes.
const v = chorusSink();
const agent = scriptedAgent(2000);
for (let i = 0; i < 2000; i++) await agent.invoke(question, { callbacks: v.callbacks });
await awaitAllCallbacks();
await v.close();
