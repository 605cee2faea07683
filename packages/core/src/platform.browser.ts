import type { FittedEvent } from "@chorus/protocol/wire";
import type { EventSource } from "eventsource";
import type { IClientOptions, MqttClient } from "mqtt";
import type { severalHubs as SeveralHubs } from "./failover.js";
import type { FetchFunction } from "./options.js";
import type { Logger, OnError } from "./logger.js";
import type * as protocolSchemas from "./protocol-schemas.js";
import type { QueuedEvent } from "./queue.js";
import type { RealtimeClient } from "./realtime-client.js";
import type * as streamModule from "./stream.js";

/*
 * `platform.ts` for browsers (and any runtime without Node built-ins): Web Crypto, TextEncoder,
 * no environment variables, a synchronous trace context, and what only some pages use (schemas,
 * streams, realtime; mqtt.js apart) loaded on first use, so a page never downloads what it does
 * not use before it needs it.
 */

export function fillRandom(bytes: Uint8Array): void {
  globalThis.crypto.getRandomValues(bytes);
}

const utf8 = new TextEncoder();
/** The text {@link utf8Length} encoded last, and its bytes: `emit()` queues those same bytes. */
let lastText = "";
let lastBytes = new Uint8Array(0);

/**
 * UTF-8 length of a string: the browser's own encoder, native and faster than counting UTF-16
 * units in script. The bytes are kept for {@link eventStore}, which `emit()` calls next with
 * the same text, so an event is encoded once.
 */
export const utf8Length = (text: string): number => {
  lastText = text;
  lastBytes = utf8.encode(text);
  return lastBytes.length;
};

/** A page has no environment: options come from the constructor only. */
export function environment(): Record<string, string | undefined> {
  const env = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process
    ?.env;
  return env ?? {};
}

export interface ContextStorage<T> {
  getStore(): T | undefined;
  run<R>(context: T, fn: () => R): R;
}

/**
 * Without `AsyncLocalStorage` a context holds for the synchronous part of `fn` only: events
 * emitted before its first `await` join the span, later ones do not. Code that awaits passes the
 * context explicitly (`spanFrom()` returns it; `emit()` takes `traceId`/`spanId`).
 */
export function contextStorage<T>(): ContextStorage<T> {
  let current: T | undefined;
  return {
    getStore: () => current,
    run<R>(context: T, fn: () => R): R {
      const previous = current;
      current = context;
      try {
        return fn();
      } finally {
        current = previous;
      }
    },
  };
}

/** The page's own `fetch` sends everything; nothing keeps a page alive, so no special sockets. */
export const platformFetch: ((background: boolean | undefined) => FetchFunction) | undefined =
  undefined;

/** Browsers speak MQTT over WebSocket only. */
export const DEFAULT_REALTIME_TRANSPORT: "tcp" | "ws" = "ws";

/** A page's shutdown paths wait the whole drain timeout: nothing of the page's teardown is ours. */
export const exitBudget = (drainTimeoutMs: number): number => drainTimeoutMs;

/** A browser's `fetch` reports no socket error codes (see `socket-error.ts`). */
export const NOT_SENT_CODES: ReadonlySet<string> = new Set();
export const socketErrorCode = (_error: unknown): string | undefined => undefined;

/** A page has no exit hook worth a flush (`pagehide` allows no awaited request). */
export function hookExitDrain(_client: unknown): () => void {
  return () => {};
}

type Connect = (url: string, options: IClientOptions) => MqttClient;
let loading: Promise<Connect> | undefined;

/**
 * mqtt.js's browser build (`exports` condition `browser` → `dist/mqtt.esm.js`) has a default
 * export only, so `import { connect } from "mqtt"` finds nothing there; the namespace's
 * `default.connect` is the function. Loaded on first use, in its own chunk.
 */
export function loadMqttConnect(): Promise<Connect> {
  loading ??= import("mqtt").then((mod) => {
    const ns = mod as unknown as { connect?: Connect; default?: { connect?: Connect } };
    const connect = ns.connect ?? ns.default?.connect;
    if (typeof connect !== "function") throw new Error("mqtt.js has no connect()");
    return connect;
  });
  return loading;
}

export type Timer = ReturnType<typeof setTimeout>;

