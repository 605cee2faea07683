/*
 * The research team: a planner opens an intent with a question; three agents pick up their
 * parts through state changes, each on a different framework, and the intent ends completed
 * with the answer in its state.
 *
 *   triage      OpenAI Agents SDK: a triage agent hands off to a specialist, who writes a brief
 *   researcher  LangChain createAgent with a search tool: brief -> findings
 *   writer      Anthropic SDK with a citation tool: findings -> answer, then completes the intent
 *
 * Offline by default (each framework's scripted model); OPENAI_API_KEY and ANTHROPIC_API_KEY
 * switch to real models. CHORUS_URL / CHORUS_API_KEY / CHORUS_CHANNEL point it at your hub;
 * without CHORUS_URL a hub runs inside this process. It ends by printing the link to the
 * hub's web console; `--keep` (or CHORUS_KEEP=1) keeps the hub running until Ctrl+C.
 */
import { runAgent } from "@chorus/agents";
import {
  describeFailure,
  keepRequested,
  startExample,
  untilStopped,
} from "@chorus-examples/shared";
import { Researcher } from "./researcher.js";
import { printSummary } from "./summary.js";
import { followIntent } from "./timeline.js";
import { Triage } from "./triage.js";
import { Writer } from "./writer.js";

/** The demo gives up (exit 1) if the intent has not ended by then: real models can be slow. */
const DEADLINE_MS = Number(process.env.DEMO_TIMEOUT_MS ?? 120_000);

const question =
  process.argv
    .slice(2)
    .filter((arg) => arg !== "--keep")
    .join(" ") || "How can AI agents coordinate without a central orchestrator?";
// Deliver adapter events every 100 ms instead of every second, so the timeline is live.
const session = await startExample({
  channel: "research-team",
  clientOptions: { flushIntervalMs: 100 },
});
const { chorus } = session;
console.log(
  `models: OpenAI ${process.env.OPENAI_API_KEY ? "API" : "scripted"}, Anthropic ${process.env.ANTHROPIC_API_KEY ? "API" : "scripted"}`,
);

let failures = 0;
// Each stage waits for the one before, so a failed handler means the intent cannot complete:
// the planner stops waiting at once instead of at the deadline.
let handlerFailed: (outcome: string) => void = () => {};
const failed = new Promise<string>((resolve) => {
  handlerFailed = resolve;
});
const onError = (error: unknown, context: { handler?: string }) => {
  failures++;
  console.error(
    `handler ${context.handler ?? "?"} failed: ${describeFailure(error, ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"])}`,
  );
  handlerFailed("failed");
};
const agents = await Promise.all(
  [new Triage(chorus), new Researcher(chorus), new Writer(chorus)].map((a) =>
    runAgent(a, { chorus, onError }),
  ),
);

const start = Date.now();
const intent = await chorus.intents.create({
  title: question,
  state: { question },
  assignees: ["triage", "researcher", "writer"],
  createdBy: "planner",
});
if (!intent) throw new Error(`the hub at ${session.url} is not reachable`);
console.log(`\nplanner opened intent ${intent.id}: "${question}"\n`);

let timer: NodeJS.Timeout | undefined;
const outcome = await Promise.race([
  followIntent(chorus, intent.id, start),
  failed,
  new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve("timed out"), DEADLINE_MS);
  }),
]);
clearTimeout(timer);

await Promise.all(agents.map((a) => a.stop()));
await chorus.flush();
await printSummary(chorus, intent.id, start);
console.log(`\nwatch it in the console: ${session.consoleLink}`);
if (keepRequested() && session.hub) {
  console.log("the hub keeps running (--keep); press Ctrl+C to stop it");
  await untilStopped();
}
await session.close();
if (outcome !== "completed" || failures > 0) {
  const ended = outcome === "failed" ? "stopped: a handler failed" : `ended ${outcome}`;
  console.error(`\nthe intent ${ended} (${failures} handler failure(s))`);
  process.exitCode = 1;
}
