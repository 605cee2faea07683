import { ValidationError } from "./errors.js";
import { failOpen, type FailOpenPolicy } from "./fail-open.js";
import { loadSchemas, type Schemas, schemasNow } from "./platform.js";

/**
 * The protocol's schemas for an awaited call: at once in Node, where they load with core; in a
 * page, loaded on first use (the call is async anyway).
 */
export function schemas(): Schemas | Promise<Schemas> {
  return schemasNow() ?? loadSchemas();
}

/**
 * Run an awaited call `operation` with the schemas. When they are not loaded yet (a page loads
 * them on first use) and loading fails (the page cannot download the chunk), the failure goes
 * through the call's own fail-open policy: `fallback` with `failOpen`, a `ConnectionError`
 * without it, as the call itself would answer with the hub away.
 */
export async function withSchemas<T>(
  policy: FailOpenPolicy,
  operation: string,
  fallback: T,
  fn: (schemas: Schemas) => Promise<T>,
): Promise<T> {
  const now = schemasNow();
  if (now !== undefined) return fn(now);
  let loaded: Schemas;
  try {
    loaded = await loadSchemas();
  } catch (error) {
    return failOpen(policy, operation, fallback, () => Promise.reject(error));
  }
  return fn(loaded);
}

/** The part of a zod issue we read; typed structurally so core needs no direct zod dependency. */
interface Issue {
  readonly path: readonly PropertyKey[];
  readonly message: string;
}

/** The subset of a protocol (zod) schema the client uses. */
export interface Schema<T> {
  safeParse(
    value: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: readonly Issue[] } };
}

/** A schema failure as one readable line and the first field it names. */
export function describeIssues(
  issues: readonly Issue[],
  prefix?: string,
): { message: string; field: string | undefined } {
  const first = issues[0];
  const parts = [prefix, ...(first?.path ?? []).map(String)].filter(
    (p): p is string => p !== undefined && p !== "",
  );
  const field = parts.length > 0 ? parts.join(".") : undefined;
  const text = first?.message ?? "invalid value";
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
  return { message: field ? `${field}: ${text}${more}` : `${text}${more}`, field };
}

/**
 * Parse with a protocol schema or throw a {@link ValidationError} naming the field.
 * `prefix` names the argument when the schema checks one argument of a larger call.
 */
export function parseOrThrow<T>(schema: Schema<T>, value: unknown, prefix?: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const { message, field } = describeIssues(result.error.issues, prefix);
  throw new ValidationError(message, {
    field,
    details: result.error.issues.map((i) => ({
      path: i.path.map(String).join("."),
      message: i.message,
    })),
  });
}

/** A {@link ValidationError} for one named argument. */
export function invalidArgument(field: string, message: string): ValidationError {
  return new ValidationError(`${field}: ${message}`, { field });
}
