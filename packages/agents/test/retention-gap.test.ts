import { join } from "node:path";
import type { Intent } from "@chorus/core";
import { createHub, type Hub } from "@chorus/hub";
import { afterEach, describe, expect, it } from "vitest";
import {
  type AgentLifecycleEvents,
  agent,
  defineAgent,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onStateChange,
} from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  KEY,
  ORG,
  sleep,
  start,
  tempDir,
  waitFor,
} from "./helpers.js";

describe("a runner resumed below the hub's retention window", () => {
  let hub: Hub | undefined;
  afterEach(async () => {
    await cleanUp();
    await hub?.close();
  });

  it("catches up on the intents it holds, so an assignment whose event retention deleted is not lost", async () => {
    const db = join(tempDir(), "hub.db");
    const options = { port: 0, mqttPort: 0, db, logger: false as const, apiKeys: `${ORG}:${KEY}` };
    hub = await createHub(options);

    const assigned: AgentLifecycleEvents["assigned"][] = [];
    const changes: { intentId: string; n: unknown }[] = [];
    @agent("keeper")
    class Keeper {
      @onAssignment()
      take(_intent: Intent, _ctx: HandlerContext) {}

      @onStateChange({ keys: ["n"] })
      step(intent: Intent, _old: IntentState, now: IntentState) {
        changes.push({ intentId: intent.id, n: now.n });
      }
    }

    let writer = client(hub);
    const first = await start(new Keeper(), {
      chorus: client(hub),
      on: { assigned: (e) => assigned.push(e) },
    });
    const handled = await createIntent(writer, ["keeper"]);
    await waitFor(() => assigned.some((a) => a.intent.id === handled.id), "the first assignment");
    await first.stop();
    const { lastSeq, epoch } = first;
    expect(lastSeq).toBeGreaterThan(0);

    // While no runner is up: one intent assigned and left open, one assigned and completed.
    const missed = await createIntent(writer, ["keeper"]);
    const done = await createIntent(writer, ["keeper"]);
    await writer.intents.setStatus(done.id, "completed");
    await hub.close();
    await sleep(5);
    // The same store under a retention that has every event expired: pruned as the hub starts.
    hub = await createHub({ ...options, retention: "1ms" });
    writer = client(hub);

    const warnings: { message: string; fields: unknown }[] = [];
    assigned.length = 0;
    await start(new Keeper(), {
      chorus: client(hub),
      after: lastSeq,
      epoch,
      logger: {
        debug() {},
        info() {},
        error() {},
        warn: (message: string, fields?: unknown) => warnings.push({ message, fields }),
      },
      on: { assigned: (e) => assigned.push(e) },
    });
    await waitFor(() => assigned.some((a) => a.intent.id === missed.id), "the missed assignment");
    // The stream's next events come after the catch-up, as at a start.
    await writer.intents.patchState(missed.id, { n: 1 });
    await waitFor(() => changes.length === 1, "the state change after the catch-up");
    expect(changes).toEqual([{ intentId: missed.id, n: 1 }]);

    const byIntent = new Map(assigned.map((a) => [a.intent.id, a]));
    expect(byIntent.get(missed.id)).toMatchObject({ catchUp: true, event: undefined });
    // The runner cannot tell which intents the deleted events handed over: at least once.
    expect(byIntent.get(handled.id)).toMatchObject({ catchUp: true });
    expect(byIntent.has(done.id)).toBe(false);
    expect(assigned.filter((a) => a.intent.id === missed.id)).toHaveLength(1);
    expect(warnings).toContainEqual({
      message: expect.stringMatching(/retention deleted events this agent had not handled/),
      fields: expect.objectContaining({ agent: "keeper", after: lastSeq }),
    });
  }, 30_000);

  it("catches up when a disconnection outlasted retention, on the intents it did not hold at their version", async () => {
    const db = join(tempDir(), "hub.db");
    const options = { mqttPort: 0, db, logger: false as const, apiKeys: `${ORG}:${KEY}` };
    hub = await createHub({ port: 0, ...options });
    const port = Number(new URL(hub.url).port);

    const assigned: AgentLifecycleEvents["assigned"][] = [];
    const reconnected: AgentLifecycleEvents["reconnected"][] = [];
    const keeper = defineAgent({ id: "keeper", handlers: { onAssignment: () => {} } });
    await start(keeper, {
      chorus: client(hub.url, { retryBaseDelayMs: 20, retryMaxDelayMs: 100 }),
      on: { assigned: (e) => assigned.push(e), reconnected: (e) => reconnected.push(e) },
    });
    const held = await createIntent(client(hub), ["keeper"]);
    await waitFor(() => assigned.length === 1, "the first assignment");
    await hub.close();

    // While the runner's hub is away, another hub on the same store takes an assignment, and
    // the store then comes back under a retention that deleted it.
    const other = await createHub({ port: 0, ...options });
    const missed = await createIntent(client(other), ["keeper"]);
    await other.close();
    await sleep(5);
    hub = await createHub({ port, ...options, retention: "1ms" });

    await waitFor(() => assigned.some((a) => a.intent.id === missed.id), "the missed assignment");
    expect(assigned.find((a) => a.intent.id === missed.id)).toMatchObject({ catchUp: true });
    expect(reconnected).toHaveLength(1);
    await sleep(200); // room for a stray catch-up of the intent it held
    expect(assigned.map((a) => a.intent.id)).toEqual([held.id, missed.id]);
  }, 30_000);
});
