import { afterEach } from "vitest";

/*
 * Fail the test that was running on any unhandled rejection or uncaught exception: the adapter
 * promises never to produce one, whatever the SDK, the hub or the payload does.
 */
const unhandled: unknown[] = [];
process.on("unhandledRejection", (reason) => {
  unhandled.push(reason);
});
process.on("uncaughtException", (error) => {
  unhandled.push(error);
});

afterEach(async () => {
  // Let rejections of the test's last tick surface before checking.
  await new Promise((r) => setTimeout(r, 20));
  if (unhandled.length === 0) return;
  const errors = unhandled.splice(0);
  throw new Error(
    `unhandled rejection or exception during the test: ${errors.map(String).join("; ")}`,
  );
});
