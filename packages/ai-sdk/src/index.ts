export { chorusMiddleware } from "./middleware.js";
export type { ChorusMiddlewareOptions } from "./options.js";
export type { AdapterErrorContext, AdapterOnError } from "@chorus/core/adapter-kit";
export { MAX_PENDING_TOOLS } from "./pending-tools.js";
