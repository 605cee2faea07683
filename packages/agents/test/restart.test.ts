import { join } from "node:path";
import type { Intent } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AgentLifecycleEvents,
  agent,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onStateChange,
} from "../src/index.js";
import {
  cleanUp,
  client,
  persist,
  createIntent,
  KEY,
  ORG,
  sleep,
  start,
  tempDir,
  waitFor,
} from "./helpers.js";
import { runAgent } from "../src/index.js";

interface Call {
  intentId: string;
  seq: number;
  old: unknown;
  new: unknown;
}

describe("hub restart mid-run", () => {
  let hub: Hub | undefined;
  afterEach(async () => {
    await cleanUp();
    await hub?.close();
  });

  // The runner's own client both strict and fail-open (the default): a fail-open client answers
  // `undefined` or an empty page while the hub is down, which the runner must not mistake for data.
  it.each([{ failOpen: false }, { failOpen: true }])(
    "resumes with no missed and no repeated handler call (runner client failOpen: $failOpen)",
    async ({ failOpen }) => {
      const db = join(tempDir(), "hub.db");
      const options = { mqttPort: 0, db, logger: false as const, apiKeys: `${ORG}:${KEY}` };
      hub = await createHub({ port: 0, ...options });
      const url = hub.url;
      const port = Number(new URL(url).port);
      const writer = client(url);
      const chorus = client(url, { failOpen });

      const calls: Call[] = [];
      @agent("survivor", { concurrency: 2 })
      class Survivor {
        @onStateChange({ keys: ["n"] })
        step(intent: Intent, oldState: IntentState, newState: IntentState, ctx: HandlerContext) {
          calls.push({
            intentId: intent.id,
            seq: ctx.event?.seq ?? -1,
            old: oldState.n,
            new: newState.n,
          });
        }
      }
      const reconnected: AgentLifecycleEvents["reconnected"][] = [];
      const disconnected: AgentLifecycleEvents["disconnected"][] = [];
      const running = await start(new Survivor(), {
        chorus,
        on: { reconnected: (e) => reconnected.push(e), disconnected: (e) => disconnected.push(e) },
      });
      const intents = [
        await createIntent(writer, ["survivor"], { n: 0 }),
        await createIntent(writer, ["survivor"], { n: 0 }),
      ];

      // The writer runs through the whole test: before, during (its writes wait out the outage)
      // and after the restart. Every fifth write rewrites the current value and every seventh
      // touches another key: neither may fire the handler.
      let writing = true;
      let writes = 0;
      const failedWrites = { count: 0 };
      const lastN = new Map(intents.map((i) => [i.id, 0]));
      const writer$ = (async () => {
        for (let i = 1; writing; i++) {
          const target = intents[i % 2] as Intent;
          const current = lastN.get(target.id) ?? 0;
          const patch: { n?: number; other?: number } =
            i % 5 === 0 ? { n: current } : i % 7 === 0 ? { other: i } : { n: i };
          await persist(() => writer.intents.patchState(target.id, patch), failedWrites);
          if (patch.n !== undefined) lastN.set(target.id, patch.n);
          writes++;
          await sleep(5);
        }
      })();

      await waitFor(() => calls.length >= 10, "handler calls before the restart");
      await hub.close();
      const writesAtClose = writes;
      await sleep(400);
      hub = await createHub({ port, ...options });
      await waitFor(() => reconnected.length >= 1, "the runner's stream to come back");
      const callsAtRestart = calls.length;
      await waitFor(
        () => calls.length >= callsAtRestart + 10 && writes >= writesAtClose + 20,
        "traffic after the restart",
      );
      writing = false;
      await writer$;

      // Ground truth: every logged change where n really changed.
      const expected: Call[] = [];
      for (const intent of intents) {
        let after: number | undefined;
        for (;;) {
          const page = await writer.intents.events(intent.id, {
            type: "intent.state_changed",
            limit: 1000,
            ...(after ? { after } : {}),
          });
          let previous: unknown;
          for (const event of page.data) {
            const payload = event.payload as { changedKeys: string[]; state: IntentState };
            if (payload.changedKeys.includes("n")) {
              expected.push({
                intentId: intent.id,
                seq: event.seq,
                old: previous ?? 0,
                new: payload.state.n,
              });
            }
            previous = payload.state.n;
          }
          if (page.next === undefined) break;
          after = page.next;
        }
      }
      await waitFor(() => calls.length >= expected.length, `${expected.length} handler calls`);
      await sleep(200); // room for a stray duplicate to show up
      console.info(
        `restart: ${expected.length} changes (${callsAtRestart} handled before the restart), ${writes} writes, ${failedWrites.count} failed during the outage`,
      );
      expect(failedWrites.count).toBeGreaterThan(0); // the writer really wrote through the outage
      expect(disconnected.length).toBeGreaterThanOrEqual(1);
      expect(calls.length).toBe(expected.length);
      expect([...calls].sort((a, b) => a.seq - b.seq)).toEqual(
        expected.sort((a, b) => a.seq - b.seq),
      );
      for (const intent of intents) {
        const seqs = calls.filter((c) => c.intentId === intent.id).map((c) => c.seq);
        expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
      }
      expect(running.errors).toEqual([]);
    },
    60_000,
  );

  // A fail-open client whose circuit is open answers `intents.list` with an empty page: read as
  // "no intents held", the held intent's onAssignment never ran. The runner reads through the
  // strict view, so the open circuit is an outage it waits out.
  it("runs onAssignment for an intent already held when the hub was down at start (fail-open client)", async () => {
    const db = join(tempDir(), "hub.db");
    const options = { mqttPort: 0, db, logger: false as const, apiKeys: `${ORG}:${KEY}` };
    hub = await createHub({ port: 0, ...options });
    const url = hub.url;
    const port = Number(new URL(url).port);
    const held = await createIntent(client(url), ["holder"]);
    await hub.close();
    hub = undefined;

    // The default fail-open client; its circuit opens on the failed delivery and stays open
    // well after the hub is back and the agent's stream has connected.
    const chorus = client(url, {
      failOpen: true,
      circuitFailureThreshold: 1,
      circuitCooldownMs: 4000,
      circuitMaxCooldownMs: 4000,
      maxRetries: 0,
    });
    chorus.emit({ type: "custom" });
    await waitFor(() => chorus.stats().circuit === "open", "the circuit to open");

    const assigned: string[] = [];
    @agent("holder")
    class Holder {
      @onAssignment()
      take(intent: Intent) {
        assigned.push(intent.id);
      }
    }
    const starting = runAgent(new Holder(), { chorus, logger: false });
    hub = await createHub({ port, ...options });
    const running = await starting;
    try {
      await waitFor(() => assigned.length > 0, "onAssignment of the held intent");
      expect(assigned).toEqual([held.id]);
    } finally {
      await running.stop();
    }
  });
});
