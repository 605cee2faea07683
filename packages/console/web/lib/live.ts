import { ErrorCodes } from "@chorus/protocol/wire";
import { useEffect, useState } from "preact/hooks";
import type { ChorusEvent } from "./event.js";
import type { Session } from "./session.js";
import { openLiveStream } from "./stream.js";

/**
 * What the page keeps of one channel. The browser holds this many at most, dropping the oldest:
 * enough for a long session, bounded so a busy channel cannot exhaust the tab.
 */
export const MAX_EVENTS = 100_000;

/** A channel's events in seq order, growing as they arrive; `version` changes on every batch. */
export interface ChannelFeed {
  events: readonly ChorusEvent[];
  version: number;
  connected: boolean;
  /** Whether the first connection has been made (before it, "connecting", not "away"). */
  started: boolean;
  /** Why the stream ended for good (a refused credential or channel name), if it did. */
  failure?: FeedFailure | undefined;
}

/** Why the hub ended a stream for good: what it said, and whose fault it was. */
export interface FeedFailure {
  message: string;
  /**
   * `credential`: the hub refused the key or token (401), for good; signing in again is the
   * way on. `channel`: the hub refused this channel (its name, or this key on it): another
   * channel works.
   */
  cause: "credential" | "channel";
}

/** What the page tells the reader about a stream @chorus/core's `EventStream` ended. */
export function feedFailure(error: unknown): FeedFailure {
  const message = error instanceof Error ? error.message : "the stream ended";
  const code = (error as { code?: unknown } | null)?.code;
  return { message, cause: code === ErrorCodes.Unauthorized ? "credential" : "channel" };
}

/** Follow a channel from its first stored event, live, for as long as the component lives. */
export function useChannelFeed(session: Session, channel: string): ChannelFeed {
  const [feed, setFeed] = useState<ChannelFeed>(() => empty());
  useEffect(() => {
    const events: ChorusEvent[] = [];
    let version = 0;
    let started = false;
    let connected = false;
    setFeed(empty());
    const stream = openLiveStream({
      session,
      channel,
      after: 0,
      keep: MAX_EVENTS,
      onEvents(batch) {
        appendBounded(events, batch, MAX_EVENTS);
        setFeed({ events, version: ++version, connected, started });
      },
      onConnection(up) {
        connected = up;
        started ||= up;
        setFeed({ events, version: ++version, connected, started });
      },
      onEnd(error) {
        connected = false;
        setFeed({ events, version: ++version, connected, started, failure: feedFailure(error) });
      },
    });
    return () => stream.close();
  }, [session, channel]);
  return feed;
}

/**
 * Add a batch to a list that keeps the newest `max` items, dropping the oldest once the batch
 * is in. A loop, never `list.push(...batch)`: a spread of more than about 125,000 arguments
 * (a hidden tab's backlog) throws a RangeError, and the batch was lost with it.
 */
export function appendBounded<T>(list: T[], batch: readonly T[], max: number): void {
  for (let i = Math.max(0, batch.length - max); i < batch.length; i++) list.push(batch[i] as T);
  if (list.length > max) list.splice(0, list.length - max);
}

function empty(): ChannelFeed {
  return { events: [], version: 0, connected: false, started: false };
}
