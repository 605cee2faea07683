import type { EventEnvelope, EventFilter } from "../store/types.js";

/**
 * Cheap in-memory pre-check: could this freshly stored event be one the filter selects?
 * It only decides whether an SSE connection wakes up to query the store, so it may say yes
 * too often but must never say no to a match. Assignment and portfolio membership live in the
 * store, so for those it only requires the event to belong to some intent.
 */
export function couldMatch(filter: EventFilter, event: EventEnvelope): boolean {
  if (filter.channel !== undefined && event.channel !== filter.channel) return false;
  if (filter.type !== undefined && event.type !== filter.type) return false;
  if (filter.types !== undefined && filter.types.length > 0 && !filter.types.includes(event.type)) {
    return false;
  }
  if (filter.agent !== undefined && event.agent !== filter.agent) return false;
  if (filter.app !== undefined && event.app !== filter.app) return false;
  if (filter.env !== undefined && event.env !== filter.env) return false;
  if (filter.traceId !== undefined && event.traceId !== filter.traceId) return false;
  if (filter.intentId !== undefined && event.intentId !== filter.intentId) return false;
  if (
    (filter.assignedTo !== undefined || filter.portfolio !== undefined) &&
    event.intentId === undefined
  ) {
    return false;
  }
  return true;
}
