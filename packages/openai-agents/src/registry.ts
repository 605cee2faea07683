import { getGlobalTraceProvider } from "@openai/agents";

/*
 * Which clients are already instrumented. It lives on the SDK's global trace provider, the object
 * that holds the processors it describes, under a `Symbol.for` key: a second copy of this package
 * (ESM beside CJS, a bundler duplicate, a hot reload) finds the same registry, so it can never
 * add a second processor for the same client. A module-level map could not promise that.
 */

const REGISTRY = Symbol.for("@chorus/openai-agents.registry");

export function registryOf<T>(): Map<unknown, T> {
  const provider = getGlobalTraceProvider() as unknown as Record<symbol, unknown>;
  const existing = provider[REGISTRY];
  if (existing instanceof Map) return existing as Map<unknown, T>;
  const registry = new Map<unknown, T>();
  Object.defineProperty(provider, REGISTRY, {
    value: registry,
    enumerable: false,
    configurable: true,
  });
  return registry;
}
