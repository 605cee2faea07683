import type { ChorusEvent } from "@chorus/core";
import { RunnableLambda } from "@langchain/core/runnables";
import { tool } from "@langchain/core/tools";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ChorusCallbackHandler } from "../src/index.js";
import { freshChannel, one, ofType, payload, readBack, startHub, type TestHub } from "./helpers.js";

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

const ANSWER = "Paris is the capital of France.";
const streamingModel = () => new FakeListChatModel({ responses: [ANSWER], sleep: 1 });

/** What user code does: read a model's stream for three chunks, then `break`. */
async function firstChunks(input: string): Promise<string> {
  let text = "";
  let chunks = 0;
  for await (const chunk of await streamingModel().stream(input)) {
    text += chunk.content;
    if (++chunks === 3) break;
  }
  return text;
}

const START_TYPES = ["agent.start", "chain.start", "llm.start", "tool.start"];

/** Every start has exactly one end or error with its span id, and nothing ends twice. */
function expectEveryStartEndedOnce(events: readonly ChorusEvent[]): void {
  const starts = events.filter((e) => START_TYPES.includes(e.type));
  for (const start of starts) {
    const kind = start.type.split(".")[0];
    const ends = events.filter(
      (e) => e.spanId === start.spanId && (e.type === `${kind}.end` || e.type === `${kind}.error`),
    );
    expect(
      ends.map((e) => e.type),
      `${start.type} ${payload(start).name ?? ""}`,
    ).toHaveLength(1);
  }
}

describe("a model stream read only in part (break) under another run", () => {
  it("inside a lambda: the call ends as llm.error AbortError once the lambda ended", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const lambda = RunnableLambda.from(firstChunks).withConfig({ runName: "summarise" });
    // What the user's code gets is LangChain's, untouched.
    expect(await lambda.invoke("Capital of France?", { callbacks: [handler] })).toBe("Par");
    await handler.flush();

    const events = await readBack(t.chorus, channel);
    expectEveryStartEndedOnce(events);
    const agent = one(events, "agent.start");
    const start = one(events, "llm.start");
    const failed = one(events, "llm.error");
    expect(ofType(events, "llm.end")).toEqual([]);
    expect(failed.spanId).toBe(start.spanId);
    expect(failed.parentSpanId).toBe(agent.spanId);
    expect(failed.traceId).toBe(agent.traceId);
    expect(payload(failed)).toMatchObject({
      provider: "FakeListChatModel",
      error: { type: "AbortError" },
    });
    expect(payload(failed).error.message).toContain("cancelled");
    expect(payload(failed)).toHaveProperty("timeToFirstTokenMs");
    expect(one(events, "agent.end").spanId).toBe(agent.spanId);
  });

  it("inside a LangGraph node, without flush(): ends on its own, under the graph's span", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const graph = new StateGraph(MessagesAnnotation)
      .addNode("summarise", async () => ({
        messages: [{ role: "assistant", content: await firstChunks("Capital of France?") }],
      }))
      .addEdge(START, "summarise")
      .addEdge("summarise", END)
      .compile({ name: "summariser" });
    const result = await graph.invoke(
      { messages: [{ role: "user", content: "Capital of France?" }] },
      { callbacks: [handler] },
    );
    expect(result.messages.at(-1)?.content).toBe("Par");

    await expect
      .poll(async () => ofType(await readBack(t.chorus, channel), "llm.error").length, {
        timeout: 5_000,
      })
      .toBe(1);
    const events = await readBack(t.chorus, channel);
    expectEveryStartEndedOnce(events);
    const failed = one(events, "llm.error");
    expect(failed.spanId).toBe(one(events, "llm.start").spanId);
    expect(failed.parentSpanId).toBe(one(events, "agent.start").spanId);
    expect(payload(failed).error).toMatchObject({ type: "AbortError" });
  });

  it("inside a tool: the tool ends as it did, the call it broke off ends as cancelled", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const summarise = tool(async ({ text }: { text: string }) => firstChunks(text), {
      name: "summarise",
      description: "Summarise a text",
      schema: z.object({ text: z.string() }),
    });
    expect(
      await summarise.invoke(
        { type: "tool_call", id: "call_1", name: "summarise", args: { text: "hi" } },
        { callbacks: [handler] },
      ),
    ).toMatchObject({ content: "Par", tool_call_id: "call_1" });
    await handler.flush();

    const events = await readBack(t.chorus, channel);
    expectEveryStartEndedOnce(events);
    const toolStart = one(events, "tool.start");
    expect(one(events, "tool.end")).toMatchObject({ spanId: toolStart.spanId });
    expect(payload(one(events, "tool.end"))).toMatchObject({ callId: "call_1" });
    const failed = one(events, "llm.error");
    expect(failed.parentSpanId).toBe(toolStart.spanId);
    expect(payload(failed).error).toMatchObject({ type: "AbortError" });
  });

  it("a nested chain left open is cancelled with its model call, each under its own span", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel, verbose: true });
    // The inner lambda streams a model; the outer one reads the inner stream for one chunk.
    const inner = RunnableLambda.from(async function* (input: string, config) {
      for await (const chunk of await streamingModel().stream(input, config)) yield chunk.content;
    }).withConfig({ runName: "inner" });
    const outer = RunnableLambda.from(async (input: string, config) => {
      for await (const chunk of await inner.stream(input, config)) return String(chunk);
      return "";
    }).withConfig({ runName: "outer" });
    expect(await outer.invoke("hi", { callbacks: [handler] })).toBe("P");
    await handler.flush();

    const events = await readBack(t.chorus, channel);
    expectEveryStartEndedOnce(events);
    const chainStart = one(events, "chain.start");
    expect(payload(chainStart).name).toBe("inner");
    expect(one(events, "chain.error")).toMatchObject({ spanId: chainStart.spanId });
    expect(one(events, "llm.error").parentSpanId).toBe(chainStart.spanId);
  });
});
