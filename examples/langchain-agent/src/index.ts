/*
 * A LangChain v1 agent with one tool, observed by Chorus.
 *
 *   pnpm start                      offline: a scripted fakeModel, an embedded hub
 *   ANTHROPIC_API_KEY=… pnpm start  the same agent on Claude (ANTHROPIC_MODEL to pick one)
 *   CHORUS_URL=… CHORUS_API_KEY=… CHORUS_CHANNEL=… pnpm start   your own hub
 */
import { printEvents, readChannel, runExample } from "@chorus-examples/shared";
import { ChorusCallbackHandler } from "@chorus/langchain";
import type { BaseChatModel } from "@langchain/core/language_models/chat_models";
import { awaitAllCallbacks } from "@langchain/core/callbacks/promises";
import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { z } from "zod";

const getWeather = tool(
  async ({ city }) => {
    const forecasts: Record<string, string> = { paris: "sunny, 24°C", oslo: "light rain, 11°C" };
    return forecasts[city.toLowerCase()] ?? "cloudy, 17°C";
  },
  {
    name: "get_weather",
    description: "Current weather for a city.",
    schema: z.object({ city: z.string().describe("City name, e.g. Paris") }),
  },
);

async function chooseModel(): Promise<{ model: BaseChatModel; label: string }> {
  if (process.env.ANTHROPIC_API_KEY) {
    const { ChatAnthropic } = await import("@langchain/anthropic");
    const name = process.env.ANTHROPIC_MODEL || "claude-haiku-4-5";
    return {
      model: // Two retries, as the Anthropic SDK itself makes (LangChain's default of 6 takes minutes to
        // give up on an unreachable API).
        new ChatAnthropic({ model: name, temperature: 0, maxRetries: 2 }),
      label: `Anthropic ${name}`,
    };
  }
  // Offline: the same two turns a real model would take, one tool call and then the answer.
  const model = fakeModel()
    .respondWithTools([{ name: "get_weather", args: { city: "Paris" }, id: "call_weather_1" }])
    .respond(
      new AIMessage({
        content: "It's sunny and 24°C in Paris: a good day for a walk along the Seine.",
        usage_metadata: { input_tokens: 182, output_tokens: 21, total_tokens: 203 },
        response_metadata: { model_name: "fake-model", finish_reason: "stop" },
      }),
    );
  return { model, label: "offline fakeModel (set ANTHROPIC_API_KEY for Claude)" };
}

// Closes the embedded hub whatever happens; a failure is exit 1 with its cause, not a stack trace.
await runExample(
  { channel: "langchain-agent", modelKeys: ["ANTHROPIC_API_KEY"] },
  async (session) => {
    const handler = new ChorusCallbackHandler({ chorus: session.chorus });
    const { model, label } = await chooseModel();
    console.log(`model: ${label}`);

    const agent = createAgent({
      model,
      tools: [getWeather],
      name: "weatherbot",
      systemPrompt:
        "You answer weather questions. Use the get_weather tool, then answer in one sentence.",
    });

    // withTrace gives the run a trace id we can read back; without it the handler starts one itself.
    const trace = await session.chorus.withTrace(async () => {
      const result = await agent.invoke(
        { messages: [{ role: "user", content: "What's the weather in Paris today?" }] },
        { callbacks: [handler], configurable: { thread_id: "example-thread" } },
      );
      console.log(`\nanswer: ${result.messages.at(-1)?.text}`);
      return session.chorus.currentTrace();
    });

    // What a serverless handler does before returning: finish LangChain's callbacks, then deliver.
    await awaitAllCallbacks();
    await session.chorus.flush();

    const events = await readChannel(session.chorus, session.channel, { traceId: trace?.traceId });
    printEvents(events);
  },
);
