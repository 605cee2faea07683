export { ChorusSpanProcessor, type ChorusSpanProcessorOptions } from "./span-processor.js";
export { installOtelTraceSource } from "./trace-source.js";
export type { AdapterErrorContext, AdapterOnError } from "@chorus/core/adapter-kit";
