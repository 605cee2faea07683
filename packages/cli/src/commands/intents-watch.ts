import { CLIENT_OPTIONS_HELP, expectPositionals, intFlag, parseFlags } from "../args.js";
import { withClient } from "../client.js";
import { ExitCode } from "../exit-codes.js";
import { follow } from "../follow.js";
import { formatEventLine } from "../format.js";
import { formatIntentSummary, formatStateChange } from "../format-intent.js";
import { intentLog } from "../intent-log.js";
import { IntentStateTracker, isFinal } from "../intent-state.js";
import { type Io, paint } from "../io.js";

export const WATCH_HELP = `Usage: chorus intents watch <id> [options]

Follow an intent live: every new event of its log (and every event carrying its id),
each state change shown as key: old → new. Exits 0 when the intent is completed or
cancelled (at once if it already is), on Ctrl+C, or after --count events.

Options:
  --history              print the log so far first
  -n, --count <n>        exit after <n> events
  --json                 one JSON event per line on stdout, nothing else

${CLIENT_OPTIONS_HELP}`;

/**
 * `chorus intents watch`: read the log to its end (to know the current state and where to
 * resume), then follow the intent's stream from exactly there, so nothing between the read and
 * the stream is missed or repeated.
 */
export async function intentsWatchCommand(
  argv: string[],
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  const { values, positionals } = parseFlags(argv, {
    history: { type: "boolean" },
    count: { type: "string", short: "n" },
    json: { type: "boolean" },
  });
  if (values.help) {
    io.out(WATCH_HELP);
    return ExitCode.Ok;
  }
  const [id] = expectPositionals(positionals, ["id"]) as [string];
  const count = intFlag("count", values.count, 1);
  const json = values.json ?? false;

  return withClient(values, io, "intents watch", async (chorus) => {
    const intent = await chorus.intents.get(id);
    if (!intent) throw new Error("the hub gave no answer");
    const tracker = new IntentStateTracker({ state: intent.state, status: intent.status });
    const print = (event: Parameters<typeof formatEventLine>[0]) => {
      const change = tracker.apply(event);
      if (json) {
        io.out(JSON.stringify(event));
        return;
      }
      io.out(formatEventLine(event, io));
      if (change)
        for (const line of formatStateChange(change.before, change.after, change.keys, io))
          io.out(line);
    };

    let lastSeq = 0;
    let seen = 0;
    for await (const event of intentLog(chorus, id)) {
      if (values.history) print(event);
      else tracker.apply(event);
      lastSeq = Math.max(lastSeq, event.seq);
    }
    if (!json)
      io.err(
        paint(
          io,
          "dim",
          `${intent.title}: ${formatIntentSummary({ ...intent, status: tracker.status ?? intent.status }, io)}`,
        ),
      );
    if (isFinal(tracker.status)) {
      if (!json)
        io.err(paint(io, "dim", `chorus: intent is ${tracker.status}; nothing more will happen`));
      return ExitCode.Ok;
    }

    await follow(chorus.stream.intent(id, { after: lastSeq }), {
      io,
      signal,
      onConnected: () => {
        if (!json) io.err(paint(io, "dim", "chorus: watching (Ctrl+C to stop)"));
      },
      onEvent: (event) => {
        print(event);
        seen++;
        return isFinal(tracker.status) || (count !== undefined && seen >= count);
      },
    });
    return ExitCode.Ok;
  });
}
