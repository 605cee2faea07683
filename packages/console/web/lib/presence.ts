import { SSE_AGENTS_EVENT } from "@chorus/protocol/wire";
import { EventSource } from "eventsource";
import { useEffect, useState } from "preact/hooks";
import { type AgentPresence, parsePresence } from "./intents.js";
import type { Session } from "./session.js";

/** First and longest wait before opening the stream again after the hub refused it for now. */
const REOPEN_MIN_MS = 1_000;
const REOPEN_MAX_MS = 30_000;

export interface PresenceFeed {
  /** `undefined` until the hub first answered, and on a hub without `GET /v1/agents`. */
  agents: AgentPresence[] | undefined;
  /** Whether the stream is open now (the page's "hub away" banner counts it). */
  connected: boolean;
  /** Opened and not ended for good: while it is not connected, the hub is away. */
  started: boolean;
}

/**
 * Who is online, live: `GET /v1/agents` as an event stream, which the hub sends whenever the
 * list changes (an agent's runner connecting or leaving, on this hub at once, on another hub of
 * the same store within a renewal; a lease running out; an assignment). No polling.
 *
 * The SSE client is `eventsource` (the one @chorus/core uses), given the session's `fetch`, so
 * every (re)connect carries a fresh token. It reconnects by itself after a dropped connection;
 * an answer it will not retry (the hub restarting answers 503) is opened again here with
 * backoff. A refused credential (401/403 after the session renewed its token) or a hub
 * without the route (404) ends it.
 */
export function usePresence(session: Session): PresenceFeed {
  const [feed, setFeed] = useState<PresenceFeed>({
    agents: undefined,
    connected: false,
    started: false,
  });
  useEffect(() => {
    let source: EventSource | undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let attempt = 0;
    let stopped = false;
    const update = (patch: Partial<PresenceFeed>) =>
      setFeed((current) => ({ ...current, ...patch }));

    const open = () => {
      const es = new EventSource(`${session.base}/v1/agents`, {
        fetch: (input, init) => session.send(input, init),
      });
      source = es;
      update({ started: true });
      es.addEventListener("open", () => {
        attempt = 0;
        update({ connected: true });
      });
      es.addEventListener(SSE_AGENTS_EVENT, (message) => {
        update({ agents: parsePresence(JSON.parse(message.data)), connected: true });
      });
      es.addEventListener("error", (error) => {
        update({ connected: false });
        if (es.readyState !== EventSource.CLOSED || stopped) return; // it reconnects itself
        if (error.code === 401 || error.code === 403 || error.code === 404) {
          update({ started: false }); // for good: not a hub that is away
          return;
        }
        const delay = Math.min(REOPEN_MAX_MS, REOPEN_MIN_MS * 2 ** attempt++);
        timer = setTimeout(open, delay);
      });
    };
    open();
    return () => {
      stopped = true;
      clearTimeout(timer);
      source?.close();
    };
  }, [session]);
  return feed;
}
