import type { Chorus, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  agent,
  type AgentLifecycleEvents,
  type HandlerContext,
  type IntentState,
  onAssignment,
  onStateChange,
  runAgent,
} from "../src/index.js";
import {
  cleanUp,
  client,
  createIntent,
  deferred,
  sleep,
  start,
  startHub,
  waitFor,
} from "./helpers.js";

describe("runner lifecycle", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("stop() lets the handler in flight finish, drops what has not started, and handles nothing after", async () => {
    chorus = client(hub);
    const release = deferred();
    const entered = deferred();
    const calls: number[] = [];
    let signalAborted: boolean | undefined;
    @agent("slow")
    class Slow {
      @onStateChange({ keys: ["n"] })
      async step(_i: Intent, _o: IntentState, state: IntentState, ctx: HandlerContext) {
        calls.push(state.n as number);
        entered.resolve();
        await release.promise;
        signalAborted = ctx.signal.aborted;
        return { handled: state.n };
      }
    }
    const running = await start(new Slow(), { chorus });
    const stopped: AgentLifecycleEvents["stopped"][] = [];
    running.on("stopped", (e) => stopped.push(e));
    const intent = await createIntent(chorus, ["slow"], { n: 0 });
    await chorus.intents.patchState(intent.id, { n: 1 });
    await chorus.intents.patchState(intent.id, { n: 2 }); // queued behind n=1
    await entered.promise;
    const lastBefore = running.lastSeq;

    let stopResolved = false;
    const stopping = running.stop().then(() => {
      stopResolved = true;
    });
    await sleep(50);
    expect(stopResolved).toBe(false); // still draining the handler in flight
    release.resolve();
    await stopping;
    expect(signalAborted).toBe(true); // handlers can see that the runner is stopping
    // The in-flight handler completed, including writing what it returned.
    expect((await chorus.intents.get(intent.id))?.state.handled).toBe(1);
    expect(calls).toEqual([1]);
    expect(running.lastSeq).toBeGreaterThan(lastBefore ?? 0);
    expect(stopped).toEqual([{ agent: "slow", lastSeq: running.lastSeq, epoch: running.epoch }]);

    await chorus.intents.patchState(intent.id, { n: 3 });
    await sleep(100);
    expect(calls).toEqual([1]);
    await running.stop(); // idempotent

    // Resuming from lastSeq picks up exactly what was dropped and what came later.
    const resumed: number[] = [];
    @agent("slow")
    class Resumed {
      @onStateChange({ keys: ["n"] })
      step(_i: Intent, _o: IntentState, state: IntentState) {
        resumed.push(state.n as number);
      }
    }
    await start(new Resumed(), { chorus, after: running.lastSeq });
    await waitFor(() => resumed.length >= 2, "n=2 and n=3");
    expect(resumed).toEqual([2, 3]);
  });

  it("catches up at start: onAssignment once per intent already held (not final), and once for an assignment racing the catch-up", async () => {
    chorus = client(hub);
    const other = client(hub);
    const held = await createIntent(chorus, ["keeper"], { q: 1 });
    const draft = await chorus.intents.create({
      title: "draft",
      status: "draft",
      assignees: ["keeper"],
    });
    const done = await createIntent(chorus, ["keeper"]);
    await chorus.intents.setStatus(done.id, "completed");
    const racing = await createIntent(chorus, []);

    // The race, made deterministic: the intent is assigned after the stream opened and before
    // the catch-up list is read, so it is both in the list and on the stream.
    const list = chorus.intents.list.bind(chorus.intents);
    chorus.intents.list = async (query) => {
      await other.intents.assign(racing.id, "keeper");
      await sleep(100); // let the assignment arrive on the stream first
      return list(query);
    };

    const assigned: { id: string; version: number; ctxEvent: boolean }[] = [];
    const lifecycle: AgentLifecycleEvents["assigned"][] = [];
    @agent("keeper")
    class Keeper {
      @onAssignment()
      take(intent: Intent, ctx: HandlerContext) {
        assigned.push({
          id: intent.id,
          version: intent.version,
          ctxEvent: ctx.event !== undefined,
        });
      }
    }
    const started: AgentLifecycleEvents["started"][] = [];
    const running = await runAgent(new Keeper(), {
      chorus,
      logger: false,
      on: { assigned: (e) => lifecycle.push(e), started: (e) => started.push(e) },
    });
    try {
      await waitFor(() => assigned.length >= 3, "three assignments");
      const late = await createIntent(chorus, ["keeper"]);
      await waitFor(() => assigned.length >= 4, "the assignment after start");
      await sleep(100);
      expect(assigned.map((a) => a.id).sort()).toEqual(
        [held.id, draft?.id, racing.id, late.id].sort(),
      );
      expect(assigned.filter((a) => a.id !== late.id).every((a) => !a.ctxEvent)).toBe(true);
      expect(assigned.find((a) => a.id === late.id)?.ctxEvent).toBe(true);
      expect(started).toEqual([{ agent: "keeper", after: undefined, caughtUp: 3 }]);
      expect(lifecycle.map((e) => [e.intent.id, e.catchUp])).toEqual(
        expect.arrayContaining([
          [held.id, true],
          [late.id, false],
        ]),
      );
      expect(lifecycle).toHaveLength(4);
    } finally {
      await running.stop();
    }
  });

  it("emits started, and resumes exactly after `after` without catch-up", async () => {
    chorus = client(hub);
    const intent = await createIntent(chorus, ["resumer"], { n: 0 });
    const beforeStart = (await chorus.intents.events(intent.id)).data.at(-1)?.seq ?? 0;
    await chorus.intents.patchState(intent.id, { n: 1 });
    const seen: number[] = [];
    let assignments = 0;
    @agent("resumer")
    class Resumer {
      @onAssignment()
      take() {
        assignments++;
      }
      @onStateChange()
      change(_i: Intent, _o: IntentState, state: IntentState) {
        seen.push(state.n as number);
      }
    }
    const reconnections: unknown[] = [];
    const started: AgentLifecycleEvents["started"][] = [];
    // `started` fires before runAgent resolves: listeners given in the options see it.
    const running = await runAgent(new Resumer(), {
      chorus,
      after: beforeStart,
      logger: false,
      on: { started: (e) => started.push(e), reconnected: (e) => reconnections.push(e) },
    });
    try {
      expect(started).toEqual([{ agent: "resumer", after: beforeStart, caughtUp: 0 }]);
      await waitFor(() => seen.length >= 1, "the change after `after`");
      expect(seen).toEqual([1]);
      await sleep(2 * 100); // two connection checks
      expect(reconnections).toEqual([]); // the first open is not a reconnection
      expect(assignments).toBe(0);
    } finally {
      await running.stop();
    }
  });

  it("rejects at start when the stream is refused (bad key)", async () => {
    const bad = client(hub, { apiKey: "key_acme_wrong_0000000" });
    @agent("refused")
    class Refused {}
    await expect(runAgent(new Refused(), { chorus: bad, logger: false })).rejects.toMatchObject({
      code: "unauthorized",
    });
  });
});
