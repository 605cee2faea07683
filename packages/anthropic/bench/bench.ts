import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import type { MessageParam } from "@anthropic-ai/sdk/resources/messages";
import { Chorus, type EmitEvent } from "@chorus/core";
import { Anthropic as PostHogAnthropic } from "@posthog/ai/anthropic";
import { PostHog } from "posthog-node";
import { startReceiver } from "../../../scripts/bench-receiver-client.js";
import { wrapAnthropic } from "../src/index.js";
import { type MessageBody, message, sseEvents, text, toolUse } from "../test/helpers/messages.js";

/*
 * What wrapAnthropic adds to a call, measured beside the same call without it, in this one
 * process and run (so the ratio is the figure to compare across machines).
 *
 * The SDK talks to an in-process `fetch` that answers with canned Messages API responses: no
 * socket, no server, so the SDK's own work (building the request, parsing JSON, decoding SSE)
 * is the whole baseline and our overhead is not hidden behind network noise. Each call yields
 * one event-loop turn, as a real call's I/O would. Columns:
 *   - baseline: the unwrapped SDK client;
 *   - adapter: wrapped, events handed to a no-op sink (the adapter's own cost);
 *   - adapter + client: wrapped, events handed to a real Chorus client delivering to a receiver
 *     in another process (`scripts/bench-receiver.mjs`), delivery inside the window;
 *   - PostHog: `@posthog/ai`'s Anthropic wrapper with a `posthog-node` client delivering to
 *     the same receiver, delivery (`flush()`) inside the window: the peer to beat.
 * Rounds interleave the variants (rotating who goes first); no GC is forced; figures are
 * `median [min–max]` over rounds of the per-round ratio to the baseline, as CPU per call.
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
  /** Deliver what the window produced. */
  flush(): Promise<void>;
}

interface Sinks {
  chorus: Chorus;
  posthog: PostHog;
}

function variants(
  fetch: () => Fetch,
  sinks: Sinks,
  options: { baseURL: string } | undefined,
): Variant[] {
  const config = {
    apiKey: "bench",
    maxRetries: 0,
    ...(options ?? { baseURL: "http://bench.invalid", fetch: fetch() }),
  };
  const noop = { emit: (_e: EmitEvent) => undefined } as unknown as Chorus;
  const nothing = async () => {};
  return [
    { name: "baseline", client: new Anthropic(config), flush: nothing },
    {
      name: "adapter",
      client: wrapAnthropic(new Anthropic(config), { chorus: noop }),
      flush: nothing,
    },
    {
      name: "adapter + client",
      client: wrapAnthropic(new Anthropic(config), { chorus: sinks.chorus }),
      flush: async () => void (await sinks.chorus.flush(10_000)),
    },
    {
      name: "PostHog",
      client: new PostHogAnthropic({ ...config, posthog: sinks.posthog }) as unknown as Anthropic,
      flush: () => sinks.posthog.flush(),
    },
  ];
}

/**
 * CPU time of this process per call, in µs. CPU rather than wall time: on a shared machine wall
 * time mostly measures the other tenants, while our CPU time is what the adapter costs (it
 * includes the Chorus client's background flushing, which is part of that cost).
 */
async function timeCalls(
  variant: Variant,
  run: () => Promise<unknown>,
  calls: number,
): Promise<number> {
  await variant.flush(); // what an earlier window left is not this one's
  const started = process.cpuUsage();
  for (let i = 0; i < calls; i++) {
    await run();
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  await variant.flush();
  const used = process.cpuUsage(started);
  return (used.user + used.system) / calls;
}

async function measure(
  scenario: Scenario,
  list: Variant[],
  rounds: number,
  calls: number,
): Promise<number[][]> {
  for (const v of list) await timeCalls(v, () => scenario.run(v.client), Math.max(20, calls / 2)); // warm-up
  const samples: number[][] = list.map(() => []);
  for (let r = 0; r < rounds; r++) {
    // Rotate the order so no variant always runs first (or right after a GC-heavy one).
    for (let k = 0; k < list.length; k++) {
      const index = (r + k) % list.length;
      const v = list[index]!;
      samples[index]!.push(await timeCalls(v, () => scenario.run(v.client), calls));
    }
  }
  return samples;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

const fmt = (n: number, digits = 1) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

const spread = (values: number[], digits = 2) =>
  `${fmt(median(values), digits)} [${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)}]`;

/** Per variant: CPU µs per call of the baseline, then each variant's per-round ratio to it. */
function printTable(title: string, rows: { name: string; us: number[][] }[]): void {
  console.log(`\n${title}\n`);
  console.log(
    "| call | baseline CPU µs | adapter ÷ baseline | adapter + client ÷ baseline | PostHog ÷ baseline | Chorus ÷ PostHog |",
  );
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const { name, us } of rows) {
    const [base, adapter, full, posthog] = us as [number[], number[], number[], number[]];
    const ratio = (v: number[], to: number[]) => v.map((x, r) => x / (to[r] as number));
    console.log(
      `| ${name} | ${spread(base, 1)} | ${spread(ratio(adapter, base))} | ${spread(ratio(full, base))} | ${spread(ratio(posthog, base))} | ${spread(ratio(full, posthog))} |`,
    );
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
  const receiver = await startReceiver();
  const chorus = new Chorus({
    url: receiver.url,
    apiKey: "bench",
    logger: false,
    drainOnExit: false,
  });
  const posthog = new PostHog("phc_bench", { host: receiver.url });
  const sinks = { chorus, posthog };

  const rows: { name: string; us: number[][] }[] = [];
  for (const scenario of scenarios) {
    rows.push({
      name: scenario.name,
      us: await measure(scenario, variants(scenario.fetch, sinks, undefined), ROUNDS, CALLS),
    });
  }
  printTable(
    `In-process fetch (canned responses): ${ROUNDS} rounds × ${CALLS} calls, median [min–max] over rounds, Node ${process.version}`,
    rows,
  );

  const server = await localServer();
  const socketRows: { name: string; us: number[][] }[] = [];
  for (const scenario of scenarios.slice(0, 3)) {
    const list = variants(scenario.fetch, sinks, { baseURL: server.url });
    socketRows.push({
      name: scenario.name,
      us: await measure(scenario, list, Math.ceil(ROUNDS / 3), Math.ceil(CALLS / 2)),
    });
  }
  printTable(
    `Local HTTP server on 127.0.0.1: ${Math.ceil(ROUNDS / 3)} rounds × ${Math.ceil(CALLS / 2)} calls, median [min–max] over rounds`,
    socketRows,
  );
  await server.close();
  await chorus.close(1000);
  await posthog.shutdown();
  receiver.stop();
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
