import type { CaptureMode, Chorus, ChorusOptions, Logger, OnError } from "@chorus/core";

/** Options of {@link ChorusCallbackHandler}. Every one is optional. */
export interface ChorusCallbackHandlerOptions {
  /**
   * The client to emit through, or options for a client the handler creates (and closes with
   * {@link ChorusCallbackHandler.close}). Default: a client configured by `CHORUS_*` variables.
   */
  chorus?: Chorus | ChorusOptions;
  /** Channel of the events; default the client's channel. */
  channel?: string;
  /**
   * Agent of the events. Default: the agent of the surrounding trace (inside an intent handler
   * or `chorus.withTrace({ agent })`), else the `createAgent` name, else the client's agent.
   */
  agent?: string;
  /**
   * `"metadata"` leaves prompts, completions, tool arguments and results out of the events
   * (they are never read). Default `"full"`; the client's own `capture` applies on top.
   */
  capture?: CaptureMode;
  /** Called with every error the handler swallows (its own bugs, a hostile payload). May not throw; if it does, that is swallowed too. */
  onError?: OnError;
  /**
   * Where the handler's warnings go (once per kind of failure, then debug lines); `false` silences
   * them. Default: the `logger` of the client options given, else `[chorus]` lines on stderr.
   */
  logger?: Logger | false;
  /** Emit nested chains (LangGraph nodes, sequences, lambdas) as `chain.start`/`chain.end`. Default `false`. */
  verbose?: boolean;
  /** Emit an `llm.token` event per streamed token. Default `false`: first-token time is measured either way. */
  emitTokens?: boolean;
}
