import type { Chorus, Intent } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { agent, type AgentLifecycleEvents, type IntentState, onStateChange } from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

describe("errors", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
    chorus = client(hub);
  });
  afterEach(() =>
    cleanUp().then(() => {
      chorus = client(hub);
    }),
  );
  afterAll(() => hub.close());

  it("a throwing handler is reported and never stops the other handlers or later events", async () => {
    const calls: string[] = [];
    @agent("fragile")
    class Fragile {
      // Keyed on "n" so the handler's own writes (of "seen") do not trigger it again.
      @onStateChange({ keys: ["n"] })
      async explodes(_intent: Intent, _old: IntentState, state: IntentState) {
        calls.push(`explodes:${state.n}`);
        if (state.n === 1) throw new Error("boom");
      }
      @onStateChange({ keys: ["n"] })
      survives(_intent: Intent, _old: IntentState, state: IntentState) {
        calls.push(`survives:${state.n}`);
        if (state.n === 2) throw "not even an Error";
        return { seen: state.n };
      }
    }
    const lifecycle: AgentLifecycleEvents["handler_error"][] = [];
    const running = await start(new Fragile(), { chorus });
    running.on("handler_error", (e) => lifecycle.push(e));
    running.on("handler_error", () => {
      throw new Error("a listener that throws is ignored too");
    });
    const intent = await createIntent(chorus, ["fragile"], { n: 0 });
    await chorus.intents.patchState(intent.id, { n: 1 });
    await chorus.intents.patchState(intent.id, { n: 2 });
    await chorus.intents.patchState(intent.id, { n: 3 });
    await waitFor(() => calls.includes("survives:3"), "the last event");
    expect(calls).toEqual([
      "explodes:1",
      "survives:1",
      "explodes:2",
      "survives:2",
      "explodes:3",
      "survives:3",
    ]);

    expect(
      running.errors.map((e) => [
        e.context.phase,
        e.context.handler,
        e.context.intentId,
        e.context.event?.type,
      ]),
    ).toEqual([
      ["handler", "explodes", intent.id, "intent.state_changed"],
      ["handler", "survives", intent.id, "intent.state_changed"],
    ]);
    expect((running.errors[0]!.error as Error).message).toBe("boom");
    expect(lifecycle.map((e) => e.handler)).toEqual(["explodes", "survives"]);
    // The surviving handler's returned patches were still written (not after the throw at n=2).
    await waitFor(
      async () => (await chorus.intents.get(intent.id))?.state.seen === 3,
      "last write",
    );
  });

  it("an onError that throws is ignored", async () => {
    let handled = 0;
    @agent("fragile2")
    class Fragile2 {
      @onStateChange()
      explodes() {
        handled++;
        throw new Error("boom");
      }
    }
    await start(new Fragile2(), {
      chorus,
      onError: () => {
        throw new Error("onError failing");
      },
    });
    const intent = await createIntent(chorus, ["fragile2"], { n: 0 });
    await chorus.intents.patchState(intent.id, { n: 1 });
    await chorus.intents.patchState(intent.id, { n: 2 });
    await waitFor(() => handled === 2, "both events handled");
  });

  it("a handler returning something that is not a patch is ignored with a warning", async () => {
    const warnings: string[] = [];
    @agent("odd")
    class Odd {
      @onStateChange({ keys: ["n"] })
      odd() {
        return "not a patch" as unknown as undefined;
      }
    }
    await start(new Odd(), {
      chorus,
      logger: { debug() {}, info() {}, error() {}, warn: (m: string) => warnings.push(m) },
    });
    const intent = await createIntent(chorus, ["odd"], { n: 0 });
    await chorus.intents.patchState(intent.id, { n: 1 });
    await waitFor(() => warnings.length > 0, "warning");
    expect(warnings[0]).toContain("returned a string");
  });
});
