import { afterAll, afterEach } from "vitest";

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

function check(): void {
  if (unhandled.length === 0) return;
  const errors = unhandled.splice(0);
  throw new Error(`unhandled rejection or exception: ${errors.map(String).join("; ")}`);
}

afterEach(check);
// Also after a file's last test, for a rejection that surfaces while runners and hubs stop.
afterAll(async () => {
  await new Promise((resolve) => setTimeout(resolve, 50));
  check();
});
