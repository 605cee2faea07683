import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { Chorus } from "@chorus/core";
import { context } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from "@opentelemetry/sdk-trace-base";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChorusSpanProcessor } from "../src/index.js";
import { MAX_OPEN_SPANS } from "../src/span-processor.js";
import { weatherRun } from "./helpers/ai.js";
import { API_KEY, only, startTestHub, type TestHub } from "./helpers/hub.js";

let t: TestHub;
const contextManager = new AsyncLocalStorageContextManager();
beforeAll(async () => {
  context.setGlobalContextManager(contextManager.enable());
  t = await startTestHub();
});
afterAll(async () => {
  await t.close();
  contextManager.disable();
  context.disable();
});

let channels = 0;
const freshChannel = () => `otel-${process.pid}-${++channels}`;

describe("ChorusSpanProcessor with the real Vercel AI SDK", () => {
  it("a generateText run with a tool loop shows up in the hub with the spans' own ids", async () => {
    const channel = freshChannel();
    const spans = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [
        new ChorusSpanProcessor({ chorus: t.chorus, channel, logger: false }),
        new SimpleSpanProcessor(spans),
      ],
    });
    const result = await weatherRun(provider.getTracer("test"));
    expect(result.text).toBe("It is sunny in Paris.");
    await provider.forceFlush();

    const events = await t.events({ channel });
    // Live: every start is stored before its own end.
    expect(events.map((e) => e.type)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "llm.start",
      "llm.end",
      "agent.end",
    ]);
    const run = spans.getFinishedSpans().find((s) => s.name === "ai.generateText")!;
    for (const e of events) expect(e.traceId).toBe(run.spanContext().traceId);
    expect(events[0]!.spanId).toBe(run.spanContext().spanId);
    expect(events.at(-1)!.spanId).toBe(run.spanContext().spanId);
    expect(events[1]!.parentSpanId).toBe(run.spanContext().spanId);
    expect(events[2]!.payload).toMatchObject({
      usage: { inputTokens: 12, outputTokens: 7 },
      finishReason: "tool_calls",
    });
    expect(events[0]!.agent).toBe("weather-agent");
    await provider.shutdown();
  });

  it("with the client's capture 'metadata', no prompt, answer, tool arguments or result leave the process", async () => {
    const channel = freshChannel();
    const quiet = new Chorus({
      url: t.hub.url,
      apiKey: API_KEY,
      channel,
      capture: "metadata",
      flushIntervalMs: 10,
      logger: false,
    });
    const provider = new BasicTracerProvider({
      spanProcessors: [new ChorusSpanProcessor({ chorus: quiet, logger: false })],
    });
    const result = await weatherRun(provider.getTracer("test"));
    expect(result.text).toBe("It is sunny in Paris.");
    await provider.forceFlush();
    await quiet.close(2_000);

    const events = await t.events({ channel });
    expect(events).toHaveLength(8);
    const stored = JSON.stringify(events);
    for (const text of ["Weather in Paris?", "It is sunny in Paris.", "sunny", '"city"'])
      expect(stored).not.toContain(text);
    // What is not content still arrives: usage, finish reason, tool name and call id.
    expect(events.find((e) => e.type === "llm.end")?.payload).toMatchObject({
      usage: { inputTokens: 12, outputTokens: 7 },
      finishReason: "tool_calls",
    });
    expect(only(events, "tool.start").payload).toEqual({ name: "weather", callId: "call_1" });
    await provider.shutdown();
  });

  it("the resource attribute chorus.channel picks the channel", async () => {
    const channel = freshChannel();
    const { resourceFromAttributes } = await import("@opentelemetry/resources");
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ "chorus.channel": channel }),
      spanProcessors: [new ChorusSpanProcessor({ chorus: t.chorus, logger: false })],
    });
    await weatherRun(provider.getTracer("test"));
    expect((await t.events({ channel })).length).toBe(8);
    await provider.shutdown();
  });

  it("chorus.emit() inside an active OTel span carries that span's trace", async () => {
    const channel = freshChannel();
    const provider = new BasicTracerProvider({
      spanProcessors: [new ChorusSpanProcessor({ chorus: t.chorus, channel, logger: false })],
    });
    const tracer = provider.getTracer("test");
    const ids = tracer.startActiveSpan("work", (span) => {
      t.chorus.emit({ type: "custom", channel, payload: { note: "inside" } });
      span.end();
      return span.spanContext();
    });
    t.chorus.emit({ type: "custom", channel, payload: { note: "outside" } });
    const events = await t.events({ channel });
    expect(events[0]).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
    expect(events[1]!.traceId).not.toBe(ids.traceId);
    await provider.shutdown();
  });
});

describe("emit linking with several processors", () => {
  it("shutting one processor down leaves it working for the others", async () => {
    const channel = freshChannel();
    const replaced = new ChorusSpanProcessor({ chorus: t.chorus, channel, logger: false });
    const provider = new BasicTracerProvider({
      spanProcessors: [new ChorusSpanProcessor({ chorus: t.chorus, channel, logger: false })],
    });
    await replaced.shutdown();
    await replaced.shutdown();
    const ids = provider.getTracer("test").startActiveSpan("work", (span) => {
      t.chorus.emit({ type: "custom", channel, payload: { note: "inside" } });
      span.end();
      return span.spanContext();
    });
    const [event] = await t.events({ channel });
    expect(event).toMatchObject({ traceId: ids.traceId, spanId: ids.spanId });
    await provider.shutdown();
  });
});

