import { AsyncLocalStorage } from "node:async_hooks";
import { fitEvent } from "@chorus/protocol/wire";
import { randomFillSync } from "node:crypto";
import { EventSource } from "eventsource";
import { connect } from "mqtt";
import { drainOnExit, type ExitDrainTarget } from "./exit-drain.js";
import { nodeFetchFor } from "./node-fetch.js";
import type { FetchFunction } from "./options.js";
import type { QueuedEvent } from "./queue.js";
import type { RealtimeClient } from "./realtime-client.js";
import * as protocolSchemas from "./protocol-schemas.js";
import * as streamModule from "./stream.js";

/*
 * Everything @chorus/core needs from its host, Node edition. `platform.browser.ts` is the same
 * surface without Node built-ins; the browser build (tsup.config.ts) swaps it in for this file,
 * so the rest of core is one code path for both.
 */

export { exitBudget } from "./exit-drain.js";
export { guardSecrets } from "./secrets.js";
export { readText } from "./read-text.js";
export { NOT_SENT_CODES, socketErrorCode } from "./socket-error.js";
/**
 * `emit()` leaves out the largest fields of an event over the size limit instead of refusing it
 * (protocol's `fitEvent`; content fields first).
 */
export const fitOversize = (event: Record<string, unknown>, json: string, bytes: number) =>
  fitEvent(event, json, bytes, utf8Length);

/** Fill `bytes` with cryptographically random bytes. */
export function fillRandom(bytes: Uint8Array): void {
  randomFillSync(bytes);
}

/** UTF-8 length of a string, without encoding it. */
export function utf8Length(text: string): number {
  return Buffer.byteLength(text, "utf8");
}

/** Where `CHORUS_*` variables are read from. */
export function environment(): Record<string, string | undefined> {
  return process.env;
}

/** The context storage of `withTrace`: follows the async flow (`AsyncLocalStorage`). */
export interface ContextStorage<T> {
  getStore(): T | undefined;
  run<R>(context: T, fn: () => R): R;
}

export function contextStorage<T>(): ContextStorage<T> {
  return new AsyncLocalStorage<T>();
}

/** The fetch of a request when the caller gave none (see node-fetch.ts for why). */
export const platformFetch: ((background: boolean | undefined) => FetchFunction) | undefined =
  nodeFetchFor;

/** Realtime's transport when neither option nor variable names one. */
export const DEFAULT_REALTIME_TRANSPORT: "tcp" | "ws" = "tcp";

/** Drain `client`'s queue when the process is about to exit on its own. Returns the unhook. */
export function hookExitDrain(client: ExitDrainTarget): () => void {
  return onHostExit(() => drainOnExit(client));
}

/**
 * Run `drain` when the host is about to stop (Node: `beforeExit`). Returns the unhook.
 *
 * One `beforeExit` listener for the whole process, however many clients there are: a listener
 * per client made Node warn about a leak past ten clients. The registry is process-wide on
 * purpose (the one exception to "no module-global state"), keyed with `Symbol.for` so an ESM
 * and a CJS copy of @chorus/core share it too.
 */
function onHostExit(drain: () => void): () => void {
  if (typeof process === "undefined" || typeof process.on !== "function") return () => {};
  const holder = globalThis as { [EXIT_DRAINS]?: ExitDrains };
  holder[EXIT_DRAINS] ??= createExitDrains();
  const registry = holder[EXIT_DRAINS];
  if (registry.drains.size === 0) process.on("beforeExit", registry.listener);
  registry.drains.add(drain);
  return () => {
    if (!registry.drains.delete(drain)) return;
    if (registry.drains.size === 0) process.off?.("beforeExit", registry.listener);
  };
}

const EXIT_DRAINS = Symbol.for("@chorus/core:exit-drains");

interface ExitDrains {
  drains: Set<() => void>;
  listener: () => void;
}

function createExitDrains(): ExitDrains {
  const drains = new Set<() => void>();
  return {
    drains,
    listener: () => {
      for (const drain of [...drains]) {
        try {
          drain();
        } catch {
          // one client's drain failing must not stop the others
        }
      }
    },
  };
}

/** mqtt.js's `connect` (the browser edition loads mqtt.js's browser build on first use). */
export function loadMqttConnect(): Promise<typeof connect> {
  return Promise.resolve(connect);
}

export type Timer = ReturnType<typeof setTimeout>;

/** Whether `timer` keeps the process alive (`ref`) or not (`unref`). */
export function holdHost(timer: Timer, hold: boolean): void {
  if (hold) timer.ref();
  else timer.unref();
}

