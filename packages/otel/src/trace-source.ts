import { registerTraceSource, type TraceContext } from "@chorus/core";
import { isSpanContextValid, trace } from "@opentelemetry/api";

/**
 * The active OpenTelemetry span as Chorus trace context: `chorus.emit()` inside `tracer.startActiveSpan()`
 * carries that span's trace and span ids. One module-level function, so installing twice (two
 * processors, or a processor and a direct call) is one registration.
 */
const activeOtelSpan = (): TraceContext | undefined => {
  const context = trace.getActiveSpan()?.spanContext();
  if (!context || !isSpanContextValid(context)) return undefined;
  return { traceId: context.traceId, spanId: context.spanId };
};

/**
 * Make events emitted inside an active OTel span join its trace. `ChorusSpanProcessor` calls it;
 * call it yourself when you export Chorus events but process spans elsewhere. Returns the undo.
 */
export function installOtelTraceSource(): () => void {
  return registerTraceSource(activeOtelSpan);
}
