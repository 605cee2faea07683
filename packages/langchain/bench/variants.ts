import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import { Chorus } from "@chorus/core";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { CallbackHandler as LangfuseHandler } from "@langfuse/langchain";
import { setLangfuseTracerProvider } from "@langfuse/tracing";
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { NodeTracerProvider } from "@opentelemetry/sdk-trace-node";
import { createServer } from "node:net";
import { ChorusCallbackHandler } from "../src/index.js";

/** One way of running the loop: the callbacks it passes, and what it switches on and off around a batch. */
export interface Variant {
  name: string;
  callbacks: BaseCallbackHandler[];
  before?(): void;
  after?(): void;
  /** Spans or events the variant produced (to check it really did work), reset per batch. */
  produced(): number;
  close(): Promise<void>;
}

export function bare(): Variant {
  return {
    name: "bare loop (no instrumentation)",
    callbacks: [],
    produced: () => 0,
    close: async () => {},
  };
}

/**
 * A handler that does nothing: what LangChain itself spends once any handler is attached
 * (serializing each runnable for its start callback, child callback managers, awaiting each
 * callback). No instrumentation can go below this floor.
 */
export function emptyHandler(): Variant {
  class Empty extends BaseCallbackHandler {
    name = "empty";
    override awaitHandlers = true;
    override handleChainStart(): void {}
  }
  return {
    name: "empty BaseCallbackHandler (LangChain's own floor)",
    callbacks: [new Empty()],
    produced: () => 0,
    close: async () => {},
  };
}

/**
 * Chorus with an in-process sink: `fetch` answers 202 at once, so the whole client path runs
 * (capture, validation, serialization, queue, batching, the HTTP request body) minus the socket:
 * the counterpart of an in-memory span exporter.
 */
export function chorusSink(): Variant {
  const chorus = new Chorus({
    url: "http://sink.invalid",
    apiKey: "bench",
    logger: false,
    drainOnExit: false,
    fetch: async () => new Response('{"accepted":0,"duplicates":0,"ids":[]}', { status: 202 }),
  });
  const handler = new ChorusCallbackHandler({ chorus, channel: "bench", logger: false });
  let last = 0;
  return {
    name: "Chorus ChorusCallbackHandler (in-process sink)",
    callbacks: [handler],
    produced: () => {
      const s = chorus.stats();
      const n = s.sent + s.queued - last;
      last = s.sent + s.queued;
      return n;
    },
    close: () => chorus.close(1_000),
  };
}

/** Chorus with the hub down (a closed port): events queue (bounded), the circuit opens. */
export async function chorusHubDown(): Promise<Variant> {
  const chorus = new Chorus({
    url: await closedPortUrl(),
    apiKey: "bench",
    logger: false,
    drainOnExit: false,
  });
  const handler = new ChorusCallbackHandler({ chorus, channel: "bench", logger: false });
  let last = 0;
  return {
    name: "Chorus ChorusCallbackHandler (hub down)",
    callbacks: [handler],
    produced: () => {
      const s = chorus.stats();
      const total = s.queued + s.dropped;
      const n = total - last;
      last = total;
      return n;
    },
    close: () => chorus.close(10),
  };
}

/** Langfuse's LangChain handler, its spans exported to memory through an isolated provider. */
export function langfuse(): Variant {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  setLangfuseTracerProvider(provider);
  return {
    name: "Langfuse @langfuse/langchain CallbackHandler",
    callbacks: [new LangfuseHandler() as unknown as BaseCallbackHandler],
    produced: () => {
      const n = exporter.getFinishedSpans().length;
      exporter.reset();
      return n;
    },
    close: () => provider.shutdown(),
  };
}

/** OpenInference's instrumentation (patches CallbackManager), spans exported to memory. */
export function openInference(): Variant {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const instrumentation = new LangChainInstrumentation({ tracerProvider: provider });
  // Patched only around its own batches, so the other variants run unpatched.
  const unpatch = () =>
    (instrumentation as unknown as { unpatch(m: unknown): void }).unpatch(CallbackManagerModule);
  unpatch();
  return {
    name: "OpenInference LangChainInstrumentation",
    callbacks: [],
    before: () => instrumentation.manuallyInstrument(CallbackManagerModule),
    after: unpatch,
    produced: () => {
      const n = exporter.getFinishedSpans().length;
      exporter.reset();
      return n;
    },
    close: () => provider.shutdown(),
  };
}

async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
