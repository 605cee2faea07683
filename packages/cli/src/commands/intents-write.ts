import type { Chorus, Intent, IntentCreate } from "@chorus/core";
import {
  CLIENT_OPTIONS_HELP,
  expectPositionals,
  intFlag,
  jsonObjectFlag,
  listFlag,
  parseFlags,
} from "../args.js";
import { withClient } from "../client.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import { formatIntentSummary } from "../format-intent.js";
import type { Io } from "../io.js";
import { parseStatus } from "./intents-read.js";

export const CREATE_HELP = `Usage: chorus intents create --title <t> [options]

Create an intent (active unless --draft) and print its id.

Options:
  --title <t>            required
  --description <d>
  --state <json>         initial state, a JSON object
  --assignee <agent>     assign at creation (repeatable, or comma-separated)
  --portfolio <id>
  --parent <id>          parent intent
  --created-by <name>
  --id <id>              choose the id (otherwise the hub makes a UUIDv7)
  --draft                create as draft
  --json                 print the created intent as JSON

${CLIENT_OPTIONS_HELP}`;

export const PATCH_HELP = `Usage: chorus intents patch <id> <json> [--if-match <version>] [--json]

Merge-patch the intent's state (RFC 7396: null deletes a key) and print the new version.
With --if-match the write happens only at that version; otherwise exit 1 with the current one.

  chorus intents patch 0192… '{"stage":"writing","draft":null}' --if-match 3

${CLIENT_OPTIONS_HELP}`;

export const STATUS_HELP = `Usage: chorus intents status <id> <status> [--reason <text>] [--json]

Change the status: draft → active|cancelled, active → blocked|completed|cancelled,
blocked → active|cancelled. completed and cancelled are final (exit 1 otherwise).

${CLIENT_OPTIONS_HELP}`;

export const ASSIGN_HELP = `Usage: chorus intents assign <id> <agent> [--json]
       chorus intents unassign <id> <agent> [--json]

Add or remove an assignee; assigning twice is harmless.

${CLIENT_OPTIONS_HELP}`;

export const COMMENT_HELP = `Usage: chorus intents comment <id> <text> [--agent <a>] [--json]

Post an intent.comment to the intent's log and print its event id.

${CLIENT_OPTIONS_HELP}`;

/** After a write: the intent as JSON, or a one-line summary. */
function printIntent(io: Io, intent: Intent | undefined, json: boolean | undefined): number {
  if (!intent) throw new Error("the hub gave no answer");
  io.out(json ? JSON.stringify(intent) : formatIntentSummary(intent, io));
  return ExitCode.Ok;
}

export async function intentsCreateCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    title: { type: "string" },
    description: { type: "string" },
    state: { type: "string" },
    assignee: { type: "string", multiple: true },
    portfolio: { type: "string" },
    parent: { type: "string" },
    "created-by": { type: "string" },
    id: { type: "string" },
    draft: { type: "boolean" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(CREATE_HELP);
    return ExitCode.Ok;
  }
  expectPositionals(positionals, []);
  if (!values.title) throw new UsageError("--title is required");
  const input: IntentCreate = { title: values.title };
  if (values.description !== undefined) input.description = values.description;
  const state = jsonObjectFlag("--state", values.state);
  if (state) input.state = state;
  const assignees = listFlag(values.assignee);
  if (assignees) input.assignees = assignees;
  if (values.portfolio !== undefined) input.portfolio = values.portfolio;
  if (values.parent !== undefined) input.parentId = values.parent;
  if (values["created-by"] !== undefined) input.createdBy = values["created-by"];
  if (values.id !== undefined) input.id = values.id;
  if (values.draft) input.status = "draft";
  return withClient(values, io, "intents create", async (chorus) => {
    const intent = await chorus.intents.create(input);
    if (!intent) throw new Error("the hub gave no answer");
    io.out(values.json ? JSON.stringify(intent) : intent.id);
    return ExitCode.Ok;
  });
}

export async function intentsPatchCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    "if-match": { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(PATCH_HELP);
    return ExitCode.Ok;
  }
  const [id, raw] = expectPositionals(positionals, ["id", "json"]) as [string, string];
  const patch = jsonObjectFlag("the patch", raw) as Record<string, unknown>;
  const ifMatch = intFlag("if-match", values["if-match"], 1);
  return withClient(values, io, "intents patch", async (chorus) =>
    printIntent(
      io,
      await chorus.intents.patchState(id, patch, ifMatch === undefined ? {} : { ifMatch }),
      values.json,
    ),
  );
}

export async function intentsStatusCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    reason: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(STATUS_HELP);
    return ExitCode.Ok;
  }
  const [id, raw] = expectPositionals(positionals, ["id", "status"]) as [string, string];
  const status = parseStatus(raw, "<status>");
  if (!status) throw new UsageError("missing <status>");
  return withClient(values, io, "intents status", async (chorus) =>
    printIntent(
      io,
      await chorus.intents.setStatus(
        id,
        status,
        values.reason === undefined ? {} : { reason: values.reason },
      ),
      values.json,
    ),
  );
}

/** `assign` and `unassign` differ only in the call. */
export function assignmentCommand(action: "assign" | "unassign") {
  return async (argv: string[], io: Io): Promise<number> => {
    const { values, positionals } = parseFlags(argv, { json: { type: "boolean" } });
    if (values.help) {
      io.out(ASSIGN_HELP);
      return ExitCode.Ok;
    }
    const [id, agent] = expectPositionals(positionals, ["id", "agent"]) as [string, string];
    const call = (chorus: Chorus) =>
      action === "assign" ? chorus.intents.assign(id, agent) : chorus.intents.unassign(id, agent);
    return withClient(values, io, `intents ${action}`, async (chorus) =>
      printIntent(io, await call(chorus), values.json),
    );
  };
}

export async function intentsCommentCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    agent: { type: "string" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(COMMENT_HELP);
    return ExitCode.Ok;
  }
  const [id, text] = expectPositionals(positionals, ["id", "text"]) as [string, string];
  return withClient(values, io, "intents comment", async (chorus) => {
    const posted = await chorus.intents.comment(
      id,
      text,
      values.agent === undefined ? {} : { agent: values.agent },
    );
    if (!posted) throw new Error("the hub gave no answer");
    io.out(values.json ? JSON.stringify(posted) : posted.id);
    return ExitCode.Ok;
  });
}
