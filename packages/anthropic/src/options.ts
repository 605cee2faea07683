import { Chorus, type ChorusOptions, type Logger } from "@chorus/core";
import type { Capture } from "./mapping.js";
import type { EventSink } from "@chorus/core/adapter-kit";
import { type AdapterOnError, resolveAdapterLogger, resolveClient } from "@chorus/core/adapter-kit";

/** Options of {@link wrapAnthropic}. */
export interface WrapAnthropicOptions {
  /**
   * The Chorus client events go to, or options to create one. Default: a client configured from
   * the `CHORUS_*` environment variables (`CHORUS_URL`, `CHORUS_API_KEY`, `CHORUS_CHANNEL`, …).
   */
  chorus?: Chorus | ChorusOptions;
  /** Channel of this client's events. Default: the Chorus client's channel. */
  channel?: string;
  /**
   * Agent name on this client's events. Inside an intent handler (or a `withTrace` that names an
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

export interface ResolvedWrapOptions {
  sink: EventSink;
  /** Set when the adapter created the client, so unwrapping may close it. */
  owned: Chorus | undefined;
  channel: string | undefined;
  agent: string | undefined;
  capture: Capture;
  emitTokens: boolean;
  onError: AdapterOnError | undefined;
  logger: Logger;
}

export function resolveWrapOptions(options: WrapAnthropicOptions): ResolvedWrapOptions {
  const { chorus, owned } = resolveClient(options.chorus, (o) => new Chorus(o));
  const sink: EventSink & { options?: { capture?: unknown } } = chorus;
  const clientCapture = sink.options?.capture;
  const capture: Capture =
    options.capture ??
    (clientCapture === "metadata" || clientCapture === "full" ? clientCapture : "full");
  return {
    sink,
    owned: owned ? chorus : undefined,
    channel: options.channel,
    agent: options.agent,
    capture,
    emitTokens: options.emitTokens === true,
    onError: options.onError,
    logger: resolveAdapterLogger(options.logger, options.chorus),
  };
}
