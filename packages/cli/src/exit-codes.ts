/** Exit codes scripts can rely on. */
export const ExitCode = {
  Ok: 0,
  /** Something failed at run time (a request refused, the hub's database could not be opened). */
  Failure: 1,
  /**
   * The command line or the configuration was wrong: unknown command or flag, bad value, a bad
   * `CHORUS_*` variable for `chorus hub`, hub settings that do not go together.
   */
  Usage: 2,
  /** The hub could not be reached; for `chorus hub`, it could not listen on its address and port. */
  Unreachable: 3,
  /** The hub refused the key. */
  Unauthorized: 4,
} as const;

/** A wrong command line: reported with a pointer to the command's `--help`, exit 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/**
 * A wrong configuration that no flag on the command line is to blame for: a bad `CHORUS_*`
 * variable, or settings that do not go together. Exit 2 like a usage error, reported as one line
 * that names the variable (the `--help` pointer would not help).
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}
