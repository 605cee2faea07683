import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import type { MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { Chorus, type EmitEvent } from "@chorus/core";
import { wrapAnthropic } from "../src/index.js";
import { type MessageBody, message, sseEvents, text, toolUse } from "../test/helpers/messages.js";

/*
 * What wrapAnthropic adds to a call, measured beside the same call without it, in this one
 * process and run (so the ratio is the figure to compare across machines).
 *
 * The SDK talks to an in-process `fetch` that answers with canned Messages API responses: no
 * socket, no server, so the SDK's own work (building the request, parsing JSON, decoding SSE)
 * is the whole baseline and our overhead is not hidden behind network noise. Columns:
 *   - baseline: the unwrapped SDK client;
 *   - adapter: wrapped, events handed to a no-op sink (the adapter's own cost);
 *   - adapter + client: wrapped, events handed to a real Chorus client (stamping, capture,
 *     validation, serialization, queueing; its flusher posts to an in-process fetch).
 * Rounds interleave the variants; the median round is reported, as CPU µs per call.
 */

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 15);
const CALLS = Number(process.env.BENCH_CALLS ?? 200);

type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

function jsonFetch(bodies: MessageBody[]): Fetch {
  const texts = bodies.map((b) => JSON.stringify(b));
  let i = 0;
  return async () =>
    new Response(texts[i++ % texts.length], {
      status: 200,
      headers: { "content-type": "application/json", "request-id": "req_bench" },
    });
}

function sseFetch(body: MessageBody): Fetch {
  const frames = sseEvents(body)
    .map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
    .join("");
  return async () =>
    new Response(frames, {
      status: 200,
      headers: { "content-type": "text/event-stream", "request-id": "req_bench" },
    });
}

const ask = {
  model: "claude-test-1",
  max_tokens: 256,
  messages: [{ role: "user" as const, content: "Hello" }],
};
const tools = [{ name: "get_weather", input_schema: { type: "object" as const } }];
const answer = message([text("The quick brown fox jumps over the lazy dog. ".repeat(4))]);
const toolCall = message([
  text("Checking."),
  toolUse("toolu_bench", "get_weather", { city: "Paris" }),
]);

interface Scenario {
  name: string;
  fetch: () => Fetch;
  run: (client: Anthropic) => Promise<unknown>;
}

const scenarios: Scenario[] = [
  { name: "messages.create", fetch: () => jsonFetch([answer]), run: (c) => c.messages.create(ask) },
  {
    name: "messages.create({ stream: true }), read to the end",
    fetch: () => sseFetch(answer),
    run: async (c) => {
      for await (const _ of await c.messages.create({ ...ask, stream: true })) {
        // read every event
      }
    },
  },
  {
    name: "messages.stream().finalMessage()",
    fetch: () => sseFetch(answer),
    run: (c) => c.messages.stream(ask).finalMessage(),
  },
  {
    name: "tool loop: tool_use, then tool_result → answer",
    fetch: () => jsonFetch([toolCall, answer]),
    run: async (c) => {
      const first = await c.messages.create({ ...ask, tools });
      const history: MessageParam[] = [
        ...ask.messages,
        { role: "assistant", content: first.content },
        {
          role: "user",
          content: [{ type: "tool_result", tool_use_id: "toolu_bench", content: "18°C" }],
        },
      ];
      return c.messages.create({ ...ask, tools, messages: history });
    },
  },
];

interface Variant {
  name: string;
  client: Anthropic;
}

function variants(
  fetch: () => Fetch,
  chorus: Chorus,
  options: { baseURL: string } | undefined,
): Variant[] {
  const make = () =>
    new Anthropic({
      apiKey: "bench",
      maxRetries: 0,
      ...(options ?? { baseURL: "http://bench.invalid", fetch: fetch() }),
    });
  const noop = { emit: (_e: EmitEvent) => undefined } as unknown as Chorus;
  return [
    { name: "baseline", client: make() },
    { name: "adapter", client: wrapAnthropic(make(), { chorus: noop }) },
    { name: "adapter + client", client: wrapAnthropic(make(), { chorus }) },
  ];
}

/**
 * CPU time of this process per call, in µs. CPU rather than wall time: on a shared machine wall
 * time mostly measures the other tenants, while our CPU time is what the adapter costs (it
 * includes the Chorus client's background flushing, which is part of that cost).
 */
async function timeCalls(run: () => Promise<unknown>, calls: number): Promise<number> {
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) await run();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

async function measure(
  scenario: Scenario,
  list: Variant[],
  rounds: number,
  calls: number,
): Promise<number[]> {
  for (const v of list) await timeCalls(() => scenario.run(v.client), Math.max(20, calls / 2)); // warm-up
  const samples: number[][] = list.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no variant always runs first (or right after a GC-heavy one).
    for (let k = 0; k < list.length; k++) {
      const index = (r + k) % list.length;
      samples[index]!.push(await timeCalls(() => scenario.run(list[index]!.client), calls));
    }
  }
  return samples.map((s) => median(s));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

function printTable(title: string, rows: { name: string; us: number[] }[]): void {
  console.log(`\n${title}\n`);
  console.log("| call | baseline CPU µs | adapter (ratio, +µs) | adapter + client (ratio, +µs) |");
  console.log("|---|---:|---:|---:|");
  for (const { name, us } of rows) {
    const [base, adapter, full] = us as [number, number, number];
    const cell = (v: number) => `${fmt(v)} (${fmt(v / base, 2)}×, +${fmt(v - base)})`;
    console.log(`| ${name} | ${fmt(base)} | ${cell(adapter)} | ${cell(full)} |`);
  }
}

/** A local HTTP server with the same canned answers, for the cost beside a real socket. */
async function localServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const sse = sseEvents(answer)
    .map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`)
    .join("");
  const json = JSON.stringify(answer);
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const streaming = Buffer.concat(chunks).includes('"stream":true');
      res.writeHead(200, { "content-type": streaming ? "text/event-stream" : "application/json" });
      res.end(streaming ? sse : json);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const hubFetch = async () =>
    new Response('{"accepted":0,"duplicates":0,"ids":[]}', { status: 202 });
  const chorus = new Chorus({
    url: "http://hub.invalid",
    apiKey: "bench",
    logger: false,
    fetch: hubFetch,
  });

  const rows: { name: string; us: number[] }[] = [];
  for (const scenario of scenarios) {
    rows.push({
      name: scenario.name,
      us: await measure(scenario, variants(scenario.fetch, chorus, undefined), ROUNDS, CALLS),
    });
  }
  printTable(
    `In-process fetch (canned responses): median of ${ROUNDS} rounds × ${CALLS} calls, Node ${process.version}`,
    rows,
  );

  const server = await localServer();
  const socketRows: { name: string; us: number[] }[] = [];
  for (const scenario of scenarios.slice(0, 3)) {
    const list = variants(scenario.fetch, chorus, { baseURL: server.url });
    socketRows.push({
      name: scenario.name,
      us: await measure(scenario, list, Math.ceil(ROUNDS / 3), Math.ceil(CALLS / 2)),
    });
  }
  printTable(
    `Local HTTP server on 127.0.0.1: median of ${Math.ceil(ROUNDS / 3)} rounds × ${Math.ceil(CALLS / 2)} calls`,
    socketRows,
  );
  await server.close();
  await chorus.close(1000);
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
