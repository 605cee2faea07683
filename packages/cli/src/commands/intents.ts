import { ExitCode, UsageError } from "../exit-codes.js";
import type { Io } from "../io.js";
import { intentsListCommand, intentsShowCommand } from "./intents-read.js";
import { intentsWatchCommand } from "./intents-watch.js";
import {
  assignmentCommand,
  intentsCommentCommand,
  intentsCreateCommand,
  intentsPatchCommand,
  intentsStatusCommand,
} from "./intents-write.js";

export const INTENTS_HELP = `Usage: chorus intents <subcommand> [options]

Shared, versioned work items agents coordinate through.

Read:
  list                   list intents (--status, --assignee, --portfolio)
  show <id>              an intent, its state and its whole log
  watch <id>             follow an intent live, state changes as old → new

Write:
  create --title <t>     create an intent, print its id
  patch <id> <json>      merge-patch its state (--if-match <version>)
  status <id> <status>   change its status (--reason <text>)
  assign <id> <agent>    add an assignee
  unassign <id> <agent>  remove an assignee
  comment <id> <text>    post a comment to its log

Every subcommand takes --json (machine output), --help, and --url/--key
(default: CHORUS_URL, CHORUS_API_KEY).
Run "chorus intents <subcommand> --help" for its options.`;

type Subcommand = (argv: string[], io: Io, signal?: AbortSignal) => Promise<number>;

const SUBCOMMANDS: Record<string, Subcommand> = {
  list: intentsListCommand,
  show: intentsShowCommand,
  watch: intentsWatchCommand,
  create: intentsCreateCommand,
  patch: intentsPatchCommand,
  status: intentsStatusCommand,
  assign: assignmentCommand("assign"),
  unassign: assignmentCommand("unassign"),
  comment: intentsCommentCommand,
};

/** `chorus intents <subcommand>`. */
export async function intentsCommand(
  argv: string[],
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  const [name, ...rest] = argv;
  // As for `chorus` itself: help asked for to stdout, help for a missing subcommand to stderr.
  if (name === undefined) {
    io.err(INTENTS_HELP);
    return ExitCode.Usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(INTENTS_HELP);
    return ExitCode.Ok;
  }
  const subcommand = Object.hasOwn(SUBCOMMANDS, name) ? SUBCOMMANDS[name] : undefined;
  if (!subcommand) throw new UsageError(`unknown subcommand "${name}"`);
  try {
    return await subcommand(rest, io, signal);
  } catch (error) {
    // Name the subcommand, so the hint points at the help that has the answer.
    if (!(error instanceof UsageError)) throw error;
    io.err(
      `chorus intents ${name}: ${error.message}\nRun "chorus intents ${name} --help" for usage.`,
    );
    return ExitCode.Usage;
  }
}
