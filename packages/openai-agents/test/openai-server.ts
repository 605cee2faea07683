import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local server speaking just enough of the OpenAI API (Responses and Chat Completions, JSON
 * only) for the SDK's real OpenAI models to run against it: each request gets the next scripted
 * body. The models then trace themselves with response and generation spans, as in production.
 */
export interface FakeOpenAI {
  baseURL: string;
  requests: { path: string; body: unknown }[];
  close(): Promise<void>;
}

export async function startFakeOpenAI(script: Record<string, unknown>[]): Promise<FakeOpenAI> {
  const queue = [...script];
  const requests: FakeOpenAI["requests"] = [];
  const server: Server = createServer((req, res) => {
    let raw = "";
    req.on("data", (chunk) => {
      raw += chunk;
    });
    req.on("end", () => {
      requests.push({ path: req.url ?? "", body: raw ? JSON.parse(raw) : undefined });
      const body = queue.shift();
      // An exhausted script answers as OpenAI does when it fails, and says not to retry (the
      // SDK honours `x-should-retry`), so a test of the failure does not wait out the SDK's backoff.
      res.writeHead(body ? 200 : 500, {
        "content-type": "application/json",
        ...(body ? {} : { "x-should-retry": "false" }),
      });
      res.end(
        JSON.stringify(body ?? { error: { message: "script exhausted", type: "server_error" } }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const usage = {
  input_tokens: 50,
  output_tokens: 12,
  total_tokens: 62,
  input_tokens_details: { cached_tokens: 20 },
  output_tokens_details: { reasoning_tokens: 8 },
};

/** Responses API bodies: a tool call, then an answer. */
export function responsesScript(): Record<string, unknown>[] {
  const base = {
    object: "response",
    created_at: 1,
    model: "gpt-test-2025",
    status: "completed",
    usage,
  };
  return [
    {
      ...base,
      id: "resp_1",
      output: [
        {
          type: "function_call",
          id: "fc_1",
          call_id: "call_r1",
          name: "get_weather",
          arguments: '{"city":"Oslo"}',
          status: "completed",
        },
      ],
    },
    {
      ...base,
      id: "resp_2",
      output: [
        {
          type: "message",
          id: "msg_1",
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: "Snow in Oslo.", annotations: [] }],
        },
      ],
    },
  ];
}

/** Chat Completions bodies: a tool call, then an answer. */
export function chatScript(): Record<string, unknown>[] {
  const chatUsage = {
    prompt_tokens: 40,
    completion_tokens: 9,
    total_tokens: 49,
    prompt_tokens_details: { cached_tokens: 16 },
    completion_tokens_details: { reasoning_tokens: 4 },
  };
  const base = { object: "chat.completion", created: 1, model: "gpt-chat-test", usage: chatUsage };
  return [
    {
      ...base,
      id: "chatcmpl_1",
      choices: [
        {
          index: 0,
          finish_reason: "tool_calls",
          message: {
            role: "assistant",
            content: null,
            tool_calls: [
              {
                id: "call_c1",
                type: "function",
                function: { name: "get_weather", arguments: '{"city":"Rome"}' },
              },
            ],
          },
        },
      ],
    },
    {
      ...base,
      id: "chatcmpl_2",
      choices: [
        {
          index: 0,
          finish_reason: "stop",
          message: { role: "assistant", content: "Sun in Rome." },
        },
      ],
    },
  ];
}