/** The protocol's schemas core validates with. */
export type Schemas = typeof protocolSchemas;

/** The schemas if loaded: in Node always, so `emit()` validates synchronously. */
export function schemasNow(): Schemas | undefined {
  return protocolSchemas;
}

/** The schemas, loaded (the browser edition loads them on first use). */
export function loadSchemas(): Promise<Schemas> {
  return Promise.resolve(protocolSchemas);
}

/** The SSE client of streams (the browser edition loads it when the first stream opens). */
export function eventSourceNow(): typeof EventSource | undefined {
  return EventSource;
}

export function loadEventSource(): Promise<typeof EventSource> {
  return Promise.resolve(EventSource);
}

/** The SSE stream (`stream.ts`): loaded with core here; a page loads it with the SSE client. */
export type StreamModule = typeof streamModule;

export function streamModuleNow(): StreamModule | undefined {
  return streamModule;
}

export function loadStreamModule(): Promise<StreamModule> {
  return Promise.resolve(streamModule);
}

/** The realtime client (MQTT session and dispatch), loaded on first realtime use. */
export function loadRealtimeClient(): Promise<typeof RealtimeClient> {
  return import("./realtime-client.js").then((mod) => mod.RealtimeClient);
}

/** Node: content capture may skip its copy when it would change nothing (see the module). */
export { serializesUnchanged } from "./capture-unchanged.js";
export { scrubJsonText } from "./capture-json-text.js";
import { severalHubs as hubs } from "./failover.js";
/** Several hub URLs, and the HTTP client that fails over between them (failover.ts). */
export const severalHubs: typeof hubs | undefined = hubs;

/** Char codes of the lowercase hex digits. */
const HEX_DIGITS = Array.from("0123456789abcdef", (ch) => ch.charCodeAt(0));
/** The char codes of the id being formatted (one thread: nothing else runs meanwhile). */
const uuidChars: number[] = new Array(36).fill(0);

/**
 * 16 bytes as a UUID string, `8-4-4-4-12` lowercase hex: the digits go into one array of char
 * codes and become one string. Building it with `+` allocated a string per piece (about 650
 * bytes per id, against 90 this way), which `emit()` pays per event.
 */
export const formatUuid: ((bytes: Uint8Array) => string) | undefined = (bytes) => {
  const d = uuidChars;
  for (let i = 0, at = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) d[at++] = 0x2d; // "-"
    d[at++] = HEX_DIGITS[(bytes[i] as number) >>> 4] as number;
    d[at++] = HEX_DIGITS[(bytes[i] as number) & 0x0f] as number;
  }
  return String.fromCharCode.apply(null, d);
};

/** The queue keeps events' UTF-8 in chunks of this size (see {@link eventStore}). */
export const CHUNK_BYTES = 32 * 1024;
/**
 * An event longer than this gets a buffer of its own, so a chunk is left for a new one with at
 * most this much of it unused: chunks are at least three quarters full.
 */
const OWN_BUFFER_BYTES = CHUNK_BYTES / 4;

/**
 * Where one queue keeps its events' UTF-8 until delivery (Node): appended to chunks of memory
 * outside the JS heap instead of held as strings. A string that waits in the queue for its batch
 * survives the young generation's collections, each of which copies it (and the second moves
 * it to the old generation), on the application's thread; a chunk is never copied by the GC,
 * the string dies young, and the batch body copies bytes instead of encoding text again.
 *
 * Chunks are append-only and never reused, so a batch in flight, or put back after a failure,
 * is never overwritten. The queue is first in, first out, so the chunks alive hold the queued
 * and in-flight events, each at least three quarters full, plus the oldest one (partly sent) and
 * the one being filled: within 4/3 of the queued and in-flight bytes plus two chunks.
 */
export function eventStore(): (
  id: string,
  json: string,
  bytes: number,
  unchecked: unknown,
) => QueuedEvent {
  let chunk = Buffer.alloc(0);
  let used = 0;
  return (id, json, bytes, unchecked) => {
    if (bytes > OWN_BUFFER_BYTES) {
      const own = Buffer.alloc(bytes);
      own.write(json);
      return { id, chunk: own, at: 0, bytes, unchecked };
    }
    if (used + bytes > chunk.length) {
      chunk = Buffer.alloc(CHUNK_BYTES);
      used = 0;
    }
    const at = used;
    used += chunk.write(json, at, bytes);
    return { id, chunk, at, bytes, unchecked };
  };
}
