import { afterAll, afterEach } from "vitest";

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

function check(): void {
  if (unhandled.length === 0) return;
  const errors = unhandled.splice(0);
  throw new Error(`unhandled rejection or exception: ${errors.map(String).join("; ")}`);
}

afterEach(check);
// Also after the last test of a file, for a rejection that surfaces during teardown.
afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  check();
});
