import { main } from "./main.js";

// A reader that went away (`chorus tail --json | head -3`) ends the output; it is not a failure.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code === "EPIPE") process.exit(0);
  throw error;
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`chorus: ${String(error)}\n`);
    process.exitCode = 1;
  },
);
