export { emitCommand, eventFromFlags } from "./commands/emit.js";
export { hubCommand, parseHubArgs } from "./commands/hub.js";
export { intentsCommand } from "./commands/intents.js";
export { planTail, tailCommand, type TailPlan, type TailSource } from "./commands/tail.js";
export { ConfigError, ExitCode, UsageError } from "./exit-codes.js";
export type { Io } from "./io.js";
export { main } from "./main.js";
