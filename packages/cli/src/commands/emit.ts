import { createInterface } from "node:readline";
import { type Chorus, ConnectionError, type EmitEvent, type PublishResult } from "@chorus/core";
import { MAX_BATCH_EVENTS, MAX_BODY_BYTES } from "@chorus/protocol";
import { CLIENT_OPTIONS_HELP, jsonObjectFlag, parseFlags } from "../args.js";
import { withClient } from "../client.js";
import { ExitCode, UsageError } from "../exit-codes.js";
import type { Io } from "../io.js";
import { batchLines } from "../line-batches.js";

export const EMIT_HELP = `Usage: chorus emit --channel <c> --type <t> [options]
       chorus emit [--channel <c>] [--type <t>] -     (events as JSON lines on stdin)

Publish one event and wait for the hub to store it; print its id.

Options:
  -c, --channel <c>      channel (default CHORUS_CHANNEL)
  -t, --type <t>         event type: tool.start, agent.message, custom, any dotted name
  --agent <a>            the agent it comes from
  --payload <json>       payload, a JSON object: '{"name":"search"}'
  --text <text>          shorthand for a payload with "text" (merged into --payload)
  --metadata <json>      metadata, a JSON object
  --trace <id>           trace id (32 lowercase hex characters)
  --intent <id>          intent id the event belongs to
  --id <id>              event id (an idempotency key: publishing it twice stores it once)
  --json                 print the hub's answer as JSON ({accepted, duplicates, ids})

With "-", every non-blank stdin line is an event object; --channel, --type and --agent fill
what a line leaves out. Lines are sent in batches as they arrive, ids printed in order. A bad
line stops the command (exit 2); batches sent before it stay published.

${CLIENT_OPTIONS_HELP}

Examples:
  chorus emit -c research -t agent.message --agent researcher --text "found 3 sources"
  chorus emit -c research -t tool.start --payload '{"name":"search","arguments":{"q":"mqtt"}}'
  printf '%s\\n' '{"type":"custom","payload":{"n":1}}' '{"type":"custom","payload":{"n":2}}' | chorus emit -c demo -`;

const EMIT_OPTIONS = {
  channel: { type: "string", short: "c" },
  type: { type: "string", short: "t" },
  agent: { type: "string" },
  payload: { type: "string" },
  text: { type: "string" },
  metadata: { type: "string" },
  trace: { type: "string" },
  intent: { type: "string" },
  id: { type: "string" },
  json: { type: "boolean" },
} as const;

/** Under the hub's body limit with room for the batch envelope and what the client stamps. */
const STDIN_BATCH_BYTES = MAX_BODY_BYTES / 2;
/** A line that waited this long is sent without waiting for more. */
const STDIN_IDLE_MS = 100;

export interface EmitFlags {
  channel?: string | undefined;
  type?: string | undefined;
  agent?: string | undefined;
  payload?: string | undefined;
  text?: string | undefined;
  metadata?: string | undefined;
  trace?: string | undefined;
  intent?: string | undefined;
  id?: string | undefined;
}

/** The fields flags give every event (one event from flags, or defaults for stdin lines). */
export function eventFromFlags(
  flags: EmitFlags,
  env: NodeJS.ProcessEnv = process.env,
): Partial<EmitEvent> {
  const event: Partial<EmitEvent> = {};
  const channel = flags.channel || env.CHORUS_CHANNEL;
  if (channel) event.channel = channel;
  if (flags.type !== undefined) event.type = flags.type;
  if (flags.agent !== undefined) event.agent = flags.agent;
  const payload = jsonObjectFlag("--payload", flags.payload);
  if (payload !== undefined || flags.text !== undefined) {
    event.payload = { ...payload, ...(flags.text === undefined ? {} : { text: flags.text }) };
  }
  const metadata = jsonObjectFlag("--metadata", flags.metadata);
  if (metadata !== undefined) event.metadata = metadata;
  if (flags.trace !== undefined) event.traceId = flags.trace;
  if (flags.intent !== undefined) event.intentId = flags.intent;
  if (flags.id !== undefined) event.id = flags.id;
  return event;
}

/** Both are required in the end; saying which is missing beats the hub's schema message. */
function complete(event: Partial<EmitEvent>, where: string): EmitEvent {
  if (!event.channel)
    throw new UsageError(`${where}needs a channel: --channel <c> or CHORUS_CHANNEL`);
  if (!event.type) throw new UsageError(`${where}needs a type: --type <t>`);
  return event as EmitEvent;
}

function printResult(io: Io, result: PublishResult | undefined, json: boolean): void {
  // failOpen is off, so an unreachable hub throws; `undefined` cannot happen, but stay honest.
  if (!result) throw new Error("the hub gave no answer");
  // Any JSON object passes core's check; a server that is not a hub answers 200 with anything.
  if (!Array.isArray(result.ids) || !result.ids.every((id) => typeof id === "string")) {
    throw new ConnectionError(
      "events.publish: the answer has no list of event ids ({ accepted, duplicates, ids })",
      { reason: "unavailable" },
    );
  }
  if (json) io.out(JSON.stringify(result));
  else for (const id of result.ids) io.out(id);
}

async function emitFromStdin(
  chorus: Chorus,
  io: Io,
  defaults: Partial<EmitEvent>,
  json: boolean,
): Promise<void> {
  if (defaults.id !== undefined)
    throw new UsageError("--id names one event; give ids in the stdin lines instead");
  const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
  try {
    for await (const batch of batchLines(lines, {
      maxItems: MAX_BATCH_EVENTS,
      maxBytes: STDIN_BATCH_BYTES,
      idleMs: STDIN_IDLE_MS,
    })) {
      const events = batch.map(({ line, number }) => {
        let parsed: unknown;
        try {
          parsed = JSON.parse(line);
        } catch (error) {
          throw new UsageError(
            `stdin line ${number} is not valid JSON: ${(error as Error).message}`,
          );
        }
        if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
          throw new UsageError(`stdin line ${number} must be a JSON object (one event)`);
        }
        return complete(
          { ...defaults, ...(parsed as Partial<EmitEvent>) },
          `stdin line ${number} `,
        );
      });
      printResult(io, await chorus.events.publish(events), json);
    }
  } finally {
    lines.close();
  }
}

/** `chorus emit`: publish (awaited, not queued) and print the id the hub stored. */
export async function emitCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseFlags(argv, EMIT_OPTIONS);
  if (values.help) {
    io.out(EMIT_HELP);
    return ExitCode.Ok;
  }
  const fromStdin = positionals.length === 1 && positionals[0] === "-";
  if (positionals.length > 0 && !fromStdin)
    throw new UsageError(`unexpected argument "${positionals[0]}" (use "-" to read stdin)`);
  const defaults = eventFromFlags(values);
  const json = values.json ?? false;
  const single = fromStdin ? undefined : complete(defaults, "an event ");
  return withClient(values, io, "emit", async (chorus) => {
    if (single) printResult(io, await chorus.events.publish(single), json);
    else await emitFromStdin(chorus, io, defaults, json);
    return ExitCode.Ok;
  });
}
