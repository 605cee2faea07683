/** A stored event as the hub sends it (the shape of `@chorus/protocol`'s `ChorusEvent`). */
export type { ChorusEvent } from "@chorus/protocol";

/** Colour family of an event type, as `chorus tail` paints it: any `*.error` is red. */
export type Family = "error" | "llm" | "tool" | "agent" | "intent" | "other";

export function familyOf(type: string): Family {
  if (type.endsWith(".error") || type === "error") return "error";
  const head = type.split(".")[0];
  return head === "llm" || head === "tool" || head === "agent" || head === "intent"
    ? head
    : "other";
}

/** Local wall-clock time with milliseconds. */
export function clock(iso: string | undefined): string {
  const date = iso ? new Date(iso) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) return "--:--:--.---";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

/**
 * A one-line hint of what the payload says, by the rules `chorus tail` uses: a tool and its
 * arguments or result, a model with its token counts, and for any `*.error` what failed and why.
 */
export function summary(event: { type: string; payload?: Record<string, unknown> }): string {
  const p = event.payload ?? {};
  const s = (k: string) => (typeof p[k] === "string" ? (p[k] as string) : undefined);
  if (event.type.endsWith(".error")) return errorSummary(p);
  if (event.type.startsWith("tool.")) {
    const detail = p.arguments ?? p.result;
    return `${s("name") ?? s("tool") ?? "tool"}${detail === undefined ? "" : ` ${compact(detail)}`}`;
  }
  if (event.type === "llm.start") {
    const n = Array.isArray(p.messages) ? p.messages.length : undefined;
    const messages = n === undefined ? "" : `${n} message${n === 1 ? "" : "s"}`;
    const tools =
      Array.isArray(p.tools) && p.tools.length > 0 ? `tools: ${p.tools.join(", ")}` : "";
    return [s("model") ?? s("provider"), messages, tools].filter(Boolean).join(" · ");
  }
  if (event.type.startsWith("llm.")) {
    const usage = p.usage as { inputTokens?: number; outputTokens?: number } | undefined;
    const tokens = usage ? `${usage.inputTokens ?? 0}→${usage.outputTokens ?? 0} tok` : "";
    const calls = Array.isArray(p.toolCalls)
      ? p.toolCalls.map((c) => (c as { name?: unknown })?.name).filter((n) => typeof n === "string")
      : [];
    const next = calls.length > 0 ? `calls ${calls.join(", ")}` : "";
    return [s("model") ?? s("provider"), tokens, next].filter(Boolean).join(" · ");
  }
  if (event.type === "intent.state_changed") return `v${p.version} ${compact(p.patch)}`;
  if (event.type === "intent.status_changed") return `${s("from") ?? "?"} → ${s("to") ?? "?"}`;
  if (event.type === "agent.start" || event.type === "agent.end") {
    const latency = typeof p.latencyMs === "number" ? ` ${Math.round(p.latencyMs)} ms` : "";
    return `${s("name") ?? ""}${latency}`;
  }
  const text = s("text") ?? s("message") ?? s("title") ?? s("to") ?? s("agent");
  return text ?? compact(p);
}

/** `who: ErrorType: message` of an error event (the canonical `error` object of its payload). */
function errorSummary(p: Record<string, unknown>): string {
  const error = (typeof p.error === "object" && p.error !== null ? p.error : {}) as {
    message?: unknown;
    type?: unknown;
  };
  const who = [p.name, p.tool, p.model].find((v) => typeof v === "string");
  const kind = typeof error.type === "string" ? `${error.type}: ` : "";
  const message =
    typeof error.message === "string"
      ? error.message
      : typeof p.error === "string"
        ? p.error
        : typeof p.message === "string"
          ? p.message
          : compact(p);
  return `${who === undefined ? "" : `${who}: `}${kind}${message}`;
}

/** JSON on one line, cut to keep a row readable. */
export function compact(value: unknown, max = 140): string {
  let text: string;
  try {
    text = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  } catch {
    text = String(value);
  }
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}
