import { afterEach } from "vitest";

/*
 * Fail the run on any unhandled rejection or uncaught exception: the client promises never to
 * produce one, whatever the hub does. Vitest reports them too, but only at the end and without
 * saying which test; this fails the test that was running.
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
