import type { EventsApi } from "./events-api.js";
import type { FailOpenPolicy } from "./fail-open.js";
import type { IntentsApi } from "./intents-api.js";
import { type Schemas, schemasNow } from "./platform.js";
import { withSchemas } from "./validate.js";

/** The methods of `chorus.events` and `chorus.intents` (checked against the classes in a test). */
export const API_METHODS = {
  events: ["publish", "list"],
  intents: [
    "create",
    "get",
    "list",
    "patchState",
    "setStatus",
    "assign",
    "unassign",
    "comment",
    "post",
    "events",
  ],
} as const satisfies {
  events: ReadonlyArray<keyof EventsApi>;
  intents: ReadonlyArray<keyof IntentsApi>;
};

/**
 * `chorus.events` or `chorus.intents`. The classes live with the protocol's schemas (every call
 * validates with them): in Node they are loaded with core and this is the class itself; a page
 * loads them together on first call, so until then this is a front whose methods load them and
 * forward. A failed load answers as the call would with the hub away (see `withSchemas`):
 * `undefined`, or an empty page for `list` and `events`.
 */
export function lazyApi<T extends EventsApi | IntentsApi>(
  family: keyof typeof API_METHODS,
  policy: FailOpenPolicy,
  make: (schemas: Schemas) => T,
): T {
  const now = schemasNow();
  if (now !== undefined) return make(now);
  type Method = (...args: unknown[]) => Promise<unknown>;
  let api: Record<string, Method> | undefined;
  const front: Record<string, Method> = {};
  for (const method of API_METHODS[family]) {
    const fallback = method === "list" || method === "events" ? { data: [] } : undefined;
    front[method] = (...args) =>
      withSchemas(policy, `${family}.${method}`, fallback, (schemas) => {
        api ??= make(schemas) as unknown as Record<string, Method>;
        return (api[method] as Method)(...args);
      });
  }
  return front as unknown as T;
}
