import { styleText } from "node:util";
import type { Chorus, ChorusEvent } from "@chorus/core";

/*
 * The live view: every event of the intent (its log, and the LLM and tool events the agents'
 * adapters emit inside their handlers) printed as it reaches the hub, one line each.
 */

const color = Boolean(process.stdout.isTTY) && !process.env.NO_COLOR;
type Style = Parameters<typeof styleText>[0];
const paint = (style: Style, text: string) => (color ? styleText(style, text) : text);

const FAMILY_STYLE: Record<string, Style> = {
  intent: "magenta",
  agent: "cyan",
  llm: "blue",
  tool: "yellow",
};

function detail(e: ChorusEvent): string {
  const p = e.payload as Record<string, unknown>;
  const usage = p.usage as { inputTokens?: number; outputTokens?: number } | undefined;
  switch (e.type) {
    case "intent.created":
      return String((p.intent as { title?: string } | undefined)?.title ?? "");
    case "intent.state_changed":
      return `${(p.changedKeys as string[]).join(", ")} (v${String(p.version)})`;
    case "intent.status_changed":
      return `${String(p.from)} → ${String(p.to)}`;
    case "intent.assigned":
      return String(p.agent);
    case "agent.handoff":
      return `${String(p.from)} → ${String(p.to)}`;
    case "llm.end":
      return `${String(p.model ?? "")} ${usage ? `${usage.inputTokens ?? 0}+${usage.outputTokens ?? 0} tokens` : ""}`;
    case "tool.start":
    case "tool.end":
    case "tool.error":
      return String(p.name ?? "");
    case "agent.message":
      return JSON.stringify(String(p.text ?? "").slice(0, 70));
    default:
      return String(p.name ?? p.model ?? "");
  }
}

export function timelineLine(e: ChorusEvent, start: number): string {
  const family = e.type.split(".")[0] ?? "";
  const style = e.type.endsWith(".error") ? "red" : (FAMILY_STYLE[family] ?? "white");
  const at = ((Date.parse(e.occurredAt) - start) / 1000).toFixed(2).padStart(6);
  return `${paint("dim", `${at}s`)}  ${(e.agent ?? "-").padEnd(10)} ${paint(style, e.type.padEnd(22))} ${detail(e)}`;
}

/**
 * Follow the intent's stream from its first event, printing each one, until the intent ends
 * (completed or cancelled). Resolves with the final status.
 */
export async function followIntent(
  chorus: Chorus,
  intentId: string,
  start: number,
): Promise<string> {
  const stream = chorus.stream.intent(intentId, { after: 0 });
  try {
    for await (const event of stream) {
      console.log(timelineLine(event, start));
      const to = (event.payload as { to?: string }).to;
      if (event.type === "intent.status_changed" && (to === "completed" || to === "cancelled"))
        return to;
    }
  } finally {
    stream.close();
  }
  return "stream ended";
}
