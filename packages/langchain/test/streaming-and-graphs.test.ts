import { AIMessage, AIMessageChunk } from "@langchain/core/messages";
import { StringOutputParser } from "@langchain/core/output_parsers";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { fakeModel } from "@langchain/core/testing";
import { FakeListChatModel, FakeStreamingChatModel } from "@langchain/core/utils/testing";
import { Annotation, END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChorusCallbackHandler } from "../src/index.js";
import {
  freshChannel,
  getWeather,
  meta,
  one,
  ofType,
  payload,
  readBack,
  startHub,
  type TestHub,
  types,
} from "./helpers.js";

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

const prompt = ChatPromptTemplate.fromMessages([
  ["system", "Answer in one short sentence."],
  ["human", "{question}"],
]);

describe("plain runnables: prompt | model", () => {
  it("the sequence is the agent run; the model call is its child; the answer is the message", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const chain = prompt.pipe(
      new FakeListChatModel({ responses: ["Paris is the capital of France."] }),
    );
    const answer = await chain.invoke({ question: "Capital of France?" }, { callbacks: [handler] });
    expect(answer.content).toBe("Paris is the capital of France.");

    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
    ]);
    const start = one(events, "agent.start");
    expect(payload(start)).toEqual({
      name: "RunnableSequence",
      input: { question: "Capital of France?" },
    });
    expect(one(events, "llm.start").parentSpanId).toBe(start.spanId);
    expect(payload(one(events, "llm.start"))).toMatchObject({
      provider: "FakeListChatModel",
      messages: [
        { role: "system", content: "Answer in one short sentence." },
        { role: "user", content: "Capital of France?" },
      ],
    });
    expect(payload(one(events, "agent.message")).text).toBe("Paris is the capital of France.");
  });

  it("a chain ending in a string parser still reports the final text", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const chain = prompt
      .pipe(new FakeListChatModel({ responses: ["Four."] }))
      .pipe(new StringOutputParser());
    expect(await chain.invoke({ question: "2+2?" }, { callbacks: [handler] })).toBe("Four.");
    const events = await readBack(t.chorus, channel);
    expect(payload(one(events, "agent.message")).text).toBe("Four.");
    expect(payload(one(events, "agent.end")).output).toEqual({ output: "Four." });
  });

  it("a model called on its own is a root llm run with its own trace", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    await fakeModel()
      .respond(new AIMessage("hi"))
      .invoke("hello", { callbacks: [handler] });
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual(["llm.start", "llm.end"]);
    expect(events[0]!.parentSpanId).toBeUndefined();
    expect(events[1]!.spanId).toBe(events[0]!.spanId);
  });
});

describe("a streaming model", () => {
  it("measures time to first token, without token events unless asked", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const chain = prompt.pipe(new FakeListChatModel({ responses: ["Hello there"], sleep: 2 }));
    let streamed = "";
    for await (const chunk of await chain.stream({ question: "hi" }, { callbacks: [handler] }))
      streamed += chunk.content;
    expect(streamed).toBe("Hello there");

    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "agent.message",
      "agent.end",
    ]);
    const end = payload(one(events, "llm.end"));
    expect(end.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(end.timeToFirstTokenMs).toBeLessThanOrEqual(end.latencyMs);
    expect(end.output).toBe("Hello there");
  });

  it("emits llm.token events in order when emitTokens is on", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel, emitTokens: true });
    const model = new FakeStreamingChatModel({
      chunks: [
        new AIMessageChunk("Hel"),
        new AIMessageChunk("lo"),
        new AIMessageChunk({
          content: "",
          usage_metadata: { input_tokens: 5, output_tokens: 2, total_tokens: 7 },
        }),
      ],
    });
    for await (const _ of await model.stream("hi", { callbacks: [handler] })) {
      // drain
    }
    const events = await readBack(t.chorus, channel);
    const tokens = ofType(events, "llm.token");
    expect(tokens.map((e) => payload(e))).toEqual([
      { token: "Hel", index: 0 },
      { token: "lo", index: 1 },
      { token: "", index: 2 },
    ]);
    const start = one(events, "llm.start");
    for (const e of tokens) expect(e.spanId).toBe(start.spanId);
    // FakeStreamingChatModel rebuilds chunks from their content and drops usage_metadata, so
    // usage is asserted in the createAgent tests; here, the first-token time next to the tokens.
    expect(payload(one(events, "llm.end"))).toMatchObject({
      timeToFirstTokenMs: expect.any(Number),
    });
  });
});

