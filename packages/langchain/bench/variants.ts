import { LangChainInstrumentation } from "@arizeai/openinference-instrumentation-langchain";
import { Chorus } from "@chorus/core";
import { BaseCallbackHandler } from "@langchain/core/callbacks/base";
import * as CallbackManagerModule from "@langchain/core/callbacks/manager";
import { CallbackHandler as LangfuseHandler } from "@langfuse/langchain";
import { setLangfuseTracerProvider } from "@langfuse/tracing";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-proto";
import { BatchSpanProcessor, type SpanExporter } from "@opentelemetry/sdk-trace-base";
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
  /** Deliver what the batch produced (inside the measured window: delivery is billed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

const nothing = async () => {};

export function bare(): Variant {
  return {
    name: "bare loop (no instrumentation)",
    callbacks: [],
    produced: () => 0,
    flush: nothing,
    close: nothing,
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
    flush: nothing,
    close: nothing,
  };
}

/**
 * Chorus delivering to a receiver in another process (`scripts/bench-receiver.mjs`), with the
 * client's defaults: the whole client path, socket included, is billed to this process.
 */
export function chorusDelivering(receiverUrl: string): Variant {
  const chorus = new Chorus({
    url: receiverUrl,
    apiKey: "bench",
    logger: false,
    drainOnExit: false,
  });
  const handler = new ChorusCallbackHandler({ chorus, channel: "bench", logger: false });
  let last = 0;
  return {
    name: "Chorus ChorusCallbackHandler (delivering)",
    callbacks: [handler],
    produced: () => {
      const s = chorus.stats();
      const n = s.sent + s.queued - last;
      last = s.sent + s.queued;
      return n;
    },
    flush: async () => void (await chorus.flush(30_000)),
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
    flush: nothing, // nothing can be delivered; background retries run as they would
    close: () => chorus.close(10),
  };
}

/**
 * An OTel pipeline as these tools ship it: a BatchSpanProcessor (SDK defaults) with the
 * OTLP/HTTP protobuf exporter, sending to the receiver in another process. Counts spans exported.
 */
function otlpPipeline(receiverUrl: string) {
  const inner = new OTLPTraceExporter({ url: `${receiverUrl}/v1/traces` });
  let exported = 0;
  const counting: SpanExporter = {
    export: (spans, done) => {
      exported += spans.length;
      inner.export(spans, done);
    },
    shutdown: () => inner.shutdown(),
    forceFlush: () => inner.forceFlush(),
  };
  const provider = new NodeTracerProvider({
    spanProcessors: [new BatchSpanProcessor(counting)],
  });
  let last = 0;
  return {
    provider,
    produced: () => {
      const n = exported - last;
      last = exported;
      return n;
    },
  };
}

/** Langfuse's LangChain handler, its spans exported over OTLP/HTTP through an isolated provider. */
export function langfuse(receiverUrl: string): Variant {
  const { provider, produced } = otlpPipeline(receiverUrl);
  setLangfuseTracerProvider(provider);
  return {
    name: "Langfuse @langfuse/langchain CallbackHandler",
    callbacks: [new LangfuseHandler() as unknown as BaseCallbackHandler],
    produced,
    flush: () => provider.forceFlush(),
    close: () => provider.shutdown(),
  };
}

/** OpenInference's instrumentation (patches CallbackManager), spans exported over OTLP/HTTP. */
export function openInference(receiverUrl: string): Variant {
  const { provider, produced } = otlpPipeline(receiverUrl);
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
    produced,
    flush: () => provider.forceFlush(),
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
