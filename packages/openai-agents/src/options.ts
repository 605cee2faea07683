import { createHash } from "node:crypto";
import {
  type CaptureMode,
  Chorus,
  type ChorusOptions,
  type Logger,
  resolveOptions,
} from "@chorus/core";
import {
  type AdapterOnError,
  isChorusClient,
  resolveAdapterLogger,
  resolveClient as resolveKitClient,
} from "@chorus/core/adapter-kit";
import type { HookTarget } from "./hooks.js";

/** Options of {@link instrument}. */
export interface InstrumentOptions {
  /**
   * A Chorus client, or the options to create one (every option also read from `CHORUS_*`
   * environment variables). Default: a client configured from the environment alone.
   */
  chorus?: Chorus | ChorusOptions;
  /** Channel of the events (default: the client's channel, `CHORUS_CHANNEL`, `"default"`). */
  channel?: string;
  /**
   * Agent name on every event. Default: the agent of the enclosing Chorus context (an intent
   * handler, `withTrace({ agent })`), else the SDK agent's own name (`"Triage"`, …).
   */
  agent?: string;
  /**
   * `"full"`: prompts, completions, tool arguments and results are captured (cut and redacted by
   * the client). `"metadata"`: only names, ids, timings and usage. Default: the client's mode.
   */
  capture?: CaptureMode;
  /** Called with every error the adapter swallows; an error thrown here is swallowed too. */
  onError?: AdapterOnError;
  /**
   * `true`: Chorus becomes the SDK's only trace processor (`setTraceProcessors`), replacing its
   * default OpenAI exporter. `false` (default): Chorus is added beside it (`addTraceProcessor`).
   */
  exclusive?: boolean;
  /**
   * Emit `llm.token` for each streamed text delta read through `handle.observeStream(result)`.
   * Off by default: one event per token is a lot of events.
   */
  emitTokens?: boolean;
  /**
   * Runners or agents whose run hooks fill in what spans leave out: tool call ids when the model
   * does not trace itself, the final text (`agent.message`), tools without a function span.
   * A `Runner` covers every agent it runs; `run()` uses a default runner that cannot be reached,
   * so pass your `Runner` (or your agents). More can be added with `handle.observe(target)`.
   */
  hooks?: HookTarget | readonly HookTarget[];
  /**
   * Turn the SDK's tracing on (`setTracingDisabled(false)`). Default `true`: the SDK switches
   * tracing off under `NODE_ENV=test`, in browsers and with `OPENAI_AGENTS_DISABLE_TRACING`,
   * and without tracing Chorus sees nothing. A run started with `tracingDisabled: true` in its
   * run config is never traced.
   */
  enableTracing?: boolean;
  /** Where the adapter's diagnostics go; `false` silences them. Default: `[chorus]` lines on stderr. */
  logger?: Logger | false;
}

export interface ClientTarget {
  /** Identity of the destination: registering twice for the same one reuses the registration. */
  key: unknown;
  /** `instrument()` creates the client (so `shutdown()` closes it). */
  owned: boolean;
  /** The given client, or a new one (created only when no registration exists for `key`). */
  client(): Chorus;
}

export function resolveLogger(options: InstrumentOptions): Logger {
  return resolveAdapterLogger(options.logger, options.chorus);
}

/**
 * The client to emit to. A given client is its own key. A client we create is keyed by where it
 * sends (URL, a hash of the API key, channel, env, app): `instrument()` called twice with the
 * same configuration, as module reloading does, must not register twice.
 */
export function resolveClient(options: InstrumentOptions): ClientTarget {
  const given = options.chorus;
  if (isChorusClient(given)) return { key: given, owned: false, client: () => given };
  const base: ChorusOptions = given ?? {};
  const clientOptions: ChorusOptions = {
    ...base,
    ...(options.channel === undefined ? {} : { channel: options.channel }),
    ...(options.capture === undefined ? {} : { capture: options.capture }),
    ...(options.onError === undefined || base.onError !== undefined
      ? {}
      : { onError: options.onError }),
  };
  const { options: resolved } = resolveOptions(clientOptions);
  const apiKeyHash = createHash("sha256")
    .update(resolved.apiKey ?? "")
    .digest("hex")
    .slice(0, 16);
  const key = [
    "chorus",
    resolved.url,
    apiKeyHash,
    resolved.channel,
    resolved.env ?? "",
    resolved.app ?? "",
  ].join("\n");
  return {
    key,
    owned: true,
    client: () => resolveKitClient(clientOptions, (o) => new Chorus(o)).chorus,
  };
}
