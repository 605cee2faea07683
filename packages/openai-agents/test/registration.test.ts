import { createServer } from "node:net";
import { withTrace as chorusWithTrace } from "@chorus/core";
import type { Hub } from "@chorus/hub";
import {
  addTraceProcessor,
  getGlobalTraceProvider,
  type Span,
  type SpanData,
  type TracingProcessor,
} from "@openai/agents";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
  KEY,
  ofType,
  readEvents,
  startHub,
  track,
  weatherScenario,
} from "./helpers.js";

let hub: Hub;
beforeAll(async () => {
  hub = await startHub();
});
afterEach(cleanup);
afterAll(async () => {
  await hub.close();
});

async function runScenario(hooks = true) {
  const scenario = weatherScenario();
  const result = await scenario.runner.run(scenario.triage, "Weather in Paris?");
  return { scenario, result, hooks };
}

/** A processor that records which spans it saw and whether it was shut down. */
function spyProcessor(): TracingProcessor & { spans: string[]; shutdowns: number } {
  const spy = {
    spans: [] as string[],
    shutdowns: 0,
    async onTraceStart() {},
    async onTraceEnd() {},
    async onSpanStart() {},
    async onSpanEnd(span: Span<SpanData>) {
      spy.spans.push(span.spanData.type);
    },
    async shutdown() {
      spy.shutdowns++;
    },
    async forceFlush() {},
  };
  return spy;
}

describe("registration", () => {
  it("registering twice for the same client returns the same handle and never doubles events", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const first = track(instrument({ chorus }));
    const second = track(instrument({ chorus }));
    expect(second).toBe(first);
    await runScenario();
    const events = await readEvents(chorus, channel);
    expect(ofType(events, "agent.handoff")).toHaveLength(1);
    expect(ofType(events, "tool.start")).toHaveLength(1);
  });

  it("registering twice with the same client options creates one client", async () => {
    const channel = freshChannel();
    const options = {
      chorus: {
        url: hub.url,
        apiKey: KEY,
        logger: false as const,
        flushIntervalMs: 10,
        drainOnExit: false,
      },
      channel,
    };
    const first = track(instrument(options));
    const second = track(instrument(options));
    expect(second.chorus).toBe(first.chorus);
    await runScenario();
    const events = await readEvents(first.chorus, channel);
    expect(ofType(events, "agent.start")).toHaveLength(3);
  });

  it("uninstrument() stops events and instrument() again resumes without doubling", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const handle = track(instrument({ chorus }));
    handle.uninstrument();
    await runScenario();
    expect(await readEvents(chorus, channel)).toEqual([]);
    expect(instrument({ chorus })).toBe(handle);
    await runScenario();
    expect(ofType(await readEvents(chorus, channel), "agent.handoff")).toHaveLength(1);
  });

  it("exclusive: true replaces the SDK's processors; false keeps them", async () => {
    const kept = spyProcessor();
    addTraceProcessor(kept);
    track(instrument({ chorus: client(hub.url, { channel: freshChannel() }) }));
    await runScenario();
    expect(kept.spans).toContain("function");

    const replaced = spyProcessor();
    addTraceProcessor(replaced);
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus, exclusive: true }));
    expect(replaced.shutdowns).toBe(1);
    await runScenario();
    expect(replaced.spans).toEqual([]);
    expect(ofType(await readEvents(chorus, channel), "tool.end")).toHaveLength(1);
  });

  it("the SDK's forceFlush() and shutdown() flush the client", async () => {
    const channel = freshChannel();
    // A flush interval longer than the test: only a flush can deliver.
    const chorus = client(hub.url, { channel, flushIntervalMs: 60_000 });
    track(instrument({ chorus, exclusive: true }));
    await runScenario();
    await getGlobalTraceProvider().forceFlush();
    const page = await chorus.events.list({ channel, limit: 100 });
    expect(page.data.length).toBeGreaterThan(10);
    expect(chorus.stats().queued).toBe(0);
  });

  it("the SDK's exit-time shutdown(5000) waits no longer than the client's drain timeout", async () => {
    // A hub that accepts connections and never answers: a flush of 60 s would hang that long.
    const hanging = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as { port: number };
    try {
      const chorus = client(`http://127.0.0.1:${port}`, {
        channel: freshChannel(),
        timeoutMs: 60_000,
        drainTimeoutMs: 200,
      });
      const handle = track(instrument({ chorus }));
      chorus.emit({ type: "custom" });
      // The SDK passes its own 60 s here; the user's drain budget (200 ms) wins. Were the SDK's
      // timeout honoured instead, this test would outlive its own 10 s timeout.
      await handle.processor.shutdown(60_000);
      expect(chorus.stats().queued).toBe(1);
    } finally {
      hanging.close();
    }
  }, 10_000);

  it("handle.shutdown() waits once, within the client's drain timeout, for a hanging hub", async () => {
    // A hub that accepts connections and never answers, and requests that would wait a minute.
    const hanging = createServer((socket) => socket.on("error", () => {}));
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    const { port } = hanging.address() as { port: number };
    const url = `http://127.0.0.1:${port}`;
    try {
      const options = { timeoutMs: 60_000, drainTimeoutMs: 200, flushIntervalMs: 60_000 };
      const owned = instrument({
        chorus: { url, apiKey: KEY, logger: false, drainOnExit: false, ...options },
        channel: freshChannel(),
      });
      const given = client(url, { channel: freshChannel(), ...options });
      const handle = instrument({ chorus: given });
      owned.chorus.emit({ type: "custom" });
      given.emit({ type: "custom" });
      // Were the default 5 s waited (once for a flush, again for close), this test would outlive
      // its own timeout; the users' exit budget is 200 ms.
      await Promise.all([owned.shutdown(), handle.shutdown()]);
      expect(owned.chorus.stats()).toMatchObject({ queued: 0, dropped: 1 }); // closed: aborted
      expect(given.emit({ type: "custom" })).toBeTypeOf("string"); // a given client stays open
      await given.close(100);
    } finally {
      hanging.close();
    }
  }, 4_000);

  it("shutdown() closes a client it created, and leaves a given one open", async () => {
    const given = client(hub.url, { channel: freshChannel() });
    const handle = instrument({ chorus: given });
    await handle.shutdown(500);
    expect(given.emit({ type: "custom" })).toBeTypeOf("string");

    const owned = instrument({
      chorus: { url: hub.url, apiKey: KEY, logger: false, drainOnExit: false },
      channel: freshChannel(),
    });
    await owned.shutdown(500);
    expect(owned.chorus.emit({ type: "custom" })).toBeUndefined();
  });
});

