import { hubCommand } from "./commands/hub.js";
import { ExitCode, UsageError } from "./exit-codes.js";
import { type Io, processIo } from "./io.js";

export const HELP = `Usage: chorus <command> [options]

Commands:
  hub        start a hub (HTTP API, SSE, MQTT broker, SQLite)

Run "chorus <command> --help" for a command's options.
Client commands read CHORUS_URL and CHORUS_API_KEY.

Exit codes: 0 ok, 1 failure, 2 usage error, 3 hub unreachable, 4 key refused.`;

type Command = (argv: string[], io: Io, signal?: AbortSignal) => Promise<number>;

const COMMANDS: Record<string, Command> = {
  hub: hubCommand,
};

/** Run the CLI with `argv` (without node and script) and return the exit code. */
export async function main(argv: string[], io: Io = processIo, signal?: AbortSignal): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.out(HELP);
    return name === undefined ? ExitCode.Usage : ExitCode.Ok;
  }
  const command = COMMANDS[name];
  if (!command) {
    io.err(`chorus: unknown command "${name}"\n\n${HELP}`);
    return ExitCode.Usage;
  }
  try {
    return await command(rest, io, signal);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`chorus ${name}: ${error.message}`);
      return ExitCode.Usage;
    }
    io.err(`chorus ${name}: ${(error as Error).message}`);
    return ExitCode.Failure;
  }
}
