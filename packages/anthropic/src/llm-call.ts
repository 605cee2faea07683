import { currentTrace, EventTypes, type TraceIdPool } from "@chorus/core";
import { spanUnder } from "@chorus/core/adapter-kit";
import {
  type Capture,
  contentText,
  errorInfo,
  errorMetadata,
  llmStartPayload,
  type MessageSummary,
  PROVIDER,
  summarizeMessage,
  toolResults,
} from "./mapping.js";
import type { LlmErrorPayload } from "@chorus/core";
import type { BoundedMap } from "@chorus/core/adapter-kit";
import type { PendingTool } from "./pending-tools.js";
import type { SpanRecorder as Recorder, SpanRef } from "@chorus/core/adapter-kit";
import { StreamAccumulator } from "./stream-accumulator.js";
import { observeStream, type StreamEnd } from "./stream-observer.js";
import { toTokenUsage } from "./usage.js";
import { isObj, str } from "./values.js";

/** What every call of one wrapped client shares. */
export interface CallContext {
  recorder: Recorder;
  /** Call id → tool call the model asked for whose result has not come back, oldest first. */
  pending: BoundedMap<string, PendingTool>;
  capture: Capture;
  emitTokens: boolean;
  ids: TraceIdPool;
}

/** Header the SDK's `messages.stream()` helper sets on the `create` call it makes. */
const HELPER_HEADER = "x-stainless-helper-method";

/**
 * One `messages.create` call, from request to the end of its response: `llm.start` when it is
 * made, then `llm.end` (with `agent.message` and a `tool.start` per `tool_use` block) or
 * `llm.error`, exactly once. The call's span is a child of the current trace context (an intent
 * handler, `withTrace`) or the root of a new trace.
 */
export class LlmCall {
  readonly span: SpanRef;
  readonly #ctx: CallContext;
  readonly #startedAt = performance.now();
  readonly #model: string | undefined;
  readonly #metadata: Record<string, unknown>;
  readonly #streaming: boolean;
  #parseStarted = false;
  #ended = false;
  #firstTokenMs: number | undefined;
  #tokens = 0;

