import { consoleLink } from "@chorus/console";
import { type Chorus, type EventStream, PermissionError, type StreamFilters } from "@chorus/core";
import { CLIENT_OPTIONS_HELP, intFlag, listFlag, parseFlags } from "../args.js";
import { withClient } from "../client.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import { follow } from "../follow.js";
import { formatEventLine } from "../format.js";
import { type Io, paint } from "../io.js";

export const TAIL_HELP = `Usage: chorus tail [--channel <c>] [options]

Print events live as the hub stores them, one line per event, until Ctrl+C.
Reconnects on its own after a drop and resumes where it stopped (no gap, no duplicate).

What to follow (one of; the default is the channel in CHORUS_CHANNEL):
  -c, --channel <c>      a channel
  --intent <id>          an intent's log and every event carrying its id, on any channel
                         (with --channel: only that channel's events carrying the id)
  --assigned <agent>     everything on intents assigned to <agent>, and its assignments
  --portfolio <id>       everything on the intents of a portfolio

Filters:
  --type <t,t2>          only these event types (repeatable)
  --agent <a>            only events from this agent
  --after <seq>          replay stored events after this seq first, then follow live

Output:
  --json                 one JSON event per line on stdout, nothing else (for scripts, jq)
  -n, --count <n>        exit 0 after <n> events (alias --limit)

${CLIENT_OPTIONS_HELP}

Examples:
  chorus tail --channel research
  chorus tail -c research --type tool.start,tool.end --agent researcher
  chorus tail --intent 0192f3c4-… --json | jq .type
  chorus tail -c research --after 0 --count 10 --json`;

const TAIL_OPTIONS = {
  channel: { type: "string", short: "c" },
  intent: { type: "string" },
  assigned: { type: "string" },
  portfolio: { type: "string" },
  type: { type: "string", multiple: true },
  agent: { type: "string" },
  after: { type: "string" },
  json: { type: "boolean" },
  count: { type: "string", short: "n" },
  limit: { type: "string" },
} as const;

/** Which of the hub's four SSE endpoints to follow. */
export type TailSource =
  | { kind: "channel"; channel: string }
  | { kind: "intent"; id: string }
  | { kind: "assigned"; agent: string }
  | { kind: "portfolio"; id: string };

export interface TailPlan {
  source: TailSource;
  filters: StreamFilters;
  count: number | undefined;
  json: boolean;
}

export interface TailFlags {
  channel?: string | undefined;
  intent?: string | undefined;
  assigned?: string | undefined;
  portfolio?: string | undefined;
  type?: string[] | undefined;
  agent?: string | undefined;
  after?: string | undefined;
  json?: boolean | undefined;
  count?: string | undefined;
  limit?: string | undefined;
}

/** Flags (and CHORUS_CHANNEL) to a stream and its filters. Pure, so it is tested without a hub. */
export function planTail(flags: TailFlags, env: NodeJS.ProcessEnv = process.env): TailPlan {
  const scoped = [
    flags.intent && "--intent",
    flags.assigned && "--assigned",
    flags.portfolio && "--portfolio",
  ].filter((f): f is string => Boolean(f));
  if (scoped.length > 1) throw new UsageError(`${scoped.join(" and ")} cannot be combined`);
  if (flags.count !== undefined && flags.limit !== undefined)
    throw new UsageError("--count and --limit are the same flag; give one");

  const filters: StreamFilters = {};
  const types = listFlag(flags.type);
  if (types) filters.types = types;
  if (flags.agent !== undefined) filters.agent = flags.agent;
  const after = intFlag("after", flags.after);
  if (after !== undefined) filters.after = after;

  let source: TailSource;
  if (flags.assigned !== undefined) source = { kind: "assigned", agent: flags.assigned };
  else if (flags.portfolio !== undefined) source = { kind: "portfolio", id: flags.portfolio };
  else if (flags.intent !== undefined && flags.channel === undefined)
    source = { kind: "intent", id: flags.intent };
  else {
    const channel = flags.channel || env.CHORUS_CHANNEL;
    if (!channel)
      throw new UsageError(
        "say what to follow: --channel <c> (or CHORUS_CHANNEL), --intent, --assigned or --portfolio",
      );
    source = { kind: "channel", channel };
    if (flags.intent !== undefined) filters.intentId = flags.intent;
  }
  if (scoped.length > 0 && flags.channel !== undefined && source.kind !== "channel") {
    throw new UsageError(`--channel cannot be combined with ${scoped[0]}`);
  }
  return {
    source,
    filters,
    count: intFlag(flags.count !== undefined ? "count" : "limit", flags.count ?? flags.limit, 1),
    json: flags.json ?? false,
  };
}