describe("correlation with Chorus", () => {
  it("a run inside withTrace (an intent handler) joins its trace and carries intent and agent", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus, exclusive: true }));
    let outer: { traceId: string; spanId: string } | undefined;
    await chorusWithTrace(
      async () => {
        outer = chorus.currentTrace();
        await runScenario();
      },
      { intentId: "int_42", agent: "researcher" },
    );
    const events = await readEvents(chorus, channel);
    expect(events.length).toBeGreaterThan(10);
    for (const e of events) {
      expect(e.traceId).toBe(outer?.traceId);
      expect(e.intentId).toBe("int_42");
      expect(e.agent).toBe("researcher");
      // The SDK's own trace id is no longer the event's: it stays findable in the metadata.
      expect(e.metadata.sdkTraceId).toMatch(/^trace_[0-9a-f]{32}$/);
    }
    expect(events[0]?.parentSpanId).toBe(outer?.spanId);
    // SDK agent names stay in the payloads.
    expect(ofType(events, "agent.start").map((e) => e.payload.name)).toEqual([
      "Agent workflow",
      "Triage",
      "Weather",
    ]);
  });

  it("two concurrent runs get two traces", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus, exclusive: true }));
    await Promise.all([runScenario(), runScenario()]);
    const events = await readEvents(chorus, channel);
    const traces = new Set(events.map((e) => e.traceId));
    expect(traces.size).toBe(2);
    for (const traceId of traces) {
      const own = events.filter((e) => e.traceId === traceId);
      expect(ofType(own, "agent.handoff")).toHaveLength(1);
      // Every parent is a span of the same trace.
      const spans = new Set(own.map((e) => e.spanId));
      for (const e of own) if (e.parentSpanId) expect(spans.has(e.parentSpanId)).toBe(true);
    }
  });
});

describe("options", () => {
  it('capture: "metadata" keeps names, ids and usage but no text', async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    track(instrument({ chorus, exclusive: true, capture: "metadata", hooks: scenario.runner }));
    await scenario.runner.run(scenario.triage, "Weather in Paris?");
    const events = await readEvents(chorus, channel);
    expect(ofType(events, "agent.message")).toEqual([]);
    const toolStart = ofType(events, "tool.start")[0];
    expect(toolStart?.payload).toEqual({ name: "get_weather", callId: "call_1" });
    expect(ofType(events, "tool.end")[0]?.payload).not.toHaveProperty("result");
    expect(ofType(events, "llm.end")[1]?.payload.usage).toMatchObject({ inputTokens: 10 });
  });

  it("channel and agent options name every event", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel: "elsewhere" });
    track(instrument({ chorus, exclusive: true, channel, agent: "support-bot" }));
    await runScenario();
    const events = await readEvents(chorus, channel);
    expect(events.length).toBeGreaterThan(10);
    expect(new Set(events.map((e) => e.agent))).toEqual(new Set(["support-bot"]));
  });

  it("without hooks, spans alone still give tools their arguments (no call id from a scripted model)", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    track(instrument({ chorus }));
    await runScenario();
    const events = await readEvents(chorus, channel);
    expect(ofType(events, "tool.start")[0]?.payload).toEqual({
      name: "get_weather",
      arguments: { city: "Paris" },
    });
    expect(ofType(events, "agent.message")).toEqual([]);
    // Added beside the SDK's default processor, events of one span still come start before end.
    for (const end of events.filter((e) => e.type.endsWith(".end"))) {
      const start = events.find((e) => e.spanId === end.spanId && e.type.endsWith(".start"));
      expect(start && start.seq < end.seq).toBe(true);
    }
  });
});
