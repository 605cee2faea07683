import type { ChorusEvent, EventStream } from "@chorus/core";
import { type Io, paint } from "./io.js";

/** Interval of the timer that keeps the process alive while following (it does nothing else). */
const KEEP_ALIVE_MS = 60_000;

export interface FollowOptions {
  io: Io;
  signal?: AbortSignal | undefined;
  /** Print one event. Return `true` to stop following (a count reached, an intent finished). */
  onEvent(event: ChorusEvent): boolean | undefined | Promise<boolean | undefined>;
  /** Called once, when the stream is first connected (the place to say "watching…"). */
  onConnected?(): void;
}

/**
 * Follow a live stream until `onEvent` says stop, SIGINT/SIGTERM or `signal` arrive, or the
 * stream fails for good (its typed error is thrown to the caller). Reconnects are the stream's
 * job; this only reports them, on stderr so stdout stays one event per line.
 */
export async function follow(stream: EventStream, options: FollowOptions): Promise<void> {
  const { io } = options;
  const stop = () => stream.close();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  options.signal?.addEventListener("abort", stop, { once: true });
  if (options.signal?.aborted) stop();

  let lost = false;
  let announced = false;
  const offConnection = stream.onConnection((connected) => {
    if (connected) {
      if (lost)
        io.err(
          paint(io, "dim", `chorus: reconnected, resuming after #${stream.lastEventId ?? "start"}`),
        );
      else if (!announced) options.onConnected?.();
      announced = true;
      lost = false;
    } else if (announced && !lost) {
      lost = true;
      io.err(paint(io, "dim", "chorus: connection to the hub lost; reconnecting…"));
    }
  });
  if (stream.connected && !announced) {
    announced = true;
    options.onConnected?.();
  }
  // Not unref'd on purpose: while following, this keeps the process alive even when the stream
  // is between reconnect attempts and holds no socket.
  const keepAlive = setInterval(() => {}, KEEP_ALIVE_MS);

  try {
    for await (const event of stream) {
      if (await options.onEvent(event)) break;
    }
  } finally {
    offConnection();
    clearInterval(keepAlive);
    stream.close();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    options.signal?.removeEventListener("abort", stop);
  }
}
