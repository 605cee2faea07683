import { type Chorus, ConnectionError, type Intent } from "@chorus/core";
import type { IntentStatus } from "@chorus/protocol";

/** Intents per page when listing what the agent holds at start. */
const CATCH_UP_PAGE = 100;
/** Nothing is left to do on these. */
const FINAL: ReadonlySet<IntentStatus> = new Set(["completed", "cancelled"]);

/**
 * Every intent assigned to `agent` that is not completed or cancelled, oldest first. Read through
 * the strict view: a fail-open client answers an empty page while the hub is away, which would
 * read as "no intents held" and skip their `onAssignment`.
 */
export async function assignedIntents(
  chorus: Chorus,
  agent: string,
  signal?: AbortSignal,
): Promise<Intent[]> {
  const out: Intent[] = [];
  let after: string | undefined;
  for (;;) {
    signal?.throwIfAborted();
    const page = await chorus.strict.intents.list({
      assignee: agent,
      limit: CATCH_UP_PAGE,
      ...(after === undefined ? {} : { after }),
    });
    for (const intent of page.data) if (!FINAL.has(intent.status)) out.push(intent);
    if (page.next === undefined || page.data.length === 0) return out;
    // A cursor that does not move would page for ever, appending the same intents each time.
    if (page.next === after)
      throw new ConnectionError(
        `the hub answered the same page of ${agent}'s intents again (cursor ${after}); listing stopped`,
        { reason: "unavailable" },
      );
    after = page.next;
  }
}
