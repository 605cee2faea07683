import { Chorus, hubBaseUrl, type Logger } from "@chorus/core";
import { UsageError } from "./exit-codes.js";
import { reportFailure } from "./failures.js";
import { type Io, paint } from "./io.js";

/** Flags a client command may carry; both fall back to the environment in the client. */
export interface ConnectionFlags {
  url?: string | undefined;
  key?: string | undefined;
}

/**
 * Core warnings the CLI already tells the user better: a missing key ends in exit 4 with its
 * own message, and `follow` reports stream drops and reconnects itself.
 */
const REPORTED_BY_CLI = [/^no API key/, /^stream disconnected/];

/**
 * Core's other diagnostics (an ignored option, a malformed SSE message) become dim `chorus:`
 * lines on stderr, so stdout stays the command's output alone: `--json` stays parseable.
 */
function cliLogger(io: Io): Logger {
  const write = (message: string) => {
    if (!REPORTED_BY_CLI.some((pattern) => pattern.test(message)))
      io.err(paint(io, "dim", `chorus: ${message}`));
  };
  return { debug() {}, info() {}, warn: write, error: write };
}

/**
 * A URL core cannot use (`127.0.0.1:7420`, no scheme) is a usage error (exit 2): core would
 * warn and fall back to the default URL, and the command would talk to another hub.
 */
function checkUrl(flags: ConnectionFlags): void {
  const env = process.env.CHORUS_URL?.trim();
  const url = flags.url ?? (env === "" ? undefined : env);
  // Several hubs of one cluster are comma-separated (core fails over between them).
  const bad = url?.split(",").find((one) => one.trim() !== "" && hubBaseUrl(one) === undefined);
  if (bad === undefined) return;
  const source = flags.url === undefined ? "CHORUS_URL" : "--url";
  const hint = /^[a-z][a-z0-9+.-]*:\/\//i.test(bad) ? "" : `; did you mean http://${bad.trim()}?`;
  throw new UsageError(`${source} "${bad.trim()}" is not an http(s) URL${hint}`);
}

/**
 * A client for one command run. `failOpen: false` because a command must tell the user when
 * the hub is down (exit 3) rather than print an empty answer; no drain on exit because the CLI
 * never queues, it only makes awaited calls.
 */
export function openClient(flags: ConnectionFlags, io: Io): Chorus {
  checkUrl(flags);
  return new Chorus({
    ...(flags.url === undefined ? {} : { url: flags.url }),
    ...(flags.key === undefined ? {} : { apiKey: flags.key }),
    failOpen: false,
    drainOnExit: false,
    logger: cliLogger(io),
  });
}

/**
 * Run `fn` with a fresh client, close it whatever happens, and turn any failure into its exit
 * code and one message (see `reportFailure`).
 */
export async function withClient(
  flags: ConnectionFlags,
  io: Io,
  command: string,
  fn: (chorus: Chorus) => Promise<number>,
): Promise<number> {
  const chorus = openClient(flags, io);
  try {
    return await fn(chorus);
  } catch (error) {
    return reportFailure(error, io, { command, url: chorus.options.url });
  } finally {
    await chorus.close(0);
  }
}
