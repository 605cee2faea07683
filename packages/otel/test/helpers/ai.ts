import { generateText, stepCountIs, tool } from "ai";
import { MockLanguageModelV3 } from "ai/test";
import type { Tracer } from "@opentelemetry/api";
import { z } from "zod";

export const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 7, text: 7, reasoning: undefined },
};

/** A model that asks for the weather tool once, then answers. */
export function weatherModel() {
  return new MockLanguageModelV3({
    provider: "mock-provider",
    modelId: "mock-model",
    doGenerate: [
      {
        content: [
          {
            type: "tool-call",
            toolCallId: "call_1",
            toolName: "weather",
            input: '{"city":"Paris"}',
          },
        ],
        finishReason: { unified: "tool-calls", raw: "tool_use" },
        usage,
        warnings: [],
      },
      {
        content: [{ type: "text", text: "It is sunny in Paris." }],
        finishReason: { unified: "stop", raw: "end_turn" },
        usage,
        warnings: [],
      },
    ],
  });
}

export const weather = tool({
  description: "weather in a city",
  inputSchema: z.object({ city: z.string() }),
  execute: async ({ city }) => ({ city, forecast: "sunny" }),
});

/** generateText with tools and a two-step loop, traced by `tracer`. */
export function weatherRun(tracer: Tracer) {
  return generateText({
    model: weatherModel(),
    tools: { weather },
    stopWhen: stepCountIs(3),
    prompt: "Weather in Paris?",
    experimental_telemetry: { isEnabled: true, functionId: "weather-agent", tracer },
  });
}