describe("a LangGraph StateGraph with two nodes", () => {
  const State = Annotation.Root({ ...MessagesAnnotation.spec, city: Annotation<string> });

  function graph() {
    const model = fakeModel().respond(new AIMessage("Looking up Lisbon."));
    return new StateGraph(State)
      .addNode("research", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addNode("lookup", async (state, config) => {
        const weather = await getWeather.invoke({ city: state.city }, config);
        return { messages: [new AIMessage(String(weather))] };
      })
      .addEdge(START, "research")
      .addEdge("research", "lookup")
      .addEdge("lookup", END)
      .compile({ name: "travel_graph" });
  }

  it("puts node names and the thread id in metadata, under one trace", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const out = await graph().invoke(
      { messages: [{ role: "user", content: "Weather in Lisbon?" }], city: "Lisbon" },
      { callbacks: [handler], configurable: { thread_id: "trip-7" } },
    );
    expect(out.messages.at(-1)?.content).toBe("Sunny and 24°C in Lisbon");

    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual([
      "agent.start",
      "llm.start",
      "llm.end",
      "tool.start",
      "tool.end",
      "agent.message",
      "agent.end",
    ]);
    expect(new Set(events.map((e) => e.traceId)).size).toBe(1);
    const root = one(events, "agent.start");
    expect(payload(root).name).toBe("travel_graph");
    expect(meta(one(events, "llm.start"))).toMatchObject({
      langgraphNode: "research",
      threadId: "trip-7",
    });
    expect(meta(one(events, "tool.start"))).toMatchObject({
      langgraphNode: "lookup",
      threadId: "trip-7",
    });
    expect(one(events, "llm.start").parentSpanId).toBe(root.spanId);
    expect(one(events, "tool.start").parentSpanId).toBe(root.spanId);
    expect(payload(one(events, "agent.message")).text).toBe("Sunny and 24°C in Lisbon");
  });

  it("in verbose mode, nodes are chain spans and their children hang under them", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel, verbose: true });
    await graph().invoke(
      { messages: [{ role: "user", content: "Weather in Lisbon?" }], city: "Lisbon" },
      { callbacks: [handler], configurable: { thread_id: "trip-8" } },
    );
    const events = await readBack(t.chorus, channel);
    const chainStarts = ofType(events, "chain.start");
    const names = chainStarts.map((e) => payload(e).name);
    expect(names).toContain("research");
    expect(names).toContain("lookup");
    expect(names).not.toContain("__start__"); // LangGraph plumbing stays hidden
    const research = chainStarts.find((e) => payload(e).name === "research")!;
    expect(research.parentSpanId).toBe(one(events, "agent.start").spanId);
    expect(meta(research).langgraphNode).toBe("research");
    const llm = one(events, "llm.start");
    // The model runs inside the node (a RunnableSequence and a lambda may sit between them).
    const spans = new Map(events.map((e) => [e.spanId, e]));
    let parent = spans.get(llm.parentSpanId!);
    while (parent && payload(parent).name !== "research") parent = spans.get(parent.parentSpanId!);
    expect(parent?.spanId).toBe(research.spanId);
    const ends = ofType(events, "chain.end");
    expect(ends.length).toBe(chainStarts.length);
  });
});

describe("LangGraph: interrupts and subgraphs", () => {
  it("a run paused by interrupt() ends with agent.end carrying interrupted: true", async () => {
    const { interrupt, MemorySaver } = await import("@langchain/langgraph");
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const State = Annotation.Root({ answer: Annotation<string> });
    const graph = new StateGraph(State)
      .addNode("ask", () => ({ answer: String(interrupt("approve?")) }))
      .addEdge(START, "ask")
      .addEdge("ask", END)
      .compile({ checkpointer: new MemorySaver() });
    const result = await graph.invoke(
      {},
      { callbacks: [handler], configurable: { thread_id: `t-${channel}` } },
    );
    expect(result).toHaveProperty("__interrupt__");
    const events = await readBack(t.chorus, channel);
    const ends = ofType(events, "agent.end");
    expect(ends).toHaveLength(1);
    expect(payload(ends[0] as never)).toMatchObject({ interrupted: true });
  });

  it("with a named subgraph as a node, the final answer is one agent.message", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const model = fakeModel().respond(new AIMessage("Forty-two."));
    const inner = new StateGraph(MessagesAnnotation)
      .addNode("think", async (state) => ({ messages: [await model.invoke(state.messages)] }))
      .addEdge(START, "think")
      .addEdge("think", END)
      .compile({ name: "researcher" });
    const outer = new StateGraph(MessagesAnnotation)
      .addNode("research", inner)
      .addEdge(START, "research")
      .addEdge("research", END)
      .compile({ name: "supervisor" });
    await outer.invoke(
      { messages: [{ role: "user", content: "The answer?" }] },
      { callbacks: [handler] },
    );
    const events = await readBack(t.chorus, channel);
    const messages = ofType(events, "agent.message");
    expect(messages.map((e) => payload(e).text)).toEqual(["Forty-two."]);
  });
});
