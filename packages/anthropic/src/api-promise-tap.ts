import type { Safely } from "@chorus/core/adapter-kit";

/** What the adapter learns about one response, in the order the caller's use of it reveals it. */
export interface ResponseHooks {
  /** The SDK started parsing the body (an `await`, `.then`, `withResponse()`, a stream helper). */
  onParseStart(): void;
  /** The parsed body, before the caller gets it: a `Message`, or a `Stream` for `stream: true`. */
  onParsed(data: unknown): void;
  /** The request or the parse failed; the caller gets this same error. */
  onError(error: unknown): void;
  /** The caller asked for the raw `Response` (`asResponse()`). */
  onRawResponse(response: unknown): void;
}

/**
 * The members of the SDK's `APIPromise` this module taps: a promise of the response that is
 * parsed only when someone awaits it, and the parse function. Stable across the SDK's 0.x and
 * 1.x releases (they are constructor parameters); checked at run time all the same.
 */
interface ApiPromiseInternals {
  responsePromise: PromiseLike<unknown>;
  parseResponse: (...args: unknown[]) => unknown;
  asResponse: () => PromiseLike<unknown>;
}

function isApiPromise(value: unknown): value is ApiPromiseInternals {
  if (typeof value !== "object" || value === null) return false;
  const p = value as Partial<ApiPromiseInternals>;
  return (
    typeof p.parseResponse === "function" &&
    typeof p.asResponse === "function" &&
    typeof p.responsePromise?.then === "function"
  );
}

/**
 * Observe an `APIPromise` without replacing it: the caller keeps the very object the SDK
 * returned, so `withResponse()`, `asResponse()`, `_request_id` and the SDK's error classes are
 * untouched, and the body is still parsed lazily, once, only if the caller asks for it. Three
 * members of that one instance are wrapped, each passing through what it is given:
 *
 * - `responsePromise` (the request): a failure is seen even if nobody awaits the call, and is
 *   rethrown unchanged, so a caller that never awaits still gets its unhandled rejection.
 * - `parseResponse` (the body): the parsed `Message` or `Stream` is seen on its way out.
 * - `asResponse` (the raw `Response`): seen, never read.
 *
 * Returns whether the promise had the expected shape (another SDK major might not).
 */
export function tapApiPromise(promise: unknown, hooks: ResponseHooks, safely: Safely): boolean {
  if (!isApiPromise(promise)) return false;
  const request = promise.responsePromise;
  const parse = promise.parseResponse;
  const asResponse = promise.asResponse;

  promise.responsePromise = Promise.resolve(request).then(undefined, (error: unknown) => {
    safely("llm.error", () => hooks.onError(error));
    throw error;
  });

  promise.parseResponse = function tappedParse(this: unknown, ...args: unknown[]): unknown {
    safely("response.parse", () => hooks.onParseStart());
    let out: unknown;
    try {
      out = parse.apply(this, args);
    } catch (error) {
      safely("llm.error", () => hooks.onError(error));
      throw error;
    }
    if (!isThenable(out)) {
      safely("llm.end", () => hooks.onParsed(out));
      return out;
    }
    return out.then(
      (data) => {
        safely("llm.end", () => hooks.onParsed(data));
        return data;
      },
      (error: unknown) => {
        safely("llm.error", () => hooks.onError(error));
        throw error;
      },
    );
  };

  promise.asResponse = function tappedAsResponse(this: unknown): PromiseLike<unknown> {
    return asResponse.call(this).then((response) => {
      safely("llm.end", () => hooks.onRawResponse(response));
      return response;
    });
  };
  return true;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === "object" || typeof value === "function") &&
    value !== null &&
    typeof (value as { then?: unknown }).then === "function"
  );
}
