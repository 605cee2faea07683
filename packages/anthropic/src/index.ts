export { type AnthropicLike, isWrapped, unwrapAnthropic, wrapAnthropic } from "./wrap.js";
export type { WrapAnthropicOptions } from "./options.js";
export type { AdapterErrorContext, AdapterOnError } from "@chorus/core/adapter-kit";
export { MAX_PENDING_TOOLS } from "./pending-tools.js";
