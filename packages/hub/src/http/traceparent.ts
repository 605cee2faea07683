/** The trace a W3C `traceparent` header names: its trace id and the caller's span (parent-id). */
export interface TraceParent {
  traceId: string;
  parentSpanId: string;
}

/** version "-" trace-id "-" parent-id "-" trace-flags: the 55 characters every version starts with. */
const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})/;
const VERSION_00_LENGTH = 55;

/**
 * Parse a `traceparent` header (W3C Trace Context). Anything invalid is `undefined`: the
 * specification has a receiver that cannot parse the header ignore it (and start a new trace),
 * not fail the request. Invalid means: not lowercase hex in the 00 layout, version `ff`, an
 * all-zero trace or parent id, version 00 with trailing data, a later version whose extra
 * fields are not `-`-separated, or the header sent twice (Node joins repeats with ", ").
 */
export function parseTraceparent(header: string | string[] | undefined): TraceParent | undefined {
  if (typeof header !== "string") return undefined;
  const value = header.trim();
  const match = TRACEPARENT.exec(value);
  if (!match) return undefined;
  const [, version, traceId, parentSpanId] = match as unknown as [string, string, string, string];
  if (version === "ff") return undefined;
  if (version === "00" && value.length !== VERSION_00_LENGTH) return undefined;
  // A later version may append fields; a parser for 00 reads the known prefix if a "-" follows.
  if (value.length > VERSION_00_LENGTH && value[VERSION_00_LENGTH] !== "-") return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId };
}

/**
 * The events of a publish with the header's trace filled in: every event object without a
 * `traceId` of its own gets the header's trace id, and its parent id as `parentSpanId` unless it
 * names one. Events that carry a trace keep it; anything that is not an object is left for
 * validation to refuse.
 */
export function withTraceParent(events: unknown[], parent: TraceParent | undefined): unknown[] {
  if (!parent) return events;
  return events.map((event) => {
    if (typeof event !== "object" || event === null || Array.isArray(event)) return event;
    const own = event as Record<string, unknown>;
    if (own.traceId !== undefined) return event;
    return {
      ...own,
      traceId: parent.traceId,
      ...(own.parentSpanId === undefined && { parentSpanId: parent.parentSpanId }),
    };
  });
}
