import {
  type CaptureMode,
  Chorus,
  type ChorusOptions,
  type Logger,
  type OnError,
} from "@chorus/core";

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
  /** Where the handler's rate-limited warnings go; `false` silences them. Default: `[chorus]` lines on stderr. */
  logger?: Logger | false;
  /** Emit nested chains (LangGraph nodes, sequences, lambdas) as `chain.start`/`chain.end`. Default `false`. */
  verbose?: boolean;
  /** Emit an `llm.token` event per streamed token. Default `false`: first-token time is measured either way. */
  emitTokens?: boolean;
}

/** A client instance, told apart from options by its `emit` (instanceof breaks across ESM/CJS copies). */
export function isClient(value: Chorus | ChorusOptions | undefined): value is Chorus {
  return typeof (value as { emit?: unknown } | undefined)?.emit === "function";
}

/** The client to use, and whether the handler owns it (and so may close it). */
export function resolveClient(option: Chorus | ChorusOptions | undefined): {
  chorus: Chorus;
  owned: boolean;
} {
  if (isClient(option)) return { chorus: option, owned: false };
  try {
    return { chorus: new Chorus(option), owned: true };
  } catch {
    // Chorus does not throw on bad options, but a handler constructor must not either: fall back
    // to a client that drops everything rather than break the user's setup.
    return {
      chorus: new Chorus({ enabled: false, logger: false, drainOnExit: false }),
      owned: true,
    };
  }
}
