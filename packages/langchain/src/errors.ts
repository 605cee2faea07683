import type { ErrorInfo } from "@chorus/core";
import { read, readNumber, readString } from "./read.js";

/** An error as events carry it: message, class or provider type, HTTP status. Never throws. */
export function errorInfo(error: unknown): ErrorInfo {
  if (typeof error !== "object" || error === null) return { message: describe(error) };
  const info: ErrorInfo = { message: readString(error, "message") ?? describe(error) };
  const type = readString(error, "name") ?? constructorName(error);
  if (type !== undefined && type !== "Object") info.type = type;
  const status =
    readNumber(error, "status") ??
    readNumber(error, "statusCode") ??
    readNumber(read(error, "response"), "status");
  if (status !== undefined) info.status = status;
  return info;
}

/**
 * LangGraph signals interrupts and `Command` hand-offs by throwing (`GraphInterrupt`,
 * `ParentCommand`, both `GraphBubbleUp`s). They are control flow, not failures: the run paused
 * or moved on, so it ends rather than errors.
 */
export function isControlFlow(error: unknown): boolean {
  if (read(error, "is_bubble_up") === true) return true;
  const name = readString(error, "name");
  return (
    name === "GraphInterrupt" ||
    name === "NodeInterrupt" ||
    name === "ParentCommand" ||
    name === "GraphBubbleUp"
  );
}

/** A pause for a human (`interrupt()`), as opposed to a `Command` hand-off to a parent graph. */
export function isInterrupt(error: unknown): boolean {
  const name = readString(error, "name");
  return name === "GraphInterrupt" || name === "NodeInterrupt";
}

/**
 * What an aborted call failed with: the signal's reason when it is an error (`AbortError`, or
 * `TimeoutError` from `AbortSignal.timeout()`), else an `AbortError` carrying the reason given.
 */
export function abortError(reason: unknown): ErrorInfo {
  if (readString(reason, "name") !== undefined) return errorInfo(reason);
  return {
    message: reason === undefined ? "the call was aborted" : describe(reason),
    type: "AbortError",
  };
}

function constructorName(value: object): string | undefined {
  const ctor = read(value, "constructor");
  return typeof ctor === "function" ? (ctor as { name?: string }).name || undefined : undefined;
}

function describe(value: unknown): string {
  try {
    return String(value);
  } catch {
    return "unknown error";
  }
}
