import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { join } from "node:path";

/** The built CLI: tests run what ships (`pnpm exec tsup` first). */
export const BIN = join(import.meta.dirname, "../dist/bin.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Variables a developer's shell may set that would change what a test sees. */
const CLEARED = [
  "CHORUS_URL",
  "CHORUS_API_KEY",
  "CHORUS_CHANNEL",
  "CHORUS_API_KEYS",
  "NO_COLOR",
  "FORCE_COLOR",
];

function cleanEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  for (const name of CLEARED) delete base[name];
  return { ...base, ...env };
}

/** A running `chorus …` with its output so far; `exited` resolves with the exit code. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  exited: Promise<number | null>;
  output(): { stdout: string; stderr: string };
  /** Resolve once `stream` contains `text` (reject if the process exits first). */
  waitFor(text: string, stream?: "stdout" | "stderr"): Promise<void>;
}

export function startCli(args: string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { env: cleanEnv(env), stdio: "pipe" });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d) => {
    stdout += d;
  });
  child.stderr.on("data", (d) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on("close", (code) => resolve(code)),
  );
  const waitFor = (text: string, stream: "stdout" | "stderr" = "stdout") =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if ((stream === "stdout" ? stdout : stderr).includes(text)) resolve();
        else if (child.exitCode !== null)
          reject(new Error(`exited ${child.exitCode} before "${text}":\n${stdout}\n${stderr}`));
        else setTimeout(check, 25);
      };
      check();
    });
  return { child, exited, waitFor, output: () => ({ stdout, stderr }) };
}

/** Run `chorus …` to the end, feeding `input` on stdin. */
export async function runCli(
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<CliResult> {
  const run = startCli(args, env);
  run.child.stdin.end(input ?? "");
  const code = await run.exited;
  return { code, ...run.output() };
}
