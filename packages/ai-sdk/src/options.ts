import { Chorus, type ChorusOptions, type Logger } from "@chorus/core";
import { type AdapterOnError, resolveAdapterLogger, resolveClient } from "@chorus/core/adapter-kit";
import type { Capture } from "./mapping.js";
import type { EventSink } from "@chorus/core/adapter-kit";

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
  logger: Logger;
}

export function resolveOptions(options: ChorusMiddlewareOptions): ResolvedOptions {
  const sink: EventSink & { options?: { capture?: unknown } } = resolveClient(
    options.chorus,
    (o) => new Chorus(o),
  ).chorus;
  const clientCapture = sink.options?.capture;
  const capture: Capture =
    options.capture ??
    (clientCapture === "metadata" || clientCapture === "full" ? clientCapture : "full");
  return {
    sink,
    channel: options.channel,
    agent: options.agent,
    capture,
    emitTokens: options.emitTokens === true,
    onError: options.onError,
    logger: resolveAdapterLogger(options.logger, options.chorus),
  };
}
