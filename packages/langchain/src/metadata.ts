import { read, readNumber, readString } from "./read.js";

/** `metadata.framework` of every event this adapter emits. */
export const FRAMEWORK = "langchain";

/**
 * The event `metadata` of one LangChain run: run ids (to find the run in LangSmith or logs),
 * the LangGraph node and step it ran in, and the thread (LangGraph copies
 * `configurable.thread_id` into the run metadata). Built once per run and shared by its events.
 */
export function runMetadata(
  runId: string,
  parentRunId: string | undefined,
  lcMetadata: unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = { framework: FRAMEWORK, runId };
  if (parentRunId !== undefined) out.parentRunId = parentRunId;
  if (lcMetadata === undefined || lcMetadata === null) return out;
  const node = readString(lcMetadata, "langgraph_node");
  if (node !== undefined) out.langgraphNode = node;
  const step = readNumber(lcMetadata, "langgraph_step");
  if (step !== undefined) out.langgraphStep = step;
  const thread = threadIdOf(lcMetadata);
  if (thread !== undefined) out.threadId = thread;
  return out;
}

function threadIdOf(lcMetadata: unknown): string | undefined {
  const value = read(lcMetadata, "thread_id") ?? read(lcMetadata, "threadId");
  if (typeof value === "string") return value;
  return typeof value === "number" ? String(value) : undefined;
}

/** The `createAgent` name (`lc_agent_name`), if this run belongs to a named agent. */
export function agentNameOf(lcMetadata: unknown): string | undefined {
  return readString(lcMetadata, "lc_agent_name");
}

/** Characters an agent name may not carry (it becomes an MQTT topic level), and its longest length. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what the hub refuses.
const NAME_FORBIDDEN = /[/+#\u0000-\u001f\u007f]/g;
const MAX_NAME_LENGTH = 200;

/** A LangChain-supplied name made valid as a Chorus `agent` (an invalid one would lose the event). */
export function toAgentName(name: string | undefined): string | undefined {
  if (name === undefined) return undefined;
  const cleaned = name.replace(NAME_FORBIDDEN, "_").slice(0, MAX_NAME_LENGTH).trim();
  return cleaned.length > 0 ? cleaned : undefined;
}
