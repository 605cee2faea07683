import Anthropic from "@anthropic-ai/sdk";
import { betaTool } from "@anthropic-ai/sdk/helpers/beta/json-schema";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isWrapped, unwrapAnthropic, wrapAnthropic } from "../src/index.js";
import { type FakeApi, startFakeApi } from "./helpers/fake-api.js";
import { only, startTestHub, type TestHub, types } from "./helpers/hub.js";
import { message, sseEvents, text, toolUse } from "./helpers/messages.js";

let api: FakeApi;
let hub: TestHub;

beforeAll(async () => {
  api = await startFakeApi();
  hub = await startTestHub("beta");
});
afterAll(async () => {
  await api.close();
  await hub.close();
});

const sdk = () => new Anthropic({ apiKey: "test", baseURL: api.url, maxRetries: 0 });

describe("client.beta.messages", () => {
  it("create and stream are reported as beta.messages calls", async () => {
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "beta" });
    api.enqueue(
      { kind: "json", body: message([text("Hello from beta.")]) },
      { kind: "sse", events: sseEvents(message([text("Streamed from beta.")])) },
    );
    const before = (await hub.events()).length;
    const answer = await client.beta.messages.create({
      model: "claude-test-1",
      max_tokens: 64,
      betas: ["context-management-2025-06-27"],
      messages: [{ role: "user", content: "Hi" }],
    });
    expect(answer.content).toEqual([{ type: "text", text: "Hello from beta." }]);
    const streamed = await client.beta.messages
      .stream({
        model: "claude-test-1",
        max_tokens: 64,
        messages: [{ role: "user", content: "Hi" }],
      })
      .finalText();
    expect(streamed).toBe("Streamed from beta.");

    const events = (await hub.events()).slice(before);
    const ends = events.filter((e) => e.type === "llm.end");
    expect(ends.map((e) => e.metadata?.method)).toEqual([
      "beta.messages.create",
      "beta.messages.stream",
    ]);
    expect(ends.map((e) => e.payload.finishReason)).toEqual(["stop", "stop"]);
    unwrapAnthropic(client);
  });

  it("the SDK's tool runner: each turn, and the tool call matched to its result", async () => {
    const client = wrapAnthropic(sdk(), { chorus: hub.chorus, agent: "runner" });
    api.enqueue(
      { kind: "json", body: message([toolUse("toolu_b1", "get_weather", { city: "Paris" })]) },
      { kind: "json", body: message([text("It is sunny in Paris.")]) },
    );
    const weather = betaTool({
      name: "get_weather",
      description: "Weather in a city",
      inputSchema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
      run: ({ city }) => `sunny in ${city}`,
    });
    const runner = client.beta.messages.toolRunner({
      model: "claude-test-1",
      max_tokens: 64,
      tools: [weather],
      thread: false,
      messages: [{ role: "user", content: "Weather in Paris?" }],
    });
    const final = await runner.runUntilDone();
    expect(final.content).toEqual([{ type: "text", text: "It is sunny in Paris." }]);

    const all = await hub.events();
    const toolStart = all.find((e) => e.type === "tool.start" && e.payload.callId === "toolu_b1");
    expect(toolStart).toBeDefined();
    const trace = await hub.events({ traceId: toolStart!.traceId! });
    expect(types(trace)).toEqual(["llm.start", "llm.end", "tool.start", "tool.end"]);
    expect(only(trace, "tool.end").payload).toMatchObject({
      name: "get_weather",
      callId: "toolu_b1",
      result: "sunny in Paris",
    });
    expect(only(trace, "tool.end").spanId).toBe(toolStart!.spanId);
    unwrapAnthropic(client);
  });

  it("unwrapAnthropic restores both resources; wrapping again instruments both once", async () => {
    const client = sdk();
    const create = client.messages.create;
    const betaCreate = client.beta.messages.create;
    wrapAnthropic(client, { chorus: hub.chorus });
    wrapAnthropic(client, { chorus: hub.chorus });
    expect(isWrapped(client)).toBe(true);
    expect(client.beta.messages.create).not.toBe(betaCreate);
    unwrapAnthropic(client);
    expect(isWrapped(client)).toBe(false);
    expect(client.messages.create).toBe(create);
    expect(client.beta.messages.create).toBe(betaCreate);

    wrapAnthropic(client, { chorus: hub.chorus });
    api.enqueue({ kind: "json", body: message([text("Once.")]) });
    const before = (await hub.events()).length;
    await client.beta.messages.create({
      model: "claude-test-1",
      max_tokens: 8,
      messages: [{ role: "user", content: "Hi" }],
    });
    const events = (await hub.events()).slice(before);
    expect(events.filter((e) => e.type === "llm.start")).toHaveLength(1);
    unwrapAnthropic(client);
  });
});
