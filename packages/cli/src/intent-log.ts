import type { Chorus, ChorusEvent } from "@chorus/core";
import { MAX_PAGE_LIMIT } from "@chorus/protocol";

/**
 * An intent's whole log, oldest first, one page in memory at a time (a long-lived intent's log
 * can be large; `watch` only needs to run through it).
 */
export async function* intentLog(chorus: Chorus, id: string): AsyncGenerator<ChorusEvent> {
  let after: number | undefined;
  for (;;) {
    const page = await chorus.intents.events(id, {
      limit: MAX_PAGE_LIMIT,
      ...(after === undefined ? {} : { after }),
    });
    yield* page.data;
    if (page.next === undefined || page.data.length === 0) return;
    // A cursor that does not move would print the same page for ever.
    if (after !== undefined && page.next <= after)
      throw new Error(`the hub's log of intent ${id} did not move past seq ${after}`);
    after = page.next;
  }
}
