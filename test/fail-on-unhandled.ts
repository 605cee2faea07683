import { afterAll, afterEach } from "vitest";

/*
 * Shared by every package's vitest config (setupFiles). Fails the test that was running on any
 * unhandled rejection or uncaught exception: the hub promises never to crash on input, and the
 * client, the adapters and the agents runner promise never to leak an error into the user's
 * process, whatever the hub, the framework or the payload does. Vitest would report these only
 * at the end of the run and without naming the test.
 */
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason);
});
process.on("uncaughtException", (error) => {
  unhandled.push(error);
});

/** Rejections of a test's last tick, or of teardown, surface within this long. */
const SETTLE_MS = 20;

async function check(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  if (unhandled.length === 0) return;
  const errors = unhandled.splice(0);
  throw new Error(`unhandled rejection or exception: ${errors.map(String).join("; ")}`);
}

afterEach(check);
// Also after a file's last test, for a rejection that surfaces while hubs and clients stop.
afterAll(check);
