import type { Chorus, Intent } from "@chorus/core";
import { currentTrace } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { agent, type HandlerContext, onAssignment, onStateChange } from "../src/index.js";
import { cleanUp, client, createIntent, start, startHub, waitFor } from "./helpers.js";

describe("trace context inside handlers", () => {
  let hub: Hub;
  let chorus: Chorus;
  beforeAll(async () => {
    hub = await startHub();
    chorus = client(hub);
  });
  afterEach(cleanUp);
  afterAll(() => hub.close());

  it("events emitted inside a handler arrive at the hub with the intent id and the agent", async () => {
    const traces: { traceId: string; intentId?: string; agent?: string }[] = [];
    @agent("tracer")
    class Tracer {
      @onAssignment()
      async start(intent: Intent, ctx: HandlerContext) {
        await Promise.resolve(); // still inside the span after an await
        const trace = currentTrace();
        if (trace) traces.push(trace);
        ctx.chorus.emit({ type: "custom", payload: { step: "assigned", intent: intent.id } });
      }
      @onStateChange({ keys: ["go"] })
      go() {
        const trace = currentTrace();
        if (trace) traces.push(trace);
        chorus.emit({ type: "llm.start", payload: { step: "go" } }); // what an adapter does
      }
    }
    await start(new Tracer(), { chorus });
    const intent = await createIntent(chorus, ["tracer"]);
    await chorus.intents.patchState(intent.id, { go: true });
    await waitFor(() => traces.length >= 2, "both handlers");
    expect(await chorus.flush(5000)).toBe(true);

    const custom = await chorus.events.list({ type: "custom", intentId: intent.id });
    const llm = await chorus.events.list({ type: "llm.start", intentId: intent.id });
    expect(custom.data).toHaveLength(1);
    expect(llm.data).toHaveLength(1);
    for (const [event, trace] of [
      [custom.data[0], traces[0]],
      [llm.data[0], traces[1]],
    ] as const) {
      expect(event).toMatchObject({
        intentId: intent.id,
        agent: "tracer",
        traceId: trace?.traceId,
        spanId: expect.any(String),
      });
    }
    // Each handler call is its own top-level run.
    expect(traces[0]?.traceId).not.toBe(traces[1]?.traceId);
    expect(traces.every((t) => t.intentId === intent.id && t.agent === "tracer")).toBe(true);
    // Outside handlers there is no ambient trace.
    expect(currentTrace()).toBeUndefined();
  });

  it("a handler's events reach the hub before the state change it returns", async () => {
    @agent("causal")
    class Causal {
      @onAssignment()
      async work(_intent: Intent, ctx: HandlerContext) {
        for (let i = 0; i < 5; i++) ctx.chorus.emit({ type: "llm.end", payload: { i } });
        return { done: true };
      }
    }
    const chorus = client(hub); // afterEach closes clients: this test gets its own
    await start(new Causal(), { chorus });
    const intent = await createIntent(chorus, ["causal"]);
    let changed: { seq: number } | undefined;
    await waitFor(async () => {
      const log = await chorus.events.list({ intentId: intent.id, type: "intent.state_changed" });
      changed = log.data[0];
      return changed !== undefined;
    }, "the returned patch");
    const work = await chorus.events.list({ intentId: intent.id, type: "llm.end" });
    // Already stored when the state change was written, and before it in seq order.
    expect(work.data).toHaveLength(5);
    expect(Math.max(...work.data.map((e) => e.seq))).toBeLessThan(changed?.seq ?? 0);
  });
});
