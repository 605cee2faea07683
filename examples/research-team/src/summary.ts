import { readEvents } from "@chorus-examples/shared";
import type { Chorus } from "@chorus/core";

/** What the run amounted to: agents, events by type, tokens, and the intent's final state. */
export async function printSummary(chorus: Chorus, intentId: string, start: number): Promise<void> {
  const events = await readEvents(chorus, { intentId });
  const intent = await chorus.intents.get(intentId);
  const agents = [...new Set(events.map((e) => e.agent).filter(Boolean))];
  const byType = new Map<string, number>();
  for (const e of events) byType.set(e.type, (byType.get(e.type) ?? 0) + 1);
  let input = 0;
  let output = 0;
  for (const e of events.filter((e) => e.type === "llm.end")) {
    const usage = (e.payload as { usage?: { inputTokens?: number; outputTokens?: number } }).usage;
    input += usage?.inputTokens ?? 0;
    output += usage?.outputTokens ?? 0;
  }
  const traces = new Set(events.map((e) => e.traceId).filter(Boolean)).size;

  console.log(`\n── summary (${((Date.now() - start) / 1000).toFixed(1)} s) ──`);
  console.log(
    `intent   ${intentId}: ${intent?.status ?? "?"} at version ${intent?.version ?? "?"}`,
  );
  console.log(`agents   ${agents.join(", ")}`);
  console.log(`events   ${events.length} in ${traces} trace(s)`);
  for (const [type, n] of [...byType].sort())
    console.log(`         ${String(n).padStart(3)}  ${type}`);
  console.log(`tokens   ${input} in, ${output} out`);
  console.log("state");
  for (const [key, value] of Object.entries(intent?.state ?? {})) {
    console.log(`  ${key}: ${String(typeof value === "string" ? value : JSON.stringify(value))}`);
  }
}
