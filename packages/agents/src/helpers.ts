import type { Chorus, ChorusEvent, Intent } from "@chorus/core";
import { answered, deliverEmitted, isInvalidTransition, readIntent } from "./hub-calls.js";
import { type PatchOptions, patchIntent } from "./patch.js";
import type {
  CompleteOptions,
  HandlerContext,
  IntentRef,
  StatePatch,
  StateUpdater,
} from "./types.js";

/**
 * Set an intent's status to `completed`, writing `options.state` first (with If-Match and
 * re-apply on 409). Completing an intent that is already completed resolves with it, so two
 * agents finishing together do not fail; any other refused transition throws.
 *
 * @example
 * await completeIntent(chorus, intent, { state: { answer } });
 */
export async function completeIntent(
  chorus: Chorus,
  intent: IntentRef,
  options: CompleteOptions & PatchOptions = {},
): Promise<Intent> {
  const { state, reason, actor, maxAttempts } = options;
  if (state !== undefined)
    await patchIntent(chorus, intent, state, { maxAttempts, actor, writeKey: options.writeKey });
  else await deliverEmitted(chorus);
  try {
    const done = await chorus.strict.intents.setStatus(intent.id, "completed", {
      ...(reason === undefined ? {} : { reason }),
      ...(actor === undefined ? {} : { actor }),
    });
    return answered(done, `completing intent ${intent.id}`);
  } catch (error) {
    if (isInvalidTransition(error)) {
      const current = await readIntent(chorus, intent.id);
      if (current.status === "completed") return current;
    }
    throw error;
  }
}

export interface ContextInit {
  chorus: Chorus;
  agent: string;
  intentId: string;
  event: ChorusEvent | undefined;
  signal: AbortSignal;
  maxPatchAttempts: number;
}

/**
 * The context handed to handlers as their last argument. Chosen over an ambient
 * (AsyncLocalStorage) lookup because it is explicit: the helpers visibly belong to this run, work
 * the same in the decorator and `defineAgent` forms, and can be passed to code that runs
 * outside the handler's async flow.
 */
export function createHandlerContext(init: ContextInit): HandlerContext {
  const { chorus, agent, maxPatchAttempts } = init;
  return {
    chorus,
    agent,
    intentId: init.intentId,
    event: init.event,
    signal: init.signal,
    patch: (intent: IntentRef, change: StatePatch | StateUpdater) =>
      patchIntent(chorus, intent, change, { maxAttempts: maxPatchAttempts, actor: agent }),
    complete: (intent: IntentRef, options: CompleteOptions = {}) =>
      completeIntent(chorus, intent, { ...options, maxAttempts: maxPatchAttempts, actor: agent }),
    comment: async (
      intent: IntentRef,
      text: string,
      options: { payload?: Record<string, unknown> } = {},
    ) => {
      await deliverEmitted(chorus);
      const posted = await chorus.strict.intents.comment(intent.id, text, { agent, ...options });
      answered(posted, `commenting on intent ${intent.id}`);
    },
  };
}