function describe(source: TailSource): string {
  switch (source.kind) {
    case "channel":
      return `channel ${source.channel}`;
    case "intent":
      return `intent ${source.id}`;
    case "assigned":
      return `intents assigned to ${source.agent}`;
    case "portfolio":
      return `portfolio ${source.id}`;
  }
}

/**
 * One plain request before streaming. A stream retries a refused connection forever, which is
 * right mid-tail but wrong at start: this makes "hub down" exit 3, a refused key 4 and an
 * unknown intent 1, at once. A key that may subscribe but not read gets 403 here; that is left
 * to the stream to judge.
 */
async function preflight(chorus: Chorus, source: TailSource): Promise<void> {
  try {
    if (source.kind === "channel") await chorus.events.list({ channel: source.channel, limit: 1 });
    else if (source.kind === "intent") await chorus.intents.get(source.id);
    else if (source.kind === "assigned")
      await chorus.intents.list({ assignee: source.agent, limit: 1 });
    else await chorus.intents.list({ portfolio: source.id, limit: 1 });
  } catch (error) {
    if (!(error instanceof PermissionError)) throw error;
  }
}

export function openStream(
  chorus: Chorus,
  source: TailSource,
  filters: StreamFilters,
): EventStream {
  switch (source.kind) {
    case "channel":
      return chorus.stream.channel(source.channel, filters);
    case "intent":
      return chorus.stream.intent(source.id, filters);
    case "assigned":
      return chorus.stream.agent(source.agent, filters);
    case "portfolio":
      return chorus.stream.portfolio(source.id, filters);
  }
}

/** `chorus tail`: follow a stream, print each event, exit 0 on Ctrl+C or after `--count`. */
export async function tailCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseFlags(argv, TAIL_OPTIONS);
  if (values.help) {
    io.out(TAIL_HELP);
    return ExitCode.Ok;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument "${positionals[0]}"`);
  const plan = planTail(values);
  return withClient(values, io, "tail", async (chorus) => {
    await preflight(chorus, plan.source);
    const stream = openStream(chorus, plan.source, plan.filters);
    let seen = 0;
    let linked = false;
    await follow(stream, {
      io,
      signal,
      onConnected: () => {
        if (plan.json) return;
        io.err(
          paint(
            io,
            "dim",
            `chorus: following ${describe(plan.source)} on ${chorus.options.url} (Ctrl+C to stop)`,
          ),
        );
        // Once, and without the key: a terminal's scrollback is no place for a credential.
        if (plan.source.kind === "channel" && !linked) {
          linked = true;
          // Several hubs (a comma-separated CHORUS_URL) serve the same console: link the first.
          const hub = chorus.options.url.split(",")[0] as string;
          const link = consoleLink(hub, { channel: plan.source.channel });
          io.err(paint(io, "dim", `chorus: in the browser: ${link}`));
        }
      },
      onEvent: (event) => {
        io.out(plan.json ? JSON.stringify(event) : formatEventLine(event, io));
        seen++;
        return plan.count !== undefined && seen >= plan.count;
      },
    });
    return ExitCode.Ok;
  });
}
