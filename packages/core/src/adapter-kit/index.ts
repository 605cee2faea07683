/**
 * `@chorus/core/adapter-kit`: what every framework adapter needs and none should write again.
 * The throw guard (one shape, one warning policy), the bounded oldest-first map, the client
 * resolver, the span recorder events leave through, the silent logger, and `Diagnostics` (rate
 * limiting of repeated warnings).
 */
export { BoundedMap, type BoundedMapOptions } from "./bounded-map.js";
export {
  type ClientOption,
  isChorusClient,
  type ResolvedClient,
  resolveAdapterLogger,
  resolveClient,
} from "./client.js";
export {
  type AdapterErrorContext,
  type AdapterOnError,
  createSafely,
  type Safely,
  type SafelyOptions,
} from "./safely.js";
export {
  type EventSink,
  SpanRecorder,
  type SpanRecorderOptions,
  type SpanRef,
  spanUnder,
} from "./span-recorder.js";
export { Diagnostics, silentLogger } from "../logger.js";
