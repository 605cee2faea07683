import { getEventListeners } from "node:events";
import { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { AIMessage, type BaseMessage } from "@langchain/core/messages";
import type { ChatResult } from "@langchain/core/outputs";
import { ChatPromptTemplate } from "@langchain/core/prompts";
import { FakeListChatModel } from "@langchain/core/utils/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChorusCallbackHandler } from "../src/index.js";
import { freshChannel, ofType, one, payload, readBack, startHub, type TestHub } from "./helpers.js";

let t: TestHub;
beforeAll(async () => {
  t = await startHub();
});
afterAll(async () => {
  await t.close();
});

const prompt = ChatPromptTemplate.fromMessages([["human", "{question}"]]);
const slowModel = () =>
  new FakeListChatModel({ responses: ["Paris is the capital of France."], sleep: 20 });

/** Stream a prompt | model chain and stop it through its signal after three chunks. */
async function abortedStream(
  handler: ChorusCallbackHandler,
  signal: AbortSignal,
  abort: () => void,
) {
  const stream = await prompt
    .pipe(slowModel())
    .stream({ question: "Capital of France?" }, { callbacks: [handler], signal });
  let chunks = 0;
  await expect(
    (async () => {
      for await (const _chunk of stream) if (++chunks === 3) abort();
    })(),
  ).rejects.toThrow();
}

/** A model that honours its signal: it fails with its own error class once aborted. */
class SignalAwareModel extends BaseChatModel {
  _llmType(): string {
    return "signal-aware";
  }
  async _generate(
    _messages: BaseMessage[],
    options: this["ParsedCallOptions"],
  ): Promise<ChatResult> {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, 5_000);
      options.signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        reject(Object.assign(new Error("Request was aborted."), { name: "APIUserAbortError" }));
      });
    });
    return { generations: [{ text: "late", message: new AIMessage("late") }] };
  }
}

describe("a model call whose signal aborts", () => {
  it("ends as llm.error AbortError when LangChain raises nothing (a stopped stream)", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const controller = new AbortController();
    await abortedStream(handler, controller.signal, () => controller.abort());
    // LangChain calls neither handleLLMEnd nor handleLLMError for it; flush() settles it at once.
    await handler.flush();
    const events = await readBack(t.chorus, channel);
    expect(ofType(events, "llm.end")).toEqual([]);
    const failed = one(events, "llm.error");
    expect(failed.spanId).toBe(one(events, "llm.start").spanId);
    expect(payload(failed)).toMatchObject({
      provider: "FakeListChatModel",
      error: { type: "AbortError" },
    });
  });

  it("without flush(), ends so on its own once the grace has passed", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const controller = new AbortController();
    await abortedStream(handler, controller.signal, () => controller.abort("user pressed stop"));
    await expect
      .poll(async () => ofType(await readBack(t.chorus, channel), "llm.error").length, {
        timeout: 5_000,
      })
      .toBe(1);
    const failed = one(await readBack(t.chorus, channel), "llm.error");
    expect(payload(failed).error).toEqual({ message: "user pressed stop", type: "AbortError" });
  });

  it("a timeout signal's reason is reported as it is (TimeoutError)", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const stream = await slowModel().stream("Capital of France?", {
      callbacks: [handler],
      signal: AbortSignal.timeout(30),
    });
    await expect(
      (async () => {
        for await (const _chunk of stream) {
          // read until the timeout aborts the stream
        }
      })(),
    ).rejects.toThrow();
    await handler.flush();
    const failed = one(await readBack(t.chorus, channel), "llm.error");
    expect(payload(failed).error).toMatchObject({ type: "TimeoutError" });
  });

  it("keeps LangChain's own error when the model reports one (the provider's error class)", async () => {
    const channel = freshChannel();
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel });
    const controller = new AbortController();
    const call = new SignalAwareModel({}).invoke("Hi", {
      callbacks: [handler],
      signal: controller.signal,
    });
    setTimeout(() => controller.abort(), 20);
    await expect(call).rejects.toThrow();
    await handler.flush();
    const events = await readBack(t.chorus, channel);
    expect(ofType(events, "llm.error").map((e) => payload(e).error)).toEqual([
      { message: "Request was aborted.", type: "APIUserAbortError" },
    ]);
  });

  it("one signal shared by many calls holds no listener of ours once they ended", async () => {
    const handler = new ChorusCallbackHandler({ chorus: t.chorus, channel: freshChannel() });
    const controller = new AbortController();
    const model = new FakeListChatModel({ responses: ["ok"] });
    for (let i = 0; i < 20; i++)
      await model.invoke("Hi", { callbacks: [handler], signal: controller.signal });
    expect(getEventListeners(controller.signal, "abort")).toEqual([]);
  });
});
