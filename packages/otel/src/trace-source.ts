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
 * Installs not yet undone. The registration is one (see above), so it is counted: the first
 * install registers, the last undo unregisters, and a processor shut down (or replaced) does not
 * take linking away from the ones still running. Module state because core's registry is.
 */
let installs = 0;
let unregister: (() => void) | undefined;

/**
 * Make events emitted inside an active OTel span join its trace. `ChorusSpanProcessor` calls it;
 * call it yourself when you export Chorus events but process spans elsewhere. Returns the undo
 * (which undoes this install only, once).
 */
export function installOtelTraceSource(): () => void {
  if (installs++ === 0) unregister = registerTraceSource(activeOtelSpan);
  let undone = false;
  return () => {
    if (undone) return;
    undone = true;
    if (--installs === 0) {
      unregister?.();
      unregister = undefined;
    }
  };
}
