export { hubCommand, parseHubArgs } from "./commands/hub.js";
export { ExitCode, UsageError } from "./exit-codes.js";
export type { Io } from "./io.js";
export { main } from "./main.js";
