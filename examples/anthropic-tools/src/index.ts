import Anthropic from "@anthropic-ai/sdk";
import type {
  MessageParam,
  Tool,
  ToolResultBlockParam,
} from "@anthropic-ai/sdk/resources/messages";
import { type ExampleSession, printEvents, readChannel, runExample } from "@chorus-examples/shared";
import { wrapAnthropic } from "@chorus/anthropic";
import { scriptedFetch } from "./scripted-fetch.js";

/*
 * A tool-use loop with the Anthropic SDK, observed by Chorus: the model asks for a tool, we run
 * it and send the tool_result back, the model answers (streamed). Offline by default (a
 * scripted Messages API behind the SDK's `fetch` option); set ANTHROPIC_API_KEY to use the
 * real API. CHORUS_URL / CHORUS_API_KEY / CHORUS_CHANNEL point it at your hub; without
 * CHORUS_URL a hub is embedded in this process.
 */

const live = Boolean(process.env.ANTHROPIC_API_KEY);
const model = process.env.ANTHROPIC_MODEL ?? "claude-haiku-4-5";

const tools: Tool[] = [
  {
    name: "get_weather",
    description: "Current weather in a city",
    input_schema: {
      type: "object",
      properties: {
        city: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
      },
      required: ["city"],
    },
  },
];

/** Our one tool; a real one would call a weather service. */
function getWeather(input: { city?: string; unit?: string }): string {
  return input.unit === "fahrenheit" ? "72°F and sunny" : "22°C and sunny";
}

async function main(session: ExampleSession): Promise<void> {
  const { chorus, channel } = session;
  const sdk = live ? new Anthropic() : new Anthropic({ apiKey: "offline", fetch: scriptedFetch });
  // One line: every messages.create / messages.stream call of this client is now observed.
  const client = wrapAnthropic(sdk, { chorus, agent: "weather-assistant" });
  console.log(
    live
      ? `Using the Anthropic API (${model}).`
      : "Offline: a scripted Messages API answers (set ANTHROPIC_API_KEY for the real one).",
  );

  // One trace for the whole conversation: each LLM call is a child span of it.
  const traceId = await chorus.withTrace(async () => {
    const messages: MessageParam[] = [
      { role: "user", content: "What's the weather in Lisbon? Should I go for a walk?" },
    ];
    for (let turn = 0; turn < 5; turn++) {
      // Stream every turn: text is printed as it arrives; tool calls come back in the final message.
      const stream = client.messages.stream({ model, max_tokens: 512, tools, messages });
      stream.on("text", (delta) => process.stdout.write(delta));
      const reply = await stream.finalMessage();
      process.stdout.write("\n");
      messages.push({ role: "assistant", content: reply.content });
      if (reply.stop_reason !== "tool_use") break;

      const results: ToolResultBlockParam[] = [];
      for (const block of reply.content) {
        if (block.type !== "tool_use") continue;
        const output = getWeather(block.input as { city?: string; unit?: string });
        console.log(`  → ${block.name}(${JSON.stringify(block.input)}) = ${output}`);
        results.push({ type: "tool_result", tool_use_id: block.id, content: output });
      }
      // Sending the results is what closes each tool call (tool.end) in Chorus.
      messages.push({ role: "user", content: results });
    }
    return chorus.currentTrace()?.traceId;
  });

  await chorus.flush();
  printEvents(await readChannel(chorus, channel, { traceId }));
}

// Closes the embedded hub whatever happens; a failure is exit 1 with its cause, not a hang.
await runExample({ channel: "anthropic-tools", modelKeys: ["ANTHROPIC_API_KEY"] }, main);
