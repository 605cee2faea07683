import { OpenAIInstrumentation } from "@arizeai/openinference-instrumentation-openai";
import { type ExampleSession, printEvents, readChannel, runExample } from "@chorus-examples/shared";
import { ChorusSpanProcessor } from "@chorus/otel";
import { context, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { BasicTracerProvider } from "@opentelemetry/sdk-trace-base";
import OpenAI from "openai";
import type {
  ChatCompletionMessageParam,
  ChatCompletionTool,
} from "openai/resources/chat/completions";
import { scriptedFetch } from "./scripted-fetch.js";

/*
 * A framework Chorus has no adapter for, through the OpenTelemetry path: the plain `openai` SDK,
 * instrumented by OpenInference (`@arizeai/openinference-instrumentation-openai`, what Arize
 * Phoenix users install), its spans turned into Chorus events by `ChorusSpanProcessor`. No Chorus
 * code touches the model calls. Offline by default (a scripted Chat Completions API behind the
 * SDK's `fetch` option); set OPENAI_API_KEY to use the real API. CHORUS_URL / CHORUS_API_KEY /
 * CHORUS_CHANNEL point it at your hub; without CHORUS_URL a hub is embedded in this process.
 */

const live = Boolean(process.env.OPENAI_API_KEY);
const model = process.env.OPENAI_MODEL ?? "gpt-4.1-mini";

const tools: ChatCompletionTool[] = [
  {
    type: "function",
    function: {
      name: "get_weather",
      description: "Current weather in a city",
      parameters: {
        type: "object",
        properties: {
          city: { type: "string" },
          unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        },
        required: ["city"],
      },
    },
  },
];

/** Our one tool; a real one would call a weather service. */
function getWeather(input: { city?: string; unit?: string }): string {
  return input.unit === "fahrenheit" ? "72°F and sunny" : "22°C and sunny";
}

async function main(session: ExampleSession): Promise<void> {
  const { chorus, channel } = session;

  // OpenTelemetry as any app sets it up, with Chorus's processor among the span processors.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  const provider = new BasicTracerProvider({
    spanProcessors: [new ChorusSpanProcessor({ chorus, channel })],
  });
  trace.setGlobalTracerProvider(provider);
  // OpenInference's instrumentation of the openai SDK (manual: this is an ES module).
  new OpenAIInstrumentation({ tracerProvider: provider }).manuallyInstrument(OpenAI);
  const tracer = provider.getTracer("openai-otel-example");

  const client = live ? new OpenAI() : new OpenAI({ apiKey: "offline", fetch: scriptedFetch });
  console.log(
    live
      ? `Using the OpenAI API (${model}).`
      : "Offline: a scripted Chat Completions API answers (set OPENAI_API_KEY for the real one).",
  );

  // The run and the tool call are spans of our own, in OpenInference's terms (AGENT, TOOL);
  // each model call inside is the instrumentation's LLM span, a child of the run.
  const traceId = await tracer.startActiveSpan(
    "weather-assistant",
    { attributes: { "openinference.span.kind": "AGENT", "agent.name": "weather-assistant" } },
    async (run) => {
      const messages: ChatCompletionMessageParam[] = [
        { role: "user", content: "What's the weather in Lisbon? Should I go for a walk?" },
      ];
      run.setAttribute("input.value", String(messages[0]?.content));
      for (let turn = 0; turn < 5; turn++) {
        const reply = await client.chat.completions.create({ model, messages, tools });
        const message = reply.choices[0]?.message;
        if (!message) break;
        messages.push(message);
        if (message.content) console.log(message.content);
        if (!message.tool_calls?.length) {
          run.setAttribute("output.value", message.content ?? "");
          break;
        }
        for (const call of message.tool_calls) {
          if (call.type !== "function") continue;
          const output = tracer.startActiveSpan(
            call.function.name,
            {
              attributes: {
                "openinference.span.kind": "TOOL",
                "tool.name": call.function.name,
                "tool_call.id": call.id,
                "input.value": call.function.arguments,
              },
            },
            (span) => {
              const result = getWeather(JSON.parse(call.function.arguments));
              span.setAttribute("output.value", result);
              span.end();
              return result;
            },
          );
          console.log(`  → ${call.function.name}(${call.function.arguments}) = ${output}`);
          messages.push({ role: "tool", tool_call_id: call.id, content: output });
        }
      }
      run.end();
      return run.spanContext().traceId;
    },
  );

  await provider.forceFlush();
  printEvents(await readChannel(chorus, channel, { traceId }));
  await provider.shutdown();
}

// Closes the embedded hub whatever happens; a failure is exit 1 with its cause, not a hang.
await runExample({ channel: "openai-otel", modelKeys: ["OPENAI_API_KEY"] }, main);
