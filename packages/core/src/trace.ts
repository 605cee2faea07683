import { SPAN_ID_PATTERN, TRACE_ID_PATTERN } from "@chorus/protocol/wire";
import { newSpanId, newTraceId } from "./ids.js";
import { contextStorage } from "./platform.js";

/** The correlation an event inherits from where it is emitted. */
export interface TraceContext {
  /** 32 lowercase hex characters: one per top-level run. */
  readonly traceId: string;
  /** 16 lowercase hex characters: this unit of work. */
  readonly spanId: string;
  /** The span this one runs inside, when it has a parent. */
  readonly parentSpanId?: string;
  /** Set inside an intent handler: events carry it so they join the intent's log. */
  readonly intentId?: string;
  /** The agent doing the work; events without an `agent` get this one. */
  readonly agent?: string;
}

export interface TraceOptions {
  /** Join this trace instead of starting one (32 hex characters). */
  traceId?: string;
  /** Continue a remote trace from a W3C `traceparent` header; wins over `traceId`. */
  traceparent?: string;
  /** Start a new trace even when called inside one. */
  newTrace?: boolean;
  intentId?: string;
  agent?: string;
}

/*
 * The one piece of module-level state in @chorus/core, on purpose: trace context belongs to the
 * async flow, not to a client, so every client in the process must see the same storage. It holds
 * no configuration and no credentials; two clients with different keys still share nothing else.
 */
const storage = contextStorage<TraceContext>();

/**
 * Trace context kept outside Chorus, asked when no Chorus context is current: `@chorus/otel`
 * registers one that reads the active OpenTelemetry span, so core needs no `@opentelemetry/api`
 * for users who do not have it. Process-wide like the storage above, for the same reason: the
 * active span belongs to the async flow, not to a client.
 */
export type TraceSource = () => TraceContext | undefined;
const sources = new Set<TraceSource>();

/**
 * Make `source` a fallback of {@link currentTrace} (events emitted inside its spans join them).
 * Registering the same function twice is one registration. Returns the unregister function.
 */
export function registerTraceSource(source: TraceSource): () => void {
  sources.add(source);
  return () => {
    sources.delete(source);
  };
}

/** The trace context of the current async flow, if any. */
export function currentTrace(): TraceContext | undefined {
  const own = storage.getStore();
  if (own !== undefined || sources.size === 0) return own;
  for (const source of sources) {
    try {
      const context = source();
      if (
        context !== undefined &&
        TRACE_ID_PATTERN.test(context.traceId) &&
        SPAN_ID_PATTERN.test(context.spanId)
      )
        return context;
    } catch {
      // A source is someone else's code: a throw there must not reach emit().
    }
  }
  return undefined;
}

/**
 * Run `fn` in a span. Outside any trace (or with `newTrace`, `traceId` or `traceparent`) this
 * starts a trace; inside one it opens a child span of the current span. Events emitted inside
 * `fn` (including after `await`) carry the span's ids.
 *
 * @example
 * await withTrace(async () => {
 *   chorus.emit({ type: "agent.start" });
 *   await withTrace(() => chorus.emit({ type: "tool.start" })); // child span
 * });
 */
export function withTrace<T>(fn: () => T, options: TraceOptions = {}): T {
  return storage.run(spanFrom(currentTrace(), options), fn);
}

/** Run `fn` with exactly this context (adapters that computed spans themselves). */
export function runInTrace<T>(context: TraceContext, fn: () => T): T {
  return storage.run(context, fn);
}

/**
 * A new span: a child of `parent` unless the options start or join another trace. Pure; it does
 * not change the current context (for callback-style adapters that cannot wrap the work).
 */
export function spanFrom(
  parent: TraceContext | undefined,
  options: TraceOptions = {},
): TraceContext {
  const remote =
    options.traceparent === undefined ? undefined : parseTraceparent(options.traceparent);
  const explicitTrace =
    options.traceId !== undefined && TRACE_ID_PATTERN.test(options.traceId)
      ? options.traceId
      : undefined;
  const inherit =
    parent !== undefined && !options.newTrace && !remote && explicitTrace === undefined;
  const traceId = remote?.traceId ?? explicitTrace ?? (inherit ? parent.traceId : newTraceId());
  const parentSpanId = remote?.parentSpanId ?? (inherit ? parent.spanId : undefined);
  const intentId = options.intentId ?? (inherit ? parent.intentId : undefined);
  const agent = options.agent ?? (inherit ? parent.agent : undefined);
  return {
    traceId,
    spanId: newSpanId(),
    ...(parentSpanId === undefined ? {} : { parentSpanId }),
    ...(intentId === undefined ? {} : { intentId }),
    ...(agent === undefined ? {} : { agent }),
  };
}

/** A parsed W3C `traceparent`: the remote span becomes our parent. */
export interface Traceparent {
  traceId: string;
  parentSpanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** Parse a W3C `traceparent` header; `undefined` for anything malformed (never throws). */
export function parseTraceparent(header: string | null | undefined): Traceparent | undefined {
  if (typeof header !== "string") return undefined;
  const match = TRACEPARENT.exec(header.trim().toLowerCase());
  if (!match) return undefined;
  const [, version, traceId, spanId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  // Version ff is forbidden; version 00 allows nothing after the flags.
  if (version === "ff" || (version === "00" && rest !== undefined)) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return undefined;
  return { traceId, parentSpanId: spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

/** Format a `traceparent` header for a context (the current one by default). */
export function formatTraceparent(
  context: TraceContext | undefined = currentTrace(),
): string | undefined {
  if (
    !context ||
    !TRACE_ID_PATTERN.test(context.traceId) ||
    !SPAN_ID_PATTERN.test(context.spanId)
  ) {
    return undefined;
  }
  return `00-${context.traceId}-${context.spanId}-01`;
}
