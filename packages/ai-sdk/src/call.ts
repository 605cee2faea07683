import { currentTrace, EventTypes, type LlmErrorPayload, type TraceIdPool } from "@chorus/core";
import {
  type AnswerSummary,
  type Capture,
  errorInfo,
  errorMetadata,
  llmStartPayload,
  modelId,
  promptToolResults,
  providerName,
  resultMessage,
  summarizeAnswer,
  type ToolResult,
  toTokenUsage,
} from "./mapping.js";
import type { ToolCalls } from "./pending-tools.js";
import { type SpanRecorder as Recorder, type SpanRef, spanUnder } from "@chorus/core/adapter-kit";
import { PromptDigests } from "./conversation.js";
import { StreamAssembler } from "./stream-assembler.js";
import { isObj, str } from "./values.js";

/** What every call through one middleware shares. */
export interface CallContext {
  recorder: Recorder;
  /** Tool calls whose results have not come back yet, and the steps that asked answered ones. */
  tools: ToolCalls;
  /**
   * The first call made with each prompt. The SDK builds one prompt array per step and hands that
   * same array to every attempt of it (`maxRetries`), so a call with a prompt seen before is a
   * retry: it stays in the first attempt's trace and closes no tool call again.
   */
  attempts: WeakMap<object, SpanRef>;
  capture: Capture;
  emitTokens: boolean;
  ids: TraceIdPool;
}

/**
 * One model call (`doGenerate` or `doStream`; the SDK makes one per step of a tool loop and per
 * retry), from request to the end of its answer: `llm.start` when it is made, then `llm.end`
 * (with `agent.message` and a `tool.start` per tool call) or `llm.error`, exactly once.
 *
 * Where it hangs: inside a trace (`withTrace`, an intent handler) a child of that span. Outside
 * one, a call whose prompt carries the results of tool calls this middleware saw is the next
 * step of that loop: same trace, same parent as the step that asked (which call a result answers:
 * `ToolCalls`); another attempt of a step, the first attempt's trace and parent. Anything else
 * starts a trace. So one `generateText` with tools is one trace, with or without a `withTrace` around it.
 */
export class LlmCall {
  readonly span: SpanRef;
  readonly #ctx: CallContext;
  readonly #startedAt = performance.now();
  readonly #model: string | undefined;
  readonly #provider: string | undefined;
  readonly #metadata: Record<string, unknown>;
  readonly #params: unknown;
  /** The first attempt of this step, when this call is a retry of it. */
  readonly #retryOf: SpanRef | undefined;
  #digests: PromptDigests | undefined;
  #ended = false;
  #firstTokenMs: number | undefined;
  #tokens = 0;

