import type { EventFilter } from "../store/types.js";
import type { Frame } from "./frame.js";
import type { DeliverySink } from "./tail.js";

/** A connection the index hands frames to; it applies its own filter and cursor. */
export interface IndexedSubscriber {
  readonly org: string;
  readonly filter: EventFilter;
  offer(frame: Frame): void;
}

/** Connections that name no channel or intent: looked at for every event of their org. */
const ANY = "*";

/**
 * SSE connections by org, then by the narrowest key their filter names (channel or intent), so
 * an event is offered only to connections that could want it, never to every connection.
 */
export class SseIndex implements DeliverySink {
  readonly #byOrg = new Map<string, Map<string, Set<IndexedSubscriber>>>();

  add(subscriber: IndexedSubscriber): () => void {
    let org = this.#byOrg.get(subscriber.org);
    if (!org) {
      org = new Map();
      this.#byOrg.set(subscriber.org, org);
    }
    const key = keyOf(subscriber.filter);
    let set = org.get(key);
    if (!set) {
      set = new Set();
      org.set(key, set);
    }
    set.add(subscriber);
    return () => {
      set.delete(subscriber);
      if (set.size > 0) return;
      org.delete(key);
      if (org.size === 0) this.#byOrg.delete(subscriber.org);
    };
  }

  offer(frame: Frame): void {
    const org = this.#byOrg.get(frame.org);
    if (!org) return;
    const { channel, intentId } = frame.event;
    offerAll(org.get(`c:${channel}`), frame);
    if (intentId !== undefined) offerAll(org.get(`i:${intentId}`), frame);
    offerAll(org.get(ANY), frame);
  }
}

function offerAll(set: Set<IndexedSubscriber> | undefined, frame: Frame): void {
  if (set) for (const subscriber of set) subscriber.offer(frame);
}

function keyOf(filter: EventFilter): string {
  if (filter.channel !== undefined) return `c:${filter.channel}`;
  if (filter.intentId !== undefined) return `i:${filter.intentId}`;
  return ANY;
}
