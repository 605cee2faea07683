import type { Chorus } from "../client.js";
import { createConsoleLogger, type Logger, silentLogger } from "../logger.js";
import type { ChorusOptions } from "../options.js";

/** What an adapter's `chorus` option holds: a client, or the options to create one. */
export type ClientOption = Chorus | ChorusOptions | undefined;

/**
 * A client instance, told apart from options by its `emit`. Not `instanceof`: an application may
 * load @chorus/core twice (ESM next to CJS, two versions), and any of those clients is one.
 */
export function isChorusClient(value: unknown): value is Chorus {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as { emit?: unknown }).emit === "function"
  );
}

/** The client an adapter emits through, and whether it created it (and so may close it). */
export interface ResolvedClient {
  chorus: Chorus;
  owned: boolean;
}

/**
 * The client of an adapter's `chorus` option: the one given, or one created from the options
 * given (every option also read from `CHORUS_*` variables). `create` is the adapter's
 * `(options) => new Chorus(options)`: the kit is its own bundle, and a client class of its own
 * would be a second copy of core's process-wide state. An adapter's constructor must not throw,
 * so if `create` does, the adapter gets a client that drops everything.
 *
 * @example
 * const { chorus, owned } = resolveClient(options.chorus, (o) => new Chorus(o));
 */
export function resolveClient(
  option: ClientOption,
  create: (options: ChorusOptions) => Chorus,
): ResolvedClient {
  if (isChorusClient(option)) return { chorus: option, owned: false };
  try {
    return { chorus: create(option ?? {}), owned: true };
  } catch {
    return { chorus: create({ enabled: false, logger: false, drainOnExit: false }), owned: true };
  }
}

/**
 * Where an adapter's own diagnostics go: its `logger` option (`false` silences them), else the
 * logger of the client options it was given, else `[chorus]` lines on stderr from `warn` up.
 */
export function resolveAdapterLogger(
  logger: Logger | false | undefined,
  chorus: ClientOption,
): Logger {
  const chosen = logger ?? (isChorusClient(chorus) ? undefined : chorus?.logger);
  if (chosen === false) return silentLogger;
  return chosen ?? createConsoleLogger("warn");
}
