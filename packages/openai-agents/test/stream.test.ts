import type { Hub } from "@chorus/hub";
import { Agent, type Model, type ModelRequest, Runner, type StreamEvent } from "@openai/agents";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { instrument } from "../src/index.js";
import {
  cleanup,
  client,
  freshChannel,
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

describe("observeStream", () => {
  async function streamed(emitTokens: boolean) {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    const handle = track(
      instrument({ chorus, exclusive: true, hooks: scenario.runner, emitTokens }),
    );
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
      stream: true,
    });
    const types: string[] = [];
    for await (const event of handle.observeStream(result)) types.push(event.type);
    await result.completed;
    return { result, types, events: await readEvents(chorus, channel) };
  }

  it("re-yields the SDK's events untouched and adds time to first token", async () => {
    const { result, types, events } = await streamed(false);
    expect(result.finalOutput).toBe("It is sunny in Paris.");
    expect(types).toContain("raw_model_stream_event");
    expect(types).toContain("run_item_stream_event");
    expect(ofType(events, "llm.token")).toEqual([]);
    const answer = ofType(events, "llm.end").at(-1);
    expect(answer?.payload).toHaveProperty("timeToFirstTokenMs");
  });

  it("with emitTokens, one llm.token per text delta inside the model call's span", async () => {
    const { events } = await streamed(true);
    const tokens = ofType(events, "llm.token");
    expect(tokens.map((t) => t.payload.index)).toEqual([0]);
    const answer = ofType(events, "llm.end").at(-1);
    expect(tokens[0]?.spanId).toBe(answer?.spanId);
    const seqs = [ofType(events, "llm.start").at(-1), tokens[0], answer].map((e) => e?.seq ?? 0);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it("without emitTokens and outside observeStream there are no token events", async () => {
    const channel = freshChannel();
    const chorus = client(hub.url, { channel });
    const scenario = weatherScenario();
    track(instrument({ chorus, exclusive: true, emitTokens: true }));
    const result = await scenario.runner.run(scenario.triage, "Weather in Paris?", {
      stream: true,
    });
    for await (const _event of result) {
      // consumed directly
    }
    await result.completed;
    expect(ofType(await readEvents(chorus, channel), "llm.token")).toEqual([]);
  });
});

/** A model that streams "Hel", then waits for more until its request is aborted. */
class StalledModel implements Model {
  async getResponse(): Promise<never> {
    throw new Error("streamed only");
  }
  async *getStreamedResponse(request: ModelRequest): AsyncIterable<StreamEvent> {
    yield { type: "response_started" };
    yield { type: "output_text_delta", delta: "Hel" };
    await new Promise((_resolve, reject) => {
      const fail = () => reject(Object.assign(new Error("aborted"), { name: "AbortError" }));
      if (request.signal?.aborted) fail();
      request.signal?.addEventListener("abort", fail);
    });
  }
}

describe("a cancelled streamed run", () => {
  for (const how of ["the reader stops early", "the run's signal aborts"] as const)
    it(`reads as aborted, not finished, when ${how}`, async () => {
      const channel = freshChannel();
      const chorus = client(hub.url, { channel });
      const handle = track(instrument({ chorus, exclusive: true }));
      const agent = new Agent({
        name: "Slow",
        instructions: "Be slow.",
        model: new StalledModel(),
      });
      const controller = new AbortController();
      const result = await new Runner().run(agent, "Hi", {
        stream: true,
        signal: controller.signal,
      });
      for await (const event of handle.observeStream(result)) {
        if (event.type !== "raw_model_stream_event" || event.data.type !== "output_text_delta")
          continue;
        if (how === "the run's signal aborts") controller.abort();
        else break;
      }
      await result.completed;
      expect(result.cancelled).toBe(true);
      await expect
        .poll(async () => ofType(await readEvents(chorus, channel), "agent.error").length)
        .toBe(2);
      const events = await readEvents(chorus, channel);
      expect(ofType(events, "llm.end")).toEqual([]);
      const [failed] = ofType(events, "llm.error");
      expect(failed?.payload).toMatchObject({ error: { type: "AbortError" } });
      expect(ofType(events, "agent.end")).toEqual([]);
      expect(ofType(events, "agent.error").map((e) => e.payload)).toEqual([
        expect.objectContaining({
          name: "Slow",
          error: expect.objectContaining({ type: "AbortError" }),
        }),
        expect.objectContaining({
          name: "Agent workflow",
          error: expect.objectContaining({ type: "AbortError" }),
        }),
      ]);
    });
});
