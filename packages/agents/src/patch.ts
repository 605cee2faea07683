import { type Chorus, ConflictError, classify, type Intent, ValidationError } from "@chorus/core";
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
  writeKey?: WriteKey;
}

/**
 * A {@link PatchOptions.writeKey}: the key of the write made on each version, and the write of
 * the change whose answer never came (an outage, a timeout), kept on the function itself (no
 * module state): the hub may have applied it. A later call with the same `writeKey` sends
 * exactly this write again (same version, patch and key) before anything else, so that it is
 * answered as a replay if it landed. Re-reading and recomputing instead would write the change
 * again under the key of a newer version whenever the lost write was not the first attempt (a
 * 409 came before it), or send a different patch under the lost write's key (an updater that is
 * not a pure function of the state, which the hub refuses with a 400).
 */
export type WriteKey = ((version: number) => string) & {
  unanswered?: { version: number; patch: StatePatch } | undefined;
};

/** A {@link PatchOptions.writeKey} that names one change: one key per version it is written on. */
export function writeKeys(): WriteKey {
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
  const keyOf = options.writeKey;
  // A write of this change whose answer was lost goes first, exactly as it was sent.
  let resend = keyOf?.unanswered;
  for (let attempt = 1; ; attempt++) {
    let version: number;
    let patch: StatePatch;
    if (resend) {
      ({ version, patch } = resend);
      resend = undefined;
    } else {
      const state = base.state ?? {};
      const computed = typeof change === "function" ? change(structuredClone(state)) : change;
      if (
        computed === undefined ||
        computed === null ||
        jsonEqual(applyMergePatch(state, checkPatch(computed)), state)
      ) {
        return isIntent(base) ? base : readIntent(chorus, intent.id);
      }
      version = base.version as number;
      patch = computed;
    }
    if (keyOf) keyOf.unanswered = { version, patch };
    try {
      const written = await chorus.strict.intents.patchState(intent.id, patch, {
        ifMatch: version,
        ...(options.actor === undefined ? {} : { actor: options.actor }),
        ...(keyOf === undefined ? {} : { idempotencyKey: keyOf(version) }),
      });
      if (keyOf) keyOf.unanswered = undefined;
      return answered(written, `patching intent ${intent.id}`);
    } catch (error) {
      // Only an answer from the hub settles the write; an outage leaves it in doubt.
      if (keyOf && classify(error).kind !== "availability") keyOf.unanswered = undefined;
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
