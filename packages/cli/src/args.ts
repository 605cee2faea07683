import { type ParseArgsConfig, parseArgs } from "node:util";
import { UsageError } from "./exit-codes.js";

type OptionSpecs = NonNullable<ParseArgsConfig["options"]>;

/** Flags every client command takes: where the hub is, the key, and help. */
export const CLIENT_OPTIONS = {
  url: { type: "string" },
  key: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const satisfies OptionSpecs;

export const CLIENT_OPTIONS_HELP = `Connection (every client command):
  --url <url>         hub URL                       CHORUS_URL      (http://127.0.0.1:7420)
  --key <key>         API key                       CHORUS_API_KEY
  -h, --help          show this help`;

/** What `parseArgs` answers for these options (named through `typeof`: node keeps the type private). */
export type ParsedFlags<O extends OptionSpecs> = ReturnType<
  typeof parseArgs<{
    args: string[];
    options: typeof CLIENT_OPTIONS & O;
    strict: true;
    allowPositionals: true;
  }>
>;

/**
 * Strict `parseArgs` with the client flags added. An unknown flag or a missing value is the
 * user's mistake, so it surfaces as a {@link UsageError} (exit code 2), never as a crash.
 */
export function parseFlags<O extends OptionSpecs>(argv: string[], options: O): ParsedFlags<O> {
  try {
    return parseArgs({
      args: argv,
      options: { ...CLIENT_OPTIONS, ...options },
      strict: true,
      allowPositionals: true,
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** Positionals exactly as the usage line names them: too few or too many is a usage error. */
export function expectPositionals(positionals: string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(`missing <${names[positionals.length]}>`);
  }
  if (positionals.length > names.length) {
    throw new UsageError(`unexpected argument "${positionals[names.length]}"`);
  }
  return positionals;
}

/** A non-negative integer flag (`--count 3`, `--after 1042`). */
export function intFlag(name: string, value: string | undefined, min = 0): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new UsageError(`--${name} must be an integer >= ${min}`);
  }
  return n;
}

/** A JSON object flag (`--payload '{"a":1}'`): anything else is a usage error naming the flag. */
export function jsonObjectFlag(
  name: string,
  value: string | undefined,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch (error) {
    throw new UsageError(`${name} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`${name} must be a JSON object, like '{"key":"value"}'`);
  }
  return parsed as Record<string, unknown>;
}

/** `--type a,b --type c` → `["a", "b", "c"]`. */
export function listFlag(values: string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const list = values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  return list.length > 0 ? list : undefined;
}
