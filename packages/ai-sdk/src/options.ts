import { Chorus, type ChorusOptions, createConsoleLogger, type Logger } from "@chorus/core";
import type { AdapterOnError } from "@chorus/core/adapter-kit";
import type { Capture } from "./mapping.js";
import type { EventSink } from "./recorder.js";

/** Options of {@link chorusMiddleware}. */
export interface ChorusMiddlewareOptions {
  /**
   * The Chorus client events go to, or options to create one. Default: a client configured from
   * the `CHORUS_*` environment variables (`CHORUS_URL`, `CHORUS_API_KEY`, `CHORUS_CHANNEL`, …).
   */
  chorus?: Chorus | ChorusOptions;
  /** Channel of this model's events. Default: the Chorus client's channel. */
  channel?: string;
  /**
   * Agent name on this model's events. Inside an intent handler (or a `withTrace` that names an
   * agent) that agent wins. Default: the Chorus client's agent.
   */
  agent?: string;
  /**
   * `"full"` keeps prompts, completions, tool arguments and results; `"metadata"` keeps only
   * models, usage, timings, names and ids. Default: the Chorus client's `capture` (`CHORUS_CAPTURE`).
   */
  capture?: Capture;
  /** Also emit `llm.token` for every streamed text delta. Off by default: it is one event per delta. */
  emitTokens?: boolean;
  /** Called with every error the adapter swallows (its own bugs, a broken client). An error thrown here is swallowed too. */
  onError?: AdapterOnError;
  /** Where the adapter's own warnings go; `false` silences them. Default: `[chorus]` lines on stderr. */
  logger?: Logger | false;
}

export interface ResolvedOptions {
  sink: EventSink;
  channel: string | undefined;
  agent: string | undefined;
  capture: Capture;
  emitTokens: boolean;
  onError: AdapterOnError | undefined;
  logger: Logger | undefined;
}

/**
 * Duck-typed rather than `instanceof`: an application may load @chorus/core twice (ESM and
 * CJS, or two versions), and any of those clients must be accepted as one.
 */
function isSink(value: unknown): value is EventSink & { options?: { capture?: unknown } } {
  return (
    typeof value === "object" && value !== null && typeof (value as EventSink).emit === "function"
  );
}

export function resolveOptions(options: ChorusMiddlewareOptions): ResolvedOptions {
  const given = options.chorus;
  const sink = isSink(given) ? given : new Chorus(given ?? {});
  const clientCapture = (sink as { options?: { capture?: unknown } }).options?.capture;
  const capture: Capture =
    options.capture ??
    (clientCapture === "metadata" || clientCapture === "full" ? clientCapture : "full");
  const chorusLogger = !isSink(given) ? given?.logger : undefined;
  const logger = options.logger ?? chorusLogger ?? createConsoleLogger("warn");
  return {
    sink,
    channel: options.channel,
    agent: options.agent,
    capture,
    emitTokens: options.emitTokens === true,
    onError: options.onError,
    logger: logger === false ? undefined : logger,
  };
}
