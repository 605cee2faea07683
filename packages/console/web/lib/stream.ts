import type { ChorusEvent } from "./event.js";
import type { Session } from "./session.js";

export interface LiveStreamOptions {
  session: Session;
  channel: string;
  /** Deliver stored events after this seq first (0: the whole history), then live ones. */
  after: number;
  /** Events in order, each once, in batches (one per animation frame at most). */
  onEvents(events: ChorusEvent[]): void;
  /**
   * At most this many events wait for the next batch; past it the oldest are dropped, as the
   * page would drop them anyway (it keeps this many at most).
   */
  keep: number;
  /** `true` once connected, `false` while the hub is away (the stream keeps retrying). */
  onConnection(connected: boolean): void;
  /** The stream ended for good (the hub refused the credential, or the channel name). */
  onEnd(error: unknown): void;
}

export interface LiveStream {
  close(): void;
}

/**
 * Without an animation frame (a hidden tab runs none) a batch is handed over after this long:
 * browsers still run timers in a background tab, if only once a second.
 */
const FLUSH_WITHOUT_FRAME_MS = 250;

/**
 * A channel followed with @chorus/core's `EventStream`, which outlives the hub: after every drop
 * it reconnects with backoff and sends the last seq it delivered as `Last-Event-ID`, so the hub
 * replays what was missed and nothing arrives twice. Rendering is batched per animation frame,
 * so a burst of thousands of events costs one render; in a hidden tab, where no frame comes, a
 * timer hands the batch over instead, and the batch never holds more than `keep` events.
 */
export function openLiveStream(options: LiveStreamOptions): LiveStream {
  const stream = options.session.chorus.stream.channel(options.channel, { after: options.after });
  let batch: ChorusEvent[] = [];
  let frame: number | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closed = false;
  // Trimmed in steps of an eighth, so dropping the oldest costs one splice per many events.
  const trimAt = options.keep + Math.ceil(options.keep / 8);

  const flush = () => {
    if (frame !== undefined) cancelAnimationFrame(frame);
    clearTimeout(timer);
    frame = undefined;
    timer = undefined;
    if (closed || batch.length === 0) return;
    // Cleared once handed over: should `onEvents` throw, the events wait for the next flush.
    options.onEvents(batch);
    batch = [];
  };

  stream.onConnection((up) => options.onConnection(up));
  void (async () => {
    try {
      for await (const event of stream) {
        batch.push(event);
        if (batch.length > trimAt) batch.splice(0, batch.length - options.keep);
        frame ??= requestAnimationFrame(flush);
        timer ??= setTimeout(flush, FLUSH_WITHOUT_FRAME_MS);
      }
    } catch (error) {
      if (!closed) options.onEnd(error);
    }
  })();

  return {
    close() {
      closed = true;
      if (frame !== undefined) cancelAnimationFrame(frame);
      clearTimeout(timer);
      stream.close();
    },
  };
}
