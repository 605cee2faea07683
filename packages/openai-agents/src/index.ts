export type { HookTarget } from "./hooks.js";
export { type InstrumentHandle, instrument } from "./instrument.js";
export type { InstrumentOptions } from "./options.js";
export type { AdapterErrorContext, AdapterOnError } from "@chorus/core/adapter-kit";
export type { ObservableStream } from "./stream.js";
