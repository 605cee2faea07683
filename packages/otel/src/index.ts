export { ChorusSpanProcessor, type ChorusSpanProcessorOptions } from "./span-processor.js";
export { installOtelTraceSource } from "./trace-source.js";
export {
  DEFAULT_MAX_PENDING_SPANS,
  type ExportToOtlpOptions,
  exportToOtlp,
  type OtlpExport,
  type OtlpExportStats,
} from "./export-to-otlp.js";
export { spanFromEvents } from "./span-from-events.js";
export type { AdapterErrorContext, AdapterOnError } from "@chorus/core/adapter-kit";
