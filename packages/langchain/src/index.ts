export { ChorusCallbackHandler } from "./callback-handler.js";
export type { ChorusCallbackHandlerOptions } from "./options.js";
export { AdapterEventTypes } from "./payloads.js";
export { ABORT_GRACE_MS } from "./recorder.js";
export { MAX_RUNS_IN_FLIGHT } from "./run-tracker.js";
