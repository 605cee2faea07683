import type { HubLogger } from "./config.js";

const LEVELS = { debug: 10, info: 20, warn: 30, error: 40 } as const;

/** JSON lines on stderr. Callers never pass secrets; keys are referred to by `keyId` only. */
export function createLogger(level: keyof typeof LEVELS): HubLogger {
  const min = LEVELS[level];
  const write = (lvl: keyof typeof LEVELS) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] < min) return;
    process.stderr.write(
      `${JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields })}\n`,
    );
  };
  return { debug: write("debug"), info: write("info"), warn: write("warn"), error: write("error") };
}

export const silentLogger: HubLogger = { debug() {}, info() {}, warn() {}, error() {} };
