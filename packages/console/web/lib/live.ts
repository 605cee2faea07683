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
  /** Why the stream ended for good (a refused credential), if it did. */
  failure?: string | undefined;
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
      onEvents(batch) {
        events.push(...batch);
        if (events.length > MAX_EVENTS) events.splice(0, events.length - MAX_EVENTS);
        setFeed({ events, version: ++version, connected, started });
      },
      onConnection(up) {
        connected = up;
        started ||= up;
        setFeed({ events, version: ++version, connected, started });
      },
      onEnd(error) {
        connected = false;
        const failure = error instanceof Error ? error.message : String(error);
        setFeed({ events, version: ++version, connected, started, failure });
      },
    });
    return () => stream.close();
  }, [session, channel]);
  return feed;
}

function empty(): ChannelFeed {
  return { events: [], version: 0, connected: false, started: false };
}
