import { validationFailed } from "./errors.js";

/**
 * The slice of a zod schema this module needs. Typed structurally so the hub uses the
 * protocol's schemas without depending on zod itself.
 */
export interface Parser<T> {
  safeParse(value: unknown):
    | { success: true; data: T }
    | {
        success: false;
        error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] };
      };
}

/** One problem with a request, as listed in `error.details.issues`. */
export interface Issue {
  path: string;
  message: string;
}

/**
 * Parse part of a request with a protocol schema, or throw a 400 `validation_failed` listing
 * every issue. `where` (`body`, `query`, `params.id`, ...) prefixes each path so the client
 * knows which part of the request was wrong.
 */
export function parseWith<T>(parser: Parser<T>, value: unknown, where: string): T {
  const result = parser.safeParse(value);
  if (result.success) return result.data;
  const issues: Issue[] = result.error.issues.map((i) => ({
    path: [where, ...i.path.map(String)].join("."),
    message: i.message,
  }));
  throw validationFailed(`invalid ${where}`, { issues });
}

/** A JSON object body (not an array, not a scalar), or a 400. */
export function requireObjectBody(body: unknown): Record<string, unknown> {
  if (body === undefined) throw validationFailed("request body is required");
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw validationFailed("request body must be a JSON object");
  }
  return body as Record<string, unknown>;
}
