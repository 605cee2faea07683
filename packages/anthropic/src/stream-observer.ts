import type { Safely } from "@chorus/core/adapter-kit";

/** How the caller's read of a stream ended. */
export type StreamEnd =
  | { reason: "completed" }
  /** The caller aborted the request, or stopped reading (`break`, `return()`). */
  | { reason: "canceled" }
  | { reason: "failed"; error: unknown };

export interface StreamObserver {
  onEvent(event: unknown): void;
  onEnd(end: StreamEnd): void;
}

/**
 * Observe an SDK `Stream` as its reader consumes it, without reading it ourselves: the
 * stream's own async iterator is replaced, on this instance only, by one that hands each event
 * to `observer` after the caller's pull produced it and before the caller gets it. No tee, no
 * second reader, no read-ahead, no buffer: an event we see is an event the caller sees.
 * `tee()`, `toReadableStream()` and `MessageStream` all iterate through the same method, so
 * they are observed too. This is also how the SDK's own tracing watches its streams.
 *
 * Returns whether the stream could be observed (a frozen or foreign object cannot).
 */
export function observeStream(
  stream: AsyncIterable<unknown>,
  signal: AbortSignal | undefined,
  observer: StreamObserver,
  safely: Safely,
): boolean {
  const iterate = stream[Symbol.asyncIterator];
  if (typeof iterate !== "function") return false;
  let ended = false;
  const end = (how: StreamEnd): void => {
    if (ended) return;
    ended = true;
    signal?.removeEventListener("abort", cancel);
    safely("stream.end", () => observer.onEnd(how));
  };
  // Until the caller starts reading, an abort is the only way the stream can end.
  const cancel = (): void => end({ reason: "canceled" });

  let observed = false;
  const installed = safely("stream.observe", () => {
    stream[Symbol.asyncIterator] = function observedIterator(this: AsyncIterable<unknown>) {
      const source = iterate.call(this) as AsyncIterator<unknown>;
      if (observed) return source;
      observed = true;
      // From here the iterator sees every way the read ends; the SDK aborts its own controller
      // when the read fails or is closed, which must not be mistaken for the caller's abort.
      signal?.removeEventListener("abort", cancel);
      const onResult = (result: IteratorResult<unknown>): IteratorResult<unknown> => {
        if (result.done) {
          // The SDK's stream ends quietly (no error) when the request is aborted.
          end({ reason: signal?.aborted ? "canceled" : "completed" });
        } else if (!ended) {
          safely("stream.event", () => observer.onEvent(result.value));
        }
        return result;
      };
      const onError = (error: unknown): never => {
        end({ reason: "failed", error });
        throw error;
      };
      const iterator: AsyncIterableIterator<unknown> = {
        // A plain promise chain rather than an async function: one promise fewer per event.
        next: () => {
          let pulled: Promise<IteratorResult<unknown>>;
          try {
            pulled = source.next();
          } catch (error) {
            end({ reason: "failed", error });
            return Promise.reject(error);
          }
          return Promise.resolve(pulled).then(onResult, onError);
        },
        async return(value?: unknown) {
          cancel();
          return (await source.return?.(value)) ?? { done: true, value };
        },
        async throw(error?: unknown) {
          cancel();
          if (source.throw) return source.throw(error);
          throw error;
        },
        [Symbol.asyncIterator]: () => iterator,
      };
      return iterator;
    };
    return true;
  });
  if (installed !== true) return false;
  if (signal?.aborted) cancel();
  else signal?.addEventListener("abort", cancel, { once: true });
  return true;
}
