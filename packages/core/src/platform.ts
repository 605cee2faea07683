import { AsyncLocalStorage } from "node:async_hooks";
import { randomFillSync } from "node:crypto";
import { connect } from "mqtt";
import { nodeFetch } from "./node-fetch.js";
import type { FetchFunction } from "./options.js";

/*
 * Everything @chorus/core needs from its host, Node edition. `platform.browser.ts` is the same
 * surface without Node built-ins; the browser build (tsup.config.ts) swaps it in for this file,
 * so the rest of core is one code path for both.
 */

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

/** The fetch of background batches when the caller gave none (see node-fetch.ts for why). */
export const backgroundFetch: FetchFunction | undefined = nodeFetch;

/** Realtime's transport when neither option nor variable names one. */
export const DEFAULT_REALTIME_TRANSPORT: "tcp" | "ws" = "tcp";

/** Run `drain` when the host is about to stop (Node: `beforeExit`). Returns the unhook. */
export function onHostExit(drain: () => void): () => void {
  if (typeof process === "undefined" || typeof process.on !== "function") return () => {};
  process.on("beforeExit", drain);
  return () => process.off?.("beforeExit", drain);
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
