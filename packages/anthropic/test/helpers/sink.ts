import type { Chorus, EmitEvent } from "@chorus/core";

export type RecordingSink = Chorus & { events: EmitEvent[] };

/**
 * A stand-in for a Chorus client that keeps what the adapter emits, exactly as emitted (before
 * the client's capture and validation). The adapter only calls `emit`.
 */
export function recordingSink(): RecordingSink {
  const events: EmitEvent[] = [];
  const sink = {
    events,
    emit(event: EmitEvent) {
      events.push(event);
      return String(events.length);
    },
  };
  return sink as unknown as RecordingSink;
}