describe("bounded memory", () => {
  it("holds no span it was given: a never-ended span the app let go is collected, attributes and all", async () => {
    setFlagsFromString("--expose-gc");
    const gc = runInNewContext("gc") as () => void;
    const recording = { emit: () => undefined, flush: async () => true } as unknown as Chorus;
    const processor = new ChorusSpanProcessor({
      chorus: recording,
      logger: false,
      linkEmits: false,
    });
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer("test");
    const refs = Array.from({ length: 8 }, () => {
      // Leaked: started, never ended, its prompt a megabyte.
      const span = tracer.startSpan("chat m", {
        attributes: {
          "gen_ai.operation.name": "chat",
          "gen_ai.input.messages": "x".repeat(1 << 20),
        },
      });
      return new WeakRef(span);
    });
    for (let i = 0; i < 3 && refs.some((r) => r.deref() !== undefined); i++) {
      await new Promise((resolve) => setImmediate(resolve));
      gc();
    }
    expect(refs.filter((r) => r.deref() !== undefined)).toHaveLength(0);
  });

  it("remembers at most MAX_OPEN_SPANS open spans; one forgotten still ends with its start, under the same id", () => {
    const emitted: { id?: string; type: string }[] = [];
    const recording = {
      emit: (event: { id?: string; type: string }) => {
        emitted.push(event);
        return event.id;
      },
      flush: async () => true,
      drain: async () => {},
    } as unknown as Chorus;
    const provider = new BasicTracerProvider({
      spanProcessors: [
        new ChorusSpanProcessor({ chorus: recording, logger: false, linkEmits: false }),
      ],
    });
    const tracer = provider.getTracer("test");
    const chat = { attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m" } };
    const first = tracer.startSpan("chat m", chat);
    const rest = Array.from({ length: MAX_OPEN_SPANS }, () => tracer.startSpan("chat m", chat));
    const startsOf = (id: string) => emitted.filter((e) => e.id === id).length;
    const firstStart = emitted[0]?.id as string;
    expect(emitted).toHaveLength(MAX_OPEN_SPANS + 1);

    // The newest is still remembered: its end maps no second start.
    rest.at(-1)?.end();
    expect(emitted.slice(-1).map((e) => e.type)).toEqual(["llm.end"]);
    // The first was forgotten when the bound was passed: its end sends the start again, same id.
    first.end();
    expect(emitted.slice(-2).map((e) => e.type)).toEqual(["llm.start", "llm.end"]);
    expect(startsOf(firstStart)).toBe(2);
  });
});

describe("chaos: the SDK never sees the processor fail", () => {
  it("a client whose emit throws: same result, errors go to onError", async () => {
    const broken = {
      emit: () => {
        throw new Error("boom");
      },
      flush: async () => true,
    } as unknown as Chorus;
    const errors: string[] = [];
    const provider = new BasicTracerProvider({
      spanProcessors: [
        new ChorusSpanProcessor({
          chorus: broken,
          logger: false,
          linkEmits: false,
          onError: (_e, c) => {
            errors.push(c.operation);
            throw new Error("onError throws too");
          },
        }),
      ],
    });
    const result = await weatherRun(provider.getTracer("test"));
    expect(result.text).toBe("It is sunny in Paris.");
    expect(errors).toContain("onStart");
    expect(errors).toContain("onEnd");
    await provider.shutdown();
  });

  it("after shutdown() it ignores spans (as the specification asks) and a second shutdown drains nothing", async () => {
    const emitted: string[] = [];
    let drains = 0;
    const recording = {
      emit: (event: { type: string }) => void emitted.push(event.type),
      flush: async () => true,
      drain: async () => {
        drains++;
      },
    } as unknown as Chorus;
    const processor = new ChorusSpanProcessor({
      chorus: recording,
      logger: false,
      linkEmits: false,
    });
    const tracer = new BasicTracerProvider({ spanProcessors: [processor] }).getTracer("test");
    const chat = { attributes: { "gen_ai.operation.name": "chat", "gen_ai.request.model": "m" } };
    const open = tracer.startSpan("chat m", chat);
    await processor.shutdown();
    open.end();
    tracer.startSpan("chat m", chat).end();
    await processor.forceFlush();
    await processor.shutdown();
    expect(emitted).toEqual(["llm.start"]);
    expect(drains).toBe(1);
  });

  it("hub down: the run completes, nothing waits on the network", async () => {
    const down = new Chorus({
      url: "http://127.0.0.1:9",
      apiKey: "key_acme_0123456789",
      channel: "x",
      logger: false,
      maxRetries: 0,
    });
    const provider = new BasicTracerProvider({
      spanProcessors: [new ChorusSpanProcessor({ chorus: down, logger: false })],
    });
    const result = await weatherRun(provider.getTracer("test"));
    expect(result.text).toBe("It is sunny in Paris.");
    expect(down.stats().queued).toBeGreaterThan(0);
    await down.close(100);
    await provider.shutdown();
  });

  it("a hanging hub: the run completes and shutdown is bounded by the client's flush", async () => {
    const { createServer } = await import("node:http");
    const server = createServer(() => {}); // never answers
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as { port: number }).port;
    const hanging = new Chorus({
      url: `http://127.0.0.1:${port}`,
      apiKey: "key_acme_0123456789",
      channel: "x",
      logger: false,
      timeoutMs: 200,
      maxRetries: 0,
    });
    const provider = new BasicTracerProvider({
      spanProcessors: [new ChorusSpanProcessor({ chorus: hanging, logger: false })],
    });
    const result = await weatherRun(provider.getTracer("test"));
    expect(result.text).toBe("It is sunny in Paris.");
    await hanging.close(100);
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await provider.shutdown();
  });
});