  constructor(ctx: CallContext, params: unknown, model: unknown, method: "generate" | "stream") {
    this.#ctx = ctx;
    this.#params = params;
    const prompt = isObj(params) && Array.isArray(params.prompt) ? params.prompt : undefined;
    this.#retryOf = prompt === undefined ? undefined : ctx.attempts.get(prompt);
    this.span = this.#spanFor(params);
    if (prompt !== undefined && this.#retryOf === undefined) ctx.attempts.set(prompt, this.span);
    this.#model = modelId(model);
    this.#provider = providerName(model);
    this.#metadata = { method };
    const provider = isObj(model) ? str(model.provider) : undefined;
    if (provider !== undefined) this.#metadata.modelProvider = provider;
  }

  /** Close the tool calls whose results this prompt carries, then announce the call. */
  begin(params: unknown, model: unknown): void {
    const { recorder } = this.#ctx;
    if (this.#retryOf === undefined) {
      recorder.safely(EventTypes.ToolEnd, () =>
        this.#endTools(promptToolResults(params, this.#promptDigests())),
      );
    }
    recorder.emit(
      EventTypes.LlmStart,
      this.span,
      llmStartPayload(params, model, this.#ctx.capture),
      this.#metadata,
    );
  }

  /** A `doGenerate` result. */
  generated(result: unknown): void {
    const r = isObj(result) ? result : {};
    const content = Array.isArray(r.content) ? r.content : [];
    const summary = summarizeAnswer(content, r.finishReason, r.usage, this.#ctx.capture);
    this.#finish(summary, isObj(r.response) ? r.response : {});
  }

  failed(error: unknown, usage?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const payload: LlmErrorPayload = { error: errorInfo(error), latencyMs: this.#elapsed() };
    if (this.#model !== undefined) payload.model = this.#model;
    if (this.#provider !== undefined) payload.provider = this.#provider;
    const tokens = toTokenUsage(usage);
    if (tokens !== undefined) payload.usage = tokens;
    this.#ctx.recorder.emit(EventTypes.LlmError, this.span, payload, {
      ...this.#metadata,
      ...errorMetadata(error),
    });
  }

  /**
   * The stream the SDK reads, observed on its way through: every part, error and cancellation
   * passes unchanged (the same objects, in order, pulled only as the reader pulls).
   */
  observe<T>(source: ReadableStream<T>): ReadableStream<T> {
    const { recorder, capture, emitTokens } = this.#ctx;
    const assembler = new StreamAssembler();
    const reader = source.getReader();
    return new ReadableStream<T>(
      {
        pull: async (controller) => {
          let next: Awaited<ReturnType<typeof reader.read>>;
          try {
            next = await reader.read();
          } catch (error) {
            recorder.safely(EventTypes.LlmError, () => this.failed(error, assembler.usage));
            controller.error(error);
            return;
          }
          if (next.done) {
            recorder.safely(EventTypes.LlmEnd, () => this.#streamEnded(assembler));
            controller.close();
            return;
          }
          const part = next.value;
          recorder.safely("llm.stream", () => {
            const { first, delta } = assembler.add(part);
            if (first && this.#firstTokenMs === undefined) this.#firstTokenMs = this.#elapsed();
            if (delta !== undefined && emitTokens && capture === "full") {
              recorder.emit(
                EventTypes.LlmToken,
                this.span,
                { token: delta, index: this.#tokens++ },
                this.#metadata,
              );
            }
          });
          controller.enqueue(part);
        },
        cancel: async (reason) => {
          recorder.safely(EventTypes.LlmError, () =>
            this.failed(
              { name: "AbortError", message: `the stream was cancelled: ${describe(reason)}` },
              assembler.usage,
            ),
          );
          await reader.cancel(reason);
        },
      },
      { highWaterMark: 0 },
    );
  }

  #streamEnded(assembler: StreamAssembler): void {
    if (!assembler.finished && assembler.error !== undefined) {
      this.failed(assembler.error, assembler.usage);
      return;
    }
    const summary = summarizeAnswer(
      assembler.content(),
      assembler.finishReason,
      assembler.usage,
      this.#ctx.capture,
    );
    const extra: Record<string, unknown> = {};
    if (!assembler.finished) extra.incomplete = true;
    if (assembler.error !== undefined) extra.streamError = errorInfo(assembler.error).message;
    this.#finish(summary, assembler.response, extra);
  }

  #finish(summary: AnswerSummary, response: Record<string, unknown>, extra = {}): void {
    if (this.#ended) return;
    this.#ended = true;
    const { recorder, tools, capture, ids } = this.#ctx;
    const metadata: Record<string, unknown> = { ...this.#metadata, ...extra };
    const responseId = str(response.id);
    if (responseId !== undefined) metadata.responseId = responseId;
    const end = { ...summary.end, latencyMs: this.#elapsed() };
    const model = str(response.modelId) ?? this.#model;
    if (model !== undefined) end.model = model;
    if (this.#provider !== undefined) end.provider = this.#provider;
    if (this.#firstTokenMs !== undefined) end.timeToFirstTokenMs = this.#firstTokenMs;
    recorder.emit(EventTypes.LlmEnd, this.span, end, metadata);

    if (capture === "full" && summary.text !== "") {
      recorder.emit(
        EventTypes.AgentMessage,
        this.span,
        { role: "assistant", text: summary.text },
        this.#metadata,
      );
    }
    const now = performance.now();
    for (const tool of summary.toolCalls) {
      recorder.safely(EventTypes.ToolStart, () => {
        // A tool call is a child of the model call that asked for it; its end reuses this span.
        const span: SpanRef = {
          ...this.span,
          spanId: ids.spanId(),
          parentSpanId: this.span.spanId,
        };
        const payload = {
          name: tool.name,
          callId: tool.callId,
          ...(capture === "full" ? { arguments: tool.input } : {}),
        };
        recorder.emit(EventTypes.ToolStart, span, payload, {
          ...(tool.providerExecuted ? { providerExecuted: true } : {}),
        });
        tools.asked(
          { ...tool, conversation: this.#promptDigests().all() },
          { name: tool.name, startedAt: now, span, step: this.span },
        );
      });
    }
    // A provider-executed tool's result is in the same answer, asked in this call's conversation.
    if (summary.toolResults.length > 0) {
      const conversation = this.#promptDigests().all();
      this.#endTools(
        summary.toolResults.map((result) => ({ ...result, conversation, latest: true })),
      );
    }
  }

  #endTools(results: Iterable<ToolResult>): void {
    const { recorder, tools, capture } = this.#ctx;
    if (tools.size.pending === 0) return;
    for (const result of results) {
      const tool = tools.close(result);
      if (tool === undefined) continue;
      const latencyMs = Math.round(performance.now() - tool.startedAt);
      const base = { name: tool.name, callId: result.callId, latencyMs };
      if (result.isError) {
        const message = capture === "full" ? resultMessage(result.output) : "tool error";
        recorder.emit(EventTypes.ToolError, tool.span, { ...base, error: { message } });
      } else {
        recorder.emit(
          EventTypes.ToolEnd,
          tool.span,
          capture === "full" ? { ...base, result: result.output } : base,
        );
      }
      if (tools.size.pending === 0) return;
    }
  }

  #spanFor(params: unknown): SpanRef {
    const { ids, tools } = this.#ctx;
    const parent = currentTrace();
    if (parent !== undefined) return spanUnder(ids, parent);
    if (this.#retryOf !== undefined) {
      const { spanId: _, ...same } = this.#retryOf;
      return { ...same, spanId: ids.spanId() };
    }
    const { pending, answered } = tools.size;
    if (pending > 0 || answered > 0) {
      for (const result of promptToolResults(params, this.#promptDigests())) {
        const step = tools.stepOf(result);
        if (step === undefined) continue;
        const { spanId: _, ...same } = step;
        return { ...same, spanId: ids.spanId() };
      }
    }
    return spanUnder(ids, undefined);
  }

  /** Digests of this call's prompt, to tell which conversation a tool call belongs to. */
  #promptDigests(): PromptDigests {
    if (this.#digests === undefined) {
      const p = this.#params;
      this.#digests = new PromptDigests(
        isObj(p) && Array.isArray(p.prompt) ? (p.prompt as unknown[]) : [],
      );
    }
    return this.#digests;
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#startedAt);
  }
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return reason.message;
  return reason === undefined ? "no reason given" : String(reason);
}
