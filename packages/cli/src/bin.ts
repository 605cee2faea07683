import { main } from "./main.js";

// A reader that went away (`chorus tail --json | head -3`) ends the output; it is not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

/**
 * Hold the event loop until the command has its exit code. Core's request timeouts are unref'd
 * timers, and Node 20's `fetch` can leave a request pending with no handle at all (a server that
 * accepts the connection and closes it at once: a port-forward with nothing behind it): without
 * this, Node would find the loop empty and exit 0 with nothing printed, as if the command had
 * succeeded. Held, the request times out and the command reports it (exit 3).
 */
const HOLD_MS = 60_000;
const hold = setInterval(() => {}, HOLD_MS);

main(process.argv.slice(2))
  .then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`chorus: ${String(error)}\n`);
      process.exitCode = 1;
    },
  )
  .finally(() => clearInterval(hold));
