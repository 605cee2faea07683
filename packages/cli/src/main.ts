import { emitCommand } from "./commands/emit.js";
import { hubCommand } from "./commands/hub.js";
import { intentsCommand } from "./commands/intents.js";
import { tailCommand } from "./commands/tail.js";
import { ConfigError, ExitCode, UsageError } from "./exit-codes.js";
import { type Io, processIo } from "./io.js";
import { version } from "./version.js";

export const HELP = `Usage: chorus <command> [options]

Commands:
  hub        start a hub (HTTP API, SSE, MQTT broker, SQLite)
  tail       print events live, one line each (--json for scripts)
  emit       publish an event (or JSON lines from stdin) and print its id
  intents    list, show, watch, create and change intents

Run "chorus <command> --help" for a command's options.
Client commands read CHORUS_URL (default http://127.0.0.1:7420) and CHORUS_API_KEY,
or take --url and --key.

Options: -h, --help; -v, --version prints the version.

Exit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 hub unreachable
(chorus hub: cannot listen), 4 key refused.`;

type Command = (argv: string[], io: Io, signal?: AbortSignal) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  hub: hubCommand,
  tail: tailCommand,
  emit: emitCommand,
  intents: intentsCommand,
};

/** Run the CLI with `argv` (without node and script) and return the exit code. */
export async function main(
  argv: string[],
  io: Io = processIo,
  signal?: AbortSignal,
): Promise<number> {
  const [name, ...rest] = argv;
  // Help asked for goes to stdout (exit 0); help because the command is missing is a usage error.
  if (name === undefined) {
    io.err(HELP);
    return ExitCode.Usage;
  }
  if (name === "--help" || name === "-h" || name === "help") {
    io.out(HELP);
    return ExitCode.Ok;
  }
  if (name === "--version" || name === "-v") {
    io.out(version);
    return ExitCode.Ok;
  }
  // hasOwn: "chorus constructor" must be an unknown command, not Object's prototype.
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) {
    io.err(`chorus: unknown command "${name}"\n\n${HELP}`);
    return ExitCode.Usage;
  }
  try {
    return await command(rest, io, signal);
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`chorus ${name}: ${error.message}`);
      return ExitCode.Usage;
    }
    if (error instanceof UsageError) {
      io.err(`chorus ${name}: ${error.message}\nRun "chorus ${name} --help" for usage.`);
      return ExitCode.Usage;
    }
    io.err(`chorus ${name}: ${(error as Error).message}`);
    return ExitCode.Failure;
  }
}
