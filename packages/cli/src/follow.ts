import type { ChorusEvent, EventStream } from "@chorus/core";
import { type Io, paint } from "./io.js";

/**
 * How often the stream's `connected` flag is sampled. EventStream reconnects on its own and
 * emits nothing when it does, so sampling is the only way to tell the user; a drop shorter than
 * this may go unreported, which is harmless because resuming loses nothing.
 */
const CONNECTION_POLL_MS = 250;

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

  let wasConnected = false;
  let lost = false;
  // Not unref'd on purpose: while following, this timer keeps the process alive even when the
  // stream is between reconnect attempts and holds no socket.
  const poll = setInterval(() => {
    const connected = stream.connected;
    if (connected && !wasConnected) {
      if (lost)
        io.err(
          paint(io, "dim", `chorus: reconnected, resuming after #${stream.lastEventId ?? "start"}`),
        );
      else options.onConnected?.();
      lost = false;
    } else if (!connected && wasConnected) {
      lost = true;
      io.err(paint(io, "dim", "chorus: connection to the hub lost; reconnecting…"));
    }
    wasConnected = connected;
  }, CONNECTION_POLL_MS);

  try {
    for await (const event of stream) {
      if (await options.onEvent(event)) break;
    }
  } finally {
    clearInterval(poll);
    stream.close();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    options.signal?.removeEventListener("abort", stop);
  }
}
