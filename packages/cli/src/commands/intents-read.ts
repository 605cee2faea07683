import type { Intent } from "@chorus/core";
import { INTENT_STATUSES, type IntentListQuery, type IntentStatus } from "@chorus/protocol";
import { CLIENT_OPTIONS_HELP, expectPositionals, intFlag, parseFlags } from "../args.js";
import { withClient } from "../client.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import { formatEventLine } from "../format.js";
import { formatIntentDetail, formatIntentRow, formatStateChange } from "../format-intent.js";
import { intentLog } from "../intent-log.js";
import { IntentStateTracker } from "../intent-state.js";
import type { Io } from "../io.js";

/** Rows `intents list` prints when not told otherwise: a screenful, not the whole org. */
const DEFAULT_LIST_LIMIT = 100;

export const LIST_HELP = `Usage: chorus intents list [options]

List intents, oldest first, one per line: id, status, version, title, assignees.

Options:
  --status <s>           draft, active, blocked, completed or cancelled
  --assignee <agent>     only intents assigned to this agent
  --portfolio <id>       only intents of this portfolio
  --limit <n>            at most this many (default ${DEFAULT_LIST_LIMIT})
  --json                 one intent per line as JSON

${CLIENT_OPTIONS_HELP}`;

export const SHOW_HELP = `Usage: chorus intents show <id> [--json]

Print an intent (status, version, assignees, state) and its whole log, oldest first,
with each state change as key: old → new.

Options:
  --json                 one JSON object {"intent": …, "events": […]} on one line

${CLIENT_OPTIONS_HELP}`;

export function parseStatus(value: string | undefined, flag: string): IntentStatus | undefined {
  if (value === undefined) return undefined;
  if (!(INTENT_STATUSES as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${INTENT_STATUSES.join(", ")}`);
  }
  return value as IntentStatus;
}

export async function intentsListCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    status: { type: "string" },
    assignee: { type: "string" },
    portfolio: { type: "string" },
    limit: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(LIST_HELP);
    return ExitCode.Ok;
  }
  expectPositionals(positionals, []);
  const limit = intFlag("limit", values.limit, 1) ?? DEFAULT_LIST_LIMIT;
  const query: IntentListQuery = {};
  const status = parseStatus(values.status, "--status");
  if (status) query.status = status;
  if (values.assignee !== undefined) query.assignee = values.assignee;
  if (values.portfolio !== undefined) query.portfolio = values.portfolio;

  return withClient(values, io, "intents list", async (chorus) => {
    const found: Intent[] = [];
    let after: string | undefined;
    while (found.length < limit) {
      const page = await chorus.intents.list({
        ...query,
        limit: Math.min(limit - found.length, 1000),
        ...(after ? { after } : {}),
      });
      found.push(...page.data);
      if (page.next === undefined || page.data.length === 0) break;
      after = page.next;
    }
    for (const intent of found)
      io.out(values.json ? JSON.stringify(intent) : formatIntentRow(intent, io));
    if (found.length === 0 && !values.json) io.err("no intents");
    return ExitCode.Ok;
  });
}

export async function intentsShowCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, { json: { type: "boolean" } });
  if (values.help) {
    io.out(SHOW_HELP);
    return ExitCode.Ok;
  }
  const [id] = expectPositionals(positionals, ["id"]) as [string];
  return withClient(values, io, "intents show", async (chorus) => {
    const intent = await chorus.intents.get(id);
    if (!intent) throw new Error("the hub gave no answer");
    if (values.json) {
      const events = [];
      for await (const event of intentLog(chorus, id)) events.push(event);
      io.out(JSON.stringify({ intent, events }));
      return ExitCode.Ok;
    }
    for (const line of formatIntentDetail(intent, io)) io.out(line);
    io.out("");
    io.out("log:");
    const tracker = new IntentStateTracker();
    for await (const event of intentLog(chorus, id)) {
      io.out(formatEventLine(event, io));
      const change = tracker.apply(event);
      if (change)
        for (const line of formatStateChange(change.before, change.after, change.keys, io))
          io.out(line);
    }
    return ExitCode.Ok;
  });
}
