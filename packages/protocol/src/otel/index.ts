export * from "./attributes.js";
export { type Classification, type Convention, classify, type GenAiSpanKind } from "./classify.js";
export {
  DEFAULT_SPAN_STRING_LENGTH,
  type MapOptions,
  type MappedEvent,
  mapSpan,
  mapSpanEnd,
  mapSpanStart,
} from "./map-span.js";
export * from "./span.js";
