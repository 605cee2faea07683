export {
  agent,
  definitionOf,
  onAssignment,
  onEvent,
  onStateChange,
  onStatus,
} from "./decorators.js";
export {
  type AgentHandlers,
  type DefineAgentInput,
  defineAgent,
  type EventEntry,
  type StateChangeEntry,
  type StatusEntry,
} from "./define-agent.js";
export { type AgentDefinition, type HandlerSpec, isAgentDefinition } from "./definition.js";
export { completeIntent } from "./helpers.js";
export type { AgentLifecycleEvents, LifecycleListener } from "./lifecycle.js";
export {
  DEFAULT_MAX_PATCH_ATTEMPTS,
  type PatchOptions,
  patchIntent,
  type WriteKey,
  writeKeys,
} from "./patch.js";
export {
  type AgentErrorContext,
  type AgentErrorPhase,
  DEFAULT_CONCURRENCY,
  DEFAULT_STARTUP_TIMEOUT_MS,
  type RunAgentOptions,
} from "./run-options.js";
export {
  DEFAULT_STOP_TIMEOUT_MS,
  MAX_QUEUED_EVENTS,
  type RunningAgent,
  runAgent,
} from "./runner.js";
export { MAX_TRACKED_INTENTS } from "./state-tracker.js";
export type {
  AgentOptions,
  AssignmentHandler,
  CompleteOptions,
  EventHandler,
  HandlerContext,
  HandlerResult,
  IntentRef,
  IntentState,
  MaybePromise,
  StateChangeHandler,
  StatePatch,
  StateUpdater,
  StatusChange,
  StatusHandler,
} from "./types.js";
