import { type Chorus, ConnectionError, type Intent } from "@chorus/core";
import { readIntent } from "./hub-calls.js";
import { foldAssigned, foldIntent } from "./intent-fold.js";
import { IntentEventTypes } from "@chorus/protocol";

/** Events per page while reading an intent's log: the hub's maximum, so long logs cost few requests. */
const LOG_PAGE = 1000;

export interface IntentBefore {
  /** The intent just before the event; `undefined` when the event is its creation. */
  intent: Intent | undefined;
  /** Whether the agent was assigned just before the event. */
  assigned: boolean;
  /** False when the log no longer starts at creation (retention) and the current intent stood in. */
  exact: boolean;
}

/**
 * The intent as it was just before the event at `seq`, folded from the intent's log: its state
 * is that of the latest `intent.state_changed` before `seq`, or the `intent.created` payload's
 * when there is none. This is how a handler gets the true old state on the first change a
 * runner sees, after a start, a resume or a gap in its cache.
 */
export async function intentBefore(
  chorus: Chorus,
  id: string,
  seq: number,
  agent: string,
): Promise<IntentBefore> {
  let intent: Intent | undefined;
  let assigned = false;
  let creationSeen = false;
  let after: number | undefined;
  for (;;) {
    const page = await chorus.strict.intents.events(id, {
      limit: LOG_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    let reached = false;
    for (const event of page.data) {
      // The event being handled counts: if it is the creation, "nothing before it" is exact.
      if (event.type === IntentEventTypes.Created) creationSeen = true;
      if (event.seq >= seq) {
        reached = true;
        break;
      }
      intent = foldIntent(intent, event);
      assigned = foldAssigned(assigned, event, agent);
    }
    if (reached || page.next === undefined || page.data.length === 0) break;
    if (after !== undefined && page.next <= after)
      throw new ConnectionError(
        `the hub's log of intent ${id} did not move past seq ${after}; reading stopped`,
        { reason: "unavailable" },
      );
    after = page.next;
  }
  if (!creationSeen) {
    // Retention pruned the start of the log: the current intent is the best stand-in.
    return { intent: await readIntent(chorus, id), assigned: true, exact: false };
  }
  return { intent, assigned, exact: true };
}
