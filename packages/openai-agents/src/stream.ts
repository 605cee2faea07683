import type { Safely } from "@chorus/core/adapter-kit";
import type { SpanTracker } from "./tracker.js";

/** The part of a `StreamedRunResult` we read: its events and the SDK trace it runs in. */
export interface ObservableStream<E> extends AsyncIterable<E> {
  readonly state?: { readonly _trace?: { readonly traceId?: string } | null };
  /** Set by the SDK once the consumer stopped reading early or the run's signal aborted. */
  readonly cancelled?: boolean;
}

/**
 * Re-yield a streamed run's events as the caller reads them, noting text deltas for time to
 * first token and, when opted in, `llm.token`. Nothing is read ahead of the caller and the events
 * are the SDK's own objects, untouched. Tokens are seen when the caller reads them, so the time to
 * first token includes the caller's own delay in reading. The run's trace learns how to tell that
 * the run was cancelled: the SDK ends a cancelled run's spans as if they had finished.
 */
export async function* observeStream<E>(
  result: ObservableStream<E>,
  tracker: SpanTracker,
  safely: Safely,
): AsyncGenerator<E, void, undefined> {
  safely("observeStream", () => {
    const traceId = result.state?._trace?.traceId;
    if (typeof traceId === "string") tracker.watchStream(traceId, () => result.cancelled === true);
  });
  for await (const event of result) {
    safely("observeStream", () => noteToken(result, event, tracker));
    yield event;
  }
}

function noteToken<E>(result: ObservableStream<E>, event: E, tracker: SpanTracker): void {
  const e = event as { type?: unknown; data?: { type?: unknown; delta?: unknown } };
  if (e.type !== "raw_model_stream_event" || e.data?.type !== "output_text_delta") return;
  const traceId = result.state?._trace?.traceId;
  if (typeof traceId === "string" && typeof e.data.delta === "string")
    tracker.streamToken(traceId, e.data.delta);
}
