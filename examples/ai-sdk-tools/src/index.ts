import { createOpenAI } from "@ai-sdk/openai";
import { type ExampleSession, printEvents, readChannel, runExample } from "@chorus-examples/shared";
import { chorusMiddleware } from "@chorus/ai-sdk";
import { stepCountIs, streamText, tool, wrapLanguageModel } from "ai";
import { z } from "zod";
import { scriptedFetch } from "./scripted-fetch.js";

/*
 * A Vercel AI SDK tool loop (`streamText` with a tool and `stopWhen`), observed by Chorus
 * through `wrapLanguageModel` middleware: every step's model call, the tool call between them and
 * its result, usage and time to first token. Offline by default (a scripted Chat Completions API
 * behind the OpenAI provider's `fetch`); set OPENAI_API_KEY to use the real API.
 * CHORUS_URL / CHORUS_API_KEY / CHORUS_CHANNEL point it at your hub; without CHORUS_URL a hub is
 * embedded in this process.
 */

const live = Boolean(process.env.OPENAI_API_KEY);
const modelName = process.env.OPENAI_MODEL ?? "gpt-4.1-mini";

const weather = tool({
  description: "Current weather in a city",
  inputSchema: z.object({ city: z.string() }),
  // A real tool would call a weather service.
  execute: async ({ city }) => ({ city, summary: "22°C and sunny" }),
});

async function main(session: ExampleSession): Promise<void> {
  const { chorus, channel } = session;
  const openai = live ? createOpenAI() : createOpenAI({ apiKey: "offline", fetch: scriptedFetch });
  // One line: every call of this model, in any generateText / streamText / generateObject, is observed.
  const model = wrapLanguageModel({
    model: openai.chat(modelName),
    middleware: chorusMiddleware({ chorus, agent: "weather-assistant" }),
  });
  console.log(
    live
      ? `Using the OpenAI API (${modelName}).`
      : "Offline: a scripted Chat Completions API answers (set OPENAI_API_KEY for the real one).",
  );

  // streamText reports a failed call here (by default it prints the whole error object) and the
  // text stream just ends: keep the error, and fail the run with it below.
  let failure: unknown;
  const result = streamText({
    model,
    onError: ({ error }) => {
      failure ??= error;
    },
    tools: { weather },
    stopWhen: stepCountIs(4),
    prompt: "What's the weather in Lisbon? Should I go for a walk?",
    onStepFinish: (step) => {
      for (const call of step.toolResults) {
        console.log(
          `  → ${call.toolName}(${JSON.stringify(call.input)}) = ${JSON.stringify(call.output)}`,
        );
      }
    },
  });
  for await (const delta of result.textStream) process.stdout.write(delta);
  process.stdout.write("\n");
  if (failure !== undefined) throw failure;

  // The steps of one loop share a trace: the tool call's id links each step to the next.
  const [first] = (await result.steps)[0]?.toolCalls ?? [];
  await chorus.flush();
  const events = await readChannel(chorus, channel);
  const traceId = events.find(
    (e) => e.type === "tool.start" && e.payload.callId === first?.toolCallId,
  )?.traceId;
  printEvents(events.filter((e) => e.traceId === traceId));
}

// Closes the embedded hub whatever happens; a failure is exit 1 with its cause, not a hang.
await runExample({ channel: "ai-sdk-tools", modelKeys: ["OPENAI_API_KEY"] }, main);
