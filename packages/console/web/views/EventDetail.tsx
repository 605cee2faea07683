import { type ChorusEvent, clock, familyOf } from "../lib/event.js";

export interface EventDetailProps {
  event: ChorusEvent | undefined;
  onOpenTrace(traceId: string): void;
  onFilterTrace?(traceId: string): void;
}

/** The selected event: where it sits (trace, span, intent) and its payload and metadata. */
export function EventDetail({ event, onOpenTrace, onFilterTrace }: EventDetailProps) {
  if (!event) {
    return (
      <aside class="pane detail">
        <p class="empty">Select an event to see its payload.</p>
      </aside>
    );
  }
  const ids: [string, string | undefined][] = [
    ["seq", String(event.seq)],
    ["id", event.id],
    ["channel", event.channel],
    ["agent", event.agent],
    ["app", event.app],
    ["trace", event.traceId],
    ["span", event.spanId],
    ["parent", event.parentSpanId],
    ["intent", event.intentId],
    ["occurred", `${clock(event.occurredAt)}  ${event.occurredAt}`],
  ];
  return (
    <aside class="pane detail" data-testid="event-detail">
      <h3 class={`fam-${familyOf(event.type)}`}>
        <span class="type">{event.type}</span>
      </h3>
      <dl>
        {ids
          .filter(([, v]) => v)
          .map(([k, v]) => (
            <div key={k}>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </div>
          ))}
      </dl>
      {event.traceId && (
        <div class="actions">
          <button type="button" onClick={() => onOpenTrace(event.traceId as string)}>
            Open trace
          </button>
          {onFilterTrace && (
            <button type="button" onClick={() => onFilterTrace(event.traceId as string)}>
              Only this trace
            </button>
          )}
        </div>
      )}
      <h4>payload</h4>
      <pre>{JSON.stringify(event.payload, null, 2)}</pre>
      {event.metadata && Object.keys(event.metadata).length > 0 && (
        <>
          <h4>metadata</h4>
          <pre>{JSON.stringify(event.metadata, null, 2)}</pre>
        </>
      )}
    </aside>
  );
}
