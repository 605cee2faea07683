import { TraceIdPool } from "@chorus/core";
import { createSafely, type SpanRef, SpanRecorder } from "@chorus/core/adapter-kit";
import type { LanguageModelMiddleware } from "ai";
import { LlmCall } from "./call.js";
import { type ChorusMiddlewareOptions, resolveOptions } from "./options.js";
import { MAX_PENDING_TOOLS, ToolCalls } from "./pending-tools.js";

/**
 * AI SDK middleware that reports every model call to Chorus: `llm.start`, then `llm.end` (usage,
 * finish reason, latency, time to first token when streaming, with `agent.message` for the
 * answer's text and a `tool.start` per tool call) or `llm.error`; a tool's `tool.end` or
 * `tool.error` when the next step of the loop hands its result back to the model.
 *
 * What the SDK returns is untouched: the same result object from `doGenerate`, and from
 * `doStream` a stream of the same parts, errors and cancellation. Nothing here can throw into
 * the call or delay it: every step runs under the adapter's guard and `emit()` only queues.
 *
 * @example
 * import { wrapLanguageModel, generateText } from "ai";
 * const model = wrapLanguageModel({ model: openai("gpt-4.1"), middleware: chorusMiddleware() });
 * await generateText({ model, prompt: "…" });
 */
export function chorusMiddleware(options: ChorusMiddlewareOptions = {}): LanguageModelMiddleware {
  const resolved = resolveOptions(options);
  const safely = createSafely({
    name: "@chorus/ai-sdk",
    onError: resolved.onError,
    logger: resolved.logger,
  });
  const ctx = {
    recorder: new SpanRecorder({
      framework: "ai-sdk",
      sink: resolved.sink,
      channel: resolved.channel,
      agent: resolved.agent,
      safely,
    }),
    tools: new ToolCalls(MAX_PENDING_TOOLS),
    attempts: new WeakMap<object, SpanRef>(),
    capture: resolved.capture,
    emitTokens: resolved.emitTokens,
    ids: new TraceIdPool(),
  };
  const start = (params: unknown, model: unknown, method: "generate" | "stream") =>
    safely("llm.start", () => {
      const call = new LlmCall(ctx, params, model, method);
      call.begin(params, model);
      return call;
    });

  return {
    specificationVersion: "v3",
    async wrapGenerate({ doGenerate, params, model }) {
      const call = start(params, model, "generate");
      let result: Awaited<ReturnType<typeof doGenerate>>;
      try {
        result = await doGenerate();
      } catch (error) {
        if (call !== undefined) safely("llm.error", () => call.failed(error));
        throw error;
      }
      if (call !== undefined) safely("llm.end", () => call.generated(result));
      return result;
    },
    async wrapStream({ doStream, params, model }) {
      const call = start(params, model, "stream");
      let result: Awaited<ReturnType<typeof doStream>>;
      try {
        result = await doStream();
      } catch (error) {
        if (call !== undefined) safely("llm.error", () => call.failed(error));
        throw error;
      }
      if (call === undefined) return result;
      const stream = safely("llm.stream", () => call.observe(result.stream));
      return stream === undefined ? result : { ...result, stream };
    },
  };
}
