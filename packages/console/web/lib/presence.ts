import { useEffect, useState } from "preact/hooks";
import { type AgentPresence, parsePresence } from "./intents.js";
import type { Session } from "./session.js";

/** How often presence is asked for: an agent going offline shows within a few seconds. */
const PRESENCE_POLL_MS = 3_000;

/** `undefined` while unknown, or on a hub without `GET /v1/agents`. */
export function usePresence(session: Session): AgentPresence[] | undefined {
  const [agents, setAgents] = useState<AgentPresence[] | undefined>(undefined);
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const response = await session.fetch("/v1/agents");
        if (response.status === 404) return; // a hub without presence: stop asking
        if (response.ok && !stopped) setAgents(parsePresence(await response.json()));
      } catch {
        // the hub is away; the banner says so, and the next poll tries again
      }
      if (!stopped) timer = setTimeout(poll, PRESENCE_POLL_MS);
    };
    void poll();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [session]);
  return agents;
}
