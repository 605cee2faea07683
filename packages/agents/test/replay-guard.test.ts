import type { Chorus, ChorusEvent, Intent } from "@chorus/core";
import { describe, expect, it } from "vitest";
import { type AgentLifecycleEvents, defineAgent, runAgent } from "../src/index.js";
import { deferred, waitFor } from "./helpers.js";

const intent: Intent = {
  id: "i1",
  title: "t",
  status: "active",
  state: { n: 0 },
  version: 1,
  assignees: ["guarded"],
  createdAt: "x",
  updatedAt: "x",
};

function event(seq: number, type: string, payload: Record<string, unknown>): ChorusEvent {
  return {
    id: `e${seq}`,
    seq,
    channel: "intents",
    env: "default",
    type,
    intentId: "i1",
    payload,
    metadata: {},
    occurredAt: "x",
    receivedAt: "x",
  };
}

const change = (seq: number, n: number) =>
  event(seq, "intent.state_changed", {
    version: n + 1,
    patch: { n },
    changedKeys: ["n"],
    state: { n },
  });

/**
 * A client whose agent stream delivers `deliveries` as given (replays included) and whose intent
 * log holds `log`. The real EventStream already drops what it delivered; this checks that the
 * runner's own guard holds even for a stream that does not.
 */
function scriptedChorus(
  deliveries: ChorusEvent[],
  log: ChorusEvent[],
  options: { end?: boolean } = {},
): Chorus {
  const closed = deferred();
  const stream = {
    connected: true,
    lastEventId: undefined,
    onConnection: () => () => {},
    close: () => closed.resolve(),
    async *[Symbol.asyncIterator]() {
      for (const e of deliveries) yield e;
      if (!options.end) await closed.promise;
    },
  };
  return {
    stream: { agent: () => stream },
    intents: {
      list: async () => ({ data: [] }),
      get: async () => intent,
      events: async (_id: string, query: { after?: number } = {}) => ({
        data: log.filter((e) => e.seq > (query.after ?? 0)),
      }),
    },
  } as unknown as Chorus;
}

describe("replay guard", () => {
  const log = [event(1, "intent.created", { intent }), change(2, 1), change(3, 2), change(4, 3)];

  it("never handles an event twice, even when the stream repeats itself", async () => {
    const seen: number[] = [];
    const definition = defineAgent({
      id: "guarded",
      handlers: { onStateChange: (_i, _o, state) => void seen.push(state.n as number) },
    });
    const deliveries = [log[0], log[1], log[2], log[1], log[2], log[3], log[3]] as ChorusEvent[];
    const running = await runAgent(definition, {
      chorus: scriptedChorus(deliveries, log),
      after: 0,
      logger: false,
    });
    await waitFor(() => seen.length >= 3, "three changes");
    await running.stop();
    expect(seen).toEqual([1, 2, 3]);
    expect(running.lastSeq).toBe(4);
  });

  it("a stream that ends on its own stops the runner with an error instead of going quiet", async () => {
    const errors: unknown[] = [];
    const stopped: AgentLifecycleEvents["stopped"][] = [];
    const definition = defineAgent({ id: "guarded", handlers: {} });
    const running = await runAgent(definition, {
      chorus: scriptedChorus([], log, { end: true }),
      after: 0,
      logger: false,
      onError: (e) => errors.push(e),
      on: { stopped: (e) => stopped.push(e) },
    });
    await waitFor(() => stopped.length === 1, "stopped");
    expect(String(errors[0])).toContain("ended unexpectedly");
    await running.stop();
  });
});
