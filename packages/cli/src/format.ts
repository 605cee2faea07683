import type { ChorusEvent } from "@chorus/core";
import { type Io, paint, type Style, visible } from "./io.js";

/** A summary longer than this would wrap in an ordinary terminal after the line's prefix. */
const SUMMARY_MAX = 100;
/** Long enough for the canonical names (`intent.status_changed` is 21). */
const TYPE_WIDTH = 21;
const AGENT_WIDTH = 12;

/** Colour of an event type, by family: the first dotted segment, with any `*.error` in red. */
export function typeStyle(type: string): Style {
  if (type.endsWith(".error") || type === "error") return "red";
  switch (type.split(".")[0]) {
    case "llm":
      return "magenta";
    case "tool":
      return "cyan";
    case "agent":
      return "green";
    case "intent":
      return "yellow";
    default:
      return "blue";
  }
}

/** Local wall-clock time with milliseconds: what a person watching a live tail compares. */
export function clock(iso: string | undefined): string {
  const date = iso ? new Date(iso) : new Date(Number.NaN);
  if (Number.isNaN(date.getTime())) return "--:--:--.---";
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${p(date.getHours())}:${p(date.getMinutes())}:${p(date.getSeconds())}.${p(date.getMilliseconds(), 3)}`;
}

/** A field as text, or `fallback` when a server sent something else there. */
const text = (value: unknown, fallback: string) => (typeof value === "string" ? value : fallback);

/**
 * One line per event: time, seq, type, agent, channel, and what the payload says. A field of the
 * wrong type (from a server that is not quite a hub) shows as `?` or `-`, never a crash.
 */
export function formatEventLine(event: ChorusEvent, io: Pick<Io, "color">): string {
  const seq = `#${event.seq}`.padStart(6);
  const summary = summarizeEvent(event);
  const type = text(event.type, "?");
  return [
    paint(io, "dim", clock(text(event.occurredAt, ""))),
    paint(io, "dim", seq),
    paint(io, typeStyle(type), type.padEnd(TYPE_WIDTH)),
    paint(io, "bold", text(event.agent, "-").padEnd(AGENT_WIDTH)),
    paint(io, "dim", text(event.channel, "?")),
    summary,
  ]
    .filter((part) => part !== "")
    .join("  ");
}

/** The most telling part of a payload, by event type: a tool's name, a model and its tokens, a text snippet. */
export function summarizeEvent(event: Pick<ChorusEvent, "type" | "payload">): string {
  const p: Record<string, unknown> =
    typeof event.payload === "object" && event.payload !== null ? event.payload : {};
  const s = (key: string) => (typeof p[key] === "string" ? (p[key] as string) : undefined);
  const latency = typeof p.latencyMs === "number" ? ` ${Math.round(p.latencyMs)}ms` : "";
  let line: string;
  const type = text(event.type, "?");
  switch (type) {
    case "tool.start":
      line = `${s("name") ?? "tool"}(${p.arguments === undefined ? "" : compact(p.arguments)})`;
      break;
    case "tool.end":
      line = `${s("name") ?? "tool"} → ${compact(p.result)}${latency}`;
      break;
    case "llm.start": {
      const messages = Array.isArray(p.messages) ? ` ${p.messages.length} messages` : "";
      const tools =
        Array.isArray(p.tools) && p.tools.length > 0 ? ` tools: ${names(p.tools, ",")}` : "";
      line = `${s("model") ?? "model"}${messages}${tools}`;
      break;
    }
    case "llm.end":
      line = `${s("model") ?? "model"} ${tokens(p.usage)}${s("finishReason") ? ` ${s("finishReason")}` : ""}${latency}`;
      break;
    case "llm.token":
      line = JSON.stringify(s("token") ?? "");
      break;
    case "agent.start":
    case "agent.end":
      line = `${s("name") ?? ""}${latency}`;
      break;
    case "agent.message":
      line = `${s("role") ?? "assistant"}: ${quote(s("text") ?? "")}`;
      break;
    case "agent.handoff":
      line = `${s("from") ?? "?"} → ${s("to") ?? "?"}`;
      break;
    case "intent.created": {
      const intent = p.intent as { title?: unknown } | undefined;
      line = typeof intent?.title === "string" ? quote(intent.title) : "";
      break;
    }
    case "intent.state_changed": {
      const keys = Array.isArray(p.changedKeys) ? names(p.changedKeys, ", ") : "";
      const version = typeof p.version === "number" ? p.version : "?";
      line = `v${version} ${keys === "" ? "(no change)" : keys}`;
      break;
    }
    case "intent.status_changed":
      line = `${s("from") ?? "?"} → ${s("to") ?? "?"}${s("reason") ? ` (${s("reason")})` : ""}`;
      break;
    case "intent.assigned":
    case "intent.unassigned":
      line = s("agent") ?? "";
      break;
    default:
      line = type.endsWith(".error") ? errorText(p) : fallback(p);
  }
  return oneLine(line, SUMMARY_MAX);
}

function tokens(usage: unknown): string {
  if (typeof usage !== "object" || usage === null) return "";
  const u = usage as { inputTokens?: unknown; outputTokens?: unknown };
  const n = (v: unknown) => (typeof v === "number" ? String(v) : "?");
  return `${n(u.inputTokens)}→${n(u.outputTokens)} tokens`;
}

function errorText(p: Record<string, unknown>): string {
  const error = (typeof p.error === "object" && p.error !== null ? p.error : {}) as {
    message?: unknown;
    type?: unknown;
  };
  const who =
    typeof p.name === "string" ? `${p.name}: ` : typeof p.model === "string" ? `${p.model}: ` : "";
  const kind = typeof error.type === "string" ? `${error.type}: ` : "";
  const message =
    typeof error.message === "string"
      ? error.message
      : typeof p.message === "string"
        ? p.message
        : compact(p);
  return `${who}${kind}${message}`;
}

/** A text, a message or a name if the payload has one; its JSON otherwise. */
function fallback(p: Record<string, unknown>): string {
  for (const key of ["text", "message", "name"]) {
    if (typeof p[key] === "string")
      return key === "name" ? (p[key] as string) : quote(p[key] as string);
  }
  return Object.keys(p).length === 0 ? "" : compact(p);
}

function quote(text: string): string {
  return JSON.stringify(oneLine(text, SUMMARY_MAX));
}

/**
 * A list of names joined; an item that is not a string is written as JSON. `Array#join` would
 * call each item's own `toString`, which an object from a publisher may have made anything
 * (`{"toString": 1}` throws).
 */
function names(items: readonly unknown[], separator: string): string {
  return items.map((item) => (typeof item === "string" ? item : compact(item))).join(separator);
}

function compact(value: unknown): string {
  if (value === undefined) return "";
  if (typeof value === "string") return quote(value);
  try {
    return JSON.stringify(value) ?? "";
  } catch {
    return "[unserializable]";
  }
}

/** Collapse whitespace (a payload's newlines would break one-line-per-event) and cut with an ellipsis. */
export function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, " ").trim();
  return visible(flat.length > max ? `${flat.slice(0, max - 1)}…` : flat);
}
