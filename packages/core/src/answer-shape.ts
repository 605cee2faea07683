import { ConnectionError } from "./errors.js";
import type { HttpResponse } from "./http.js";

/** What a 2xx answer of the hub's JSON API must look like for the call that asked for it. */
export type Shape = "object" | "intent" | "page" | "published";

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value);

const SHAPES: Record<Shape, [check: (body: unknown) => boolean, what: string]> = {
  object: [isObject, "a JSON object"],
  intent: [
    (body) => isObject(body) && typeof body.id === "string" && typeof body.version === "number",
    "an intent",
  ],
  page: [
    (body) => isObject(body) && Array.isArray(body.data) && body.data.every(isObject),
    "a page ({ data: [...] })",
  ],
  published: [
    (body) =>
      isObject(body) && Array.isArray(body.ids) && body.ids.every((id) => typeof id === "string"),
    "a publish answer ({ ids: [...] })",
  ],
};

/**
 * The body of a 2xx answer, checked for the shape the call returns. Anything else (not JSON, cut
 * short, `null`, a number, another server's page) is no answer of a working hub: an availability
 * failure (fail-open answers the call's fallback; a strict view throws this `ConnectionError`),
 * never a value of the wrong type handed to the caller.
 */
export function answer<T>(response: HttpResponse, shape: Shape, operation: string): T {
  const [check, what] = SHAPES[shape];
  if (check(response.body)) return response.body as T;
  throw new ConnectionError(
    `${operation}: the hub answered ${response.status} with a body that is not ${what}`,
    { reason: "unavailable", status: response.status },
  );
}
