import type { Logger } from "@chorus/core";
import type { AgentErrorContext, RunAgentOptions } from "./run-options.js";

export type Report = (error: unknown, context: AgentErrorContext) => void;

/**
 * The one place a runner's failures go: logged at error level, then handed to `onError`. An
 * `onError` that throws is swallowed: it is the user's diagnostics hook, and its own failure
 * must not stop the runner.
 */
export function createReporter(logger: Logger, onError: RunAgentOptions["onError"]): Report {
  return (error, context) => {
    logger.error(
      context.handler === undefined
        ? `agent ${context.agent}: ${context.phase} failed`
        : `handler ${context.handler} failed`,
      {
        agent: context.agent,
        phase: context.phase,
        intentId: context.intentId,
        seq: context.event?.seq,
        error: messageOf(error),
      },
    );
    try {
      onError?.(error, context);
    } catch {
      // ignored on purpose (see above)
    }
  };
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
