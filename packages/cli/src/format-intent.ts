import type { Intent, IntentStatus } from "@chorus/core";
import { oneLine } from "./format.js";
import { type Io, paint, type Style, visible } from "./io.js";

const STATUS_STYLE: Record<IntentStatus, Style> = {
  draft: "dim",
  active: "green",
  blocked: "yellow",
  completed: "blue",
  cancelled: "red",
};
/** Titles past this are cut in the list, where each intent is one row. */
const TITLE_MAX = 60;
/** A state value longer than this is cut in a change line; `show` prints the whole state. */
const VALUE_MAX = 80;

/** Padding goes inside the colour, so columns line up whether or not the terminal is coloured. */
export function paintStatus(io: Pick<Io, "color">, status: IntentStatus, width = 0): string {
  return paint(io, STATUS_STYLE[status] ?? "reset", status.padEnd(width));
}

/** One row of `intents list`: id, status, version, title, assignees. */
export function formatIntentRow(intent: Intent, io: Pick<Io, "color">): string {
  const status = paintStatus(io, intent.status, 9);
  const assignees =
    intent.assignees.length > 0 ? paint(io, "dim", ` → ${intent.assignees.join(", ")}`) : "";
  return `${visible(intent.id)}  ${status}  ${paint(io, "dim", `v${intent.version}`.padEnd(4))}  ${oneLine(intent.title, TITLE_MAX)}${assignees}`;
}

/** The header of `intents show`: every field a person looks for, then the state as indented JSON. */
export function formatIntentDetail(intent: Intent, io: Pick<Io, "color">): string[] {
  const label = (name: string) => paint(io, "dim", name.padEnd(12));
  // Every value as the hub sent it, made visible: a description may hold line breaks and more.
  const field = (name: string, value: unknown) => `${label(name)}${visible(String(value))}`;
  const lines = [
    paint(io, "bold", intent.title),
    field("id", intent.id),
    `${label("status")}${paintStatus(io, intent.status)}`,
    field("version", intent.version),
    field("assignees", intent.assignees.length > 0 ? intent.assignees.join(", ") : "-"),
  ];
  if (intent.description) lines.push(field("description", intent.description));
  if (intent.portfolio) lines.push(field("portfolio", intent.portfolio));
  if (intent.parentId) lines.push(field("parent", intent.parentId));
  if (intent.createdBy) lines.push(field("created by", intent.createdBy));
  lines.push(field("created", intent.createdAt), field("updated", intent.updatedAt));
  // JSON escapes C0 controls in strings but not C1 ones or bidirectional overrides.
  const state = (JSON.stringify(intent.state, null, 2) ?? "null").split("\n").map(visible);
  lines.push(`${label("state")}${state.join(`\n${" ".repeat(12)}`)}`);
  return lines;
}

/** A one-line summary after a write: `<id> active v3 → researcher`. */
export function formatIntentSummary(intent: Intent, io: Pick<Io, "color">): string {
  const assignees = intent.assignees.length > 0 ? ` → ${intent.assignees.join(", ")}` : "";
  return `${visible(intent.id)} ${paintStatus(io, intent.status)} v${visible(String(intent.version))}${visible(assignees)}`;
}

/**
 * `key: old → new` for each changed top-level key, from the state before and after a change.
 * Removed keys (merge patch `null`) show as `(unset)`.
 */
export function formatStateChange(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
  keys: readonly string[],
  io: Pick<Io, "color">,
): string[] {
  const show = (state: Record<string, unknown>, key: string) =>
    Object.hasOwn(state, key)
      ? oneLine(JSON.stringify(state[key]) ?? "null", VALUE_MAX)
      : "(unset)";
  return keys.map(
    (key) =>
      `    ${paint(io, "bold", key)}: ${paint(io, "red", show(before, key))} → ${paint(io, "green", show(after, key))}`,
  );
}