  /** `resource`: `"messages"` or `"beta.messages"`, the resource whose `create` was called. */
  constructor(ctx: CallContext, params: unknown, requestOptions: unknown, resource: string) {
    this.#ctx = ctx;
    this.span = spanUnder(ctx.ids, currentTrace());
    const p = isObj(params) ? params : {};
    this.#model = str(p.model);
    this.#streaming = p.stream === true;
    const headers =
      isObj(requestOptions) && isObj(requestOptions.headers) ? requestOptions.headers : {};
    this.#metadata = {
      method: `${resource}.${headers[HELPER_HEADER] === "stream" ? "stream" : "create"}`,
      stream: this.#streaming,
    };
  }

  /** Close the tool calls whose results this request carries, then announce the call. */
  begin(params: unknown): void {
    const { recorder } = this.#ctx;
    recorder.safely("tool.end", () => this.#endTools(params));
    recorder.emit(
      EventTypes.LlmStart,
      this.span,
      llmStartPayload(params, this.#ctx.capture),
      this.#metadata,
    );
  }

  /** The SDK began parsing the body: a later raw `asResponse()` is not the end of this call. */
  parseStarted(): void {
    this.#parseStarted = true;
  }

  /** The parsed body: a `Message`, or for `stream: true` the SDK's `Stream`, observed as it is read. */
  parsed(data: unknown): void {
    if (this.#ended) return;
    if (this.#streaming && isAsyncIterable(data)) {
      this.#observe(data);
      return;
    }
    const summary = summarizeMessage(data, this.#ctx.capture);
    const requestId = isObj(data) ? str(data._request_id) : undefined;
    this.#finish(summary, requestId === undefined ? {} : { requestId });
  }

  /**
   * The caller took the raw `Response` (`asResponse()`) without parsing it. Its body is theirs;
   * reading it would mean a second copy, so the call ends with what the headers tell.
   */
  rawResponse(response: unknown): void {
    if (this.#ended || this.#parseStarted) return;
    this.#ended = true;
    const status =
      isObj(response) && typeof response.status === "number" ? response.status : undefined;
    this.#ctx.recorder.emit(
      EventTypes.LlmEnd,
      this.span,
      { model: this.#model, provider: PROVIDER, latencyMs: this.#elapsed() },
      { ...this.#metadata, raw: true, ...(status === undefined ? {} : { status }) },
    );
  }

  failed(error: unknown, usage?: unknown): void {
    if (this.#ended) return;
    this.#ended = true;
    const payload: LlmErrorPayload = {
      provider: PROVIDER,
      error: errorInfo(error),
      latencyMs: this.#elapsed(),
    };
    if (this.#model !== undefined) payload.model = this.#model;
    const tokens = usage === undefined ? undefined : toTokenUsage(usage);
    if (tokens !== undefined) payload.usage = tokens;
    this.#ctx.recorder.emit(EventTypes.LlmError, this.span, payload, {
      ...this.#metadata,
      ...errorMetadata(error),
    });
  }

  #observe(stream: AsyncIterable<unknown>): void {
    const { recorder, capture, emitTokens } = this.#ctx;
    const accumulator = new StreamAccumulator(capture === "full");
    const signal = abortSignalOf(stream);
    const observer = {
      onEvent: (event: unknown) => {
        const { token, first } = accumulator.add(event);
        if (first) this.#firstTokenMs = this.#elapsed();
        if (token !== undefined && emitTokens) {
          recorder.emit(
            EventTypes.LlmToken,
            this.span,
            { token, index: this.#tokens++ },
            this.#metadata,
          );
        }
      },
      onEnd: (end: StreamEnd) => this.#streamEnded(end, accumulator),
    };
    if (!observeStream(stream, signal, observer, recorder.safely)) {
      throw new Error("the response stream cannot be observed");
    }
  }

  #streamEnded(end: StreamEnd, accumulator: StreamAccumulator): void {
    const message = accumulator.message();
    if (end.reason === "failed") {
      this.failed(end.error, message.usage);
      return;
    }
    if (end.reason === "canceled") {
      // Like the SDK's MessageStream, an abort is reported as the SDK's abort error; the tokens
      // used until then were still billed, so the usage so far goes with it.
      this.failed({ name: "APIUserAbortError", message: "Request was aborted." }, message.usage);
      return;
    }
    const extra: Record<string, unknown> = {};
    if (!accumulator.complete) extra.incomplete = true;
    if (accumulator.truncated) extra.truncated = true;
    this.#finish(summarizeMessage(message, this.#ctx.capture), extra);
  }

  #finish(summary: MessageSummary, extra: Record<string, unknown>): void {
    if (this.#ended) return;
    this.#ended = true;
    const { recorder, pending, capture } = this.#ctx;
    const metadata: Record<string, unknown> = { ...this.#metadata, ...extra };
    if (summary.messageId !== undefined) metadata.messageId = summary.messageId;
    if (summary.stopReason !== undefined) metadata.stopReason = summary.stopReason;
    const end = { ...summary.end, latencyMs: this.#elapsed() };
    if (end.model === undefined && this.#model !== undefined) end.model = this.#model;
    if (this.#firstTokenMs !== undefined)
      Object.assign(end, { timeToFirstTokenMs: this.#firstTokenMs });
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
    for (const tool of summary.toolUses) {
      recorder.safely(EventTypes.ToolStart, () => {
        // A tool call is a child of the LLM turn that asked for it; its end reuses this span.
        const span: SpanRef = {
          ...this.span,
          spanId: this.#ctx.ids.spanId(),
          parentSpanId: this.span.spanId,
        };
        const payload = {
          name: tool.name,
          callId: tool.id,
          ...(capture === "full" ? { arguments: tool.input } : {}),
        };
        recorder.emit(EventTypes.ToolStart, span, payload);
        pending.set(tool.id, { name: tool.name, startedAt: now, span });
      });
    }
  }

  #endTools(params: unknown): void {
    const { recorder, pending, capture } = this.#ctx;
    if (pending.size === 0) return;
    for (const result of toolResults(params)) {
      const tool = pending.take(result.toolUseId);
      if (tool === undefined) continue;
      const latencyMs = Math.round(performance.now() - tool.startedAt);
      const base = { name: tool.name, callId: result.toolUseId, latencyMs };
      if (result.isError) {
        const message =
          capture === "full" ? contentText(result.content) || "tool error" : "tool error";
        recorder.emit(EventTypes.ToolError, tool.span, { ...base, error: { message } });
      } else {
        recorder.emit(
          EventTypes.ToolEnd,
          tool.span,
          capture === "full" ? { ...base, result: result.content } : base,
        );
      }
      if (pending.size === 0) return;
    }
  }

  #elapsed(): number {
    return Math.round(performance.now() - this.#startedAt);
  }
}

/** The SDK `Stream`'s request signal: aborting the request ends the stream quietly. */
function abortSignalOf(stream: object): AbortSignal | undefined {
  const controller = (stream as { controller?: unknown }).controller;
  const signal = isObj(controller) ? controller.signal : undefined;
  return isObj(signal) && typeof signal.addEventListener === "function"
    ? (signal as unknown as AbortSignal)
    : undefined;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    isObj(value) &&
    typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === "function"
  );
}
