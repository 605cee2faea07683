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

/** Local wall-clock time with milliseconds; anything but a readable timestamp gives dashes. */
export function clock(iso: unknown): string {
  const date = typeof iso === "string" && iso ? new Date(iso) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) return "--:--:--.---";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

/*
 * A payload is whatever JSON its publisher sent: a field the protocol calls a string may hold an
 * object, an array, a number or null. Every read goes through `text`, `count` or `record`, so no
 * value is ever turned into a string implicitly (`{"toString":1}` throws when it is).
 */

/** A payload value if it is a string, else `undefined`. */
export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}

/** A payload value if it is a finite number, else `undefined`: `"12"` is no count of 12. */
export function count(value: unknown): number | undefined {
  return typeof value === "number" && Number.isFinite(value) ? value : undefined;
}

/** An object payload value (not an array, not null), else `undefined`. */
export function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === "object" && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** The token counts of an LLM call's `usage`; a count that is not a number is absent. */
export function tokenUsage(usage: unknown): { input?: number; output?: number } | undefined {
  const u = record(usage);
  if (!u) return undefined;
  const input = count(u.inputTokens);
  const output = count(u.outputTokens);
  return {
    ...(input === undefined ? {} : { input }),
    ...(output === undefined ? {} : { output }),
  };
}

/**
 * A one-line hint of what the payload says, by the rules `chorus tail` uses: a tool and its
 * arguments or result, a model with its token counts, and for any `*.error` what failed and why.
 */
export function summary(event: { type: string; payload?: Record<string, unknown> }): string {
  // Cut as a whole, text and error messages too: a row holds one line, and 60 rows of 200 KB
  // each made 8.8 MB of DOM text that stalled every scroll.
  return compact(describe(event), SUMMARY_MAX);
}

/** The longest row summary, in UTF-16 units: more than a wide screen's row shows. */
export const SUMMARY_MAX = 200;

function describe(event: { type: string; payload?: Record<string, unknown> }): string {
  const p = record(event.payload) ?? {};
  const s = (k: string) => text(p[k]);
  if (event.type.endsWith(".error")) return errorSummary(p);
  if (event.type.startsWith("tool.")) {
    const detail = p.arguments ?? p.result;
    return `${s("name") ?? s("tool") ?? "tool"}${detail === undefined ? "" : ` ${compact(detail)}`}`;
  }
  if (event.type === "llm.start") {
    const n = Array.isArray(p.messages) ? p.messages.length : undefined;
    const messages = n === undefined ? "" : `${n} message${n === 1 ? "" : "s"}`;
    const tools =
      Array.isArray(p.tools) && p.tools.length > 0
        ? `tools: ${p.tools.map((t) => text(t) ?? compact(t)).join(", ")}`
        : "";
    return [s("model") ?? s("provider"), messages, tools].filter(Boolean).join(" · ");
  }
  if (event.type.startsWith("llm.")) {
    const usage = tokenUsage(p.usage);
    const tokens = usage ? `${usage.input ?? 0}→${usage.output ?? 0} tok` : "";
    const calls = Array.isArray(p.toolCalls)
      ? p.toolCalls.map((c) => (c as { name?: unknown })?.name).filter((n) => typeof n === "string")
      : [];
    const next = calls.length > 0 ? `calls ${calls.join(", ")}` : "";
    return [s("model") ?? s("provider"), tokens, next].filter(Boolean).join(" · ");
  }
  if (event.type === "intent.state_changed") {
    return `v${count(p.version) ?? "?"} ${compact(p.patch)}`;
  }
  if (event.type === "intent.status_changed") return `${s("from") ?? "?"} → ${s("to") ?? "?"}`;
  if (event.type === "agent.start" || event.type === "agent.end") {
    const ms = count(p.latencyMs);
    const latency = ms === undefined ? "" : ` ${Math.round(ms)} ms`;
    return `${s("name") ?? ""}${latency}`;
  }
  return s("text") ?? s("message") ?? s("title") ?? s("to") ?? s("agent") ?? compact(p);
}

/** `who: ErrorType: message` of an error event (the canonical `error` object of its payload). */
function errorSummary(p: Record<string, unknown>): string {
  const error = record(p.error) ?? {};
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
  let out: string;
  try {
    out = typeof value === "string" ? value : (JSON.stringify(value) ?? "");
  } catch {
    out = "[unreadable]"; // a cycle or a BigInt: never from the hub's JSON, and never String()'d
  }
  if (out.length <= max) return out;
  // Never half of a surrogate pair (an emoji): it would draw as a replacement character.
  const end = /[\uD800-\uDBFF]/.test(out.charAt(max - 2)) ? max - 2 : max - 1;
  return `${out.slice(0, end)}…`;
}