/** A page's timers never keep anything alive: nothing to do. */
export function holdHost(_timer: Timer, _hold: boolean): void {}

/**
 * A page neither checks its key (its `fetch` refuses one a header cannot carry) nor masks it in
 * its logs (it is in the page's source): secrets.ts in Node.
 */
export const guardSecrets = (
  _resolved: unknown,
  _problems: unknown,
  logger: Logger,
  onError: OnError | undefined,
): [Logger, OnError | undefined] => [logger, onError];

/** A module a page loads on first use: `now()` once loaded; `load()` tries again after a failed chunk load. */
function onFirstUse<T>(importIt: () => Promise<T>): { now(): T | undefined; load(): Promise<T> } {
  let value: T | undefined;
  let loading: Promise<T> | undefined;
  return {
    now: () => value,
    load: () =>
      (loading ??= importIt().then(
        (loaded) => (value = loaded),
        (error: unknown) => {
          loading = undefined; // a failed chunk load (network) is tried again next time
          throw error;
        },
      )),
  };
}

/** Everything a page loads on first use, one chunk (see `first-use.ts` for why one). */
const firstUse = onFirstUse(() => import("./first-use.js"));

export type Schemas = typeof protocolSchemas;

/**
 * The protocol's schemas once loaded. A page loads them (and zod with them, and the events and
 * intents APIs) on first use: until then `emit()` queues events unchecked and the flusher checks
 * them before their batch is sent (see `Flusher`), so an invalid event is still dropped with a
 * warning and never poisons a batch.
 */
export const schemasNow: () => Schemas | undefined = firstUse.now;
export const loadSchemas: () => Promise<Schemas> = firstUse.load;

/**
 * The SSE client (the `eventsource` package: a page's own `EventSource` cannot send the API key
 * or our `Last-Event-ID`), loaded with the rest on first use.
 */
export const eventSourceNow = (): typeof EventSource | undefined => firstUse.now()?.EventSource;
export const loadEventSource = (): Promise<typeof EventSource> =>
  firstUse.load().then((mod) => mod.EventSource);

export type StreamModule = typeof streamModule;

/**
 * The SSE stream itself (`EventStream`), loaded on first use (until then `chorus.stream.*`
 * returns a front, see `stream-front.ts`).
 */
export const streamModuleNow: () => StreamModule | undefined = firstUse.now;
export const loadStreamModule: () => Promise<StreamModule> = firstUse.load;

/**
 * An answer's body, bounded (`read-text.ts`) once the first-use chunk is loaded, as it is before
 * any awaited call (the APIs live in it) and after a page's first `emit()`; before then (a
 * batch's answer) read whole, which keeps the bound out of the entry's size budget.
 */
export const readText = (response: Response, max: number): Promise<string> =>
  (firstUse.now()?.readText ?? ((whole: Response) => whole.text()))(response, max);

/** The realtime client (MQTT session and dispatch), loaded on first realtime use. */
export const loadRealtimeClient = (): Promise<typeof RealtimeClient> =>
  firstUse.load().then((mod) => mod.RealtimeClient);

/** An event over the size limit is refused here, not fitted (the entry's size budget). */
export const fitOversize:
  | ((event: Record<string, unknown>, json: string, bytes: number) => FittedEvent)
  | undefined = undefined;

/** A page always takes capture's copy: the check is left out of the bundle (it counts bytes). */
/** A page takes one hub URL (a list falls back to the default URL with a warning). */
export const severalHubs: typeof SeveralHubs | undefined = undefined;

export const serializesUnchanged = (..._: unknown[]): boolean => false;
export const scrubJsonText = (text: string, ..._: unknown[]): string => text;

/** A page's ids are joined from hex pieces (ids.ts); Node's `formatUuid` allocates less. */
export const formatUuid: ((bytes: Uint8Array) => string) | undefined = undefined;

/**
 * A page keeps each queued event's bytes on their own (Node appends them to shared chunks): the
 * bytes {@link utf8Length} made for the size check, when they are of this text.
 */
export const eventStore =
  () =>
  (id: string, json: string, bytes: number, unchecked: unknown): QueuedEvent => {
    const chunk = json === lastText ? lastBytes : utf8.encode(json);
    lastText = "";
    return { id, chunk, at: 0, bytes, unchecked };
  };
