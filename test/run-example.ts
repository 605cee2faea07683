import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";

/**
 * Run an example as a user would (`tsx src/index.ts` in `examples/<name>`): offline, on its
 * embedded hub, so every `CHORUS_*` connection variable and the given API keys are unset. The
 * examples import the built packages, so run `pnpm build` first.
 */
export function runExample(
  name: string,
  apiKeys: readonly string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const cwd = fileURLToPath(new URL(`../examples/${name}`, import.meta.url));
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ["CHORUS_URL", "CHORUS_API_KEY", "CHORUS_CHANNEL", ...apiKeys]) delete env[key];
  return new Promise((resolve) => {
    execFile(
      "npx",
      ["tsx", "src/index.ts"],
      { cwd, env, timeout: 90_000 },
      (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}
