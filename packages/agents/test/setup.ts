import { afterEach } from "vitest";

/*
 * Fail the test that was running on any unhandled rejection or uncaught exception: the runner
 * promises that nothing a handler or the hub does escapes it.
 */
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason);
});
process.on("uncaughtException", (error) => {
  unhandled.push(error);
});

afterEach(() => {
  if (unhandled.length === 0) return;
  const errors = unhandled.splice(0);
  throw new Error(
    `unhandled rejection or exception during the test: ${errors.map(String).join("; ")}`,
  );
});
