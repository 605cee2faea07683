import { type Chorus, ConflictError, type Intent, ValidationError } from "@chorus/core";
import { applyMergePatch, jsonEqual, jsonShapeProblem } from "@chorus/protocol";
import { answered, deliverEmitted, isConflict, readIntent, sleep } from "./hub-calls.js";
import type { IntentRef, StatePatch, StateUpdater } from "./types.js";

/**
 * Writes of one patch before giving up on repeated 409s. Each 409 means another writer got in
 * between our read and our write; five rounds absorb a busy intent, and a patch that loses more
 * often than that is fighting a structural conflict that retrying will not fix.
 */
export const DEFAULT_MAX_PATCH_ATTEMPTS = 5;
/** Upper bound of the random pause after a 409, so racing writers stop colliding in lockstep. */
const CONFLICT_JITTER_MS = 25;

export interface PatchOptions {
  maxAttempts?: number;
  /** The agent making the write: the hub records it as the `agent` of the `intent.state_changed` event. */
  actor?: string;
  /**
   * The `idempotencyKey` of the write made on the intent at each version (see `@chorus/core`'s
   * `KeyedWriteOptions`). The same function across calls (see {@link writeKeys}) makes a change
   * sent again after an outage a replay when its first copy had landed, instead of a 409 that
   * re-applies it (and runs an updater again). Default: a new key per write.
   */
  writeKey?: (version: number) => string;
}

/** A {@link PatchOptions.writeKey} that names one change: one key per version it is written on. */
export function writeKeys(): (version: number) => string {
  const keys = new Map<number, string>();
  return (version) => {
    let key = keys.get(version);
    if (key === undefined) {
      key = globalThis.crypto.randomUUID();
      keys.set(version, key);
    }
    return key;
  };
}

/**
 * Merge-patch an intent's state with `If-Match` set to the version the caller saw. On 409 the
 * intent is re-read and the change re-applied on the fresh version: a plain patch as is, an
 * updater recomputed from the fresh state (which is what keeps concurrent read-modify-write
 * updates from being lost). After `maxAttempts` it throws the last `ConflictError`.
 *
 * A change that would leave the state as it is (an empty patch, an updater returning nothing,
 * values already there) is not written: resolves to the intent read, with no new version.
 *
 * @example
 * await patchIntent(chorus, intent, (state) => ({ visits: Number(state.visits ?? 0) + 1 }));
 */
export async function patchIntent(
  chorus: Chorus,
  intent: IntentRef,
  change: StatePatch | StateUpdater,
  options: PatchOptions = {},
): Promise<Intent> {
  const maxAttempts = checkAttempts(options.maxAttempts);
  await deliverEmitted(chorus);
  let base: IntentRef = intent;
  if (
    typeof base.version !== "number" ||
    (typeof change === "function" && base.state === undefined)
  ) {
    base = await readIntent(chorus, intent.id);
  }
  for (let attempt = 1; ; attempt++) {
    const state = base.state ?? {};
    const patch = typeof change === "function" ? change(structuredClone(state)) : change;
    if (
      patch === undefined ||
      patch === null ||
      jsonEqual(applyMergePatch(state, checkPatch(patch)), state)
    ) {
      return isIntent(base) ? base : readIntent(chorus, intent.id);
    }
    try {
      const version = base.version as number;
      const written = await chorus.strict.intents.patchState(intent.id, patch, {
        ifMatch: version,
        ...(options.actor === undefined ? {} : { actor: options.actor }),
        ...(options.writeKey === undefined ? {} : { idempotencyKey: options.writeKey(version) }),
      });
      return answered(written, `patching intent ${intent.id}`);
    } catch (error) {
      if (!isConflict(error)) throw error;
      if (attempt >= maxAttempts) {
        const currentVersion = (error as { currentVersion?: unknown }).currentVersion;
        throw new ConflictError(
          `intent ${intent.id} kept changing: gave up after ${maxAttempts} attempts to patch it`,
          {
            cause: error,
            ...(typeof currentVersion === "number" ? { currentVersion } : {}),
          },
        );
      }
      await sleep(Math.random() * CONFLICT_JITTER_MS);
      base = await readIntent(chorus, intent.id);
    }
  }
}

function checkPatch(patch: unknown): StatePatch {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) {
    throw new TypeError("a state patch must be a plain object (JSON Merge Patch)");
  }
  // Before it is merged locally: a `__proto__` key would vanish in the merge (read as "nothing
  // to write") and a value nested thousands deep would overflow the stack.
  const problem = jsonShapeProblem(patch, "patch");
  if (problem !== undefined) throw new ValidationError(problem, { field: "patch" });
  return patch as StatePatch;
}

function isIntent(ref: IntentRef): ref is Intent {
  return "title" in ref && "status" in ref && "assignees" in ref && typeof ref.version === "number";
}

function checkAttempts(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_PATCH_ATTEMPTS;
  if (!Number.isInteger(value) || value < 1)
    throw new TypeError("maxPatchAttempts must be a positive integer");
  return value;
}
