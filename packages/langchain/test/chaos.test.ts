import { Chorus } from "@chorus/core";
import { dispatchCustomEvent } from "@langchain/core/callbacks/dispatch";
import { AIMessage } from "@langchain/core/messages";
import { RunnableLambda } from "@langchain/core/runnables";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { z } from "zod";
import { ChorusCallbackHandler } from "../src/index.js";
import {
  freshChannel,
  getWeather,
  one,
  payload,
  readBack,
  startHub,
  type TestHub,
  types,
} from "./helpers.js";

/*
 * Whatever goes wrong on our side, the user's run returns exactly what it returns without the
 * handler, and nothing is left behind as an unhandled rejection (the shared test/fail-on-unhandled.ts fails the test).
 */

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

/** Hostile values: a cycle, a getter that throws, a BigInt. */
function hostile(): Record<string, unknown> {
  const value: Record<string, unknown> = { count: 10n, nested: { big: 2n ** 70n } };
  value.self = value;
  Object.defineProperty(value, "explodes", {
    enumerable: true,
    get() {
      throw new Error("getter says no");
    },
  });
  return value;
}

function agentWith(tools: any[] = [getWeather]) {
  const model = fakeModel()
    .respondWithTools([{ name: tools[0]!.name, args: { city: "Paris" }, id: "call_1" }])
    .respond(
      new AIMessage({
        content: "Done.",
        usage_metadata: { input_tokens: 3, output_tokens: 1, total_tokens: 4 },
      }),
    );
  return createAgent({ model, tools });
}

const question = { messages: [{ role: "user", content: "Weather in Paris?" }] };

/** What a user sees of a run: message kinds, texts and tool calls (message ids are random). */
function visible(result: {
  messages: { type?: string; content: unknown; tool_calls?: unknown }[];
}): unknown {
  return result.messages.map((m) => [m.type, m.content, m.tool_calls ?? null]);
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

describe("chaos: the framework's result never changes", () => {
  it("hub down: same result, events held in the bounded queue, nothing thrown", async () => {
    const bare = await agentWith().invoke(question);
    const down = new Chorus({
      url: await closedPortUrl(),
      apiKey: "key_acme_0123456789",
      logger: false,
      flushIntervalMs: 5,
      retryBaseDelayMs: 5,
      maxQueueSize: 100,
      drainOnExit: false,
    });
    const handler = new ChorusCallbackHandler({ chorus: down, channel: "down" });
    const started = performance.now();
    const instrumented = await agentWith().invoke(question, { callbacks: [handler] });
    expect(visible(instrumented)).toEqual(visible(bare));
    // Never waits on the network: a run on a dead hub is as quick as any (a generous bound).
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(await handler.flush(200)).toBe(false);
    expect(down.stats().queued + down.stats().dropped).toBeGreaterThan(0);
    await down.close(50);
  });

  it("the client's emit throwing (a bug in core) is swallowed and reported", async () => {
    const chorus = new Chorus({
      url: t.hub.url,
      apiKey: "key_acme_0123456789",
      logger: false,
      drainOnExit: false,
    });
    vi.spyOn(chorus, "emit").mockImplementation(() => {
      throw new Error("emit exploded");
    });
    const errors: unknown[] = [];
    const handler = new ChorusCallbackHandler({
      chorus,
      logger: false,
      onError: (e) => errors.push(e),
    });
    const bare = await agentWith().invoke(question);
    const instrumented = await agentWith().invoke(question, { callbacks: [handler] });
    expect(visible(instrumented)).toEqual(visible(bare));
    expect(errors.length).toBeGreaterThan(0);
    expect((errors[0] as Error).message).toBe("emit exploded");
    await chorus.close(50);
  });

  it("an onError that throws (or rejects) is swallowed too", async () => {
    const chorus = new Chorus({
      url: t.hub.url,
      apiKey: "key_acme_0123456789",
      logger: false,
      drainOnExit: false,
    });
    vi.spyOn(chorus, "emit").mockImplementation(() => {
      throw new Error("emit exploded");
    });
    const throwing = new ChorusCallbackHandler({
      chorus,
      logger: false,
      onError: () => {
        throw new Error("onError exploded");
      },
    });
    const rejecting = new ChorusCallbackHandler({
      chorus,
      logger: false,
      onError: async () => Promise.reject(new Error("async onError")),
    });
    const bare = await agentWith().invoke(question);
    expect(visible(await agentWith().invoke(question, { callbacks: [throwing] }))).toEqual(
      visible(bare),
    );
    expect(visible(await agentWith().invoke(question, { callbacks: [rejecting] }))).toEqual(
      visible(bare),
    );
    await new Promise((resolve) => setTimeout(resolve, 10)); // let a stray rejection surface
    await chorus.close(50);
  });

  it("hostile payloads (cycles, throwing getters, BigInt) in tool output, chain values and custom events", async () => {
    const channel = freshChannel();
    const errors: unknown[] = [];
    const handler = new ChorusCallbackHandler({
      chorus: t.chorus,
      channel,
      logger: false,
      onError: (e) => errors.push(e),
    });

    // A tool whose output (and artifact) is hostile.
    const nasty = tool(async () => ["ok", hostile()] as [string, unknown], {
      name: "nasty",
      description: "returns hostile values",
      schema: z.object({ city: z.string() }),
      responseFormat: "content_and_artifact",
    });
    const plainNasty = tool(async () => hostile() as unknown as string, {
      name: "nasty",
      description: "returns a hostile object",
      schema: z.object({ city: z.string() }),
    });
    for (const t2 of [nasty, plainNasty]) {
      const bare = await agentWith([t2]).invoke(question);
      const instrumented = await agentWith([t2]).invoke(question, { callbacks: [handler] });
      expect(visible(instrumented)).toEqual(visible(bare));
    }

    // A chain whose input and output are hostile, and which dispatches a hostile custom event.
    const lambda = RunnableLambda.from(async (input: Record<string, unknown>) => {
      await dispatchCustomEvent("progress.update", hostile());
      await dispatchCustomEvent("odd name", hostile());
      return input;
    });
    const input = hostile();
    const out = await lambda.invoke(input, { callbacks: [handler] });
    expect(out).toBe(input);

    const events = await readBack(t.chorus, channel);
    // Still delivered, made JSON-safe by content capture.
    const progress = one(events, "progress.update");
    expect(payload(progress)).toMatchObject({ count: "10", self: "[Circular]" });
    expect(String(payload(progress).explodes)).toContain("getter says no");
    expect(payload(one(events, "custom"))).toMatchObject({
      name: "odd name",
      data: { count: "10" },
    });
    expect(types(events).filter((x) => x === "tool.end")).toHaveLength(2);
    expect(errors).toEqual([]);
  });

  it("a payload whose every field throws still yields linked start and end events", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel, logger: false });
    const trap = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
        ownKeys() {
          throw new Error("trap");
        },
        getPrototypeOf() {
          throw new Error("trap");
        },
      },
    );
    const lambda = RunnableLambda.from(async () => trap);
    const result = await lambda.invoke({ q: 1 }, { callbacks: [handler] }).catch((e: unknown) => e);
    const bare = await RunnableLambda.from(async () => trap)
      .invoke({ q: 1 })
      .catch((e: unknown) => e);
    expect(typeof result).toBe(typeof bare);
    const events = await readBack(t.chorus, channel);
    expect(types(events)[0]).toBe("agent.start");
    expect(events.at(-1)!.spanId).toBe(events[0]!.spanId);
  });
});
