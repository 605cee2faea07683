/** Exit codes scripts can rely on. */
export const ExitCode = {
  Ok: 0,
  /** Something failed at run time (a request refused, the hub could not start). */
  Failure: 1,
  /** The command line was wrong: unknown command or flag, bad value. */
  Usage: 2,
  /** The hub could not be reached. */
  Unreachable: 3,
  /** The hub refused the key. */
  Unauthorized: 4,
} as const;

export class UsageError extends Error {
  override readonly name = "UsageError";
}
