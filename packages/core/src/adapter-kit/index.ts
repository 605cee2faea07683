/**
 * `@chorus/core/adapter-kit`: what every framework adapter needs and none should write again.
 * The throw guard (one shape, one warning policy) and the silent logger.
 */
export {
  type AdapterErrorContext,
  type AdapterOnError,
  createSafely,
  type Safely,
  type SafelyOptions,
} from "./safely.js";
export { silentLogger } from "../logger.js";
