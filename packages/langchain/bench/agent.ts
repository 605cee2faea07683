import { AIMessage } from "@langchain/core/messages";
import { fakeModel } from "@langchain/core/testing";
import { createAgent, tool } from "langchain";
import { z } from "zod";

/*
 * The loop every variant runs: a createAgent with one real tool and a scripted model that asks
 * for the tool, then answers with usage. Ten LangChain runs (seven of them chains), nine Chorus events per iteration.
 */
const getWeather = tool(async ({ city }) => `Sunny and 24°C in ${city}`, {
  name: "get_weather",
  description: "Current weather for a city",
  schema: z.object({ city: z.string() }),
});

export const question = { messages: [{ role: "user", content: "What's the weather in Paris?" }] };

/** An agent scripted for `runs` iterations (fakeModel consumes one response per model call). */
export function scriptedAgent(runs: number) {
  const model = fakeModel();
  for (let i = 0; i < runs; i++) {
    model
      .respondWithTools([{ name: "get_weather", args: { city: "Paris" }, id: `call_${i}` }])
      .respond(
        new AIMessage({
          content: "It is sunny and 24°C in Paris.",
          usage_metadata: { input_tokens: 120, output_tokens: 12, total_tokens: 132 },
        }),
      );
  }
  return createAgent({ model, tools: [getWeather], name: "weatherbot" });
}
