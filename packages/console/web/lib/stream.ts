import type { ChorusEvent } from "./event.js";
import type { Session } from "./session.js";

export interface LiveStreamOptions {
  session: Session;
  channel: string;
  /** Deliver stored events after this seq first (0: the whole history), then live ones. */
  after: number;
  /** Events in order, each once, in batches (one per animation frame at most). */
  onEvents(events: ChorusEvent[]): void;
  /** `true` once connected, `false` while the hub is away (the stream keeps retrying). */
  onConnection(connected: boolean): void;
  /** The stream ended for good (the hub refused the credential, or the channel name). */
  onEnd(error: unknown): void;
}

export interface LiveStream {
  close(): void;
}

/**
 * A channel followed with @chorus/core's `EventStream`, which outlives the hub: after every drop
 * it reconnects with backoff and sends the last seq it delivered as `Last-Event-ID`, so the hub
 * replays what was missed and nothing arrives twice. Rendering is batched per animation frame,
 * so a burst of thousands of events costs one render.
 */
export function openLiveStream(options: LiveStreamOptions): LiveStream {
  const stream = options.session.chorus.stream.channel(options.channel, { after: options.after });
  let batch: ChorusEvent[] = [];
  let frame: number | undefined;
  let closed = false;

  const flush = () => {
    frame = undefined;
    const events = batch;
    batch = [];
    if (events.length > 0 && !closed) options.onEvents(events);
  };

  stream.onConnection((up) => options.onConnection(up));
  void (async () => {
    try {
      for await (const event of stream) {
        batch.push(event);
        frame ??= requestAnimationFrame(flush);
      }
    } catch (error) {
      if (!closed) options.onEnd(error);
    }
  })();

  return {
    close() {
      closed = true;
      if (frame !== undefined) cancelAnimationFrame(frame);
      stream.close();
    },
  };
}
