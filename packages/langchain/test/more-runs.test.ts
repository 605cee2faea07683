import { dispatchCustomEvent } from "@langchain/core/callbacks/dispatch";
import { Document } from "@langchain/core/documents";
import { AIMessage } from "@langchain/core/messages";
import { BaseRetriever } from "@langchain/core/retrievers";
import { RunnableLambda } from "@langchain/core/runnables";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { ChorusCallbackHandler } from "../src/index.js";
import { freshChannel, one, payload, readBack, startHub, type TestHub, types } from "./helpers.js";

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

class DocsRetriever extends BaseRetriever {
  lc_namespace = ["test", "retrievers"];
  async _getRelevantDocuments(query: string): Promise<Document[]> {
    return [
      new Document({ pageContent: `About ${query}`, metadata: { source: "kb/1" }, id: "d1" }),
    ];
  }
}

describe("retrievers", () => {
  it("emit retriever.start and retriever.end with the documents, under the calling run", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const retriever = new DocsRetriever();
    const chain = RunnableLambda.from(async (q: string, config) =>
      retriever.invoke(q, config),
    ).withConfig({ runName: "rag" });
    const docs = await chain.invoke("refunds", { callbacks: [handler] });
    expect(docs).toHaveLength(1);
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual(["agent.start", "retriever.start", "retriever.end", "agent.end"]);
    expect(payload(one(events, "retriever.start"))).toEqual({
      name: "DocsRetriever",
      query: "refunds",
    });
    expect(payload(one(events, "retriever.end"))).toMatchObject({
      name: "DocsRetriever",
      count: 1,
      documents: [{ pageContent: "About refunds", metadata: { source: "kb/1" }, id: "d1" }],
    });
    expect(one(events, "retriever.start").parentSpanId).toBe(one(events, "agent.start").spanId);
  });
});

describe("custom events", () => {
  it("dispatchCustomEvent inside a tool becomes an event in the tool's span", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const slow = tool(
      async ({ q }, config) => {
        await dispatchCustomEvent("search.progress", { done: 1, of: 2 }, config);
        await dispatchCustomEvent("checkpoint", { step: "half" }, config);
        return `results for ${q}`;
      },
      { name: "search", description: "search", schema: z.object({ q: z.string() }) },
    );
    const model = fakeModel()
      .respondWithTools([{ name: "search", args: { q: "x" }, id: "s1" }])
      .respond(new AIMessage("found it"));
    await createAgent({ model, tools: [slow] }).invoke(
      { messages: [{ role: "user", content: "find x" }] },
      { callbacks: [handler] },
    );
    const events = await readBack(t.chorus, channel);
    const progress = one(events, "search.progress");
    expect(payload(progress)).toEqual({ done: 1, of: 2 });
    expect(progress.spanId).toBe(one(events, "tool.start").spanId);
    expect(payload(one(events, "custom"))).toEqual({ name: "checkpoint", data: { step: "half" } });
  });
});

describe("a named sub-agent called from a tool", () => {
  it("emits agent.handoff and the sub-agent's own agent.start/end in the same trace", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const researcher = createAgent({
      model: fakeModel().respond(new AIMessage("Paris has 2.1M people.")),
      tools: [],
      name: "researcher",
    });
    const askResearcher = tool(
      async ({ question }, config) => {
        const out = await researcher.invoke(
          { messages: [{ role: "user", content: question }] },
          config,
        );
        return String(out.messages.at(-1)?.content);
      },
      {
        name: "ask_researcher",
        description: "delegate",
        schema: z.object({ question: z.string() }),
      },
    );
    const planner = createAgent({
      model: fakeModel()
        .respondWithTools([
          { name: "ask_researcher", args: { question: "Population of Paris?" }, id: "h1" },
        ])
        .respond(new AIMessage("About 2.1 million.")),
      tools: [askResearcher],
      name: "planner",
    });
    await planner.invoke(
      { messages: [{ role: "user", content: "How many people live in Paris?" }] },
      { callbacks: [handler] },
    );

    const events = await readBack(t.chorus, channel);
    expect(new Set(events.map((e) => e.traceId)).size).toBe(1);
    const handoff = one(events, "agent.handoff");
    expect(payload(handoff)).toEqual({ from: "planner", to: "researcher" });
    const starts = events.filter((e) => e.type === "agent.start");
    expect(starts.map((e) => [payload(e).name, e.agent])).toEqual([
      ["planner", "planner"],
      ["researcher", "researcher"],
    ]);
    const sub = starts[1]!;
    expect(sub.parentSpanId).toBe(one(events, "tool.start").spanId);
    expect(handoff.spanId).toBe(sub.spanId);
    const subEnd = events.find((e) => e.type === "agent.end" && e.spanId === sub.spanId);
    expect(subEnd?.agent).toBe("researcher");
    // The sub-agent's model call is the researcher's.
    const subLlm = events.find((e) => e.type === "llm.start" && e.parentSpanId === sub.spanId);
    expect(subLlm?.agent).toBe("researcher");
    expect(types(events).at(-1)).toBe("agent.end");
  });
});

describe("legacy AgentExecutor steps (callbacks as @langchain/classic raises them)", () => {
  it("agent action and finish become agent.action and agent.message", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const root = "00000000-0000-7000-8000-000000000001";
    handler.handleChainStart(
      { lc: 1, type: "not_implemented", id: ["langchain", "agents", "AgentExecutor"] },
      { input: "hi" },
      root,
    );
    const action = { tool: "search", toolInput: { q: "hi" }, log: "I should search" };
    handler.handleAgentAction(action, root);
    handler.handleAgentAction(action, root); // delivered twice: emitted once
    handler.handleAgentEnd({ returnValues: { output: "Hello!" }, log: "" }, root);
    handler.handleChainEnd({ output: "Hello!" }, root);
    const events = await readBack(t.chorus, channel);
    expect(types(events)).toEqual(["agent.start", "agent.action", "agent.message", "agent.end"]);
    expect(payload(one(events, "agent.action"))).toEqual({
      tool: "search",
      arguments: { q: "hi" },
      log: "I should search",
    });
    expect(payload(one(events, "agent.message"))).toEqual({ role: "assistant", text: "Hello!" });
    expect(new Set(events.map((e) => e.spanId)).size).toBe(1);
  });
});
