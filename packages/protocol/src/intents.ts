import {
  idSchema,
  jsonObjectSchema,
  nameSchema,
  wellFormed,
  typeSchema,
  wholeNumberSchema,
} from "./schemas.js";
import * as z from "zod/mini";
import "./zod.js";

export const INTENT_STATUSES = ["draft", "active", "blocked", "completed", "cancelled"] as const;
export type IntentStatus = (typeof INTENT_STATUSES)[number];
export const intentStatusSchema = z.enum(INTENT_STATUSES);

/** Legal status transitions; `completed` and `cancelled` are final. */
export const INTENT_TRANSITIONS: Readonly<Record<IntentStatus, readonly IntentStatus[]>> = {
  draft: ["active", "cancelled"],
  active: ["blocked", "completed", "cancelled"],
  blocked: ["active", "cancelled"],
  completed: [],
  cancelled: [],
};

export function canTransition(from: IntentStatus, to: IntentStatus): boolean {
  return INTENT_TRANSITIONS[from].includes(to);
}

export interface Intent {
  id: string;
  title: string;
  description?: string;
  status: IntentStatus;
  state: Record<string, unknown>;
  /** 1 at creation, +1 on every state or status change. */
  version: number;
  assignees: string[];
  portfolio?: string;
  parentId?: string;
  createdBy?: string;
  createdAt: string;
  updatedAt: string;
}

export const intentCreateSchema = z.strictObject({
  id: z.optional(idSchema),
  title: z.string().check(z.minLength(1), z.maxLength(500), wellFormed),
  description: z.optional(z.string().check(z.maxLength(10_000), wellFormed)),
  status: z.optional(z.enum(["draft", "active"])),
  state: z.optional(jsonObjectSchema),
  assignees: z.optional(z.array(nameSchema).check(z.maxLength(100))),
  portfolio: z.optional(idSchema),
  parentId: z.optional(idSchema),
  createdBy: z.optional(nameSchema),
});
export type IntentCreate = z.infer<typeof intentCreateSchema>;

export const intentStatusChangeSchema = z.strictObject({
  status: intentStatusSchema,
  reason: z.optional(z.string().check(z.maxLength(2000))),
});
export type IntentStatusChange = z.infer<typeof intentStatusChangeSchema>;

export const intentListQuerySchema = z.strictObject({
  status: z.optional(intentStatusSchema),
  assignee: z.optional(nameSchema),
  portfolio: z.optional(idSchema),
  /** The `next` of a previous page: decimal digits (the store's position of the last intent). */
  after: z.optional(z.string().check(z.regex(/^\d{1,16}$/, "expected the next cursor of a page"))),
  limit: z.optional(wholeNumberSchema(1, 1000)),
});
export type IntentListQuery = z.infer<typeof intentListQuerySchema>;

/**
 * A comment or custom event posted to an intent's log. `type` defaults to `intent.comment`
 * (which needs `text`); custom types must start with `intent.` and may not be one the hub writes.
 */
export const intentEventInputSchema = z.strictObject({
  id: z.optional(idSchema),
  type: z.optional(typeSchema),
  text: z.optional(z.string().check(z.minLength(1), z.maxLength(20_000))),
  agent: z.optional(nameSchema),
  payload: z.optional(jsonObjectSchema),
  metadata: z.optional(jsonObjectSchema),
});
export type IntentEventInput = z.infer<typeof intentEventInputSchema>;

/** Payload of `intent.state_changed`: enough to hand a handler the true old and new state. */
export interface StateChangedPayload {
  version: number;
  patch: Record<string, unknown>;
  /** Top-level keys whose value actually changed. */
  changedKeys: string[];
  state: Record<string, unknown>;
}

export interface StatusChangedPayload {
  version: number;
  from: IntentStatus;
  to: IntentStatus;
  reason?: string;
}

/** RFC 7396 JSON Merge Patch. Returns a new value; neither argument is modified. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: Record<string, unknown> = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete result[key];
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}

/** Top-level keys whose value differs between two states (deep, order-sensitive JSON equality). */
export function changedTopLevelKeys(
  before: Record<string, unknown>,
  after: Record<string, unknown>,
): string[] {
  const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
  return [...keys].filter((k) => !jsonEqual(before[k], after[k]));
}

export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => jsonEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao);
  if (ak.length !== Object.keys(bo).length) return false;
  return ak.every((k) => Object.hasOwn(bo, k) && jsonEqual(ao[k], bo[k]));
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
