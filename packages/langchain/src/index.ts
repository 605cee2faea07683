export { ChorusCallbackHandler } from "./callback-handler.js";
export type { ChorusCallbackHandlerOptions } from "./options.js";
export { AdapterEventTypes } from "./payloads.js";
export { MAX_RUNS_IN_FLIGHT } from "./run-tracker.js";
