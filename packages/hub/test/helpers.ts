import { createHub, type Hub, type HubOptions } from "../src/index.js";
import { freshDb } from "./store-under-test.js";

export const ORG_A = "acme";
export const KEY_A = "key_acme_0123456789";
export const ORG_B = "globex";
export const KEY_B = "key_globex_0123456789";
/** A key of org A limited to reading. */
export const KEY_A_READONLY = "key_acme_readonly_0123";

/**
 * A hub on 127.0.0.1 with random HTTP and MQTT ports, a fresh database of the store under test
 * (in-memory SQLite, or a new Postgres database) and two orgs.
 */
export async function startTestHub(options: HubOptions = {}): Promise<Hub> {
  return createHub({
    port: 0,
    mqttPort: 0,
    db: options.db ?? (await freshDb()),
    logger: false,
    apiKeys: `${ORG_A}:${KEY_A},${ORG_B}:${KEY_B},${ORG_A}:${KEY_A_READONLY}:read+subscribe`,
    ...options,
  });
}

/** fetch against the hub with a bearer key and JSON body. */
export async function api(
  hub: Hub,
  path: string,
  init: {
    method?: string;
    key?: string | null;
    body?: unknown;
    headers?: Record<string, string>;
  } = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = { ...init.headers };
  if (init.key !== null) headers.authorization = `Bearer ${init.key ?? KEY_A}`;
  let body: string | undefined;
  if (init.body !== undefined) {
    body = typeof init.body === "string" ? init.body : JSON.stringify(init.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await fetch(`${hub.url}${path}`, {
    method: init.method ?? (body ? "POST" : "GET"),
    headers,
    body,
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {}
  return { status: res.status, body: parsed, headers: res.headers };
}
